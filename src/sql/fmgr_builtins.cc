// The text helpers of utils/builtins.h that C functions call: conversions
// between C strings and the varlena values the function manager passes
// (src/sql/fmgr_call.cc builds and reads those values).
#include <cstring>

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

}  // extern "C"
