// Tests for the SQL engine on a temporary database file: types, command
// tags, transactions, settings, errors, parameters, portals, interrupts.
#include "sql/session.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "guc/guc.h"
#include "guc/settings.h"
#include "ipc/addin_shmem.h"
#include "ipc/backend_status.h"
#include "ipc/lwlock.h"
#include "ipc/notify.h"
#include "ipc/proc.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "sql/session_internal.h"
#include "storage/catalog.h"

namespace bgw::sql {
namespace {

class CollectingSink : public RowSink {
 public:
  Status Row(std::span<const Value> values) override {
    rows.emplace_back(values.begin(), values.end());
    return Status::Ok();
  }
  std::vector<std::vector<Value>> rows;
};

struct Outcome {
  bool ok = true;
  ErrorReport error;
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> rows;  // text format, "NULL" for null
  std::string tag;
};

class SqlSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    guc::DefineBuiltinSettings();
    guc::DefineSessionSettings();
    dir_ = std::filesystem::temp_directory_path() /
           ("bgw_sql_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    session_ = OpenSession(true);
  }
  void TearDown() override {
    session_.reset();
    // Settings are process-global; leave them as a new session expects.
    for (const char* name : {"statement_timeout", "application_name", "DateStyle", "TimeZone",
                             "search_path", "extra_float_digits"}) {
      (void)guc::ResetOption(name);
      (void)guc::SetOption(name, guc::ShowValue(name), guc::Context::kSuset, guc::Source::kSession);
      (void)guc::ResetOption(name);
    }
    QueryCancelPending = 0;
    ProcDiePending = 0;
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Session> OpenSession(
      bool superuser, std::vector<std::pair<std::string, std::string>> startup = {}) {
    SessionInfo info;
    info.database_oid = 5;
    info.database_name = "postgres";
    info.database_path = (dir_ / "db.sqlite").string();
    info.role_oid = 10;
    info.role_name = superuser ? "admin" : "alice";
    info.superuser = superuser;
    info.data_dir = dir_.string();
    info.startup_settings = std::move(startup);
    Result<std::unique_ptr<Session>> s = Session::Open(info);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(s.value()) : nullptr;
  }

  // One statement through Parse/Bind/Describe/Execute, like libpq's
  // extended protocol; errors go through AfterError.
  Outcome Exec(Session& s, const std::string& sql, std::vector<Value> params = {},
               std::vector<uint32_t> types = {}) {
    Outcome o;
    auto fail = [&](const ErrorReport& e) {
      o.ok = false;
      o.error = e;
      s.AfterError();
      return o;
    };
    Result<std::shared_ptr<Statement>> st = s.Prepare(sql, types);
    if (!st.ok()) return fail(st.error());
    Result<std::unique_ptr<Portal>> p = s.Bind(*st, std::move(params));
    if (!p.ok()) return fail(p.error());
    Result<std::vector<Column>> cols = (*p)->Describe();
    if (!cols.ok()) return fail(cols.error());
    o.columns = *cols;
    CollectingSink sink;
    Result<ExecuteResult> r = (*p)->Execute(0, sink);
    if (!r.ok()) return fail(r.error());
    o.tag = r->command_tag;
    for (const auto& row : sink.rows) {
      std::vector<std::string> text;
      for (size_t k = 0; k < row.size(); ++k) {
        text.push_back(row[k].is_null() ? "NULL" : FormatText(row[k], o.columns[k].type_oid));
      }
      o.rows.push_back(text);
    }
    return o;
  }

  // A simple query: every statement, then Sync (or AfterError at the first
  // failure). Returns the last statement's outcome or the failure.
  Outcome Simple(Session& s, const std::string& query) {
    Outcome last;
    for (const std::string& stmt : Session::SplitStatements(query)) {
      last = Exec(s, stmt);
      if (!last.ok) {
        EXPECT_TRUE(s.Sync().ok());
        return last;
      }
    }
    Status st = s.Sync();
    if (!st.ok()) {
      last.ok = false;
      last.error = st.error();
    }
    return last;
  }
  Outcome Simple(const std::string& query) { return Simple(*session_, query); }

  std::filesystem::path dir_;
  std::unique_ptr<Session> session_;
};

TEST_F(SqlSessionTest, SelectOne) {
  Outcome o = Simple("SELECT 1");
  ASSERT_TRUE(o.ok) << o.error.message;
  ASSERT_EQ(o.columns.size(), 1u);
  EXPECT_EQ(o.columns[0].name, "?column?");
  EXPECT_EQ(o.columns[0].type_oid, oid::kInt4);
  EXPECT_EQ(o.columns[0].type_len, 4);
  EXPECT_EQ(o.rows, (std::vector<std::vector<std::string>>{{"1"}}));
  EXPECT_EQ(o.tag, "SELECT 1");
  EXPECT_EQ(session_->TransactionStatus(), 'I');
}

TEST_F(SqlSessionTest, EmptyQuery) {
  Result<std::shared_ptr<Statement>> st = session_->Prepare("  -- nothing\n", {});
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE((*st)->empty());
  EXPECT_TRUE(Session::SplitStatements(" ; ").empty());
}

TEST_F(SqlSessionTest, TypesFromDeclarationsCastsAndValues) {
  ASSERT_TRUE(Simple("CREATE TABLE t (i INTEGER, s SMALLINT, n INT, b BOOLEAN, r REAL, "
                     "d DOUBLE PRECISION, v VARCHAR(10), x TEXT, y BYTEA, m NUMERIC(5,2), "
                     "ts TIMESTAMPTZ)")
                  .ok);
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (1, 2, 3, true, 1.5, 0.1, 'v', 'x', X'0102', 2.5, "
                     "'2024-01-02 03:04:05+00')")
                  .ok);
  Outcome o = Simple("SELECT * FROM t");
  ASSERT_TRUE(o.ok) << o.error.message;
  std::vector<uint32_t> types;
  for (const Column& c : o.columns) types.push_back(c.type_oid);
  EXPECT_EQ(types, (std::vector<uint32_t>{oid::kInt8, oid::kInt2, oid::kInt4, oid::kBool,
                                          oid::kFloat8, oid::kFloat8, oid::kVarchar, oid::kText,
                                          oid::kBytea, oid::kNumeric, oid::kTimestamptz}));
  EXPECT_EQ(o.rows[0], (std::vector<std::string>{"1", "2", "3", "t", "1.5", "0.1", "v", "x",
                                                 "\\x0102", "2.5", "2024-01-02 03:04:05+00"}));
  o = Simple("SELECT i::text, '7'::int8, count(*), sum(d), max(x) FROM t");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.columns[0].name, "i");
  EXPECT_EQ(o.columns[0].type_oid, oid::kText);
  EXPECT_EQ(o.columns[1].type_oid, oid::kInt8);
  EXPECT_EQ(o.columns[2].name, "count");
  EXPECT_EQ(o.columns[2].type_oid, oid::kInt8);
  EXPECT_EQ(o.columns[3].type_oid, oid::kFloat8);  // from the value
  EXPECT_EQ(o.columns[4].type_oid, oid::kText);
  EXPECT_EQ(o.rows[0], (std::vector<std::string>{"1", "7", "1", "0.1", "x"}));
  o = Simple("SELECT 1 = 1, 'a' || 'b', NULL");
  EXPECT_EQ(o.columns[0].type_oid, oid::kBool);
  EXPECT_EQ(o.rows[0], (std::vector<std::string>{"t", "ab", "NULL"}));
}

