// Tests of condition variables (storage/condition_variable.h): Signal wakes
// one sleeper at a time, Broadcast wakes all, a timed sleep times out, a
// ping-pong between two processes that would hang on a lost wake-up, the
// wait event published while sleeping, cancelling passes a signal on, and
// the refusal to sleep without a process slot.
//
// As in lwlock_test.cc: a fresh main segment with process slots; children
// attach a slot (their latch is in it) and have an alarm against hangs.
// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/log.h"
#include "compat/compat_testing.h"
#include "ipc/addin_shmem.h"
#include "ipc/ipc_testing.h"
#include "ipc/lwlock.h"
#include "ipc/proc.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/storage/condition_variable.h"
#include "postgres/storage/latch.h"

namespace bgw {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitFor;
using compat::testing::CatchError;
using compat::testing::CaughtError;
using Clock = std::chrono::steady_clock;

constexpr int kSlots = 8;

struct Area {
  ConditionVariable cv;
  ConditionVariable cv2;
  std::atomic<int> tokens;
  std::atomic<int> go;
  std::atomic<int> woken;
  std::atomic<int> prepared;
  std::atomic<int> turn;
};

template <typename F>
pid_t Spawn(int slot, F&& body) {
  return bgw::testing::ForkChild([&] {
    MyProcPid = getpid();
    InitializeLatchSupport();
    if (slot >= 0) proc::AttachChild(slot, "cv test", "child");
    return body();
  });
}

class CondVarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_log_ = log::CurrentOptions();
    log::Options o;
    o.min_level = log::Level::kWarning;
    o.line_prefix = "";
    o.to_stderr = true;
    log::Configure(o);
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    lwlock::ResetForTesting();
    addin::ResetForTesting();
    shmem::RequestSpace(proc::ShmemSize(kSlots));
    shmem::RequestSpace(sizeof(Area));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    proc::ShmemInit(kSlots);
    bool found = true;
    area_ = static_cast<Area*>(shmem::InitStruct("cv test area", sizeof(Area), &found));
    ASSERT_NE(area_, nullptr);
    ConditionVariableInit(&area_->cv);
    ConditionVariableInit(&area_->cv2);
  }
  void TearDown() override {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    log::Configure(saved_log_);
  }

  // A sleeper that takes one token per wake-up, PostgreSQL's loop.
  int TakeToken() {
    ConditionVariablePrepareToSleep(&area_->cv);
    area_->prepared++;
    for (;;) {
      int t = area_->tokens.load();
      if (t > 0 && area_->tokens.compare_exchange_strong(t, t - 1)) break;
      ConditionVariableSleep(&area_->cv, PG_WAIT_EXTENSION);
    }
    ConditionVariableCancelSleep();
    area_->woken++;
    return 0;
  }

  Area* area_ = nullptr;
  log::Options saved_log_;
};

TEST_F(CondVarTest, SignalWakesSleepersOneAtATime) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 2; i++) pids.push_back(Spawn(i, [this] { return TakeToken(); }));
  ASSERT_TRUE(WaitFor([this] { return area_->prepared.load() == 2; }));
  // Both asleep (their wait event says so) before anything is signalled.
  ASSERT_TRUE(WaitFor([] {
    return proc::Slot(0)->wait_event_info.load() == PG_WAIT_EXTENSION &&
           proc::Slot(1)->wait_event_info.load() == PG_WAIT_EXTENSION;
  }));
  area_->tokens = 1;
  ConditionVariableSignal(&area_->cv);
  ASSERT_TRUE(WaitFor([this] { return area_->woken.load() == 1; }));
  area_->tokens = 1;
  ConditionVariableSignal(&area_->cv);
  ASSERT_TRUE(WaitFor([this] { return area_->woken.load() == 2; }));
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(area_->cv.wakeup.head, INVALID_PGPROCNO) << "nobody left on the list";
}

