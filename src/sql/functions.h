// The engine's built-in SQL functions (version(), now(), current_user,
// pg_sleep(), bgw_cast(), ...) and interrupt checking for running statements.
//
// Interrupts: SQLite cannot unwind our stack, so a cancel request, a
// termination request or the statement_timeout deadline is noticed at safe
// points (SQLite's progress handler, pg_sleep's wait loop), recorded in the
// FunctionContext and turned into SQLITE_INTERRUPT / a function error; the
// session then reports the recorded reason with PostgreSQL's SQLSTATE.
// Likewise a function that fails with a PostgreSQL error (bgw_cast's 22P02)
// leaves the ErrorReport here for the session to report verbatim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "sql/builtins.h"
#include "sql/session.h"
#include "sql/value.h"

struct sqlite3;
struct sqlite3_context;
struct sqlite3_value;

namespace bgw::sql::functions {

enum class Interrupt { kNone, kCancel, kTimeout, kDie };

// Per-session state the functions read; owned by the session, registered
// with the connection, so it must outlive the connection.
struct FunctionContext {
  const SessionInfo* info = nullptr;
  int64_t transaction_start_us = 0;        // now()
  int64_t statement_start_us = 0;          // statement_timestamp()
  int64_t deadline_us = 0;                 // statement_timeout; 0 = none
  Interrupt interrupt = Interrupt::kNone;  // recorded by CheckInterrupts
  std::optional<ErrorReport> error;        // a function's PostgreSQL error
};

// An argument as the engine's Value (its SQLite storage class), and a
// Value as a function's result: the one mapping between SQLite's function
// interface and Value, for every function we register.
Value ArgValue(sqlite3_value* v);
void ResultValue(sqlite3_context* c, const Value& v);

// The engine's own functions (builtins.h), and registering them with the
// progress handler on `db`.
std::span<const builtins::Function> Functions();
Status Register(sqlite3* db, FunctionContext* ctx);

// Consumes pending cancel/die flags and checks the deadline; records and
// returns the reason (kNone = keep going).
Interrupt CheckInterrupts(FunctionContext* ctx);

// The error PostgreSQL reports for an interrupt.
ErrorReport InterruptError(Interrupt reason);

// Microseconds since the Unix epoch (wall clock).
int64_t NowMicros();

}  // namespace bgw::sql::functions