TEST_F(SqlSessionTest, CastErrorsArePostgresErrors) {
  Outcome o = Simple("SELECT 'abc'::int");
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.error.sqlstate, "22P02");
  EXPECT_EQ(o.error.message, "invalid input syntax for type integer: \"abc\"");
  o = Simple("SELECT 3000000000::int4");
  EXPECT_EQ(o.error.sqlstate, "22003");
  o = Simple("SELECT 'yes'::boolean, 2.5::int, 3.5::int");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.rows[0], (std::vector<std::string>{"t", "2", "4"}));
}

TEST_F(SqlSessionTest, CommandTags) {
  EXPECT_EQ(Simple("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)").tag, "CREATE TABLE");
  EXPECT_EQ(Simple("CREATE UNIQUE INDEX a_v ON a(v)").tag, "CREATE INDEX");
  EXPECT_EQ(Simple("INSERT INTO a(v) VALUES ('x'), ('y')").tag, "INSERT 0 2");
  EXPECT_EQ(Simple("UPDATE a SET v = v || '!'").tag, "UPDATE 2");
  Outcome o = Simple("INSERT INTO a(v) VALUES ('z') RETURNING id, v");
  EXPECT_EQ(o.tag, "INSERT 0 1");
  EXPECT_EQ(o.rows, (std::vector<std::vector<std::string>>{{"3", "z"}}));
  EXPECT_EQ(o.columns[0].name, "id");
  EXPECT_EQ(Simple("DELETE FROM a WHERE id > 1").tag, "DELETE 2");
  EXPECT_EQ(Simple("SELECT * FROM a").tag, "SELECT 1");
  EXPECT_EQ(Simple("TRUNCATE a").tag, "TRUNCATE TABLE");
  EXPECT_EQ(Simple("SELECT count(*) FROM a").rows[0][0], "0");
  EXPECT_EQ(Simple("CREATE VIEW av AS SELECT v FROM a").tag, "CREATE VIEW");
  EXPECT_EQ(Simple("DROP VIEW av").tag, "DROP VIEW");
  EXPECT_EQ(Simple("ALTER TABLE a ADD COLUMN w INT").tag, "ALTER TABLE");
  EXPECT_EQ(Simple("DROP TABLE IF EXISTS a").tag, "DROP TABLE");
  ASSERT_TRUE(Simple("CREATE TABLE b1 (x INT); CREATE TABLE b2 (x INT)").ok);
  EXPECT_EQ(Simple("DROP TABLE IF EXISTS b1, b2, b3 CASCADE").tag, "DROP TABLE");
  EXPECT_EQ(Simple("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                   "name NOT LIKE 'bgw_catalog_%'")
                .rows[0][0],
            "0");
  EXPECT_EQ(Simple("DROP TABLE b1, b2").error.sqlstate, "42P01");
  EXPECT_EQ(Simple("VACUUM").tag, "VACUUM");
  EXPECT_EQ(Simple("BEGIN; VACUUM").error.sqlstate, "25001");
  EXPECT_EQ(session_->TransactionStatus(), 'E');
  ASSERT_TRUE(Simple("ROLLBACK").ok);
  EXPECT_EQ(Simple("WITH x AS (SELECT 1 AS n) SELECT n FROM x").tag, "SELECT 1");
}

TEST_F(SqlSessionTest, ImplicitMultiStatementQueryIsAtomic) {
  ASSERT_TRUE(Simple("CREATE TABLE t (id INTEGER PRIMARY KEY)").ok);
  Outcome o = Simple("INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)");
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.error.sqlstate, "23505");
  EXPECT_EQ(o.error.message, "duplicate key value violates unique constraint \"t_pkey\"");
  EXPECT_EQ(Simple("SELECT count(*) FROM t").rows[0][0], "0");
  EXPECT_EQ(session_->TransactionStatus(), 'I');
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)").ok);
  EXPECT_EQ(Simple("SELECT count(*) FROM t").rows[0][0], "2");
}

