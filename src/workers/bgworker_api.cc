// The background worker API of postmaster/bgworker.h: registration, handles,
// waits. The registrant's side of the slot protocol in worker_slots.h.
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/postmaster/bgworker.h"
#include "postgres/storage/latch.h"
#include "workers/worker_slots.h"

struct BackgroundWorkerHandle {
  int slot;
  uint64 generation;
};

namespace {

using bgw::bgworker::kNotStarted;
using bgw::bgworker::WorkerSlot;

// Reads a slot's status for a handle. The generation is read before and
// after the pid so a slot reused meanwhile reads as STOPPED.
BgwHandleStatus ReadStatus(const BackgroundWorkerHandle* handle, pid_t* pid) {
  WorkerSlot* slot = bgw::bgworker::Slot(handle->slot);
  if (slot == nullptr) return BGWH_STOPPED;
  // Pairs with the postmaster's release store of in_use / pid.
  if (!slot->in_use.load(std::memory_order_acquire)) return BGWH_STOPPED;
  if (slot->generation.load(std::memory_order_acquire) != handle->generation) return BGWH_STOPPED;
  pid_t p = slot->pid.load(std::memory_order_acquire);
  if (!slot->in_use.load(std::memory_order_acquire) ||
      slot->generation.load(std::memory_order_acquire) != handle->generation) {
    return BGWH_STOPPED;
  }
  if (p == kNotStarted) return BGWH_NOT_YET_STARTED;
  if (p == 0) return BGWH_STOPPED;
  *pid = p;
  return BGWH_STARTED;
}

// Blocks every blockable signal for a registrants' critical section: the
// default SIGTERM handler (bgworker_die) exits from the handler, and exiting
// while holding the registrants' lock, or between publishing a slot and
// telling the postmaster, would leave the lock held or the slot unseen.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGQUIT);
    sigprocmask(SIG_BLOCK, &all, &old_);
  }
  ~SignalsBlocked() { sigprocmask(SIG_SETMASK, &old_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

// Waits until `done(status)`; PostgreSQL's wait loops, plus: SIGUSR1 (the
// postmaster's notification) is let through for the duration even if the
// caller still has signals blocked, so the wake-up cannot be held back.
template <typename Done>
BgwHandleStatus WaitFor(BackgroundWorkerHandle* handle, pid_t* pidp, uint32 wait_event, Done done) {
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_UNBLOCK, &usr1, &old);
  BgwHandleStatus status;
  for (;;) {
    pid_t pid = 0;
    CHECK_FOR_INTERRUPTS();
    status = ReadStatus(handle, &pid);
    if (done(status)) {
      if (pidp != nullptr && status == BGWH_STARTED) *pidp = pid;
      break;
    }
    int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_POSTMASTER_DEATH, 0, wait_event);
    if (rc & WL_POSTMASTER_DEATH) {
      status = BGWH_POSTMASTER_DIED;
      break;
    }
    ResetLatch(MyLatch);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  return status;
}

}  // namespace

