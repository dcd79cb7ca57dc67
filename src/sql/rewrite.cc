// The PostgreSQL-to-SQLite rewriter (see rewrite.h).
//
// It walks the whole token stream once, copying every token to an output
// "chunk" (one per token). A primary expression (literal, parameter,
// possibly qualified name, function call, parenthesized expression, CASE ...
// END) is remembered by the chunk index where it starts; `::type` then folds
// the chunks from that index into one CAST. Brackets keep a stack so a
// closing parenthesis knows where its primary began.
//
// Run() dispatches each token to one handler by kind; a word goes through
// OnWord's cases in a fixed order (storage parameters, select-list bounds,
// pg_catalog., operator words, aliases, word operators, CASE, CAST's AS,
// keyword literals, function names, column definitions, identifiers), the
// first that recognises it wins.
#include "sql/rewrite.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>

#include "common/strutil.h"
#include "sql/builtins.h"
#include "sql/lexer.h"
#include "sql/value.h"

namespace bgw::sql {

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

// How a PostgreSQL type is represented in SQLite after a cast.
// kRegclass: a relation name looked up (catalog_views.cc bgw_regclass).
enum class CastStyle { kFunction, kText, kBlob, kRegclass, kNone };

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
    case oid::kRegclass:
      return CastStyle::kRegclass;
    default:
      return CastStyle::kNone;
  }
}

// Words that are spelled without parentheses in PostgreSQL but are
// functions here: the function's name, nullptr for other words.
const char* NiladicFunction(const std::string& w) {
  if (w == "current_user" || w == "current_role" || w == "user") return "current_user";
  if (w == "session_user") return "session_user";
  if (w == "current_catalog") return "current_database";
  if (w == "current_schema") return "current_schema";
  if (w == "current_timestamp" || w == "localtimestamp") return "now";
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
    return i < tokens_.size() && tokens_[i].kind == TokenKind::kWord &&
           AsciiLower(tokens_[i].text) == w;
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
        return !IsReservedWord(AsciiLower(t.text));
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
    return k >= 0 && AsciiLower(chunks_[static_cast<size_t>(k)]) == word;
  }

  void SetPrimary(Primary p) {
    last_ = std::move(p);
    last_valid_ = true;
  }
  // A primary that is a whole operand: counted in the select-list item.
  void AddPrimary(const Primary& p, bool in_list) {
    if (in_list) {
      ++item_.events;
      item_.primaries.push_back(p);
    }
    SetPrimary(p);
  }
  // A boolean operator: the item it is in has type bool.
  void MarkBoolOperator(bool in_list) {
    if (in_list) {
      ++item_.events;
      item_.has_bool_op = true;
    }
    last_valid_ = false;
  }
  // Tokens first..last (inclusive) consumed by a rewrite: they produce no
  // output (one empty chunk each).
  void Swallow(size_t first, size_t last) {
    for (size_t k = first; k <= last; ++k) Emit("");
  }
  // Whether the significant token before `i` is a '.' (i is the next part
  // of a qualified name) or the given word.
  bool AfterDot(size_t i) const {
    const size_t p = NextSigBack(i);
    return p < tokens_.size() && tokens_[p].kind == TokenKind::kDot;
  }
  bool AfterWord(size_t i, const char* w) const { return WordAt(NextSigBack(i), w); }
  bool FollowedBy(size_t i, TokenKind kind) const {
    const size_t n = NextSig(i);
    return n < tokens_.size() && tokens_[n].kind == kind;
  }
  void EndItem();

  // Where the walk is: the token being handled and what held when it was
  // reached. Handlers that consume more tokens move `i` to the last one.
  struct Cursor {
    size_t i = 0;
    int chunk = 0;         // index of the token's (first) chunk
    bool depth0 = false;   // outside every parenthesis and CASE
    bool in_list = false;  // inside the outermost select or RETURNING list
  };
  // What a handler tells the walk: record the token in the enclosing
  // parenthesis' summary (kNext), go straight on (kSkip), or stop with
  // result_.error set (kStop).
  enum class Step { kNext, kSkip, kStop };

  Step OnToken(Cursor* at);
  Step OnString(const Token& t, const Cursor& at);
  Step OnNumber(const Token& t, const Cursor& at);
  Step OnParam(const Token& t, const Cursor& at);
  Step OnWord(Cursor* at);
  Step OnDot(const Cursor& at);
  Step OnLParen(const Cursor& at);
  Step OnRParen();
  Step OnCast(Cursor* at);
  Step OnOp(const Token& t, const Cursor& at);
  Rewritten Finish();

  // The cases of a word, tried in this order by OnWord; each returns true
  // when it handled the word.
  bool DropStorageParameters(Cursor* at, const std::string& w);
  bool TrackSelectList(const Cursor& at, const std::string& w);
  bool DropCatalogQualifier(Cursor* at, const std::string& w);
  bool OnAlias(const Cursor& at, const std::string& w, bool quoted);
  bool RewriteWordOperator(Cursor* at, const std::string& w);
  bool OnCaseWord(const Cursor& at, const std::string& w);
  bool OnCastAs(Cursor* at, const std::string& w);
  bool OnKeywordLiteral(const Cursor& at, const std::string& w);
  bool OnFunctionName(const Cursor& at, const std::string& w);
  bool RewriteColumnDefinition(Cursor* at, const std::string& w);
  Step OnIdentifier(const Cursor& at, const std::string& w, bool quoted);

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
    Swallow(i + 1, k);
    MarkBoolOperator(in_list);
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
    Swallow(i + 1, k);
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
  if (AsciiLower(tokens_[i].text) == "pg_catalog") {
    size_t dot = NextSig(i);
    if (dot < tokens_.size() && tokens_[dot].kind == TokenKind::kDot) i = NextSig(dot);
    if (i >= tokens_.size() || tokens_[i].kind != TokenKind::kWord) return i;
  }
  *written = AsciiLower(tokens_[i].text);
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
    case CastStyle::kRegclass:
      return "bgw_regclass(" + expr + ")";
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
    if (t.kind == TokenKind::kSpace) {
      Emit(std::string(t.text));
      continue;
    }
    if (t.unterminated) {
      result_.error = UnterminatedMessage(t.kind);
      return result_;
    }
    if (t.kind == TokenKind::kComment) {
      Emit(" ");
      continue;
    }
    if (t.kind == TokenKind::kSemicolon) {
      Emit(";");
      last_valid_ = false;
      continue;
    }
    ++statement_word_count_;
    Cursor at;
    at.i = i;
    at.chunk = static_cast<int>(chunks_.size());
    at.depth0 = stack_.empty();
    at.in_list = list_ == ListState::kIn && at.depth0;
    const Step step = OnToken(&at);
    i = at.i;
    if (step == Step::kStop) return result_;
    if (step == Step::kSkip) continue;
    // "(x)" is named and typed after x only when x is all it holds.
    if (!stack_.empty() && t.kind != TokenKind::kLParen) {
      ++stack_.back().inner_events;
      if (last_valid_) stack_.back().inner = last_;
    }
  }
  return Finish();
}

