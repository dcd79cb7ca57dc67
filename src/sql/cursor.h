// A cursor over a statement's significant tokens, for the statements the
// engine parses itself (utility.cc, catalog_commands.cc, acl_commands.cc):
// accept a keyword, an identifier, a string or an integer, or report a
// syntax error at the token it stopped at, in PostgreSQL's words.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sql/lexer.h"
#include "sql/session_internal.h"
#include "sql/value.h"

namespace bgw::sql::internal {

// Walks significant tokens.
class Cursor {
 public:
  explicit Cursor(const std::vector<Token>& t) : t_(t) {}
  bool AtEnd() const { return i_ >= t_.size(); }
  const Token* Peek() const { return AtEnd() ? nullptr : &t_[i_]; }
  std::string PeekWord() const { return AtEnd() ? std::string() : LowerWord(t_[i_]); }
  bool Accept(const char* word) {
    if (PeekWord() == word) {
      ++i_;
      return true;
    }
    return false;
  }
  bool AcceptOp(std::string_view op) {
    if (!AtEnd() && t_[i_].kind == TokenKind::kOp && t_[i_].text == op) {
      ++i_;
      return true;
    }
    return false;
  }
  bool AcceptKind(TokenKind k) {
    if (!AtEnd() && t_[i_].kind == k) {
      ++i_;
      return true;
    }
    return false;
  }
  // An identifier (folded) or nullopt.
  std::optional<std::string> Ident() {
    if (AtEnd()) return std::nullopt;
    const Token& t = t_[i_];
    if (t.kind != TokenKind::kWord && t.kind != TokenKind::kQuotedIdent) return std::nullopt;
    ++i_;
    return IdentifierValue(t);
  }
  // A string constant.
  std::optional<std::string> String() {
    if (AtEnd()) return std::nullopt;
    std::string v;
    if (!StringValue(t_[i_], &v)) return std::nullopt;
    ++i_;
    return v;
  }
  // An integer, optionally negative.
  std::optional<int64_t> Integer() {
    size_t save = i_;
    bool negative = AcceptOp("-");
    if (AtEnd() || t_[i_].kind != TokenKind::kNumber) {
      i_ = save;
      return std::nullopt;
    }
    Result<Value> v = ParseText(t_[i_].text, oid::kInt8);
    if (!v.ok()) {
      i_ = save;
      return std::nullopt;
    }
    ++i_;
    return negative ? -v->i : v->i;
  }
  // An optional IF EXISTS (with `not_exists`, IF NOT EXISTS): whether it
  // was written; a syntax error for an IF without the rest.
  Result<bool> IfExists(bool not_exists = false) {
    if (!Accept("if")) return false;
    if ((not_exists && !Accept("not")) || !Accept("exists")) return SyntaxError();
    return true;
  }
  // A string constant or an identifier (a version: '1.0' or v1).
  std::optional<std::string> StringOrIdent() {
    std::optional<std::string> s = String();
    return s ? s : Ident();
  }
  // The error for the token we are at.
  ErrorReport SyntaxError() const {
    if (AtEnd()) return MakeError("42601", "syntax error at end of input");
    return MakeError("42601", "syntax error at or near \"" + std::string(t_[i_].text) + "\"");
  }

 private:
  const std::vector<Token>& t_;
  size_t i_ = 0;
};

inline bool IsTrue(const std::string& w) {
  return w == "true" || w == "on" || w == "1" || w == "t" || w == "yes";
}

// A SQL identifier, double-quoted.
inline std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

inline UtilityResult Tag(std::string tag) { return UtilityResult{std::move(tag), {}}; }

}  // namespace bgw::sql::internal
