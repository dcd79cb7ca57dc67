// Lightweight locks; see lwlock.h and include/postgres/storage/lwlock.h.
//
// The state word (LWLock.state, one 32-bit atomic):
//
//   bits 0-17   number of shared holders (LW_VAL_SHARED each)
//   bit  18     held exclusively (LW_VAL_EXCLUSIVE)
//   bit  28     LW_FLAG_LOCKED: the wait list is being edited (a spin bit)
//   bit  29     LW_FLAG_RELEASE_OK: a releaser may wake waiters
//   bit  30     LW_FLAG_HAS_WAITERS: the wait list may be non-empty
//
// Taking the lock is one compare-and-swap on the holder bits. A process
// that cannot get it spins briefly, then queues itself on the wait list
// (setting HAS_WAITERS), tries once more (the holder may have released in
// between: that is what makes a lost wake-up impossible, because a releaser
// that saw no HAS_WAITERS released before our second try, which then
// succeeds), and sleeps on its semaphore.
//
// Protocol of the per-process fields (ProcSlot, src/ipc/proc.h):
//   lw_waiting:   kWaiting is set by the owner under the lock's wait-list bit
//                 when it queues itself. A releaser that picks it sets
//                 kPendingWakeup (under the bit), unlinks it, and after
//                 releasing the bit stores kNotWaiting with release order,
//                 then posts lw_sem. The owner loads it with acquire order
//                 after each semaphore wake-up: only kNotWaiting ends the
//                 wait; other wake-ups are counted and re-posted at the end
//                 (they belong to a later wait).
//   lw_wait_mode: the owner's mode, written under the wait-list bit.
//   lw_next/prev: links in exactly one lock's wait list, under its bit.
//   lw_sem:       a counting semaphore: posts are fetch_add(1) + FUTEX_WAKE;
//                 the owner decrements it or sleeps in FUTEX_WAIT while it
//                 is 0. Shared futexes (no FUTEX_PRIVATE_FLAG): the word is
//                 in a MAP_SHARED mapping used by many processes.
//
// Releasing subtracts the holder bits; if that left the lock free with
// HAS_WAITERS and RELEASE_OK set, the releaser wakes the waiters at the head
// of the list: every shared waiter up to the first exclusive one, or that
// exclusive one alone (LW_WAIT_UNTIL_FREE waiters are always woken). While
// woken waiters have not run yet RELEASE_OK stays clear, so releases do not
// wake more processes than can use the lock; the first woken waiter to run
// sets it again. Woken waiters compete for the lock like anyone else.
//
// Death while holding a lock: exit through proc_exit releases everything
// (ReleaseAllAtExit); any other death is a crash and the postmaster rebuilds
// shared memory. Sleeping waiters are ended by the postmaster's SIGQUIT.
#include "ipc/lwlock.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/storage/shmem.h"
#include "postgres/utils/wait_event.h"

extern "C" {
LWLockPadded* MainLWLockArray = nullptr;
}

