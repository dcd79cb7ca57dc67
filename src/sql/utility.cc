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
#include "sql/cursor.h"
#include "sql/session_internal.h"
#include "sql/system.h"
#include "storage/catalog.h"

namespace bgw::sql::internal {
namespace {

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

Result<storage::Catalog*> SessionImpl::Catalog() {
  if (!catalog_) {
    Result<std::unique_ptr<storage::Catalog>> opened = storage::Catalog::Open(info_.data_dir);
    if (!opened.ok()) return opened.error();
    catalog_ = std::move(opened.value());
  }
  return catalog_.get();
}

Result<UtilityResult> SessionImpl::RunUtility(const StatementImpl& st) {
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
      if (Status s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunSet(st);
    case Kind::kShow:
      if (Status s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunShow(st);
    case Kind::kReset:
      if (Status s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunReset(st);
    case Kind::kDiscard: {
      Cursor c(st.tokens);
      c.Accept("discard");
      std::string what = c.PeekWord();
      if (what == "all") {
        if (state_ == TxState::kBlock) {
          return MakeError("25001", "DISCARD ALL cannot run inside a transaction block");
        }
        if (Status s = EnsureTransaction(false, false); !s.ok()) return s.error();
        ResetAll();
        if (Status s = notify::Unlisten("*"); !s.ok()) return s.error();
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
      if (Status s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunNotify(st);
    case Kind::kTruncate:
      if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
      return RunTruncate(st);
    case Kind::kDropObjects:
      if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
      return RunDropObjects(st);
    case Kind::kVacuum:
      if (state_ == TxState::kBlock) {
        return MakeError("25001", "VACUUM cannot run inside a transaction block");
      }
      if (Status s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return Tag("VACUUM");
    case Kind::kCreateFunction: {
      if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
      if (Status s = system::CreateCFunction(db_, info_, st.sql()); !s.ok()) return s.error();
      return Tag("CREATE FUNCTION");
    }
    case Kind::kDropFunction: {
      if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
      if (Status s = system::DropFunction(db_, info_, st.sql()); !s.ok()) return s.error();
      return Tag("DROP FUNCTION");
    }
    case Kind::kCreateExtension:
      return RunCreateExtension(st);
    case Kind::kAlterExtension:
      return RunAlterExtension(st);
    case Kind::kDropExtension:
      return RunDropExtension(st);
    case Kind::kCreateDatabase:
    case Kind::kAlterDatabase:
    case Kind::kDropDatabase:
      return RunDatabase(st);
    case Kind::kCreateRole:
    case Kind::kAlterRole:
    case Kind::kDropRole:
      if (Status s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return RunRole(st);
    case Kind::kGrant:
      if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
      return RunGrant(st);
    case Kind::kAlterOwner:
      if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
      return RunAlterOwner(st);
    case Kind::kReassignOwned:
    case Kind::kDropOwned:
      if (Status s = EnsureTransaction(true, true); !s.ok()) return s.error();
      return RunOwned(st);
    case Kind::kNoop:
      if (Status s = EnsureTransaction(false, false); !s.ok()) return s.error();
      return Tag(st.fixed_tag);
    default:
      return MakeError("0A000", "statement is not supported");
  }
}

Result<UtilityResult> SessionImpl::RunTransactionControl(const StatementImpl& st) {
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
        if (Status s = EndTransaction(false); !s.ok()) return s.error();
        return Tag("ROLLBACK");
      }
      if (state_ != TxState::kBlock) {
        // In an implicit transaction (earlier statements of the same
        // simple query) PostgreSQL warns and commits it.
        Notice("WARNING", "25P01", "there is no transaction in progress");
        if (state_ == TxState::kImplicit) {
          if (Status s = EndTransaction(true); !s.ok()) return s.error();
        }
        return Tag("COMMIT");
      }
      if (Status s = EndTransaction(true); !s.ok()) return s.error();
      return Tag("COMMIT");
    case Kind::kRollback:
      if (state_ != TxState::kBlock && state_ != TxState::kFailed) {
        Notice("WARNING", "25P01", "there is no transaction in progress");
        if (state_ == TxState::kImplicit) (void)EndTransaction(false);
        return Tag("ROLLBACK");
      }
      if (Status s = EndTransaction(false); !s.ok()) return s.error();
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
  const std::string quoted = QuoteIdent(*name);
  if (st.kind == Kind::kSavepoint) {
    if (Status s = EnsureTransaction(true, false); !s.ok()) return s.error();
    if (Status s = Exec(("SAVEPOINT " + quoted).c_str()); !s.ok()) return s.error();
    return Tag("SAVEPOINT");
  }
  if (!sqlite_open_) {
    return MakeError("3B001", StringPrintf("savepoint \"%s\" does not exist", name->c_str()));
  }
  if (st.kind == Kind::kRelease) {
    if (Status s = Exec(("RELEASE " + quoted).c_str()); !s.ok()) return s.error();
    return Tag("RELEASE");
  }
  if (Status s = Exec(("ROLLBACK TO " + quoted).c_str()); !s.ok()) return s.error();
  state_ = TxState::kBlock;
  return Tag("ROLLBACK");
}

Status SessionImpl::SetOne(const std::string& name, const std::optional<std::string>& value,
                           bool local) {
  Result<std::string> old = guc::GetConfigOption(name);
  Status s = value ? guc::SetOption(name, *value, SetContext(), guc::Source::kSession)
                   : guc::ResetOption(name, SetContext());
  if (!s.ok()) return SettingsError(s);
  if (old.ok()) guc_undo_.push_back(GucUndo{name, *old, local});
  CollectReports();
  return Status::Ok();
}

void SessionImpl::ResetAll() {
  // RESET ALL is also RESET SESSION AUTHORIZATION (and so RESET ROLE).
  if (info_.session_role_oid != authenticated_role_ || info_.role_oid != authenticated_role_) {
    GucUndo undo;
    undo.name = "role";
    undo.old_current_role = info_.role_oid;
    undo.old_session_role = info_.session_role_oid;
    guc_undo_.push_back(undo);
    ApplyRoles(authenticated_role_, authenticated_role_);
  }
  for (const guc::VariableInfo& v : guc::AllVariables()) {
    if (v.context != guc::Context::kUserset && v.context != guc::Context::kSuset) continue;
    if (v.context == guc::Context::kSuset && !info_.superuser) continue;
    (void)SetOne(v.name, std::nullopt, false);
  }
}

Result<UtilityResult> SessionImpl::RunSet(const StatementImpl& st) {
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
  if (next == "role") return RunSetRole(st, local, false);
  if (next == "authorization" || (next == "session" && c.Accept("session"))) {
    return RunSetRole(st, local, true);
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
  if (Status s = SetOne(*name, value, local); !s.ok()) return s.error();
  return Tag("SET");
}

Result<UtilityResult> SessionImpl::RunShow(const StatementImpl& st) {
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
  if (!value.ok()) return SettingsError(value.status());
  r.rows.push_back({Value::Text(*value)});
  return r;
}

Result<UtilityResult> SessionImpl::RunReset(const StatementImpl& st) {
  Cursor c(st.tokens);
  c.Accept("reset");
  if (c.Accept("all")) {
    if (!c.AtEnd()) return c.SyntaxError();
    ResetAll();
    return Tag("RESET");
  }
  if (c.PeekWord() == "role" || c.PeekWord() == "session") return RunSetRole(st, false, false);
  std::optional<std::string> name = SettingName(c);
  if (!name || !c.AtEnd()) return c.SyntaxError();
  if (Status s = SetOne(*name, std::nullopt, false); !s.ok()) return s.error();
  return Tag("RESET");
}

Result<UtilityResult> SessionImpl::RunNotify(const StatementImpl& st) {
  Cursor c(st.tokens);
  if (st.kind == Kind::kListen) {
    c.Accept("listen");
    std::optional<std::string> ch = c.Ident();
    if (!ch || !c.AtEnd()) return c.SyntaxError();
    if (Status s = notify::Listen(*ch); !s.ok()) return s.error();
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
    if (Status s = notify::Unlisten(ch); !s.ok()) return s.error();
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
  if (Status s = notify::Notify(*ch, payload); !s.ok()) return s.error();
  return Tag("NOTIFY");
}

Result<UtilityResult> SessionImpl::RunTruncate(const StatementImpl& st) {
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
    if (Status s = ExecUser("DELETE FROM " + QuoteIdent(t), {}, /*truncate=*/true); !s.ok()) {
      return s.error();
    }
  }
  return Tag("TRUNCATE TABLE");
}

Result<UtilityResult> SessionImpl::RunDropObjects(const StatementImpl& st) {
  Cursor c(st.tokens);
  c.Accept("drop");
  const std::string what = c.PeekWord();
  c.Accept(what.c_str());
  Result<bool> if_exists = c.IfExists();
  if (!if_exists.ok()) return if_exists.error();
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
    std::string sql = "DROP " + upper + (*if_exists ? " IF EXISTS " : " ") + QuoteIdent(n);
    if (Status s = ExecUser(sql, {}, false); !s.ok()) return s.error();
  }
  return Tag("DROP " + upper);
}

}  // namespace bgw::sql::internal
