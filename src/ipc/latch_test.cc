// Tests of latches (storage/latch.h): set/reset/wait with a timeout, wake-ups
// across processes through a latch in a MAP_SHARED mapping (both directions,
// and a ping-pong that would hang on a lost wake-up), SetLatch from a signal
// handler, SIGURG sent only to a sleeping owner, sockets in the wait, and the
// failure paths (owning an owned latch, a descriptor epoll refuses); the
// futex path (no SIGURG, the futex word moves, postmaster death ends the
// sleep through PR_SET_PDEATHSIG); wait event sets (persistent sockets,
// latch and socket in one set, modification, misuse).
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
#include "ipc/ipc_testing.h"
#include "ipc/pmdeath.h"
#include "ipc/proc_exit.h"
#include "postgres/miscadmin.h"
#include "postgres/utils/memutils.h"
#include "postmaster/child.h"

namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitStatus;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr long kLongTimeoutMs = 30000;  // only reached if a wake-up is lost

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
  EXPECT_EQ(WaitExit(pid), 0);
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
  EXPECT_EQ(WaitExit(pid), 0);
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
  EXPECT_EQ(WaitExit(pid), 0);
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
  EXPECT_EQ(WaitExit(pid), 0);
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
  EXPECT_EQ(WaitExit(pid), 0);
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

// A WaitLatch (no socket) sleeps on the futex: SetLatch moves the futex word
// and sends no signal; a wait with a socket sleeps in epoll and is woken by
// SIGURG. Either kind of sleeper is woken by the same SetLatch.
TEST_F(LatchTest, FutexSleeperIsWokenWithoutASignal) {
  struct Shared {
    Latch latch;
    volatile sig_atomic_t urgs;
    std::atomic<int> rc;
  };
  Shared* s = MapShared<Shared>();
  ASSERT_NE(s, nullptr);
  InitSharedLatch(&s->latch);
  s->rc.store(-1);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    MyProcPid = getpid();
    // Count SIGURGs with a handler: the futex path must not need one.
    urg_counter = &s->urgs;
    struct sigaction sa = {};
    sa.sa_handler = CountUrg;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGURG, &sa, nullptr);
    sigset_t urg;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    sigprocmask(SIG_UNBLOCK, &urg, nullptr);
    OwnLatch(&s->latch);
    s->rc.store(WaitLatch(&s->latch, WL_LATCH_SET | WL_TIMEOUT, kLongTimeoutMs, 0));
    _exit(0);
  }
  ASSERT_TRUE(bgw::testing::WaitFor([&] {
    return __atomic_load_n(&s->latch.maybe_sleeping, __ATOMIC_SEQ_CST) == 2;
  })) << "the owner publishes a futex sleep";
  usleep(20 * 1000);  // most likely in FUTEX_WAIT now (either order must work)
  uint32_t word_before = __atomic_load_n(&s->latch.futex_word, __ATOMIC_SEQ_CST);
  SetLatch(&s->latch);
  EXPECT_EQ(bgw::testing::WaitExit(pid), 0);
  EXPECT_EQ(s->rc.load(), WL_LATCH_SET);
  EXPECT_EQ(s->urgs, 0) << "no signal for a futex sleeper";
  EXPECT_NE(s->latch.futex_word, word_before);
  EXPECT_EQ(s->latch.maybe_sleeping, 0);
  Unmap(s);
}

// Waiting on another latch than the one a handler sets: the futex wait is
// restarted after the handler and goes on sleeping until its own latch is
// set (a signal is not a wake-up).
TEST_F(LatchTest, HandlerSettingAnotherLatchDoesNotEndAFutexWait) {
  handler_latch = MyLatch;
  ResetLatch(MyLatch);
  struct sigaction sa = {}, old = {};
  sa.sa_handler = SetLatchHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  pid_t parent = getpid();
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    usleep(30 * 1000);
    kill(parent, SIGUSR2);
    _exit(0);
  }
  auto start = Clock::now();
  EXPECT_EQ(WaitLatch(&latch_, WL_LATCH_SET | WL_TIMEOUT, 200, 0), WL_TIMEOUT);
  EXPECT_GE(ElapsedMs(start), 195);
  EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(MyLatch->is_set, 1) << "the handler ran";
  sigaction(SIGUSR2, &old, nullptr);
  handler_latch = nullptr;
  ResetLatch(MyLatch);
}

