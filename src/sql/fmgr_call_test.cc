// Tests of C functions on SQLite (sql/fmgr_call.h): parsing CREATE/DROP
// FUNCTION, calling V1 functions with argument and result conversion, strict
// and non-strict NULL handling, ERRORs becoming SQL errors with their
// SQLSTATE, and the bgw_c_functions table. The functions called here live
// in this test binary (loading a module needs the server's exported
// symbols; tests/test_sql_control.py covers that path).
#include "sql/fmgr_call.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>
#include <string>

#include "postgres/fmgr.h"
#include "postgres/utils/builtins.h"
#include "postgres/utils/elog.h"
#include "sql/system.h"
#include "sql/value.h"

extern "C" {

static Datum TestAddOne(PG_FUNCTION_ARGS) { PG_RETURN_INT32(PG_GETARG_INT32(0) + 1); }

static Datum TestIsNull(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(PG_ARGISNULL(0)); }

static Datum TestConcat(PG_FUNCTION_ARGS) {
  char* a = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* b = text_to_cstring(PG_GETARG_TEXT_PP(1));
  size_t n = strlen(a) + strlen(b);
  char* both = static_cast<char*>(palloc(n + 1));
  strcpy(both, a);
  strcat(both, b);
  PG_RETURN_TEXT_P(cstring_to_text(both));
}

static Datum TestHalf(PG_FUNCTION_ARGS) { PG_RETURN_FLOAT8(PG_GETARG_FLOAT8(0) / 2); }

static Datum TestInt8(PG_FUNCTION_ARGS) { PG_RETURN_INT64(PG_GETARG_INT64(0) * 2); }

static Datum TestNot(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(!PG_GETARG_BOOL(0)); }

static Datum TestReturnsNull(PG_FUNCTION_ARGS) { PG_RETURN_NULL(); }

static Datum TestRaise(PG_FUNCTION_ARGS) {
  ereport(ERROR, errcode(ERRCODE_DIVISION_BY_ZERO),
          errmsg("boom: %s", text_to_cstring(PG_GETARG_TEXT_PP(0))), errdetail("the detail"),
          errhint("the hint"));
  PG_RETURN_VOID();
}

}  // extern "C"

namespace bgw::sql::fmgr {
namespace {

class FmgrCallTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK); }
  void TearDown() override { sqlite3_close(db_); }

  void BindFn(const char* name, std::vector<uint32_t> args, uint32_t ret, PGFunction fn,
              bool strict = true) {
    CFunction f;
    f.name = name;
    f.arg_types = std::move(args);
    f.return_type = ret;
    f.library = "test";
    f.symbol = name;
    f.strict = strict;
    ASSERT_TRUE(Bind(db_, f, reinterpret_cast<void*>(fn)).ok());
  }

  // The single value of `sql` as text ("NULL" for NULL), or "ERROR: msg".
  std::string Query(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      return std::string("PREPARE: ") + sqlite3_errmsg(db_);
    }
    std::string out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
    } else if (rc != SQLITE_DONE) {
      out = std::string("ERROR: ") + sqlite3_errmsg(db_);
    }
    sqlite3_finalize(st);
    return out;
  }

  sqlite3* db_ = nullptr;
};

TEST_F(FmgrCallTest, ParsesAFullCreateStatement) {
  auto spec = ParseCreateFunction(
      "CREATE OR REPLACE FUNCTION public.Add_One(x integer, \"y\" text, double precision, "
      "varchar(10)) RETURNS int8 AS '$libdir/bgw_sql_test', 'add_one' LANGUAGE C IMMUTABLE "
      "STRICT PARALLEL SAFE COST 1;");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_TRUE(spec->or_replace);
  EXPECT_EQ(spec->function.name, "add_one");
  EXPECT_EQ(spec->function.arg_types,
            (std::vector<uint32_t>{oid::kInt4, oid::kText, oid::kFloat8, oid::kVarchar}));
  EXPECT_EQ(spec->function.return_type, oid::kInt8);
  EXPECT_EQ(spec->function.library, "$libdir/bgw_sql_test");
  EXPECT_EQ(spec->function.symbol, "add_one");
  EXPECT_TRUE(spec->function.strict);
}

