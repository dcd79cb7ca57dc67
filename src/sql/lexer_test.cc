// Tests for the statement splitter, the lexer and the PostgreSQL-to-SQLite
// rewriter: literals are never touched, PostgreSQL spellings are.
#include "sql/lexer.h"

#include <gtest/gtest.h>

#include "sql/session.h"
#include "sql/value.h"

namespace bgw::sql {
namespace {

using Split = std::vector<std::string>;

TEST(SqlSplitTest, TopLevelSemicolons) {
  EXPECT_EQ(Session::SplitStatements("SELECT 1; SELECT 2"), (Split{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(Session::SplitStatements("SELECT 1;"), (Split{"SELECT 1"}));
  EXPECT_EQ(Session::SplitStatements(""), Split{});
  EXPECT_EQ(Session::SplitStatements("  ;; -- nothing\n /* x */ ;"), Split{});
}

TEST(SqlSplitTest, SemicolonsInsideLiteralsAndComments) {
  EXPECT_EQ(Session::SplitStatements("SELECT 'a;b'; SELECT 2"),
            (Split{"SELECT 'a;b'", "SELECT 2"}));
  EXPECT_EQ(Session::SplitStatements("SELECT 'it''s;'"), (Split{"SELECT 'it''s;'"}));
  EXPECT_EQ(Session::SplitStatements("SELECT E'a\\';b'; SELECT 3"),
            (Split{"SELECT E'a\\';b'", "SELECT 3"}));
  EXPECT_EQ(Session::SplitStatements("SELECT \"a;b\" FROM t"), (Split{"SELECT \"a;b\" FROM t"}));
  EXPECT_EQ(Session::SplitStatements("SELECT $$a;b$$; SELECT $tag$ $$; $tag$"),
            (Split{"SELECT $$a;b$$", "SELECT $tag$ $$; $tag$"}));
  EXPECT_EQ(Session::SplitStatements("SELECT 1 -- a;b\n; SELECT 2"),
            (Split{"SELECT 1 -- a;b", "SELECT 2"}));
  EXPECT_EQ(Session::SplitStatements("SELECT /* a /* nested; */ b; */ 1; SELECT 2"),
            (Split{"SELECT /* a /* nested; */ b; */ 1", "SELECT 2"}));
}

TEST(SqlSplitTest, ParametersAreNotDollarQuotes) {
  EXPECT_EQ(Session::SplitStatements("SELECT $1; SELECT $2"), (Split{"SELECT $1", "SELECT $2"}));
}

TEST(SqlSplitTest, TriggerBodiesStayWhole) {
  Split s = Session::SplitStatements(
      "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); "
      "UPDATE c SET x = 1; END; SELECT 1");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1], "SELECT 1");
}

TEST(SqlSplitTest, UnterminatedRunsToTheEnd) {
  EXPECT_EQ(Session::SplitStatements("SELECT 'abc; SELECT 2"), (Split{"SELECT 'abc; SELECT 2"}));
}

TEST(SqlLexerTest, Kinds) {
  std::vector<Token> t = SignificantTokens("SELECT x::int, $1, 'a', E'b', \"Q\", 1.5e3, a.b;");
  std::vector<TokenKind> kinds;
  for (const Token& tok : t) kinds.push_back(tok.kind);
  std::vector<TokenKind> want = {
      TokenKind::kWord,  TokenKind::kWord,   TokenKind::kCast,     TokenKind::kWord,
      TokenKind::kComma, TokenKind::kParam,  TokenKind::kComma,    TokenKind::kString,
      TokenKind::kComma, TokenKind::kString, TokenKind::kComma,    TokenKind::kQuotedIdent,
      TokenKind::kComma, TokenKind::kNumber, TokenKind::kComma,    TokenKind::kWord,
      TokenKind::kDot,   TokenKind::kWord,   TokenKind::kSemicolon};
  EXPECT_EQ(kinds, want);
}

TEST(SqlLexerTest, StringValues) {
  std::string v;
  auto value_of = [&](const char* sql) {
    std::vector<Token> t = SignificantTokens(sql);
    EXPECT_EQ(t.size(), 1u) << sql;
    EXPECT_TRUE(StringValue(t[0], &v)) << sql;
    return v;
  };
  EXPECT_EQ(value_of("'it''s'"), "it's");
  EXPECT_EQ(value_of("'a\\nb'"), "a\\nb");  // standard_conforming_strings
  EXPECT_EQ(value_of("E'a\\nb\\'c\\\\'"), "a\nb'c\\");
  EXPECT_EQ(value_of("E'\\x41\\101\\u00e9'"), "AA\xc3\xa9");
  EXPECT_EQ(value_of("$$x'y$$"), "x'y");
  EXPECT_EQ(value_of("$a$ $$ $a$"), " $$ ");
  EXPECT_EQ(IdentifierValue(SignificantTokens("\"My\"\"Col\"")[0]), "My\"Col");
  EXPECT_EQ(IdentifierValue(SignificantTokens("MyCol")[0]), "mycol");
  std::vector<Token> bad = SignificantTokens("'abc");
  EXPECT_TRUE(bad[0].unterminated);
  EXPECT_FALSE(StringValue(bad[0], &v));
}

TEST(SqlRewriteTest, Parameters) {
  Rewritten r = RewriteForSqlite("SELECT * FROM t WHERE a = $1 AND b = $12");
  EXPECT_EQ(r.sql, "SELECT * FROM t WHERE a = ?1 AND b = ?12");
  EXPECT_EQ(r.max_param, 12);
  // Not inside literals, comments or identifiers.
  r = RewriteForSqlite("SELECT '$1', \"$1\" -- $1\n");
  EXPECT_EQ(r.max_param, 0);
  EXPECT_EQ(r.sql, "SELECT '$1', \"$1\"  \n");
}

TEST(SqlRewriteTest, Casts) {
  Rewritten r = RewriteForSqlite("SELECT '5'::int");
  EXPECT_EQ(r.sql, "SELECT bgw_cast('5', 23)");
  ASSERT_TRUE(r.items_known);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].type_oid, oid::kInt4);
  EXPECT_EQ(r.items[0].name, "int4");

