// A small PostgreSQL-aware SQL lexer and the rewriter that turns PostgreSQL
// spellings into SQLite ones inside otherwise ordinary statements.
//
// Why a lexer and not a parser: SQLite parses the statements; we only need
// to find statement boundaries and to rewrite a handful of PostgreSQL
// spellings ($n, expr::type, E'' strings, dollar quotes, current_user, ...)
// without ever touching the inside of a literal or a quoted identifier. A
// token stream with source offsets gives exactly that. The rewriter also
// learns, for the outermost select list (or RETURNING list), what PostgreSQL
// would name each result column and which type an explicit cast or a
// literal gives it, so RowDescription matches PostgreSQL's where SQLite has
// no declared type to offer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bgw::sql {

enum class TokenKind {
  kSpace,         // whitespace
  kComment,       // -- ... or /* ... */ (nested)
  kWord,          // identifier or keyword, unquoted
  kQuotedIdent,   // "ident" ("" inside)
  kString,        // '...', E'...', X'...', B'...', N'...', U&'...'
  kDollarString,  // $tag$ ... $tag$
  kNumber,        // 1, 1.5, .5e3, 0x1F
  kParam,         // $1
  kOp,            // operators and punctuation other than the below
  kLParen,
  kRParen,
  kComma,
  kSemicolon,
  kCast,  // ::
  kDot,
};

struct Token {
  TokenKind kind;
  size_t begin = 0;  // offsets into the source text
  size_t end = 0;
  std::string_view text;
  bool unterminated = false;  // a string/identifier/comment runs to the end
};

// Lexes all of `sql`. Never fails: unterminated constructs run to the end
// (flagged), unknown bytes become one-character operators.
std::vector<Token> Lex(std::string_view sql);

// The significant tokens only (no spaces, no comments).
std::vector<Token> SignificantTokens(std::string_view sql);

// The first significant token folded as a keyword ("select" for
// "/* c */ SELECT 1"), or "" when the statement does not start with a word.
std::string FirstKeyword(std::string_view sql);

// Splits at top-level semicolons; empty statements are dropped.
std::vector<std::string> SplitSql(std::string_view sql);

// A word folded as PostgreSQL folds unquoted identifiers (ASCII lower case),
// or a quoted identifier's content with "" undoubled.
std::string IdentifierValue(const Token& token);
// The value of a string token ('..', E'..', $$..$$), escapes processed.
// False when the token is not a plain string constant we can decode.
bool StringValue(const Token& token, std::string* out);
// `value` as a SQLite string literal.
std::string QuoteLiteral(std::string_view value);

// What the rewriter learned about one outermost result column.
struct ResultItem {
  std::string name;       // PostgreSQL's column name; "" = let SQLite name it (alias, '*')
  uint32_t type_oid = 0;  // 0 = unknown (use declared type or the value)
  int param = 0;          // > 0: the column is exactly $param (typed as the parameter)
  std::string call;       // untyped call of this function (a C function's type is looked up)
};

struct Rewritten {
  std::string sql;                    // SQLite's dialect
  int max_param = 0;                  // highest $n used
  std::vector<uint32_t> param_casts;  // per $n (index n-1): cast type, 0 = none
  bool items_known = false;           // `items` corresponds 1:1 to result columns
  std::vector<ResultItem> items;
  std::string error;  // non-empty: cannot rewrite (42601 with this message)
};

// Rewrites one statement. Type OIDs come from value.h's TypeOidFromName.
Rewritten RewriteForSqlite(std::string_view sql);

}  // namespace bgw::sql
