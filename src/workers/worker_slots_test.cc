// Tests of the background worker slots: ValidateWorker's rules (PostgreSQL's
// SanityCheckBackgroundWorker, each failure with its message), the slot array
// layout in shared memory, the changed-slot bitmap (ForEachChanged visits
// exactly the marked slots once, from any process), and the registrants' lock.
//
// The test process plays the postmaster (pmsignal::ShmemInit records its pid,
// so NotifyPostmaster signals it); SIGUSR1 is caught while a test runs.

// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include "workers/worker_slots.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ipc/ipc_testing.h"
#include "ipc/pmsignal.h"
#include "ipc/segment.h"

namespace bgw::bgworker {
namespace {

using bgw::testing::WaitExit;

BackgroundWorker ValidWorker(const char* name = "w") {
  BackgroundWorker w;
  std::memset(&w, 0, sizeof w);
  std::snprintf(w.bgw_name, BGW_MAXLEN, "%s", name);
  w.bgw_flags = BGWORKER_SHMEM_ACCESS;
  w.bgw_start_time = BgWorkerStart_RecoveryFinished;
  w.bgw_restart_time = BGW_DEFAULT_RESTART_INTERVAL;
  std::snprintf(w.bgw_library_name, BGW_MAXLEN, "mylib");
  std::snprintf(w.bgw_function_name, BGW_MAXLEN, "my_main");
  return w;
}

// Runs ValidateWorker on a copy; returns the error ("" if valid).
std::string ValidationError(BackgroundWorker w) {
  std::string error;
  bool ok = ValidateWorker(&w, &error);
  EXPECT_EQ(ok, error.empty()) << error;
  return ok ? "" : error;
}

TEST(WorkerSlotsTest, ValidWorkerPassesAndGetsItsTypeFromItsName) {
  BackgroundWorker w = ValidWorker("my worker");
  std::string error = "untouched";
  ASSERT_TRUE(ValidateWorker(&w, &error));
  EXPECT_EQ(error, "untouched");
  EXPECT_STREQ(w.bgw_type, "my worker");
}

TEST(WorkerSlotsTest, ExplicitTypeIsKept) {
  BackgroundWorker w = ValidWorker("name");
  std::snprintf(w.bgw_type, BGW_MAXLEN, "type");
  std::string error;
  ASSERT_TRUE(ValidateWorker(&w, &error));
  EXPECT_STREQ(w.bgw_type, "type");
  EXPECT_STREQ(w.bgw_name, "name");
}

TEST(WorkerSlotsTest, DatabaseConnectionRequiresSharedMemory) {
  BackgroundWorker w = ValidWorker("db");
  w.bgw_flags = BGWORKER_BACKEND_DATABASE_CONNECTION;
  EXPECT_EQ(ValidationError(w),
            "background worker \"db\": must attach to shared memory in order to request a "
            "database connection");
  w.bgw_flags = BGWORKER_BACKEND_DATABASE_CONNECTION | BGWORKER_SHMEM_ACCESS;
  EXPECT_EQ(ValidationError(w), "");
}

TEST(WorkerSlotsTest, DatabaseConnectionCannotStartAtPostmasterStart) {
  BackgroundWorker w = ValidWorker("db");
  w.bgw_flags = BGWORKER_BACKEND_DATABASE_CONNECTION | BGWORKER_SHMEM_ACCESS;
  w.bgw_start_time = BgWorkerStart_PostmasterStart;
  EXPECT_EQ(ValidationError(w),
            "background worker \"db\": cannot request database access if starting at "
            "postmaster start");
  w.bgw_start_time = BgWorkerStart_ConsistentState;
  EXPECT_EQ(ValidationError(w), "");
  // Without a database connection, postmaster start is fine.
  w.bgw_flags = BGWORKER_SHMEM_ACCESS;
  w.bgw_start_time = BgWorkerStart_PostmasterStart;
  EXPECT_EQ(ValidationError(w), "");
  // A worker without shared memory access is allowed (PostgreSQL 13/14).
  w.bgw_flags = 0;
  EXPECT_EQ(ValidationError(w), "");
}

// Stores a raw int into the enum field, as C module code or a corrupted
// shared memory slot can.
void SetRawStartTime(BackgroundWorker* w, int value) {
  static_assert(sizeof(w->bgw_start_time) == sizeof(int));
  std::memcpy(&w->bgw_start_time, &value, sizeof value);
}

TEST(WorkerSlotsTest, StartTimeMustBeKnown) {
  BackgroundWorker w = ValidWorker("t");
  // 3 is representable in the enum (its values need two bits) but unknown.
  SetRawStartTime(&w, 3);
  EXPECT_EQ(ValidationError(w), "background worker \"t\": invalid start time 3");
  for (BgWorkerStartTime good : {BgWorkerStart_PostmasterStart, BgWorkerStart_ConsistentState,
                                 BgWorkerStart_RecoveryFinished}) {
    w.bgw_start_time = good;
    EXPECT_EQ(ValidationError(w), "");
  }
}

// A bgw_start_time outside the enum's range (-1, 100: anything a module or a
// corrupted slot may hold) is an error, read without undefined behaviour
// (the UBSan build checks that).
TEST(WorkerSlotsTest, StartTimeOutsideTheEnumRangeIsAnError) {
  BackgroundWorker w = ValidWorker("t");
  for (int bad : {-1, 100}) {
    SetRawStartTime(&w, bad);
    EXPECT_EQ(ValidationError(w),
              "background worker \"t\": invalid start time " + std::to_string(bad));
  }
}

// PostgreSQL's bound: USECS_PER_DAY / 1000 seconds, or BGW_NEVER_RESTART.
TEST(WorkerSlotsTest, RestartIntervalBounds) {
  BackgroundWorker w = ValidWorker("r");
  for (int good : {BGW_NEVER_RESTART, 0, 1, 60, 86400 * 1000}) {
    w.bgw_restart_time = good;
    EXPECT_EQ(ValidationError(w), "") << good;
  }
  for (int bad : {-2, -1000, 86400 * 1000 + 1, 2147483647}) {
    w.bgw_restart_time = bad;
    EXPECT_EQ(ValidationError(w), "background worker \"r\": invalid restart interval") << bad;
  }
}

TEST(WorkerSlotsTest, ParallelWorkersMustNeverRestart) {
  BackgroundWorker w = ValidWorker("p");
  w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_CLASS_PARALLEL;
  w.bgw_restart_time = 10;
  EXPECT_EQ(ValidationError(w),
            "background worker \"p\": parallel workers may not be configured for restart");
  w.bgw_restart_time = 0;
  EXPECT_NE(ValidationError(w), "");
  w.bgw_restart_time = BGW_NEVER_RESTART;
  EXPECT_EQ(ValidationError(w), "");
}

TEST(WorkerSlotsTest, LibraryAndFunctionAreRequired) {
  BackgroundWorker w = ValidWorker("lf");
  w.bgw_library_name[0] = '\0';
  EXPECT_EQ(ValidationError(w),
            "background worker \"lf\": library and function names are required");
  w = ValidWorker("lf");
  w.bgw_function_name[0] = '\0';
  EXPECT_EQ(ValidationError(w),
            "background worker \"lf\": library and function names are required");
}

TEST(WorkerSlotsTest, FailedValidationLeavesTypeEmpty) {
  BackgroundWorker w = ValidWorker("x");
  w.bgw_restart_time = -7;
  std::string error;
  EXPECT_FALSE(ValidateWorker(&w, &error));
  EXPECT_STREQ(w.bgw_type, "");
}

// Strings come from module code or shared memory: they may lack their NUL.
TEST(WorkerSlotsTest, UnterminatedStringsAreTerminated) {
  BackgroundWorker w = ValidWorker();
  std::memset(w.bgw_name, 'n', BGW_MAXLEN);
  std::memset(w.bgw_library_name, 'l', BGW_MAXLEN);
  std::memset(w.bgw_function_name, 'f', BGW_MAXLEN);
  std::string error;
  ASSERT_TRUE(ValidateWorker(&w, &error)) << error;
  EXPECT_EQ(std::strlen(w.bgw_name), size_t{BGW_MAXLEN - 1});
  EXPECT_EQ(std::strlen(w.bgw_type), size_t{BGW_MAXLEN - 1});
  EXPECT_EQ(std::strlen(w.bgw_library_name), size_t{BGW_MAXLEN - 1});
  EXPECT_EQ(std::strlen(w.bgw_function_name), size_t{BGW_MAXLEN - 1});

  // An error message quoting an unterminated name stays bounded.
  w = ValidWorker();
  std::memset(w.bgw_name, 'n', BGW_MAXLEN);
  std::memset(w.bgw_type, 't', BGW_MAXLEN);
  w.bgw_restart_time = -5;
  EXPECT_EQ(ValidationError(w), "background worker \"" + std::string(BGW_MAXLEN - 1, 'n') +
                                    "\": invalid restart interval");
}

// The first failing rule is reported (PostgreSQL's order).
TEST(WorkerSlotsTest, RulesAreCheckedInPostgresOrder) {
  BackgroundWorker w = ValidWorker("o");
  w.bgw_flags = BGWORKER_BACKEND_DATABASE_CONNECTION;  // no shmem
  w.bgw_start_time = BgWorkerStart_PostmasterStart;
  w.bgw_restart_time = -9;
  w.bgw_library_name[0] = '\0';
  EXPECT_NE(ValidationError(w).find("must attach to shared memory"), std::string::npos);
  w.bgw_flags |= BGWORKER_SHMEM_ACCESS;
  EXPECT_NE(ValidationError(w).find("cannot request database access"), std::string::npos);
  w.bgw_start_time = BgWorkerStart_ConsistentState;
  EXPECT_NE(ValidationError(w).find("invalid restart interval"), std::string::npos);
  w.bgw_restart_time = 5;
  EXPECT_NE(ValidationError(w).find("library and function names"), std::string::npos);
}

volatile sig_atomic_t usr1_count = 0;
void CountUsr1(int) { usr1_count = usr1_count + 1; }

class WorkerSlotsShmemTest : public ::testing::Test {
 protected:
  void Init(int num_slots) {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    shmem::RequestSpace(pmsignal::ShmemSize(4));
    shmem::RequestSpace(ShmemSize(num_slots));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    pmsignal::ShmemInit(4);
    ShmemInit(num_slots);
    ASSERT_NE(Array(), nullptr);
  }
  void SetUp() override {
    struct sigaction sa = {};
    sa.sa_handler = CountUsr1;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &saved_usr1_), 0);
    usr1_count = 0;
  }
  void TearDown() override {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    sigaction(SIGUSR1, &saved_usr1_, nullptr);
  }
  std::vector<int> Changed() {
    std::vector<int> seen;
    ForEachChanged([&](int index) { seen.push_back(index); });
    return seen;
  }
  struct sigaction saved_usr1_ = {};
};