Rewriter::Step Rewriter::OnToken(Cursor* at) {
  const Token& t = tokens_[at->i];
  switch (t.kind) {
    case TokenKind::kString:
    case TokenKind::kDollarString:
      return OnString(t, *at);
    case TokenKind::kNumber:
      return OnNumber(t, *at);
    case TokenKind::kParam:
      return OnParam(t, *at);
    case TokenKind::kQuotedIdent:
    case TokenKind::kWord:
      return OnWord(at);
    case TokenKind::kDot:
      return OnDot(*at);
    case TokenKind::kLParen:
      return OnLParen(*at);
    case TokenKind::kRParen:
      return OnRParen();
    case TokenKind::kCast:
      return OnCast(at);
    case TokenKind::kComma:
      Emit(",");
      if (at->in_list) EndItem();
      last_valid_ = false;
      return Step::kNext;
    case TokenKind::kOp:
      return OnOp(t, *at);
    default:
      Emit(std::string(t.text));
      last_valid_ = false;
      return Step::kNext;
  }
}

Rewriter::Step Rewriter::OnString(const Token& t, const Cursor& at) {
  // E'', N'' and dollar-quoted strings become plain SQLite literals.
  std::string value;
  if ((t.kind == TokenKind::kDollarString || t.text[0] == 'e' || t.text[0] == 'E' ||
       t.text[0] == 'n' || t.text[0] == 'N') &&
      StringValue(t, &value)) {
    Emit(QuoteLiteral(value));
  } else {
    Emit(std::string(t.text));
  }
  Primary p;
  p.start = at.chunk;
  p.type = oid::kText;
  p.name = "?column?";
  AddPrimary(p, at.in_list);
  return Step::kNext;
}