TEST_F(SqlSessionTest, ExplicitBlockAndFailedState) {
  ASSERT_TRUE(Simple("CREATE TABLE t (id INTEGER PRIMARY KEY)").ok);
  EXPECT_EQ(Simple("BEGIN").tag, "BEGIN");
  EXPECT_EQ(session_->TransactionStatus(), 'T');
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (1)").ok);
  Outcome o = Simple("SELECT * FROM nosuch");
  EXPECT_EQ(o.error.sqlstate, "42P01");
  EXPECT_EQ(o.error.message, "relation \"nosuch\" does not exist");
  EXPECT_EQ(session_->TransactionStatus(), 'E');
  o = Simple("SELECT 1");
  EXPECT_EQ(o.error.sqlstate, "25P02");
  EXPECT_EQ(o.error.message,
            "current transaction is aborted, commands ignored until end of transaction block");
  EXPECT_EQ(Simple("COMMIT").tag, "ROLLBACK");
  EXPECT_EQ(session_->TransactionStatus(), 'I');
  EXPECT_EQ(Simple("SELECT count(*) FROM t").rows[0][0], "0");

  ASSERT_TRUE(Simple("BEGIN; INSERT INTO t VALUES (5)").ok);
  EXPECT_EQ(session_->TransactionStatus(), 'T');
  EXPECT_EQ(Simple("END").tag, "COMMIT");
  EXPECT_EQ(Simple("SELECT count(*) FROM t").rows[0][0], "1");

  ASSERT_TRUE(Simple("START TRANSACTION ISOLATION LEVEL SERIALIZABLE").ok);
  ASSERT_TRUE(Simple("DELETE FROM t").ok);
  EXPECT_EQ(Simple("ROLLBACK").tag, "ROLLBACK");
  EXPECT_EQ(Simple("SELECT count(*) FROM t").rows[0][0], "1");
}

TEST_F(SqlSessionTest, Savepoints) {
  ASSERT_TRUE(Simple("CREATE TABLE t (id INTEGER PRIMARY KEY)").ok);
  ASSERT_TRUE(Simple("BEGIN; INSERT INTO t VALUES (1); SAVEPOINT sp").ok);
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (2)").ok);
  EXPECT_FALSE(Simple("INSERT INTO t VALUES (2)").ok);
  EXPECT_EQ(session_->TransactionStatus(), 'E');
  EXPECT_EQ(Simple("ROLLBACK TO SAVEPOINT sp").tag, "ROLLBACK");
  EXPECT_EQ(session_->TransactionStatus(), 'T');
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (3); RELEASE sp").ok);
  Outcome o = Simple("RELEASE SAVEPOINT nosuch");
  EXPECT_EQ(o.error.sqlstate, "3B001");
  EXPECT_EQ(Simple("ROLLBACK").tag, "ROLLBACK");
  ASSERT_TRUE(Simple("BEGIN; INSERT INTO t VALUES (1); SAVEPOINT a; INSERT INTO t VALUES (2); "
                     "ROLLBACK TO a; COMMIT")
                  .ok);
  EXPECT_EQ(Simple("SELECT group_concat(id) FROM t").rows[0][0], "1");
  o = Simple("SAVEPOINT x");
  EXPECT_EQ(o.error.sqlstate, "25P01");
}

TEST_F(SqlSessionTest, CommitAndRollbackEndAnImplicitTransaction) {
  ASSERT_TRUE(Simple("CREATE TABLE t (n INT)").ok);
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (1); ROLLBACK; INSERT INTO t VALUES (2)").ok);
  EXPECT_EQ(Simple("SELECT group_concat(n) FROM t").rows[0][0], "2");
  // COMMIT commits what came before even if a later statement fails.
  EXPECT_FALSE(Simple("INSERT INTO t VALUES (3); COMMIT; SELECT * FROM nosuch").ok);
  EXPECT_EQ(Simple("SELECT group_concat(n) FROM t").rows[0][0], "2,3");
  EXPECT_EQ(session_->TakeNotices().size(), 2u);
}

TEST_F(SqlSessionTest, TransactionWarningsAreNotices) {
  EXPECT_EQ(Simple("COMMIT").tag, "COMMIT");
  std::vector<ErrorReport> n = session_->TakeNotices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].severity, "WARNING");
  EXPECT_EQ(n[0].message, "there is no transaction in progress");
  ASSERT_TRUE(Simple("BEGIN").ok);
  ASSERT_TRUE(Simple("BEGIN").ok);
  n = session_->TakeNotices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].message, "there is already a transaction in progress");
  ASSERT_TRUE(Simple("ROLLBACK").ok);
}

TEST_F(SqlSessionTest, SetShowReset) {
  Outcome o = Simple("SHOW server_version");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.columns[0].name, "server_version");
  EXPECT_EQ(o.rows[0][0], "15.0 (bgworker)");
  EXPECT_EQ(o.tag, "SHOW");
  EXPECT_EQ(Simple("SET statement_timeout = 1500").tag, "SET");
  EXPECT_EQ(guc::statement_timeout, 1500);
  EXPECT_EQ(Simple("SHOW statement_timeout").rows[0][0], "1500ms");
  EXPECT_EQ(Simple("SET statement_timeout TO '2s'").tag, "SET");
  EXPECT_EQ(guc::statement_timeout, 2000);
  EXPECT_EQ(Simple("RESET statement_timeout").tag, "RESET");
  EXPECT_EQ(guc::statement_timeout, 0);
  o = Simple("SHOW datestyle");
  EXPECT_EQ(o.columns[0].name, "DateStyle");
  EXPECT_EQ(o.rows[0][0], "ISO, MDY");
  session_->TakeReportedSettings();
  ASSERT_TRUE(Simple("SET application_name = 'psql-test'").ok);
  auto reports = session_->TakeReportedSettings();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], (std::pair<std::string, std::string>{"application_name", "psql-test"}));
  ASSERT_TRUE(Simple("SET TIME ZONE 'Europe/Paris'").ok);
  EXPECT_EQ(Simple("SHOW TIME ZONE").rows[0][0], "Europe/Paris");
  ASSERT_TRUE(Simple("SET search_path TO public, \"$user\"").ok);
  o = Simple("SET nosuch = 1");
  EXPECT_EQ(o.error.sqlstate, "42704");
  EXPECT_EQ(o.error.message, "unrecognized configuration parameter \"nosuch\"");
  EXPECT_EQ(Simple("SHOW nosuch").error.sqlstate, "42704");
  EXPECT_EQ(Simple("SET server_version = '1'").error.sqlstate, "55P02");
  EXPECT_EQ(Simple("SET client_encoding = 'LATIN1'").error.sqlstate, "22023");
  ASSERT_TRUE(Simple("SET client_encoding = 'utf-8'").ok);
  ASSERT_TRUE(Simple("SET NAMES 'UTF8'").ok);
  ASSERT_TRUE(Simple("SET SCHEMA 'public'").ok);
  EXPECT_EQ(Simple("SHOW search_path").rows[0][0], "public");
  EXPECT_EQ(Simple("SHOW client_encoding").rows[0][0], "UTF8");
  o = Simple("SHOW ALL");
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(o.columns.size(), 3u);
  EXPECT_GT(o.rows.size(), 10u);
}

