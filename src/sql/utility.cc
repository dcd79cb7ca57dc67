// Statements the engine runs itself rather than SQLite: transaction control,
// SET/SHOW/RESET/DISCARD, LISTEN/UNLISTEN/NOTIFY, TRUNCATE, CREATE/DROP
// FUNCTION (through system.h), and databases and roles (through the shared
// catalog).
//
// Each is parsed from the significant tokens with a small cursor; the
// grammar accepted is PostgreSQL's where it matters to clients and tools,
// with unknown options rejected by name (42601) rather than ignored.
//
// Simplifications (docs/sql.md): catalog changes (databases, roles) are not
// transactional (each commits at once in the catalog); SET LOCAL lasts until
// the end of the current transaction block; SET outside a block is undone
// if its implicit transaction rolls back, as in PostgreSQL.
#include <sqlite3.h>

#include <algorithm>

#include "common/strutil.h"
#include "guc/guc.h"
#include "ipc/backend_status.h"
#include "ipc/notify.h"
#include "ipc/pmsignal.h"
#include "postgres/miscadmin.h"
#include "protocol/auth.h"
#include "sql/session_internal.h"
#include "sql/system.h"
#include "storage/catalog.h"

namespace bgw::sql::internal {
namespace {

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
    SqlResult<Value> v = ParseText(t_[i_].text, oid::kInt8);
    if (!v.ok()) {
      i_ = save;
      return std::nullopt;
    }
    ++i_;
    return negative ? -v->i : v->i;
  }
  // The error for the token we are at.
  SqlError SyntaxError() const {
    if (AtEnd()) return MakeError("42601", "syntax error at end of input");
    return MakeError("42601", "syntax error at or near \"" + std::string(t_[i_].text) + "\"");
  }

 private:
  const std::vector<Token>& t_;
  size_t i_ = 0;
};

UtilityResult Tag(std::string tag) { return UtilityResult{std::move(tag), {}}; }

// The registry's spelling of a setting ("DateStyle" for "datestyle").
std::string CanonicalName(const std::string& name) {
  for (const guc::VariableInfo& v : guc::AllVariables()) {
    if (EqualsIgnoreCase(v.name, name)) return v.name;
  }
  return name;
}

// SET/SHOW/RESET name: identifiers joined by dots, or a multi-word alias.
std::optional<std::string> SettingName(Cursor& c) {
  if (c.Accept("time")) {
    if (!c.Accept("zone")) return std::nullopt;
    return std::string("TimeZone");
  }
  if (c.PeekWord() == "transaction") {
    c.Accept("transaction");
    if (c.Accept("isolation") && c.Accept("level")) return std::string("transaction_isolation");
    return std::nullopt;
  }
  if (c.PeekWord() == "session") {
    c.Accept("session");
    if (c.Accept("authorization")) return std::string("session_authorization");
    return std::nullopt;
  }
  std::optional<std::string> name = c.Ident();
  if (!name) return std::nullopt;
  while (c.AcceptKind(TokenKind::kDot)) {
    std::optional<std::string> part = c.Ident();
    if (!part) return std::nullopt;
    *name += "." + *part;
  }
  return name;
}

bool IsTrue(const std::string& w) { return w == "true" || w == "on" || w == "1" || w == "t"; }

}  // namespace

void SessionImpl::PrepareShow(StatementImpl* st) const {
  Cursor c(st->tokens);
  c.Accept("show");
  if (c.Accept("all")) {
    st->show_all = true;
    return;
  }
  std::optional<std::string> name = SettingName(c);
  st->show_name = name ? CanonicalName(*name) : "?";
}

SqlResult<storage::Catalog*> SessionImpl::Catalog() {
  if (!catalog_) {
    SqlResult<std::unique_ptr<storage::Catalog>> opened = storage::Catalog::Open(info_.data_dir);
    if (!opened.ok()) return opened.error();
    catalog_ = std::move(opened.value());
  }
  return catalog_.get();
}