TEST_F(FmgrCallTest, LanguageBeforeAsAndSymbolDefaultsToTheName) {
  auto spec = ParseCreateFunction(
      "create function f() returns void language 'c' as 'lib' called on null input");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_FALSE(spec->or_replace);
  EXPECT_TRUE(spec->function.arg_types.empty());
  EXPECT_EQ(spec->function.return_type, kVoidOid);
  EXPECT_EQ(spec->function.symbol, "f");
  EXPECT_FALSE(spec->function.strict);
  auto strict = ParseCreateFunction(
      "CREATE FUNCTION g(int) RETURNS int AS 'lib' LANGUAGE C RETURNS NULL ON NULL INPUT");
  ASSERT_TRUE(strict.ok()) << strict.error().message;
  EXPECT_TRUE(strict->function.strict);
}

// The statement comes through the one SQL lexer: comments anywhere,
// dollar-quoted and E'' strings, quoted identifiers with "" inside.
TEST_F(FmgrCallTest, LexesCommentsDollarQuotesAndQuotedNames) {
  auto spec = ParseCreateFunction(
      "/* lead */ CREATE -- line\n FUNCTION \"Odd\"\"Name\"(int4) RETURNS bool "
      "AS $lib$$libdir/x$lib$, E'sym\\_b' LANGUAGE c /* trailing */");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->function.name, "Odd\"Name");
  EXPECT_EQ(spec->function.library, "$libdir/x");
  EXPECT_EQ(spec->function.symbol, "sym_b");
  EXPECT_EQ(spec->function.return_type, oid::kBool);
  for (const char* bad : {"CREATE FUNCTION f() RETURNS int AS $$lib LANGUAGE C",
                          "CREATE FUNCTION \"f() RETURNS int AS 'lib' LANGUAGE C",
                          "CREATE FUNCTION f() /* RETURNS int AS 'lib' LANGUAGE C"}) {
    auto r = ParseCreateFunction(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().sqlstate, "42601") << bad;
    EXPECT_NE(r.error().message.find("unterminated"), std::string::npos) << r.error().message;
  }
}

TEST_F(FmgrCallTest, BadCreateStatementsFailWithPostgresCodes) {
  struct Case {
    const char* sql;
    const char* sqlstate;
  } cases[] = {
      {"CREATE FUNCTION f(int) RETURNS int AS 'select 1' LANGUAGE sql", "0A000"},
      {"CREATE FUNCTION f(int) RETURNS int AS 'lib'", "42P13"},
      {"CREATE FUNCTION f(int) LANGUAGE C AS 'lib'", "42P13"},
      {"CREATE FUNCTION f(int) RETURNS int LANGUAGE C", "42P13"},
      {"CREATE FUNCTION f(nosuchtype) RETURNS int AS 'lib' LANGUAGE C", "42704"},
      {"CREATE FUNCTION f(numeric) RETURNS int AS 'lib' LANGUAGE C", "0A000"},
      {"CREATE FUNCTION f(int) RETURNS SETOF int AS 'lib' LANGUAGE C", "0A000"},
      {"CREATE FUNCTION f(int RETURNS int AS 'lib' LANGUAGE C", "42601"},
      {"CREATE FUNCTION f(int) RETURNS int AS 'lib LANGUAGE C", "42601"},
      {"CREATE FUNCTION f(int) RETURNS int AS 'lib' LANGUAGE C bogus", "42601"},
      {"CREATE FUNCTION f(int = 1 + 2) RETURNS int AS 'lib' LANGUAGE C", "0A000"},
      {"CREATE FUNCTION f(int = now()) RETURNS int AS 'lib' LANGUAGE C", "0A000"},
      {"CREATE FUNCTION f(a int DEFAULT 1, b int) RETURNS int AS 'lib' LANGUAGE C", "42P13"},
      {"CREATE FUNCTION f(a int DEFAULT 'abc') RETURNS int AS 'lib' LANGUAGE C", "22P02"},
      {"CREATE FUNCTION f(void) RETURNS int AS 'lib' LANGUAGE C", "42P13"},
      {"CREATE FUNCTION f(int) RETURNS int AS '' LANGUAGE C", "42P13"},
      {"CREATE TABLE f(int)", "42601"},
      {"", "42601"},
  };
  for (const Case& c : cases) {
    auto spec = ParseCreateFunction(c.sql);
    ASSERT_FALSE(spec.ok()) << c.sql;
    EXPECT_EQ(spec.error().sqlstate, c.sqlstate) << c.sql << ": " << spec.error().message;
  }
}

