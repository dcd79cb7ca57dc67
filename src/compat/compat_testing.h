// Test helpers for the PostgreSQL-compatible C API (src/compat/*_test.cc).
//
// CatchError runs a callable under PG_TRY and turns an ERROR it raises
// into a plain value, so tests can assert on it with ordinary C++ (no
// C++ object lives across the siglongjmp: see utils/elog.h).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "postgres/postgres.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"

namespace bgw::compat::testing {

struct CaughtError {
  bool raised = false;
  int elevel = 0;
  int sqlerrcode = 0;
  int saved_errno = 0;
  std::string sqlstate;
  std::string message;
  std::string detail;
  std::string detail_log;
  std::string hint;
  std::string context;
};

inline std::string Str(const char* s) { return s != nullptr ? s : ""; }

// Runs fn(). When it raises ERROR: copies the error out, flushes the error
// state, restores the memory context, and returns it with raised = true.
template <typename F>
CaughtError CatchError(F&& fn) {
  CaughtError result;
  MemoryContext volatile saved_context = CurrentMemoryContext;
  PG_TRY();
  { fn(); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(saved_context);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    result.raised = true;
    result.elevel = edata->elevel;
    result.sqlerrcode = edata->sqlerrcode;
    result.saved_errno = edata->saved_errno;
    result.sqlstate = unpack_sql_state(edata->sqlerrcode);
    result.message = Str(edata->message);
    result.detail = Str(edata->detail);
    result.detail_log = Str(edata->detail_log);
    result.hint = Str(edata->hint);
    result.context = Str(edata->context);
    FreeErrorData(edata);
  }
  PG_END_TRY();
  return result;
}

// Runs fn() in a forked child with stderr silenced and no core dumps, and
// returns the child's wait status. fn should not return; if it does, the
// child exits with 99.
template <typename F>
int RunInChild(F&& fn) {
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) {
      dup2(devnull, 2);
      close(devnull);
    }
    fn();
    _exit(99);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

}  // namespace bgw::compat::testing
