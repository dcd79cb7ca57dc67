// The sandbox below the privilege checks: what a user-SQL connection can
// never do, even with the authorizer out of the way (the VFS), and the
// engine-wide refusals of the authorizer itself.
#include "sql/sandbox.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace bgw::sql::sandbox {
namespace {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bgw_sandbox_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Result<sqlite3*> db = Open((dir_ / "db.sqlite").string());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = *db;
    SetAuthorizer(db_, nullptr);
    ASSERT_EQ(Exec("CREATE TABLE t(a)"), SQLITE_OK);
  }
  void TearDown() override {
    Close(db_);
    ApplyLimits(-1, -1);
    (void)TakeDenial();
    (void)TakeTempLimitExceeded();
    std::filesystem::remove_all(dir_);
  }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) & 0xFF;
  }

  std::filesystem::path dir_;
  sqlite3* db_ = nullptr;
};

TEST_F(SandboxTest, AttachIsRefusedWithTheReason) {
  EXPECT_EQ(Exec("ATTACH '" + (dir_ / "x.db").string() + "' AS x"), SQLITE_AUTH);
  std::optional<ErrorReport> why = TakeDenial();
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(why->sqlstate, "42501");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.db"));
}

TEST_F(SandboxTest, TheFileSystemIsClosedEvenWithoutTheAuthorizer) {
  // Everything above the VFS out of the way: no authorizer, attaching
  // allowed again. Other files still cannot be opened, nor created.
  sqlite3_set_authorizer(db_, nullptr, nullptr);
  sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 10);
  EXPECT_EQ(Exec("ATTACH '" + (dir_ / "new.db").string() + "' AS x"), SQLITE_CANTOPEN);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "new.db"));
  EXPECT_EQ(Exec("ATTACH '/etc/passwd' AS p"), SQLITE_CANTOPEN);
  EXPECT_EQ(Exec("VACUUM INTO '" + (dir_ / "copy.db").string() + "'"), SQLITE_CANTOPEN);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "copy.db"));
  EXPECT_NE(Exec("SELECT load_extension('/lib/x.so')"), SQLITE_OK);
  // Its own file works as before, and so do temporary tables.
  EXPECT_EQ(Exec("INSERT INTO t VALUES (1)"), SQLITE_OK);
  EXPECT_EQ(Exec("CREATE TEMP TABLE scratch AS SELECT * FROM t"), SQLITE_OK);
}

TEST_F(SandboxTest, DefensiveSettingsHold) {
  sqlite3_set_authorizer(db_, nullptr, nullptr);
  EXPECT_EQ(Exec("PRAGMA writable_schema = ON"), SQLITE_OK);  // accepted, no effect
  EXPECT_NE(Exec("UPDATE sqlite_master SET sql = 'x'"), SQLITE_OK);
  // SQLite trusts a tokenizer pointer that arrives as a bound parameter
  // whatever SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER says, and the protocol
  // binds what clients send: the authorizer refuses the function itself.
  SetAuthorizer(db_, nullptr);
  sqlite3_stmt* st = nullptr;
  EXPECT_NE(sqlite3_prepare_v2(db_, "SELECT fts3_tokenizer('evil', ?1)", -1, &st, nullptr),
            SQLITE_OK);
  EXPECT_EQ(st, nullptr);
  (void)TakeDenial();
}

TEST_F(SandboxTest, EngineRulesRefuseEvenWhenNoSessionChecks) {
  for (const char* sql : {"PRAGMA journal_mode = DELETE", "PRAGMA synchronous = OFF",
                          "PRAGMA trusted_schema = ON", "BEGIN", "SAVEPOINT s",
                          "CREATE TABLE bgw_catalog_evil(x)", "SELECT fts3_tokenizer('simple')"}) {
    EXPECT_NE(Exec(sql), SQLITE_OK) << sql;
    (void)TakeDenial();
  }
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "delete");
  sqlite3_finalize(st);
  // The server's own statements pass.
  InternalScope internal;
  EXPECT_EQ(Exec("BEGIN; CREATE TABLE bgw_catalog_ok(x); COMMIT"), SQLITE_OK);
}

TEST_F(SandboxTest, TemporaryFilesCountAgainstTheLimit) {
  ApplyLimits(-1, 256 * 1024);
  // A sort too big for the page cache spills to a temporary file.
  EXPECT_EQ(Exec("PRAGMA cache_size = 10"), SQLITE_OK);
  int rc = Exec(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) "
      "SELECT x, randomblob(100) AS r FROM c ORDER BY r");
  EXPECT_EQ(rc, SQLITE_FULL);
  EXPECT_TRUE(TakeTempLimitExceeded());
  EXPECT_FALSE(TakeTempLimitExceeded());
  EXPECT_EQ(TempBytes(), 0);  // freed with the statement
  ApplyLimits(-1, -1);
  EXPECT_EQ(Exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) "
                 "SELECT x, randomblob(100) AS r FROM c ORDER BY r"),
            SQLITE_OK);
}

TEST_F(SandboxTest, MemoryCap) {
  ApplyLimits(32 * 1024 * 1024, -1);
  EXPECT_EQ(Exec("SELECT length(randomblob(100000000))"), SQLITE_NOMEM);
  ApplyLimits(-1, -1);
  EXPECT_EQ(Exec("SELECT length(randomblob(100000000))"), SQLITE_OK);
}

TEST(SandboxNames, ReservedNamesAreCaseInsensitive) {
  EXPECT_TRUE(IsReservedName("bgw_catalog_class"));
  EXPECT_TRUE(IsReservedName("BGW_Catalog_x"));
  EXPECT_FALSE(IsReservedName("bgw_catalo"));
  EXPECT_FALSE(IsReservedName("my_bgw_catalog_x"));
  EXPECT_FALSE(IsReservedName(nullptr));
}

}  // namespace
}  // namespace bgw::sql::sandbox
