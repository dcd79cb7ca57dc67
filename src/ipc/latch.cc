// Latches and wait event sets: the implementation behind storage/latch.h.
//
// Two ways to sleep, because they cost very different amounts:
//
//  * Futex (WaitLatch: latch, timeout, postmaster death; no socket). The
//    owner sleeps in FUTEX_WAIT on latch->futex_word, and SetLatch wakes it
//    with FUTEX_WAKE: one system call on each side, no signal, no epoll, no
//    signalfd read. This is what a latch round trip costs at the floor.
//  * Epoll (any wait with a socket, and every WaitEventSet with a socket).
//    The owner sleeps in epoll_wait over a signalfd for SIGURG (kept
//    blocked, so it is only ever consumed through the fd) and the
//    postmaster-death pipe; SetLatch sends SIGURG.
//
// Latch protocol (struct Latch, in shared memory for shared latches):
//   is_set: written by anyone (SetLatch: 0 -> 1, seq_cst store) and by the
//     owner (ResetLatch: -> 0, seq_cst store followed by a full fence, so a
//     caller's check for work reads after the reset).
//   maybe_sleeping: written only by the owner: kSleepEpoll or kSleepFutex
//     (seq_cst store) before it re-checks is_set and sleeps, 0 after. Read
//     by SetLatch (seq_cst) after its store of is_set. The two stores and
//     the two loads are sequentially consistent (Dekker): either the owner
//     sees is_set == 1 and does not sleep, or SetLatch sees how it sleeps
//     and wakes it. A stale value (the owner woke, or changed kind) costs at
//     most a spurious SIGURG or FUTEX_WAKE, never a lost wake-up, because
//     every sleep re-publishes maybe_sleeping and re-checks is_set first.
//   futex_word: the value FUTEX_WAIT compares. The owner reads it (seq_cst)
//     *before* publishing kSleepFutex; anyone that must wake a futex sleeper
//     increments it (seq_cst RMW) and then calls FUTEX_WAKE. If the
//     increment lands before the owner's FUTEX_WAIT, the kernel sees a
//     different value and FUTEX_WAIT returns EAGAIN at once; if after, the
//     owner is queued and FUTEX_WAKE finds it. FUTEX_WAIT is not private:
//     shared latches live in MAP_SHARED memory mapped by several processes.
//   is_shared, owner_pid: written by Init*/Own/Disown, before the latch is
//     used by others (their publication is the caller's business, as in
//     PostgreSQL).
//
// Signal handlers. SetLatch from a handler on our own latch while we sleep:
//   futex: the handler's increment of futex_word makes the restarted
//   FUTEX_WAIT return EAGAIN (an untimed FUTEX_WAIT interrupted by an
//   SA_RESTART handler is restarted by the kernel with the same expected
//   value; a timed one returns EINTR); epoll: epoll_wait
//   returns EINTR on any handled signal, and `waiting` makes the handler
//   send SIGURG for a signal that lands between the check and epoll_wait.
//   Postmaster death while in FUTEX_WAIT: the PR_SET_PDEATHSIG handler
//   (pmdeath.cc) calls WakeFutexSleeperFromSignalHandler(), which bumps the
//   word recorded in futex_sleeper, and the wait checks the death flag.
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

#include "common/internal_error.h"
#include "common/log.h"
#include "common/status.h"
#include "ipc/latch_internal.h"
#include "ipc/pmdeath.h"
#include "ipc/proc_exit.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/storage/latch.h"
#include "postgres/utils/memutils.h"

extern "C" {
struct Latch* MyLatch = nullptr;
}

struct WaitEventSet {
  pid_t owner;  // the process that created it; no other may wait on it
  int epoll_fd;
  int nevents;
  int nevents_space;
  Latch* latch;   // the latch event's latch, or nullptr
  int latch_pos;  // -1: no latch event
  int death_pos;  // -1: no postmaster death event
  bool exit_on_death;
  bool signal_fd_added;  // the SIGURG signalfd is in epoll_fd
  WaitEvent* events;     // nevents_space entries
  epoll_event* ret_events;
};