TEST_F(SqlSessionTest, SetIsTransactional) {
  ASSERT_TRUE(Simple("BEGIN; SET extra_float_digits = 3; ROLLBACK").ok);
  EXPECT_EQ(guc::extra_float_digits, 1);
  ASSERT_TRUE(Simple("BEGIN; SET LOCAL extra_float_digits = 2").ok);
  EXPECT_EQ(guc::extra_float_digits, 2);
  ASSERT_TRUE(Simple("COMMIT").ok);
  EXPECT_EQ(guc::extra_float_digits, 1);
  ASSERT_TRUE(Simple("BEGIN; SET extra_float_digits = 0; COMMIT").ok);
  EXPECT_EQ(guc::extra_float_digits, 0);
  ASSERT_TRUE(Simple("RESET ALL").ok);
  EXPECT_EQ(guc::extra_float_digits, 1);
}

TEST_F(SqlSessionTest, StartupSettingsAndInitialReports) {
  session_.reset();
  session_ = OpenSession(false, {{"DateStyle", "ISO, DMY"}});
  ASSERT_NE(session_, nullptr);
  auto initial = session_->InitialReportedSettings();
  std::map<std::string, std::string> m(initial.begin(), initial.end());
  EXPECT_EQ(m["DateStyle"], "ISO, DMY");
  EXPECT_EQ(m["server_encoding"], "UTF8");
  EXPECT_EQ(m["integer_datetimes"], "on");
  EXPECT_EQ(m["is_superuser"], "off");
  EXPECT_EQ(m["session_authorization"], "alice");
  EXPECT_EQ(m["standard_conforming_strings"], "on");
  (void)guc::ResetOption("DateStyle");
}

TEST_F(SqlSessionTest, ErrorMapping) {
  ASSERT_TRUE(Simple("CREATE TABLE p (id INTEGER PRIMARY KEY); "
                     "CREATE TABLE c (pid INTEGER REFERENCES p(id), v TEXT NOT NULL, "
                     "n INT CHECK (n > 0))")
                  .ok);
  EXPECT_EQ(Simple("SELEC 1").error.sqlstate, "42601");
  EXPECT_EQ(Simple("SELEC 1").error.message, "syntax error at or near \"SELEC\"");
  EXPECT_EQ(Simple("SELECT nosuch FROM p").error.sqlstate, "42703");
  EXPECT_EQ(Simple("SELECT nosuchfn()").error.sqlstate, "42883");
  EXPECT_EQ(Simple("CREATE TABLE p (x INT)").error.sqlstate, "42P07");
  EXPECT_EQ(Simple("INSERT INTO c VALUES (1, 'x', 1)").error.sqlstate, "23503");
  Outcome o = Simple("INSERT INTO c VALUES (NULL, NULL, 1)");
  EXPECT_EQ(o.error.sqlstate, "23502");
  EXPECT_EQ(o.error.message,
            "null value in column \"v\" of relation \"c\" violates not-null constraint");
  EXPECT_EQ(Simple("INSERT INTO c VALUES (NULL, 'x', 0)").error.sqlstate, "23514");
  EXPECT_EQ(Simple("SELECT 'abc").error.sqlstate, "42601");
  EXPECT_EQ(Simple("COPY p FROM STDIN").error.sqlstate, "0A000");
  Result<std::shared_ptr<Statement>> st = session_->Prepare("SELECT 1; SELECT 2", {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().sqlstate, "42601");
}

TEST_F(SqlSessionTest, TranslateSqliteErrorBusy) {
  ErrorReport e = internal::TranslateSqliteError(5 /* SQLITE_BUSY */, 517 /* BUSY_SNAPSHOT */,
                                                 "database is locked");
  EXPECT_EQ(e.sqlstate, "40001");
  e = internal::TranslateSqliteError(5, 5, "database is locked");
  EXPECT_EQ(e.sqlstate, "55P03");
  e = internal::TranslateSqliteError(1, 1, "something odd");
  EXPECT_EQ(e.sqlstate, "XX000");
  EXPECT_EQ(e.message, "something odd");
}

TEST_F(SqlSessionTest, ParametersTextAndBinary) {
  ASSERT_TRUE(Simple("CREATE TABLE t (id INTEGER, name TEXT, f DOUBLE PRECISION)").ok);
  // Text-format parameters with declared types, as psycopg sends them.
  Outcome o = Exec(*session_, "INSERT INTO t VALUES ($1, $2, $3)",
                   {*ParseText("42", oid::kInt8), *ParseText("bob", oid::kText),
                    *ParseText("2.5", oid::kFloat8)},
                   {oid::kInt8, oid::kText, oid::kFloat8});
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.tag, "INSERT 0 1");
  // Binary-format parameter.
  std::string be = {0, 0, 0, 0, 0, 0, 0, 42};
  Value id = *ParseBinary({reinterpret_cast<const uint8_t*>(be.data()), be.size()}, oid::kInt8);
  o = Exec(*session_, "SELECT name, f FROM t WHERE id = $1", {id}, {oid::kInt8});
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.rows, (std::vector<std::vector<std::string>>{{"bob", "2.5"}}));
  // Untyped (text) parameter compared with an integer column.
  o = Exec(*session_, "SELECT count(*) FROM t WHERE id = $1", {Value::Text("42")});
  EXPECT_EQ(o.rows[0][0], "1");
  ASSERT_TRUE(session_->Sync().ok());
  // Types inferred from casts; text when unknown.
  Result<std::shared_ptr<Statement>> st =
      session_->Prepare("SELECT $1::int4, $2 FROM t WHERE id = $3", {});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)->param_types(), (std::vector<uint32_t>{oid::kInt4, oid::kText, oid::kText}));
  // Wrong count.
  Result<std::unique_ptr<Portal>> p = session_->Bind(*st, {Value::Int(1)});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().sqlstate, "08P01");
  // Statement-level describe without executing.
  std::vector<Column> cols = (*st)->DescribeColumns();
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].type_oid, oid::kInt4);
  EXPECT_EQ(cols[1].type_oid, oid::kText);
  session_->AfterError();
  ASSERT_TRUE(session_->Sync().ok());
}

