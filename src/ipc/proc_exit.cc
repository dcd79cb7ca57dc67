// Child exit path; see proc_exit.h.
#include "ipc/proc_exit.h"

#include <unistd.h>

#include <cstdio>
#include <vector>

#include "ipc/dsm.h"
#include "ipc/lwlock.h"
#include "ipc/pmsignal.h"

namespace bgw {
namespace {

struct Entry {
  ExitCallback fn;
  uintptr_t arg;
};
std::vector<Entry> before_shmem, on_shmem, on_proc;
bool in_progress = false;

// Room reserved at process start, in the postmaster, so that the callbacks a
// child registers while starting (its proc slot, its status entry) do not
// allocate: a malloc after fork writes heap pages the child shares with the
// postmaster, and each such page is copied. More callbacks than this still
// work; the vector grows.
constexpr size_t kReservedCallbacks = 16;
[[maybe_unused]] const bool reserved = [] {
  before_shmem.reserve(kReservedCallbacks);
  on_shmem.reserve(kReservedCallbacks);
  on_proc.reserve(kReservedCallbacks);
  return true;
}();

void RunNewestFirst(std::vector<Entry>& list, int code) {
  // Pop before calling so a callback that exits again does not rerun itself.
  while (!list.empty()) {
    Entry e = list.back();
    list.pop_back();
    e.fn(code, e.arg);
  }
}

}  // namespace

void OnProcExit(ExitCallback fn, uintptr_t arg) { on_proc.push_back({fn, arg}); }
void BeforeShmemExit(ExitCallback fn, uintptr_t arg) { before_shmem.push_back({fn, arg}); }
void OnShmemExit(ExitCallback fn, uintptr_t arg) { on_shmem.push_back({fn, arg}); }

void CancelBeforeShmemExit(ExitCallback fn, uintptr_t arg) {
  if (!before_shmem.empty() && before_shmem.back().fn == fn && before_shmem.back().arg == arg) {
    before_shmem.pop_back();
  }
}

void ResetExitCallbacks() {
  before_shmem.clear();
  on_shmem.clear();
  on_proc.clear();
  in_progress = false;
}

bool ProcExitInProgress() { return in_progress; }

void RunShmemExitCallbacks(int code) {
  RunNewestFirst(before_shmem, code);
  // As PostgreSQL's shmem_exit: dynamic shared memory is detached (its
  // on_dsm_detach callbacks run) after the before-shmem-exit callbacks and
  // before the shmem-exit ones, which release this process's slot.
  dsm::DetachAllForExit();
  RunNewestFirst(on_shmem, code);
}

void ProcExit(int code) {
  in_progress = true;
  // LWLocks first: exit callbacks may need them, and a lock held by an
  // exiting process would hang every other one.
  lwlock::ReleaseAllAtExit();
  RunShmemExitCallbacks(code);
  pmsignal::MarkChildInactive();
  RunNewestFirst(on_proc, code);
  fflush(nullptr);
  _exit(code);
}

}  // namespace bgw

// The PostgreSQL-compatible face (storage/ipc.h).
#include "postgres/storage/ipc.h"

extern "C" {

bool proc_exit_inprogress = false;
bool shmem_exit_inprogress = false;
shmem_startup_hook_type shmem_startup_hook = nullptr;

void proc_exit(int code) {
  proc_exit_inprogress = true;
  bgw::ProcExit(code);
}

void shmem_exit(int) {
  // Runs the shared-memory callbacks now, as PostgreSQL's shmem_exit does;
  // ProcExit later finds those lists empty.
  shmem_exit_inprogress = true;
  bgw::RunShmemExitCallbacks(0);
  shmem_exit_inprogress = false;
}

void on_proc_exit(pg_on_exit_callback function, Datum arg) { bgw::OnProcExit(function, arg); }
void on_shmem_exit(pg_on_exit_callback function, Datum arg) { bgw::OnShmemExit(function, arg); }
void before_shmem_exit(pg_on_exit_callback function, Datum arg) {
  bgw::BeforeShmemExit(function, arg);
}
void cancel_before_shmem_exit(pg_on_exit_callback function, Datum arg) {
  bgw::CancelBeforeShmemExit(function, arg);
}
void on_exit_reset(void) { bgw::ResetExitCallbacks(); }
void check_on_shmem_exit_lists_are_empty(void) {}

}  // extern "C"