SqlResult<UtilityResult> SessionImpl::RunUtility(const StatementImpl& st) {
  switch (st.kind) {
    // These leave the schema and the functions as they are; anything else
    // (ROLLBACK TO, CREATE FUNCTION, DROP ... CASCADE, VACUUM, ...) may not.
    case Kind::kBegin:
    case Kind::kCommit:
    case Kind::kSavepoint:
    case Kind::kRelease:
    case Kind::kSet:
    case Kind::kShow:
    case Kind::kReset:
    case Kind::kListen:
    case Kind::kUnlisten:
    case Kind::kNotify:
    case Kind::kNoop:
    case Kind::kEmpty:
      break;
    default:
      InvalidateStatementCache();
      break;
  }
  switch (st.kind) {
    case Kind::kBegin:
    case Kind::kCommit:
    case Kind::kRollback:
    case Kind::kRollbackTo:
    case Kind::kSavepoint:
    case Kind::kRelease:
      return RunTransactionControl(st);
    default:
      break;
  }
  if (state_ == TxState::kFailed) return AbortedError();
  switch (st.kind) {
    case Kind::kEmpty:
      return Tag("");
    case Kind::kSet:
      if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunSet(st);
    case Kind::kShow:
      if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunShow(st);
    case Kind::kReset:
      if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunReset(st);
    case Kind::kDiscard: {
      Cursor c(st.tokens);
      c.Accept("discard");
      std::string what = c.PeekWord();
      if (what == "all") {
        if (state_ == TxState::kBlock) {
          return MakeError("25001", "DISCARD ALL cannot run inside a transaction block");
        }
        if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) return s.error();
        ResetAll();
        if (SqlStatus s = notify::Unlisten("*"); !s.ok()) return s.error();
        return Tag("DISCARD ALL");
      }
      if (what == "plans" || what == "sequences" || what == "temp" || what == "temporary") {
        return Tag("DISCARD " + (what == "temporary" ? std::string("TEMP") : [&] {
                     std::string u = what;
                     for (char& ch : u) ch = static_cast<char>(std::toupper(ch));
                     return u;
                   }()));
      }
      c.Accept(what.c_str());
      return c.SyntaxError();
    }
    case Kind::kListen:
    case Kind::kUnlisten:
    case Kind::kNotify:
      if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunNotify(st);
    case Kind::kTruncate:
      if (SqlStatus s = EnsureTransaction(true, true); !s.ok()) return s.error();
      return RunTruncate(st);
    case Kind::kDropObjects:
      if (SqlStatus s = EnsureTransaction(true, true); !s.ok()) return s.error();
      return RunDropObjects(st);
    case Kind::kVacuum:
      if (state_ == TxState::kBlock) {
        return MakeError("25001", "VACUUM cannot run inside a transaction block");
      }
      if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return Tag("VACUUM");
    case Kind::kCreateFunction: {
      if (SqlStatus s = EnsureTransaction(true, true); !s.ok()) return s.error();
      if (SqlStatus s = system::CreateCFunction(db_, info_, st.sql()); !s.ok()) return s.error();
      return Tag("CREATE FUNCTION");
    }
    case Kind::kDropFunction: {
      if (SqlStatus s = EnsureTransaction(true, true); !s.ok()) return s.error();
      if (SqlStatus s = system::DropFunction(db_, info_, st.sql()); !s.ok()) return s.error();
      return Tag("DROP FUNCTION");
    }
    case Kind::kCreateDatabase:
    case Kind::kAlterDatabase:
    case Kind::kDropDatabase:
      return RunDatabase(st);
    case Kind::kCreateRole:
    case Kind::kAlterRole:
    case Kind::kDropRole:
      if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunRole(st);
    case Kind::kNoop:
      if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return Tag(st.fixed_tag);
    default:
      return MakeError("0A000", "statement is not supported");
  }
}

