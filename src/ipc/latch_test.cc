// Tests of latches (storage/latch.h): set/reset/wait with a timeout, wake-ups
// across processes through a latch in a MAP_SHARED mapping (both directions,
// and a ping-pong that would hang on a lost wake-up), SetLatch from a signal
// handler, SIGURG sent only to a sleeping owner, sockets in the wait, and the
// failure paths (owning an owned latch, a descriptor epoll refuses).
//
// InitializeLatchSupport() blocks SIGURG in the test process; that is the
// documented model and harmless to other tests.

// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include "postgres/storage/latch.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "compat/compat_testing.h"
#include "postgres/miscadmin.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr long kLongTimeoutMs = 30000;  // only reached if a wake-up is lost

int WaitStatus(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

int ExitCode(pid_t pid) {
  int status = WaitStatus(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

long ElapsedMs(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

// Shared, zeroed memory that survives fork.
template <typename T>
T* MapShared() {
  void* p = mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<T*>(p);
}
template <typename T>
void Unmap(T* p) {
  munmap(p, sizeof(T));
}

void ReadByte(int fd) {
  char c;
  while (read(fd, &c, 1) < 0 && errno == EINTR) {
  }
}
void WriteByte(int fd) { (void)!write(fd, "x", 1); }

class LatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitializeLatchSupport();
    InitLatch(&latch_);
  }
  Latch latch_;
};

TEST_F(LatchTest, InitLatchIsUnsetAndOwnedByThisProcess) {
  EXPECT_EQ(latch_.is_set, 0);
  EXPECT_EQ(latch_.maybe_sleeping, 0);
  EXPECT_FALSE(latch_.is_shared);
  EXPECT_EQ(latch_.owner_pid, getpid());
  Latch shared;
  InitSharedLatch(&shared);
  EXPECT_TRUE(shared.is_shared);
  EXPECT_EQ(shared.owner_pid, 0);
  EXPECT_NE(MyLatch, nullptr) << "InitializeLatchSupport provides MyLatch";
}

TEST_F(LatchTest, SetLatchBeforeWaitReturnsAtOnce) {
  SetLatch(&latch_);
  EXPECT_EQ(latch_.is_set, 1);
  auto start = Clock::now();
  int rc = WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0);
  EXPECT_EQ(rc, WL_LATCH_SET);
  EXPECT_LT(ElapsedMs(start), 5000);
  // Waiting does not reset the latch; only ResetLatch does.
  EXPECT_EQ(WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0), WL_LATCH_SET);
  EXPECT_EQ(latch_.maybe_sleeping, 0) << "cleared when the wait ends";
  ResetLatch(&latch_);
  EXPECT_EQ(latch_.is_set, 0);
}

TEST_F(LatchTest, UnsetLatchTimesOutNoEarlier) {
  auto start = Clock::now();
  int rc = WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT, 100, 0);
  long elapsed = ElapsedMs(start);
  EXPECT_EQ(rc, WL_TIMEOUT);
  EXPECT_GE(elapsed, 95);  // millisecond rounding at most
  EXPECT_LT(elapsed, 10000);
}

TEST_F(LatchTest, ZeroTimeoutPolls) {
  EXPECT_EQ(WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT, 0, 0), WL_TIMEOUT);
  SetLatch(&latch_);
  EXPECT_EQ(WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT, 0, 0), WL_LATCH_SET);
  ResetLatch(&latch_);
}

TEST_F(LatchTest, WaitWithoutLatchSetIgnoresTheLatch) {
  SetLatch(&latch_);
  EXPECT_EQ(WaitLatch(&latch_, WL_TIMEOUT, 20, 0), WL_TIMEOUT);
  ResetLatch(&latch_);
}

TEST_F(LatchTest, PostmasterDeathIsIgnoredOutsideAPostmaster) {
  // Not a child of a postmaster: WL_POSTMASTER_DEATH / WL_EXIT_ON_PM_DEATH
  // never fire and never exit.
  EXPECT_EQ(WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH, 10, 0), WL_TIMEOUT);
  EXPECT_EQ(WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, 0), WL_TIMEOUT);
}

// The owner sleeps; another process sets the shared latch and wakes it.
TEST_F(LatchTest, ChildSetsParentsSharedLatch) {
  Latch* shared = MapShared<Latch>();
  ASSERT_NE(shared, nullptr);
  InitSharedLatch(shared);
  OwnLatch(shared);
  EXPECT_EQ(shared->owner_pid, getpid());
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    MyProcPid = getpid();  // what every child does first
    ReadByte(go[0]);
    usleep(50 * 1000);  // let the parent reach epoll_wait (either order must work)
    SetLatch(shared);
    _exit(0);
  }
  WriteByte(go[1]);
  auto start = Clock::now();
  int rc = WaitLatch(shared, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0);
  EXPECT_EQ(rc, WL_LATCH_SET);
  EXPECT_LT(ElapsedMs(start), kLongTimeoutMs / 2);
  EXPECT_EQ(ExitCode(pid), 0);
  DisownLatch(shared);
  EXPECT_EQ(shared->owner_pid, 0);
  close(go[0]);
  close(go[1]);
  Unmap(shared);
}

