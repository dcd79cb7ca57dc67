// The background worker process: what runs in the child the postmaster forks
// for a registered worker, up to and after the module's entry function.
#pragma once

#include "postgres/postmaster/bgworker.h"

namespace bgw::bgworker {

// Child process entry. `child_slot` is the worker's pmsignal/proc slot
// (-1 without BGWORKER_SHMEM_ACCESS). Sets MyBgworkerEntry to a private copy
// of `worker`, installs PostgreSQL's default worker signal handlers with
// every signal but SIGQUIT blocked, resolves bgw_library_name +
// bgw_function_name ("postgres" = the built-in table), and calls the entry
// with bgw_main_arg. An ERROR that nothing catches is logged and the worker
// exits 1; returning from the entry exits 0.
[[noreturn]] void BackgroundWorkerMain(const BackgroundWorker& worker, int child_slot);

}  // namespace bgw::bgworker
