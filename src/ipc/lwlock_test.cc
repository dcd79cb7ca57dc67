// Tests of LWLocks (storage/lwlock.h): mutual exclusion between forked
// processes (a non-atomic counter under LW_EXCLUSIVE; shared holders inside
// together; exclusive and shared excluding each other), sleeping waiters
// publishing their wait event, conditional acquisition, the held-lock
// bookkeeping (HeldByMe, ReleaseAll, the 200-lock limit, releasing a lock
// not held, conflicting re-acquisition), release on every exit path,
// a waiter ended by a signal handler, LWLockAcquireOrWait, named tranches
// and tranche ids, and a process without shared memory access.
//
// Every test builds a fresh main segment with process slots and the LWLock
// array, as the postmaster does. Children attach a process slot (as a
// worker with BGWORKER_SHMEM_ACCESS does) and report through exit codes and
// a shared area; each has an alarm so a lost wake-up fails instead of
// hanging. The test process itself never attaches a slot.
// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include "ipc/lwlock.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "compat/compat_testing.h"
#include "ipc/addin_shmem.h"
#include "ipc/ipc_testing.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/storage/ipc.h"
#include "postgres/storage/lwlock.h"

namespace bgw::lwlock {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitFor;
using compat::testing::CatchError;
using compat::testing::CaughtError;

constexpr int kSlots = 8;
constexpr unsigned kChildAlarmSec = 60;  // a hung child dies with SIGALRM
constexpr int kNamedLocks = 4;
constexpr int kMaxIds = 256;

struct TestArea {
  LWLock lock;
  LWLock lock2;
  int embedded_tranche;
  volatile int64_t counter;
  std::atomic<int> go;
  std::atomic<int> holding;
  std::atomic<int> proceed;
  std::atomic<int> started;
  std::atomic<int> acquired;
  std::atomic<int> inside;
  std::atomic<int> violations;
  std::atomic<int> waited;
  std::atomic<int> done;
  std::atomic<int> num_ids;
  int ids[kMaxIds];
};

// Forks a child; with slot >= 0 it attaches that process slot first. The
// child exits with body()'s return value.
template <typename F>
pid_t Spawn(int slot, F&& body) {
  return bgw::testing::ForkChild(
      [&] {
        MyProcPid = getpid();
        if (slot >= 0) proc::AttachChild(slot, "lwlock test", "child");
        return body();
      },
      kChildAlarmSec);
}

uint32_t SlotWaitEvent(int slot) {
  return proc::Slot(slot)->wait_event_info.load(std::memory_order_relaxed);
}

class LWLockTest : public ::testing::Test {
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
    ResetForTesting();
    addin::ResetForTesting();
    process_shared_preload_libraries_in_progress = true;
    RequestNamedLWLockTranche("lwlock_test", kNamedLocks);
    process_shared_preload_libraries_in_progress = false;
    CreateSegment();
  }

  void CreateSegment() {
    shmem::ResetRequests();
    shmem::RequestSpace(proc::ShmemSize(kSlots));
    shmem::RequestSpace(ShmemSize());
    shmem::RequestSpace(sizeof(TestArea));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    proc::ShmemInit(kSlots);
    ASSERT_TRUE(ShmemInit().ok());
    bool found = true;
    area_ = static_cast<TestArea*>(shmem::InitStruct("lwlock test area", sizeof(TestArea), &found));
    ASSERT_NE(area_, nullptr);
    ASSERT_FALSE(found);
    area_->embedded_tranche = LWLockNewTrancheId();
    LWLockRegisterTranche(area_->embedded_tranche, "lwlock_test_embedded");
    LWLockInitialize(&area_->lock, area_->embedded_tranche);
    LWLockInitialize(&area_->lock2, area_->embedded_tranche);
  }

  void TearDown() override {
    EXPECT_EQ(NumHeldByMe(), 0);
    LWLockReleaseAll();
    InterruptHoldoffCount = 0;
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    ResetForTesting();
    addin::ResetForTesting();
    log::Configure(saved_log_);
  }

