// Unit tests of SPI and the transaction commands over a real SQL session on
// a temporary SQLite file (no server processes: see tests/test_spi.py for
// workers end to end).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "compat/compat_testing.h"
#include "postgres/access/xact.h"
#include "postgres/catalog/pg_type.h"
#include "postgres/executor/spi.h"
#include "postgres/utils/builtins.h"
#include "postgres/utils/snapmgr.h"
#include "spi/spi_internal.h"
#include "sql/session.h"

namespace bgw::spi {
namespace {

using compat::testing::CatchError;

class SpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("spi_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    sql::SessionInfo info;
    info.database_oid = 5;
    info.database_name = "postgres";
    info.database_path = (dir_ / "db.sqlite").string();
    info.role_oid = 10;
    info.role_name = "admin";
    info.superuser = true;
    info.data_dir = dir_.string();
    auto s = sql::Session::Open(info);
    ASSERT_TRUE(s.ok()) << s.error().message;
    bgw_set_client_error_sink(nullptr);
    InstallSession(std::move(*s));
  }
  void TearDown() override {
    ResetForTesting();
    std::filesystem::remove_all(dir_);
  }

  // Runs sql in its own transaction, expecting `code`.
  void Run(const char* sql, int code) {
    StartTransactionCommand();
    ASSERT_EQ(SPI_connect(), SPI_OK_CONNECT);
    EXPECT_EQ(SPI_execute(sql, false, 0), code) << sql;
    SPI_finish();
    CommitTransactionCommand();
  }

