// The one PostgreSQL-aware SQL lexer: every part of the server that looks
// at SQL text (the rewriter in rewrite.h, statement classification in the
// session, CREATE FUNCTION parsing, SPI's statement checks) reads these
// tokens, so a literal, a dollar quote or a quoted identifier is never
// mistaken for a keyword anywhere.
//
// Why a lexer and not a parser: SQLite parses the statements; we only need
// to find statement boundaries and to rewrite a handful of PostgreSQL
// spellings without ever touching the inside of a literal or a quoted
// identifier. A token stream with source offsets gives exactly that.
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

// The syntax error for a token that runs to the end of the text
// (Token::unterminated), by kind: "unterminated quoted string", ...
const char* UnterminatedMessage(TokenKind kind);

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

}  // namespace bgw::sql
