// Latches: the implementation behind storage/latch.h.
//
// Each process has one epoll set, created by InitializeLatchSupport(), that
// holds a signalfd for SIGURG (kept blocked, so it is only ever consumed
// through the fd) and the read end of the postmaster-death pipe. A waiter
// stores maybe_sleeping = 1 and then re-checks is_set (both sequentially
// consistent), so a SetLatch() that runs between the check and epoll_wait()
// sees maybe_sleeping and sends SIGURG, which makes the signalfd readable:
// the wake-up cannot be lost. A SetLatch() on a latch that is already set
// returns after one load.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/internal_error.h"
#include "common/log.h"
#include "ipc/pmdeath.h"
#include "ipc/proc_exit.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/storage/latch.h"
#include "postmaster/child.h"

extern "C" {
struct Latch* MyLatch = nullptr;
}

namespace {

// Epoll tags.
constexpr uint64_t kTagSignal = 1;
constexpr uint64_t kTagDeath = 2;
constexpr uint64_t kTagSocket = 3;

int epoll_fd = -1;
int signal_fd = -1;
pid_t initialized_pid = 0;
Latch local_latch;
// True while this process sleeps in epoll_wait: a SetLatch() on our own
// latch from a signal handler then needs to wake us with SIGURG.
volatile sig_atomic_t waiting = 0;

int Load(const sig_atomic_t& v) { return __atomic_load_n(&v, __ATOMIC_SEQ_CST); }
void Store(sig_atomic_t& v, int x) { __atomic_store_n(&v, x, __ATOMIC_SEQ_CST); }

void DrainSignalFd() {
  signalfd_siginfo info[4];
  while (read(signal_fd, info, sizeof info) > 0) {
  }
}

}  // namespace

extern "C" {

void InitializeLatchSupport(void) {
  pid_t me = getpid();
  if (initialized_pid == me) return;
  // A child inherits its parent's descriptors; they are not ours to use.
  initialized_pid = me;
  sigset_t urg;
  sigemptyset(&urg);
  sigaddset(&urg, SIGURG);
  sigprocmask(SIG_BLOCK, &urg, nullptr);
  signal_fd = signalfd(-1, &urg, SFD_NONBLOCK | SFD_CLOEXEC);
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (signal_fd < 0 || epoll_fd < 0) {
    bgw::log::Log(bgw::log::Level::kFatal, "could not initialize latch support: %s",
                  strerror(errno));
    bgw::ProcExit(1);
  }
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagSignal;
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signal_fd, &ev);
  if (bgw::IsUnderPostmaster() && bgw::pmdeath::ReadFd() >= 0) {
    ev.data.u64 = kTagDeath;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, bgw::pmdeath::ReadFd(), &ev);
  }
  InitLatch(&local_latch);
  if (MyLatch == nullptr) MyLatch = &local_latch;
}

void InitLatch(Latch* latch) {
  latch->is_set = 0;
  latch->maybe_sleeping = 0;
  latch->is_shared = false;
  latch->owner_pid = getpid();
}

void InitSharedLatch(Latch* latch) {
  latch->is_set = 0;
  latch->maybe_sleeping = 0;
  latch->is_shared = true;
  latch->owner_pid = 0;
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
  if (!Load(latch->maybe_sleeping)) return;
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
  InitializeLatchSupport();
  if (!(wakeEvents & WL_LATCH_SET)) latch = nullptr;
  if (!bgw::IsUnderPostmaster()) wakeEvents &= ~(WL_POSTMASTER_DEATH | WL_EXIT_ON_PM_DEATH);
  // A wait that says nothing about postmaster death still must not outlive
  // it: exit, as WL_EXIT_ON_PM_DEATH would.
  bool exit_on_death = (wakeEvents & WL_EXIT_ON_PM_DEATH) ||
                       (bgw::IsUnderPostmaster() && !(wakeEvents & WL_POSTMASTER_DEATH));

  using Clock = std::chrono::steady_clock;
  bool has_timeout = (wakeEvents & WL_TIMEOUT) && timeout >= 0;
  // A timeout beyond ~100 years is as good as none, and must not overflow.
  constexpr long kMaxTimeoutMs = 100L * 365 * 24 * 3600 * 1000;
  if (has_timeout && timeout > kMaxTimeoutMs) timeout = kMaxTimeoutMs;
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(has_timeout ? timeout : 0);

  bool socket_added = false;
  int sock_events = wakeEvents & WL_SOCKET_MASK;
  if (sock != PGINVALID_SOCKET && sock_events != 0) {
    struct epoll_event ev = {};
    if (sock_events & WL_SOCKET_READABLE) ev.events |= EPOLLIN;
    if (sock_events & WL_SOCKET_WRITEABLE) ev.events |= EPOLLOUT;
    if (sock_events & WL_SOCKET_CLOSED) ev.events |= EPOLLRDHUP;
    ev.data.u64 = kTagSocket;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, sock, &ev) != 0) {
      elog(ERROR, "epoll_ctl() failed: %m");
    }
    socket_added = true;
  }
  pgstat_report_wait_start(wait_event_info);

  int result = 0;
  // `waiting` is raised before the latch is checked: a handler that sets our
  // latch after the check (and before epoll_wait) then sends SIGURG, which
  // makes epoll_wait return at once. Raised only around epoll_wait, that
  // handler would see waiting == 0 and the wake-up would be lost.
  waiting = 1;
  if (latch != nullptr) Store(latch->maybe_sleeping, 1);
  while (result == 0) {
    if (latch != nullptr && Load(latch->is_set)) {
      result |= WL_LATCH_SET;
      break;
    }
    int wait_ms = -1;
    if (has_timeout) {
      // Rounded up: the wait never ends before the deadline.
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        result |= WL_TIMEOUT;
        break;
      }
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
    }
    struct epoll_event events[4];
    int n = epoll_wait(epoll_fd, events, 4, wait_ms);
    if (n < 0) {
      if (errno == EINTR) continue;  // a handler ran; it may have set the latch
      int saved = errno;
      waiting = 0;
      if (latch != nullptr) Store(latch->maybe_sleeping, 0);
      if (socket_added) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, sock, nullptr);
      pgstat_report_wait_end();
      errno = saved;
      elog(ERROR, "epoll_wait() failed: %m");
    }
    for (int i = 0; i < n; i++) {
      switch (events[i].data.u64) {
        case kTagSignal:
          DrainSignalFd();
          break;
        case kTagDeath:
          if (!bgw::pmdeath::PostmasterIsAlive()) {
            if (exit_on_death) bgw::ProcExit(1);
            result |= WL_POSTMASTER_DEATH;
          }
          break;
        case kTagSocket: {
          uint32_t e = events[i].events;
          if ((sock_events & WL_SOCKET_READABLE) && (e & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
            result |= WL_SOCKET_READABLE;
          }
          if ((sock_events & WL_SOCKET_WRITEABLE) && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            result |= WL_SOCKET_WRITEABLE;
          }
          if ((sock_events & WL_SOCKET_CLOSED) && (e & (EPOLLRDHUP | EPOLLERR | EPOLLHUP))) {
            result |= WL_SOCKET_CLOSED;
          }
          break;
        }
      }
    }
    if (latch != nullptr && Load(latch->is_set)) result |= WL_LATCH_SET;
  }
  waiting = 0;
  if (latch != nullptr) Store(latch->maybe_sleeping, 0);
  if (socket_added) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, sock, nullptr);
  pgstat_report_wait_end();
  return result;
}

void latch_sigusr1_handler(void) {
  if (MyLatch != nullptr) SetLatch(MyLatch);
}

}  // extern "C"