namespace bgw::lwlock {
namespace {

constexpr uint32_t kMaxBackends = 0x3FFFF;
constexpr uint32_t LW_VAL_SHARED = 1;
constexpr uint32_t LW_VAL_EXCLUSIVE = kMaxBackends + 1;
constexpr uint32_t LW_LOCK_MASK = kMaxBackends | LW_VAL_EXCLUSIVE;
constexpr uint32_t LW_FLAG_LOCKED = 1U << 28;
constexpr uint32_t LW_FLAG_RELEASE_OK = 1U << 29;
constexpr uint32_t LW_FLAG_HAS_WAITERS = 1U << 30;
static_assert((LW_LOCK_MASK & (LW_FLAG_LOCKED | LW_FLAG_RELEASE_OK | LW_FLAG_HAS_WAITERS)) == 0);

enum WaitState : uint8_t { kNotWaiting = 0, kWaiting = 1, kPendingWakeup = 2 };

// Spins before sleeping: a holder's critical section is usually shorter
// than a futex round trip.
constexpr int kSpinsBeforeSleep = 100;
constexpr int kMaxTrancheId = 0xFFFF;  // LWLock.tranche is a uint16

constexpr const char* kIndividualNames[NUM_INDIVIDUAL_LWLOCKS] = {
    "<unassigned:0>",
    "AddinShmemInit",
    "DynamicSharedMemoryControl",
};

// The shared part. tranche_counter: next id for LWLockNewTrancheId,
// fetch_add by any process, set by the postmaster at creation; num_locks:
// written by the postmaster at creation, read-only after. The locks follow,
// aligned to LWLOCK_PADDED_SIZE.
struct LWLockControl {
  pg_atomic_uint32 tranche_counter;
  uint32_t num_locks;
};

LWLockControl* control = nullptr;

// Postmaster-private, inherited by children across fork.
struct NamedRequest {
  char name[NAMEDATALEN];
  int num_lwlocks;
  int tranche_id;   // assigned by ShmemInit
  int first_index;  // in MainLWLockArray
};
std::vector<NamedRequest> named_requests;
// Ids handed out before shared memory existed (a module's _PG_init).
int pre_shmem_next_tranche = LWTRANCHE_FIRST_USER_DEFINED;

// Process-local tranche names by id (node-based: a returned name stays
// valid until the tranche is registered again).
std::unordered_map<int, std::string> tranche_names;

struct HeldLock {
  LWLock* lock;
  LWLockMode mode;
};
HeldLock held_lwlocks[MAX_SIMUL_LWLOCKS];
int num_held_lwlocks = 0;

// > 0 while this process is in code whose interruption by an exiting signal
// handler would leave a lock's shared state out of step with held_lwlocks
// or a wait list half edited; the exit path turns such an exit into a crash.
volatile sig_atomic_t in_lock_code = 0;
// The lock this process sleeps on, set only around the sleep itself: the
// exit path takes the process off its wait list.
LWLock* volatile sleeping_on = nullptr;
// The slot whose semaphore this process has reset (a previous owner of the
// slot may have left posts behind).
proc::ProcSlot* sem_ready_slot = nullptr;
int sem_ready_pid = 0;

const char* LockName(const LWLock* lock) { return TrancheName(lock->tranche); }

// ---- the per-process semaphore --------------------------------------------

uint32_t* FutexWord(proc::ProcSlot* slot) { return reinterpret_cast<uint32_t*>(&slot->lw_sem); }

// The acquire orderings here pair with the release in SemUnlock: what the
// poster wrote before posting is visible once the post is consumed.
void SemLock(proc::ProcSlot* slot) {
  for (;;) {
    uint32_t v = slot->lw_sem.load(std::memory_order_acquire);
    while (v > 0) {
      if (slot->lw_sem.compare_exchange_weak(v, v - 1, std::memory_order_acq_rel)) return;
    }
    // Sleeps only while the word is still 0; a post in between makes it
    // return at once (EAGAIN). EINTR: a signal handler ran; look again.
    syscall(SYS_futex, FutexWord(slot), FUTEX_WAIT, 0, nullptr, nullptr, 0);
  }
}

void SemUnlock(proc::ProcSlot* slot) {
  slot->lw_sem.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, FutexWord(slot), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// Called before this process first sleeps: it is on no wait list, so
// nobody can be about to post to its slot for it.
void PrepareSemaphore(proc::ProcSlot* me) {
  int pid = static_cast<int>(getpid());  // MyProcPid is not set in every child
  if (sem_ready_slot == me && sem_ready_pid == pid) return;
  me->lw_sem.store(0, std::memory_order_relaxed);
  me->lw_waiting.store(kNotWaiting, std::memory_order_relaxed);
  sem_ready_slot = me;
  sem_ready_pid = pid;
}

// ---- the state word -----------------------------------------------------

// One attempt; true if the lock is busy and the caller must wait.
bool AttemptLock(LWLock* lock, LWLockMode mode) {
  uint32 old_state = pg_atomic_read_u32(&lock->state);
  for (;;) {
    uint32 desired = old_state;
    bool free;
    if (mode == LW_EXCLUSIVE) {
      free = (old_state & LW_LOCK_MASK) == 0;
      if (free) desired += LW_VAL_EXCLUSIVE;
    } else {
      free = (old_state & LW_VAL_EXCLUSIVE) == 0;
      if (free) desired += LW_VAL_SHARED;
    }
    // Also when busy: the failed attempt is then a full barrier too.
    if (pg_atomic_compare_exchange_u32(&lock->state, &old_state, desired)) return !free;
  }
}

bool LooksFree(const LWLock* lock, LWLockMode mode) {
  uint32 s = pg_atomic_read_u32(const_cast<pg_atomic_uint32*>(&lock->state));
  return mode == LW_EXCLUSIVE ? (s & LW_LOCK_MASK) == 0 : (s & LW_VAL_EXCLUSIVE) == 0;
}

void WaitListLock(LWLock* lock) {
  for (;;) {
    uint32 old_state = pg_atomic_fetch_or_u32(&lock->state, LW_FLAG_LOCKED);
    if ((old_state & LW_FLAG_LOCKED) == 0) return;
    SpinDelayStatus delay;
    init_spin_delay(&delay, __FILE__, __LINE__, "LWLockWaitListLock");
    while (pg_atomic_read_u32(&lock->state) & LW_FLAG_LOCKED) perform_spin_delay(&delay);
    finish_spin_delay(&delay);
  }
}

void WaitListUnlock(LWLock* lock) { pg_atomic_fetch_and_u32(&lock->state, ~LW_FLAG_LOCKED); }

using WaitList = proclist_head;
void ListPushTail(WaitList* l, int n) {
  proclist::PushTail<&proc::ProcSlot::lw_next, &proc::ProcSlot::lw_prev>(l, n);
}
void ListPushHead(WaitList* l, int n) {
  proclist::PushHead<&proc::ProcSlot::lw_next, &proc::ProcSlot::lw_prev>(l, n);
}
void ListDelete(WaitList* l, int n) {
  proclist::Delete<&proc::ProcSlot::lw_next, &proc::ProcSlot::lw_prev>(l, n);
}

void QueueSelf(LWLock* lock, LWLockMode mode, proc::ProcSlot* me, int my_no) {
  if (me->lw_waiting.load(std::memory_order_relaxed) != kNotWaiting) {
    elog(PANIC, "queueing for lock while waiting on another one");
  }
  WaitListLock(lock);
  pg_atomic_fetch_or_u32(&lock->state, LW_FLAG_HAS_WAITERS);
  me->lw_waiting.store(kWaiting, std::memory_order_relaxed);
  me->lw_wait_mode = static_cast<uint8_t>(mode);
  // Waiting for the lock to be free, not to take it: first in line, so the
  // next release always wakes it.
  if (mode == LW_WAIT_UNTIL_FREE) {
    ListPushHead(&lock->waiters, my_no);
  } else {
    ListPushTail(&lock->waiters, my_no);
  }
  WaitListUnlock(lock);
}

// Sleeps until a releaser sets kNotWaiting; returns the number of
// unrelated semaphore posts absorbed on the way.
int SleepUntilWoken(proc::ProcSlot* me) {
  int extra = 0;
  for (;;) {
    SemLock(me);
    if (me->lw_waiting.load(std::memory_order_acquire) == kNotWaiting) return extra;
    extra++;
  }
}

void RepostExtra(proc::ProcSlot* me, int extra) {
  while (extra-- > 0) SemUnlock(me);
}

// After QueueSelf, when the second attempt got the lock after all.
void DequeueSelf(LWLock* lock, proc::ProcSlot* me, int my_no) {
  WaitListLock(lock);
  bool on_list = me->lw_waiting.load(std::memory_order_relaxed) == kWaiting;
  if (on_list) ListDelete(&lock->waiters, my_no);
  if (proclist::IsEmpty(&lock->waiters)) {
    pg_atomic_fetch_and_u32(&lock->state, ~LW_FLAG_HAS_WAITERS);
  }
  WaitListUnlock(lock);
  if (on_list) {
    me->lw_waiting.store(kNotWaiting, std::memory_order_relaxed);
    return;
  }
  // A releaser picked us already and will post our semaphore: absorb that
  // wake-up, and let other releases wake waiters again (it cleared
  // RELEASE_OK counting on us to run).
  pg_atomic_fetch_or_u32(&lock->state, LW_FLAG_RELEASE_OK);
  RepostExtra(me, SleepUntilWoken(me));
}

void Wakeup(LWLock* lock) {
  bool new_release_ok = true;
  bool woke_somebody = false;
  WaitList wakeup;
  proclist::Init(&wakeup);

  WaitListLock(lock);
  for (int cur = lock->waiters.head; cur != INVALID_PGPROCNO;) {
    proc::ProcSlot* w = proclist::SlotOrPanic(cur);
    int next = w->lw_next;
    auto mode = static_cast<LWLockMode>(w->lw_wait_mode);
    if (woke_somebody && mode == LW_EXCLUSIVE) {
      cur = next;
      continue;
    }
    ListDelete(&lock->waiters, cur);
    ListPushTail(&wakeup, cur);
    if (mode != LW_WAIT_UNTIL_FREE) {
      // Until a woken waiter runs, further releases need not wake more.
      new_release_ok = false;
      woke_somebody = true;
    }
    w->lw_waiting.store(kPendingWakeup, std::memory_order_relaxed);
    if (mode == LW_EXCLUSIVE) break;
    cur = next;
  }
  // The new flags and the wait-list unlock in one step.
  uint32 old_state = pg_atomic_read_u32(&lock->state);
  for (;;) {
    uint32 desired = old_state;
    if (new_release_ok) {
      desired |= LW_FLAG_RELEASE_OK;
    } else {
      desired &= ~LW_FLAG_RELEASE_OK;
    }
    if (proclist::IsEmpty(&lock->waiters)) desired &= ~LW_FLAG_HAS_WAITERS;
    desired &= ~LW_FLAG_LOCKED;
    if (pg_atomic_compare_exchange_u32(&lock->state, &old_state, desired)) break;
  }
  for (int cur = wakeup.head; cur != INVALID_PGPROCNO;) {
    proc::ProcSlot* w = proclist::SlotOrPanic(cur);
    // Read the link first: once woken, the waiter may queue elsewhere.
    int next = w->lw_next;
    w->lw_next = INVALID_PGPROCNO;
    w->lw_prev = INVALID_PGPROCNO;
    // Pairs with the acquire load in SleepUntilWoken.
    w->lw_waiting.store(kNotWaiting, std::memory_order_release);
    SemUnlock(w);
    cur = next;
  }
}

// ---- bookkeeping ----------------------------------------------------------

void RememberHeld(LWLock* lock, LWLockMode mode) {
  held_lwlocks[num_held_lwlocks].lock = lock;
  held_lwlocks[num_held_lwlocks].mode = mode;
  num_held_lwlocks++;
}

void CheckCanTakeAnother() {
  if (num_held_lwlocks >= MAX_SIMUL_LWLOCKS) elog(ERROR, "too many LWLocks taken");
}

void CheckMode(LWLockMode mode) {
  if (mode != LW_EXCLUSIVE && mode != LW_SHARED) {
    elog(ERROR, "unrecognized LWLock mode: %d", static_cast<int>(mode));
  }
}

// Waiting for a lock this process holds in a conflicting mode would never
// end (PostgreSQL hangs); say so instead. Called with interrupts held.
void CheckSelfDeadlock(LWLock* lock, LWLockMode mode) {
  for (int i = 0; i < num_held_lwlocks; i++) {
    if (held_lwlocks[i].lock == lock &&
        (mode != LW_SHARED || held_lwlocks[i].mode == LW_EXCLUSIVE)) {
      RESUME_INTERRUPTS();
      elog(ERROR, "LWLock \"%s\" is already held by this process", LockName(lock));
    }
  }
}

// Short busy wait for a lock that may be released any moment. True if the
// lock was taken (and remembered).
bool SpinThenTry(LWLock* lock, LWLockMode mode) {
  static const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus <= 1) return false;  // the holder cannot run while we spin
  for (int i = 0; i < kSpinsBeforeSleep; i++) {
    pg_spin_delay();
    if (!LooksFree(lock, mode)) continue;
    in_lock_code = in_lock_code + 1;
    bool busy = AttemptLock(lock, mode);
    if (!busy) RememberHeld(lock, mode);
    in_lock_code = in_lock_code - 1;
    if (!busy) return true;
  }
  return false;
}

// A process without a process slot (the postmaster, which only takes locks
// while no child exists) cannot queue: it polls with growing sleeps. With
// take = false it only waits until the lock is free.
void PollForLock(LWLock* lock, LWLockMode mode, bool take) {
  pgstat_report_wait_start(PG_WAIT_LWLOCK | lock->tranche);
  long sleep_us = 10;
  for (;;) {
    if (take) {
      in_lock_code = in_lock_code + 1;
      bool busy = AttemptLock(lock, mode);
      if (!busy) RememberHeld(lock, mode);
      in_lock_code = in_lock_code - 1;
      if (!busy) break;
    } else if (LooksFree(lock, mode)) {
      break;
    }
    struct timespec ts = {0, sleep_us * 1000};
    nanosleep(&ts, nullptr);
    sleep_us = std::min(sleep_us * 2, 1000L);
  }
  pgstat_report_wait_end();
}

// Exit path: this process was asleep on `lock` (or just woken from it).
void AbandonWait(LWLock* lock) {
  proc::ProcSlot* me = proc::MyProcSlot();
  int my_no = proclist::MyProcNumber();
  if (me == nullptr) return;
  WaitListLock(lock);
  bool on_list = me->lw_waiting.load(std::memory_order_relaxed) == kWaiting;
  if (on_list) {
    ListDelete(&lock->waiters, my_no);
    if (proclist::IsEmpty(&lock->waiters)) {
      pg_atomic_fetch_and_u32(&lock->state, ~LW_FLAG_HAS_WAITERS);
    }
    me->lw_waiting.store(kNotWaiting, std::memory_order_relaxed);
  }
  WaitListUnlock(lock);
  if (!on_list) {
    // A releaser picked us; wait until it is done with our slot.
    SpinDelayStatus delay;
    init_spin_delay(&delay, __FILE__, __LINE__, "LWLockAbandonWait");
    while (me->lw_waiting.load(std::memory_order_acquire) != kNotWaiting) {
      perform_spin_delay(&delay);
    }
    finish_spin_delay(&delay);
  }
  // The wake-up we may have consumed belongs to the next waiter: pass it on.
  pg_atomic_fetch_or_u32(&lock->state, LW_FLAG_RELEASE_OK);
  uint32 s = pg_atomic_read_u32(&lock->state);
  if ((s & LW_FLAG_HAS_WAITERS) && (s & LW_LOCK_MASK) == 0) Wakeup(lock);
}

// Shared memory of a lock's tranche name, for tranche ids of the array.
NamedRequest* FindNamedRequest(const char* name) {
  for (NamedRequest& r : named_requests) {
    if (strcmp(r.name, name) == 0) return &r;
  }
  return nullptr;
}

bool InPostmaster() { return IsPostmasterEnvironment && !::IsUnderPostmaster; }

}  // namespace

void RequireSharedMemory() {
  if (shmem::IsAttached()) return;
  if (!::IsUnderPostmaster && !IsPostmasterEnvironment) return;  // standalone
  ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
          errmsg("shared memory is not available in this process"),
          errhint("Register the background worker with BGWORKER_SHMEM_ACCESS in bgw_flags to "
                  "use shared memory, LWLocks and condition variables."));
}