// Postmaster death must end a futex sleep promptly: well before the grace
// period after which pmdeath's timer SIGKILLs the child. A fake postmaster
// (a child of the test) launches a real child with LaunchChild (pipe and
// PR_SET_PDEATHSIG armed as for every server process) and dies while the
// child sleeps in WaitLatch.
struct DeathReport {
  std::atomic<int> waiting;  // 1: the child is about to sleep
  std::atomic<int> rc;       // WaitLatch's result, -1 before
  std::atomic<long> elapsed_ms;
  std::atomic<int> exit_code;  // ProcExit's code, -1 before
  std::atomic<int> pm_gone;    // 1: the fake postmaster is dying
  std::atomic<int64_t> start_ns;
};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void RecordExit(int code, uintptr_t arg) {
  auto* r = reinterpret_cast<DeathReport*>(arg);
  r->elapsed_ms.store(static_cast<long>((NowNs() - r->start_ns.load()) / 1000000));
  r->exit_code.store(code);
}

void RunFakePostmaster(DeathReport* r, int wake_events) {
  ::PostmasterPid = getpid();
  if (!bgw::pmdeath::CreatePipe()) _exit(2);
  bgw::ChildSpec spec;
  spec.kind = bgw::ChildKind::kBgWorker;
  spec.attach_shmem = true;  // nothing to detach; no child slot
  auto child = bgw::LaunchChild(spec, [r, wake_events] {
    InitializeLatchSupport();
    Latch latch;
    InitLatch(&latch);
    bgw::OnProcExit(RecordExit, reinterpret_cast<uintptr_t>(r));
    r->start_ns.store(NowNs());
    r->waiting.store(1);
    int rc = WaitLatch(&latch, wake_events, kLongTimeoutMs, 0);
    r->elapsed_ms.store(static_cast<long>((NowNs() - r->start_ns.load()) / 1000000));
    r->rc.store(rc);
    _exit(0);
  });
  if (!child.ok()) _exit(3);
  while (r->waiting.load() == 0) usleep(1000);
  usleep(50 * 1000);  // let the child reach FUTEX_WAIT
  r->pm_gone.store(1);
  _exit(0);  // the postmaster dies; the child is not reaped by it
}