SqlResult<UtilityResult> SessionImpl::RunTransactionControl(const StatementImpl& st) {
  Cursor c(st.tokens);
  switch (st.kind) {
    case Kind::kBegin:
      if (state_ == TxState::kFailed) return AbortedError();
      if (state_ == TxState::kBlock) {
        Notice("WARNING", "25001", "there is already a transaction in progress");
      } else {
        if (state_ == TxState::kIdle) StartTransactionClock();
        state_ = TxState::kBlock;
      }
      return Tag(LowerWord(st.tokens[0]) == "start" ? "START TRANSACTION" : "BEGIN");
    case Kind::kCommit:
      if (state_ == TxState::kFailed) {
        if (SqlStatus s = EndTransaction(false); !s.ok()) return s.error();
        return Tag("ROLLBACK");
      }
      if (state_ != TxState::kBlock) {
        // In an implicit transaction (earlier statements of the same
        // simple query) PostgreSQL warns and commits it.
        Notice("WARNING", "25P01", "there is no transaction in progress");
        if (state_ == TxState::kImplicit) {
          if (SqlStatus s = EndTransaction(true); !s.ok()) return s.error();
        }
        return Tag("COMMIT");
      }
      if (SqlStatus s = EndTransaction(true); !s.ok()) return s.error();
      return Tag("COMMIT");
    case Kind::kRollback:
      if (state_ != TxState::kBlock && state_ != TxState::kFailed) {
        Notice("WARNING", "25P01", "there is no transaction in progress");
        if (state_ == TxState::kImplicit) (void)EndTransaction(false);
        return Tag("ROLLBACK");
      }
      if (SqlStatus s = EndTransaction(false); !s.ok()) return s.error();
      return Tag("ROLLBACK");
    default:
      break;
  }
  // SAVEPOINT name / RELEASE [SAVEPOINT] name / ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] name
  c.Accept("rollback") || c.Accept("abort") || c.Accept("release") || c.Accept("savepoint");
  c.Accept("work") || c.Accept("transaction");
  c.Accept("to");
  c.Accept("savepoint");
  std::optional<std::string> name = c.Ident();
  if (!name || !c.AtEnd()) return c.SyntaxError();
  const char* what = st.kind == Kind::kSavepoint ? "SAVEPOINT"
                     : st.kind == Kind::kRelease ? "RELEASE SAVEPOINT"
                                                 : "ROLLBACK TO SAVEPOINT";
  if (state_ == TxState::kFailed && st.kind != Kind::kRollbackTo) return AbortedError();
  if (state_ != TxState::kBlock && state_ != TxState::kFailed) {
    return MakeError("25P01", StringPrintf("%s can only be used in transaction blocks", what));
  }
  std::string quoted = "\"";
  for (char ch : *name) {
    if (ch == '"') quoted += '"';
    quoted += ch;
  }
  quoted += "\"";
  if (st.kind == Kind::kSavepoint) {
    if (SqlStatus s = EnsureTransaction(true, false); !s.ok()) return s.error();
    if (SqlStatus s = Exec(("SAVEPOINT " + quoted).c_str()); !s.ok()) return s.error();
    return Tag("SAVEPOINT");
  }
  if (!sqlite_open_) {
    return MakeError("3B001", StringPrintf("savepoint \"%s\" does not exist", name->c_str()));
  }
  if (st.kind == Kind::kRelease) {
    if (SqlStatus s = Exec(("RELEASE " + quoted).c_str()); !s.ok()) return s.error();
    return Tag("RELEASE");
  }
  if (SqlStatus s = Exec(("ROLLBACK TO " + quoted).c_str()); !s.ok()) return s.error();
  state_ = TxState::kBlock;
  return Tag("ROLLBACK");
}

SqlStatus SessionImpl::SetOne(const std::string& name, const std::optional<std::string>& value,
                              bool local) {
  Result<std::string> old = guc::GetConfigOption(name);
  Status s = value ? guc::SetOption(name, *value, SetContext(), guc::Source::kSession)
                   : guc::ResetOption(name, SetContext());
  if (!s.ok()) return GucError(s);
  if (old.ok()) guc_undo_.push_back(GucUndo{name, *old, local});
  CollectReports();
  return SqlOk();
}

void SessionImpl::ResetAll() {
  for (const guc::VariableInfo& v : guc::AllVariables()) {
    if (v.context != guc::Context::kUserset && v.context != guc::Context::kSuset) continue;
    if (v.context == guc::Context::kSuset && !info_.superuser) continue;
    (void)SetOne(v.name, std::nullopt, false);
  }
}