Rewriter::Step Rewriter::OnNumber(const Token& t, const Cursor& at) {
  // Typed as PostgreSQL types a numeric constant: int4 if it fits, then
  // int8, else numeric.
  Emit(std::string(t.text));
  Primary p;
  p.start = at.chunk;
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
  AddPrimary(p, at.in_list);
  return Step::kNext;
}

Rewriter::Step Rewriter::OnParam(const Token& t, const Cursor& at) {
  int n = std::atoi(std::string(t.text.substr(1)).c_str());
  if (n <= 0 || n > 65535) {
    result_.error = "there is no parameter $" + std::string(t.text.substr(1));
    return Step::kStop;
  }
  result_.max_param = std::max(result_.max_param, n);
  Emit("?" + std::to_string(n));
  Primary p;
  p.start = at.chunk;
  p.name = "?column?";
  p.param = n;
  AddPrimary(p, at.in_list);
  return Step::kNext;
}

Rewriter::Step Rewriter::OnWord(Cursor* at) {
  const Token& t = tokens_[at->i];
  const bool quoted = t.kind == TokenKind::kQuotedIdent;
  const std::string w = quoted ? std::string() : AsciiLower(t.text);
  if (statement_word_count_ == 1) first_word_ = w;
  if (!quoted) {
    if (DropStorageParameters(at, w)) return Step::kSkip;
    if (at->depth0 && TrackSelectList(*at, w)) return Step::kSkip;
    if (DropCatalogQualifier(at, w)) return Step::kSkip;
    if (RewriteOperatorWord(w, &at->i, at->in_list)) return Step::kSkip;
  }
  if (at->in_list && OnAlias(*at, w, quoted)) return Step::kSkip;
  if (!quoted) {
    if (RewriteWordOperator(at, w) || OnCaseWord(*at, w) || OnCastAs(at, w) ||
        OnKeywordLiteral(*at, w) || OnFunctionName(*at, w) || RewriteColumnDefinition(at, w)) {
      return Step::kSkip;
    }
  }
  return OnIdentifier(*at, w, quoted);
}

// CREATE TABLE|INDEX ... (...) WITH (storage_parameter = value, ...):
// storage tuning SQLite has no use for; dropped.
bool Rewriter::DropStorageParameters(Cursor* at, const std::string& w) {
  if (first_word_ != "create" || !stack_.empty() || w != "with") return false;
  const size_t i = at->i;
  const size_t prev = NextSigBack(i);
  const size_t open = NextSig(i);
  if (prev >= tokens_.size() || tokens_[prev].kind != TokenKind::kRParen ||
      open >= tokens_.size() || tokens_[open].kind != TokenKind::kLParen) {
    return false;
  }
  int depth = 0;
  size_t q = open;
  for (; q < tokens_.size(); ++q) {
    if (tokens_[q].kind == TokenKind::kLParen) ++depth;
    if (tokens_[q].kind == TokenKind::kRParen && --depth == 0) break;
  }
  if (q >= tokens_.size()) return false;
  Swallow(i, q);
  at->i = q;
  last_valid_ = false;
  return true;
}

// The words that open and close the outermost select list and RETURNING
// list, whose items are named and typed.
bool Rewriter::TrackSelectList(const Cursor& at, const std::string& w) {
  const std::string text(tokens_[at.i].text);
  if (list_ == ListState::kBefore && w == "select" &&
      (first_word_ == "select" || first_word_ == "with")) {
    list_ = ListState::kIn;
    Emit(text);
    last_valid_ = false;
    // DISTINCT / ALL are part of the list head; DISTINCT ON's columns are
    // not known.
    size_t n = NextSig(at.i);
    if ((WordAt(n, "distinct") || WordAt(n, "all")) && WordAt(NextSig(n), "on")) {
      list_failed_ = true;
    }
    return true;
  }
  if (list_ == ListState::kBefore && w == "returning" && first_word_ != "select") {
    list_ = ListState::kIn;
    list_is_returning_ = true;
    Emit(text);
    last_valid_ = false;
    return true;
  }
  if (list_ == ListState::kIn && item_.events == 0 && (w == "distinct" || w == "all")) {
    Emit(text);
    return true;
  }
  if (list_ == ListState::kIn && EndsSelectList(w) && !list_is_returning_) {
    EndItem();
    list_ = ListState::kDone;
    Emit(text);
    last_valid_ = false;
    return true;
  }
  return false;
}