TEST_F(SqlSessionTest, PostgresStyleTables) {
  ASSERT_TRUE(Simple("CREATE TABLE t (id serial PRIMARY KEY, at TIMESTAMPTZ DEFAULT now(), "
                     "who TEXT DEFAULT current_user, ok BOOLEAN DEFAULT true)")
                  .ok);
  Outcome o = Simple("INSERT INTO t DEFAULT VALUES RETURNING id, who, ok");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.rows, (std::vector<std::vector<std::string>>{{"1", "admin", "t"}}));
  EXPECT_EQ(o.columns[2].type_oid, oid::kBool);
  o = Exec(*session_, "SELECT $1", {Value::Int(7)}, {oid::kInt4});
  EXPECT_EQ(o.columns[0].type_oid, oid::kInt4);
  ASSERT_TRUE(session_->Sync().ok());
}

TEST_F(SqlSessionTest, RememberedCFunctionTypesTypeTheirColumns) {
  // The catalogue's table of C function definitions (which no SQL may
  // write: the row goes in through a connection of the server's own); a
  // function of that name returning bool is presented as bool.
  EXPECT_EQ(Simple("INSERT INTO bgw_catalog_proc VALUES ('abs', 1, '20', 16, 'x', 'y', 0, 10, "
                   "NULL)")
                .error.sqlstate,
            "42501");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "db.sqlite").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(
          raw,
          "INSERT INTO bgw_catalog_proc(name, nargs, arg_types, return_type, library, symbol, "
          "strict, owner, acl) VALUES ('abs', 1, '20', 16, 'x', 'y', 0, "
          "10, NULL)",
          nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);
  Outcome o = Simple("SELECT abs(-1), abs(0)");
  EXPECT_EQ(o.columns[0].name, "abs");
  EXPECT_EQ(o.columns[0].type_oid, oid::kBool);
  EXPECT_EQ(o.rows[0], (std::vector<std::string>{"t", "f"}));
}

TEST_F(SqlSessionTest, SchemaChangeUnderAPreparedStatement) {
  ASSERT_TRUE(Simple("CREATE TABLE t (a INT); INSERT INTO t VALUES (1)").ok);
  Result<std::shared_ptr<Statement>> st = session_->Prepare("SELECT * FROM t", {});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)->DescribeColumns().size(), 1u);
  ASSERT_TRUE(Simple("ALTER TABLE t ADD COLUMN b TEXT").ok);
  Result<std::unique_ptr<Portal>> p = session_->Bind(*st, {});
  ASSERT_TRUE(p.ok());
  CollectingSink sink;
  Result<ExecuteResult> r = (*p)->Execute(0, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sqlstate, "0A000");
  EXPECT_TRUE(sink.rows.empty());
  session_->AfterError();
  ASSERT_TRUE(session_->Sync().ok());
}

TEST_F(SqlSessionTest, PortalRowLimitSuspends) {
  ASSERT_TRUE(Simple("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3)").ok);
  Result<std::shared_ptr<Statement>> st = session_->Prepare("SELECT n FROM t ORDER BY n", {});
  ASSERT_TRUE(st.ok());
  Result<std::unique_ptr<Portal>> p = session_->Bind(*st, {});
  ASSERT_TRUE(p.ok());
  CollectingSink sink;
  Result<ExecuteResult> r = (*p)->Execute(2, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->suspended);
  EXPECT_EQ(sink.rows.size(), 2u);
  r = (*p)->Execute(1, sink);
  ASSERT_TRUE(r.ok());
  // Exactly the last row: nothing remains, so the portal completes.
  EXPECT_FALSE(r->suspended);
  EXPECT_EQ(r->command_tag, "SELECT 3");
  EXPECT_EQ(sink.rows.size(), 3u);
  EXPECT_EQ(sink.rows[2][0].i, 3);
  r = (*p)->Execute(0, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->command_tag, "SELECT 3");
  EXPECT_EQ(sink.rows.size(), 3u);
  ASSERT_TRUE(session_->Sync().ok());
  // The cached statement serves a second portal after the first is gone.
  p->reset();
  p = session_->Bind(*st, {});
  ASSERT_TRUE(p.ok());
  CollectingSink again;
  ASSERT_TRUE((*p)->Execute(0, again).ok());
  EXPECT_EQ(again.rows.size(), 3u);
  ASSERT_TRUE(session_->Sync().ok());
}

TEST_F(SqlSessionTest, BuiltinFunctions) {
  Outcome o = Simple(
      "SELECT version(), current_user, current_database(), pg_backend_pid(), "
      "pg_is_in_recovery(), now(), session_user");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.rows[0][0].rfind("PostgreSQL 15.0", 0), 0u) << o.rows[0][0];
  EXPECT_EQ(o.rows[0][1], "admin");
  EXPECT_EQ(o.columns[1].name, "current_user");
  EXPECT_EQ(o.rows[0][2], "postgres");
  EXPECT_EQ(o.rows[0][3], std::to_string(getpid()));
  EXPECT_EQ(o.rows[0][4], "f");
  EXPECT_EQ(o.columns[5].type_oid, oid::kTimestamptz);
  EXPECT_EQ(o.rows[0][5].size() >= 22u, true);
  EXPECT_EQ(o.rows[0][5].substr(o.rows[0][5].size() - 3), "+00");
  // now() is the transaction's start: equal within a block.
  ASSERT_TRUE(Simple("BEGIN").ok);
  std::string a = Simple("SELECT now()").rows[0][0];
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(Simple("SELECT now()").rows[0][0], a);
  ASSERT_TRUE(Simple("COMMIT").ok);
  EXPECT_EQ(Simple("SELECT current_setting('server_version_num')").rows[0][0], "150000");
  EXPECT_EQ(Simple("SELECT current_setting('nosuch')").error.sqlstate, "42704");
  EXPECT_EQ(Simple("SELECT current_setting('nosuch', true)").rows[0][0], "NULL");
  EXPECT_EQ(Simple("SELECT pg_catalog.set_config('search_path', '', false)").rows[0][0], "");
  EXPECT_EQ(Simple("SELECT set_config('nosuch', '1', false)").error.sqlstate, "42704");
  ASSERT_TRUE(Simple("CREATE TABLE s (v TEXT); INSERT INTO s VALUES ('a'), (NULL), ('b')").ok);
  o = Simple(
      "SELECT string_agg(v, ', '), greatest(1, NULL, 3, 2), least('b', NULL, 'a'), "
      "greatest(NULL, NULL) FROM s");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.columns[0].type_oid, oid::kText);
  EXPECT_EQ(o.rows[0], (std::vector<std::string>{"a, b", "3", "a", "NULL"}));
  EXPECT_EQ(Simple("SELECT string_agg(v, ',') FROM s WHERE v = 'zzz'").rows[0][0], "NULL");
}

