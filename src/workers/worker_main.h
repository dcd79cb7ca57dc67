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
// `entry`, when not null, is the entry function the postmaster already
// resolved (ResolveLoadedEntry); the child then skips the lookup.
[[noreturn]] void BackgroundWorkerMain(const BackgroundWorker& worker, int child_slot,
                                       bgworker_main_type entry);

// Postmaster, before forking: the entry function of `worker` if it can be
// found without loading anything (a built-in, or a function of a library
// this process already loaded, e.g. through shared_preload_libraries), else
// nullptr and the child resolves it (loading the library, running its
// _PG_init there, reporting errors). The result is the same pointer the
// child would find, since the child inherits the loaded library; resolving
// it here spares every child the dynamic linker's symbol lookup (its
// code, the library's hash tables and its lock are otherwise page faults
// and a copied page in each new child).
bgworker_main_type ResolveLoadedEntry(const BackgroundWorker& worker);

}  // namespace bgw::bgworker
