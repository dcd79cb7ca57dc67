// Condition variables: the implementation behind
// include/postgres/storage/condition_variable.h.
//
// A ConditionVariable is a spinlock and a list of sleeping process slots
// (linked through ProcSlot::cv_next/cv_prev, by slot number). Sleepers wait
// on their latch; Signal/Broadcast unlink sleepers and set their latches.
//
// Protocol of the per-process fields (ProcSlot, src/ipc/proc.h):
//   cv_on_list:       1 while the slot is on some condition variable's list;
//                     set by the owner when it adds itself, cleared by
//                     whoever unlinks it; always under that variable's mutex.
//                     The owner reads it under the same mutex to learn
//                     whether it was signalled.
//   cv_next/cv_prev:  the links, under the same mutex.
// A process is on at most one list: the one of cv_sleep_target (local).
// The latch carries the wake-up: SetLatch after unlinking, and the sleeper
// checks cv_on_list after every WaitLatch return, so a wake-up between its
// condition check and its sleep is never lost.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "ipc/lwlock.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/storage/condition_variable.h"
#include "postgres/storage/latch.h"
#include "postgres/storage/spin.h"

namespace {

ConditionVariable* cv_sleep_target = nullptr;
// > 0 while this process holds a condition variable's mutex or is between
// unlinking and relinking itself: an exiting signal handler there would
// leave the list broken, so the exit path makes that a crash.
volatile sig_atomic_t in_cv_code = 0;
int exit_callback_pid = 0;

void Enter() { in_cv_code = in_cv_code + 1; }
void Leave() { in_cv_code = in_cv_code - 1; }

void ListPushTail(proclist_head* l, int n) {
  bgw::proclist::PushTail<&bgw::proc::ProcSlot::cv_next, &bgw::proc::ProcSlot::cv_prev>(l, n);
}
void ListDelete(proclist_head* l, int n) {
  bgw::proclist::Delete<&bgw::proc::ProcSlot::cv_next, &bgw::proc::ProcSlot::cv_prev>(l, n);
}

// Pops the first sleeper; INVALID_PGPROCNO if none. Caller holds the mutex.
int PopHead(ConditionVariable* cv) {
  int n = cv->wakeup.head;
  if (n == INVALID_PGPROCNO) return n;
  ListDelete(&cv->wakeup, n);
  bgw::proclist::SlotOrPanic(n)->cv_on_list = 0;
  return n;
}

void CancelAtExit(int, uintptr_t) {
  if (in_cv_code > 0) {
    in_cv_code = 0;
    elog(PANIC, "process exited while editing a condition variable's wait list");
  }
  ConditionVariableCancelSleep();
}

bgw::proc::ProcSlot* RequireSlot() {
  bgw::lwlock::RequireSharedMemory();
  bgw::proc::ProcSlot* me = bgw::proc::MyProcSlot();
  if (me == nullptr || MyLatch == nullptr) {
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("only processes attached to shared memory can sleep on a condition variable"));
  }
  if (int pid = static_cast<int>(getpid()); exit_callback_pid != pid) {
    exit_callback_pid = pid;
    bgw::OnShmemExit(CancelAtExit, 0);
  }
  return me;
}

}  // namespace

