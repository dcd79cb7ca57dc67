// C functions on SQLite; see fmgr_call.h.
//
// ERROR handling: a module function may ereport(ERROR), which siglongjmps to
// the innermost PG_TRY. Module code runs only through CallGuarded, the
// server's one PG_TRY-to-value bridge (fmgr/pg_try.h), whose frame holds no
// C++ objects, so the jump never skips a destructor; the module frames it
// unwinds are C. Everything with a destructor lives in the callers, which see
// a plain ErrorReport value.
#include "sql/fmgr_call.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/strutil.h"
#include "fmgr/dynamic_loader.h"
#include "postgres/fmgr.h"
#include "postgres/utils/builtins.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"
#include "sql/datum.h"
#include "sql/functions.h"
#include "sql/lexer.h"
#include "sql/sandbox.h"
#include "sql/value.h"

namespace bgw::sql::fmgr {
namespace {

std::optional<ErrorReport> last_error;

// ---- calling module code under PG_TRY --------------------------------------

// What a guarded call runs: a module function, or a library's _PG_init.
struct Guarded {
  PGFunction fn;
  FunctionCallInfo fcinfo;
  void (*init)(void);
  Datum result;
};

void CallThunk(void* arg) {
  auto* g = static_cast<Guarded*>(arg);
  g->result = g->fn(g->fcinfo);
}
void InitThunk(void* arg) { static_cast<Guarded*>(arg)->init(); }

// ---- tokens -----------------------------------------------------------------

struct Token {
  enum Kind { kIdent, kString, kNumber, kPunct } kind;
  std::string text;  // identifiers lower-cased unless quoted
  bool quoted = false;
};

// The statement as the parser below reads it, from the one SQL lexer
// (sql/lexer.h): words folded, strings and quoted identifiers decoded,
// operators one character per token.
Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  for (const sql::Token& t : Lex(s)) {
    if (t.unterminated) return MakeError("42601", UnterminatedMessage(t.kind));
    switch (t.kind) {
      case TokenKind::kSpace:
      case TokenKind::kComment:
        break;
      case TokenKind::kWord:
        out.push_back({Token::kIdent, IdentifierValue(t)});
        break;
      case TokenKind::kQuotedIdent:
        out.push_back({Token::kIdent, IdentifierValue(t), true});
        break;
      case TokenKind::kString:
      case TokenKind::kDollarString: {
        std::string value;
        if (!StringValue(t, &value)) {
          return MakeError("42601", "syntax error at or near \"" + std::string(t.text) + "\"");
        }
        out.push_back({Token::kString, std::move(value)});
        break;
      }
      case TokenKind::kNumber:
        out.push_back({Token::kNumber, std::string(t.text)});
        break;
      case TokenKind::kParam:
        out.push_back({Token::kPunct, std::string(t.text)});
        break;
      default:  // operators and punctuation
        for (char c : t.text) out.push_back({Token::kPunct, std::string(1, c)});
        break;
    }
  }
  return out;
}

ErrorReport SyntaxError(const std::vector<Token>& t, size_t at) {
  if (at >= t.size()) return MakeError("42601", "syntax error at end of input");
  return MakeError("42601", "syntax error at or near \"" + t[at].text + "\"");
}

bool IsWord(const std::vector<Token>& t, size_t at, const char* word) {
  return at < t.size() && t[at].kind == Token::kIdent && !t[at].quoted && t[at].text == word;
}
bool IsPunct(const std::vector<Token>& t, size_t at, char p) {
  return at < t.size() && t[at].kind == Token::kPunct && t[at].text[0] == p;
}

// name or schema.name (the schema is ignored: one namespace).
Result<std::string> ParseName(const std::vector<Token>& t, size_t* at) {
  if (*at >= t.size() || t[*at].kind != Token::kIdent) return SyntaxError(t, *at);
  std::string name = t[(*at)++].text;
  if (IsPunct(t, *at, '.')) {
    (*at)++;
    if (*at >= t.size() || t[*at].kind != Token::kIdent) return SyntaxError(t, *at);
    name = t[(*at)++].text;
  }
  return name;
}

// ---- types ------------------------------------------------------------------

struct TypeName {
  const char* spelling;
  uint32_t oid;
};
constexpr TypeName kTypes[] = {
    {"int", oid::kInt4},
    {"integer", oid::kInt4},
    {"int4", oid::kInt4},
    {"smallint", oid::kInt2},
    {"int2", oid::kInt2},
    {"bigint", oid::kInt8},
    {"int8", oid::kInt8},
    {"bool", oid::kBool},
    {"boolean", oid::kBool},
    {"float8", oid::kFloat8},
    {"double precision", oid::kFloat8},
    {"float", oid::kFloat8},
    {"real", oid::kFloat4},
    {"float4", oid::kFloat4},
    {"oid", oid::kOid},
    {"text", oid::kText},
    {"varchar", oid::kVarchar},
    {"character varying", oid::kVarchar},
    {"bytea", oid::kBytea},
    {"void", kVoidOid},
};
// Types PostgreSQL has that C functions here cannot take (0A000, not 42704).
constexpr const char* kUnsupportedTypes[] = {
    "numeric",
    "decimal",
    "timestamptz",
    "timestamp",
    "date",
    "time",
    "json",
    "jsonb",
    "uuid",
    "name",
    "char",
    "character",
    "cstring",
    "internal",
    "record",
    "anyelement",
    "interval",
    "timestamp with time zone",
    "timestamp without time zone",
};

// The type written as tokens [begin, end): words joined by a space, type
// modifiers in parentheses dropped, "[]" refused.
Result<uint32_t> TypeFromTokens(const std::vector<Token>& t, size_t begin, size_t end) {
  std::string name;
  int depth = 0;
  // pg_catalog.int4, as extension scripts spell types: the built-in types
  // are all in pg_catalog.
  if (IsWord(t, begin, "pg_catalog") && IsPunct(t, begin + 1, '.')) begin += 2;
  for (size_t i = begin; i < end; i++) {
    if (IsPunct(t, i, '(')) {
      depth++;
    } else if (IsPunct(t, i, ')')) {
      depth--;
    } else if (depth == 0) {
      if (t[i].kind != Token::kIdent) {
        if (IsPunct(t, i, '[')) return MakeError("0A000", "array types are not supported");
        return SyntaxError(t, i);
      }
      if (!name.empty()) name += ' ';
      name += t[i].text;
    }
  }
  if (name.empty()) return SyntaxError(t, begin);
  for (const TypeName& tn : kTypes) {
    if (name == tn.spelling) return tn.oid;
  }
  for (const char* u : kUnsupportedTypes) {
    if (name == u) {
      return MakeError("0A000", "type " + name + " is not supported by C functions here");
    }
  }
  return MakeError("42704", "type \"" + name + "\" does not exist");
}

// An argument's default: a constant (a number, a string, TRUE, FALSE or
// NULL, optionally cast with ::type), as its text form; nullopt for NULL.
// Expressions are refused: nothing would evaluate them at call time.
Result<std::optional<std::string>> DefaultValue(const std::vector<Token>& t, size_t begin,
                                                size_t end) {
  // A trailing ::type is the argument's own type: the value is read as that.
  for (size_t i = begin; i + 1 < end; i++) {
    if (IsPunct(t, i, ':') && IsPunct(t, i + 1, ':')) {
      end = i;
      break;
    }
  }
  const auto refuse = [] {
    return MakeError("0A000", "argument defaults of C functions must be constants here", "",
                     "Write a number, a quoted string, TRUE, FALSE or NULL.");
  };
  if (begin >= end) return SyntaxError(t, begin);
  std::string sign;
  if (IsPunct(t, begin, '-') || IsPunct(t, begin, '+')) sign = t[begin++].text;
  if (end - begin != 1) return refuse();
  const Token& v = t[begin];
  if (v.kind == Token::kNumber) return std::optional<std::string>(sign + v.text);
  if (!sign.empty()) return refuse();
  if (v.kind == Token::kString) {
    if (v.text.find('\x1f') != std::string::npos) return refuse();
    return std::optional<std::string>(v.text);
  }
  if (IsWord(t, begin, "true") || IsWord(t, begin, "false")) {
    return std::optional<std::string>(v.text);
  }
  if (IsWord(t, begin, "null")) return std::optional<std::string>();
  return refuse();
}

// One argument: [IN] [name] type [DEFAULT value | = value]. Returns the
// type; *default_value is set when the argument has a default.
Result<uint32_t> ArgType(const std::vector<Token>& t, size_t begin, size_t end,
                         std::optional<std::optional<std::string>>* default_value) {
  if (IsWord(t, begin, "out") || IsWord(t, begin, "inout") || IsWord(t, begin, "variadic")) {
    return MakeError("0A000", "C functions here take IN arguments only");
  }
  if (IsWord(t, begin, "in")) begin++;
  for (size_t i = begin; i < end; i++) {
    if (IsWord(t, i, "default") || IsPunct(t, i, '=')) {
      Result<std::optional<std::string>> value = DefaultValue(t, i + 1, end);
      if (!value.ok()) return value.error();
      *default_value = *value;
      end = i;
      break;
    }
  }
  // "name pg_catalog.type" as well as "pg_catalog.type".
  if (end - begin >= 4 && IsPunct(t, begin + 2, '.') && IsWord(t, begin + 1, "pg_catalog")) {
    return TypeFromTokens(t, begin + 1, end);
  }
  Result<uint32_t> whole = TypeFromTokens(t, begin, end);
  if (whole.ok() || end - begin < 2) return whole;
  Result<uint32_t> rest = TypeFromTokens(t, begin + 1, end);
  return rest.ok() ? rest : whole;
}

// "(type, ...)" starting at *at (which is '('); moves past ')'. The
// trailing arguments' defaults go to *defaults.
Result<std::vector<uint32_t>> ParseArgList(const std::vector<Token>& t, size_t* at,
                                           std::vector<std::optional<std::string>>* defaults) {
  std::vector<uint32_t> types;
  defaults->clear();
  size_t i = *at + 1;
  if (IsPunct(t, i, ')')) {
    *at = i + 1;
    return types;
  }
  for (;;) {
    size_t start = i;
    int depth = 0;
    while (i < t.size() && !(depth == 0 && (IsPunct(t, i, ',') || IsPunct(t, i, ')')))) {
      if (IsPunct(t, i, '(')) depth++;
      if (IsPunct(t, i, ')')) depth--;
      i++;
    }
    if (i >= t.size()) return SyntaxError(t, i);
    if (i == start) return SyntaxError(t, i);
    std::optional<std::optional<std::string>> default_value;
    Result<uint32_t> type = ArgType(t, start, i, &default_value);
    if (!type.ok()) return type.error();
    if (*type == kVoidOid) return MakeError("42P13", "C functions cannot accept type void");
    if (default_value) {
      // The text must read as the argument's type, as PostgreSQL checks at
      // CREATE FUNCTION.
      if (*default_value) {
        Result<Value> parsed = ParseText(**default_value, *type);
        if (!parsed.ok()) return parsed.error();
      }
      defaults->push_back(*default_value);
    } else if (!defaults->empty()) {
      return MakeError("42P13",
                       "input parameters after one with a default value must also have defaults");
    }
    types.push_back(*type);
    if (types.size() > 100)
      return MakeError("54023", "functions cannot have more than 100 arguments");
    if (IsPunct(t, i, ')')) break;
    i++;
  }
  *at = i + 1;
  return types;
}

bool IsClauseWord(const std::vector<Token>& t, size_t at) {
  static constexpr const char* kWords[] = {
      "as",      "language", "strict",    "immutable", "stable",   "volatile", "called",
      "returns", "parallel", "leakproof", "not",       "security", "external", "cost",
      "rows",    "window",   "support",   "set",       "transform"};
  for (const char* w : kWords) {
    if (IsWord(t, at, w)) return true;
  }
  return IsPunct(t, at, ';');
}

// ---- the SQLite function ----------------------------------------------------

struct Bound {
  CFunction def;
  PGFunction fn;
  FmgrInfo flinfo;
};

MemoryContext call_context = nullptr;
int call_depth = 0;
// TopTransactionContext was made by a C call here (not by spi/xact.cc).
bool owns_transaction_memory = false;
ExecuteCheck execute_check = nullptr;
void* execute_check_arg = nullptr;

void CallCFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* b = static_cast<Bound*>(sqlite3_user_data(ctx));
  // The library is loaded (and its _PG_init run) at the first call, as
  // PostgreSQL does, not when the session binds the name.
  if (b->fn == nullptr) {
    Result<void*> fn = Resolve(b->def);
    if (!fn.ok()) {
      ResultError(ctx, fn.error());
      return;
    }
    b->fn = reinterpret_cast<PGFunction>(*fn);
    b->flinfo.fn_addr = b->fn;
  }
  // EXECUTE, checked at each call as the current role (who that is may
  // change between calls of one prepared statement: SET ROLE).
  if (execute_check != nullptr) {
    if (std::optional<ErrorReport> denied = execute_check(b->def, execute_check_arg)) {
      ResultError(ctx, std::move(*denied));
      return;
    }
  }
  if (b->def.strict) {
    for (int i = 0; i < argc; i++) {
      if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
      }
    }
  }
  if (call_context == nullptr) {
    call_context =
        AllocSetContextCreate(TopMemoryContext, "C function call", ALLOCSET_DEFAULT_SIZES);
  }
  if (TopTransactionContext == nullptr) {
    TopTransactionContext =
        AllocSetContextCreate(TopMemoryContext, "TopTransactionContext", ALLOCSET_DEFAULT_SIZES);
    CurTransactionContext = TopTransactionContext;
    owns_transaction_memory = true;
  }
  MemoryContext old = MemoryContextSwitchTo(call_context);
  call_depth++;
  // Called with fewer arguments: the rest are their defaults.
  const int nargs = static_cast<int>(b->def.arg_types.size());
  const int first_default = nargs - static_cast<int>(b->def.defaults.size());
  auto* fcinfo = static_cast<FunctionCallInfo>(
      palloc0(offsetof(FunctionCallInfoBaseData, args) + sizeof(NullableDatum) * (nargs + 1)));
  fcinfo->flinfo = &b->flinfo;
  fcinfo->nargs = static_cast<short>(nargs);
  std::optional<ErrorReport> error;
  bool null_result = false;
  for (int i = 0; i < nargs && !error; i++) {
    const uint32_t type = b->def.arg_types[static_cast<size_t>(i)];
    Value value;
    if (i < argc) {
      value = functions::ArgValue(argv[i]);
    } else if (const std::optional<std::string>& d =
                   b->def.defaults[static_cast<size_t>(i - first_default)]) {
      Result<Value> parsed = ParseText(*d, type);
      if (!parsed.ok()) {
        error = parsed.error();
        break;
      }
      value = std::move(*parsed);
    }
    if (value.is_null()) {
      if (b->def.strict) {  // a NULL default of a strict function: the result is NULL
        null_result = true;
        break;
      }
      fcinfo->args[i].isnull = true;
      fcinfo->args[i].value = 0;
      continue;
    }
    Result<Datum> d = ValueToDatum(value, type);
    if (!d.ok()) {
      error = d.error();
    } else {
      fcinfo->args[i].value = *d;
    }
  }
  if (!error && null_result) {
    sqlite3_result_null(ctx);
  } else if (!error) {
    Guarded g{b->fn, fcinfo, nullptr, 0};
    if (std::optional<ErrorReport> e = CallGuarded(CallThunk, &g)) {
      error = std::move(e);
    } else if (fcinfo->isnull || b->def.return_type == kVoidOid) {
      sqlite3_result_null(ctx);
    } else {
      std::optional<Value> v = DatumToValue(g.result, b->def.return_type);
      if (v) {
        functions::ResultValue(ctx, *v);
      } else {  // CREATE FUNCTION admits none such; a hand-edited catalogue might
        error = MakeError("0A000", "C functions cannot return type " +
                                       std::string(TypeDisplayName(b->def.return_type)));
      }
    }
  }
  MemoryContextSwitchTo(old);
  if (--call_depth == 0) MemoryContextReset(call_context);
  if (error) ResultError(ctx, std::move(*error));
}