SqlResult<UtilityResult> SessionImpl::RunSet(const StatementImpl& st) {
  Cursor c(st.tokens);
  c.Accept("set");
  bool local = c.Accept("local");
  if (!local) c.Accept("session");
  const std::string next = c.PeekWord();
  if (next == "transaction" || next == "characteristics") {
    // Isolation levels and access modes: SQLite transactions are
    // serializable; read-only mode is not enforced.
    return Tag("SET");
  }
  if (next == "role" || next == "authorization") {
    return MakeError("0A000", "SET ROLE and SET SESSION AUTHORIZATION are not supported");
  }
  std::optional<std::string> name;
  std::optional<std::string> value;
  bool is_default = false;
  if (c.Accept("time")) {
    if (!c.Accept("zone")) return c.SyntaxError();
    name = "TimeZone";
    if (c.Accept("local") || c.Accept("default")) {
      is_default = true;
    }
  } else if (c.Accept("names")) {  // SQL's spelling of client_encoding
    name = "client_encoding";
    if (c.AtEnd() || c.Accept("default")) is_default = true;
  } else if (c.Accept("schema")) {  // SQL's spelling of search_path
    name = "search_path";
  } else {
    name = SettingName(c);
    if (!name) return c.SyntaxError();
    if (!c.Accept("to") && !c.AcceptOp("=")) return c.SyntaxError();
    if (c.Accept("default")) is_default = true;
  }
  if (!is_default) {
    std::string joined;
    bool first = true;
    do {
      std::string item;
      const Token* t = c.Peek();
      if (t == nullptr) return c.SyntaxError();
      if (std::optional<std::string> s = c.String()) {
        item = *s;
      } else if (t->kind == TokenKind::kNumber ||
                 (t->kind == TokenKind::kOp && (t->text == "-" || t->text == "+"))) {
        if (t->kind == TokenKind::kOp) {
          item = std::string(t->text);
          c.AcceptKind(TokenKind::kOp);
          t = c.Peek();
          if (t == nullptr || t->kind != TokenKind::kNumber) return c.SyntaxError();
        }
        item += std::string(t->text);
        c.AcceptKind(TokenKind::kNumber);
      } else if (t->kind == TokenKind::kQuotedIdent) {
        item = std::string(t->text);  // list settings keep the quotes
        c.AcceptKind(TokenKind::kQuotedIdent);
      } else if (std::optional<std::string> w = c.Ident()) {
        item = *w;
      } else {
        return c.SyntaxError();
      }
      joined += (first ? "" : ", ") + item;
      first = false;
    } while (c.AcceptKind(TokenKind::kComma));
    value = joined;
  }
  if (!c.AtEnd()) return c.SyntaxError();
  if (local && state_ != TxState::kBlock) {
    Notice("WARNING", "25P01", "SET LOCAL can only be used in transaction blocks");
    return Tag("SET");
  }
  if (SqlStatus s = SetOne(*name, value, local); !s.ok()) return s.error();
  return Tag("SET");
}

SqlResult<UtilityResult> SessionImpl::RunShow(const StatementImpl& st) {
  UtilityResult r;
  r.tag = "SHOW";
  if (st.show_all) {
    for (const guc::VariableInfo& v : guc::AllVariables()) {
      if ((v.flags & guc::kSuperuserOnly) && !info_.superuser) continue;
      r.rows.push_back({Value::Text(v.name), Value::Text(v.shown), Value::Text(v.short_desc)});
    }
    return r;
  }
  Cursor c(st.tokens);
  c.Accept("show");
  std::optional<std::string> name = SettingName(c);
  if (!name || !c.AtEnd()) return c.SyntaxError();
  Result<std::string> value = guc::GetConfigOption(*name);
  if (!value.ok()) return GucError(value.status());
  r.rows.push_back({Value::Text(*value)});
  return r;
}

SqlResult<UtilityResult> SessionImpl::RunReset(const StatementImpl& st) {
  Cursor c(st.tokens);
  c.Accept("reset");
  if (c.Accept("all")) {
    if (!c.AtEnd()) return c.SyntaxError();
    ResetAll();
    return Tag("RESET");
  }
  std::optional<std::string> name = SettingName(c);
  if (!name || !c.AtEnd()) return c.SyntaxError();
  if (SqlStatus s = SetOne(*name, std::nullopt, false); !s.ok()) return s.error();
  return Tag("RESET");
}

