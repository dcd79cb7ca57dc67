// Tests of spinlocks (storage/spin.h, storage/s_lock.h): the basic state
// transitions, mutual exclusion between forked processes, waiting that
// sleeps instead of burning a CPU, the stuck-spinlock PANIC (shortened with
// BGW_STUCK_SPINLOCK_TIMEOUT_MS) and the parsing of that override.
//
// Locks live in a MAP_SHARED anonymous mapping, as in the main segment.
// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include "ipc/spin.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "ipc/ipc_testing.h"
#include "postgres/postgres.h"
#include "postgres/storage/spin.h"

namespace bgw::spin {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitStatus;
using Clock = std::chrono::steady_clock;

struct Shared {
  slock_t lock;
  slock_t other;
  volatile int64_t counter;
  std::atomic<int> go;
  std::atomic<int> holding;
};

Shared* MapShared() {
  void* p =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<Shared*>(p);
}

class SpinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_ = MapShared();
    ASSERT_NE(shared_, nullptr);
    SpinLockInit(&shared_->lock);
    SpinLockInit(&shared_->other);
    unsetenv(kStuckTimeoutEnv);
  }
  void TearDown() override {
    munmap(shared_, sizeof(Shared));
    unsetenv(kStuckTimeoutEnv);
  }
  Shared* shared_ = nullptr;
};

TEST_F(SpinTest, InitAcquireReleaseAndFree) {
  EXPECT_TRUE(SpinLockFree(&shared_->lock));
  EXPECT_EQ(SpinLockAcquire(&shared_->lock), 0) << "an uncontended acquire never sleeps";
  EXPECT_FALSE(SpinLockFree(&shared_->lock));
  EXPECT_TRUE(SpinLockFree(&shared_->other)) << "locks are independent";
  EXPECT_NE(TAS(&shared_->lock), 0) << "a held lock refuses test-and-set";
  SpinLockRelease(&shared_->lock);
  EXPECT_TRUE(SpinLockFree(&shared_->lock));
  EXPECT_EQ(TAS(&shared_->lock), 0);
  S_UNLOCK(&shared_->lock);
  EXPECT_TRUE(SpinLockFree(&shared_->lock));
}

TEST_F(SpinTest, MutualExclusionBetweenProcesses) {
  constexpr int kProcs = 4;
  constexpr int kIters = 100000;
  std::vector<pid_t> pids;
  fflush(nullptr);
  for (int i = 0; i < kProcs; i++) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(60);
      while (shared_->go.load() == 0) {
      }
      for (int n = 0; n < kIters; n++) {
        SpinLockAcquire(&shared_->lock);
        shared_->counter = shared_->counter + 1;  // not atomic: the lock makes it safe
        SpinLockRelease(&shared_->lock);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  shared_->go = 1;
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(shared_->counter, int64_t{kProcs} * kIters);
  EXPECT_TRUE(SpinLockFree(&shared_->lock));
}

// A waiter on a lock held for a while backs off into sleeps: it gets the
// lock soon after the release and uses little CPU meanwhile.
TEST_F(SpinTest, ContendedWaiterSleepsInsteadOfBurningACpu) {
  SpinLockAcquire(&shared_->lock);
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(60);
    close(report[0]);
    struct timespec cpu0, cpu1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    auto start = Clock::now();
    int delays = SpinLockAcquire(&shared_->lock);
    long wall_ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
    SpinLockRelease(&shared_->lock);
    long cpu_ms = (cpu1.tv_sec - cpu0.tv_sec) * 1000 + (cpu1.tv_nsec - cpu0.tv_nsec) / 1000000;
    long out[3] = {wall_ms, cpu_ms, delays};
    (void)!write(report[1], out, sizeof out);
    _exit(0);
  }
  close(report[1]);
  usleep(500 * 1000);
  SpinLockRelease(&shared_->lock);
  long in[3] = {0, 0, 0};
  ASSERT_EQ(read(report[0], in, sizeof in), static_cast<ssize_t>(sizeof in));
  close(report[0]);
  EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_GE(in[0], 400) << "acquired while still held";
  EXPECT_LT(in[0], 5000) << "noticed the release late";
  EXPECT_GT(in[2], 0) << "never slept";
  EXPECT_LT(in[1], in[0] / 2) << "cpu " << in[1] << " ms over " << in[0] << " ms of waiting";
}