void DestroyBound(void* p) { delete static_cast<Bound*>(p); }

}  // namespace

// ---- public -----------------------------------------------------------------

void EndTransactionMemory() {
  if (!owns_transaction_memory) return;
  // As PostgreSQL's transaction end: nothing may stay in the memory freed.
  for (MemoryContext c = CurrentMemoryContext; c != nullptr; c = MemoryContextGetParent(c)) {
    if (c == TopTransactionContext) {
      MemoryContextSwitchTo(TopMemoryContext);
      break;
    }
  }
  MemoryContextDelete(TopTransactionContext);
  TopTransactionContext = nullptr;
  CurTransactionContext = nullptr;
  owns_transaction_memory = false;
}

std::string Signature(const std::string& name, const std::vector<uint32_t>& arg_types) {
  std::string s = name + "(";
  for (size_t i = 0; i < arg_types.size(); i++) {
    if (i > 0) s += ", ";
    s += arg_types[i] == kVoidOid ? "void" : TypeDisplayName(arg_types[i]);
  }
  return s + ")";
}

Result<CreateSpec> ParseCreateFunction(std::string_view statement) {
  Result<std::vector<Token>> tokens = Tokenize(statement);
  if (!tokens.ok()) return tokens.error();
  const std::vector<Token>& t = *tokens;
  CreateSpec spec;
  size_t at = 0;
  if (!IsWord(t, at, "create")) return SyntaxError(t, at);
  at++;
  if (IsWord(t, at, "or")) {
    if (!IsWord(t, at + 1, "replace")) return SyntaxError(t, at + 1);
    spec.or_replace = true;
    at += 2;
  }
  if (!IsWord(t, at, "function")) return SyntaxError(t, at);
  at++;
  Result<std::string> name = ParseName(t, &at);
  if (!name.ok()) return name.error();
  spec.function.name = *name;
  if (!IsPunct(t, at, '(')) return SyntaxError(t, at);
  Result<std::vector<uint32_t>> args = ParseArgList(t, &at, &spec.function.defaults);
  if (!args.ok()) return args.error();
  spec.function.arg_types = std::move(*args);

  bool have_returns = false, have_as = false;
  std::string language;
  while (at < t.size()) {
    if (IsPunct(t, at, ';')) {
      at++;
      if (at < t.size()) return SyntaxError(t, at);
      break;
    }
    if (IsWord(t, at, "returns") && IsWord(t, at + 1, "null")) {
      if (!IsWord(t, at + 2, "on") || !IsWord(t, at + 3, "null") || !IsWord(t, at + 4, "input")) {
        return SyntaxError(t, at + 2);
      }
      spec.function.strict = true;
      at += 5;
    } else if (IsWord(t, at, "returns")) {
      at++;
      if (IsWord(t, at, "setof") || IsWord(t, at, "table")) {
        return MakeError("0A000", "set-returning C functions are not supported");
      }
      size_t start = at;
      int depth = 0;
      while (at < t.size() && (depth > 0 || at == start || !IsClauseWord(t, at))) {
        if (IsPunct(t, at, '(')) depth++;
        if (IsPunct(t, at, ')')) depth--;
        at++;
      }
      Result<uint32_t> type = TypeFromTokens(t, start, at);
      if (!type.ok()) return type.error();
      spec.function.return_type = *type;
      have_returns = true;
    } else if (IsWord(t, at, "as")) {
      at++;
      if (at >= t.size() || t[at].kind != Token::kString) return SyntaxError(t, at);
      spec.function.library = t[at++].text;
      if (IsPunct(t, at, ',')) {
        at++;
        if (at >= t.size() || t[at].kind != Token::kString) return SyntaxError(t, at);
        spec.function.symbol = t[at++].text;
      }
      have_as = true;
    } else if (IsWord(t, at, "language")) {
      at++;
      if (at >= t.size() || (t[at].kind != Token::kIdent && t[at].kind != Token::kString)) {
        return SyntaxError(t, at);
      }
      language = AsciiLower(t[at++].text);
    } else if (IsWord(t, at, "strict")) {
      spec.function.strict = true;
      at++;
    } else if (IsWord(t, at, "called")) {
      if (!IsWord(t, at + 1, "on") || !IsWord(t, at + 2, "null") || !IsWord(t, at + 3, "input")) {
        return SyntaxError(t, at + 1);
      }
      spec.function.strict = false;
      at += 4;
    } else if (IsWord(t, at, "immutable") || IsWord(t, at, "stable") || IsWord(t, at, "volatile") ||
               IsWord(t, at, "leakproof")) {
      at++;
    } else if (IsWord(t, at, "not") && IsWord(t, at + 1, "leakproof")) {
      at += 2;
    } else if (IsWord(t, at, "parallel")) {
      if (!IsWord(t, at + 1, "safe") && !IsWord(t, at + 1, "unsafe") &&
          !IsWord(t, at + 1, "restricted")) {
        return SyntaxError(t, at + 1);
      }
      at += 2;
    } else if (IsWord(t, at, "external") && IsWord(t, at + 1, "security")) {
      at++;
    } else if (IsWord(t, at, "security")) {
      if (!IsWord(t, at + 1, "definer") && !IsWord(t, at + 1, "invoker")) {
        return SyntaxError(t, at + 1);
      }
      at += 2;
    } else if (IsWord(t, at, "cost") || IsWord(t, at, "rows")) {
      if (at + 1 >= t.size() || t[at + 1].kind != Token::kNumber) return SyntaxError(t, at + 1);
      at += 2;
    } else {
      return SyntaxError(t, at);
    }
  }
  if (language.empty()) return MakeError("42P13", "no language specified");
  if (language != "c") {
    return MakeError("0A000", "language \"" + language + "\" is not supported", "",
                     "Only LANGUAGE C functions can be created.");
  }
  if (!have_as) return MakeError("42P13", "no function body specified");
  if (!have_returns) {
    return MakeError("42P13", "function result type must be specified");
  }
  if (spec.function.library.empty()) {
    return MakeError("42P13", "library name for a C function cannot be empty");
  }
  if (spec.function.symbol.empty()) spec.function.symbol = spec.function.name;
  return spec;
}