  r = RewriteForSqlite("SELECT x::text AS y, f(a, b)::bigint, (a + 1)::float8 FROM t");
  EXPECT_EQ(r.sql,
            "SELECT CAST(x AS TEXT) AS y, bgw_cast(f(a, b), 20), bgw_cast((a + 1), 701) FROM t");
  ASSERT_EQ(r.items.size(), 3u);
  EXPECT_EQ(r.items[0].name, "y");
  EXPECT_EQ(r.items[0].type_oid, oid::kText);
  EXPECT_EQ(r.items[1].name, "f");
  EXPECT_EQ(r.items[1].type_oid, oid::kInt8);
  EXPECT_EQ(r.items[2].type_oid, oid::kFloat8);

  r = RewriteForSqlite("SELECT t.a::double precision, $1::timestamp with time zone");
  EXPECT_EQ(r.sql, "SELECT bgw_cast(t.a, 701), (?1)");
  EXPECT_EQ(r.items[0].name, "a");
  EXPECT_EQ(r.items[1].type_oid, oid::kTimestamptz);
  ASSERT_EQ(r.param_casts.size(), 1u);
  EXPECT_EQ(r.param_casts[0], oid::kTimestamptz);

  r = RewriteForSqlite("SELECT 1::int::text");
  EXPECT_EQ(r.sql, "SELECT CAST(bgw_cast(1, 23) AS TEXT)");
  EXPECT_EQ(r.items[0].type_oid, oid::kText);

  r = RewriteForSqlite("SELECT CAST(a AS boolean) FROM t");
  EXPECT_EQ(r.sql, "SELECT bgw_cast(a, 16) FROM t");
  EXPECT_EQ(r.items[0].type_oid, oid::kBool);

  r = RewriteForSqlite("SELECT x FROM t WHERE y = 'a::int'");
  EXPECT_EQ(r.sql, "SELECT x FROM t WHERE y = 'a::int'");