TEST_F(SqlSessionTest, StatementTimeoutInterruptsPgSleep) {
  ASSERT_TRUE(Simple("SET statement_timeout = 100").ok);
  auto start = std::chrono::steady_clock::now();
  Outcome o = Simple("SELECT pg_sleep(5)");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.error.sqlstate, "57014");
  EXPECT_EQ(o.error.message, "canceling statement due to statement timeout");
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  ASSERT_TRUE(Simple("SET statement_timeout = 0").ok);
  o = Simple("SELECT pg_sleep(0.01)");
  EXPECT_TRUE(o.ok) << o.error.message;
}

TEST_F(SqlSessionTest, StatementTimeoutInterruptsLongQuery) {
  ASSERT_TRUE(Simple("SET statement_timeout = 50").ok);
  Outcome o = Simple(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c");
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.error.sqlstate, "57014");
  ASSERT_TRUE(Simple("SET statement_timeout = 0").ok);
}

TEST_F(SqlSessionTest, CancelAndTerminateFlags) {
  QueryCancelPending = 1;
  Outcome o = Simple("SELECT pg_sleep(5)");
  EXPECT_EQ(o.error.sqlstate, "57014");
  EXPECT_EQ(o.error.message, "canceling statement due to user request");
  EXPECT_EQ(QueryCancelPending, 0);
  ProcDiePending = 1;
  o = Simple("SELECT pg_sleep(5)");
  EXPECT_EQ(o.error.sqlstate, "57P01");
  EXPECT_EQ(o.error.severity, "FATAL");
  EXPECT_EQ(ProcDiePending, 0);
}

TEST_F(SqlSessionTest, DatabaseAndRoleDdlChecks) {
  ASSERT_TRUE(Simple("BEGIN").ok);
  Outcome o = Simple("CREATE DATABASE x");
  EXPECT_EQ(o.error.sqlstate, "25001");
  EXPECT_EQ(o.error.message, "CREATE DATABASE cannot run inside a transaction block");
  ASSERT_TRUE(Simple("ROLLBACK").ok);
  EXPECT_EQ(Simple("CREATE DATABASE x WITH bogus = 1").error.sqlstate, "42601");
  auto user = OpenSession(false);
  EXPECT_EQ(Simple(*user, "CREATE DATABASE x").error.message,
            "permission denied to create database");
  EXPECT_EQ(Simple(*user, "CREATE ROLE bob LOGIN").error.message,
            "permission denied to create role");
  EXPECT_EQ(Simple(*user, "DROP ROLE bob").error.sqlstate, "42501");
  EXPECT_EQ(Simple("DROP ROLE admin").error.sqlstate, "55006");
}

TEST_F(SqlSessionTest, ListenNotifyAndNoops) {
  // This test process has no notification slot (no shared memory): LISTEN
  // reports that; the server's processes have one (tests/test_sql_control.py).
  Outcome o = Simple("LISTEN foo");
  EXPECT_EQ(o.error.sqlstate, "55000");
  EXPECT_EQ(Simple("NOTIFY \"\"").error.sqlstate, "22023");
  EXPECT_EQ(Simple(std::string("NOTIFY foo, '") + std::string(8000, 'x') + "'").error.sqlstate,
            "22023");
  EXPECT_EQ(Simple("NOTIFY foo, 'hello'").tag, "NOTIFY");
  EXPECT_EQ(Simple("UNLISTEN *").tag, "UNLISTEN");
  EXPECT_EQ(Simple("NOTIFY foo, 42").error.sqlstate, "42601");
  EXPECT_EQ(Simple("DISCARD ALL").tag, "DISCARD ALL");
  EXPECT_EQ(Simple("DEALLOCATE ALL").tag, "DEALLOCATE ALL");
}

// DROP/RENAME DATABASE count the other sessions in the backend status
// array: give it a fresh segment (other suites destroy theirs).
class StatusSegment {
 public:
  StatusSegment() {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    lwlock::ResetForTesting();
    addin::ResetForTesting();
    shmem::RequestSpace(proc::ShmemSize(kSlots));
    shmem::RequestSpace(lwlock::ShmemSize());
    shmem::RequestSpace(backend_status::ShmemSize(kSlots));
    shmem::RequestSpace(notify::ShmemSize(kSlots));
    ok_ = shmem::CreateMainSegment().ok();
    if (ok_) {
      proc::ShmemInit(kSlots);
      ok_ = lwlock::ShmemInit().ok();
      backend_status::ShmemInit(kSlots);
      notify::ShmemInit(kSlots);  // this process has no slot: LISTEN stays refused
    }
  }
  ~StatusSegment() {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    lwlock::ResetForTesting();
    addin::ResetForTesting();
  }
  bool ok() const { return ok_; }

 private:
  static constexpr int kSlots = 4;
  bool ok_ = false;
};