TEST_F(WorkerSlotsShmemTest, FreshArrayHasFreeSlotsInsideTheSegment) {
  Init(10);
  EXPECT_EQ(NumSlots(), 10);
  EXPECT_EQ(Array()->total_slots, 10);
  EXPECT_EQ(Array()->bitmap_words, 1);
  auto* lo = static_cast<const char*>(shmem::SegmentAddress());
  const char* hi = lo + shmem::SegmentSize();
  for (int i = 0; i < 10; i++) {
    WorkerSlot* s = Slot(i);
    ASSERT_NE(s, nullptr);
    EXPECT_GE(reinterpret_cast<const char*>(s), lo);
    EXPECT_LE(reinterpret_cast<const char*>(s + 1), hi);
    if (i > 0) {
      EXPECT_EQ(s, Slot(i - 1) + 1);
    }
    EXPECT_FALSE(s->in_use.load());
    EXPECT_FALSE(s->terminate.load());
    EXPECT_EQ(s->pid.load(), kNotStarted);
    EXPECT_EQ(s->generation.load(), 0u);
  }
  EXPECT_EQ(Slot(-1), nullptr);
  EXPECT_EQ(Slot(10), nullptr);
  EXPECT_TRUE(Changed().empty());
}

TEST_F(WorkerSlotsShmemTest, BitmapWordsCoverEverySlot) {
  for (int n : {1, 63, 64, 65, 128, 129}) {
    Init(n);
    EXPECT_EQ(Array()->bitmap_words, (n + 63) / 64) << n;
    EXPECT_EQ(NumSlots(), n);
    // The array does not overlap anything allocated after it.
    bool found = true;
    auto* after = static_cast<unsigned char*>(shmem::InitStruct("after", 64, &found));
    ASSERT_NE(after, nullptr);
    EXPECT_GE(after, reinterpret_cast<unsigned char*>(Slot(n - 1) + 1));
  }
}

