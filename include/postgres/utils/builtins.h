/*
 * builtins.h: PostgreSQL 13-15 compatible subset: converting between C
 * strings and text values (struct varlena, see fmgr.h). Results are
 * palloc'd in CurrentMemoryContext.
 */
#ifndef BGW_COMPAT_BUILTINS_H
#define BGW_COMPAT_BUILTINS_H

#include "fmgr.h"

#ifdef __cplusplus
extern "C" {
#endif

extern text *cstring_to_text(const char *s);
extern text *cstring_to_text_with_len(const char *s, int len);
/* A NUL-terminated copy (text may hold no NUL; a NUL inside ends the copy). */
extern char *text_to_cstring(const text *t);
/* Copies at most dst_len - 1 bytes and terminates (nothing when dst_len is 0). */
extern void text_to_cstring_buffer(const text *src, char *dst, size_t dst_len);

/*
 * An identifier as SQL must spell it: returned unchanged when it needs no
 * quotes (lower-case letters, digits, underscores, not starting with a
 * digit, not a reserved keyword), else a palloc'd copy in double quotes
 * with embedded quotes doubled.
 */
extern const char *quote_identifier(const char *ident);
/* A palloc'd string literal: 'it''s'; E'...' when it holds backslashes. */
extern char *quote_literal_cstr(const char *rawstr);

#define CStringGetTextDatum(s) PointerGetDatum(cstring_to_text(s))
#define TextDatumGetCString(d) text_to_cstring((text *) DatumGetPointer(d))

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_BUILTINS_H */
