// The text helpers of utils/builtins.h that C functions call: conversions
// between C strings and the varlena values the function manager passes
// (src/sql/fmgr_call.cc builds and reads those values).
#include <cstring>
#include <string>

#include "postgres/fmgr.h"
#include "postgres/utils/builtins.h"
#include "postgres/utils/palloc.h"

extern "C" {

text* cstring_to_text_with_len(const char* s, int len) {
  const size_t n = len > 0 ? static_cast<size_t>(len) : 0;
  auto* result = static_cast<text*>(palloc(VARHDRSZ + n));
  SET_VARSIZE(result, VARHDRSZ + n);
  if (n > 0) std::memcpy(VARDATA(result), s, n);
  return result;
}

text* cstring_to_text(const char* s) {
  return cstring_to_text_with_len(s, static_cast<int>(std::strlen(s)));
}

char* text_to_cstring(const text* t) {
  const size_t n = VARSIZE_ANY_EXHDR(t);
  auto* result = static_cast<char*>(palloc(n + 1));
  std::memcpy(result, VARDATA_ANY(t), n);
  result[n] = '\0';
  return result;
}

void text_to_cstring_buffer(const text* src, char* dst, size_t dst_len) {
  if (dst_len == 0) return;
  size_t n = VARSIZE_ANY_EXHDR(src);
  if (n >= dst_len) n = dst_len - 1;
  std::memcpy(dst, VARDATA_ANY(src), n);
  dst[n] = '\0';
}

// PostgreSQL's reserved keywords (those that cannot be column names);
// quoting one more word than needed is harmless, one fewer is not.
// clang-format off
static const char* const kReservedKeywords[] = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "binary", "both", "case", "cast", "check", "collate", "collation", "column", "concurrently",
    "constraint", "create", "cross", "current_catalog", "current_date", "current_role",
    "current_schema", "current_time", "current_timestamp", "current_user", "default",
    "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for",
    "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike", "in", "initially",
    "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left", "like",
    "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null", "offset", "on",
    "only", "or", "order", "outer", "overlaps", "placing", "primary", "references", "returning",
    "right", "select", "session_user", "similar", "some", "symmetric", "system_user", "table",
    "tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using",
    "variadic", "verbose", "when", "where", "window", "with"};
// clang-format on

const char* quote_identifier(const char* ident) {
  bool safe = (ident[0] >= 'a' && ident[0] <= 'z') || ident[0] == '_';
  for (const char* p = ident; safe && *p != '\0'; p++) {
    safe = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
  }
  if (safe) {
    for (const char* k : kReservedKeywords) {
      if (std::strcmp(k, ident) == 0) {
        safe = false;
        break;
      }
    }
  }
  if (safe) return ident;
  const size_t n = std::strlen(ident);
  char* result = static_cast<char*>(palloc(2 * n + 3));
  char* out = result;
  *out++ = '"';
  for (const char* p = ident; *p != '\0'; p++) {
    if (*p == '"') *out++ = '"';
    *out++ = *p;
  }
  *out++ = '"';
  *out = '\0';
  return result;
}

char* quote_literal_cstr(const char* rawstr) {
  const size_t n = std::strlen(rawstr);
  char* result = static_cast<char*>(palloc(2 * n + 4));
  char* out = result;
  if (std::strchr(rawstr, '\\') != nullptr) *out++ = 'E';
  *out++ = '\'';
  for (const char* p = rawstr; *p != '\0'; p++) {
    if (*p == '\'' || *p == '\\') *out++ = *p;
    *out++ = *p;
  }
  *out++ = '\'';
  *out = '\0';
  return result;
}

}  // extern "C"