TEST_F(WorkerSlotsShmemTest, ShmemInitOnAnExistingArrayKeepsItsContents) {
  Init(4);
  Slot(2)->in_use.store(true);
  Slot(2)->pid.store(1234);
  ShmemInit(4);  // found: e.g. a second caller in the same generation
  EXPECT_TRUE(Slot(2)->in_use.load());
  EXPECT_EQ(Slot(2)->pid.load(), 1234);
}

TEST_F(WorkerSlotsShmemTest, ForEachChangedVisitsExactlyTheMarkedSlotsOnce) {
  Init(130);  // three bitmap words, the last one partly used
  const std::vector<int> marks = {129, 0, 5, 63, 64, 5, 127, 128, 0};
  for (int i : marks) NotifyPostmaster(i);
  EXPECT_GE(usr1_count, 1);
  EXPECT_TRUE(pmsignal::CheckAndClear(pmsignal::Reason::kBackgroundWorkerChange));
  EXPECT_EQ(Changed(), (std::vector<int>{0, 5, 63, 64, 127, 128, 129}));
  EXPECT_TRUE(Changed().empty()) << "marks are cleared by the visit";
  NotifyPostmaster(77);
  EXPECT_EQ(Changed(), std::vector<int>{77});
}

TEST_F(WorkerSlotsShmemTest, EveryOneOfManySlotsCanBeMarked) {
  Init(200);
  for (int i = 199; i >= 0; i--) NotifyPostmaster(i);
  std::vector<int> seen = Changed();
  ASSERT_EQ(seen.size(), 200u);
  for (int i = 0; i < 200; i++) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
}