  // True if nobody holds `lock` and nobody waits for it.
  static bool IsIdle(LWLock* lock) {
    if (lock->waiters.head != INVALID_PGPROCNO) return false;
    if (!LWLockConditionalAcquire(lock, LW_EXCLUSIVE)) return false;
    LWLockRelease(lock);
    return true;
  }

  TestArea* area_ = nullptr;
  log::Options saved_log_;
};

// ---- mutual exclusion -----------------------------------------------------

TEST_F(LWLockTest, ExclusiveLockSerializesACounterAcrossProcesses) {
  constexpr int kProcs = 4;
  constexpr int kIters = 20000;
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; i++) {
    pids.push_back(Spawn(i, [this] {
      while (area_->go.load() == 0) {
      }
      for (int n = 0; n < kIters; n++) {
        if (!LWLockAcquire(&area_->lock, LW_EXCLUSIVE)) area_->waited++;
        // A read-modify-write that loses updates unless serialized, made
        // slow enough that holders get preempted and waiters must sleep.
        int64_t v = area_->counter;
        for (int k = 0; k < 20; k++) pg_spin_delay();
        area_->counter = v + 1;
        LWLockRelease(&area_->lock);
      }
      return NumHeldByMe() == 0 && InterruptHoldoffCount == 0 ? 0 : 2;
    }));
  }
  area_->go = 1;
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(area_->counter, int64_t{kProcs} * kIters);
  EXPECT_GT(area_->waited.load(), 0) << "no acquisition ever slept: the test lost its point";
  EXPECT_TRUE(IsIdle(&area_->lock));
}

TEST_F(LWLockTest, SharedHoldersAreInsideTogether) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 2; i++) {
    pids.push_back(Spawn(i, [this] {
      if (!LWLockAcquire(&area_->lock, LW_SHARED)) return 3;
      area_->inside++;
      // Both shared holders must be inside at once; a lock that let only
      // one in would time out here.
      bool both = WaitFor([this] { return area_->inside.load() == 2; });
      WaitFor([this] { return area_->done.load() == 1; });
      LWLockRelease(&area_->lock);
      return both ? 0 : 4;
    }));
  }
  // A third process: exclusive is refused while they hold it, shared is not.
  pids.push_back(Spawn(2, [this] {
    if (!WaitFor([this] { return area_->inside.load() == 2; })) return 5;
    int rc = 0;
    if (LWLockConditionalAcquire(&area_->lock, LW_EXCLUSIVE)) rc = 6;
    if (!LWLockConditionalAcquire(&area_->lock, LW_SHARED)) {
      rc = 7;
    } else {
      LWLockRelease(&area_->lock);
    }
    area_->done = 1;
    return rc;
  }));
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_TRUE(IsIdle(&area_->lock));
}

TEST_F(LWLockTest, ExclusiveHolderMakesSharedWaiterSleepWithItsWaitEvent) {
  pid_t holder = Spawn(0, [this] {
    LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
    area_->holding = 1;
    WaitFor([this] { return area_->proceed.load() == 1; });
    // Still ours: the waiter must not have got in.
    int rc = area_->acquired.load() == 0 ? 0 : 8;
    LWLockRelease(&area_->lock);
    return rc;
  });
  pid_t waiter = Spawn(1, [this] {
    if (!WaitFor([this] { return area_->holding.load() == 1; })) return 5;
    area_->started = 1;
    bool without_waiting = LWLockAcquire(&area_->lock, LW_SHARED);
    area_->acquired = 1;
    int rc = 0;
    if (without_waiting) rc = 9;
    if (SlotWaitEvent(1) != 0) rc = 10;  // the wait event ends with the wait
    LWLockRelease(&area_->lock);
    return rc;
  });
  const uint32_t expected = PG_WAIT_LWLOCK | static_cast<uint32_t>(area_->embedded_tranche);
  ASSERT_TRUE(WaitFor([&] { return SlotWaitEvent(1) == expected; }))
      << "wait event " << std::hex << SlotWaitEvent(1);
  EXPECT_EQ(area_->acquired.load(), 0);
  uint32_t info = SlotWaitEvent(1);
  EXPECT_STREQ(pgstat_get_wait_event_type(info), "LWLock");
  EXPECT_STREQ(GetLWLockIdentifier(PG_WAIT_LWLOCK, static_cast<uint16>(info & 0xFFFF)),
               "lwlock_test_embedded");
  area_->proceed = 1;
  EXPECT_EQ(WaitExit(holder), 0);
  EXPECT_EQ(WaitExit(waiter), 0);
  EXPECT_TRUE(IsIdle(&area_->lock));
}

