// The lexer, the statement splitter and the PostgreSQL-to-SQLite rewriter
// (see lexer.h for why this is token-based rather than a parser).
//
// The rewriter walks the whole token stream once, copying every token to an
// output "chunk" (one per token). A primary expression (literal, parameter,
// possibly qualified name, function call, parenthesized expression, CASE ...
// END) is remembered by the chunk index where it starts; `::type` then folds
// the chunks from that index into one CAST. Brackets keep a stack so a
// closing parenthesis knows where its primary began.
#include "sql/lexer.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>

#include "common/strutil.h"
#include "sql/value.h"

namespace bgw::sql {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsOpChar(char c) {
  switch (c) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '<':
    case '>':
    case '=':
    case '~':
    case '!':
    case '@':
    case '#':
    case '%':
    case '^':
    case '&':
    case '|':
    case '`':
    case '?':
      return true;
    default:
      return false;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Scans a quoted run starting at `pos` (the opening quote); `backslash`
// makes \x escape the next byte. Returns the end offset (past the closing
// quote) and sets *unterminated when the text ends first.
size_t ScanQuoted(std::string_view s, size_t pos, char quote, bool backslash, bool* unterminated) {
  size_t i = pos + 1;
  while (i < s.size()) {
    if (backslash && s[i] == '\\') {
      i += 2;
      continue;
    }
    if (s[i] == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  *unterminated = true;
  return s.size();
}

}  // namespace

std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto push = [&](TokenKind kind, size_t begin, size_t end, bool unterminated = false) {
    Token t;
    t.kind = kind;
    t.begin = begin;
    t.end = end;
    t.text = s.substr(begin, end - begin);
    t.unterminated = unterminated;
    out.push_back(t);
    i = end;
  };
  while (i < s.size()) {
    const char c = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (IsSpace(c)) {
      size_t j = i;
      while (j < s.size() && IsSpace(s[j])) ++j;
      push(TokenKind::kSpace, i, j);
    } else if (c == '-' && next == '-') {
      size_t j = i;
      while (j < s.size() && s[j] != '\n') ++j;
      push(TokenKind::kComment, i, j);
    } else if (c == '/' && next == '*') {
      int depth = 0;
      size_t j = i;
      bool closed = false;
      while (j < s.size()) {
        if (s[j] == '/' && j + 1 < s.size() && s[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (s[j] == '*' && j + 1 < s.size() && s[j + 1] == '/') {
          j += 2;
          if (--depth == 0) {
            closed = true;
            break;
          }
        } else {
          ++j;
        }
      }
      push(TokenKind::kComment, i, j, !closed);
    } else if (c == '\'') {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i, '\'', false, &unterminated);
      push(TokenKind::kString, i, end, unterminated);
    } else if ((c == 'e' || c == 'E') && next == '\'') {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i + 1, '\'', true, &unterminated);
      push(TokenKind::kString, i, end, unterminated);
    } else if ((c == 'x' || c == 'X' || c == 'b' || c == 'B' || c == 'n' || c == 'N') &&
               next == '\'') {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i + 1, '\'', false, &unterminated);
      push(TokenKind::kString, i, end, unterminated);
    } else if ((c == 'u' || c == 'U') && next == '&' && i + 2 < s.size() &&
               (s[i + 2] == '\'' || s[i + 2] == '"')) {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i + 2, s[i + 2], false, &unterminated);
      push(s[i + 2] == '\'' ? TokenKind::kString : TokenKind::kQuotedIdent, i, end, unterminated);
    } else if (c == '"') {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i, '"', false, &unterminated);
      push(TokenKind::kQuotedIdent, i, end, unterminated);
    } else if (c == '$' && IsDigit(next)) {
      size_t j = i + 1;
      while (j < s.size() && IsDigit(s[j])) ++j;
      push(TokenKind::kParam, i, j);
    } else if (c == '$' && (next == '$' || IsIdentStart(next))) {
      // $tag$ ... $tag$; the tag has no '$' and no digits first.
      size_t j = i + 1;
      while (j < s.size() && s[j] != '$' && (IsIdentStart(s[j]) || IsDigit(s[j]))) ++j;
      if (j < s.size() && s[j] == '$') {
        std::string_view tag = s.substr(i, j + 1 - i);
        size_t close = s.find(tag, j + 1);
        if (close == std::string_view::npos) {
          push(TokenKind::kDollarString, i, s.size(), true);
        } else {
          push(TokenKind::kDollarString, i, close + tag.size());
        }
      } else {
        push(TokenKind::kOp, i, i + 1);
      }
    } else if (IsDigit(c) || (c == '.' && IsDigit(next))) {
      size_t j = i;
      if (c == '0' && (next == 'x' || next == 'X')) {
        j += 2;
        while (j < s.size() && std::isxdigit(static_cast<unsigned char>(s[j]))) ++j;
      } else {
        while (j < s.size() && IsDigit(s[j])) ++j;
        // "1..2" is not a number followed by ".2"; PostgreSQL's lexer agrees.
        if (j < s.size() && s[j] == '.' && !(j + 1 < s.size() && s[j + 1] == '.')) {
          ++j;
          while (j < s.size() && IsDigit(s[j])) ++j;
        }
        if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
          size_t k = j + 1;
          if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
          if (k < s.size() && IsDigit(s[k])) {
            j = k;
            while (j < s.size() && IsDigit(s[j])) ++j;
          }
        }
      }
      push(TokenKind::kNumber, i, j);
    } else if (IsIdentStart(c)) {
      size_t j = i;
      while (j < s.size() && IsIdentChar(s[j])) ++j;
      push(TokenKind::kWord, i, j);
    } else if (c == ':' && next == ':') {
      push(TokenKind::kCast, i, i + 2);
    } else if (c == '(') {
      push(TokenKind::kLParen, i, i + 1);
    } else if (c == ')') {
      push(TokenKind::kRParen, i, i + 1);
    } else if (c == ',') {
      push(TokenKind::kComma, i, i + 1);
    } else if (c == ';') {
      push(TokenKind::kSemicolon, i, i + 1);
    } else if (c == '.') {
      push(TokenKind::kDot, i, i + 1);
    } else if (IsOpChar(c)) {
      size_t j = i;
      while (j < s.size() && IsOpChar(s[j])) {
        // A comment start ends the operator.
        if (j > i && ((s[j] == '-' && j + 1 < s.size() && s[j + 1] == '-') ||
                      (s[j] == '/' && j + 1 < s.size() && s[j + 1] == '*'))) {
          break;
        }
        ++j;
      }
      // PostgreSQL: a multi-character operator may not end in + or - unless it
      // contains one of ~ ! @ # % ^ & | ` ? (so "=-1" is "=" then "-1").
      while (j - i > 1 && (s[j - 1] == '+' || s[j - 1] == '-')) {
        bool special = false;
        for (size_t k = i; k < j; ++k) {
          if (std::string_view("~!@#%^&|`?").find(s[k]) != std::string_view::npos) special = true;
        }
        if (special) break;
        --j;
      }
      push(TokenKind::kOp, i, j);
    } else {
      push(TokenKind::kOp, i, i + 1);
    }
  }
  return out;
}

