// bgworker/bgworker.h: the modern C++ module API, in one include.
//
//   error.h   Errc, ErrorInfo, Expected<T>, bgworker::Error; CatchPgErrors,
//             ThrowOnPgError, ExceptionBoundary (ereport(ERROR) <-> C++)
//   worker.h  WorkerSpec, WorkerHandle (RAII, waits with timeouts),
//             RegisterStatic, CurrentWorker, CheckForInterrupts
//   latch.h   Latch (a view over MyLatch or a shared latch), WaitResult
//
// It sits beside the PostgreSQL-compatible C API (postmaster/bgworker.h,
// storage/latch.h, utils/elog.h ...), on the same implementation: a module
// may use both. Build flags: `bgw config --cflags` (it puts both include
// directories on the path) and -std=c++20; the C++ API is implemented in the
// server executable, so there is nothing to link. A C++ module still needs
// its magic block and entry points with C linkage:
//
//   #include "postgres.h"
//   #include "fmgr.h"
//   #include "bgworker/bgworker.h"
//   extern "C" {
//   PG_MODULE_MAGIC;
//   PGDLLEXPORT void my_worker_main(Datum arg);
//   }
//
// See modules/bgw_cxx_example for a complete module.
#ifndef BGWORKER_BGWORKER_H
#define BGWORKER_BGWORKER_H

#include "error.h"
#include "latch.h"
#include "shmem.h"
#include "worker.h"

#endif  // BGWORKER_BGWORKER_H