SqlResult<UtilityResult> SessionImpl::RunNotify(const StatementImpl& st) {
  Cursor c(st.tokens);
  if (st.kind == Kind::kListen) {
    c.Accept("listen");
    std::optional<std::string> ch = c.Ident();
    if (!ch || !c.AtEnd()) return c.SyntaxError();
    if (SqlStatus s = notify::Listen(*ch); !s.ok()) return s.error();
    return Tag("LISTEN");
  }
  if (st.kind == Kind::kUnlisten) {
    c.Accept("unlisten");
    std::string ch;
    if (c.AcceptOp("*")) {
      ch = "*";
    } else if (std::optional<std::string> id = c.Ident()) {
      ch = *id;
    } else {
      return c.SyntaxError();
    }
    if (!c.AtEnd()) return c.SyntaxError();
    if (SqlStatus s = notify::Unlisten(ch); !s.ok()) return s.error();
    return Tag("UNLISTEN");
  }
  c.Accept("notify");
  std::optional<std::string> ch = c.Ident();
  if (!ch) return c.SyntaxError();
  std::string payload;
  if (c.AcceptKind(TokenKind::kComma)) {
    std::optional<std::string> p = c.String();
    if (!p) return c.SyntaxError();
    payload = *p;
  }
  if (!c.AtEnd()) return c.SyntaxError();
  if (SqlStatus s = notify::Notify(*ch, payload); !s.ok()) return s.error();
  return Tag("NOTIFY");
}

SqlResult<UtilityResult> SessionImpl::RunTruncate(const StatementImpl& st) {
  Cursor c(st.tokens);
  c.Accept("truncate");
  c.Accept("table");
  c.Accept("only");
  std::vector<std::string> tables;
  do {
    std::optional<std::string> name = c.Ident();
    if (!name) return c.SyntaxError();
    if (c.AcceptKind(TokenKind::kDot)) {  // schema-qualified: keep the table
      std::optional<std::string> rel = c.Ident();
      if (!rel) return c.SyntaxError();
      name = rel;
    }
    tables.push_back(*name);
  } while (c.AcceptKind(TokenKind::kComma));
  while (c.Accept("restart") || c.Accept("continue") || c.Accept("identity") ||
         c.Accept("cascade") || c.Accept("restrict")) {
  }
  if (!c.AtEnd()) return c.SyntaxError();
  for (const std::string& t : tables) {
    std::string sql = "DELETE FROM \"";
    for (char ch : t) {
      if (ch == '"') sql += '"';
      sql += ch;
    }
    sql += "\"";
    if (SqlStatus s = Exec(sql.c_str()); !s.ok()) return s.error();
  }
  return Tag("TRUNCATE TABLE");
}

namespace {
std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}
}  // namespace

SqlResult<UtilityResult> SessionImpl::RunDropObjects(const StatementImpl& st) {
  Cursor c(st.tokens);
  c.Accept("drop");
  const std::string what = c.PeekWord();
  c.Accept(what.c_str());
  bool if_exists = false;
  if (c.Accept("if")) {
    if (!c.Accept("exists")) return c.SyntaxError();
    if_exists = true;
  }
  std::vector<std::string> names;
  do {
    std::optional<std::string> name = c.Ident();
    if (!name) return c.SyntaxError();
    if (c.AcceptKind(TokenKind::kDot)) {
      std::optional<std::string> rel = c.Ident();
      if (!rel) return c.SyntaxError();
      if (*name != "public" && *name != "main") {
        return MakeError("3F000", StringPrintf("schema \"%s\" does not exist", name->c_str()));
      }
      name = rel;
    }
    names.push_back(*name);
  } while (c.AcceptKind(TokenKind::kComma));
  // SQLite drops dependent indexes and triggers with the table; views that
  // name it fail when used, which is what CASCADE would have dropped.
  c.Accept("cascade") || c.Accept("restrict");
  if (!c.AtEnd()) return c.SyntaxError();
  std::string upper = what;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const std::string& n : names) {
    std::string sql = "DROP " + upper + (if_exists ? " IF EXISTS " : " ") + QuoteIdent(n);
    if (SqlStatus s = Exec(sql.c_str()); !s.ok()) return s.error();
  }
  return Tag("DROP " + upper);
}

