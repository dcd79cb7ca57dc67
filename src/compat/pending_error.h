// PendingError: a Status carried across the point where ereport() may jump.
//
// Why: ereport(ERROR) unwinds with siglongjmp (utils/elog.h), which skips C++
// destructors. So a C entry point implemented in C++ (SPI, the GUC C API)
// does its work in an inner frame whose strings, vectors and Statuses die
// before it returns, copies a failure into a PendingError (trivially
// destructible, strings palloc'd in CurrentMemoryContext), and raises it only
// once back in a frame that owns nothing. Shared by src/guc and src/spi.
#pragma once

#include "common/status.h"

namespace bgw {

struct PendingError {
  int elevel = 0;  // 0 = nothing pending
  int sqlerrcode = 0;
  char* message = nullptr;  // palloc'd
  char* detail = nullptr;   // nullptr = omitted
  char* hint = nullptr;

  bool pending() const { return elevel != 0; }
};

// Records the failure in `status` (ok = records nothing) at `elevel`, or at
// FATAL when the status itself says FATAL. A status without a SQLSTATE
// becomes XX000 (internal_error).
void Capture(const Status& status, int elevel, PendingError* out);
// The same at ERROR.
void Capture(const Status& status, PendingError* out);
// Records an error of the caller's own making (C error codes, no detail).
void CaptureOwn(int elevel, int sqlerrcode, const char* message, const char* hint,
                PendingError* out);
// ereport()s *e at its level if one is pending (frees nothing: the strings
// belong to the memory context, which error recovery resets); returns when
// nothing is pending or the level does not jump.
void RaiseIfSet(const PendingError& e);

}  // namespace bgw
