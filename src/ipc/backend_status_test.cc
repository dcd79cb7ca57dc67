// Tests of the backend status array (ipc/backend_status.h): entries forked
// children publish are seen by other processes, readers never see a torn
// entry while the owner keeps rewriting it, cancel keys are checked, and an
// entry disappears when its owner exits.
#include "ipc/backend_status.h"
#include "ipc/ipc_testing.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <string>

#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/storage/latch.h"

namespace bgw::backend_status {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitFor;

constexpr int kSlots = 4;

struct Sync {
  std::atomic<int> ready;
  std::atomic<int> release;
  std::atomic<uint32_t> key;
  std::atomic<int> got_sigint;
};

Sync* g_sync = nullptr;

void OnSigint(int) { g_sync->got_sigint.store(1); }

class BackendStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    shmem::RequestSpace(proc::ShmemSize(kSlots));
    shmem::RequestSpace(ShmemSize(kSlots));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    proc::ShmemInit(kSlots);
    ShmemInit(kSlots);
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    sync_ = new (p) Sync();
    g_sync = sync_;
  }
  void TearDown() override {
    munmap(sync_, 4096);
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
  }

  // Forks a child that attaches proc slot `slot` and runs body(); the child
  // exits through ProcExit with body's result.
  template <typename F>
  pid_t Child(int slot, F&& body) {
    return bgw::testing::ForkChild([&]() -> int {
      ResetExitCallbacks();
      MyProcPid = getpid();
      InitializeLatchSupport();
      proc::AttachChild(slot, "test", "backend_status_test");
      ProcExit(body());
    });
  }

  Sync* sync_ = nullptr;
};

TEST_F(BackendStatusTest, StateNamesArePostgresOnes) {
  EXPECT_EQ(StateName(State::kUndefined), nullptr);
  EXPECT_STREQ(StateName(State::kIdle), "idle");
  EXPECT_STREQ(StateName(State::kRunning), "active");
  EXPECT_STREQ(StateName(State::kIdleInTransaction), "idle in transaction");
  EXPECT_STREQ(StateName(State::kIdleInTransactionAborted), "idle in transaction (aborted)");
  EXPECT_STREQ(StateName(State::kFastpath), "fastpath function call");
  EXPECT_STREQ(StateName(State::kDisabled), "disabled");
}

TEST_F(BackendStatusTest, EmptyArrayHasNoEntries) {
  EXPECT_TRUE(Snapshot().empty());
  EXPECT_FALSE(Find(getpid()).has_value());
  EXPECT_FALSE(Find(0).has_value());
  EXPECT_FALSE(SignalCancel(getpid(), 1));
  EXPECT_EQ(CountBackendsInDatabase(5), 0);
  EXPECT_FALSE(Attached());
}

TEST_F(BackendStatusTest, ClientEntryIsVisibleToOthersAndGoneAfterExit) {
  pid_t pid = Child(2, [&] {
    uint32_t key = BeginClientBackend(2, "127.0.0.1", 54321);
    if (!Attached() || key == 0) return 2;
    ReportConnection(5, "postgres", 10, "alice", "psql");
    ReportTransactionStart(123);
    ReportActivity(State::kRunning, "SELECT 1");
    sync_->key.store(key);
    sync_->ready.store(1);
    while (sync_->release.load() == 0) usleep(1000);
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->ready.load() == 1; }));
  int64_t before = NowMicros();
  std::optional<Entry> e = Find(pid);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->pid, pid);
  EXPECT_EQ(e->child_slot, 2);
  EXPECT_EQ(e->backend_type, "client backend");
  EXPECT_EQ(e->database_oid, 5u);
  EXPECT_EQ(e->database_name, "postgres");
  EXPECT_EQ(e->role_oid, 10u);
  EXPECT_EQ(e->role_name, "alice");
  EXPECT_EQ(e->application_name, "psql");
  EXPECT_EQ(e->client_addr, "127.0.0.1");
  EXPECT_EQ(e->client_port, 54321);
  EXPECT_EQ(e->state, State::kRunning);
  EXPECT_EQ(e->query, "SELECT 1");
  EXPECT_EQ(e->xact_start, 123);
  EXPECT_GT(e->backend_start, 0);
  EXPECT_LE(e->backend_start, before);
  EXPECT_GE(e->query_start, e->backend_start);
  EXPECT_EQ(e->state_change, e->query_start);
  ASSERT_EQ(Snapshot().size(), 1u);
  EXPECT_EQ(CountBackendsInDatabase(5), 1);
  EXPECT_EQ(CountOtherBackendsInDatabase(5), 1);  // the caller is not that backend
  EXPECT_EQ(CountBackendsInDatabase(6), 0);
  EXPECT_EQ(CountBackendsOfRole(10), 1);
  EXPECT_EQ(CountBackendsOfRole(11), 0);
  sync_->release.store(1);
  EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_FALSE(Find(pid).has_value());
  EXPECT_TRUE(Snapshot().empty());
}