SqlResult<UtilityResult> SessionImpl::RunDatabase(const StatementImpl& st) {
  Cursor c(st.tokens);
  const Kind kind = st.kind;
  c.Accept(kind == Kind::kCreateDatabase  ? "create"
           : kind == Kind::kAlterDatabase ? "alter"
                                          : "drop");
  c.Accept("database");
  bool if_exists = false;
  if (kind == Kind::kDropDatabase && c.Accept("if")) {
    if (!c.Accept("exists")) return c.SyntaxError();
    if_exists = true;
  }
  std::optional<std::string> name = c.Ident();
  if (!name) return c.SyntaxError();

  if (kind == Kind::kCreateDatabase || kind == Kind::kDropDatabase) {
    if (state_ == TxState::kBlock) {
      return MakeError("25001", StringPrintf("%s cannot run inside a transaction block",
                                             kind == Kind::kCreateDatabase ? "CREATE DATABASE"
                                                                           : "DROP DATABASE"));
    }
  } else if (SqlStatus s = EnsureTransaction(false, false); !s.ok()) {
    return s.error();
  }

  // Options: [WITH] key [=] value ...
  storage::DatabaseOptions options;
  std::optional<std::string> rename_to;
  std::optional<std::string> owner_name;
  if (kind == Kind::kAlterDatabase && c.Accept("rename")) {
    if (!c.Accept("to")) return c.SyntaxError();
    rename_to = c.Ident();
    if (!rename_to) return c.SyntaxError();
  } else if (kind == Kind::kAlterDatabase && c.Accept("owner")) {
    if (!c.Accept("to")) return c.SyntaxError();
    owner_name = c.Ident();
    if (!owner_name) return c.SyntaxError();
  } else if (kind == Kind::kAlterDatabase && (c.PeekWord() == "set" || c.PeekWord() == "reset")) {
    return MakeError("0A000", "ALTER DATABASE ... SET is not supported");
  } else if (kind == Kind::kDropDatabase) {
    // [WITH] (FORCE) is refused below: we never terminate other sessions.
    if (c.Accept("with") || c.PeekWord().empty()) {
      if (!c.AtEnd()) {
        return MakeError("0A000", "DROP DATABASE ... WITH (FORCE) is not supported");
      }
    }
  } else {
    c.Accept("with");
    while (!c.AtEnd()) {
      std::string key = c.PeekWord();
      if (key.empty()) return c.SyntaxError();
      c.Accept(key.c_str());
      if (key == "connection") {
        if (!c.Accept("limit")) return c.SyntaxError();
        c.AcceptOp("=");
        std::optional<int64_t> n = c.Integer();
        if (!n || *n < -1 || *n > 2147483647) return c.SyntaxError();
        options.connection_limit = static_cast<int>(*n);
        continue;
      }
      c.AcceptOp("=");
      if (key == "owner") {
        owner_name = c.Ident();
        if (!owner_name) owner_name = c.String();
        if (!owner_name) return c.SyntaxError();
      } else if (key == "allow_connections") {
        std::string v;
        if (std::optional<std::string> s = c.String()) {
          v = *s;
        } else if (std::optional<int64_t> n = c.Integer()) {
          v = std::to_string(*n);
        } else if (std::optional<std::string> w = c.Ident()) {
          v = *w;
        } else {
          return c.SyntaxError();
        }
        options.allow_connections = IsTrue(v);
      } else if (key == "template" || key == "encoding" || key == "lc_collate" ||
                 key == "lc_ctype" || key == "locale" || key == "tablespace" ||
                 key == "is_template" || key == "strategy" || key == "locale_provider" ||
                 key == "icu_locale" || key == "collation_version" || key == "oid") {
        // Accepted for compatibility; every database is a UTF-8 SQLite file.
        if (!c.String() && !c.Ident() && !c.Integer()) return c.SyntaxError();
      } else {
        return MakeError("42601", StringPrintf("option \"%s\" not recognized", key.c_str()));
      }
    }
  }
  if (!c.AtEnd()) return c.SyntaxError();

  SqlResult<storage::Catalog*> cat = Catalog();
  if (kind == Kind::kCreateDatabase && !info_.superuser) {
    return MakeError("42501", "permission denied to create database");
  }
  if (!cat.ok()) return cat.error();
  storage::Catalog* catalog = *cat;
  if (owner_name) {
    SqlResult<std::optional<storage::RoleInfo>> role = catalog->FindRole(*owner_name);
    if (!role.ok()) return role.error();
    if (!role->has_value()) {
      return MakeError("42704", StringPrintf("role \"%s\" does not exist", owner_name->c_str()));
    }
    options.owner = (*role)->oid;
  }

  if (kind == Kind::kCreateDatabase) {
    if (!options.owner) options.owner = info_.role_oid;
    SqlResult<storage::DatabaseInfo> made = catalog->CreateDatabase(*name, options);
    if (!made.ok()) return made.error();
    // The postmaster then holds the new file's wal-index, so that later
    // connections to it skip SQLite's first-connection reset. A session
    // outside a server (unit tests) has no postmaster to tell.
    if (IsUnderPostmaster) pmsignal::Send(pmsignal::Reason::kDatabaseFilesChange);
    return Tag("CREATE DATABASE");
  }

  SqlResult<std::optional<storage::DatabaseInfo>> found = catalog->FindDatabase(*name);
  if (!found.ok()) return found.error();
  if (!found->has_value()) {
    if (if_exists) {
      Notice("NOTICE", "00000",
             StringPrintf("database \"%s\" does not exist, skipping", name->c_str()));
      return Tag("DROP DATABASE");
    }
    return MakeError("3D000", StringPrintf("database \"%s\" does not exist", name->c_str()));
  }
  const storage::DatabaseInfo db = **found;
  if (!info_.superuser && db.owner != info_.role_oid) {
    return MakeError("42501", StringPrintf("must be owner of database %s", name->c_str()));
  }
  if (kind == Kind::kAlterDatabase) {
    if (rename_to) {
      if (db.oid == info_.database_oid) {
        return MakeError("0A000", "current database cannot be renamed");
      }
      if (int others = backend_status::CountOtherBackendsInDatabase(db.oid); others > 0) {
        return MakeError(
            "55006",
            StringPrintf("database \"%s\" is being accessed by other users", name->c_str()),
            others == 1 ? std::string("There is 1 other session using the database.")
                        : StringPrintf("There are %d other sessions using the "
                                       "database.",
                                       others));
      }
      if (SqlStatus s = catalog->RenameDatabase(*name, *rename_to); !s.ok()) return s.error();
      return Tag("ALTER DATABASE");
    }
    if (SqlStatus s = catalog->AlterDatabase(*name, options); !s.ok()) return s.error();
    return Tag("ALTER DATABASE");
  }
  // DROP DATABASE
  if (db.oid == info_.database_oid) {
    return MakeError("55006", "cannot drop the currently open database");
  }
  if (int others = backend_status::CountOtherBackendsInDatabase(db.oid); others > 0) {
    return MakeError(
        "55006", StringPrintf("database \"%s\" is being accessed by other users", name->c_str()),
        others == 1 ? std::string("There is 1 other session using the database.")
                    : StringPrintf("There are %d other sessions using the database.", others));
  }
  if (SqlStatus s = catalog->DropDatabase(*name); !s.ok()) return s.error();
  // The postmaster's lock keeps the removed -shm file's inode alive until
  // it lets go of it.
  if (IsUnderPostmaster) pmsignal::Send(pmsignal::Reason::kDatabaseFilesChange);
  return Tag("DROP DATABASE");
}