  r = RewriteForSqlite("SELECT ::int");
  EXPECT_FALSE(r.error.empty());
}

TEST(SqlRewriteTest, PostgresSpellings) {
  EXPECT_EQ(RewriteForSqlite("SELECT current_user, session_user").sql,
            "SELECT current_user(), session_user()");
  EXPECT_EQ(RewriteForSqlite("SELECT current_timestamp").sql, "SELECT now()");
  EXPECT_EQ(RewriteForSqlite("SELECT E'a\\tb', $$x'y$$").sql, "SELECT 'a\tb', 'x''y'");
  EXPECT_EQ(RewriteForSqlite("SELECT * FROM pg_catalog.pg_database").sql,
            "SELECT * FROM pg_database");
  EXPECT_EQ(RewriteForSqlite("SELECT a FROM t WHERE b ILIKE 'x%'").sql,
            "SELECT a FROM t WHERE b LIKE 'x%'");
  EXPECT_EQ(RewriteForSqlite("SELECT a IS DISTINCT FROM b").sql, "SELECT a IS NOT b");
  EXPECT_EQ(RewriteForSqlite("SELECT a FROM t LIMIT ALL").sql, "SELECT a FROM t LIMIT -1");
  EXPECT_EQ(RewriteForSqlite("SELECT true, false").sql, "SELECT 1, 0");
}

TEST(SqlRewriteTest, CreateTableSpellings) {
  EXPECT_EQ(RewriteForSqlite("CREATE TABLE t (id serial PRIMARY KEY, n bigserial, serial int)").sql,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, serial int)");
  EXPECT_EQ(RewriteForSqlite("CREATE TABLE t (a TIMESTAMPTZ DEFAULT now(), b TEXT DEFAULT "
                             "current_user, c INT DEFAULT 1)")
                .sql,
            "CREATE TABLE t (a TIMESTAMPTZ DEFAULT (now()), b TEXT DEFAULT (current_user()), "
            "c INT DEFAULT 1)");
  EXPECT_EQ(RewriteForSqlite("SELECT serial FROM t").sql, "SELECT serial FROM t");
  EXPECT_EQ(RewriteForSqlite("CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY "
                             "(START WITH 10) PRIMARY KEY, s text DEFAULT 'x'::text)")
                .sql,
            "CREATE TABLE t (id INTEGER  PRIMARY KEY, s text DEFAULT (CAST('x' AS TEXT)))");
  EXPECT_EQ(RewriteForSqlite("create table b(bid int not null, filler char(88)) with "
                             "(fillfactor=100)")
                .sql,
            "create table b(bid int not null, filler char(88)) ");
  EXPECT_EQ(RewriteForSqlite("CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY)").sql,
            "CREATE TABLE t (id INTEGER )");
}

TEST(SqlRewriteTest, ResultColumnNamesAndTypes) {
  Rewritten r = RewriteForSqlite(
      "SELECT 1, 2147483648, 1.5, 'x', count(*), now(), a, t.b, a = 1, 'a' || 'b', "
      "CASE WHEN a THEN 1 END, (c), -3, NULL, version() v, \"Mixed\", x AS \"Y\" FROM t");
  ASSERT_TRUE(r.items_known);
  ASSERT_EQ(r.items.size(), 17u);
  auto name = [&](size_t i) { return r.items[i].name; };
  auto type = [&](size_t i) { return r.items[i].type_oid; };
  EXPECT_EQ(name(0), "?column?");
  EXPECT_EQ(type(0), oid::kInt4);
  EXPECT_EQ(type(1), oid::kInt8);
  EXPECT_EQ(type(2), oid::kNumeric);
  EXPECT_EQ(type(3), oid::kText);
  EXPECT_EQ(name(4), "count");
  EXPECT_EQ(type(4), oid::kInt8);
  EXPECT_EQ(name(5), "now");
  EXPECT_EQ(type(5), oid::kTimestamptz);
  EXPECT_EQ(name(6), "a");
  EXPECT_EQ(type(6), 0u);
  EXPECT_EQ(name(7), "b");
  EXPECT_EQ(type(8), oid::kBool);
  EXPECT_EQ(type(9), oid::kText);
  EXPECT_EQ(name(10), "case");
  EXPECT_EQ(name(11), "c");
  EXPECT_EQ(type(12), oid::kInt4);
  EXPECT_EQ(name(13), "?column?");
  EXPECT_EQ(name(14), "v");
  EXPECT_EQ(name(15), "Mixed");
  EXPECT_EQ(name(16), "Y");
}

TEST(SqlRewriteTest, WindowFunctionsAreNotAliases) {
  Rewritten r = RewriteForSqlite("SELECT count(*) OVER (PARTITION BY a) FROM t");
  ASSERT_TRUE(r.items_known);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_NE(r.items[0].name, "over");
}

TEST(SqlRewriteTest, StarAndReturning) {
  EXPECT_FALSE(RewriteForSqlite("SELECT * FROM t").items_known);
  EXPECT_FALSE(RewriteForSqlite("SELECT t.*, 1 FROM t").items_known);
  Rewritten r = RewriteForSqlite("INSERT INTO t(a) VALUES ($1) RETURNING a, a::text AS s");
  ASSERT_TRUE(r.items_known);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].name, "a");
  EXPECT_EQ(r.items[1].name, "s");
  EXPECT_EQ(r.items[1].type_oid, oid::kText);
  // The inner SELECT of INSERT ... SELECT is not the result.
  EXPECT_FALSE(RewriteForSqlite("INSERT INTO t SELECT 1").items_known);
}

