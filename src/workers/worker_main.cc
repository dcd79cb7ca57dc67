// The background worker process; see worker_main.h.
#include "workers/worker_main.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>

#include "common/log.h"
#include "fmgr/dynamic_loader.h"
#include "ipc/backend_status.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/signals.h"
#include "postgres/fmgr.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/port.h"
#include "postgres/storage/ipc.h"
#include "postgres/storage/latch.h"
#include "postgres/utils/guc.h"

extern "C" {
BackgroundWorker* MyBgworkerEntry = nullptr;
}

namespace bgw::bgworker {
namespace {

// Entry points reachable with bgw_library_name = "postgres".
struct InternalWorker {
  const char* name;
  bgworker_main_type fn;
};

// Sleeps on its latch until terminated; a worker for tests and for holding a
// slot. It honours SIGTERM (die) and SIGHUP (reload) like a good module.
void IdleWorkerMain(Datum) {
  pqsignal(SIGTERM, die);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  BackgroundWorkerUnblockSignals();
  for (;;) {
    WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
  }
}

constexpr InternalWorker kInternalWorkers[] = {
    {"IdleWorkerMain", IdleWorkerMain},
};

bgworker_main_type FindInternal(const BackgroundWorker& w) {
  for (const InternalWorker& iw : kInternalWorkers) {
    if (std::strcmp(iw.name, w.bgw_function_name) == 0) return iw.fn;
  }
  return nullptr;
}

bgworker_main_type LookupEntry(const BackgroundWorker& w) {
  if (std::strcmp(w.bgw_library_name, "postgres") == 0) {
    if (bgworker_main_type fn = FindInternal(w)) return fn;
    elog(ERROR, "internal function \"%s\" not found", w.bgw_function_name);
  }
  return reinterpret_cast<bgworker_main_type>(
      load_external_function(w.bgw_library_name, w.bgw_function_name, true, nullptr));
}

}  // namespace

bgworker_main_type ResolveLoadedEntry(const BackgroundWorker& worker) {
  if (std::strcmp(worker.bgw_library_name, "postgres") == 0) return FindInternal(worker);
  // The postmaster never trusts a name to be terminated.
  size_t lib_len = strnlen(worker.bgw_library_name, BGW_MAXLEN);
  if (lib_len == BGW_MAXLEN || strnlen(worker.bgw_function_name, BGW_MAXLEN) == BGW_MAXLEN) {
    return nullptr;
  }
  void* handle = loader::LoadedHandle(std::string_view(worker.bgw_library_name, lib_len));
  if (handle == nullptr) return nullptr;
  return reinterpret_cast<bgworker_main_type>(dlsym(handle, worker.bgw_function_name));
}

void BackgroundWorkerMain(const BackgroundWorker& worker, int child_slot,
                          bgworker_main_type entry) {
  IsBackgroundWorker = true;
  IsUnderPostmaster = true;
  MyBackendType = B_BG_WORKER;
  MyProcPid = getpid();
  MyStartTime = time(nullptr);
  // The worker's own copy: what it reads cannot change under it. Static,
  // not malloc'd: no heap page is written (and copied) for it.
  static BackgroundWorker entry_copy;
  std::memcpy(&entry_copy, &worker, sizeof(BackgroundWorker));
  MyBgworkerEntry = &entry_copy;

  InitializeLatchSupport();
  if (worker.bgw_flags & BGWORKER_SHMEM_ACCESS) {
    proc::AttachChild(child_slot, worker.bgw_type, worker.bgw_name);
    backend_status::BeginWorker(child_slot, worker.bgw_type);
  }
  InstallWorkerSignalHandlers();

  // An ERROR that reaches here ends the worker with exit status 1: the
  // postmaster restarts it after bgw_restart_time.
  static sigjmp_buf top_level;
  if (sigsetjmp(top_level, 1) != 0) {
    HOLD_INTERRUPTS();
    sigprocmask(SIG_SETMASK, &BlockSig, nullptr);
    EmitErrorReport();
    proc_exit(1);
  }
  PG_exception_stack = &top_level;

  bgworker_main_type fn = entry != nullptr ? entry : LookupEntry(*MyBgworkerEntry);
  fn(MyBgworkerEntry->bgw_main_arg);
  proc_exit(0);
}

}  // namespace bgw::bgworker