// Our catalog objects live in the main schema: pg_catalog. is dropped.
bool Rewriter::DropCatalogQualifier(Cursor* at, const std::string& w) {
  if (w != "pg_catalog") return false;
  const size_t dot = NextSig(at->i);
  if (dot >= tokens_.size() || tokens_[dot].kind != TokenKind::kDot) return false;
  Swallow(at->i + 1, dot);
  at->i = dot;
  --statement_word_count_;
  return true;
}

// AS alias, or an implicit alias ("SELECT a b"), inside the select list.
bool Rewriter::OnAlias(const Cursor& at, const std::string& w, bool quoted) {
  const Token& t = tokens_[at.i];
  if (!quoted && w == "as") {
    item_.expect_alias = true;
    Emit(std::string(t.text));
    last_valid_ = false;
    return true;
  }
  const bool implicit = last_valid_ && item_.events > 0 && !FollowedBy(at.i, TokenKind::kLParen) &&
                        !FollowedBy(at.i, TokenKind::kDot) && (quoted || !IsReservedWord(w)) &&
                        !chunks_.empty() && !AfterDot(at.i);
  if (!item_.expect_alias && !implicit) return false;
  item_.alias = IdentifierValue(t);
  item_.expect_alias = false;
  Emit(std::string(t.text));
  last_valid_ = false;
  return true;
}

// Operators spelled as words: IS [NOT] DISTINCT FROM, ILIKE, the boolean
// ones (which type the item bool), and LIMIT ALL.
bool Rewriter::RewriteWordOperator(Cursor* at, const std::string& w) {
  const size_t i = at->i;
  if (w == "is") {
    const size_t a = NextSig(i);
    const bool negated = WordAt(a, "not");
    const size_t b = negated ? NextSig(a) : a;
    const size_t c = NextSig(b);
    if (WordAt(b, "distinct") && WordAt(c, "from")) {
      Emit(negated ? "IS" : "IS NOT");
      Swallow(i + 1, c);
      at->i = c;
      MarkBoolOperator(at->in_list);
      return true;
    }
  }
  if (w == "ilike") {
    Emit("LIKE");
    MarkBoolOperator(at->in_list);
    return true;
  }
  if (w == "and" || w == "or" || w == "not" || w == "is" || w == "like" || w == "in" ||
      w == "between" || w == "isnull" || w == "notnull" || w == "glob") {
    Emit(std::string(tokens_[i].text));
    MarkBoolOperator(at->in_list);
    return true;
  }
  if (w == "limit" && WordAt(NextSig(i), "all")) {
    const size_t n = NextSig(i);
    Emit("LIMIT -1");
    Swallow(i + 1, n);
    at->i = n;
    last_valid_ = false;
    return true;
  }
  return false;
}

// CASE opens a frame like a parenthesis; END closes it into one primary.
bool Rewriter::OnCaseWord(const Cursor& at, const std::string& w) {
  const std::string text(tokens_[at.i].text);
  if (w == "case") {
    Frame f;
    f.open_chunk = at.chunk;
    f.primary_start = at.chunk;
    f.is_case = true;
    f.func = "case";
    if (at.in_list) ++item_.events;
    stack_.push_back(f);
    Emit(text);
    last_valid_ = false;
    return true;
  }
  if (w == "end" && !stack_.empty() && stack_.back().is_case) {
    Frame f = stack_.back();
    stack_.pop_back();
    Emit(text);
    Primary p;
    p.start = f.primary_start;
    p.name = "case";
    if (stack_.empty() && list_ == ListState::kIn) item_.primaries.push_back(p);
    SetPrimary(p);
    return true;
  }
  return false;
}

