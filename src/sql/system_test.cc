// Tests of the system views and control functions (sql/system.h) on an
// in-memory SQLite connection, with shared memory set up in the test
// process and "backends" forked from it: declared column types,
// pg_stat_activity's privilege rules, bgw_workers from the worker slots,
// pg_terminate_backend / pg_cancel_backend signalling and refusing, and the
// superuser checks of the worker and C function entry points.
#include "sql/system.h"
#include "ipc/ipc_testing.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"
#include "ipc/backend_status.h"
#include "ipc/pmsignal.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/latch.h"
#include "workers/worker_slots.h"

namespace bgw::sql::system {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitFor;

constexpr int kSlots = 4;
constexpr int kWorkerSlots = 3;

struct Sync {
  std::atomic<int> ready;
  std::atomic<int> release;
  std::atomic<int> got_sigint;
};
Sync* g_sync = nullptr;
void OnSigint(int) { g_sync->got_sigint.store(1); }

using Rows = std::vector<std::map<std::string, std::string>>;

class SystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_log_ = log::CurrentOptions();
    log::Options o;
    o.min_level = log::Level::kFatal;  // the WARNINGs these tests provoke
    o.to_stderr = false;
    log::Configure(o);
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    shmem::RequestSpace(pmsignal::ShmemSize(kSlots));
    shmem::RequestSpace(proc::ShmemSize(kSlots));
    shmem::RequestSpace(backend_status::ShmemSize(kSlots));
    shmem::RequestSpace(bgworker::ShmemSize(kWorkerSlots));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    pmsignal::ShmemInit(kSlots);  // this process plays the postmaster
    proc::ShmemInit(kSlots);
    backend_status::ShmemInit(kSlots);
    bgworker::ShmemInit(kWorkerSlots);
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    sync_ = new (p) Sync();
    g_sync = sync_;
    info_.database_oid = 5;
    info_.database_name = "postgres";
    info_.role_oid = 10;
    info_.role_name = "admin";
    info_.superuser = true;
    info_.data_dir = "/nonexistent-bgw-test";
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    ASSERT_TRUE(Register(db_, info_).ok());
    (void)TakeFunctionError();
  }
  void TearDown() override {
    sqlite3_close(db_);
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      WaitExit(pid);
    }
    munmap(sync_, 4096);
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    log::Configure(saved_log_);
  }

  // A client backend of role `role` in slot `slot` that runs `query` and
  // waits to be released (or signalled).
  pid_t Backend(int slot, uint32_t role, const char* role_name, const char* query) {
    sync_->ready.store(0);
    fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      alarm(60);
      ResetExitCallbacks();
      MyProcPid = getpid();
      InitializeLatchSupport();
      proc::AttachChild(slot, "client backend", "system_test");
      signal(SIGINT, OnSigint);
      backend_status::BeginClientBackend(slot, "", -1);
      backend_status::ReportConnection(5, "postgres", role, role_name, "psql");
      backend_status::ReportActivity(backend_status::State::kRunning, query);
      sync_->ready.store(1);
      while (sync_->release.load() == 0) usleep(1000);
      ProcExit(0);
    }
    children_.push_back(pid);
    EXPECT_TRUE(WaitFor([&] { return sync_->ready.load() == 1; }));
    return pid;
  }

  void Forget(pid_t pid) { std::erase(children_, pid); }

  Rows Select(const std::string& sql, std::string* error = nullptr) {
    Rows rows;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      if (error) *error = sqlite3_errmsg(db_);
      return rows;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::map<std::string, std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); i++) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row[sqlite3_column_name(st, i)] = t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE && error) *error = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    return rows;
  }

  std::string Scalar(const std::string& sql) {
    std::string error;
    Rows rows = Select(sql, &error);
    if (!error.empty()) return "ERROR: " + error;
    if (rows.empty()) return "(none)";
    return rows[0].begin()->second;
  }

  // Re-registers everything for a session described by `info`.
  void Reconnect(const SessionInfo& info) {
    sqlite3_close(db_);
    info_ = info;
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    ASSERT_TRUE(Register(db_, info_).ok());
  }

  void AsUser(uint32_t role, const char* name) {
    SessionInfo i = info_;
    i.role_oid = role;
    i.role_name = name;
    i.superuser = false;
    Reconnect(i);
  }

  Sync* sync_ = nullptr;
  SessionInfo info_;
  sqlite3* db_ = nullptr;
  std::vector<pid_t> children_;
  log::Options saved_log_;
};

TEST_F(SystemTest, TimestampsPrintLikePostgres) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01 00:00:00+00");
  EXPECT_EQ(FormatTimestamp(1500000), "1970-01-01 00:00:01.5+00");
  EXPECT_EQ(FormatTimestamp(1700000000123456), "2023-11-14 22:13:20.123456+00");
  EXPECT_EQ(FormatTimestamp(1700000000000010), "2023-11-14 22:13:20.00001+00");
}