namespace {

constexpr int kSleepEpoll = 1;
constexpr int kSleepFutex = 2;

// epoll_event.data of the signalfd in a set; events use their position.
constexpr uint64_t kTagSignal = ~uint64_t{0};

// Process-wide state. A forked child must build its own (the descriptors it
// inherits are its parent's): current_pid is refreshed by a pthread_atfork
// child handler, so "is this ours?" costs no system call.
pid_t current_pid = getpid();
const bool atfork_registered = [] {
  pthread_atfork(nullptr, nullptr, [] { current_pid = getpid(); });
  return true;
}();
pid_t initialized_pid = 0;
int signal_fd = -1;
Latch local_latch;
// WaitLatchOrSocket's set: latch (pos 0), postmaster death (pos 1 if under
// a postmaster); the socket is added and removed around each wait.
WaitEventSet* socket_set = nullptr;
// True while this process may sleep in epoll_wait: a SetLatch() on our own
// latch from a signal handler then needs to wake us with SIGURG.
volatile sig_atomic_t waiting = 0;
// The futex word this process sleeps on (nullptr: not in a futex wait), for
// the postmaster-death handler.
uint32_t* volatile futex_sleeper = nullptr;
// Futex word of a wait without a latch (timeout and postmaster death only).
uint32_t no_latch_word = 0;

int Load(const sig_atomic_t& v) { return __atomic_load_n(&v, __ATOMIC_SEQ_CST); }
void Store(sig_atomic_t& v, int x) { __atomic_store_n(&v, x, __ATOMIC_SEQ_CST); }

void FutexWake(uint32_t* word) {
  syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

// Sleeps while *word == expected, until `deadline` (CLOCK_MONOTONIC,
// absolute) if given. Returns 0 or an errno (EAGAIN, EINTR, ETIMEDOUT).
int FutexWait(uint32_t* word, uint32_t expected, const timespec* deadline) {
  long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, deadline, nullptr,
                    FUTEX_BITSET_MATCH_ANY);
  return rc == 0 ? 0 : errno;
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A wait's deadline: none, or CLOCK_MONOTONIC nanoseconds.
struct Deadline {
  bool set = false;
  int64_t ns = 0;

  static Deadline After(long timeout_ms) {
    Deadline d;
    if (timeout_ms < 0) return d;
    // Beyond ~100 years is as good as none, and must not overflow.
    constexpr long kMaxTimeoutMs = 100L * 365 * 24 * 3600 * 1000;
    if (timeout_ms > kMaxTimeoutMs) timeout_ms = kMaxTimeoutMs;
    d.set = true;
    d.ns = timeout_ms == 0 ? 0 : MonotonicNs() + static_cast<int64_t>(timeout_ms) * 1000000;
    return d;
  }
  bool Passed() const { return set && (ns == 0 || MonotonicNs() >= ns); }
  // Milliseconds left for epoll_wait, rounded up (the wait never ends
  // early); -1 without a deadline.
  int EpollMs() const {
    if (!set) return -1;
    int64_t left = ns - MonotonicNs();
    if (left <= 0) return 0;
    int64_t ms = (left + 999999) / 1000000;
    return static_cast<int>(ms > (1 << 30) ? (1 << 30) : ms);
  }
  timespec AsTimespec() const {
    return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  }
};

bool DeathWatched() { return ::IsUnderPostmaster; }

// The futex path relies on PR_SET_PDEATHSIG to end a sleep when the
// postmaster dies. A process under a postmaster where it is not armed (a
// grandchild a module forked) sleeps in epoll, which watches the pipe.
bool FutexPathAllowed() {
  return !::IsUnderPostmaster || bgw::pmdeath::DeathSignalArmedIn() == current_pid;
}

void DrainSignalFd() {
  signalfd_siginfo info[4];
  while (read(signal_fd, info, sizeof info) > 0) {
  }
}

void EnsureProcessSupport() {
  if (initialized_pid == current_pid) return;
  // A child inherits its parent's descriptors and sets; they are not ours.
  initialized_pid = current_pid;
  socket_set = nullptr;
  sigset_t urg;
  sigemptyset(&urg);
  sigaddset(&urg, SIGURG);
  sigprocmask(SIG_BLOCK, &urg, nullptr);
  signal_fd = signalfd(-1, &urg, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    bgw::log::Log(bgw::log::Level::kFatal, "could not initialize latch support: %s",
                  bgw::ErrnoText(errno).c_str());
    bgw::ProcExit(1);
  }
  InitLatch(&local_latch);
  if (MyLatch == nullptr) MyLatch = &local_latch;
}

[[noreturn]] void ExitOnPostmasterDeath() { bgw::ProcExit(1); }

// The futex wait: latch (may be nullptr), deadline, postmaster death.
int FutexWaitLatch(Latch* latch, const Deadline& deadline, bool report_death, bool exit_on_death) {
  uint32_t* word = latch != nullptr ? &latch->futex_word : &no_latch_word;
  const bool watch_death = DeathWatched();
  timespec abs = deadline.AsTimespec();
  futex_sleeper = word;
  int result = 0;
  bool timed_out = false;
  for (;;) {
    // The word is read before maybe_sleeping is published: a SetLatch that
    // sees kSleepFutex increments it after this read.
    uint32_t seen = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if (latch != nullptr) Store(latch->maybe_sleeping, kSleepFutex);
    if (latch != nullptr && Load(latch->is_set)) {
      result = WL_LATCH_SET;
      break;
    }
    if (watch_death && bgw::pmdeath::DeathSignalReceived()) {
      if (exit_on_death) {
        futex_sleeper = nullptr;
        if (latch != nullptr) Store(latch->maybe_sleeping, 0);
        ExitOnPostmasterDeath();
      }
      if (report_death) {
        result = WL_POSTMASTER_DEATH;
        break;
      }
    }
    if (timed_out || deadline.Passed()) {
      result = WL_TIMEOUT;
      break;
    }
    int err = FutexWait(word, seen, deadline.set ? &abs : nullptr);
    if (err == ETIMEDOUT) timed_out = true;
    // 0, EAGAIN, EINTR: woken, the word moved, or a handler ran: re-check.
  }
  futex_sleeper = nullptr;
  if (latch != nullptr) Store(latch->maybe_sleeping, 0);
  return result;
}

void EpollCtl(WaitEventSet* set, int op, int fd, uint32_t events, uint64_t tag) {
  epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = tag;
  if (epoll_ctl(set->epoll_fd, op, fd, &ev) != 0) elog(ERROR, "epoll_ctl() failed: %m");
}

uint32_t EpollEventsFor(uint32_t wl_events) {
  uint32_t e = 0;
  if (wl_events & WL_SOCKET_READABLE) e |= EPOLLIN;
  if (wl_events & WL_SOCKET_WRITEABLE) e |= EPOLLOUT;
  if (wl_events & WL_SOCKET_CLOSED) e |= EPOLLRDHUP;
  return e;
}

void RequireOwnSet(WaitEventSet* set) {
  if (set == nullptr) elog(ERROR, "wait event set is NULL");
  if (set->owner != current_pid) {
    elog(ERROR, "wait event set created by process %d used by process %d", set->owner, current_pid);
  }
}

void ClearSleeping(WaitEventSet* set) {
  waiting = 0;
  if (set->latch != nullptr) Store(set->latch->maybe_sleeping, 0);
}

// The epoll wait behind WaitEventSetWait and WaitLatchOrSocket.
int EpollWaitSet(WaitEventSet* set, const Deadline& deadline, WaitEvent* out, int nout) {
  int returned = 0;
  // `waiting` is raised before the latch is checked: a handler that sets our
  // latch after the check (and before epoll_wait) then sends SIGURG, which
  // makes epoll_wait return at once.
  waiting = 1;
  if (set->latch != nullptr) Store(set->latch->maybe_sleeping, kSleepEpoll);
  while (returned == 0) {
    if (set->latch != nullptr && Load(set->latch->is_set)) {
      out[0] = WaitEvent{set->latch_pos, WL_LATCH_SET, PGINVALID_SOCKET,
                         set->events[set->latch_pos].user_data};
      returned = 1;
      break;
    }
    int n = epoll_wait(set->epoll_fd, set->ret_events, set->nevents_space + 1, deadline.EpollMs());
    if (n < 0) {
      if (errno == EINTR) continue;  // a handler ran; it may have set the latch
      int saved = errno;
      ClearSleeping(set);
      errno = saved;
      elog(ERROR, "epoll_wait() failed: %m");
    }
    for (int i = 0; i < n && returned < nout; i++) {
      uint64_t tag = set->ret_events[i].data.u64;
      if (tag == kTagSignal) {
        DrainSignalFd();
        if (set->latch != nullptr && Load(set->latch->is_set)) {
          out[returned++] = WaitEvent{set->latch_pos, WL_LATCH_SET, PGINVALID_SOCKET,
                                      set->events[set->latch_pos].user_data};
        }
        continue;
      }
      if (tag >= static_cast<uint64_t>(set->nevents)) continue;  // removed meanwhile
      const WaitEvent& ev = set->events[tag];
      if (static_cast<int>(tag) == set->death_pos) {
        if (!bgw::pmdeath::PostmasterIsAlive()) {
          if (set->exit_on_death) {
            ClearSleeping(set);
            ExitOnPostmasterDeath();
          }
          out[returned++] = WaitEvent{ev.pos, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, ev.user_data};
        }
        continue;
      }
      if (ev.fd == PGINVALID_SOCKET) continue;
      uint32_t e = set->ret_events[i].events;
      uint32_t fired = 0;
      if ((ev.events & WL_SOCKET_READABLE) && (e & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        fired |= WL_SOCKET_READABLE;
      }
      if ((ev.events & WL_SOCKET_WRITEABLE) && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        fired |= WL_SOCKET_WRITEABLE;
      }
      if ((ev.events & WL_SOCKET_CLOSED) && (e & (EPOLLRDHUP | EPOLLERR | EPOLLHUP))) {
        fired |= WL_SOCKET_CLOSED;
      }
      if (fired != 0) out[returned++] = WaitEvent{ev.pos, fired, ev.fd, ev.user_data};
    }
    if (returned == 0 && deadline.Passed()) break;
  }
  ClearSleeping(set);
  return returned;
}

WaitEventSet* CreateSet(MemoryContext context, int nevents) {
  if (nevents <= 0) elog(ERROR, "a wait event set needs room for at least one event");
  EnsureProcessSupport();
  // One block: the set, its events, and epoll's result array (one more, for
  // the signalfd).
  Size events_off = MAXALIGN(sizeof(WaitEventSet));
  Size ret_off = events_off + MAXALIGN(sizeof(WaitEvent) * nevents);
  Size total = ret_off + sizeof(epoll_event) * (nevents + 1);
  char* block = static_cast<char*>(context != nullptr ? MemoryContextAllocZero(context, total)
                                                      : palloc0(total));
  auto* set = reinterpret_cast<WaitEventSet*>(block);
  set->owner = current_pid;
  set->nevents_space = nevents;
  set->latch_pos = -1;
  set->death_pos = -1;
  set->events = reinterpret_cast<WaitEvent*>(block + events_off);
  set->ret_events = reinterpret_cast<epoll_event*>(block + ret_off);
  set->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (set->epoll_fd < 0) {
    pfree(block);
    elog(ERROR, "epoll_create1() failed: %m");
  }
  return set;
}

// The process's set for WaitLatchOrSocket (kept in TopMemoryContext).
WaitEventSet* SocketSet() {
  EnsureProcessSupport();
  if (socket_set == nullptr) {
    WaitEventSet* set = CreateSet(TopMemoryContext, 3);
    AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, nullptr, nullptr);
    if (DeathWatched() && bgw::pmdeath::ReadFd() >= 0) {
      AddWaitEventToSet(set, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
    }
    socket_set = set;
  }
  return socket_set;
}

}  // namespace

namespace bgw::latch {

void WakeFutexSleeperFromSignalHandler() {
  uint32_t* word = futex_sleeper;
  if (word == nullptr) return;
  __atomic_fetch_add(word, 1, __ATOMIC_SEQ_CST);
  FutexWake(word);  // for a sleeper on another thread; ours restarts and sees the change
}

}  // namespace bgw::latch

extern "C" {

void InitializeLatchSupport(void) { EnsureProcessSupport(); }

void InitLatch(Latch* latch) {
  latch->is_set = 0;
  latch->maybe_sleeping = 0;
  latch->is_shared = false;
  latch->owner_pid = getpid();
  latch->futex_word = 0;
}

void InitSharedLatch(Latch* latch) {
  latch->is_set = 0;
  latch->maybe_sleeping = 0;
  latch->is_shared = true;
  latch->owner_pid = 0;
  latch->futex_word = 0;
}

void OwnLatch(Latch* latch) {
  if (latch->owner_pid != 0) BGW_INTERNAL_ERROR("latch already owned by PID %d", latch->owner_pid);
  latch->owner_pid = getpid();
}

void DisownLatch(Latch* latch) { latch->owner_pid = 0; }

void SetLatch(Latch* latch) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (Load(latch->is_set)) return;
  Store(latch->is_set, 1);
  int sleeping = Load(latch->maybe_sleeping);
  if (sleeping == 0) return;
  if (sleeping == kSleepFutex) {
    // Also right from a signal handler on our own latch: the increment is
    // what ends (or prevents) the sleep; the wake is then a no-op.
    __atomic_fetch_add(&latch->futex_word, 1, __ATOMIC_SEQ_CST);
    FutexWake(&latch->futex_word);
    return;
  }
  int owner = latch->owner_pid;
  if (owner == 0) return;
  // getpid(), not MyProcPid: a process forked without updating MyProcPid
  // must not mistake another process's latch for its own. Only reached when
  // a wake-up signal is about to be sent, so the system call is free.
  if (owner == getpid()) {
    // Our own latch, set from a signal handler: wake our epoll_wait, if any.
    if (waiting) kill(owner, SIGURG);
    return;
  }
  kill(owner, SIGURG);
}

void ResetLatch(Latch* latch) {
  Store(latch->is_set, 0);
  // Make sure the reset is visible before the caller checks for work.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int WaitLatch(Latch* latch, int wakeEvents, long timeout, uint32 wait_event_info) {
  return WaitLatchOrSocket(latch, wakeEvents & ~WL_SOCKET_MASK, PGINVALID_SOCKET, timeout,
                           wait_event_info);
}

int WaitLatchOrSocket(Latch* latch, int wakeEvents, pgsocket sock, long timeout,
                      uint32 wait_event_info) {
  if (!(wakeEvents & WL_LATCH_SET)) latch = nullptr;
  if (!DeathWatched()) wakeEvents &= ~(WL_POSTMASTER_DEATH | WL_EXIT_ON_PM_DEATH);
  // A wait that says nothing about postmaster death still must not outlive
  // it: exit, as WL_EXIT_ON_PM_DEATH would.
  bool exit_on_death =
      (wakeEvents & WL_EXIT_ON_PM_DEATH) || (DeathWatched() && !(wakeEvents & WL_POSTMASTER_DEATH));
  Deadline deadline = Deadline::After((wakeEvents & WL_TIMEOUT) ? timeout : -1);
  int sock_events = wakeEvents & WL_SOCKET_MASK;
  if (sock == PGINVALID_SOCKET) sock_events = 0;

  if (sock_events == 0 && FutexPathAllowed()) {
    pgstat_report_wait_start(wait_event_info);
    int rc =
        FutexWaitLatch(latch, deadline, (wakeEvents & WL_POSTMASTER_DEATH) != 0, exit_on_death);
    pgstat_report_wait_end();
    return rc;
  }

  WaitEventSet* set = SocketSet();
  // A socket left behind by an ERROR out of a previous wait goes first.
  const int base_events = set->death_pos >= 0 ? 2 : 1;
  while (set->nevents > base_events) {
    set->nevents--;
    epoll_ctl(set->epoll_fd, EPOLL_CTL_DEL, set->events[set->nevents].fd, nullptr);
  }
  set->latch = latch;  // not ModifyWaitEvent: no ownership check, as before
  set->exit_on_death = exit_on_death;
  int sock_pos = -1;
  if (sock_events != 0) {
    // Added for this wait only: the descriptor may be closed and its number
    // reused before the next one (a lasting registration is what a
    // WaitEventSet of the caller's own is for).
    sock_pos = AddWaitEventToSet(set, sock_events, sock, nullptr, nullptr);
  }
  pgstat_report_wait_start(wait_event_info);
  WaitEvent occurred[3];
  int n = EpollWaitSet(set, deadline, occurred, 3);
  pgstat_report_wait_end();
  if (sock_pos >= 0) {
    epoll_ctl(set->epoll_fd, EPOLL_CTL_DEL, sock, nullptr);
    set->nevents--;
  }
  int result = 0;
  for (int i = 0; i < n; i++) result |= static_cast<int>(occurred[i].events);
  if (n == 0) result = WL_TIMEOUT;
  return result;
}

WaitEventSet* CreateWaitEventSet(MemoryContext context, int nevents) {
  return CreateSet(context, nevents);
}

void FreeWaitEventSet(WaitEventSet* set) {
  if (set == nullptr) return;
  // In a forked child this closes the child's copy of the descriptor, which
  // is the child's to release.
  close(set->epoll_fd);
  if (set == socket_set) socket_set = nullptr;
  pfree(set);
}

int AddWaitEventToSet(WaitEventSet* set, uint32 events, pgsocket fd, Latch* latch,
                      void* user_data) {
  RequireOwnSet(set);
  if (set->nevents >= set->nevents_space) elog(ERROR, "wait event set is full");
  bool exit_on_death = false;
  if (events == WL_EXIT_ON_PM_DEATH) {
    events = WL_POSTMASTER_DEATH;
    exit_on_death = true;
  }
  if (latch != nullptr) {
    if (latch->owner_pid != current_pid) {
      elog(ERROR, "cannot wait on a latch owned by another process");
    }
    if (events != WL_LATCH_SET) elog(ERROR, "latch events only support being set");
  }
  if ((events & WL_LATCH_SET) && set->latch_pos >= 0) {
    elog(ERROR, "cannot wait on more than one latch");
  }
  if ((events & WL_LATCH_SET) && events != WL_LATCH_SET) {
    elog(ERROR, "latch events only support being set");
  }
  if ((events & WL_POSTMASTER_DEATH) && events != WL_POSTMASTER_DEATH) {
    elog(ERROR, "postmaster death must be an event of its own");
  }
  if ((events & WL_SOCKET_MASK) && fd == PGINVALID_SOCKET) {
    elog(ERROR, "cannot wait on socket event without a socket");
  }
  if (events == 0 || (events & ~(WL_LATCH_SET | WL_POSTMASTER_DEATH | WL_SOCKET_MASK))) {
    elog(ERROR, "invalid wait event mask 0x%x", events);
  }

  int pos = set->nevents;
  if (events == WL_LATCH_SET) {
    // The latch is woken through SIGURG: the signalfd joins the set once.
    if (!set->signal_fd_added) {
      EpollCtl(set, EPOLL_CTL_ADD, signal_fd, EPOLLIN, kTagSignal);
      set->signal_fd_added = true;
    }
    set->latch = latch;
    set->latch_pos = pos;
    fd = PGINVALID_SOCKET;
  } else if (events == WL_POSTMASTER_DEATH) {
    fd = PGINVALID_SOCKET;
    // Outside a postmaster child there is nothing to watch; the event stays
    // registered and never fires (as in PostgreSQL).
    if (DeathWatched() && bgw::pmdeath::ReadFd() >= 0) {
      EpollCtl(set, EPOLL_CTL_ADD, bgw::pmdeath::ReadFd(), EPOLLIN, static_cast<uint64_t>(pos));
      set->death_pos = pos;
      set->exit_on_death = exit_on_death;
    }
  } else {
    EpollCtl(set, EPOLL_CTL_ADD, fd, EpollEventsFor(events), static_cast<uint64_t>(pos));
  }
  set->events[pos] = WaitEvent{pos, events, fd, user_data};
  set->nevents++;
  return pos;
}

void ModifyWaitEvent(WaitEventSet* set, int pos, uint32 events, Latch* latch) {
  RequireOwnSet(set);
  if (pos < 0 || pos >= set->nevents) elog(ERROR, "invalid wait event position %d", pos);
  WaitEvent& ev = set->events[pos];
  if (ev.events == WL_LATCH_SET) {
    if (events != WL_LATCH_SET) elog(ERROR, "cannot modify latch event");
    if (latch != nullptr && latch->owner_pid != current_pid) {
      elog(ERROR, "cannot wait on a latch owned by another process");
    }
    set->latch = latch;  // the signalfd serves every latch: no epoll change
    return;
  }
  if (ev.events == events) return;  // frequent (read <-> write switching): no system call
  if (ev.events == WL_POSTMASTER_DEATH) elog(ERROR, "cannot modify postmaster death event");
  if (events == 0 || (events & ~WL_SOCKET_MASK)) {
    elog(ERROR, "invalid socket wait event mask 0x%x", events);
  }
  EpollCtl(set, EPOLL_CTL_MOD, ev.fd, EpollEventsFor(events), static_cast<uint64_t>(pos));
  ev.events = events;
}

int WaitEventSetWait(WaitEventSet* set, long timeout, WaitEvent* occurred_events, int nevents,
                     uint32 wait_event_info) {
  RequireOwnSet(set);
  if (nevents <= 0 || occurred_events == nullptr) {
    elog(ERROR, "WaitEventSetWait needs room for at least one event");
  }
  Deadline deadline = Deadline::After(timeout);
  pgstat_report_wait_start(wait_event_info);
  int n = EpollWaitSet(set, deadline, occurred_events, nevents);
  pgstat_report_wait_end();
  return n;
}

int GetNumRegisteredWaitEvents(WaitEventSet* set) { return set->nevents; }

bool WaitEventSetCanReportClosed(void) { return true; }

void latch_sigusr1_handler(void) {
  if (MyLatch != nullptr) SetLatch(MyLatch);
}

}  // extern "C"