// The AS of CAST(x AS type): the type is read here and applied at ')'.
bool Rewriter::OnCastAs(Cursor* at, const std::string& w) {
  if (w != "as" || stack_.empty() || !stack_.back().is_cast_call || stack_.back().as_chunk >= 0) {
    return false;
  }
  Frame& f = stack_.back();
  const std::string text(tokens_[at->i].text);
  std::string written;
  const size_t end = ParseTypeName(at->i + 1, &written);
  Emit(text);
  last_valid_ = false;
  if (written.empty()) return true;
  f.as_chunk = at->chunk;
  f.cast_type = TypeOidFromName(written);
  f.cast_name = written;
  for (size_t k = at->i + 1; k < end; ++k) Emit("");
  at->i = end - 1;
  return true;
}

// TRUE, FALSE and NULL as typed primaries.
bool Rewriter::OnKeywordLiteral(const Cursor& at, const std::string& w) {
  if (w != "true" && w != "false" && w != "null") return false;
  Primary p;
  p.start = at.chunk;
  if (w == "null") {
    Emit(std::string(tokens_[at.i].text));
    p.name = "?column?";
  } else {
    Emit(w == "true" ? "1" : "0");
    p.name = "bool";
    p.type = oid::kBool;
  }
  AddPrimary(p, at.in_list);
  return true;
}

// A function name: a niladic one (current_user, current_timestamp, ...)
// becomes a call; one followed by '(' waits for OnLParen.
bool Rewriter::OnFunctionName(const Cursor& at, const std::string& w) {
  const size_t i = at.i;
  const bool followed_by_paren = FollowedBy(i, TokenKind::kLParen);
  const char* niladic = NiladicFunction(w);
  const bool after_dot = AfterDot(i);
  // SQLite wants a parenthesized expression after DEFAULT.
  const bool after_default = AfterWord(i, "default");
  if (niladic != nullptr && !followed_by_paren && !after_dot) {
    const std::string call = std::string(niladic) + "()";
    Emit(after_default ? "(" + call + ")" : call);
    Primary p;
    p.start = at.chunk;
    p.name = w;
    p.type = builtins::ReturnType(niladic);
    AddPrimary(p, at.in_list);
    return true;
  }
  if (!followed_by_paren) return false;
  Emit(std::string(tokens_[i].text));
  pending_wrap_ = after_default;
  pending_func_ = w;
  pending_func_start_ = after_dot && qualified_start_ >= 0 ? qualified_start_ : at.chunk;
  if (after_dot && at.in_list && !item_.primaries.empty()) {
    item_.primaries.pop_back();
    --item_.events;
  }
  last_valid_ = false;
  return true;
}

// Column definitions of CREATE TABLE that SQLite spells differently.
bool Rewriter::RewriteColumnDefinition(Cursor* at, const std::string& w) {
  if (first_word_ != "create" || stack_.size() != 1) return false;
  const size_t i = at->i;
  // GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [(options)]: dropped; an
  // integer column becomes INTEGER so that with PRIMARY KEY SQLite assigns
  // the values.
  if (w == "generated") {
    size_t k = NextSig(i);
    if (WordAt(k, "by")) k = NextSig(k);
    const size_t as = NextSig(k);
    const size_t identity = NextSig(as);
    if (!(WordAt(k, "always") || WordAt(k, "default")) || !WordAt(as, "as") ||
        !WordAt(identity, "identity")) {
      return false;
    }
    size_t end = identity;
    const size_t after = NextSig(identity);
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
    const int type_chunk = PreviousChunk(at->chunk);
    if (type_chunk >= 0) {
      const uint32_t type = TypeOidFromName(chunks_[static_cast<size_t>(type_chunk)]);
      if (StyleFor(type) == CastStyle::kFunction && type != oid::kBool) {
        chunks_[static_cast<size_t>(type_chunk)] = "INTEGER";
      }
    }
    Swallow(i, end);
    at->i = end;
    last_valid_ = false;
    return true;
  }
  // CREATE TABLE t (id serial PRIMARY KEY): SQLite's auto-assigned keys
  // are INTEGER PRIMARY KEY columns.
  if (w == "serial" || w == "bigserial" || w == "smallserial" || w == "serial4" || w == "serial8") {
    const size_t prev = NextSigBack(i);
    const size_t prevprev = prev < tokens_.size() ? NextSigBack(prev) : tokens_.size();
    if (prev < tokens_.size() &&
        (tokens_[prev].kind == TokenKind::kWord || tokens_[prev].kind == TokenKind::kQuotedIdent) &&
        prevprev < tokens_.size() &&
        (tokens_[prevprev].kind == TokenKind::kLParen ||
         tokens_[prevprev].kind == TokenKind::kComma)) {
      Emit("INTEGER");
      last_valid_ = false;
      return true;
    }
  }
  return false;
}