// A process whose MyProcPid is stale (forked without updating it) must not
// take a latch owned by the process with that pid for its own: the wake-up
// would be lost and the owner would notice only at its timeout.
TEST_F(LatchTest, ChildWithInheritedMyProcPidStillWakesTheOwner) {
  Latch* shared = MapShared<Latch>();
  ASSERT_NE(shared, nullptr);
  int saved_my_proc_pid = MyProcPid;
  MyProcPid = getpid();  // as in the postmaster
  InitSharedLatch(shared);
  OwnLatch(shared);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // MyProcPid left as inherited, as in every LaunchChild child.
    usleep(100 * 1000);
    SetLatch(shared);
    _exit(0);
  }
  auto start = Clock::now();
  int rc = WaitLatch(shared, WL_LATCH_SET | WL_TIMEOUT, 5000, 0);
  long elapsed = ElapsedMs(start);
  EXPECT_EQ(rc, WL_LATCH_SET);
  EXPECT_LT(elapsed, 4000) << "woken only by the timeout";
  EXPECT_EQ(ExitCode(pid), 0);
  MyProcPid = saved_my_proc_pid;
  Unmap(shared);
}

// The reverse: a forked child (which must set up its own epoll set, not use
// the inherited one) owns and waits; the parent sets.
TEST_F(LatchTest, ParentSetsChildsSharedLatch) {
  Latch* shared = MapShared<Latch>();
  ASSERT_NE(shared, nullptr);
  InitSharedLatch(shared);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    MyProcPid = getpid();
    OwnLatch(shared);
    WriteByte(ready[1]);
    int rc = WaitLatch(shared, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0);
    _exit(rc == WL_LATCH_SET ? 0 : 1);
  }
  ReadByte(ready[0]);
  EXPECT_EQ(shared->owner_pid, pid);
  usleep(50 * 1000);
  auto start = Clock::now();
  SetLatch(shared);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_LT(ElapsedMs(start), kLongTimeoutMs / 2);
  close(ready[0]);
  close(ready[1]);
  Unmap(shared);
}

// Two processes hand a token back and forth through two latches, following
// the documented reset / check / wait protocol. A single lost wake-up shows
// as a timeout.
TEST_F(LatchTest, PingPongLosesNoWakeups) {
  struct Shared {
    Latch parent_latch;
    Latch child_latch;
    std::atomic<int> turn;  // odd: the child's move, even: the parent's
    std::atomic<int> child_timeouts;
  };
  static_assert(std::atomic<int>::is_always_lock_free);
  Shared* s = MapShared<Shared>();
  ASSERT_NE(s, nullptr);
  InitSharedLatch(&s->parent_latch);
  InitSharedLatch(&s->child_latch);
  OwnLatch(&s->parent_latch);
  constexpr int kRounds = 2000;
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    MyProcPid = getpid();
    OwnLatch(&s->child_latch);
    for (;;) {
      ResetLatch(&s->child_latch);
      int t = s->turn.load();
      if (t >= 2 * kRounds) break;
      if (t % 2 == 1) {
        s->turn.store(t + 1);
        SetLatch(&s->parent_latch);
        continue;
      }
      if (WaitLatch(&s->child_latch, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0) == WL_TIMEOUT) {
        s->child_timeouts.fetch_add(1);
        break;
      }
    }
    _exit(0);
  }
  int parent_timeouts = 0;
  auto start = Clock::now();
  for (;;) {
    ResetLatch(&s->parent_latch);
    int t = s->turn.load();
    if (t >= 2 * kRounds) break;
    if (t % 2 == 0) {
      s->turn.store(t + 1);
      SetLatch(&s->child_latch);
      continue;
    }
    if (WaitLatch(&s->parent_latch, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0) == WL_TIMEOUT) {
      parent_timeouts++;
      break;
    }
  }
  // Let the child see the final turn.
  SetLatch(&s->child_latch);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_EQ(parent_timeouts, 0);
  EXPECT_EQ(s->child_timeouts.load(), 0);
  EXPECT_EQ(s->turn.load(), 2 * kRounds);
  EXPECT_LT(ElapsedMs(start), kLongTimeoutMs);
  DisownLatch(&s->parent_latch);
  Unmap(s);
}

Latch* handler_latch = nullptr;
void SetLatchHandler(int) {
  int saved = errno;
  SetLatch(handler_latch);
  errno = saved;
}