Result<DropSpec> ParseDropFunction(std::string_view statement) {
  Result<std::vector<Token>> tokens = Tokenize(statement);
  if (!tokens.ok()) return tokens.error();
  const std::vector<Token>& t = *tokens;
  DropSpec spec;
  size_t at = 0;
  if (!IsWord(t, at, "drop")) return SyntaxError(t, at);
  if (!IsWord(t, at + 1, "function")) return SyntaxError(t, at + 1);
  at += 2;
  if (IsWord(t, at, "if")) {
    if (!IsWord(t, at + 1, "exists")) return SyntaxError(t, at + 1);
    spec.if_exists = true;
    at += 2;
  }
  Result<std::string> name = ParseName(t, &at);
  if (!name.ok()) return name.error();
  spec.name = *name;
  if (IsPunct(t, at, '(')) {
    std::vector<std::optional<std::string>> ignored;  // DROP names types only
    Result<std::vector<uint32_t>> args = ParseArgList(t, &at, &ignored);
    if (!args.ok()) return args.error();
    spec.arg_types = std::move(*args);
  }
  if (IsPunct(t, at, ','))
    return MakeError("0A000", "dropping several functions at once is not supported");
  if (IsWord(t, at, "cascade") || IsWord(t, at, "restrict")) at++;
  if (IsPunct(t, at, ';')) at++;
  if (at < t.size()) return SyntaxError(t, at);
  return spec;
}