TEST_F(LWLockTest, ExclusiveWaiterGetsInOnlyAfterTheLastSharedHolderLeaves) {
  std::vector<pid_t> readers;
  for (int i = 0; i < 2; i++) {
    readers.push_back(Spawn(i, [this, i] {
      LWLockAcquire(&area_->lock, LW_SHARED);
      area_->inside++;
      // Reader 0 leaves first, reader 1 only when told.
      if (i == 1) WaitFor([this] { return area_->proceed.load() == 1; });
      if (i == 0) WaitFor([this] { return area_->started.load() == 1; });
      area_->inside--;
      LWLockRelease(&area_->lock);
      return 0;
    }));
  }
  pid_t writer = Spawn(2, [this] {
    if (!WaitFor([this] { return area_->inside.load() == 2; })) return 5;
    area_->started = 1;
    LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
    int rc = area_->inside.load() == 0 ? 0 : 11;
    area_->acquired = 1;
    LWLockRelease(&area_->lock);
    return rc;
  });
  EXPECT_EQ(WaitExit(readers[0]), 0);
  const uint32_t expected = PG_WAIT_LWLOCK | static_cast<uint32_t>(area_->embedded_tranche);
  ASSERT_TRUE(WaitFor([&] { return SlotWaitEvent(2) == expected; }));
  EXPECT_EQ(area_->acquired.load(), 0) << "exclusive granted while a shared holder remained";
  area_->proceed = 1;
  EXPECT_EQ(WaitExit(readers[1]), 0);
  EXPECT_EQ(WaitExit(writer), 0);
  EXPECT_TRUE(IsIdle(&area_->lock));
}

TEST_F(LWLockTest, MixedSharedAndExclusiveKeepTheirInvariants) {
  constexpr int kProcs = 4;
  constexpr int kIters = 5000;
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; i++) {
    pids.push_back(Spawn(i, [this, i] {
      while (area_->go.load() == 0) {
      }
      unsigned seed = static_cast<unsigned>(i * 7919 + 1);
      for (int n = 0; n < kIters; n++) {
        seed = seed * 1103515245 + 12345;
        if ((seed >> 16) % 4 == 0) {
          LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
          if (area_->inside.load() != 0) area_->violations++;
          area_->inside = -1;
          area_->counter = area_->counter + 1;
          area_->inside = 0;
          LWLockRelease(&area_->lock);
        } else {
          LWLockAcquire(&area_->lock, LW_SHARED);
          if (area_->inside.fetch_add(1) < 0) area_->violations++;
          int64_t before = area_->counter;
          for (int k = 0; k < 10; k++) pg_spin_delay();
          if (area_->counter != before) area_->violations++;
          area_->inside--;
          LWLockRelease(&area_->lock);
        }
      }
      return 0;
    }));
  }
  area_->go = 1;
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(area_->violations.load(), 0);
  EXPECT_GT(area_->counter, 0);
  EXPECT_TRUE(IsIdle(&area_->lock));
}

// ---- conditional acquisition and bookkeeping ---------------------------