TEST_F(SqlSessionTest, DatabasesAndRolesThroughTheCatalog) {
  StatusSegment segment;
  ASSERT_TRUE(segment.ok());
  ASSERT_TRUE(storage::Catalog::Initialize(dir_.string(), "admin", "").ok());
  EXPECT_EQ(Simple("CREATE DATABASE app WITH OWNER = admin CONNECTION LIMIT 5 "
                   "ENCODING 'UTF8' TEMPLATE template0")
                .tag,
            "CREATE DATABASE");
  EXPECT_EQ(Simple("CREATE DATABASE app").error.sqlstate, "42P04");
  EXPECT_EQ(Simple("CREATE DATABASE other OWNER nobody").error.sqlstate, "42704");
  EXPECT_EQ(Simple("ALTER DATABASE app WITH ALLOW_CONNECTIONS false").tag, "ALTER DATABASE");
  EXPECT_EQ(Simple("ALTER DATABASE app RENAME TO app2").tag, "ALTER DATABASE");
  EXPECT_EQ(Simple("DROP DATABASE app").error.sqlstate, "3D000");
  EXPECT_EQ(Simple("DROP DATABASE postgres").error.sqlstate, "55006");
  EXPECT_EQ(Simple("DROP DATABASE postgres").error.message,
            "cannot drop the currently open database");
  EXPECT_EQ(Simple("DROP DATABASE app2").tag, "DROP DATABASE");
  EXPECT_EQ(Simple("DROP DATABASE IF EXISTS app2").tag, "DROP DATABASE");
  std::vector<ErrorReport> notices = session_->TakeNotices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].message, "database \"app2\" does not exist, skipping");

  EXPECT_EQ(Simple("CREATE USER Bob WITH PASSWORD 'secret' CONNECTION LIMIT 2").tag, "CREATE ROLE");
  std::unique_ptr<storage::Catalog> cat = std::move(*storage::Catalog::Open(dir_.string()));
  std::optional<storage::RoleInfo> bob = *cat->FindRole("bob");
  ASSERT_TRUE(bob.has_value());
  EXPECT_TRUE(bob->can_login);
  EXPECT_FALSE(bob->superuser);
  EXPECT_EQ(bob->connection_limit, 2);
  EXPECT_EQ(bob->password.rfind("SCRAM-SHA-256$", 0), 0u) << bob->password;
  EXPECT_EQ(Simple("CREATE ROLE bob").error.sqlstate, "42710");
  EXPECT_EQ(Simple("ALTER ROLE bob NOLOGIN SUPERUSER PASSWORD NULL").tag, "ALTER ROLE");
  bob = *cat->FindRole("bob");
  EXPECT_FALSE(bob->can_login);
  EXPECT_TRUE(bob->superuser);
  EXPECT_EQ(bob->password, "");
  EXPECT_EQ(Simple("CREATE ROLE \"Carol\"").tag, "CREATE ROLE");
  EXPECT_TRUE(cat->FindRole("Carol")->has_value());
  EXPECT_FALSE(cat->FindRole("Carol")->value().can_login);
  EXPECT_EQ(Simple("DROP ROLE IF EXISTS bob, \"Carol\", nobody").tag, "DROP ROLE");
  EXPECT_FALSE(cat->FindRole("bob")->has_value());
  EXPECT_EQ(Simple("DROP ROLE nobody").error.sqlstate, "42704");
}

TEST_F(SqlSessionTest, BusyWriterWaitsAndTimesOut) {
  ASSERT_TRUE(Simple("CREATE TABLE t (n INT)").ok);
  auto other = OpenSession(true);
  ASSERT_TRUE(Simple(*other, "BEGIN; INSERT INTO t VALUES (1)").ok);
  ASSERT_TRUE(Simple("SET statement_timeout = 100").ok);
  Outcome o = Simple("INSERT INTO t VALUES (2)");
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.error.sqlstate, "57014");
  ASSERT_TRUE(Simple(*other, "COMMIT").ok);
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (2)").ok);
  EXPECT_EQ(Simple("SELECT count(*) FROM t").rows[0][0], "2");
}

TEST_F(SqlSessionTest, StaleSnapshotWriteIsASerializationFailure) {
  ASSERT_TRUE(Simple("CREATE TABLE t (n INT); INSERT INTO t VALUES (1)").ok);
  auto other = OpenSession(true);
  ASSERT_TRUE(Simple("BEGIN").ok);
  EXPECT_EQ(Simple("SELECT count(*) FROM t").rows[0][0], "1");
  ASSERT_TRUE(Simple(*other, "INSERT INTO t VALUES (2)").ok);
  Outcome o = Simple("INSERT INTO t VALUES (3)");
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.error.sqlstate, "40001");
  EXPECT_EQ(session_->TransactionStatus(), 'E');
  EXPECT_EQ(Simple("ROLLBACK").tag, "ROLLBACK");
  EXPECT_EQ(Simple("SELECT count(*) FROM t").rows[0][0], "2");
}

TEST_F(SqlSessionTest, ExtendedProtocolErrorsInABlock) {
  ASSERT_TRUE(Simple("BEGIN").ok);
  // A Parse error fails the block like any other error.
  Result<std::shared_ptr<Statement>> st = session_->Prepare("SELECT FROM WHERE", {});
  ASSERT_FALSE(st.ok());
  session_->AfterError();
  ASSERT_TRUE(session_->Sync().ok());
  EXPECT_EQ(session_->TransactionStatus(), 'E');
  st = session_->Prepare("SELECT 1", {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().sqlstate, "25P02");
  session_->AfterError();
  st = session_->Prepare("ROLLBACK", {});
  ASSERT_TRUE(st.ok());
  Result<std::unique_ptr<Portal>> p = session_->Bind(*st, {});
  ASSERT_TRUE(p.ok());
  Result<std::vector<Column>> cols = (*p)->Describe();
  ASSERT_TRUE(cols.ok());
  EXPECT_TRUE(cols->empty());  // NoData
  CollectingSink sink;
  Result<ExecuteResult> r = (*p)->Execute(0, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->command_tag, "ROLLBACK");
  ASSERT_TRUE(session_->Sync().ok());
  EXPECT_EQ(session_->TransactionStatus(), 'I');
}

TEST_F(SqlSessionTest, DescribedStatementTypesBindThePortal) {
  // A parameterless read-only statement is probed for its types.
  Result<std::shared_ptr<Statement>> probed = session_->Prepare("SELECT 6 * 7, 'x'", {});
  ASSERT_TRUE(probed.ok());
  std::vector<Column> cols = (*probed)->DescribeColumns();
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].type_oid, oid::kInt8);
  EXPECT_EQ(cols[1].type_oid, oid::kText);
  // With parameters there is no row to look at: the expression is text,
  // and the portal must present values the same way.
  Result<std::shared_ptr<Statement>> st = session_->Prepare("SELECT 6 * $1::int AS answer", {});
  ASSERT_TRUE(st.ok());
  std::vector<Column> described = (*st)->DescribeColumns();
  ASSERT_EQ(described.size(), 1u);
  EXPECT_EQ(described[0].name, "answer");
  EXPECT_EQ(described[0].type_oid, oid::kText);
  Result<std::unique_ptr<Portal>> p = session_->Bind(*st, {Value::Int(7)});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*(*p)->Describe())[0].type_oid, oid::kText);
  // Without a statement Describe, the first row decides.
  Outcome o = Exec(*session_, "SELECT 6 * $1::int AS answer", {Value::Int(7)});
  EXPECT_EQ(o.columns[0].type_oid, oid::kInt8);
  EXPECT_EQ(o.rows[0][0], "42");
  ASSERT_TRUE(session_->Sync().ok());
}

