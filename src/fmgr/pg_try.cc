// The PG_TRY bridge; see pg_try.h.
#include "fmgr/pg_try.h"

#include <string>

#include "bgworker/error.h"
#include "postgres/postgres.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"

namespace bgworker {

namespace internal {

namespace {
std::string Str(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

// Moves the error being handled (the top of the error stack) into *out and
// forgets it. Runs in PG_CATCH after the memory context was restored.
void TakeCurrentError(ErrorInfo* out) {
  ErrorData* edata = CopyErrorData();
  FlushErrorState();
  out->code = Errc::kPgError;
  out->message = Str(edata->message);
  out->sqlstate = Str(unpack_sql_state(edata->sqlerrcode));
  out->detail = Str(edata->detail);
  out->hint = Str(edata->hint);
  FreeErrorData(edata);
}
}  // namespace

bool CallCatchingPgError(void (*fn)(void* arg), void* arg, ErrorInfo* error) {
  // Volatile: read after the siglongjmp lands in PG_CATCH.
  MemoryContext volatile saved_context = CurrentMemoryContext;
  ErrorInfo* volatile out = error;
  volatile bool ok = true;
  PG_TRY();
  { fn(arg); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(saved_context);
    ok = false;
    TakeCurrentError(out);
  }
  PG_END_TRY();
  return ok;
}

void RaisePgError(int sqlerrcode, const char* message, const char* detail) {
  if (sqlerrcode == 0) sqlerrcode = ERRCODE_INTERNAL_ERROR;
  if (detail != nullptr) {
    ereport(ERROR, errcode(sqlerrcode), errmsg_internal("%s", message),
            errdetail_internal("%s", detail));
  }
  ereport(ERROR, errcode(sqlerrcode), errmsg_internal("%s", message));
  pg_unreachable();
}

int PackSqlState(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return 0;
  for (char c : sqlstate) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return 0;
  }
  return MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4]);
}

}  // namespace internal

}  // namespace bgworker

namespace bgw::fmgr {

std::optional<ErrorReport> CallGuarded(void (*fn)(void* arg), void* arg) {
  bgworker::ErrorInfo info;
  if (bgworker::internal::CallCatchingPgError(fn, arg, &info)) return std::nullopt;
  return ErrorReport{"ERROR", info.sqlstate, info.message, info.detail, info.hint};
}

}  // namespace bgw::fmgr