// A signal handler sets our own latch while we sleep in WaitLatch.
TEST_F(LatchTest, SignalHandlerSetsOwnLatch) {
  handler_latch = &latch_;
  struct sigaction sa = {}, old = {};
  sa.sa_handler = SetLatchHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // epoll_wait is interrupted regardless
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t parent = getpid();
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ReadByte(go[0]);
    usleep(50 * 1000);
    kill(parent, SIGUSR2);
    _exit(0);
  }
  WriteByte(go[1]);
  auto start = Clock::now();
  int rc = WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0);
  EXPECT_EQ(rc, WL_LATCH_SET);
  EXPECT_LT(ElapsedMs(start), kLongTimeoutMs / 2);
  EXPECT_EQ(ExitCode(pid), 0);
  sigaction(SIGUSR2, &old, nullptr);
  handler_latch = nullptr;
  ResetLatch(&latch_);
  close(go[0]);
  close(go[1]);
}

void Usr1Handler(int) {
  int saved = errno;
  latch_sigusr1_handler();
  errno = saved;
}

TEST_F(LatchTest, Sigusr1HandlerSetsMyLatch) {
  ASSERT_NE(MyLatch, nullptr);
  ResetLatch(MyLatch);
  struct sigaction sa = {}, old = {};
  sa.sa_handler = Usr1Handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  kill(getpid(), SIGUSR1);
  EXPECT_EQ(WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0), WL_LATCH_SET);
  sigaction(SIGUSR1, &old, nullptr);
  ResetLatch(MyLatch);
}

// SetLatch signals the owner only when it may be sleeping, and not at all
// when the latch is already set.
volatile sig_atomic_t* urg_counter = nullptr;
void CountUrg(int) { *urg_counter = *urg_counter + 1; }

TEST_F(LatchTest, SetLatchSignalsOnlyASleepingOwnerOfAnUnsetLatch) {
  struct Shared {
    Latch latch;
    volatile sig_atomic_t urgs;
  };
  Shared* s = MapShared<Shared>();
  ASSERT_NE(s, nullptr);
  InitSharedLatch(&s->latch);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The owner counts SIGURGs instead of taking them through a signalfd.
    urg_counter = &s->urgs;
    struct sigaction sa = {};
    sa.sa_handler = CountUrg;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGURG, &sa, nullptr);
    sigset_t urg;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    sigprocmask(SIG_UNBLOCK, &urg, nullptr);
    MyProcPid = getpid();
    OwnLatch(&s->latch);
    WriteByte(ready[1]);
    for (;;) pause();
  }
  ReadByte(ready[0]);
  // Not sleeping: the flag is set, nothing is sent.
  SetLatch(&s->latch);
  EXPECT_EQ(s->latch.is_set, 1);
  usleep(100 * 1000);
  EXPECT_EQ(s->urgs, 0);

  // Sleeping (as WaitLatch publishes it): one SIGURG.
  ResetLatch(&s->latch);
  __atomic_store_n(&s->latch.maybe_sleeping, 1, __ATOMIC_SEQ_CST);
  SetLatch(&s->latch);
  auto start = Clock::now();
  while (s->urgs == 0 && ElapsedMs(start) < 10000) usleep(1000);
  EXPECT_EQ(s->urgs, 1);

  // Already set: a memory read, no signal.
  SetLatch(&s->latch);
  SetLatch(&s->latch);
  usleep(100 * 1000);
  EXPECT_EQ(s->urgs, 1);

  kill(pid, SIGKILL);
  int status = WaitStatus(pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  close(ready[0]);
  close(ready[1]);
  Unmap(s);
}

TEST_F(LatchTest, SetLatchOnADisownedLatchOnlySetsTheFlag) {
  Latch l;
  InitSharedLatch(&l);
  __atomic_store_n(&l.maybe_sleeping, 1, __ATOMIC_SEQ_CST);
  SetLatch(&l);  // no owner: nobody to signal, must not crash or kill(0, ...)
  EXPECT_EQ(l.is_set, 1);
}

TEST_F(LatchTest, OwningAnOwnedLatchIsAPanic) {
  Latch* shared = MapShared<Latch>();
  ASSERT_NE(shared, nullptr);
  InitSharedLatch(shared);
  OwnLatch(shared);
  int status = bgw::compat::testing::RunInChild([shared] {
    MyProcPid = getpid();
    OwnLatch(shared);
    _exit(0);
  });
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << "status " << status;
  EXPECT_EQ(shared->owner_pid, getpid()) << "ownership unchanged";
  // After DisownLatch another process may own it.
  DisownLatch(shared);
  status = bgw::compat::testing::RunInChild([shared] {
    OwnLatch(shared);
    _exit(shared->owner_pid == getpid() ? 0 : 1);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  Unmap(shared);
}

class LatchSocketTest : public LatchTest {
 protected:
  void SetUp() override {
    LatchTest::SetUp();
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_), 0);
  }
  void TearDown() override {
    if (sv_[0] >= 0) close(sv_[0]);
    if (sv_[1] >= 0) close(sv_[1]);
  }
  int sv_[2] = {-1, -1};
};