TEST_F(LWLockTest, ConditionalAcquireFailsWhileAnotherProcessHoldsTheLock) {
  pid_t holder = Spawn(0, [this] {
    LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
    area_->holding = 1;
    WaitFor([this] { return area_->proceed.load() == 1; });
    LWLockRelease(&area_->lock);
    area_->done = 1;
    return 0;
  });
  pid_t prober = Spawn(1, [this] {
    if (!WaitFor([this] { return area_->holding.load() == 1; })) return 5;
    int rc = 0;
    if (LWLockConditionalAcquire(&area_->lock, LW_EXCLUSIVE)) rc = 12;
    if (LWLockConditionalAcquire(&area_->lock, LW_SHARED)) rc = 13;
    if (LWLockHeldByMe(&area_->lock) || NumHeldByMe() != 0) rc = 14;
    if (InterruptHoldoffCount != 0) rc = 15;  // a failed attempt holds nothing
    area_->proceed = 1;
    WaitFor([this] { return area_->done.load() == 1; });
    if (!LWLockConditionalAcquire(&area_->lock, LW_EXCLUSIVE)) return 16;
    if (!LWLockHeldByMeInMode(&area_->lock, LW_EXCLUSIVE)) rc = 17;
    LWLockRelease(&area_->lock);
    return rc;
  });
  EXPECT_EQ(WaitExit(holder), 0);
  EXPECT_EQ(WaitExit(prober), 0);
}

TEST_F(LWLockTest, HeldByMeFollowsModesAndReleaseAllReleasesEverything) {
  LWLockPadded* named = GetNamedLWLockTranche("lwlock_test");
  EXPECT_FALSE(LWLockHeldByMe(&area_->lock));
  EXPECT_TRUE(LWLockAcquire(&area_->lock, LW_EXCLUSIVE));
  EXPECT_TRUE(LWLockAcquire(&named[0].lock, LW_SHARED));
  EXPECT_TRUE(LWLockAcquire(&named[1].lock, LW_SHARED));
  EXPECT_TRUE(LWLockAcquire(&named[1].lock, LW_SHARED)) << "shared twice is allowed";
  EXPECT_EQ(NumHeldByMe(), 4);
  EXPECT_EQ(InterruptHoldoffCount, 4u) << "interrupts are held while locks are";
  EXPECT_TRUE(LWLockHeldByMe(&area_->lock));
  EXPECT_TRUE(LWLockHeldByMeInMode(&area_->lock, LW_EXCLUSIVE));
  EXPECT_FALSE(LWLockHeldByMeInMode(&area_->lock, LW_SHARED));
  EXPECT_TRUE(LWLockHeldByMeInMode(&named[0].lock, LW_SHARED));
  EXPECT_FALSE(LWLockHeldByMe(&named[2].lock));
  EXPECT_FALSE(LWLockHeldByMe(&area_->lock2));

  LWLockRelease(&named[1].lock);
  EXPECT_TRUE(LWLockHeldByMe(&named[1].lock)) << "still held once";
  LWLockReleaseAll();
  EXPECT_EQ(NumHeldByMe(), 0);
  // As in PostgreSQL, ReleaseAll leaves the holdoff count alone: it runs
  // after error recovery has reset it.
  EXPECT_EQ(InterruptHoldoffCount, 3u);
  InterruptHoldoffCount = 0;
  EXPECT_FALSE(LWLockHeldByMe(&area_->lock));
  EXPECT_TRUE(IsIdle(&area_->lock));
  EXPECT_TRUE(IsIdle(&named[0].lock));
  EXPECT_TRUE(IsIdle(&named[1].lock));
}