std::vector<Token> SignificantTokens(std::string_view sql) {
  std::vector<Token> out;
  for (const Token& t : Lex(sql)) {
    if (t.kind != TokenKind::kSpace && t.kind != TokenKind::kComment) out.push_back(t);
  }
  return out;
}

std::string FirstKeyword(std::string_view sql) {
  for (const Token& t : Lex(sql)) {
    if (t.kind == TokenKind::kSpace || t.kind == TokenKind::kComment) continue;
    return t.kind == TokenKind::kWord ? IdentifierValue(t) : std::string();
  }
  return {};
}

std::vector<std::string> SplitSql(std::string_view sql) {
  std::vector<std::string> out;
  size_t start = 0;
  bool significant = false;
  // BEGIN ... END of CREATE TRIGGER bodies contain semicolons that do not
  // end the statement (SQLite's trigger syntax); track that nesting.
  int trigger_depth = 0;
  bool create_trigger = false;
  int words = 0;
  std::string first_words;
  auto flush = [&](size_t end) {
    if (significant) out.emplace_back(Trim(sql.substr(start, end - start)));
    start = end + 1;
    significant = false;
    trigger_depth = 0;
    create_trigger = false;
    words = 0;
    first_words.clear();
  };
  for (const Token& t : Lex(sql)) {
    if (t.kind == TokenKind::kSpace || t.kind == TokenKind::kComment) continue;
    if (t.kind == TokenKind::kSemicolon && trigger_depth == 0) {
      flush(t.begin);
      continue;
    }
    significant = true;
    // Only the first words and a trigger body's need looking at; this runs
    // over every simple query's text.
    if (t.kind == TokenKind::kWord && (words < 4 || create_trigger)) {
      std::string w = Lower(t.text);
      if (words < 4) {
        first_words += w + " ";
        ++words;
        if (first_words.rfind("create ", 0) == 0 && w == "trigger") create_trigger = true;
      }
      if (create_trigger && (w == "begin" || w == "case")) ++trigger_depth;
      if (create_trigger && w == "end" && trigger_depth > 0) --trigger_depth;
    }
  }
  flush(sql.size());
  return out;
}

std::string IdentifierValue(const Token& token) {
  if (token.kind == TokenKind::kQuotedIdent) {
    std::string_view body = token.text;
    if (body.size() >= 2 && body.front() == '"') body = body.substr(1);
    if (!token.unterminated && !body.empty() && body.back() == '"') body.remove_suffix(1);
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
      out += body[i];
      if (body[i] == '"' && i + 1 < body.size() && body[i + 1] == '"') ++i;
    }
    return out;
  }
  return Lower(token.text);
}

namespace {

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool StringValue(const Token& token, std::string* out) {
  out->clear();
  if (token.unterminated) return false;
  std::string_view t = token.text;
  if (token.kind == TokenKind::kDollarString) {
    size_t tag_end = t.find('$', 1);
    size_t tag_len = tag_end + 1;
    *out = std::string(t.substr(tag_len, t.size() - 2 * tag_len));
    return true;
  }
  if (token.kind != TokenKind::kString) return false;
  bool escapes = false;
  if (t[0] == 'e' || t[0] == 'E') {
    escapes = true;
    t = t.substr(1);
  } else if (t[0] == 'n' || t[0] == 'N') {
    t = t.substr(1);
  } else if (t[0] != '\'') {
    return false;  // X'', B'', U&'' are not plain strings
  }
  std::string_view body = t.substr(1, t.size() - 2);
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\'' && i + 1 < body.size() && body[i + 1] == '\'') {
      *out += '\'';
      ++i;
    } else if (escapes && c == '\\' && i + 1 < body.size()) {
      char e = body[++i];
      switch (e) {
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'x': {
          int v = 0, n = 0;
          while (n < 2 && i + 1 < body.size() && HexValue(body[i + 1]) >= 0) {
            v = v * 16 + HexValue(body[++i]);
            ++n;
          }
          if (n == 0) {
            *out += 'x';
          } else {
            *out += static_cast<char>(v);
          }
          break;
        }
        case 'u':
        case 'U': {
          int digits = e == 'u' ? 4 : 8;
          uint32_t v = 0;
          for (int k = 0; k < digits; ++k) {
            if (i + 1 >= body.size() || HexValue(body[i + 1]) < 0) return false;
            v = v * 16 + static_cast<uint32_t>(HexValue(body[++i]));
          }
          if (v == 0 || v > 0x10FFFF) return false;
          AppendUtf8(out, v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0', n = 1;
            while (n < 3 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7') {
              v = v * 8 + (body[++i] - '0');
              ++n;
            }
            *out += static_cast<char>(v & 0xFF);
          } else {
            *out += e;
          }
      }
    } else {
      *out += c;
    }
  }
  return true;
}