TEST_F(FmgrCallTest, ParsesArgumentDefaults) {
  auto spec = ParseCreateFunction(
      "CREATE FUNCTION f(a int4, b pg_catalog.int4 DEFAULT -5, c text = 'x''y', "
      "d bool DEFAULT true, e int8 DEFAULT NULL::int8) RETURNS int AS 'lib' LANGUAGE C");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  const CFunction& f = spec->function;
  ASSERT_EQ(f.arg_types.size(), 5u);
  EXPECT_EQ(f.arg_types[1], oid::kInt4);
  ASSERT_EQ(f.defaults.size(), 4u);
  EXPECT_EQ(f.defaults[0], std::optional<std::string>("-5"));
  EXPECT_EQ(f.defaults[1], std::optional<std::string>("x'y"));
  EXPECT_EQ(f.defaults[2], std::optional<std::string>("true"));
  EXPECT_EQ(f.defaults[3], std::nullopt);
}

TEST_F(FmgrCallTest, ParsesDropFunction) {
  auto a = ParseDropFunction("DROP FUNCTION IF EXISTS s.f(integer, text) CASCADE;");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->if_exists);
  EXPECT_EQ(a->name, "f");
  ASSERT_TRUE(a->arg_types.has_value());
  EXPECT_EQ(*a->arg_types, (std::vector<uint32_t>{oid::kInt4, oid::kText}));
  auto b = ParseDropFunction("drop function g");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->if_exists);
  EXPECT_FALSE(b->arg_types.has_value());
  auto c = ParseDropFunction("drop function g()");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->arg_types.has_value() && c->arg_types->empty());
  EXPECT_EQ(ParseDropFunction("drop function").error().sqlstate, "42601");
  EXPECT_EQ(ParseDropFunction("drop function f(int) extra").error().sqlstate, "42601");
}

TEST_F(FmgrCallTest, SignaturesUsePostgresTypeNames) {
  EXPECT_EQ(Signature("f", {oid::kInt4, oid::kText, oid::kFloat8}),
            "f(integer, text, double precision)");
  EXPECT_EQ(Signature("g", {}), "g()");
}

TEST_F(FmgrCallTest, CallsConvertArgumentsAndResults) {
  BindFn("add_one", {oid::kInt4}, oid::kInt4, TestAddOne);
  BindFn("concat_text", {oid::kText, oid::kText}, oid::kText, TestConcat);
  BindFn("half", {oid::kFloat8}, oid::kFloat8, TestHalf);
  BindFn("twice", {oid::kInt8}, oid::kInt8, TestInt8);
  BindFn("negate", {oid::kBool}, oid::kBool, TestNot);
  EXPECT_EQ(Query("SELECT add_one(41)"), "42");
  EXPECT_EQ(Query("SELECT add_one('  7 ')"), "8");
  EXPECT_EQ(Query("SELECT add_one(2.6)"), "4");
  EXPECT_EQ(Query("SELECT concat_text('ab', 'cé')"), "abcé");
  EXPECT_EQ(Query("SELECT concat_text('', '')"), "");
  EXPECT_EQ(Query("SELECT concat_text(1, 2)"), "12");
  EXPECT_EQ(Query("SELECT half(3)"), "1.5");
  EXPECT_EQ(Query("SELECT twice(4000000000)"), "8000000000");
  EXPECT_EQ(Query("SELECT negate(0)"), "1");
  EXPECT_EQ(Query("SELECT negate('true')"), "0");
}

TEST_F(FmgrCallTest, BadArgumentsFailWithInputErrors) {
  BindFn("add_one", {oid::kInt4}, oid::kInt4, TestAddOne);
  BindFn("negate", {oid::kBool}, oid::kBool, TestNot);
  EXPECT_EQ(Query("SELECT add_one('abc')"),
            "ERROR: invalid input syntax for type integer: \"abc\"");
  auto e = system::TakeFunctionError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->sqlstate, "22P02");
  EXPECT_FALSE(system::TakeFunctionError().has_value());  // taken once
  EXPECT_EQ(Query("SELECT add_one(3000000000)"), "ERROR: integer out of range");
  EXPECT_EQ(system::TakeFunctionError()->sqlstate, "22003");
  EXPECT_EQ(Query("SELECT negate('maybe')"),
            "ERROR: invalid input syntax for type boolean: \"maybe\"");
}