  std::filesystem::path dir_;
};

TEST_F(SpiTest, InsertWithArgsPreparedUpdateAndSelect) {
  Run("CREATE TABLE t (id int4 PRIMARY KEY, name text, big int8, f float8, b bool)",
      SPI_OK_UTILITY);
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  ASSERT_EQ(SPI_connect(), SPI_OK_CONNECT);
  Oid types[5] = {INT4OID, TEXTOID, INT8OID, FLOAT8OID, BOOLOID};
  for (int i = 1; i <= 3; i++) {
    Datum values[5] = {Int32GetDatum(i), CStringGetTextDatum("it's"),
                       Int64GetDatum(int64_t{1} << 40), Float8GetDatum(0.25 * i),
                       BoolGetDatum(i == 2)};
    const char nulls[5] = {' ', ' ', ' ', i == 3 ? 'n' : ' ', ' '};
    EXPECT_EQ(SPI_execute_with_args("INSERT INTO t VALUES ($1, $2, $3, $4, $5)", 5, types, values,
                                    nulls, false, 0),
              SPI_OK_INSERT);
    EXPECT_EQ(SPI_processed, 1u);
  }
  Oid upd_types[1] = {INT4OID};
  SPIPlanPtr plan = SPI_prepare("UPDATE t SET big = big + 1 WHERE id >= $1", 1, upd_types);
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(SPI_getargcount(plan), 1);
  Datum from[1] = {Int32GetDatum(2)};
  EXPECT_EQ(SPI_execute_plan(plan, from, nullptr, false, 0), SPI_OK_UPDATE);
  EXPECT_EQ(SPI_processed, 2u);

  EXPECT_EQ(SPI_execute("SELECT id, name, big, f, b FROM t ORDER BY id", true, 0), SPI_OK_SELECT);
  ASSERT_EQ(SPI_processed, 3u);
  SPITupleTable* tt = SPI_tuptable;
  ASSERT_NE(tt, nullptr);
  EXPECT_EQ(tt->tupdesc->natts, 5);
  EXPECT_EQ(SPI_gettypeid(tt->tupdesc, 1), static_cast<Oid>(INT4OID));
  EXPECT_STREQ(SPI_gettype(tt->tupdesc, 3), "int8");
  EXPECT_STREQ(SPI_fname(tt->tupdesc, 2), "name");
  EXPECT_EQ(SPI_fnumber(tt->tupdesc, "f"), 4);
  EXPECT_EQ(SPI_fnumber(tt->tupdesc, "nope"), SPI_ERROR_NOATTRIBUTE);
  bool isnull = true;
  EXPECT_EQ(DatumGetInt32(SPI_getbinval(tt->vals[1], tt->tupdesc, 1, &isnull)), 2);
  EXPECT_FALSE(isnull);
  EXPECT_STREQ(TextDatumGetCString(SPI_getbinval(tt->vals[1], tt->tupdesc, 2, &isnull)), "it's");
  EXPECT_EQ(DatumGetInt64(SPI_getbinval(tt->vals[1], tt->tupdesc, 3, &isnull)),
            (int64_t{1} << 40) + 1);
  EXPECT_EQ(DatumGetFloat8(SPI_getbinval(tt->vals[1], tt->tupdesc, 4, &isnull)), 0.5);
  EXPECT_TRUE(DatumGetBool(SPI_getbinval(tt->vals[1], tt->tupdesc, 5, &isnull)));
  EXPECT_STREQ(SPI_getvalue(tt->vals[1], tt->tupdesc, 5), "t");
  EXPECT_STREQ(SPI_getvalue(tt->vals[0], tt->tupdesc, 4), "0.25");
  (void)SPI_getbinval(tt->vals[2], tt->tupdesc, 4, &isnull);
  EXPECT_TRUE(isnull);
  EXPECT_EQ(SPI_getvalue(tt->vals[2], tt->tupdesc, 4), nullptr);
  (void)SPI_getbinval(tt->vals[0], tt->tupdesc, 9, &isnull);
  EXPECT_EQ(SPI_result, SPI_ERROR_NOATTRIBUTE);

  EXPECT_EQ(SPI_execute("DELETE FROM t WHERE id = 1 RETURNING name", false, 0),
            SPI_OK_DELETE_RETURNING);
  EXPECT_EQ(SPI_processed, 1u);
  EXPECT_EQ(SPI_execute("SELECT id FROM t", false, 1), SPI_OK_SELECT);
  EXPECT_EQ(SPI_processed, 1u);  // count limits the rows
  EXPECT_EQ(SPI_finish(), SPI_OK_FINISH);
  PopActiveSnapshot();
  CommitTransactionCommand();
  EXPECT_FALSE(IsTransactionState());
}

TEST_F(SpiTest, SqlErrorsRaiseWithSqlstateAndAbortRecovers) {
  Run("CREATE TABLE u (id int4 PRIMARY KEY)", SPI_OK_UTILITY);
  StartTransactionCommand();
  ASSERT_EQ(SPI_connect(), SPI_OK_CONNECT);
  EXPECT_EQ(SPI_execute("INSERT INTO u VALUES (1)", false, 0), SPI_OK_INSERT);
  auto e = CatchError([] { SPI_execute("INSERT INTO u VALUES (1)", false, 0); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.sqlstate, "23505");
  // The transaction is aborted: everything fails until it ends.
  e = CatchError([] { SPI_execute("SELECT 1", false, 0); });
  EXPECT_EQ(e.sqlstate, "25P02");
  AbortCurrentTransaction();
  EXPECT_FALSE(IsTransactionState());
  Run("INSERT INTO u VALUES (2)", SPI_OK_INSERT);

  StartTransactionCommand();
  ASSERT_EQ(SPI_connect(), SPI_OK_CONNECT);
  EXPECT_EQ(SPI_execute("SELECT count(*) FROM u", false, 0), SPI_OK_SELECT);
  EXPECT_STREQ(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "1");
  e = CatchError([] { SPI_execute("SELECT * FROM missing", false, 0); });
  EXPECT_EQ(e.sqlstate, "42P01");
  e = CatchError([] { SPI_execute("INSERT INTO u VALUES (5)", true, 0); });
  EXPECT_EQ(e.sqlstate, "0A000");
  // A commit of an aborted transaction rolls back; SPI's leftovers are freed.
  CommitTransactionCommand();
  EXPECT_FALSE(IsTransactionState());
}

TEST_F(SpiTest, MisuseGivesResultCodes) {
  EXPECT_EQ(SPI_execute("SELECT 1", false, 0), SPI_ERROR_UNCONNECTED);
  EXPECT_EQ(SPI_finish(), SPI_ERROR_UNCONNECTED);
  auto e = CatchError([] { SPI_connect(); });
  EXPECT_EQ(e.sqlstate, "25000");
  StartTransactionCommand();
  e = CatchError([] { StartTransactionCommand(); });
  EXPECT_EQ(e.sqlstate, "25001");
  ASSERT_EQ(SPI_connect(), SPI_OK_CONNECT);
  EXPECT_EQ(SPI_execute("COMMIT", false, 0), SPI_ERROR_TRANSACTION);
  EXPECT_EQ(SPI_execute("SELECT 1; ROLLBACK", false, 0), SPI_ERROR_TRANSACTION);
  EXPECT_EQ(SPI_execute(nullptr, false, 0), SPI_ERROR_ARGUMENT);
  EXPECT_EQ(SPI_execute("SELECT 1", false, -1), SPI_ERROR_ARGUMENT);
  EXPECT_EQ(SPI_prepare(nullptr, 0, nullptr), nullptr);
  EXPECT_EQ(SPI_result, SPI_ERROR_ARGUMENT);
  Oid types[1] = {NUMERICOID};
  Datum v[1] = {0};
  e = CatchError([&] { SPI_execute_with_args("SELECT $1", 1, types, v, nullptr, false, 0); });
  EXPECT_EQ(e.sqlstate, "0A000");
  EXPECT_STREQ(SPI_result_code_string(SPI_OK_UPDATE_RETURNING), "SPI_OK_UPDATE_RETURNING");
  AbortCurrentTransaction();
}

TEST_F(SpiTest, MultipleStatementsGiveTheLastResult) {
  Run("CREATE TABLE m (v int4); INSERT INTO m VALUES (1), (2); SELECT v FROM m", SPI_OK_SELECT);
  StartTransactionCommand();
  ASSERT_EQ(SPI_connect(), SPI_OK_CONNECT);
  EXPECT_EQ(SPI_execute("INSERT INTO m VALUES (3); UPDATE m SET v = v * 10", false, 0),
            SPI_OK_UPDATE);
  EXPECT_EQ(SPI_processed, 3u);
  SPI_finish();
  CommitTransactionCommand();
}

TEST_F(SpiTest, QuoteIdentifierAndLiteral) {
  EXPECT_STREQ(quote_identifier("plain_name1"), "plain_name1");
  EXPECT_STREQ(quote_identifier("Mixed"), "\"Mixed\"");
  EXPECT_STREQ(quote_identifier("select"), "\"select\"");
  EXPECT_STREQ(quote_identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_STREQ(quote_identifier("1abc"), "\"1abc\"");
  EXPECT_STREQ(quote_literal_cstr("it's"), "'it''s'");
  EXPECT_STREQ(quote_literal_cstr("a\\b"), "E'a\\\\b'");
}

}  // namespace
}  // namespace bgw::spi