Result<void*> Resolve(const CFunction& function) {
  void (*init)(void) = nullptr;
  Result<void*> handle = loader::LoadLibraryDeferInit(function.library, &init);
  if (!handle.ok()) {
    ErrorReport e = handle.error();  // with the loader's DETAIL (where it searched)
    if (e.sqlstate.empty()) e.sqlstate = "58P01";
    return e;
  }
  if (init != nullptr) {
    Guarded g{nullptr, nullptr, init, 0};
    if (std::optional<ErrorReport> e = CallGuarded(InitThunk, &g)) return *e;
  }
  Result<void*> fn = loader::LookupFunction(function.library, function.symbol);
  if (!fn.ok()) {
    ErrorReport e = fn.error();
    e.sqlstate = "42883";
    return e;
  }
  Result<void*> finfo = loader::LookupFunction(function.library, "pg_finfo_" + function.symbol);
  if (!finfo.ok()) {
    return MakeError(
        "42883", "could not find function information for function \"" + function.symbol + "\"", "",
        "SQL-callable functions need an accompanying PG_FUNCTION_INFO_V1(funcname).");
  }
  const Pg_finfo_record* record = reinterpret_cast<PGFInfoFunction>(*finfo)();
  if (record == nullptr || record->api_version != 1) {
    return MakeError("42P13", "unrecognized API version " +
                                  std::to_string(record != nullptr ? record->api_version : 0) +
                                  " reported by info function \"pg_finfo_" + function.symbol +
                                  "\"");
  }
  return *fn;
}