SqlResult<UtilityResult> SessionImpl::RunRole(const StatementImpl& st) {
  Cursor c(st.tokens);
  const Kind kind = st.kind;
  c.Accept(kind == Kind::kCreateRole ? "create" : kind == Kind::kAlterRole ? "alter" : "drop");
  const std::string noun = c.PeekWord();  // role, user or group
  c.Accept(noun.c_str());
  const char* verb = kind == Kind::kCreateRole  ? "create"
                     : kind == Kind::kAlterRole ? "alter"
                                                : "drop";

  if (kind == Kind::kDropRole) {
    bool if_exists = false;
    if (c.Accept("if")) {
      if (!c.Accept("exists")) return c.SyntaxError();
      if_exists = true;
    }
    std::vector<std::string> names;
    do {
      std::optional<std::string> n = c.Ident();
      if (!n) return c.SyntaxError();
      names.push_back(*n);
    } while (c.AcceptKind(TokenKind::kComma));
    if (!c.AtEnd()) return c.SyntaxError();
    if (!info_.superuser) return MakeError("42501", "permission denied to drop role");
    for (const std::string& n : names) {
      if (n == info_.role_name) return MakeError("55006", "current user cannot be dropped");
    }
    SqlResult<storage::Catalog*> cat = Catalog();
    if (!cat.ok()) return cat.error();
    for (const std::string& n : names) {
      SqlResult<std::optional<storage::RoleInfo>> found = (*cat)->FindRole(n);
      if (!found.ok()) return found.error();
      if (!found->has_value()) {
        if (if_exists) {
          Notice("NOTICE", "00000",
                 StringPrintf("role \"%s\" does not exist, skipping", n.c_str()));
          continue;
        }
        return MakeError("42704", StringPrintf("role \"%s\" does not exist", n.c_str()));
      }
      if (SqlStatus s = (*cat)->DropRole(n); !s.ok()) return s.error();
    }
    return Tag("DROP ROLE");
  }

  std::optional<std::string> name = c.Ident();
  if (!name) return c.SyntaxError();
  storage::RoleOptions options;
  if (kind == Kind::kCreateRole && noun == "user") options.can_login = true;
  if (kind == Kind::kAlterRole &&
      (c.PeekWord() == "rename" || c.PeekWord() == "set" || c.PeekWord() == "reset")) {
    return MakeError("0A000", StringPrintf("ALTER ROLE ... %s is not supported",
                                           c.PeekWord() == "rename" ? "RENAME" : "SET"));
  }
  std::optional<std::string> plain_password;
  bool password_null = false;
  bool only_password = true;
  c.Accept("with");
  while (!c.AtEnd()) {
    std::string w = c.PeekWord();
    if (w.empty()) return c.SyntaxError();
    c.Accept(w.c_str());
    if (w == "superuser" || w == "nosuperuser") {
      options.superuser = w == "superuser";
      only_password = false;
    } else if (w == "login" || w == "nologin") {
      options.can_login = w == "login";
      only_password = false;
    } else if (w == "createdb" || w == "nocreatedb" || w == "createrole" || w == "nocreaterole" ||
               w == "inherit" || w == "noinherit" || w == "replication" || w == "noreplication" ||
               w == "bypassrls" || w == "nobypassrls") {
      // Privileges we do not model: superusers have them all, others none.
      only_password = false;
    } else if (w == "connection") {
      if (!c.Accept("limit")) return c.SyntaxError();
      std::optional<int64_t> n = c.Integer();
      if (!n || *n < -1 || *n > 2147483647) return c.SyntaxError();
      options.connection_limit = static_cast<int>(*n);
      only_password = false;
    } else if (w == "encrypted" || w == "password") {
      if (w == "encrypted" && !c.Accept("password")) return c.SyntaxError();
      if (c.Accept("null")) {
        password_null = true;
      } else if (std::optional<std::string> p = c.String()) {
        plain_password = *p;
      } else {
        return c.SyntaxError();
      }
    } else if (w == "valid") {
      if (!c.Accept("until") || !c.String()) return c.SyntaxError();
      only_password = false;
    } else if (w == "in" || w == "role" || w == "admin" || w == "user" || w == "sysid") {
      return MakeError("0A000", "role membership is not supported");
    } else {
      return MakeError("42601", StringPrintf("syntax error at or near \"%s\"", w.c_str()));
    }
  }
  // Only superusers manage roles; anyone may change their own password.
  const bool own_password = kind == Kind::kAlterRole && *name == info_.role_name && only_password;
  if (!info_.superuser && !own_password) {
    return MakeError("42501", StringPrintf("permission denied to %s role", verb));
  }
  if (plain_password) {
    if (plain_password->empty()) {
      Notice("NOTICE", "00000", "empty string is not a valid password, clearing password");
      options.password = "";
    } else {
      options.password = protocol::MakePasswordVerifier(*plain_password, *name);
    }
  } else if (password_null) {
    options.password = "";
  }
  SqlResult<storage::Catalog*> cat = Catalog();
  if (!cat.ok()) return cat.error();
  if (kind == Kind::kCreateRole) {
    SqlResult<storage::RoleInfo> made = (*cat)->CreateRole(*name, options);
    if (!made.ok()) return made.error();
    return Tag("CREATE ROLE");
  }
  if (SqlStatus s = (*cat)->AlterRole(*name, options); !s.ok()) return s.error();
  return Tag("ALTER ROLE");
}

}  // namespace bgw::sql::internal