TEST_F(FmgrCallTest, StrictFunctionsReturnNullOnNullInputOthersSeeTheNull) {
  BindFn("add_one", {oid::kInt4}, oid::kInt4, TestAddOne);
  BindFn("is_null_arg", {oid::kInt4}, oid::kBool, TestIsNull, /*strict=*/false);
  BindFn("no_value", {}, oid::kText, TestReturnsNull);
  EXPECT_EQ(Query("SELECT add_one(NULL)"), "NULL");
  EXPECT_EQ(Query("SELECT is_null_arg(NULL)"), "1");
  EXPECT_EQ(Query("SELECT is_null_arg(1)"), "0");
  EXPECT_EQ(Query("SELECT no_value()"), "NULL");
}

TEST_F(FmgrCallTest, ErrorsInTheFunctionBecomeSqlErrorsWithTheirSqlstate) {
  BindFn("raise_error", {oid::kText}, kVoidOid, TestRaise);
  BindFn("add_one", {oid::kInt4}, oid::kInt4, TestAddOne);
  EXPECT_EQ(Query("SELECT raise_error('x')"), "ERROR: boom: x");
  auto e = system::TakeFunctionError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->sqlstate, "22012");
  EXPECT_EQ(e->message, "boom: x");
  EXPECT_EQ(e->detail, "the detail");
  EXPECT_EQ(e->hint, "the hint");
  // The error state was cleaned up: later calls work, repeatedly.
  for (int i = 0; i < 100; i++) {
    ASSERT_EQ(Query("SELECT raise_error('again')"), "ERROR: boom: again");
  }
  EXPECT_EQ(Query("SELECT add_one(1)"), "2");
}

TEST_F(FmgrCallTest, DefinitionsAreStoredLoadedAndRemoved) {
  auto empty = LoadAll(db_);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());  // no catalogue yet
  ASSERT_TRUE(catalogue::Ensure(db_, 10).ok());
  CFunction f;
  f.name = "add_one";
  f.arg_types = {oid::kInt4};
  f.return_type = oid::kInt4;
  f.library = "bgw_sql_test";
  f.symbol = "add_one";
  f.strict = true;
  ASSERT_TRUE(Store(db_, f).ok());
  CFunction g = f;
  g.name = "concat_text";
  g.arg_types = {oid::kText, oid::kText};
  g.return_type = oid::kText;
  g.strict = false;
  ASSERT_TRUE(Store(db_, g).ok());
  f.symbol = "add_one_v2";
  ASSERT_TRUE(Store(db_, f).ok());  // replaces
  auto all = LoadAll(db_);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "add_one");
  EXPECT_EQ((*all)[0].symbol, "add_one_v2");
  EXPECT_TRUE((*all)[0].strict);
  EXPECT_EQ((*all)[1].arg_types, (std::vector<uint32_t>{oid::kText, oid::kText}));
  EXPECT_FALSE((*all)[1].strict);
  ASSERT_TRUE(Remove(db_, "add_one", 1).ok());
  all = LoadAll(db_);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "concat_text");
}

TEST_F(FmgrCallTest, ResolvingAMissingLibraryIs58P01) {
  CFunction f;
  f.name = "f";
  f.library = "/nonexistent/bgw_no_such_library";
  f.symbol = "f";
  auto r = Resolve(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sqlstate, "58P01");
}

TEST_F(FmgrCallTest, TextHelpersRoundTrip) {
  text* t = cstring_to_text_with_len("abc\0def", 7);
  EXPECT_EQ(VARSIZE(t), static_cast<uint32>(VARHDRSZ + 7));
  EXPECT_EQ(VARSIZE_ANY_EXHDR(t), 7u);
  EXPECT_EQ(std::memcmp(VARDATA_ANY(t), "abc\0def", 7), 0);
  char buf[3];
  text_to_cstring_buffer(t, buf, sizeof buf);
  EXPECT_STREQ(buf, "ab");
  text* u = cstring_to_text("héllo");
  char* s = text_to_cstring(u);
  EXPECT_STREQ(s, "héllo");
  pfree(s);
  pfree(u);
  pfree(t);
}

}  // namespace
}  // namespace bgw::sql::fmgr