TEST_F(LWLockTest, ReleasingALockNotHeldRaisesError) {
  CaughtError e = CatchError([this] { LWLockRelease(&area_->lock); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.message, "lock lwlock_test_embedded is not held");
}

TEST_F(LWLockTest, MoreThanTwoHundredLocksRaisesTooManyLWLocksTaken) {
  for (int i = 0; i < MAX_SIMUL_LWLOCKS; i++) ASSERT_TRUE(LWLockAcquire(&area_->lock, LW_SHARED));
  CaughtError e = CatchError([this] { LWLockAcquire(&area_->lock2, LW_EXCLUSIVE); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.message, "too many LWLocks taken");
  e = CatchError([this] { LWLockConditionalAcquire(&area_->lock2, LW_EXCLUSIVE); });
  EXPECT_EQ(e.message, "too many LWLocks taken");
  EXPECT_FALSE(LWLockHeldByMe(&area_->lock2));
  EXPECT_EQ(NumHeldByMe(), MAX_SIMUL_LWLOCKS);
  LWLockReleaseAll();  // what error recovery does
  EXPECT_EQ(NumHeldByMe(), 0);
  EXPECT_TRUE(IsIdle(&area_->lock));
  EXPECT_TRUE(IsIdle(&area_->lock2));
}

TEST_F(LWLockTest, ConflictingReacquisitionRaisesErrorInsteadOfHanging) {
  ASSERT_TRUE(LWLockAcquire(&area_->lock, LW_EXCLUSIVE));
  CaughtError e = CatchError([this] { LWLockAcquire(&area_->lock, LW_EXCLUSIVE); });
  EXPECT_EQ(e.message, "LWLock \"lwlock_test_embedded\" is already held by this process");
  e = CatchError([this] { LWLockAcquire(&area_->lock, LW_SHARED); });
  EXPECT_TRUE(e.raised);
  EXPECT_FALSE(LWLockConditionalAcquire(&area_->lock, LW_SHARED)) << "conditional never errs";
  LWLockReleaseAll();

  ASSERT_TRUE(LWLockAcquire(&area_->lock, LW_SHARED));
  e = CatchError([this] { LWLockAcquire(&area_->lock, LW_EXCLUSIVE); });
  EXPECT_TRUE(e.raised);
  LWLockReleaseAll();
  EXPECT_TRUE(IsIdle(&area_->lock));

  e = CatchError([this] { LWLockAcquire(&area_->lock, LW_WAIT_UNTIL_FREE); });
  EXPECT_EQ(e.message, "unrecognized LWLock mode: 2");
}

// ---- exits ---------------------------------------------------------------

enum class ExitHow { kProcExit0, kProcExit1, kFatal, kUncaughtError };

void ExitHolding(ExitHow how) {
  switch (how) {
    case ExitHow::kProcExit0:
      proc_exit(0);
    case ExitHow::kProcExit1:
      proc_exit(1);
    case ExitHow::kFatal:
      ereport(FATAL, errmsg("lwlock test: FATAL while holding locks"));
      break;
    case ExitHow::kUncaughtError:
      PG_exception_stack = nullptr;  // as at a worker's top level
      elog(ERROR, "lwlock test: ERROR while holding locks");
      break;
  }
  _exit(99);
}

TEST_F(LWLockTest, EveryProcExitPathReleasesHeldLocks) {
  LWLockPadded* named = GetNamedLWLockTranche("lwlock_test");
  const std::pair<ExitHow, int> cases[] = {{ExitHow::kProcExit0, 0},
                                           {ExitHow::kProcExit1, 1},
                                           {ExitHow::kFatal, 1},
                                           {ExitHow::kUncaughtError, 1}};
  for (auto [how, code] : cases) {
    SCOPED_TRACE(static_cast<int>(how));
    area_->holding = 0;
    area_->proceed = 0;
    area_->acquired = 0;
    pid_t holder = Spawn(0, [this, named, how = how] {
      LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
      LWLockAcquire(&named[0].lock, LW_SHARED);
      area_->holding = 1;
      WaitFor([this] { return area_->proceed.load() == 1; });
      ExitHolding(how);
      return 98;
    });
    // A waiter sleeps on the lock; the holder's exit must wake it.
    pid_t waiter = Spawn(1, [this] {
      if (!WaitFor([this] { return area_->holding.load() == 1; })) return 5;
      if (LWLockAcquire(&area_->lock, LW_EXCLUSIVE)) return 18;  // must have waited
      area_->acquired = 1;
      LWLockRelease(&area_->lock);
      return 0;
    });
    const uint32_t expected = PG_WAIT_LWLOCK | static_cast<uint32_t>(area_->embedded_tranche);
    ASSERT_TRUE(WaitFor([&] { return SlotWaitEvent(1) == expected; }));
    area_->proceed = 1;
    EXPECT_EQ(WaitExit(holder), code);
    EXPECT_EQ(WaitExit(waiter), 0);
    EXPECT_EQ(area_->acquired.load(), 1);
    EXPECT_TRUE(IsIdle(&area_->lock));
    EXPECT_TRUE(IsIdle(&named[0].lock));
  }
}

void ExitFromHandler(int) { proc_exit(1); }

// A sleeping waiter ended by a signal handler that exits (PostgreSQL's
// bgworker_die raises FATAL right in the handler) leaves the wait list
// clean: the next waiter still gets the lock.
TEST_F(LWLockTest, WaiterEndedBySignalHandlerLeavesTheLockUsable) {
  pid_t holder = Spawn(0, [this] {
    LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
    area_->holding = 1;
    WaitFor([this] { return area_->proceed.load() == 1; });
    LWLockRelease(&area_->lock);
    return 0;
  });
  auto waiter_body = [this] {
    if (!WaitFor([this] { return area_->holding.load() == 1; })) return 5;
    LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
    area_->acquired++;
    LWLockRelease(&area_->lock);
    return 0;
  };
  pid_t doomed = Spawn(1, [&] {
    signal(SIGUSR2, ExitFromHandler);
    return waiter_body();
  });
  const uint32_t expected = PG_WAIT_LWLOCK | static_cast<uint32_t>(area_->embedded_tranche);
  ASSERT_TRUE(WaitFor([&] { return SlotWaitEvent(1) == expected; }));
  pid_t survivor = Spawn(2, waiter_body);
  ASSERT_TRUE(WaitFor([&] { return SlotWaitEvent(2) == expected; }));

  kill(doomed, SIGUSR2);
  EXPECT_EQ(WaitExit(doomed), 1);
  area_->proceed = 1;
  EXPECT_EQ(WaitExit(holder), 0);
  EXPECT_EQ(WaitExit(survivor), 0);
  EXPECT_EQ(area_->acquired.load(), 1);
  EXPECT_TRUE(IsIdle(&area_->lock));
}

TEST_F(LWLockTest, AcquireOrWaitWaitsUntilFreeWithoutTakingTheLock) {
  EXPECT_TRUE(LWLockAcquireOrWait(&area_->lock, LW_EXCLUSIVE)) << "free: taken at once";
  EXPECT_TRUE(LWLockHeldByMeInMode(&area_->lock, LW_EXCLUSIVE));
  LWLockRelease(&area_->lock);

  pid_t holder = Spawn(0, [this] {
    LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
    area_->holding = 1;
    WaitFor([this] { return area_->proceed.load() == 1; });
    LWLockRelease(&area_->lock);
    return 0;
  });
  pid_t waiter = Spawn(1, [this] {
    if (!WaitFor([this] { return area_->holding.load() == 1; })) return 5;
    if (LWLockAcquireOrWait(&area_->lock, LW_EXCLUSIVE)) return 19;
    if (LWLockHeldByMe(&area_->lock) || InterruptHoldoffCount != 0) return 20;
    area_->acquired = 1;
    return 0;
  });
  const uint32_t expected = PG_WAIT_LWLOCK | static_cast<uint32_t>(area_->embedded_tranche);
  ASSERT_TRUE(WaitFor([&] { return SlotWaitEvent(1) == expected; }));
  EXPECT_EQ(area_->acquired.load(), 0);
  area_->proceed = 1;
  EXPECT_EQ(WaitExit(holder), 0);
  EXPECT_EQ(WaitExit(waiter), 0);
  EXPECT_TRUE(IsIdle(&area_->lock));
}

// The postmaster has no process slot: it polls instead of queueing.
TEST_F(LWLockTest, ProcessWithoutASlotStillWaitsForTheLock) {
  pid_t holder = Spawn(0, [this] {
    LWLockAcquire(&area_->lock, LW_EXCLUSIVE);
    area_->holding = 1;
    usleep(200 * 1000);
    area_->counter = 42;
    LWLockRelease(&area_->lock);
    return 0;
  });
  pid_t slotless = Spawn(-1, [this] {
    if (!WaitFor([this] { return area_->holding.load() == 1; })) return 5;
    if (LWLockAcquire(&area_->lock, LW_SHARED)) return 21;
    int rc = area_->counter == 42 ? 0 : 22;
    LWLockRelease(&area_->lock);
    return rc;
  });
  EXPECT_EQ(WaitExit(holder), 0);
  EXPECT_EQ(WaitExit(slotless), 0);
}

// ---- tranches ------------------------------------------------------------

TEST_F(LWLockTest, NamedTranchesAndServerLocksHaveNames) {
  LWLockPadded* named = GetNamedLWLockTranche("lwlock_test");
  ASSERT_NE(named, nullptr);
  int id = named[0].lock.tranche;
  EXPECT_GE(id, LWTRANCHE_FIRST_USER_DEFINED);
  for (int i = 0; i < kNamedLocks; i++) {
    EXPECT_EQ(named[i].lock.tranche, id);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&named[i]) % LWLOCK_PADDED_SIZE, 0u);
    EXPECT_TRUE(IsIdle(&named[i].lock));
  }
  EXPECT_STREQ(GetLWLockIdentifier(PG_WAIT_LWLOCK, static_cast<uint16>(id)), "lwlock_test");
  EXPECT_STREQ(GetLWLockIdentifier(PG_WAIT_LWLOCK, AddinShmemInitLock->tranche), "AddinShmemInit");
  EXPECT_STREQ(GetLWLockIdentifier(PG_WAIT_LWLOCK, DynamicSharedMemoryControlLock->tranche),
               "DynamicSharedMemoryControl");
  EXPECT_TRUE(IsIdle(AddinShmemInitLock));
  // Ids handed out later follow the named tranches; unregistered ones are
  // "extension", as in PostgreSQL.
  EXPECT_GT(area_->embedded_tranche, id);
  int fresh = LWLockNewTrancheId();
  EXPECT_GT(fresh, area_->embedded_tranche);
  EXPECT_STREQ(GetLWLockIdentifier(PG_WAIT_LWLOCK, static_cast<uint16>(fresh)), "extension");
  char name[] = "renamed";
  LWLockRegisterTranche(fresh, name);
  name[0] = 'X';  // the registry keeps its own copy
  EXPECT_STREQ(GetLWLockIdentifier(PG_WAIT_LWLOCK, static_cast<uint16>(fresh)), "renamed");

  CaughtError e = CatchError([] { GetNamedLWLockTranche("no_such_tranche"); });
  EXPECT_EQ(e.message, "requested tranche is not registered");
  e = CatchError([] { RequestNamedLWLockTranche("too_late", 1); });
  EXPECT_EQ(e.message, "cannot request additional LWLocks outside shmem_request_hook");
  // Inside shmem_request_hook (PostgreSQL 15) it is accepted.
  process_shmem_requests_in_progress = true;
  e = CatchError([] { RequestNamedLWLockTranche("in_hook", 2); });
  process_shmem_requests_in_progress = false;
  EXPECT_FALSE(e.raised) << e.message;
}