TEST_F(BackendStatusTest, WorkerEntryHasItsTypeAndReportsActivityThroughPgstat) {
  pid_t pid = Child(1, [&] {
    BeginWorker(1, "my worker type");
    pgstat_report_activity(STATE_RUNNING, "working");
    sync_->ready.store(1);
    while (sync_->release.load() == 0) usleep(1000);
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->ready.load() == 1; }));
  std::optional<Entry> e = Find(pid);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->backend_type, "my worker type");
  EXPECT_EQ(e->state, State::kRunning);
  EXPECT_EQ(e->query, "working");
  EXPECT_EQ(e->client_port, -1);
  // Workers are not client backends: no cancel key, not counted.
  EXPECT_FALSE(SignalCancel(pid, 0));
  EXPECT_EQ(CountBackendsInDatabase(0), 0);
  sync_->release.store(1);
  EXPECT_EQ(WaitExit(pid), 0);
}

TEST_F(BackendStatusTest, CancelNeedsTheRightKey) {
  pid_t pid = Child(0, [&] {
    signal(SIGINT, OnSigint);
    sync_->key.store(BeginClientBackend(0, "", -1));
    sync_->ready.store(1);
    while (sync_->release.load() == 0) usleep(1000);
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->ready.load() == 1; }));
  uint32_t key = sync_->key.load();
  EXPECT_FALSE(SignalCancel(pid, key + 1));
  EXPECT_FALSE(SignalCancel(pid + 100000, key));
  usleep(20000);
  EXPECT_EQ(sync_->got_sigint.load(), 0);
  EXPECT_TRUE(SignalCancel(pid, key));
  EXPECT_TRUE(WaitFor([&] { return sync_->got_sigint.load() == 1; }));
  sync_->release.store(1);
  EXPECT_EQ(WaitExit(pid), 0);
}

TEST_F(BackendStatusTest, CancelKeysDifferBetweenBackends) {
  std::set<uint32_t> keys;
  for (int i = 0; i < 3; i++) {
    sync_->ready.store(0);
    sync_->release.store(0);
    pid_t pid = Child(i, [&] {
      sync_->key.store(BeginClientBackend(i, "", -1));
      sync_->ready.store(1);
      while (sync_->release.load() == 0) usleep(1000);
      return 0;
    });
    ASSERT_TRUE(WaitFor([&] { return sync_->ready.load() == 1; }));
    keys.insert(sync_->key.load());
    sync_->release.store(1);
    EXPECT_EQ(WaitExit(pid), 0);
  }
  EXPECT_EQ(keys.size(), 3u);
}

TEST_F(BackendStatusTest, LongQueryIsCutAtACharacterBoundary) {
  std::string query(kMaxQueryLen - 1, 'x');
  query += "\xC3\xA9\xC3\xA9";  // é é: the limit falls inside the first
  pid_t pid = Child(3, [&] {
    BeginClientBackend(3, "", -1);
    ReportActivity(State::kRunning, query.c_str());
    sync_->ready.store(1);
    while (sync_->release.load() == 0) usleep(1000);
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->ready.load() == 1; }));
  std::optional<Entry> e = Find(pid);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->query, std::string(kMaxQueryLen - 1, 'x'));
  sync_->release.store(1);
  EXPECT_EQ(WaitExit(pid), 0);
}

TEST_F(BackendStatusTest, NullQueryKeepsTheTextAndStateChangeMoves) {
  pid_t pid = Child(1, [&] {
    BeginClientBackend(1, "", -1);
    ReportActivity(State::kRunning, "SELECT 42");
    usleep(2000);
    ReportActivity(State::kIdle, nullptr);
    sync_->ready.store(1);
    while (sync_->release.load() == 0) usleep(1000);
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->ready.load() == 1; }));
  std::optional<Entry> e = Find(pid);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->state, State::kIdle);
  EXPECT_EQ(e->query, "SELECT 42");
  EXPECT_GT(e->state_change, e->query_start);
  sync_->release.store(1);
  EXPECT_EQ(WaitExit(pid), 0);
}

// The owner rewrites its entry as fast as it can with fields that must agree
// with each other; a reader that ever saw a mix of two updates would find
// them disagreeing.
TEST_F(BackendStatusTest, ConcurrentReaderNeverSeesATornEntry) {
  pid_t pid = Child(0, [&] {
    BeginClientBackend(0, "", -1);
    sync_->ready.store(1);
    char buf[64];
    for (uint32_t n = 1; sync_->release.load() == 0; n++) {
      std::snprintf(buf, sizeof buf, "%u", n);
      ReportConnection(n, buf, n, buf, std::string(n % 50, 'a'));
      ReportActivity(n % 2 ? State::kRunning : State::kIdle, buf);
    }
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->ready.load() == 1; }));
  int checked = 0;
  for (int i = 0; i < 20000; i++) {
    std::optional<Entry> e = Find(pid);
    ASSERT_TRUE(e.has_value());
    if (e->database_oid == 0) continue;
    std::string n = std::to_string(e->database_oid);
    ASSERT_EQ(e->database_name, n);
    ASSERT_EQ(e->role_oid, e->database_oid);
    ASSERT_EQ(e->role_name, n);
    ASSERT_EQ(e->application_name.size(), e->database_oid % 50);
    checked++;
  }
  sync_->release.store(1);
  EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_GT(checked, 0);
}

TEST_F(BackendStatusTest, BeginOutsideTheArrayIsIgnored) {
  BeginWorker(kSlots, "nope");
  EXPECT_FALSE(Attached());
  BeginWorker(-1, "nope");
  EXPECT_FALSE(Attached());
  ReportActivity(State::kRunning, "x");  // no entry: nothing happens
  EXPECT_TRUE(Snapshot().empty());
}

}  // namespace
}  // namespace bgw::backend_status