size_t ShmemSize() {
  size_t n = NUM_FIXED_LWLOCKS;
  for (const NamedRequest& r : named_requests) n += static_cast<size_t>(r.num_lwlocks);
  return sizeof(LWLockControl) + LWLOCK_PADDED_SIZE + n * sizeof(LWLockPadded);
}

Status ShmemInit() {
  bool found = false;
  void* p = shmem::InitStruct("LWLock Array", ShmemSize(), &found);
  if (p == nullptr) return Status::Error("could not allocate the LWLock array in shared memory");
  control = static_cast<LWLockControl*>(p);
  uintptr_t first = reinterpret_cast<uintptr_t>(control + 1);
  first = (first + LWLOCK_PADDED_SIZE - 1) & ~uintptr_t{LWLOCK_PADDED_SIZE - 1};
  MainLWLockArray = reinterpret_cast<LWLockPadded*>(first);

  int index = 0;
  for (; index < NUM_FIXED_LWLOCKS; index++) LWLockInitialize(&MainLWLockArray[index].lock, index);
  // Named tranches get the same ids in every generation: they follow the
  // ids handed out before shared memory existed.
  int next_tranche = std::max<int>(pre_shmem_next_tranche, LWTRANCHE_FIRST_USER_DEFINED);
  for (NamedRequest& r : named_requests) {
    r.tranche_id = next_tranche++;
    r.first_index = index;
    LWLockRegisterTranche(r.tranche_id, r.name);
    for (int i = 0; i < r.num_lwlocks; i++) {
      LWLockInitialize(&MainLWLockArray[index++].lock, r.tranche_id);
    }
  }
  control->num_locks = static_cast<uint32_t>(index);
  pg_atomic_init_u32(&control->tranche_counter, static_cast<uint32>(next_tranche));
  return Status::Ok();
}