TEST_F(LWLockTest, NamedTranchesKeepTheirIdsAcrossReinitialization) {
  int id = GetNamedLWLockTranche("lwlock_test")[0].lock.tranche;
  ASSERT_TRUE(LWLockConditionalAcquire(&GetNamedLWLockTranche("lwlock_test")[1].lock, LW_SHARED));
  LWLockReleaseAll();
  shmem::DestroyMainSegment();
  CreateSegment();
  LWLockPadded* again = GetNamedLWLockTranche("lwlock_test");
  EXPECT_EQ(again[0].lock.tranche, id);
  EXPECT_STREQ(GetLWLockIdentifier(PG_WAIT_LWLOCK, static_cast<uint16>(id)), "lwlock_test");
  EXPECT_TRUE(IsIdle(&again[1].lock));
  EXPECT_EQ(area_->embedded_tranche, id + 1) << "the tranche counter starts over";
}

TEST_F(LWLockTest, NewTrancheIdsAreUniqueAcrossProcesses) {
  constexpr int kProcs = 4;
  constexpr int kPerProc = 50;
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; i++) {
    pids.push_back(Spawn(i, [this] {
      while (area_->go.load() == 0) {
      }
      for (int n = 0; n < kPerProc; n++) area_->ids[area_->num_ids++] = LWLockNewTrancheId();
      return 0;
    }));
  }
  area_->go = 1;
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  ASSERT_EQ(area_->num_ids.load(), kProcs * kPerProc);
  std::set<int> unique(area_->ids, area_->ids + kProcs * kPerProc);
  EXPECT_EQ(unique.size(), static_cast<size_t>(kProcs * kPerProc));
  EXPECT_GT(*unique.begin(), area_->embedded_tranche);
}