extern "C" {

// miscadmin.h's copy of the max_worker_processes setting, for modules; the
// postmaster sets it from the setting at startup (children inherit it).
int max_worker_processes = 8;

void RegisterBackgroundWorker(BackgroundWorker* worker) {
  if (IsUnderPostmaster || !IsPostmasterEnvironment) {
    // A library preloaded by the postmaster is initialized again in a child
    // that loads it itself: its registrations there are silently ignored.
    if (!process_shared_preload_libraries_in_progress) {
      ereport(LOG, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
              errmsg("background worker \"%s\": must be registered in shared_preload_libraries",
                     worker->bgw_name));
    }
    return;
  }
  if (!process_shared_preload_libraries_in_progress &&
      std::strcmp(worker->bgw_library_name, "postgres") != 0) {
    ereport(LOG, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("background worker \"%s\": must be registered in shared_preload_libraries",
                   worker->bgw_name));
    return;
  }
  if (bgw::shmem::IsAttached() && !process_shared_preload_libraries_in_progress) {
    elog(ERROR, "cannot register background worker \"%s\" after shmem init", worker->bgw_name);
  }
  if (bgw::bgworker::StaticRegistrar registrar = bgw::bgworker::GetStaticRegistrar()) {
    registrar(*worker);
  }
}

bool RegisterDynamicBackgroundWorker(BackgroundWorker* worker, BackgroundWorkerHandle** handle) {
  if (!IsUnderPostmaster) return false;
  if (bgw::bgworker::Array() == nullptr) {
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("cannot register background worker \"%s\" without shared memory access",
                   worker->bgw_name),
            errhint("Register the calling worker with BGWORKER_SHMEM_ACCESS."));
  }
  BackgroundWorker copy;
  std::memcpy(&copy, worker, sizeof copy);
  char error_text[512] = "";
  {
    std::string error;
    if (!bgw::bgworker::ValidateWorker(&copy, &error)) {
      std::strncpy(error_text, error.c_str(), sizeof error_text - 1);
    }
  }
  if (error_text[0] != '\0') {
    ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", error_text));
  }

  int index = -1;
  uint64 generation = 0;
  bool parallel = (copy.bgw_flags & BGWORKER_CLASS_PARALLEL) != 0;
  bgw::bgworker::WorkerArray* array = bgw::bgworker::Array();
  {
    SignalsBlocked blocked;
    {
      bgw::bgworker::RegistrantsLock lock;
      if (parallel && array->parallel_registered.load(std::memory_order_relaxed) -
                              array->parallel_terminated.load(std::memory_order_acquire) >=
                          static_cast<uint32>(max_parallel_workers)) {
        return false;
      }
      for (int i = 0; i < bgw::bgworker::NumSlots(); i++) {
        WorkerSlot* slot = bgw::bgworker::Slot(i);
        if (slot->in_use.load(std::memory_order_acquire)) continue;
        std::memcpy(&slot->worker, &copy, sizeof copy);
        // Generation before pid (release): a holder of an old handle that reads
        // the new pid also reads the new generation, and so reads STOPPED.
        generation = slot->generation.load(std::memory_order_relaxed) + 1;
        slot->generation.store(generation, std::memory_order_release);
        slot->pid.store(kNotStarted, std::memory_order_release);
        slot->terminate.store(false, std::memory_order_relaxed);
        if (parallel) array->parallel_registered.fetch_add(1, std::memory_order_relaxed);
        // Publishes everything above; pairs with the postmaster's acquire load.
        slot->in_use.store(true, std::memory_order_release);
        index = i;
        break;
      }
    }
    if (index < 0) return false;
    bgw::bgworker::NotifyPostmaster(index);
  }  // signals unblocked: the postmaster knows about the slot
  if (handle != nullptr) {
    *handle = static_cast<BackgroundWorkerHandle*>(palloc(sizeof(BackgroundWorkerHandle)));
    (*handle)->slot = index;
    (*handle)->generation = generation;
  }
  return true;
}

BgwHandleStatus GetBackgroundWorkerPid(BackgroundWorkerHandle* handle, pid_t* pidp) {
  pid_t pid = 0;
  BgwHandleStatus status = ReadStatus(handle, &pid);
  if (status == BGWH_STARTED && pidp != nullptr) *pidp = pid;
  return status;
}

BgwHandleStatus WaitForBackgroundWorkerStartup(BackgroundWorkerHandle* handle, pid_t* pidp) {
  return WaitFor(handle, pidp, WAIT_EVENT_BGWORKER_STARTUP,
                 [](BgwHandleStatus s) { return s != BGWH_NOT_YET_STARTED; });
}

BgwHandleStatus WaitForBackgroundWorkerShutdown(BackgroundWorkerHandle* handle) {
  return WaitFor(handle, nullptr, WAIT_EVENT_BGWORKER_SHUTDOWN,
                 [](BgwHandleStatus s) { return s == BGWH_STOPPED; });
}

void TerminateBackgroundWorker(BackgroundWorkerHandle* handle) {
  WorkerSlot* slot = bgw::bgworker::Slot(handle->slot);
  if (slot == nullptr) return;
  SignalsBlocked blocked;
  bool signal = false;
  {
    bgw::bgworker::RegistrantsLock lock;
    if (slot->in_use.load(std::memory_order_acquire) &&
        slot->generation.load(std::memory_order_acquire) == handle->generation) {
      slot->terminate.store(true, std::memory_order_release);
      signal = true;
    }
  }
  if (signal) bgw::bgworker::NotifyPostmaster(handle->slot);
}

const char* GetBackgroundWorkerTypeByPid(pid_t pid) {
  static char result[BGW_MAXLEN];
  for (int i = 0; i < bgw::bgworker::NumSlots(); i++) {
    WorkerSlot* slot = bgw::bgworker::Slot(i);
    if (slot->in_use.load(std::memory_order_acquire) &&
        slot->pid.load(std::memory_order_acquire) == pid) {
      std::memcpy(result, slot->worker.bgw_type, BGW_MAXLEN);
      result[BGW_MAXLEN - 1] = '\0';
      return result;
    }
  }
  return nullptr;
}

// BackgroundWorkerInitializeConnection[ByOid]: src/spi/connection.cc.

}  // extern "C"