TEST_F(LatchSocketTest, ReadableOnlyOnceDataArrives) {
  EXPECT_EQ(WaitLatchOrSocket(nullptr, WL_SOCKET_READABLE | WL_TIMEOUT, sv_[0], 30, 0), WL_TIMEOUT);
  ASSERT_EQ(write(sv_[1], "a", 1), 1);
  EXPECT_EQ(WaitLatchOrSocket(nullptr, WL_SOCKET_READABLE | WL_TIMEOUT, sv_[0], kLongTimeoutMs, 0),
            WL_SOCKET_READABLE);
  // The socket is taken out of the epoll set after each wait: waiting on it
  // again works (adding it twice would fail).
  EXPECT_EQ(WaitLatchOrSocket(nullptr, WL_SOCKET_READABLE | WL_TIMEOUT, sv_[0], kLongTimeoutMs, 0),
            WL_SOCKET_READABLE);
  char c;
  ASSERT_EQ(read(sv_[0], &c, 1), 1);
  EXPECT_EQ(WaitLatchOrSocket(nullptr, WL_SOCKET_READABLE | WL_TIMEOUT, sv_[0], 10, 0), WL_TIMEOUT);
}

TEST_F(LatchSocketTest, ReadableWhenDataArrivesDuringTheWait) {
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    usleep(50 * 1000);
    _exit(write(sv_[1], "z", 1) == 1 ? 0 : 1);
  }
  int rc = WaitLatchOrSocket(&latch_, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT, sv_[0],
                             kLongTimeoutMs, 0);
  EXPECT_EQ(rc, WL_SOCKET_READABLE);
  EXPECT_EQ(ExitCode(pid), 0);
}

TEST_F(LatchSocketTest, WriteableAtOnce) {
  EXPECT_EQ(WaitLatchOrSocket(nullptr, WL_SOCKET_WRITEABLE | WL_TIMEOUT, sv_[0], kLongTimeoutMs, 0),
            WL_SOCKET_WRITEABLE);
  EXPECT_EQ(WaitLatchOrSocket(nullptr, WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE | WL_TIMEOUT,
                              sv_[0], kLongTimeoutMs, 0),
            WL_SOCKET_WRITEABLE);
}

TEST_F(LatchSocketTest, PeerCloseIsReportedAsClosedAndReadable) {
  close(sv_[1]);
  sv_[1] = -1;
  EXPECT_EQ(WaitLatchOrSocket(nullptr, WL_SOCKET_CLOSED | WL_TIMEOUT, sv_[0], kLongTimeoutMs, 0),
            WL_SOCKET_CLOSED);
  EXPECT_EQ(WaitLatchOrSocket(nullptr, WL_SOCKET_READABLE | WL_TIMEOUT, sv_[0], kLongTimeoutMs, 0),
            WL_SOCKET_READABLE);
}

TEST_F(LatchSocketTest, LatchWinsOverAQuietSocket) {
  SetLatch(&latch_);
  EXPECT_EQ(WaitLatchOrSocket(&latch_, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT, sv_[0],
                              kLongTimeoutMs, 0),
            WL_LATCH_SET);
  ResetLatch(&latch_);
}

TEST_F(LatchSocketTest, WaitLatchIgnoresSocketEvents) {
  // WaitLatch has no socket: the socket bits are dropped, not an error.
  EXPECT_EQ(WaitLatch(&latch_, WL_LATCH_SET | WL_SOCKET_WRITEABLE | WL_TIMEOUT, 10, 0), WL_TIMEOUT);
}

TEST_F(LatchSocketTest, DescriptorEpollRefusesRaisesError) {
  // A regular file cannot be watched by epoll (EPERM): ERROR, not a crash.
  // In a child: the error path leaves the test process untouched.
  int status = bgw::compat::testing::RunInChild([] {
    char name[] = "/tmp/bgw_latch_test_XXXXXX";
    int fd = mkostemp(name, O_CLOEXEC);
    unlink(name);
    if (fd < 0) _exit(2);
    bgw::compat::testing::CaughtError e = bgw::compat::testing::CatchError(
        [fd] { WaitLatchOrSocket(nullptr, WL_SOCKET_READABLE | WL_TIMEOUT, fd, 10, 0); });
    if (!e.raised) _exit(3);
    if (e.message != "epoll_ctl() failed: Operation not permitted") _exit(4);
    // The latch machinery still works after the error.
    if (WaitLatch(nullptr, WL_TIMEOUT, 1, 0) != WL_TIMEOUT) _exit(5);
    _exit(0);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