TEST(SqlRewriteTest, UnterminatedInputIsASyntaxError) {
  EXPECT_EQ(RewriteForSqlite("SELECT 'abc").error, "unterminated quoted string");
  EXPECT_EQ(RewriteForSqlite("SELECT /* x").error, "unterminated /* comment");
  EXPECT_EQ(RewriteForSqlite("SELECT \"x").error, "unterminated quoted identifier");
  EXPECT_EQ(RewriteForSqlite("SELECT $a$ x").error, "unterminated dollar-quoted string");
}

}  // namespace
}  // namespace bgw::sql

namespace bgw::sql {
namespace {

// Random statements from PostgreSQL's trickiest pieces: the lexer, splitter
// and rewriter must never crash, loop or read out of bounds on any of them.
TEST(SqlRewriteTest, SurvivesRandomInput) {
  const char* const kPieces[] = {
      "SELECT", " ",         "'",        "''",        "E'",     "\\",        "$",      "$$",
      "$a$",    "$1",        "::",       "int",       "(",      ")",         ",",      ";",
      "--",     "\n",        "/*",       "*/",        "\"",     "CAST",      "AS",     "x",
      ".",      "*",         "CASE",     "END",       "true",   "default",   "create", "table",
      "serial", "generated", "with",     "returning", "select", "from",      "1.5e",   "0x",
      "-",      "IS",        "DISTINCT", "LIMIT",     "ALL",    "pg_catalog"};
  uint32_t seed = 12345;
  auto next = [&]() {
    seed = seed * 1103515245 + 12345;
    return (seed >> 16) & 0x7fff;
  };
  for (int round = 0; round < 3000; ++round) {
    std::string sql;
    const int n = static_cast<int>(next() % 24);
    for (int k = 0; k < n; ++k) sql += kPieces[next() % (sizeof(kPieces) / sizeof(kPieces[0]))];
    std::vector<std::string> parts = Session::SplitStatements(sql);
    Rewritten r = RewriteForSqlite(sql);
    for (const std::string& p : parts) (void)RewriteForSqlite(p);
    if (r.error.empty()) {
      EXPECT_LE(r.param_casts.size(), static_cast<size_t>(r.max_param)) << sql;
    }
  }
}

TEST(FirstKeywordTest, SkipsCommentsAndFoldsCase) {
  EXPECT_EQ(FirstKeyword("  -- note\n/* a /* nested */ b */ SeLeCt 1"), "select");
  EXPECT_EQ(FirstKeyword("\"Select\" 1"), "");  // a quoted identifier is no keyword
  EXPECT_EQ(FirstKeyword("(SELECT 1)"), "");
  EXPECT_EQ(FirstKeyword("   "), "");
  EXPECT_EQ(FirstKeyword("with_x AS (SELECT 1)"), "with_x");
}

}  // namespace
}  // namespace bgw::sql