TEST_F(SystemTest, ViewsDeclarePostgresColumnsAndTypes) {
  struct Case {
    const char* table;
    int columns;
    int probe;
    const char* name;
    const char* decltype_;
  } cases[] = {
      {"pg_stat_activity", 22, 2, "pid", "INT4"},
      {"pg_stat_activity", 22, 10, "backend_start", "TIMESTAMPTZ"},
      {"pg_stat_activity", 22, 0, "datid", "OID"},
      {"pg_stat_activity", 22, 21, "backend_type", "TEXT"},
      {"bgw_workers", 10, 8, "dynamic", "BOOL"},
  };
  for (const Case& c : cases) {
    sqlite3_stmt* st = nullptr;
    std::string sql = std::string("SELECT * FROM ") + c.table;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << c.table;
    EXPECT_EQ(sqlite3_column_count(st), c.columns) << c.table;
    EXPECT_STREQ(sqlite3_column_name(st, c.probe), c.name);
    EXPECT_STREQ(sqlite3_column_decltype(st, c.probe), c.decltype_);
    sqlite3_finalize(st);
  }
}

TEST_F(SystemTest, ViewsAreEponymousOnly) {
  char* err = nullptr;
  EXPECT_NE(
      sqlite3_exec(db_, "CREATE VIRTUAL TABLE t USING pg_stat_activity", nullptr, nullptr, &err),
      SQLITE_OK);
  sqlite3_free(err);
  EXPECT_NE(sqlite3_exec(db_, "DELETE FROM pg_stat_activity", nullptr, nullptr, nullptr),
            SQLITE_OK);
}

TEST_F(SystemTest, StatActivityShowsBackendsAndHidesOtherRolesQueries) {
  pid_t a = Backend(0, 10, "admin", "SELECT secret_of_admin");
  pid_t b = Backend(1, 20, "bob", "SELECT bobs_query");
  Rows rows = Select("SELECT * FROM pg_stat_activity ORDER BY pid");
  ASSERT_EQ(rows.size(), 2u);
  std::map<std::string, std::map<std::string, std::string>> by_pid;
  for (auto& r : rows) by_pid[r["pid"]] = r;
  auto ra = by_pid[std::to_string(a)];
  EXPECT_EQ(ra["query"], "SELECT secret_of_admin");
  EXPECT_EQ(ra["state"], "active");
  EXPECT_EQ(ra["datid"], "5");
  EXPECT_EQ(ra["datname"], "postgres");
  EXPECT_EQ(ra["usename"], "admin");
  EXPECT_EQ(ra["application_name"], "psql");
  EXPECT_EQ(ra["backend_type"], "client backend");
  EXPECT_EQ(ra["client_addr"], "NULL");
  EXPECT_EQ(ra["client_port"], "-1");
  EXPECT_EQ(ra["leader_pid"], "NULL");
  EXPECT_EQ(ra["xact_start"], "NULL");
  EXPECT_NE(ra["backend_start"], "NULL");
  EXPECT_EQ(ra["backend_start"].substr(ra["backend_start"].size() - 3), "+00");

  AsUser(20, "bob");
  rows = Select("SELECT pid, query, state, backend_start, usename FROM pg_stat_activity");
  ASSERT_EQ(rows.size(), 2u);
  for (auto& r : rows) {
    if (r["pid"] == std::to_string(b)) {
      EXPECT_EQ(r["query"], "SELECT bobs_query");
      EXPECT_EQ(r["state"], "active");
    } else {
      EXPECT_EQ(r["query"], "<insufficient privilege>");
      EXPECT_EQ(r["state"], "NULL");
      EXPECT_EQ(r["backend_start"], "NULL");
      EXPECT_EQ(r["usename"], "admin");
    }
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%secret%'"), "0");
}

TEST_F(SystemTest, WorkersViewShowsEverySlotInUse) {
  auto fill = [](int i, const char* name, pid_t pid, uint64_t generation, pid_t notify) {
    bgworker::WorkerSlot* s = bgworker::Slot(i);
    std::memset(&s->worker, 0, sizeof s->worker);
    std::strcpy(s->worker.bgw_name, name);
    std::strcpy(s->worker.bgw_type, "test type");
    std::strcpy(s->worker.bgw_library_name, "bgw_test");
    std::strcpy(s->worker.bgw_function_name, "main_fn");
    s->worker.bgw_restart_time = 5;
    s->worker.bgw_notify_pid = notify;
    s->pid.store(pid);
    s->generation.store(generation);
    s->in_use.store(true);
  };
  fill(0, "static one", 4242, 0, 0);
  fill(2, "dynamic one", bgworker::kNotStarted, 3, 777);
  Rows rows = Select("SELECT * FROM bgw_workers ORDER BY slot");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["slot"], "0");
  EXPECT_EQ(rows[0]["name"], "static one");
  EXPECT_EQ(rows[0]["type"], "test type");
  EXPECT_EQ(rows[0]["library"], "bgw_test");
  EXPECT_EQ(rows[0]["function"], "main_fn");
  EXPECT_EQ(rows[0]["pid"], "4242");
  EXPECT_EQ(rows[0]["state"], "running");
  EXPECT_EQ(rows[0]["restart_seconds"], "5");
  EXPECT_EQ(rows[0]["dynamic"], "0");
  EXPECT_EQ(rows[0]["notify_pid"], "NULL");
  EXPECT_EQ(rows[1]["pid"], "NULL");
  EXPECT_EQ(rows[1]["state"], "starting");
  EXPECT_EQ(rows[1]["dynamic"], "1");
  EXPECT_EQ(rows[1]["notify_pid"], "777");
  bgworker::Slot(0)->pid.store(0);
  EXPECT_EQ(Scalar("SELECT state FROM bgw_workers WHERE slot = 0"), "stopped");
}