// The holder is gone for good: the waiter PANICs (aborts) after the stuck
// timeout, naming where it waited.
TEST_F(SpinTest, StuckSpinlockPanicsAfterTheTimeout) {
  SpinLockAcquire(&shared_->lock);  // never released
  char path[] = "/tmp/bgw_spin_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  fflush(nullptr);
  auto start = Clock::now();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(60);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(fd, 2);
    setenv(kStuckTimeoutEnv, "300", 1);
    SpinLockAcquire(&shared_->lock);
    _exit(0);  // not reached
  }
  int status = WaitStatus(pid);
  long elapsed_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
  EXPECT_GE(elapsed_ms, 290);
  EXPECT_LT(elapsed_ms, 20000);
  char buf[1024] = {};
  ASSERT_GT(pread(fd, buf, sizeof buf - 1, 0), 0);
  close(fd);
  std::string text = buf;
  EXPECT_NE(text.find("PANIC:  stuck spinlock detected at"), std::string::npos) << text;
  EXPECT_NE(text.find("spin_test.cc:"), std::string::npos) << "the waiter's file:line: " << text;
  EXPECT_NE(text.find("TestBody"), std::string::npos) << "the waiter's function: " << text;
}

// perform_spin_delay, as code spinning on its own condition uses it, has the
// same detector.
TEST_F(SpinTest, PerformSpinDelayDetectsAStuckCondition) {
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(60);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    setenv(kStuckTimeoutEnv, "100", 1);
    SpinDelayStatus delay;
    init_local_spin_delay(&delay);
    for (;;) perform_spin_delay(&delay);
  }
  int status = WaitStatus(pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << "status " << status;

  // A condition that comes true in time ends the wait normally.
  SpinDelayStatus delay;
  init_local_spin_delay(&delay);
  for (int i = 0; i < 5000; i++) perform_spin_delay(&delay);
  finish_spin_delay(&delay);
  EXPECT_GT(delay.delays, 0);
  EXPECT_GE(SpinsPerDelay(), 10);
  EXPECT_LE(SpinsPerDelay(), 1000);
}

TEST_F(SpinTest, StuckTimeoutOverrideIsParsedStrictly) {
  EXPECT_EQ(StuckTimeout(), kDefaultStuckTimeout);
  EXPECT_GE(kDefaultStuckTimeout, std::chrono::seconds(60));
  EXPECT_LE(kDefaultStuckTimeout, std::chrono::seconds(120));
  setenv(kStuckTimeoutEnv, "250", 1);
  EXPECT_EQ(StuckTimeout(), std::chrono::milliseconds(250));
  for (const char* bad : {"", "abc", "10x", "0", "-5", "99999999999999999999"}) {
    setenv(kStuckTimeoutEnv, bad, 1);
    EXPECT_EQ(StuckTimeout(), kDefaultStuckTimeout) << "\"" << bad << "\"";
  }
}

TEST_F(SpinTest, SpinsPerDelayAdaptsWithinBounds) {
  set_spins_per_delay(5);
  EXPECT_EQ(SpinsPerDelay(), 10);
  set_spins_per_delay(5000);
  EXPECT_EQ(SpinsPerDelay(), 1000);
  set_spins_per_delay(DEFAULT_SPINS_PER_DELAY);
  EXPECT_EQ(update_spins_per_delay(DEFAULT_SPINS_PER_DELAY), DEFAULT_SPINS_PER_DELAY);
  // An acquisition that never slept raises it.
  SpinDelayStatus delay;
  init_local_spin_delay(&delay);
  finish_spin_delay(&delay);
  EXPECT_EQ(SpinsPerDelay(), DEFAULT_SPINS_PER_DELAY + 100);
}

}  // namespace
}  // namespace bgw::spin
