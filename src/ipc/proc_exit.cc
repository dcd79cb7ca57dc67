// Child exit path; see proc_exit.h.
#include "ipc/proc_exit.h"

#include <unistd.h>

#include <cstdio>
#include <vector>

#include "ipc/dsm.h"
#include "ipc/lwlock.h"
#include "ipc/pmsignal.h"
#include "postgres/storage/ipc.h"

namespace bgw {
namespace {

struct Entry {
  ExitCallback fn;
  uintptr_t arg;
};

// A callback list whose first entries live in the list itself (static
// storage), not on the heap: registering the callbacks every child sets up
// while starting (its proc slot, its status entry) writes no heap page.
// After fork each heap page written is copied, and an allocation writes
// several (tcache, chunk headers). More entries than kInline still work:
// they go to a vector, newer than every inline one.
class CallbackList {
 public:
  void Push(Entry e) {
    if (count_ < kInline) {
      inline_[count_++] = e;
    } else {
      overflow_.push_back(e);
    }
  }
  bool Empty() const { return count_ == 0 && overflow_.empty(); }
  const Entry& Newest() const { return overflow_.empty() ? inline_[count_ - 1] : overflow_.back(); }
  void PopNewest() {
    if (!overflow_.empty()) {
      overflow_.pop_back();
    } else {
      count_--;
    }
  }
  void Clear() {
    count_ = 0;
    overflow_.clear();
  }

 private:
  static constexpr size_t kInline = 16;
  Entry inline_[kInline] = {};
  size_t count_ = 0;
  std::vector<Entry> overflow_;
};

CallbackList before_shmem, on_shmem, on_proc;
bool in_progress = false;

void RunNewestFirst(CallbackList& list, int code) {
  // Pop before calling so a callback that exits again does not rerun itself.
  while (!list.Empty()) {
    Entry e = list.Newest();
    list.PopNewest();
    e.fn(code, e.arg);
  }
}

}  // namespace

void OnProcExit(ExitCallback fn, uintptr_t arg) { on_proc.Push({fn, arg}); }
void BeforeShmemExit(ExitCallback fn, uintptr_t arg) { before_shmem.Push({fn, arg}); }
void OnShmemExit(ExitCallback fn, uintptr_t arg) { on_shmem.Push({fn, arg}); }

void CancelBeforeShmemExit(ExitCallback fn, uintptr_t arg) {
  if (!before_shmem.Empty() && before_shmem.Newest().fn == fn && before_shmem.Newest().arg == arg) {
    before_shmem.PopNewest();
  }
}

void ResetExitCallbacks() {
  before_shmem.Clear();
  on_shmem.Clear();
  on_proc.Clear();
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
  // The C API's flag too: elog (src/compat) turns an ERROR raised now into
  // FATAL by it.
  proc_exit_inprogress = true;
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