void ReleaseLeftoverLocks() {
  while (num_held_lwlocks > 0) {
    LWLock* lock = held_lwlocks[num_held_lwlocks - 1].lock;
    log::Log(log::Level::kLog, "LWLock \"%s\" was left held by shmem_startup_hook; releasing it",
             LockName(lock));
    LWLockRelease(lock);  // balances the hook's acquisition
  }
}

void ReleaseAllAtExit() {
  if (in_lock_code > 0) {
    // Cannot be repaired: make it a crash so shared memory is rebuilt.
    in_lock_code = 0;
    elog(PANIC, "process exited while inside LWLock code; shared lock state may be inconsistent");
  }
  if (LWLock* lock = sleeping_on; lock != nullptr) {
    sleeping_on = nullptr;
    AbandonWait(lock);
  }
  while (num_held_lwlocks > 0) {
    HOLD_INTERRUPTS();
    LWLockRelease(held_lwlocks[num_held_lwlocks - 1].lock);
  }
}

int NumHeldByMe() { return num_held_lwlocks; }

const char* TrancheName(int tranche_id) {
  if (tranche_id >= 0 && tranche_id < NUM_INDIVIDUAL_LWLOCKS) return kIndividualNames[tranche_id];
  auto it = tranche_names.find(tranche_id);
  return it != tranche_names.end() ? it->second.c_str() : "extension";
}