TEST_F(SystemTest, TerminateBackendSignalsAServerProcess) {
  pid_t a = Backend(0, 20, "bob", "SELECT 1");
  EXPECT_EQ(Scalar("SELECT pg_terminate_backend(" + std::to_string(a) + ")"), "1");
  EXPECT_EQ(WaitExit(a), 1000 + SIGTERM);
  Forget(a);
}

TEST_F(SystemTest, TerminateOfANonServerProcessWarnsAndReturnsFalse) {
  EXPECT_EQ(Scalar("SELECT pg_terminate_backend(" + std::to_string(getpid()) + ")"), "0");
  EXPECT_EQ(Scalar("SELECT pg_cancel_backend(999999999)"), "0");
  EXPECT_EQ(Scalar("SELECT pg_terminate_backend(NULL)"), "NULL");
  EXPECT_EQ(Scalar("SELECT pg_terminate_backend(1, -5)"),
            "ERROR: \"timeout\" must not be negative");
  EXPECT_EQ(TakeFunctionError()->sqlstate, "22023");
}

TEST_F(SystemTest, NonSuperuserMaySignalOnlyItsOwnRole) {
  pid_t mine = Backend(0, 20, "bob", "SELECT 1");
  pid_t other = Backend(1, 30, "carol", "SELECT 2");
  AsUser(20, "bob");
  EXPECT_EQ(Scalar("SELECT pg_cancel_backend(" + std::to_string(mine) + ")"), "1");
  EXPECT_TRUE(WaitFor([&] { return sync_->got_sigint.load() == 1; }));
  std::string r = Scalar("SELECT pg_terminate_backend(" + std::to_string(other) + ")");
  EXPECT_EQ(r, "ERROR: permission denied to terminate process");
  auto e = TakeFunctionError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->sqlstate, "42501");
  // The catalog is unavailable here, so carol's role reads as a superuser
  // (the stricter answer); either DETAIL names who may do it.
  EXPECT_NE(e->detail.find("may terminate"), std::string::npos) << e->detail;
  r = Scalar("SELECT pg_cancel_backend(" + std::to_string(other) + ")");
  EXPECT_EQ(r, "ERROR: permission denied to cancel query");
  EXPECT_EQ(TakeFunctionError()->sqlstate, "42501");
  EXPECT_EQ(kill(other, 0), 0);  // untouched
}

TEST_F(SystemTest, WorkerControlAndReloadNeedSuperuser) {
  AsUser(20, "bob");
  struct Case {
    const char* sql;
    const char* message;
  } cases[] = {
      {"SELECT bgw_launch_worker('postgres', 'IdleWorkerMain')",
       "must be superuser to launch background workers"},
      {"SELECT bgw_launch_worker('postgres', 'IdleWorkerMain', 0, 'n', 't', -1)",
       "must be superuser to launch background workers"},
      {"SELECT bgw_terminate_worker(1)", "must be superuser to terminate background workers"},
      {"SELECT pg_reload_conf()", "permission denied for function pg_reload_conf"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Scalar(c.sql), std::string("ERROR: ") + c.message) << c.sql;
    auto e = TakeFunctionError();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->sqlstate, "42501");
  }
}

