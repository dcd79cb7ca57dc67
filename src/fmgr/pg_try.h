// The server's one bridge from PostgreSQL's ERROR (a siglongjmp to the
// innermost PG_TRY) to error values: module code and C API calls that may
// raise run through it, in a frame that holds no C++ objects, so the jump
// never skips a destructor (the rule of utils/elog.h and bgworker/error.h).
//
// It also implements the declarations the public C++ API's templates need
// (bgworker::internal::CallCatchingPgError, RaisePgError, PackSqlState in
// include/bgworker/error.h): modules instantiate those templates, so they
// are declared there, but they live here with the rest of the bridge.
#pragma once

#include <optional>

#include "common/status.h"

namespace bgw::fmgr {

// Runs fn(arg) under PG_TRY; returns the ERROR it raised (its SQLSTATE,
// message, detail, hint; not logged), or nullopt when fn returned. The
// memory context current at entry is restored after an ERROR.
std::optional<ErrorReport> CallGuarded(void (*fn)(void* arg), void* arg);

}  // namespace bgw::fmgr