void ResetForTesting() {
  named_requests.clear();
  pre_shmem_next_tranche = LWTRANCHE_FIRST_USER_DEFINED;
  tranche_names.clear();
  control = nullptr;
  MainLWLockArray = nullptr;
  num_held_lwlocks = 0;
  in_lock_code = 0;
  sleeping_on = nullptr;
  sem_ready_slot = nullptr;
}

}  // namespace bgw::lwlock

namespace bgw::proclist {

proc::ProcSlot* SlotOrPanic(int procno) {
  proc::ProcSlot* slot = proc::Slot(procno);
  if (slot == nullptr) elog(PANIC, "corrupted wait list: no process slot %d", procno);
  return slot;
}

int MyProcNumber() {
  proc::ProcSlot* me = proc::MyProcSlot();
  if (me == nullptr) return -1;
  return static_cast<int>(me - proc::Slot(0));
}

}  // namespace bgw::proclist

// ---- the PostgreSQL-compatible API -------------------------------------

using bgw::lwlock::AttemptLock;
using bgw::lwlock::in_lock_code;

extern "C" {

namespace bgw::lwlock {
// The common start of every acquire: checks, interrupts held (released by
// LWLockRelease, or by the caller if it gives up), one attempt. True if the
// lock is now held.
bool FirstAttempt(LWLock* lock, LWLockMode mode) {
  RequireSharedMemory();
  CheckMode(mode);
  CheckCanTakeAnother();
  HOLD_INTERRUPTS();
  in_lock_code = in_lock_code + 1;
  bool busy = AttemptLock(lock, mode);
  if (!busy) RememberHeld(lock, mode);
  in_lock_code = in_lock_code - 1;
  return !busy;
}
}  // namespace bgw::lwlock

void LWLockInitialize(LWLock* lock, int tranche_id) {
  pg_atomic_init_u32(&lock->state, bgw::lwlock::LW_FLAG_RELEASE_OK);
  lock->tranche = static_cast<uint16>(tranche_id);
  bgw::proclist::Init(&lock->waiters);
}

bool LWLockAcquire(LWLock* lock, LWLockMode mode) {
  using namespace bgw::lwlock;
  if (FirstAttempt(lock, mode)) return true;

  CheckSelfDeadlock(lock, mode);
  if (SpinThenTry(lock, mode)) return true;

  bgw::proc::ProcSlot* me = bgw::proc::MyProcSlot();
  if (me == nullptr) {
    PollForLock(lock, mode, true);
    return false;
  }
  int my_no = bgw::proclist::MyProcNumber();
  PrepareSemaphore(me);
  bool result = true;
  int extra = 0;
  in_lock_code = in_lock_code + 1;
  for (;;) {
    if (!AttemptLock(lock, mode)) break;
    QueueSelf(lock, mode, me, my_no);
    // The holder may have released between the first attempt and queueing
    // (seeing no waiter to wake): try again before sleeping.
    if (!AttemptLock(lock, mode)) {
      DequeueSelf(lock, me, my_no);
      break;
    }
    pgstat_report_wait_start(PG_WAIT_LWLOCK | lock->tranche);
    sleeping_on = lock;
    in_lock_code = in_lock_code - 1;
    extra += SleepUntilWoken(me);
    in_lock_code = in_lock_code + 1;
    sleeping_on = nullptr;
    // We ran: releases may wake waiters again.
    pg_atomic_fetch_or_u32(&lock->state, LW_FLAG_RELEASE_OK);
    pgstat_report_wait_end();
    result = false;
  }
  RememberHeld(lock, mode);
  in_lock_code = in_lock_code - 1;
  RepostExtra(me, extra);
  return result;
}

bool LWLockConditionalAcquire(LWLock* lock, LWLockMode mode) {
  using namespace bgw::lwlock;
  bool acquired = FirstAttempt(lock, mode);
  if (!acquired) RESUME_INTERRUPTS();
  return acquired;
}

bool LWLockAcquireOrWait(LWLock* lock, LWLockMode mode) {
  using namespace bgw::lwlock;
  if (FirstAttempt(lock, mode)) return true;

  CheckSelfDeadlock(lock, mode);
  bgw::proc::ProcSlot* me = bgw::proc::MyProcSlot();
  if (me == nullptr) {
    PollForLock(lock, mode, false);
    RESUME_INTERRUPTS();
    return false;
  }
  int my_no = bgw::proclist::MyProcNumber();
  PrepareSemaphore(me);
  int extra = 0;
  in_lock_code = in_lock_code + 1;
  QueueSelf(lock, LW_WAIT_UNTIL_FREE, me, my_no);
  bool busy = AttemptLock(lock, mode);
  if (busy) {
    pgstat_report_wait_start(PG_WAIT_LWLOCK | lock->tranche);
    sleeping_on = lock;
    in_lock_code = in_lock_code - 1;
    extra = SleepUntilWoken(me);
    in_lock_code = in_lock_code + 1;
    sleeping_on = nullptr;
    pgstat_report_wait_end();
  } else {
    DequeueSelf(lock, me, my_no);
    RememberHeld(lock, mode);
  }
  in_lock_code = in_lock_code - 1;
  RepostExtra(me, extra);
  if (busy) {
    RESUME_INTERRUPTS();
    return false;
  }
  return true;
}

void LWLockRelease(LWLock* lock) {
  using namespace bgw::lwlock;
  int i = num_held_lwlocks - 1;
  while (i >= 0 && held_lwlocks[i].lock != lock) i--;
  if (i < 0) elog(ERROR, "lock %s is not held", LockName(lock));
  LWLockMode mode = held_lwlocks[i].mode;

  in_lock_code = in_lock_code + 1;
  num_held_lwlocks--;
  for (; i < num_held_lwlocks; i++) held_lwlocks[i] = held_lwlocks[i + 1];
  uint32 new_state = pg_atomic_sub_fetch_u32(
      &lock->state, static_cast<int32>(mode == LW_EXCLUSIVE ? LW_VAL_EXCLUSIVE : LW_VAL_SHARED));
  constexpr uint32 kWake = LW_FLAG_HAS_WAITERS | LW_FLAG_RELEASE_OK;
  if ((new_state & kWake) == kWake && (new_state & LW_LOCK_MASK) == 0) Wakeup(lock);
  in_lock_code = in_lock_code - 1;
  RESUME_INTERRUPTS();
}

void LWLockReleaseAll(void) {
  using namespace bgw::lwlock;
  if (in_lock_code > 0) {
    // Only a signal handler that raised ERROR inside the lock code gets
    // here; the lock's shared state cannot be trusted any more.
    in_lock_code = 0;
    elog(PANIC, "LWLock state is inconsistent after an error inside the lock code");
  }
  if (LWLock* lock = sleeping_on; lock != nullptr) {
    sleeping_on = nullptr;
    AbandonWait(lock);
  }
  while (num_held_lwlocks > 0) {
    HOLD_INTERRUPTS();  // matches the RESUME_INTERRUPTS in LWLockRelease
    LWLockRelease(held_lwlocks[num_held_lwlocks - 1].lock);
  }
}

bool LWLockHeldByMe(LWLock* lock) {
  using namespace bgw::lwlock;
  for (int i = 0; i < num_held_lwlocks; i++) {
    if (held_lwlocks[i].lock == lock) return true;
  }
  return false;
}

bool LWLockHeldByMeInMode(LWLock* lock, LWLockMode mode) {
  using namespace bgw::lwlock;
  for (int i = 0; i < num_held_lwlocks; i++) {
    if (held_lwlocks[i].lock == lock && held_lwlocks[i].mode == mode) return true;
  }
  return false;
}

int LWLockNewTrancheId(void) {
  using namespace bgw::lwlock;
  int id;
  if (control != nullptr && bgw::shmem::IsAttached()) {
    id = static_cast<int>(pg_atomic_fetch_add_u32(&control->tranche_counter, 1));
  } else if (InPostmaster() && !bgw::shmem::IsAttached()) {
    id = pre_shmem_next_tranche++;  // _PG_init, before shared memory exists
  } else {
    RequireSharedMemory();
    id = pre_shmem_next_tranche++;  // standalone process without the array
  }
  if (id > kMaxTrancheId) elog(ERROR, "too many LWLock tranches (at most %d)", kMaxTrancheId);
  return id;
}

void LWLockRegisterTranche(int tranche_id, const char* tranche_name) {
  using namespace bgw::lwlock;
  if (tranche_id < LWTRANCHE_FIRST_USER_DEFINED || tranche_id > kMaxTrancheId) return;
  if (tranche_name == nullptr) {
    tranche_names.erase(tranche_id);
    return;
  }
  tranche_names[tranche_id] = tranche_name;
}

const char* GetLWLockIdentifier(uint32 classId, uint16 eventId) {
  (void)classId;  // always PG_WAIT_LWLOCK
  return bgw::lwlock::TrancheName(eventId);
}

void RequestNamedLWLockTranche(const char* tranche_name, int num_lwlocks) {
  using namespace bgw::lwlock;
  if (!process_shared_preload_libraries_in_progress && !process_shmem_requests_in_progress) {
    if (InPostmaster()) {
      bgw::log::Log(bgw::log::Level::kLog,
                    "cannot request additional LWLocks outside shmem_request_hook; request for "
                    "tranche \"%s\" ignored",
                    tranche_name != nullptr ? tranche_name : "");
      return;
    }
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("cannot request additional LWLocks outside shmem_request_hook"),
            errhint("Call RequestNamedLWLockTranche() from _PG_init() or a shmem_request_hook of "
                    "a library listed in shared_preload_libraries."));
  }
  if (tranche_name == nullptr || tranche_name[0] == '\0') {
    elog(ERROR, "LWLock tranche name must not be empty");
  }
  if (num_lwlocks <= 0 || num_lwlocks > 100000) {
    elog(ERROR, "invalid number of LWLocks requested for tranche \"%s\": %d", tranche_name,
         num_lwlocks);
  }
  NamedRequest r = {};
  strncpy(r.name, tranche_name, NAMEDATALEN - 1);
  r.num_lwlocks = num_lwlocks;
  r.tranche_id = -1;
  r.first_index = -1;
  named_requests.push_back(r);
}

LWLockPadded* GetNamedLWLockTranche(const char* tranche_name) {
  using namespace bgw::lwlock;
  RequireSharedMemory();
  NamedRequest* r = tranche_name != nullptr ? FindNamedRequest(tranche_name) : nullptr;
  if (r == nullptr || r->first_index < 0 || MainLWLockArray == nullptr) {
    elog(ERROR, "requested tranche is not registered");
  }
  return &MainLWLockArray[r->first_index];
}

}  // extern "C"