TEST_F(CondVarTest, BroadcastWakesEverySleeper) {
  constexpr int kSleepers = 4;
  std::vector<pid_t> pids;
  for (int i = 0; i < kSleepers; i++) {
    pids.push_back(Spawn(i, [this] {
      ConditionVariablePrepareToSleep(&area_->cv);
      area_->prepared++;
      while (area_->go.load() == 0) ConditionVariableSleep(&area_->cv, PG_WAIT_EXTENSION);
      ConditionVariableCancelSleep();
      area_->woken++;
      return 0;
    }));
  }
  ASSERT_TRUE(WaitFor([this] { return area_->prepared.load() == kSleepers; }));
  area_->go = 1;
  ConditionVariableBroadcast(&area_->cv);
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(area_->woken.load(), kSleepers);
}

TEST_F(CondVarTest, TimedSleepTimesOutWithoutAWakeup) {
  pid_t pid = Spawn(0, [this] {
    ConditionVariablePrepareToSleep(&area_->cv);
    auto start = Clock::now();
    bool timed_out = ConditionVariableTimedSleep(&area_->cv, 200, PG_WAIT_EXTENSION);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    ConditionVariableCancelSleep();
    if (!timed_out) return 2;
    if (ms < 190 || ms > 10000) return 3;
    // The first timed sleep without preparing returns at once (prepares).
    start = Clock::now();
    if (ConditionVariableTimedSleep(&area_->cv2, 5000, PG_WAIT_EXTENSION)) return 4;
    if (Clock::now() - start > std::chrono::seconds(2)) return 5;
    ConditionVariableCancelSleep();
    return 0;
  });
  EXPECT_EQ(WaitExit(pid), 0);
}

TEST_F(CondVarTest, PingPongNeverLosesAWakeup) {
  constexpr int kRounds = 2000;
  auto player = [this](int me) {
    for (int r = 0; r < kRounds; r++) {
      ConditionVariable* mine = me == 0 ? &area_->cv : &area_->cv2;
      ConditionVariable* theirs = me == 0 ? &area_->cv2 : &area_->cv;
      ConditionVariablePrepareToSleep(mine);
      while (area_->turn.load() % 2 != me) ConditionVariableSleep(mine, PG_WAIT_EXTENSION);
      ConditionVariableCancelSleep();
      area_->turn++;
      ConditionVariableSignal(theirs);
    }
    return 0;
  };
  pid_t a = Spawn(0, [&] { return player(0); });
  pid_t b = Spawn(1, [&] { return player(1); });
  EXPECT_EQ(WaitExit(a), 0);
  EXPECT_EQ(WaitExit(b), 0);
  EXPECT_EQ(area_->turn.load(), 2 * kRounds);
}

// A sleeper that was signalled but cancels instead of acting passes the
// signal on to the next sleeper.
TEST_F(CondVarTest, CancelledSignalGoesToTheNextSleeper) {
  pid_t quitter = Spawn(0, [this] {
    ConditionVariablePrepareToSleep(&area_->cv);
    area_->prepared++;
    WaitFor([this] { return area_->go.load() == 1; });  // signalled meanwhile
    ConditionVariableCancelSleep();
    return 0;
  });
  ASSERT_TRUE(WaitFor([this] { return area_->prepared.load() == 1; }));
  pid_t sleeper = Spawn(1, [this] { return TakeToken(); });
  ASSERT_TRUE(WaitFor([this] { return area_->prepared.load() == 2; }));
  area_->tokens = 1;
  ConditionVariableSignal(&area_->cv);  // picks the quitter, first in line
  area_->go = 1;
  EXPECT_EQ(WaitExit(quitter), 0);
  EXPECT_EQ(WaitExit(sleeper), 0);
  EXPECT_EQ(area_->woken.load(), 1);
}

TEST_F(CondVarTest, SleepingNeedsAProcessSlot) {
  pid_t pid = Spawn(-1, [this] {
    CaughtError e = CatchError([this] { ConditionVariablePrepareToSleep(&area_->cv); });
    if (e.message != "only processes attached to shared memory can sleep on a condition variable") {
      return 2;
    }
    ConditionVariableSignal(&area_->cv);  // anyone may signal
    return 0;
  });
  EXPECT_EQ(WaitExit(pid), 0);
}

}  // namespace
}  // namespace bgw