TEST_F(LatchTest, PostmasterDeathEndsAFutexSleepPromptly) {
  // Without a timeout, FUTEX_WAIT interrupted by an SA_RESTART handler is
  // restarted by the kernel (a timed one returns EINTR): both are covered.
  for (int events : {WL_LATCH_SET | WL_POSTMASTER_DEATH, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH,
                     WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH}) {
    SCOPED_TRACE(events);
    DeathReport* r = MapShared<DeathReport>();
    ASSERT_NE(r, nullptr);
    r->rc.store(-1);
    r->elapsed_ms.store(-1);
    r->exit_code.store(-1);
    fflush(nullptr);
    pid_t pm = fork();
    ASSERT_GE(pm, 0);
    if (pm == 0) RunFakePostmaster(r, events);
    EXPECT_EQ(bgw::testing::WaitExit(pm), 0);
    ASSERT_EQ(r->pm_gone.load(), 1);
    if (events & WL_POSTMASTER_DEATH) {
      ASSERT_TRUE(bgw::testing::WaitFor([&] { return r->rc.load() != -1; }))
          << "the child never returned (SIGKILLed by the grace timer?)";
      EXPECT_EQ(r->rc.load(), WL_POSTMASTER_DEATH);
    } else {
      // The child exits from inside WaitLatch, through ProcExit(1).
      ASSERT_TRUE(bgw::testing::WaitFor([&] { return r->exit_code.load() != -1; }))
          << "the child never ran ProcExit (SIGKILLed by the grace timer?)";
      EXPECT_EQ(r->exit_code.load(), 1);
      EXPECT_EQ(r->rc.load(), -1) << "WaitLatch must not return";
    }
    EXPECT_GE(r->elapsed_ms.load(), 40);
    EXPECT_LT(r->elapsed_ms.load(), static_cast<long>(bgw::pmdeath::kGracePeriod.count()));
    Unmap(r);
  }
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
  EXPECT_EQ(WaitExit(pid), 0);
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

// Wait event sets (PostgreSQL 15's API): a socket registered once serves
// many waits; latch, socket and postmaster death share a set; misuse is an
// ERROR.
class WaitEventSetTest : public LatchSocketTest {
 protected:
  void TearDown() override {
    if (set_ != nullptr) FreeWaitEventSet(set_);
    LatchSocketTest::TearDown();
  }
  WaitEventSet* set_ = nullptr;
};

TEST_F(WaitEventSetTest, SocketStaysRegisteredAcrossWaits) {
  set_ = CreateWaitEventSet(CurrentMemoryContext, 3);
  int tag = 7;
  int sock_pos = AddWaitEventToSet(set_, WL_SOCKET_READABLE, sv_[0], nullptr, &tag);
  int latch_pos = AddWaitEventToSet(set_, WL_LATCH_SET, PGINVALID_SOCKET, &latch_, nullptr);
  int death_pos = AddWaitEventToSet(set_, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
  EXPECT_EQ(sock_pos, 0);
  EXPECT_EQ(latch_pos, 1);
  EXPECT_EQ(death_pos, 2);
  EXPECT_EQ(GetNumRegisteredWaitEvents(set_), 3);

  WaitEvent ev[3];
  EXPECT_EQ(WaitEventSetWait(set_, 20, ev, 3, 0), 0) << "timeout: no event";
  for (int round = 0; round < 3; round++) {
    ASSERT_EQ(write(sv_[1], "ab", 2), 2);
    ASSERT_EQ(WaitEventSetWait(set_, kLongTimeoutMs, ev, 3, 0), 1);
    EXPECT_EQ(ev[0].pos, sock_pos);
    EXPECT_EQ(ev[0].events, static_cast<uint32>(WL_SOCKET_READABLE));
    EXPECT_EQ(ev[0].fd, sv_[0]);
    EXPECT_EQ(ev[0].user_data, &tag);
    char buf[2];
    ASSERT_EQ(read(sv_[0], buf, 2), 2);
    EXPECT_EQ(WaitEventSetWait(set_, 0, ev, 3, 0), 0) << "drained: nothing ready";
  }
  // A set latch is reported without looking at the sockets.
  SetLatch(&latch_);
  ASSERT_EQ(WaitEventSetWait(set_, kLongTimeoutMs, ev, 3, 0), 1);
  EXPECT_EQ(ev[0].pos, latch_pos);
  EXPECT_EQ(ev[0].events, static_cast<uint32>(WL_LATCH_SET));
  EXPECT_EQ(ev[0].fd, PGINVALID_SOCKET);
  ResetLatch(&latch_);
}

// Another process sets the latch while we sleep in the set's epoll_wait
// (SIGURG path), or writes to the socket.
TEST_F(WaitEventSetTest, LatchOrSocketWakesASleepingSet) {
  Latch* shared = MapShared<Latch>();
  ASSERT_NE(shared, nullptr);
  InitSharedLatch(shared);
  OwnLatch(shared);
  set_ = CreateWaitEventSet(CurrentMemoryContext, 2);
  int latch_pos = AddWaitEventToSet(set_, WL_LATCH_SET, PGINVALID_SOCKET, shared, nullptr);
  int sock_pos = AddWaitEventToSet(set_, WL_SOCKET_READABLE, sv_[0], nullptr, nullptr);
  for (bool by_latch : {true, false, true}) {
    SCOPED_TRACE(by_latch ? "latch" : "socket");
    fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      usleep(30 * 1000);
      if (by_latch) {
        SetLatch(shared);
        _exit(0);
      }
      _exit(write(sv_[1], "z", 1) == 1 ? 0 : 1);
    }
    auto start = Clock::now();
    WaitEvent ev[2];
    int n = WaitEventSetWait(set_, kLongTimeoutMs, ev, 2, 0);
    EXPECT_LT(ElapsedMs(start), kLongTimeoutMs / 2);
    EXPECT_EQ(WaitExit(pid), 0);
    ASSERT_EQ(n, 1);
    EXPECT_EQ(ev[0].pos, by_latch ? latch_pos : sock_pos);
    EXPECT_EQ(shared->maybe_sleeping, 0) << "cleared when the wait ends";
    ResetLatch(shared);
    if (!by_latch) {
      char c;
      ASSERT_EQ(read(sv_[0], &c, 1), 1);
    }
  }
  DisownLatch(shared);
  Unmap(shared);
}

TEST_F(WaitEventSetTest, ModifyWaitEventSwitchesSocketEventsAndLatch) {
  set_ = CreateWaitEventSet(CurrentMemoryContext, 2);
  int sock_pos = AddWaitEventToSet(set_, WL_SOCKET_READABLE, sv_[0], nullptr, nullptr);
  int latch_pos = AddWaitEventToSet(set_, WL_LATCH_SET, PGINVALID_SOCKET, &latch_, nullptr);
  WaitEvent ev;
  EXPECT_EQ(WaitEventSetWait(set_, 0, &ev, 1, 0), 0);
  ModifyWaitEvent(set_, sock_pos, WL_SOCKET_WRITEABLE, nullptr);
  ASSERT_EQ(WaitEventSetWait(set_, kLongTimeoutMs, &ev, 1, 0), 1);
  EXPECT_EQ(ev.events, static_cast<uint32>(WL_SOCKET_WRITEABLE));
  ModifyWaitEvent(set_, sock_pos, WL_SOCKET_READABLE, nullptr);
  EXPECT_EQ(WaitEventSetWait(set_, 0, &ev, 1, 0), 0);
  // A latch event with no latch ignores latches until one is set again.
  ModifyWaitEvent(set_, latch_pos, WL_LATCH_SET, nullptr);
  SetLatch(&latch_);
  EXPECT_EQ(WaitEventSetWait(set_, 10, &ev, 1, 0), 0);
  ModifyWaitEvent(set_, latch_pos, WL_LATCH_SET, &latch_);
  ASSERT_EQ(WaitEventSetWait(set_, 0, &ev, 1, 0), 1);
  EXPECT_EQ(ev.pos, latch_pos);
  ResetLatch(&latch_);
}

TEST_F(WaitEventSetTest, PeerCloseIsReported) {
  set_ = CreateWaitEventSet(CurrentMemoryContext, 1);
  EXPECT_TRUE(WaitEventSetCanReportClosed());
  AddWaitEventToSet(set_, WL_SOCKET_CLOSED, sv_[0], nullptr, nullptr);
  WaitEvent ev;
  EXPECT_EQ(WaitEventSetWait(set_, 0, &ev, 1, 0), 0);
  close(sv_[1]);
  sv_[1] = -1;
  ASSERT_EQ(WaitEventSetWait(set_, kLongTimeoutMs, &ev, 1, 0), 1);
  EXPECT_EQ(ev.events, static_cast<uint32>(WL_SOCKET_CLOSED));
}

TEST_F(WaitEventSetTest, MisuseIsAnError) {
  // Each misuse in a child: an ERROR unwinds out of the test otherwise.
  auto expect_error = [](const char* want, auto fn) {
    int status = bgw::compat::testing::RunInChild([&] {
      bgw::compat::testing::CaughtError e = bgw::compat::testing::CatchError(fn);
      if (!e.raised) _exit(3);
      if (e.message.find(want) == std::string::npos) {
        fprintf(stderr, "message: %s\n", e.message.c_str());
        _exit(4);
      }
      _exit(0);
    });
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << want << ": status " << status;
  };
  Latch* latch = &latch_;
  int sock = sv_[0];
  expect_error("more than one latch", [latch] {
    InitLatch(latch);  // owned by this child
    WaitEventSet* s = CreateWaitEventSet(CurrentMemoryContext, 2);
    AddWaitEventToSet(s, WL_LATCH_SET, PGINVALID_SOCKET, latch, nullptr);
    AddWaitEventToSet(s, WL_LATCH_SET, PGINVALID_SOCKET, latch, nullptr);
  });
  expect_error("owned by another process", [] {
    Latch foreign;
    InitSharedLatch(&foreign);
    foreign.owner_pid = 1;
    WaitEventSet* s = CreateWaitEventSet(CurrentMemoryContext, 1);
    AddWaitEventToSet(s, WL_LATCH_SET, PGINVALID_SOCKET, &foreign, nullptr);
  });
  expect_error("without a socket", [] {
    WaitEventSet* s = CreateWaitEventSet(CurrentMemoryContext, 1);
    AddWaitEventToSet(s, WL_SOCKET_READABLE, PGINVALID_SOCKET, nullptr, nullptr);
  });
  expect_error("is full", [sock] {
    WaitEventSet* s = CreateWaitEventSet(CurrentMemoryContext, 1);
    AddWaitEventToSet(s, WL_SOCKET_READABLE, sock, nullptr, nullptr);
    AddWaitEventToSet(s, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
  });
  expect_error("cannot modify latch event", [latch] {
    InitLatch(latch);
    WaitEventSet* s = CreateWaitEventSet(CurrentMemoryContext, 1);
    int pos = AddWaitEventToSet(s, WL_LATCH_SET, PGINVALID_SOCKET, latch, nullptr);
    ModifyWaitEvent(s, pos, WL_SOCKET_READABLE, nullptr);
  });
  expect_error("cannot modify postmaster death", [] {
    WaitEventSet* s = CreateWaitEventSet(CurrentMemoryContext, 1);
    int pos = AddWaitEventToSet(s, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
    ModifyWaitEvent(s, pos, WL_SOCKET_READABLE, nullptr);
  });
  expect_error("invalid wait event position", [sock] {
    WaitEventSet* s = CreateWaitEventSet(CurrentMemoryContext, 2);
    AddWaitEventToSet(s, WL_SOCKET_READABLE, sock, nullptr, nullptr);
    ModifyWaitEvent(s, 1, WL_SOCKET_READABLE, nullptr);
  });
  // A set is its creator's: a forked child must make its own.
  WaitEventSet* parents = CreateWaitEventSet(CurrentMemoryContext, 1);
  AddWaitEventToSet(parents, WL_SOCKET_READABLE, sock, nullptr, nullptr);
  expect_error("used by process", [parents] {
    WaitEvent ev;
    WaitEventSetWait(parents, 0, &ev, 1, 0);
  });
  FreeWaitEventSet(parents);
}

TEST_F(WaitEventSetTest, PostmasterDeathNeverFiresOutsideAPostmaster) {
  set_ = CreateWaitEventSet(CurrentMemoryContext, 1);
  AddWaitEventToSet(set_, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
  WaitEvent ev;
  EXPECT_EQ(WaitEventSetWait(set_, 10, &ev, 1, 0), 0);
}

}  // namespace