TEST_F(SystemTest, LaunchWorkerValidatesItsArguments) {
  EXPECT_EQ(Scalar("SELECT bgw_launch_worker(NULL, 'f')"), "ERROR: library name must not be null");
  EXPECT_EQ(Scalar("SELECT bgw_launch_worker('lib', 'f', 0, 'n', 't', -2)"),
            "ERROR: restart_seconds must be -1 (never) or at least 0");
  EXPECT_EQ(Scalar("SELECT bgw_launch_worker(printf('%200s', 'x'), 'f')"),
            "ERROR: library name is too long (at most 95 bytes)");
  EXPECT_EQ(TakeFunctionError()->sqlstate, "22023");
  EXPECT_NE(Scalar("SELECT bgw_launch_worker('lib')").find("ERROR"), std::string::npos);
}

TEST_F(SystemTest, TerminateWorkerMarksTheSlotOfThatPid) {
  bgworker::WorkerSlot* s = bgworker::Slot(1);
  std::memset(&s->worker, 0, sizeof s->worker);
  std::strcpy(s->worker.bgw_name, "w");
  s->pid.store(31337);
  s->in_use.store(true);
  // The "postmaster" (this process) is told with SIGUSR1 and a pmsignal.
  sighandler_t saved = signal(SIGUSR1, SIG_IGN);
  (void)pmsignal::CheckAndClear(pmsignal::Reason::kBackgroundWorkerChange);
  EXPECT_EQ(Scalar("SELECT bgw_terminate_worker(31338)"), "0");
  EXPECT_FALSE(s->terminate.load());
  EXPECT_FALSE(pmsignal::CheckAndClear(pmsignal::Reason::kBackgroundWorkerChange));
  EXPECT_EQ(Scalar("SELECT bgw_terminate_worker(31337)"), "1");
  EXPECT_TRUE(s->terminate.load());
  EXPECT_TRUE(pmsignal::CheckAndClear(pmsignal::Reason::kBackgroundWorkerChange));
  signal(SIGUSR1, saved);
}

TEST_F(SystemTest, PgNotifyRejectsBadChannels) {
  EXPECT_EQ(Scalar("SELECT pg_notify(NULL, 'x')"), "ERROR: channel name cannot be empty");
  EXPECT_EQ(TakeFunctionError()->sqlstate, "22023");
  EXPECT_EQ(Scalar("SELECT pg_notify(printf('%70s', 'c'), 'x')"), "ERROR: channel name too long");
  EXPECT_EQ(Scalar("SELECT pg_notify('c', NULL)"), "NULL");
}

TEST_F(SystemTest, CFunctionsNeedSuperuserAndAKnownLanguage) {
  auto lang =
      CreateCFunction(db_, info_, "CREATE FUNCTION f(int) RETURNS int AS 'select 1' LANGUAGE sql");
  ASSERT_FALSE(lang.ok());
  EXPECT_EQ(lang.error().sqlstate, "0A000");
  auto missing = CreateCFunction(
      db_, info_, "CREATE FUNCTION f(int) RETURNS int AS '/nonexistent/lib', 'f' LANGUAGE C");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sqlstate, "58P01");
  auto drop = DropFunction(db_, info_, "DROP FUNCTION nosuch(int)");
  ASSERT_FALSE(drop.ok());
  EXPECT_EQ(drop.error().sqlstate, "42883");
  EXPECT_EQ(drop.error().message, "function nosuch(integer) does not exist");
  EXPECT_TRUE(DropFunction(db_, info_, "DROP FUNCTION IF EXISTS nosuch").ok());
  auto bare = DropFunction(db_, info_, "DROP FUNCTION nosuch");
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().message, "could not find a function named \"nosuch\"");
  AsUser(20, "bob");
  auto denied =
      CreateCFunction(db_, info_, "CREATE FUNCTION f(int) RETURNS int AS 'lib', 'f' LANGUAGE C");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().sqlstate, "42501");
  EXPECT_EQ(denied.error().message, "permission denied for language c");
}

TEST_F(SystemTest, RememberedFunctionThatNoLongerLoadsIsOnlyAWarning) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db_,
                         "CREATE TABLE bgw_c_functions(name TEXT NOT NULL, nargs INTEGER NOT NULL, "
                         "arg_types TEXT NOT NULL, return_type INTEGER NOT NULL, library TEXT "
                         "NOT NULL, symbol TEXT NOT NULL, strict INTEGER NOT NULL, "
                         "PRIMARY KEY(name, nargs));"
                         "INSERT INTO bgw_c_functions VALUES ('gone', 1, '23', 23, "
                         "'/nonexistent/lib', 'gone', 1)",
                         nullptr, nullptr, &err),
            SQLITE_OK)
      << err;
  EXPECT_TRUE(Register(db_, info_).ok());
  EXPECT_NE(Scalar("SELECT gone(1)").find("no such function"), std::string::npos);
}

}  // namespace
}  // namespace bgw::sql::system