TEST_F(WorkerSlotsShmemTest, BitsBeyondTheLastSlotAreIgnoredAndCleared) {
  Init(70);  // word 1 holds slots 64..69 and 58 unused bits
  ChangedWords()[1].fetch_or((uint64_t{1} << 10) | (uint64_t{1} << 63) | (uint64_t{1} << 5));
  EXPECT_EQ(Changed(), std::vector<int>{69});
  EXPECT_EQ(ChangedWords()[1].load(), 0u);
}

TEST_F(WorkerSlotsShmemTest, MarksFromChildrenReachThePostmaster) {
  Init(100);
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
  std::vector<pid_t> pids;
  fflush(nullptr);
  for (int c = 0; c < 4; c++) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = c; i < 100; i += 4) NotifyPostmaster(i);
      NotifyPostmaster(99);  // every child marks this one too
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_TRUE(sigismember(&pending, SIGUSR1));
  sigprocmask(SIG_SETMASK, &old, nullptr);
  EXPECT_TRUE(pmsignal::CheckAndClear(pmsignal::Reason::kBackgroundWorkerChange));
  std::vector<int> seen = Changed();
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(std::set<int>(seen.begin(), seen.end()).size(), 100u);
}

// The registrants' lock excludes across processes: a child that wants it
// waits until the parent releases it.
TEST_F(WorkerSlotsShmemTest, RegistrantsLockExcludesOtherProcesses) {
  Init(4);
  WorkerSlot* slot = Slot(0);
  auto held = std::make_optional<RegistrantsLock>();
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    {
      RegistrantsLock lock;
      // Only reached once the parent unlocked.
      slot->generation.fetch_add(1);
    }
    _exit(0);  // not through `held`'s destructor: the parent's lock is not ours
  }
  usleep(100 * 1000);
  EXPECT_EQ(slot->generation.load(), 0u) << "the child got the lock while the parent held it";
  held.reset();
  EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(slot->generation.load(), 1u);
  // Free again.
  { RegistrantsLock lock; }
}

// The guard lets go on every way out of its scope, early returns included
// (the registrant's "no free slot" and "quota used up" paths).
TEST_F(WorkerSlotsShmemTest, RegistrantsLockIsReleasedOnEveryWayOut) {
  Init(4);
  auto claim = [](bool slot_free) -> int {
    RegistrantsLock lock;
    EXPECT_EQ(Array()->reg_lock.load(), 1u);
    if (!slot_free) return -1;
    return 0;
  };
  EXPECT_EQ(claim(false), -1);
  EXPECT_EQ(Array()->reg_lock.load(), 0u);
  EXPECT_EQ(claim(true), 0);
  EXPECT_EQ(Array()->reg_lock.load(), 0u);
}

TEST_F(WorkerSlotsShmemTest, RegistrantsLockSerializesManyProcesses) {
  Init(4);
  WorkerSlot* slot = Slot(1);
  constexpr int kChildren = 4;
  constexpr int kIterations = 2000;
  std::vector<pid_t> pids;
  fflush(nullptr);
  for (int c = 0; c < kChildren; c++) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0; i < kIterations; i++) {
        RegistrantsLock lock;
        // A non-atomic read-modify-write: only correct under the lock.
        uint64_t g = slot->generation.load(std::memory_order_relaxed);
        slot->generation.store(g + 1, std::memory_order_relaxed);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(slot->generation.load(), uint64_t{kChildren} * kIterations);
}

}  // namespace
}  // namespace bgw::bgworker
