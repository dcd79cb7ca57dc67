/*
 * lib/stringinfo.h: growable strings in memory contexts, PostgreSQL 13-15
 * compatible.
 *
 * A StringInfoData is a palloc'd buffer that doubles as it fills. The data
 * is always NUL-terminated (also after appendBinaryStringInfo, so it can be
 * printed), len excludes the terminator, and maxlen is the allocated size.
 * The buffer is allocated in the CurrentMemoryContext of initStringInfo()
 * and stays in that context as it grows. A string may reach MaxAllocSize - 1
 * bytes; growing past that raises ERROR ("out of memory",
 * ERRCODE_PROGRAM_LIMIT_EXCEEDED).
 */
#ifndef BGW_COMPAT_STRINGINFO_H
#define BGW_COMPAT_STRINGINFO_H

#include <stdarg.h>

#include "c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct StringInfoData {
  char* data;
  int len;    /* bytes used, not counting the terminating NUL */
  int maxlen; /* bytes allocated */
  int cursor; /* free for the caller's use (message parsing) */
} StringInfoData;

typedef StringInfoData* StringInfo;

/* A palloc'd, initialized StringInfoData. */
extern StringInfo makeStringInfo(void);
/* Allocates the initial buffer (1 kB) in CurrentMemoryContext. */
extern void initStringInfo(StringInfo str);
/* Empties the string; the buffer is kept. */
extern void resetStringInfo(StringInfo str);

/* printf-style append, growing the buffer as needed. */
extern void appendStringInfo(StringInfo str, const char* fmt, ...) pg_attribute_printf(2, 3);
/*
 * One formatting attempt: returns 0 when the text was appended, otherwise
 * the space needed (nothing appended; enlarge and retry with a fresh
 * va_list).
 */
extern int appendStringInfoVA(StringInfo str, const char* fmt, va_list args)
    pg_attribute_printf(2, 0);
extern void appendStringInfoString(StringInfo str, const char* s);
extern void appendStringInfoChar(StringInfo str, char ch);
/* appendStringInfoChar without the call when there is room. */
#define appendStringInfoCharMacro(str, ch) \
  (((str)->len + 1 >= (str)->maxlen)       \
       ? appendStringInfoChar(str, ch)     \
       : (void)((str)->data[(str)->len] = (ch), (str)->data[++(str)->len] = '\0'))
extern void appendStringInfoSpaces(StringInfo str, int count);
/* Appends datalen arbitrary bytes (NULs included), then a terminator. */
extern void appendBinaryStringInfo(StringInfo str, const char* data, int datalen);
/* Like appendBinaryStringInfo, without writing the terminator. */
extern void appendBinaryStringInfoNT(StringInfo str, const char* data, int datalen);
/* Makes room for `needed` more bytes plus the terminator. */
extern void enlargeStringInfo(StringInfo str, int needed);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_STRINGINFO_H */
