// Growable strings: the implementation behind lib/stringinfo.h.
//
// The buffer is a palloc chunk that doubles when full, capped at
// MaxAllocSize; repalloc keeps it in the context it was created in.
#include "postgres/lib/stringinfo.h"

#include <cstring>

#include "postgres/postgres.h"
#include "postgres/utils/memutils.h"

namespace {
constexpr int kInitialSize = 1024;
}

extern "C" {

StringInfo makeStringInfo(void) {
  auto* str = static_cast<StringInfo>(palloc(sizeof(StringInfoData)));
  initStringInfo(str);
  return str;
}

void initStringInfo(StringInfo str) {
  str->data = static_cast<char*>(palloc(kInitialSize));
  str->maxlen = kInitialSize;
  resetStringInfo(str);
}

void resetStringInfo(StringInfo str) {
  str->data[0] = '\0';
  str->len = 0;
  str->cursor = 0;
}

void appendStringInfo(StringInfo str, const char* fmt, ...) {
  const int saved_errno = errno;  // every attempt sees the caller's errno (%m)
  for (;;) {
    va_list args;
    va_start(args, fmt);
    errno = saved_errno;
    const int needed = appendStringInfoVA(str, fmt, args);
    va_end(args);
    if (needed == 0) return;
    enlargeStringInfo(str, needed);
  }
}

int appendStringInfoVA(StringInfo str, const char* fmt, va_list args) {
  const int avail = str->maxlen - str->len;
  if (avail < 16) return 32;  // not worth trying; PostgreSQL's rule
  const size_t nprinted = pvsnprintf(str->data + str->len, static_cast<size_t>(avail), fmt, args);
  if (nprinted < static_cast<size_t>(avail)) {
    str->len += static_cast<int>(nprinted);
    return 0;
  }
  str->data[str->len] = '\0';  // undo whatever the failed attempt wrote
  return static_cast<int>(nprinted);
}

void appendStringInfoString(StringInfo str, const char* s) {
  appendBinaryStringInfo(str, s, static_cast<int>(strlen(s)));
}

void appendStringInfoChar(StringInfo str, char ch) {
  if (str->len + 1 >= str->maxlen) enlargeStringInfo(str, 1);
  str->data[str->len] = ch;
  str->len++;
  str->data[str->len] = '\0';
}

void appendStringInfoSpaces(StringInfo str, int count) {
  if (count <= 0) return;
  enlargeStringInfo(str, count);
  memset(str->data + str->len, ' ', static_cast<size_t>(count));
  str->len += count;
  str->data[str->len] = '\0';
}

void appendBinaryStringInfo(StringInfo str, const char* data, int datalen) {
  appendBinaryStringInfoNT(str, data, datalen);
  str->data[str->len] = '\0';
}

void appendBinaryStringInfoNT(StringInfo str, const char* data, int datalen) {
  enlargeStringInfo(str, datalen);
  if (datalen > 0) memcpy(str->data + str->len, data, static_cast<size_t>(datalen));
  str->len += datalen;
}

void enlargeStringInfo(StringInfo str, int needed) {
  if (needed < 0) elog(ERROR, "invalid string enlargement request size: %d", needed);
  if (static_cast<Size>(needed) >= MaxAllocSize - static_cast<Size>(str->len)) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("out of memory"),
            errdetail("Cannot enlarge string buffer containing %d bytes by %d more bytes.",
                      str->len, needed));
  }
  const Size required = static_cast<Size>(str->len) + static_cast<Size>(needed) + 1;
  if (required <= static_cast<Size>(str->maxlen)) return;
  Size newlen = 2 * static_cast<Size>(str->maxlen);
  while (required > newlen) newlen *= 2;
  if (newlen > MaxAllocSize) newlen = MaxAllocSize;
  str->data = static_cast<char*>(repalloc(str->data, newlen));
  str->maxlen = static_cast<int>(newlen);
}

}  // extern "C"