std::string QuoteLiteral(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// ---------------------------------------------------------------------------
// Rewriting.

namespace {

// Words ending a select list at depth 0.
bool EndsSelectList(const std::string& w) {
  static const char* const kWords[] = {
      "from",   "into",  "where",     "group",  "having", "window", "order",     "limit",
      "offset", "union", "intersect", "except", "fetch",  "for",    "returning", "on"};
  for (const char* k : kWords) {
    if (w == k) return true;
  }
  return false;
}

// Words that may not be an implicit alias ("SELECT a b" names a as b).
bool IsReservedWord(const std::string& w) {
  static const char* const kWords[] = {
      "and",    "or",       "not",    "is",      "in",      "like", "ilike",  "between",
      "as",     "null",     "true",   "false",   "case",    "when", "then",   "else",
      "end",    "distinct", "all",    "escape",  "collate", "glob", "regexp", "match",
      "isnull", "notnull",  "exists", "cast",    "select",  "asc",  "desc",   "over",
      "filter", "within",   "at",     "similar", "nulls",   "using"};
  for (const char* k : kWords) {
    if (w == k) return true;
  }
  return EndsSelectList(w);
}

// PostgreSQL's regular-expression match operators as SQLite's REGEXP
// (regexp(pattern, value)) and MATCH (match(pattern, value): the
// case-insensitive one), which functions.cc defines; nullptr for others.
const char* RegexOperator(std::string_view op) {
  if (op == "~") return " REGEXP ";
  if (op == "!~") return " NOT REGEXP ";
  if (op == "~*") return " MATCH ";
  if (op == "!~*") return " NOT MATCH ";
  return nullptr;
}

bool IsBoolOperator(std::string_view op) {
  return op == "=" || op == "==" || op == "<>" || op == "!=" || op == "<" || op == ">" ||
         op == "<=" || op == ">=";
}

// Return types of functions the engine (and system.cc) provides, for result
// columns without a declared type.
uint32_t FunctionReturnType(const std::string& name) {
  struct Entry {
    const char* name;
    uint32_t oid;
  };
  static const Entry kTable[] = {
      {"version", oid::kText},
      {"current_database", oid::kName},
      {"current_user", oid::kName},
      {"session_user", oid::kName},
      {"user", oid::kName},
      {"current_role", oid::kName},
      {"current_schema", oid::kName},
      {"current_catalog", oid::kName},
      {"now", oid::kTimestamptz},
      {"statement_timestamp", oid::kTimestamptz},
      {"clock_timestamp", oid::kTimestamptz},
      {"transaction_timestamp", oid::kTimestamptz},
      {"pg_backend_pid", oid::kInt4},
      {"pg_is_in_recovery", oid::kBool},
      {"count", oid::kInt8},
      {"exists", oid::kBool},
      {"pg_terminate_backend", oid::kBool},
      {"pg_cancel_backend", oid::kBool},
      {"pg_reload_conf", oid::kBool},
      {"bgw_terminate_worker", oid::kBool},
      {"bgw_launch_worker", oid::kInt4},
      {"has_table_privilege", oid::kBool},
      {"has_any_column_privilege", oid::kBool},
      {"has_column_privilege", oid::kBool},
      {"has_schema_privilege", oid::kBool},
      {"has_database_privilege", oid::kBool},
      {"has_function_privilege", oid::kBool},
      {"pg_has_role", oid::kBool},
      {"pg_table_is_visible", oid::kBool},
      {"pg_get_userbyid", oid::kName},
      {"pg_encoding_to_char", oid::kName},
      {"array_to_string", oid::kText},
      {"obj_description", oid::kText},
      {"col_description", oid::kText},
      {"shobj_description", oid::kText},
      {"length", oid::kInt4},
      {"char_length", oid::kInt4},
      {"lower", oid::kText},
      {"upper", oid::kText},
      {"substr", oid::kText},
      {"substring", oid::kText},
      {"concat", oid::kText},
      {"current_setting", oid::kText},
      {"set_config", oid::kText},
      {"string_agg", oid::kText},
      {"pg_sleep", 2278 /* void */},
      {"pg_notify", 2278},
  };
  for (const Entry& e : kTable) {
    if (name == e.name) return e.oid;
  }
  return 0;
}

// How a PostgreSQL type is represented in SQLite after a cast.
enum class CastStyle { kFunction, kText, kBlob, kNone };

CastStyle StyleFor(uint32_t type) {
  switch (type) {
    case oid::kBool:
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
    case oid::kOid:
    case oid::kFloat4:
    case oid::kFloat8:
    case oid::kNumeric:
      return CastStyle::kFunction;
    case oid::kText:
    case oid::kVarchar:
    case oid::kName:
      return CastStyle::kText;
    case oid::kBytea:
      return CastStyle::kBlob;
    default:
      return CastStyle::kNone;
  }
}

// Words that are spelled without parentheses in PostgreSQL but are functions
// here.
const char* NiladicFunction(const std::string& w) {
  if (w == "current_user" || w == "current_role") return "current_user()";
  if (w == "session_user") return "session_user()";
  if (w == "user") return "current_user()";
  if (w == "current_catalog") return "current_database()";
  if (w == "current_schema") return "current_schema()";
  if (w == "current_timestamp" || w == "localtimestamp") return "now()";
  return nullptr;
}

struct Primary {
  int start = -1;  // chunk index
  std::string name;
  uint32_t type = 0;
  int param = 0;     // > 0: the primary is exactly $param
  std::string call;  // the primary is a call of this function
  int events = 1;
};

struct Frame {
  int open_chunk = 0;  // the '(' (or CASE) chunk
  int primary_start = 0;
  std::string func;  // function name ("" for a plain parenthesis)
  bool is_case = false;
  bool is_cast_call = false;    // CAST( ... AS type )
  bool wrap_in_parens = false;  // DEFAULT f(...) becomes DEFAULT (f(...))
  int as_chunk = -1;
  uint32_t cast_type = 0;
  std::string cast_sql;  // the SQLite spelling of the cast target
  std::string cast_name;
  // Inner content summary, for "(x)" naming.
  int inner_events = 0;
  Primary inner;
  std::string close_suffix;  // emitted after the ')' (ARRAY(subquery), = ANY(array))
};

// One outermost result column being collected.
struct Item {
  int events = 0;  // depth-0 significant things in the item
  std::vector<Primary> primaries;
  bool has_bool_op = false;
  bool has_concat = false;
  bool leading_sign = false;
  bool star = false;
  std::string alias;
  bool expect_alias = false;  // just saw AS
};

class Rewriter {
 public:
  explicit Rewriter(std::string_view sql) : sql_(sql), tokens_(Lex(sql)) {}

  Rewritten Run();

 private:
  // Next significant token index after i (or tokens_.size()).
  size_t NextSig(size_t i) const {
    ++i;
    while (i < tokens_.size() &&
           (tokens_[i].kind == TokenKind::kSpace || tokens_[i].kind == TokenKind::kComment)) {
      ++i;
    }
    return i;
  }
  // Previous significant token index before i (tokens_.size() if none).
  size_t NextSigBack(size_t i) const {
    while (i > 0) {
      --i;
      if (tokens_[i].kind != TokenKind::kSpace && tokens_[i].kind != TokenKind::kComment) return i;
    }
    return tokens_.size();
  }
  bool WordAt(size_t i, const char* w) const {
    return i < tokens_.size() && tokens_[i].kind == TokenKind::kWord && Lower(tokens_[i].text) == w;
  }
  // Parses a type name starting at token i; returns the index after it.
  size_t ParseTypeName(size_t i, std::string* written) const;
  void Emit(std::string text) { chunks_.push_back(std::move(text)); }
  std::string Join(int from, int to) const {
    std::string out;
    for (int k = from; k < to; ++k) out += chunks_[static_cast<size_t>(k)];
    return out;
  }
  // Replaces chunks [from, end) with `text`.
  void Collapse(int from, std::string text) {
    chunks_.resize(static_cast<size_t>(from));
    chunks_.push_back(std::move(text));
  }
  // PostgreSQL constructs spelled with words that SQLite lacks: OPERATOR(
  // schema.op), COLLATE "default", ARRAY(subquery), op ANY/ALL (...). True
  // when the word at *i was rewritten (and *i moved past what it consumed).
  bool RewriteOperatorWord(const std::string& w, size_t* i, bool in_list);
  // Whether the significant token before `i` ends an operand (so an
  // operator there is binary).
  bool AfterOperand(size_t i) const {
    size_t p = NextSigBack(i);
    if (p >= tokens_.size()) return false;
    const Token& t = tokens_[p];
    switch (t.kind) {
      case TokenKind::kWord:
        return !IsReservedWord(Lower(t.text));
      case TokenKind::kQuotedIdent:
      case TokenKind::kString:
      case TokenKind::kDollarString:
      case TokenKind::kNumber:
      case TokenKind::kParam:
      case TokenKind::kRParen:
        return true;
      default:
        return false;
    }
  }
  // Applies a cast of the last primary to the type written as `type_text`.
  bool ApplyCast(Primary* p, const std::string& type_text);
  std::string CastSql(const std::string& expr, uint32_t type) const;

  // The last non-blank chunk before `index`, compared case-insensitively.
  int PreviousChunk(int index) const {
    for (int k = index - 1; k >= 0; --k) {
      if (!Trim(chunks_[static_cast<size_t>(k)]).empty()) return k;
    }
    return -1;
  }
  bool PreviousChunkIs(int index, const char* word) const {
    int k = PreviousChunk(index);
    return k >= 0 && Lower(chunks_[static_cast<size_t>(k)]) == word;
  }

  void SetPrimary(Primary p) {
    last_ = std::move(p);
    last_valid_ = true;
  }
  void EndItem();

  std::string_view sql_;
  std::vector<Token> tokens_;
  std::vector<std::string> chunks_;
  std::vector<Frame> stack_;
  Primary last_;
  bool last_valid_ = false;
  Rewritten result_;

  // Select-list tracking.
  enum class ListState { kBefore, kIn, kDone };
  ListState list_ = ListState::kBefore;
  bool list_is_returning_ = false;
  Item item_;
  bool list_failed_ = false;
  int statement_word_count_ = 0;
  std::string first_word_;
  // A word followed by '(' waits for the parenthesis to become a call.
  std::string pending_func_;
  int pending_func_start_ = -1;
  bool pending_wrap_ = false;
  std::string pending_suffix_;  // the next frame's close_suffix
  // Where a qualified name a.b.c started (set at each '.').
  int qualified_start_ = -1;
};

bool Rewriter::RewriteOperatorWord(const std::string& w, size_t* at, bool in_list) {
  size_t i = *at;
  const size_t n = NextSig(i);
  const bool paren = n < tokens_.size() && tokens_[n].kind == TokenKind::kLParen;
  if (w == "operator" && paren) {
    // OPERATOR(pg_catalog.~): the operator alone.
    size_t k = NextSig(n);
    std::string op;
    while (k < tokens_.size() && tokens_[k].kind != TokenKind::kRParen) {
      if (tokens_[k].kind == TokenKind::kOp) op = std::string(tokens_[k].text);
      k = NextSig(k);
    }
    if (k >= tokens_.size() || op.empty()) return false;
    const char* regex = RegexOperator(op);
    Emit(regex != nullptr ? std::string(regex) : " " + op + " ");
    for (size_t q = i + 1; q <= k; ++q) Emit("");
    if (in_list) {
      ++item_.events;
      item_.has_bool_op = true;
    }
    last_valid_ = false;
    *at = k;
    return true;
  }
  if (w == "collate") {
    // COLLATE [pg_catalog.]"default" is the column's own collation: say
    // nothing; "C" and "POSIX" are byte order, SQLite's BINARY.
    size_t k = n;
    if (WordAt(k, "pg_catalog")) {
      size_t dot = NextSig(k);
      if (dot < tokens_.size() && tokens_[dot].kind == TokenKind::kDot) k = NextSig(dot);
    }
    if (k >= tokens_.size()) return false;
    const std::string name = IdentifierValue(tokens_[k]);
    if (name != "default" && name != "C" && name != "POSIX" && name != "c" && name != "posix") {
      return false;
    }
    Emit(name == "default" ? "" : "COLLATE BINARY");
    for (size_t q = i + 1; q <= k; ++q) Emit("");
    *at = k;
    return true;
  }
  if (!paren) return false;
  const size_t first = NextSig(n);
  const bool subquery = WordAt(first, "select") || WordAt(first, "with") || WordAt(first, "values");
  if (w == "array" && subquery) {
    // ARRAY(subquery): its rows as an array, in text form ({a,b}).
    Emit("(WITH bgw_array(v) AS ");
    pending_func_ = "array";
    pending_func_start_ = static_cast<int>(chunks_.size()) - 1;
    pending_suffix_ = " SELECT bgw_array_agg(v) FROM bgw_array)";
    return true;
  }
  if (w == "any" || w == "some" || w == "all") {
    // x = ANY (...) is x IN (...), x <> ALL (...) is x NOT IN (...); over
    // an array (its text form), IN its elements.
    const int prev = PreviousChunk(static_cast<int>(chunks_.size()));
    if (prev < 0) return false;
    std::string& op = chunks_[static_cast<size_t>(prev)];
    const std::string trimmed(Trim(op));
    if (w != "all" && trimmed == "=") {
      op = " IN ";
    } else if (w == "all" && (trimmed == "<>" || trimmed == "!=")) {
      op = " NOT IN ";
    } else {
      return false;
    }
    if (subquery) {
      Emit("");
    } else {
      Emit("(SELECT value FROM json_each(bgw_array_json");
      pending_suffix_ = "))";
    }
    return true;
  }
  return false;
}

size_t Rewriter::ParseTypeName(size_t i, std::string* written) const {
  written->clear();
  i = NextSig(i - 1);  // skip leading space
  if (i >= tokens_.size()) return i;
  if (tokens_[i].kind == TokenKind::kQuotedIdent) {
    *written = IdentifierValue(tokens_[i]);
    return i + 1;
  }
  if (tokens_[i].kind != TokenKind::kWord) return i;
  // pg_catalog.int4
  if (Lower(tokens_[i].text) == "pg_catalog") {
    size_t dot = NextSig(i);
    if (dot < tokens_.size() && tokens_[dot].kind == TokenKind::kDot) i = NextSig(dot);
    if (i >= tokens_.size() || tokens_[i].kind != TokenKind::kWord) return i;
  }
  *written = Lower(tokens_[i].text);
  size_t end = i + 1;
  // Multi-word names.
  auto extend = [&](const char* w) {
    size_t n = NextSig(end - 1);
    if (WordAt(n, w)) {
      *written += " ";
      *written += w;
      end = n + 1;
      return true;
    }
    return false;
  };
  if (*written == "double") extend("precision");
  if (*written == "character" || *written == "bit") extend("varying");
  if (*written == "timestamp" || *written == "time") {
    size_t save = end;
    std::string save_written = *written;
    if (extend("with") || extend("without")) {
      if (!(extend("time") && extend("zone"))) {
        end = save;
        *written = save_written;
      }
    }
  }
  // (n[, m])
  size_t n = NextSig(end - 1);
  if (n < tokens_.size() && tokens_[n].kind == TokenKind::kLParen) {
    size_t k = n;
    std::string mods = "(";
    while (true) {
      k = NextSig(k);
      if (k >= tokens_.size()) return end;
      if (tokens_[k].kind == TokenKind::kRParen) break;
      if (tokens_[k].kind != TokenKind::kNumber && tokens_[k].kind != TokenKind::kComma) {
        return end;
      }
      mods += std::string(tokens_[k].text);
    }
    *written += mods + ")";
    end = k + 1;
  }
  // [] arrays: accepted and ignored (stored as text).
  n = NextSig(end - 1);
  while (n + 1 < tokens_.size() && tokens_[n].text == "[") {
    size_t close = NextSig(n);
    if (close < tokens_.size() && tokens_[close].text == "]") {
      *written += "[]";
      end = close + 1;
      n = NextSig(end - 1);
    } else {
      break;
    }
  }
  return end;
}

std::string Rewriter::CastSql(const std::string& expr, uint32_t type) const {
  switch (StyleFor(type)) {
    case CastStyle::kFunction:
      return "bgw_cast(" + expr + ", " + std::to_string(type) + ")";
    case CastStyle::kText:
      return "CAST(" + expr + " AS TEXT)";
    case CastStyle::kBlob:
      return "CAST(" + expr + " AS BLOB)";
    case CastStyle::kNone:
      break;
  }
  return "(" + expr + ")";
}

bool Rewriter::ApplyCast(Primary* p, const std::string& type_text) {
  uint32_t type = TypeOidFromName(type_text);
  std::string expr = Join(p->start, static_cast<int>(chunks_.size()));
  // SQLite wants a parenthesized expression after DEFAULT.
  const bool after_default = PreviousChunkIs(p->start, "default");
  Collapse(p->start, after_default ? "(" + CastSql(expr, type) + ")" : CastSql(expr, type));
  if (p->param > 0) {
    auto idx = static_cast<size_t>(p->param - 1);
    if (result_.param_casts.size() <= idx) result_.param_casts.resize(idx + 1, 0);
    if (type != 0) result_.param_casts[idx] = type;
  }
  p->param = 0;
  if (p->name.empty() || p->name == "?column?") {
    p->name = type != 0 ? TypeName(type) : type_text;
  }
  p->type = type != 0 ? type : oid::kText;
  return true;
}

void Rewriter::EndItem() {
  ResultItem r;
  if (item_.star) {
    list_failed_ = true;
  }
  // Strip an implicit or AS alias: the name is the alias.
  std::vector<Primary>& ps = item_.primaries;
  int events = item_.events;
  if (!item_.alias.empty()) r.name = item_.alias;
  if (events == 1 && ps.size() == 1) {
    if (r.name.empty()) r.name = ps[0].name.empty() ? "?column?" : ps[0].name;
    r.type_oid = ps[0].type;
    r.param = ps[0].param;
    if (r.type_oid == 0) r.call = ps[0].call;
  } else if (events == 2 && ps.size() == 1 && item_.leading_sign) {
    if (r.name.empty()) r.name = "?column?";
    r.type_oid = ps[0].type;
  } else {
    if (r.name.empty()) r.name = "?column?";
    if (item_.has_bool_op) {
      r.type_oid = oid::kBool;
    } else if (item_.has_concat) {
      r.type_oid = oid::kText;
    }
  }
  result_.items.push_back(r);
  item_ = Item{};
}

Rewritten Rewriter::Run() {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const Token& t = tokens_[i];
    const bool depth0 = stack_.empty();
    const bool in_list = list_ == ListState::kIn && depth0;
    switch (t.kind) {
      case TokenKind::kSpace:
        Emit(std::string(t.text));
        continue;
      case TokenKind::kComment:
        if (t.unterminated) {
          result_.error = "unterminated /* comment";
          return result_;
        }
        Emit(" ");
        continue;
      case TokenKind::kSemicolon:
        Emit(";");
        last_valid_ = false;
        continue;
      default:
        break;
    }
    if (t.unterminated) {
      if (t.kind == TokenKind::kComment) {
        result_.error = "unterminated /* comment";
      } else if (t.kind == TokenKind::kQuotedIdent) {
        result_.error = "unterminated quoted identifier";
      } else if (t.kind == TokenKind::kDollarString) {
        result_.error = "unterminated dollar-quoted string";
      } else {
        result_.error = "unterminated quoted string";
      }
      return result_;
    }
    ++statement_word_count_;
    const int chunk = static_cast<int>(chunks_.size());
    switch (t.kind) {
      case TokenKind::kString:
      case TokenKind::kDollarString: {
        std::string value;
        if ((t.kind == TokenKind::kDollarString || t.text[0] == 'e' || t.text[0] == 'E' ||
             t.text[0] == 'n' || t.text[0] == 'N') &&
            StringValue(t, &value)) {
          Emit(QuoteLiteral(value));
        } else {
          Emit(std::string(t.text));
        }
        Primary p;
        p.start = chunk;
        p.type = oid::kText;
        p.name = "?column?";
        if (in_list) {
          ++item_.events;
          item_.primaries.push_back(p);
        }
        SetPrimary(p);
        break;
      }
      case TokenKind::kNumber: {
        Emit(std::string(t.text));
        Primary p;
        p.start = chunk;
        p.name = "?column?";
        std::string_view n = t.text;
        const bool hex = n.size() > 1 && n[0] == '0' && (n[1] == 'x' || n[1] == 'X');
        if (n.find_first_of(".eE") == std::string_view::npos || hex) {
          errno = 0;
          char* end = nullptr;
          std::string copy(n);
          long long v = std::strtoll(copy.c_str(), &end, hex ? 16 : 10);
          if (errno == ERANGE) {
            p.type = oid::kNumeric;
          } else if (v >= std::numeric_limits<int32_t>::min() &&
                     v <= std::numeric_limits<int32_t>::max()) {
            p.type = oid::kInt4;
          } else {
            p.type = oid::kInt8;
          }
        } else {
          p.type = oid::kNumeric;
        }
        if (in_list) {
          ++item_.events;
          item_.primaries.push_back(p);
        }
        SetPrimary(p);
        break;
      }
      case TokenKind::kParam: {
        int n = std::atoi(std::string(t.text.substr(1)).c_str());
        if (n <= 0 || n > 65535) {
          result_.error = "there is no parameter $" + std::string(t.text.substr(1));
          return result_;
        }
        result_.max_param = std::max(result_.max_param, n);
        Emit("?" + std::to_string(n));
        Primary p;
        p.start = chunk;
        p.name = "?column?";
        p.param = n;
        if (in_list) {
          ++item_.events;
          item_.primaries.push_back(p);
        }
        SetPrimary(p);
        break;
      }
      case TokenKind::kQuotedIdent:
      case TokenKind::kWord: {
        std::string w = t.kind == TokenKind::kWord ? Lower(t.text) : std::string();
        const bool quoted = t.kind == TokenKind::kQuotedIdent;
        if (statement_word_count_ == 1) first_word_ = w;
        // CREATE TABLE|INDEX ... (...) WITH (storage_parameter = value, ...):
        // storage tuning SQLite has no use for; dropped.
        if (!quoted && first_word_ == "create" && stack_.empty() && w == "with") {
          size_t prev = NextSigBack(i);
          size_t open = NextSig(i);
          if (prev < tokens_.size() && tokens_[prev].kind == TokenKind::kRParen &&
              open < tokens_.size() && tokens_[open].kind == TokenKind::kLParen) {
            int depth = 0;
            size_t q = open;
            for (; q < tokens_.size(); ++q) {
              if (tokens_[q].kind == TokenKind::kLParen) ++depth;
              if (tokens_[q].kind == TokenKind::kRParen && --depth == 0) break;
            }
            if (q < tokens_.size()) {
              for (size_t k = i; k <= q; ++k) Emit("");
              i = q;
              last_valid_ = false;
              continue;
            }
          }
        }
        // The outermost select list and RETURNING list.
        if (!quoted && depth0) {
          if (list_ == ListState::kBefore && w == "select" &&
              (first_word_ == "select" || first_word_ == "with")) {
            list_ = ListState::kIn;
            Emit(std::string(t.text));
            last_valid_ = false;
            // DISTINCT / ALL are part of the list head.
            size_t n = NextSig(i);
            if (WordAt(n, "distinct") || WordAt(n, "all")) {
              size_t on = NextSig(n);
              if (WordAt(on, "on")) list_failed_ = true;
            }
            continue;
          }
          if (list_ == ListState::kBefore && w == "returning" && first_word_ != "select") {
            list_ = ListState::kIn;
            list_is_returning_ = true;
            Emit(std::string(t.text));
            last_valid_ = false;
            continue;
          }
          if (list_ == ListState::kIn && item_.events == 0 && (w == "distinct" || w == "all")) {
            Emit(std::string(t.text));
            continue;
          }
          if (list_ == ListState::kIn && EndsSelectList(w) && !list_is_returning_) {
            EndItem();
            list_ = ListState::kDone;
            Emit(std::string(t.text));
            last_valid_ = false;
            continue;
          }
        }
        if (!quoted && w == "pg_catalog") {
          // Our catalog objects live in the main schema: drop the qualifier.
          size_t dot = NextSig(i);
          if (dot < tokens_.size() && tokens_[dot].kind == TokenKind::kDot) {
            for (size_t k = i + 1; k <= dot; ++k) Emit("");
            i = dot;
            --statement_word_count_;
            continue;
          }
        }
        if (!quoted && RewriteOperatorWord(w, &i, in_list)) continue;
        // Alias handling inside the list.
        if (in_list) {
          if (!quoted && w == "as") {
            item_.expect_alias = true;
            Emit(std::string(t.text));
            last_valid_ = false;
            continue;
          }
          if (item_.expect_alias) {
            item_.alias = IdentifierValue(t);
            item_.expect_alias = false;
            Emit(std::string(t.text));
            last_valid_ = false;
            continue;
          }
          size_t n = NextSig(i);
          bool followed_by_paren = n < tokens_.size() && tokens_[n].kind == TokenKind::kLParen;
          bool followed_by_dot = n < tokens_.size() && tokens_[n].kind == TokenKind::kDot;
          if (last_valid_ && item_.events > 0 && !followed_by_paren && !followed_by_dot &&
              (quoted || !IsReservedWord(w)) && chunks_.size() > 0 &&
              !(i > 0 && tokens_[NextSigBack(i)].kind == TokenKind::kDot)) {
            item_.alias = IdentifierValue(t);
            Emit(std::string(t.text));
            last_valid_ = false;
            continue;
          }
        }
        if (!quoted) {
          // IS [NOT] DISTINCT FROM
          if (w == "is") {
            size_t a = NextSig(i);
            bool negated = WordAt(a, "not");
            size_t b = negated ? NextSig(a) : a;
            if (WordAt(b, "distinct")) {
              size_t c = NextSig(b);
              if (WordAt(c, "from")) {
                Emit(negated ? "IS" : "IS NOT");
                for (size_t k = i + 1; k <= c; ++k) Emit("");
                i = c;
                if (in_list) {
                  ++item_.events;
                  item_.has_bool_op = true;
                }
                last_valid_ = false;
                continue;
              }
            }
          }
          if (w == "ilike") {
            Emit("LIKE");
            if (in_list) {
              ++item_.events;
              item_.has_bool_op = true;
            }
            last_valid_ = false;
            continue;
          }
          if (w == "and" || w == "or" || w == "not" || w == "is" || w == "like" || w == "in" ||
              w == "between" || w == "isnull" || w == "notnull" || w == "glob") {
            Emit(std::string(t.text));
            if (in_list) {
              ++item_.events;
              item_.has_bool_op = true;
            }
            last_valid_ = false;
            continue;
          }
          if (w == "limit") {
            size_t n = NextSig(i);
            if (WordAt(n, "all")) {
              Emit("LIMIT -1");
              for (size_t k = i + 1; k <= n; ++k) Emit("");
              i = n;
              last_valid_ = false;
              continue;
            }
          }
          if (w == "case") {
            Frame f;
            f.open_chunk = chunk;
            f.primary_start = chunk;
            f.is_case = true;
            f.func = "case";
            if (in_list) ++item_.events;
            stack_.push_back(f);
            Emit(std::string(t.text));
            last_valid_ = false;
            continue;
          }
          if (w == "end" && !stack_.empty() && stack_.back().is_case) {
            Frame f = stack_.back();
            stack_.pop_back();
            Emit(std::string(t.text));
            Primary p;
            p.start = f.primary_start;
            p.name = "case";
            if (stack_.empty() && list_ == ListState::kIn) item_.primaries.push_back(p);
            SetPrimary(p);
            continue;
          }
          if (w == "as" && !stack_.empty() && stack_.back().is_cast_call &&
              stack_.back().as_chunk < 0) {
            Frame& f = stack_.back();
            std::string written;
            size_t end = ParseTypeName(i + 1, &written);
            if (written.empty()) {
              Emit(std::string(t.text));
              last_valid_ = false;
              continue;
            }
            f.as_chunk = chunk;
            f.cast_type = TypeOidFromName(written);
            f.cast_name = written;
            Emit(std::string(t.text));
            for (size_t k = i + 1; k < end; ++k) Emit("");
            i = end - 1;
            last_valid_ = false;
            continue;
          }
          if (w == "true" || w == "false") {
            Emit(w == "true" ? "1" : "0");
            Primary p;
            p.start = chunk;
            p.name = "bool";
            p.type = oid::kBool;
            if (in_list) {
              ++item_.events;
              item_.primaries.push_back(p);
            }
            SetPrimary(p);
            continue;
          }
          if (w == "null") {
            Emit(std::string(t.text));
            Primary p;
            p.start = chunk;
            p.name = "?column?";
            if (in_list) {
              ++item_.events;
              item_.primaries.push_back(p);
            }
            SetPrimary(p);
            continue;
          }
          size_t n = NextSig(i);
          bool followed_by_paren = n < tokens_.size() && tokens_[n].kind == TokenKind::kLParen;
          const char* niladic = NiladicFunction(w);
          bool after_dot = i > 0 && NextSigBack(i) < tokens_.size() &&
                           tokens_[NextSigBack(i)].kind == TokenKind::kDot;
          // SQLite wants a parenthesized expression after DEFAULT.
          const bool after_default = i > 0 && NextSigBack(i) < tokens_.size() &&
                                     Lower(tokens_[NextSigBack(i)].text) == "default";
          if (niladic != nullptr && !followed_by_paren && !after_dot) {
            Emit(after_default ? "(" + std::string(niladic) + ")" : std::string(niladic));
            Primary p;
            p.start = chunk;
            p.name = w == "localtimestamp" ? "localtimestamp" : w;
            if (w == "user" || w == "current_role") p.name = w;
            p.type = FunctionReturnType(w == "current_timestamp" ? "now" : w);
            if (w == "localtimestamp") p.type = oid::kTimestamptz;
            if (in_list) {
              ++item_.events;
              item_.primaries.push_back(p);
            }
            SetPrimary(p);
            continue;
          }
          if (followed_by_paren) {
            // A function call: the '(' handler picks this up.
            Emit(std::string(t.text));
            pending_wrap_ = after_default;
            pending_func_ = w;
            pending_func_start_ = after_dot && qualified_start_ >= 0 ? qualified_start_ : chunk;
            if (after_dot && in_list && !item_.primaries.empty()) {
              item_.primaries.pop_back();
              --item_.events;
            }
            last_valid_ = false;
            continue;
          }
        }
        // GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [(options)]: dropped; an
        // integer column becomes INTEGER so that with PRIMARY KEY SQLite
        // assigns the values.
        if (!quoted && first_word_ == "create" && stack_.size() == 1 && w == "generated") {
          size_t k = NextSig(i);
          if (WordAt(k, "by")) k = NextSig(k);
          if (WordAt(k, "always") || WordAt(k, "default")) {
            size_t as = NextSig(k);
            size_t identity = NextSig(as);
            if (WordAt(as, "as") && WordAt(identity, "identity")) {
              size_t end = identity;
              size_t after = NextSig(identity);
              if (after < tokens_.size() && tokens_[after].kind == TokenKind::kLParen) {
                int depth = 0;
                for (size_t q = after; q < tokens_.size(); ++q) {
                  if (tokens_[q].kind == TokenKind::kLParen) ++depth;
                  if (tokens_[q].kind == TokenKind::kRParen && --depth == 0) {
                    end = q;
                    break;
                  }
                }
              }
              int type_chunk = PreviousChunk(chunk);
              if (type_chunk >= 0 &&
                  StyleFor(TypeOidFromName(chunks_[static_cast<size_t>(type_chunk)])) ==
                      CastStyle::kFunction &&
                  TypeOidFromName(chunks_[static_cast<size_t>(type_chunk)]) != oid::kBool) {
                chunks_[static_cast<size_t>(type_chunk)] = "INTEGER";
              }
              for (size_t q = i; q <= end; ++q) Emit("");
              i = end;
              last_valid_ = false;
              continue;
            }
          }
        }
        // CREATE TABLE t (id serial PRIMARY KEY): SQLite's auto-assigned
        // keys are INTEGER PRIMARY KEY columns.
        if (!quoted && first_word_ == "create" && stack_.size() == 1 &&
            (w == "serial" || w == "bigserial" || w == "smallserial" || w == "serial4" ||
             w == "serial8")) {
          size_t prev = NextSigBack(i);
          size_t prevprev = prev < tokens_.size() ? NextSigBack(prev) : tokens_.size();
          if (prev < tokens_.size() &&
              (tokens_[prev].kind == TokenKind::kWord ||
               tokens_[prev].kind == TokenKind::kQuotedIdent) &&
              prevprev < tokens_.size() &&
              (tokens_[prevprev].kind == TokenKind::kLParen ||
               tokens_[prevprev].kind == TokenKind::kComma)) {
            Emit("INTEGER");
            last_valid_ = false;
            continue;
          }
        }
        // An identifier (possibly the next part of a qualified name).
        Emit(std::string(t.text));
        bool after_dot = i > 0 && NextSigBack(i) < tokens_.size() &&
                         tokens_[NextSigBack(i)].kind == TokenKind::kDot;
        if (!quoted && IsReservedWord(w) && !after_dot) {
          if (in_list) ++item_.events;
          last_valid_ = false;
          continue;
        }
        Primary p;
        p.name = IdentifierValue(t);
        if (after_dot && qualified_start_ >= 0) {
          p.start = qualified_start_;
          if (in_list && !item_.primaries.empty()) {
            item_.primaries.pop_back();
            --item_.events;
          }
        } else {
          p.start = chunk;
        }
        if (in_list) {
          ++item_.events;
          item_.primaries.push_back(p);
        }
        SetPrimary(p);
        break;
      }
      case TokenKind::kDot: {
        Emit(".");
        qualified_start_ = last_valid_ ? last_.start : -1;
        if (!stack_.empty()) ++stack_.back().inner_events;
        size_t n = NextSig(i);
        if (n < tokens_.size() && tokens_[n].kind == TokenKind::kOp && tokens_[n].text == "*") {
          if (in_list) item_.star = true;
        }
        last_valid_ = false;
        continue;  // keep qualified_start_
      }
      case TokenKind::kLParen: {
        Frame f;
        f.open_chunk = chunk;
        f.close_suffix = std::move(pending_suffix_);
        pending_suffix_.clear();
        if (!pending_func_.empty()) {
          f.func = pending_func_;
          f.primary_start = pending_func_start_;
          f.is_cast_call = pending_func_ == "cast";
          f.wrap_in_parens = pending_wrap_;
        } else {
          f.primary_start = chunk;
        }
        pending_func_.clear();
        pending_wrap_ = false;
        if (depth0 && list_ == ListState::kIn) ++item_.events;
        stack_.push_back(f);
        Emit("(");
        last_valid_ = false;
        break;
      }
      case TokenKind::kRParen: {
        Emit(")");
        if (stack_.empty() || stack_.back().is_case) {
          last_valid_ = false;
          break;
        }
        Frame f = stack_.back();
        stack_.pop_back();
        if (!f.close_suffix.empty()) Emit(f.close_suffix);
        Primary p;
        p.start = f.primary_start;
        if (f.is_cast_call && f.as_chunk >= 0) {
          std::string expr(Trim(Join(f.open_chunk + 1, f.as_chunk)));
          Collapse(f.primary_start, CastSql(expr, f.cast_type));
          p.type = f.cast_type != 0 ? f.cast_type : oid::kText;
          p.name = f.cast_type != 0 ? TypeName(f.cast_type) : f.cast_name;
        } else if (!f.func.empty()) {
          if (f.wrap_in_parens) {
            Collapse(f.primary_start,
                     "(" + Join(f.primary_start, static_cast<int>(chunks_.size())) + ")");
          }
          p.name = f.func;
          p.call = f.func;
          p.type = FunctionReturnType(f.func);
        } else {
          p.name = "?column?";
          if (f.inner_events == 1) {
            p.name = f.inner.name;
            p.type = f.inner.type;
            p.param = f.inner.param;
          }
        }
        if (stack_.empty() && list_ == ListState::kIn) item_.primaries.push_back(p);
        SetPrimary(p);
        // Record the completed primary in the enclosing frame's summary.
        if (!stack_.empty()) {
          ++stack_.back().inner_events;
          stack_.back().inner = p;
        }
        continue;
      }
      case TokenKind::kCast: {
        if (!last_valid_) {
          result_.error = "syntax error at or near \"::\"";
          return result_;
        }
        std::string written;
        size_t end = ParseTypeName(i + 1, &written);
        if (written.empty()) {
          result_.error = "syntax error at or near \"::\"";
          return result_;
        }
        // The tokens of the type name produce no output.
        Primary p = last_;
        ApplyCast(&p, written);
        i = end - 1;
        if (stack_.empty() && list_ == ListState::kIn && !item_.primaries.empty()) {
          item_.primaries.back() = p;
        } else if (!stack_.empty()) {
          stack_.back().inner = p;
        }
        SetPrimary(p);
        continue;
      }
      case TokenKind::kComma: {
        Emit(",");
        if (in_list) EndItem();
        last_valid_ = false;
        break;
      }
      case TokenKind::kOp: {
        if (const char* sqlite_op = RegexOperator(t.text);
            sqlite_op != nullptr && AfterOperand(i)) {
          Emit(sqlite_op);
          if (in_list) {
            ++item_.events;
            item_.has_bool_op = true;
          }
          last_valid_ = false;
          break;
        }
        Emit(std::string(t.text));
        if (in_list) {
          if (t.text == "*" && item_.events == 0) item_.star = true;
          if ((t.text == "-" || t.text == "+") && item_.events == 0) item_.leading_sign = true;
          if (IsBoolOperator(t.text)) item_.has_bool_op = true;
          if (t.text == "||") item_.has_concat = true;
          ++item_.events;
        }
        last_valid_ = false;
        break;
      }
      default:
        Emit(std::string(t.text));
        last_valid_ = false;
        break;
    }
    // "(x)" is named and typed after x only when x is all it holds.
    if (!stack_.empty() && t.kind != TokenKind::kLParen) {
      ++stack_.back().inner_events;
      if (last_valid_) stack_.back().inner = last_;
    }
  }
  if (list_ == ListState::kIn) {
    EndItem();
    list_ = ListState::kDone;
  }
  result_.items_known = list_ == ListState::kDone && !list_failed_;
  if (!result_.items_known) result_.items.clear();
  for (const std::string& c : chunks_) result_.sql += c;
  if (result_.param_casts.size() < static_cast<size_t>(result_.max_param)) {
    result_.param_casts.resize(static_cast<size_t>(result_.max_param), 0);
  }
  return result_;
}

}  // namespace

Rewritten RewriteForSqlite(std::string_view sql) { return Rewriter(sql).Run(); }

}  // namespace bgw::sql