Status Bind(sqlite3* db, const CFunction& function, void* fn) {
  // Once per arity it may be called with: arguments with defaults may be
  // left out (CallCFunction fills them in).
  const int nargs = static_cast<int>(function.arg_types.size());
  for (int arity = nargs - static_cast<int>(function.defaults.size()); arity <= nargs; arity++) {
    auto* b = new Bound{function, reinterpret_cast<PGFunction>(fn), FmgrInfo{}};
    b->flinfo.fn_addr = b->fn;
    b->flinfo.fn_nargs = static_cast<short>(nargs);
    b->flinfo.fn_strict = function.strict;
    // SQLITE_DIRECTONLY: module code runs only from statements a client (or
    // SPI) sent, never from a view, trigger, default or index expression that
    // someone else stored in the database, so nobody can make another role's
    // query run it behind its back.
    int rc = sqlite3_create_function_v2(db, function.name.c_str(), arity,
                                        SQLITE_UTF8 | SQLITE_DIRECTONLY, b, CallCFunction, nullptr,
                                        nullptr, DestroyBound);
    if (rc != SQLITE_OK) {
      // SQLite has already called DestroyBound on failure.
      return MakeError("XX000", std::string("could not register function: ") + sqlite3_errmsg(db));
    }
  }
  return Status::Ok();
}