TEST_F(SqlSessionTest, SqliteStatementsPassThrough) {
  Outcome o = Simple("PRAGMA journal_mode");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.rows[0][0], "wal");
  o = Simple("SELECT x FROM (VALUES (1), (2)) AS v(x)");
  // SQLite has no column aliases on VALUES: a PostgreSQL-only spelling fails
  // with a syntax error, not a crash.
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error.sqlstate, "42601");
  o = Simple("VALUES (1, 'a'), (2, 'b')");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.tag, "SELECT 2");
}

// The statement cache: a repeated text reuses the prepared statement, and
// every way the schema can change under it prepares afresh.
TEST_F(SqlSessionTest, RepeatedStatementTextReusesThePreparedStatement) {
  auto* impl = static_cast<internal::SessionImpl*>(session_.get());
  const Statement* first = nullptr;
  {
    auto st = session_->Prepare("SELECT 1", {});
    ASSERT_TRUE(st.ok());
    first = st->get();
  }
  auto again = session_->Prepare("SELECT 1", {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), first);
  // While one Parse holds it, another gets its own statement.
  auto other = session_->Prepare("SELECT 1", {});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->get(), first);
  // Other declared parameter types are another statement.
  auto typed = session_->Prepare("SELECT $1", std::vector<uint32_t>{oid::kInt4});
  ASSERT_TRUE(typed.ok());
  auto untyped = session_->Prepare("SELECT $1", {});
  ASSERT_TRUE(untyped.ok());
  EXPECT_EQ((*untyped)->param_types(), std::vector<uint32_t>{oid::kText});
  EXPECT_GT(impl->statement_cache_size(), 0u);
}

TEST_F(SqlSessionTest, StatementCacheFollowsThisSessionsSchemaChanges) {
  ASSERT_TRUE(Simple("CREATE TABLE t (a INTEGER)").ok);
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (1)").ok);
  ASSERT_EQ(Simple("SELECT * FROM t").columns.size(), 1u);
  ASSERT_EQ(Simple("SELECT * FROM t").columns.size(), 1u);
  ASSERT_TRUE(Simple("ALTER TABLE t ADD COLUMN b TEXT").ok);
  Outcome o = Simple("SELECT * FROM t");
  ASSERT_TRUE(o.ok) << o.error.message;
  ASSERT_EQ(o.columns.size(), 2u);
  EXPECT_EQ(o.columns[1].type_oid, oid::kText);

  // Inside a block the change is seen at once, and a rollback undoes it.
  ASSERT_TRUE(Simple("BEGIN").ok);
  ASSERT_TRUE(Exec(*session_, "ALTER TABLE t ADD COLUMN c BOOLEAN").ok);
  o = Exec(*session_, "SELECT * FROM t");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.columns.size(), 3u);
  ASSERT_TRUE(Simple("ROLLBACK").ok);
  o = Simple("SELECT * FROM t");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.columns.size(), 2u);

  // A dropped table fails at Parse again, as without the cache.
  ASSERT_TRUE(Simple("DROP TABLE t").ok);
  Result<std::shared_ptr<Statement>> gone = session_->Prepare("SELECT * FROM t", {});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().sqlstate, "42P01");
}

TEST_F(SqlSessionTest, StatementCacheFollowsOtherSessionsSchemaChanges) {
  ASSERT_TRUE(Simple("CREATE TABLE t (a INTEGER)").ok);
  ASSERT_TRUE(Simple("INSERT INTO t VALUES (1)").ok);
  ASSERT_EQ(Simple("SELECT * FROM t").columns.size(), 1u);
  std::unique_ptr<Session> other = OpenSession(true);
  ASSERT_TRUE(Simple(*other, "ALTER TABLE t ADD COLUMN b TEXT").ok);
  // This session sees the other's commit when it next reads (SQLite's
  // schema check at the start of a statement), and prepares afresh from
  // then on.
  ASSERT_TRUE(Simple("SELECT count(*) FROM t").ok);
  Outcome o = Simple("SELECT * FROM t");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.columns.size(), 2u);
}

TEST_F(SqlSessionTest, CachedStatementDoesNotCarryAnotherParsesDescription) {
  // The value's type depends on a setting, so only the row tells it.
  const std::string q =
      "SELECT CASE WHEN current_setting('application_name') = 'n' THEN 1 ELSE 'x' END AS v";
  ASSERT_TRUE(Simple("SET application_name = 'n'").ok);
  {
    auto st = session_->Prepare(q, {});
    ASSERT_TRUE(st.ok());
    std::vector<Column> described = (*st)->DescribeColumns();
    ASSERT_EQ(described.size(), 1u);
    EXPECT_EQ(described[0].type_oid, oid::kInt8);
  }
  ASSERT_TRUE(Simple("SET application_name = 'm'").ok);
  // A new Parse learns the type from its own first row, as a fresh one would.
  Outcome o = Simple(q);
  ASSERT_TRUE(o.ok) << o.error.message;
  ASSERT_EQ(o.columns.size(), 1u);
  EXPECT_EQ(o.columns[0].type_oid, oid::kText);
  EXPECT_EQ(o.rows, (std::vector<std::vector<std::string>>{{"x"}}));
}

}  // namespace
}  // namespace bgw::sql
