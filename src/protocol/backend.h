// A client backend: the child process the postmaster forks for each accepted
// connection.
//
// The postmaster decides before fork whether the connection may proceed
// (Admission); a backend that may not still reads the startup packet so the
// client gets a proper FATAL ErrorResponse with PostgreSQL's SQLSTATE and
// message, exactly where libpq expects it.
#pragma once

#include "port/unique_fd.h"

namespace bgw {

enum class Admission {
  kOk,        // the connection may proceed
  kStartup,   // 57P03 the database system is starting up
  kShutdown,  // 57P03 the database system is shutting down
  kRecovery,  // 57P03 the database system is in recovery mode (after a crash)
  kTooMany,   // 53300 sorry, too many clients already
};

// Child process entry; takes ownership of the client socket. `child_slot` is
// its pmsignal slot (-1 for a dead-end backend, which only reports an error).
// Never returns.
[[noreturn]] void BackendMain(UniqueFd client, Admission admission, int child_slot);

}  // namespace bgw
