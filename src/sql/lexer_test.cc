// Tests for the statement splitter and the lexer: literals, comments and
// quoted identifiers are tokens of their own, never split or misread.
#include "sql/lexer.h"

#include <gtest/gtest.h>

#include "sql/session.h"

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

TEST(FirstKeywordTest, SkipsCommentsAndFoldsCase) {
  EXPECT_EQ(FirstKeyword("  -- note\n/* a /* nested */ b */ SeLeCt 1"), "select");
  EXPECT_EQ(FirstKeyword("\"Select\" 1"), "");  // a quoted identifier is no keyword
  EXPECT_EQ(FirstKeyword("(SELECT 1)"), "");
  EXPECT_EQ(FirstKeyword("   "), "");
  EXPECT_EQ(FirstKeyword("with_x AS (SELECT 1)"), "with_x");
}

}  // namespace
}  // namespace bgw::sql