void Unbind(sqlite3* db, const CFunction& function) {
  const int nargs = static_cast<int>(function.arg_types.size());
  for (int arity = nargs - static_cast<int>(function.defaults.size()); arity <= nargs; arity++) {
    sqlite3_create_function_v2(db, function.name.c_str(), arity, SQLITE_UTF8, nullptr, nullptr,
                               nullptr, nullptr, nullptr);
  }
}

void SetExecuteCheck(ExecuteCheck check, void* arg) {
  execute_check = check;
  execute_check_arg = arg;
}

Status Store(sqlite3* db, const CFunction& f) {
  sandbox::InternalScope internal;
  return catalogue::PutFunction(db, f);
}

Status Remove(sqlite3* db, const std::string& name, int nargs) {
  sandbox::InternalScope internal;
  return catalogue::DeleteFunction(db, name, static_cast<size_t>(nargs));
}

Result<std::vector<CFunction>> LoadAll(sqlite3* db) {
  sandbox::InternalScope internal;
  Result<catalogue::Snapshot> snap = catalogue::Load(db);
  if (!snap.ok()) return snap.error();
  return snap->functions();
}

void ResultError(sqlite3_context* ctx, ErrorReport error) {
  std::string message = error.message;
  last_error = std::move(error);
  sqlite3_result_error(ctx, message.c_str(), -1);
}

void KeepError(ErrorReport error) { last_error = std::move(error); }

std::optional<ErrorReport> TakeError() {
  std::optional<ErrorReport> e = std::move(last_error);
  last_error.reset();
  return e;
}

}  // namespace bgw::sql::fmgr