// An identifier (possibly the next part of a qualified name), or a
// reserved word that is neither.
Rewriter::Step Rewriter::OnIdentifier(const Cursor& at, const std::string& w, bool quoted) {
  const Token& t = tokens_[at.i];
  Emit(std::string(t.text));
  const bool after_dot = AfterDot(at.i);
  if (!quoted && IsReservedWord(w) && !after_dot) {
    if (at.in_list) ++item_.events;
    last_valid_ = false;
    return Step::kSkip;
  }
  Primary p;
  p.name = IdentifierValue(t);
  if (after_dot && qualified_start_ >= 0) {
    p.start = qualified_start_;
    if (at.in_list && !item_.primaries.empty()) {
      item_.primaries.pop_back();
      --item_.events;
    }
  } else {
    p.start = at.chunk;
  }
  AddPrimary(p, at.in_list);
  return Step::kNext;
}

Rewriter::Step Rewriter::OnDot(const Cursor& at) {
  Emit(".");
  qualified_start_ = last_valid_ ? last_.start : -1;
  if (!stack_.empty()) ++stack_.back().inner_events;
  const size_t n = NextSig(at.i);
  if (n < tokens_.size() && tokens_[n].kind == TokenKind::kOp && tokens_[n].text == "*" &&
      at.in_list) {
    item_.star = true;
  }
  last_valid_ = false;
  return Step::kSkip;  // keep qualified_start_
}

Rewriter::Step Rewriter::OnLParen(const Cursor& at) {
  Frame f;
  f.open_chunk = at.chunk;
  f.close_suffix = std::move(pending_suffix_);
  pending_suffix_.clear();
  if (!pending_func_.empty()) {
    f.func = pending_func_;
    f.primary_start = pending_func_start_;
    f.is_cast_call = pending_func_ == "cast";
    f.wrap_in_parens = pending_wrap_;
  } else {
    f.primary_start = at.chunk;
  }
  pending_func_.clear();
  pending_wrap_ = false;
  if (at.depth0 && list_ == ListState::kIn) ++item_.events;
  stack_.push_back(f);
  Emit("(");
  last_valid_ = false;
  return Step::kNext;
}

// ')' closes a call, a CAST(... AS type) or a plain parenthesis into one
// primary.
Rewriter::Step Rewriter::OnRParen() {
  Emit(")");
  if (stack_.empty() || stack_.back().is_case) {
    last_valid_ = false;
    return Step::kNext;
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
    p.type = builtins::ReturnType(f.func);
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
  return Step::kSkip;
}

// expr::type folds the last primary into a cast.
Rewriter::Step Rewriter::OnCast(Cursor* at) {
  std::string written;
  const size_t end = last_valid_ ? ParseTypeName(at->i + 1, &written) : at->i;
  if (written.empty()) {
    result_.error = "syntax error at or near \"::\"";
    return Step::kStop;
  }
  // The tokens of the type name produce no output.
  Primary p = last_;
  ApplyCast(&p, written);
  at->i = end - 1;
  if (stack_.empty() && list_ == ListState::kIn && !item_.primaries.empty()) {
    item_.primaries.back() = p;
  } else if (!stack_.empty()) {
    stack_.back().inner = p;
  }
  SetPrimary(p);
  return Step::kSkip;
}

Rewriter::Step Rewriter::OnOp(const Token& t, const Cursor& at) {
  if (const char* sqlite_op = RegexOperator(t.text); sqlite_op != nullptr && AfterOperand(at.i)) {
    Emit(sqlite_op);
    MarkBoolOperator(at.in_list);
    return Step::kNext;
  }
  Emit(std::string(t.text));
  if (at.in_list) {
    if (t.text == "*" && item_.events == 0) item_.star = true;
    if ((t.text == "-" || t.text == "+") && item_.events == 0) item_.leading_sign = true;
    if (IsBoolOperator(t.text)) item_.has_bool_op = true;
    if (t.text == "||") item_.has_concat = true;
    ++item_.events;
  }
  last_valid_ = false;
  return Step::kNext;
}

Rewritten Rewriter::Finish() {
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
