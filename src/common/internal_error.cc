// The internal-error hook; see internal_error.h.
#include "common/internal_error.h"

#include <cstdarg>
#include <cstdlib>

#include "common/log.h"
#include "common/strutil.h"

namespace bgw {

void InternalError(const char* file, int line, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log::Message m;
  m.level = log::Level::kPanic;
  m.sqlstate = "XX000";
  m.text = StringPrintfV(fmt, ap);
  va_end(ap);
  m.detail = StringPrintf("Internal error at %s:%d.", file, line);
  log::Emit(m);
  std::abort();
}

}  // namespace bgw