TEST_F(LWLockTest, ServerProcessWithoutSharedMemoryGetsAClearError) {
  pid_t child = Spawn(-1, [] {
    shmem::DetachForChild();
    IsPostmasterEnvironment = true;  // a server child, as a worker is
    CaughtError e = CatchError([] { LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE); });
    if (e.message != "shared memory is not available in this process") return 23;
    if (e.hint.find("BGWORKER_SHMEM_ACCESS") == std::string::npos) return 24;
    e = CatchError([] { LWLockConditionalAcquire(AddinShmemInitLock, LW_SHARED); });
    if (!e.raised) return 25;
    e = CatchError([] { GetNamedLWLockTranche("lwlock_test"); });
    if (e.message != "shared memory is not available in this process") return 26;
    return 0;
  });
  EXPECT_EQ(WaitExit(child), 0);
}

TEST_F(LWLockTest, LocksLeftHeldByAStartupHookAreReleased) {
  char name[] = "/tmp/bgw_lwlock_test_XXXXXX";
  int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  unlink(name);
  int saved = dup(2);
  dup2(fd, 2);
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  ReleaseLeftoverLocks();
  dup2(saved, 2);
  close(saved);
  EXPECT_EQ(NumHeldByMe(), 0);
  EXPECT_TRUE(IsIdle(AddinShmemInitLock));
  char buf[512] = {};
  ASSERT_GT(pread(fd, buf, sizeof buf - 1, 0), 0);
  close(fd);
  EXPECT_NE(strstr(buf, "LWLock \"AddinShmemInit\" was left held by shmem_startup_hook"), nullptr)
      << buf;
}

TEST_F(LWLockTest, LWLockIsTriviallyCopyableAndPadded) {
  static_assert(std::is_trivially_copyable_v<LWLock>);
  static_assert(std::is_trivially_copyable_v<LWLockPadded>);
  static_assert(sizeof(LWLockPadded) == LWLOCK_PADDED_SIZE);
  static_assert(sizeof(LWLock) <= 16);
  LWLock copy;
  memcpy(&copy, &area_->lock, sizeof copy);
  EXPECT_EQ(copy.tranche, area_->lock.tranche);
}

}  // namespace
}  // namespace bgw::lwlock