extern "C" {

void ConditionVariableInit(ConditionVariable* cv) {
  SpinLockInit(&cv->mutex);
  bgw::proclist::Init(&cv->wakeup);
}

void ConditionVariablePrepareToSleep(ConditionVariable* cv) {
  bgw::proc::ProcSlot* me = RequireSlot();
  if (cv_sleep_target != nullptr) ConditionVariableCancelSleep();
  cv_sleep_target = cv;
  Enter();
  SpinLockAcquire(&cv->mutex);
  ListPushTail(&cv->wakeup, bgw::proclist::MyProcNumber());
  me->cv_on_list = 1;
  SpinLockRelease(&cv->mutex);
  Leave();
}

void ConditionVariableSleep(ConditionVariable* cv, uint32 wait_event_info) {
  (void)ConditionVariableTimedSleep(cv, -1, wait_event_info);
}

bool ConditionVariableTimedSleep(ConditionVariable* cv, long timeout, uint32 wait_event_info) {
  // Not prepared yet: prepare and let the caller re-check its condition
  // before the first real sleep (PostgreSQL's contract).
  if (cv_sleep_target != cv) {
    ConditionVariablePrepareToSleep(cv);
    return false;
  }
  bgw::proc::ProcSlot* me = RequireSlot();
  using Clock = std::chrono::steady_clock;
  Clock::time_point deadline;
  if (timeout >= 0) deadline = Clock::now() + std::chrono::milliseconds(timeout);
  long cur_timeout = timeout;
  for (;;) {
    int events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (timeout >= 0 ? WL_TIMEOUT : 0);
    (void)WaitLatch(MyLatch, events, cur_timeout, wait_event_info);
    ResetLatch(MyLatch);

    // Off the list means a Signal/Broadcast picked us. Get back on it, so a
    // caller that loops to sleep again misses nothing in between.
    bool done = false;
    Enter();
    SpinLockAcquire(&cv->mutex);
    if (!me->cv_on_list) {
      done = true;
      ListPushTail(&cv->wakeup, bgw::proclist::MyProcNumber());
      me->cv_on_list = 1;
    }
    SpinLockRelease(&cv->mutex);
    Leave();

    CHECK_FOR_INTERRUPTS();
    // An interrupt handler may have cancelled the sleep.
    if (cv != cv_sleep_target) done = true;
    if (done) return false;
    if (timeout >= 0) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return true;
      cur_timeout = static_cast<long>(left);
    }
  }
}

void ConditionVariableCancelSleep(void) {
  ConditionVariable* cv = cv_sleep_target;
  if (cv == nullptr) return;
  bgw::proc::ProcSlot* me = bgw::proc::MyProcSlot();
  bool signalled = false;
  if (me != nullptr) {
    Enter();
    SpinLockAcquire(&cv->mutex);
    if (me->cv_on_list) {
      ListDelete(&cv->wakeup, bgw::proclist::MyProcNumber());
      me->cv_on_list = 0;
    } else {
      signalled = true;
    }
    SpinLockRelease(&cv->mutex);
    Leave();
  }
  cv_sleep_target = nullptr;
  // A signal meant for a sleeper that no longer sleeps goes to the next one.
  if (signalled) ConditionVariableSignal(cv);
}

void ConditionVariableSignal(ConditionVariable* cv) {
  bgw::lwlock::RequireSharedMemory();
  Enter();
  SpinLockAcquire(&cv->mutex);
  int woken = PopHead(cv);
  SpinLockRelease(&cv->mutex);
  Leave();
  if (woken != INVALID_PGPROCNO) SetLatch(&bgw::proclist::SlotOrPanic(woken)->pgproc.procLatch);
}

void ConditionVariableBroadcast(ConditionVariable* cv) {
  bgw::lwlock::RequireSharedMemory();
  // Every sleeper is unlinked under the mutex in one go (a woken process
  // that re-adds itself goes to the end of a list we no longer walk); their
  // latches are set after the mutex is released. There are at most as many
  // sleepers as process slots.
  static std::vector<int> woken;
  size_t capacity = static_cast<size_t>(std::max(bgw::proc::NumSlots(), 1));
  if (woken.size() < capacity) woken.resize(capacity);
  size_t n = 0;
  Enter();
  SpinLockAcquire(&cv->mutex);
  while (n < woken.size()) {
    int p = PopHead(cv);
    if (p == INVALID_PGPROCNO) break;
    woken[n++] = p;
  }
  SpinLockRelease(&cv->mutex);
  Leave();
  for (size_t i = 0; i < n; i++) SetLatch(&bgw::proclist::SlotOrPanic(woken[i])->pgproc.procLatch);
}

}  // extern "C"
