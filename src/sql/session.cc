// The SQL engine: PostgreSQL's statement, portal and transaction model on top
// of one SQLite connection (see session.h for the contract). This file holds
// the session itself; its parts live beside it: classify.cc (which
// statements are whose), rewrite.h (PostgreSQL spellings to SQLite's),
// portal.cc (statements and portals), sqlite_bridge.cc (SQLite's errors and
// values as PostgreSQL's), utility.cc and the *_commands.cc files (statements
// the engine runs itself).
//
// Shape and why:
//   - Every statement is classified from its first keywords. Statements
//     SQLite knows are rewritten and prepared; the rest (BEGIN, SET, CREATE
//     DATABASE, LISTEN, ...) are "utility" statements the engine runs
//     itself.
//   - The PostgreSQL transaction state (idle, implicit, block, failed) is
//     kept here; the SQLite transaction is opened lazily by the first
//     statement that touches the database, with BEGIN IMMEDIATE when that
//     statement writes, so a write transaction waits for the write lock up
//     front instead of failing later on a stale snapshot.
//   - A prepared SQLite statement is cached in its Statement and lent to one
//     portal at a time; a second concurrent portal prepares its own.
//   - Interrupts (cancel, terminate, statement_timeout) are noticed by the
//     progress and busy handlers and pg_sleep (functions.h).
#include "sql/session_internal.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/strutil.h"
#include "compat/session_roles.h"
#include "guc/guc.h"
#include "guc/settings.h"
#include "ipc/backend_status.h"
#include "ipc/notify.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/tcop/tcopprot.h"
#include "postgres/utils/elog.h"
#include "sql/catalog_views.h"
#include "sql/fmgr_call.h"
#include "sql/sandbox.h"
#include "sql/system.h"
#include "storage/catalog.h"

namespace bgw::sql {
namespace internal {

// ---------------------------------------------------------------------------
// SessionImpl

namespace {

int BusyHandler(void* arg, int attempt) {
  auto* ctx = static_cast<functions::FunctionContext*>(arg);
  if (functions::CheckInterrupts(ctx) != functions::Interrupt::kNone) return 0;
  // Back off from 1 ms to 10 ms: short waits stay short, long ones cheap.
  usleep(static_cast<useconds_t>(std::min(attempt + 1, 10) * 1000));
  return 1;
}

// Settings whose changes the client learns through ParameterStatus.
const char* const kReportedSettings[] = {
    "server_version",
    "server_encoding",
    "client_encoding",
    "application_name",
    "default_transaction_read_only",
    "in_hot_standby",
    "is_superuser",
    "session_authorization",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "integer_datetimes",
    "standard_conforming_strings",
};

}  // namespace

SessionImpl::SessionImpl(const SessionInfo& info)
    : info_(info), registry_(std::make_shared<Registry>()) {
  registry_->session = this;
  fctx_.info = &info_;
}

namespace {

// The session whose client receives ereport(NOTICE/WARNING/INFO) raised by
// code running inside it (C functions, system functions): elog's client
// sink queues them as notices, and the protocol loop sends them before the
// statement's CommandComplete or ErrorResponse. One session per process.
SessionImpl* notice_session = nullptr;

// EXECUTE on a C function, as the current role at the time of the call,
// against the ACL the catalogue holds now (not the one the function was
// bound with at session start).
std::optional<ErrorReport> CheckExecute(const fmgr::CFunction& f, void* arg) {
  privileges::AccessControl& ac = static_cast<SessionImpl*>(arg)->access();
  if (ac.superuser()) return std::nullopt;
  const catalogue::Function* now = ac.snapshot().FindFunction(f.name, f.arg_types.size());
  if ((ac.FunctionPrivileges(ac.current_role(), now != nullptr ? *now : f) & acl::kExecute) != 0) {
    return std::nullopt;
  }
  return MakeError("42501", "permission denied for function " + f.name);
}

void QueueClientNotice(const ErrorData* edata) {
  if (notice_session == nullptr || edata->elevel >= ERROR) return;
  notice_session->Notice(edata->elevel >= WARNING ? "WARNING" : "NOTICE",
                         unpack_sql_state(edata->sqlerrcode),
                         edata->message != nullptr ? edata->message : "");
}

}  // namespace

SessionImpl::~SessionImpl() {
  if (debug_query_string == current_query_.c_str()) debug_query_string = nullptr;
  if (notice_session == this) {
    notice_session = nullptr;
    bgw_set_client_error_sink(nullptr);
    fmgr::SetExecuteCheck(nullptr, nullptr);
  }
  registry_->session = nullptr;
  for (PortalImpl* p : registry_->live) p->TransactionEnded();
  statement_cache_.clear();
  for (sqlite3_stmt*& stmt : control_) {
    sqlite3_finalize(stmt);
    stmt = nullptr;
  }
  if (db_ != nullptr) {
    if (sqlite_open_ && sqlite3_get_autocommit(db_) == 0) {
      sandbox::InternalScope internal;
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    // Zombie until the statements still held by clients are finalized.
    sandbox::Close(db_);
  }
}

Status SessionImpl::Initialize() {
  guc::DefineBuiltinSettings();
  guc::DefineSessionSettings();
  if (info_.session_role_oid == 0) {
    info_.session_role_oid = info_.role_oid;
    info_.session_role_name = info_.role_name;
    info_.session_superuser = info_.superuser;
  }
  authenticated_superuser_ = info_.session_superuser;
  // Module code asks miscadmin.h which database it is in, in client
  // backends and workers alike.
  MyDatabaseId = info_.database_oid;
  authenticated_role_ = info_.session_role_oid;
  PublishRoles();
  Result<sqlite3*> opened = sandbox::Open(info_.database_path);
  if (!opened.ok()) return opened.error();
  db_ = *opened;
  storage::ConfigureConnection(db_);
  sqlite3_busy_handler(db_, BusyHandler, &fctx_);
  // synchronous=FULL: in WAL mode SQLite then syncs the WAL at every commit,
  // so a commit that was acknowledged survives a power loss, as PostgreSQL's
  // (synchronous_commit = on). NORMAL would be faster but may lose the last
  // commits; set explicitly because a build's default may differ.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    char* err = nullptr;
    if (sqlite3_exec(db_, pragma, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : "unknown error";
      sqlite3_free(err);
      return MakeError("58030", StringPrintf("could not prepare database \"%s\": %s",
                                             info_.database_path.c_str(), msg.c_str()));
    }
  }
  if (Status s = catalogue::Ensure(db_, info_.database_owner); !s.ok()) return s;
  if (Status st = functions::Register(db_, &fctx_); !st.ok()) return st;
  if (Status st = system::Register(db_, info_); !st.ok()) return st;
  if (Status st = catalog_views::Register(db_, &info_, &access_); !st.ok()) return st;
  sandbox::SetAuthorizer(db_, &access_);
  ApplyResourceLimits();
  // InitPostgres's CONNECT check, for client backends and workers alike.
  if (Status st = access_.Refresh(db_); !st.ok()) return st;
  if (!info_.superuser && (access_.DatabasePrivileges(info_.role_oid) & acl::kConnect) == 0) {
    return MakeError(
        "42501", StringPrintf("permission denied for database \"%s\"", info_.database_name.c_str()),
        "User does not have CONNECT privilege.");
  }
  notice_session = this;
  bgw_set_client_error_sink(QueueClientNotice);
  fmgr::SetExecuteCheck(CheckExecute, this);

  // Session identity, then the client's settings, as PostgreSQL applies them.
  (void)guc::SetOption("is_superuser", info_.superuser ? "on" : "off", guc::Context::kInternal,
                       guc::Source::kOverride);
  (void)guc::SetOption("session_authorization", info_.role_name, guc::Context::kInternal,
                       guc::Source::kOverride);
  const guc::Context backend_ctx =
      info_.superuser ? guc::Context::kSuBackend : guc::Context::kBackend;
  if (!info_.application_name.empty()) {
    if (Status s = guc::SetOption("application_name", info_.application_name, backend_ctx,
                                  guc::Source::kClient);
        !s.ok()) {
      ErrorReport e = SettingsError(s);
      e.severity = "FATAL";
      return e;
    }
  }
  for (const auto& [name, value] : info_.startup_settings) {
    if (Status s = guc::SetOption(name, value, backend_ctx, guc::Source::kClient); !s.ok()) {
      ErrorReport e = SettingsError(s);
      e.severity = "FATAL";
      return e;
    }
  }
  for (const char* name : kReportedSettings) reported_[name] = guc::ShowValue(name);
  if (guc::application_name != nullptr)
    backend_status::ReportApplicationName(guc::application_name);
  return Status::Ok();
}

ErrorReport SessionImpl::AbortedError() const {
  return MakeError("25P02",
                   "current transaction is aborted, commands ignored until end of transaction "
                   "block");
}

ErrorReport SessionImpl::MapSqliteError(int rc) {
  if (fctx_.error) {
    ErrorReport e = *fctx_.error;
    fctx_.error.reset();
    fctx_.interrupt = functions::Interrupt::kNone;
    return e;
  }
  if (fctx_.interrupt != functions::Interrupt::kNone) {
    ErrorReport e = functions::InterruptError(fctx_.interrupt);
    fctx_.interrupt = functions::Interrupt::kNone;
    return e;
  }
  // A refusal of the sandbox or of the privilege checks (42501).
  std::optional<ErrorReport> denial = sandbox::TakeDenial();
  // SQLite reports a refused function as SQLITE_ERROR "not authorized to
  // use function", everything else as SQLITE_AUTH.
  if ((rc & 0xFF) == SQLITE_AUTH ||
      (denial && std::strncmp(sqlite3_errmsg(db_), "not authorized", 14) == 0)) {
    if (denial) return *denial;
    return MakeError("42501", "permission denied");
  }
  if ((rc & 0xFF) == SQLITE_FULL && sandbox::TakeTempLimitExceeded()) {
    return MakeError("53400", StringPrintf("temporary file size exceeds temp_file_limit (%dkB)",
                                           guc::temp_file_limit));
  }
  // A system or C function's PostgreSQL error (system.h), when it is the
  // failure at hand; taken either way so a stale one never resurfaces.
  const std::string message = sqlite3_errmsg(db_);
  std::optional<ErrorReport> function_error = system::TakeFunctionError();
  if (function_error && function_error->message == message) return *function_error;
  return TranslateSqliteError(rc, sqlite3_extended_errcode(db_), message);
}

Status SessionImpl::RunControl(Control which) {
  static const char* const kText[] = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
  sandbox::InternalScope internal;
  sqlite3_stmt*& stmt = control_[static_cast<int>(which)];
  if (stmt == nullptr) {
    int rc = sqlite3_prepare_v3(db_, kText[static_cast<int>(which)], -1, SQLITE_PREPARE_PERSISTENT,
                                &stmt, nullptr);
    if (rc != SQLITE_OK) return MapSqliteError(rc);
  }
  int rc = sqlite3_step(stmt);
  Status result = Status::Ok();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) result = MapSqliteError(rc);
  sqlite3_reset(stmt);
  return result;
}

namespace {

// SQLITE_TESTCTRL_OPTIMIZATIONS' bit for the query flattener: without it a
// view is never merged into the query that reads it, so the authorizer sees
// every read of the view itself (see PrepareUser).
constexpr int kQueryFlattener = 0x00000001;

class NoFlattening {
 public:
  NoFlattening(sqlite3* db, bool on) : db_(on ? db : nullptr) {
    if (db_ != nullptr) sqlite3_test_control(SQLITE_TESTCTRL_OPTIMIZATIONS, db_, kQueryFlattener);
  }
  ~NoFlattening() {
    if (db_ != nullptr) sqlite3_test_control(SQLITE_TESTCTRL_OPTIMIZATIONS, db_, 0);
  }
  NoFlattening(const NoFlattening&) = delete;
  NoFlattening& operator=(const NoFlattening&) = delete;

 private:
  sqlite3* db_;
};

// INSERT OR REPLACE, REPLACE INTO, UPDATE OR REPLACE: they delete the rows
// they replace.
// Names a WITH clause defines: `name [(columns)] AS [[NOT] MATERIALIZED] (`.
std::vector<std::string> CteNames(const std::vector<Token>& t) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 2 < t.size(); ++i) {
    if (t[i].kind != TokenKind::kWord && t[i].kind != TokenKind::kQuotedIdent) continue;
    size_t j = i + 1;
    if (t[j].kind == TokenKind::kLParen) {
      while (j < t.size() && t[j].kind != TokenKind::kRParen) ++j;
      ++j;
    }
    if (j >= t.size() || WordAt(t, j) != "as") continue;
    ++j;
    if (WordAt(t, j) == "not") ++j;
    if (WordAt(t, j) == "materialized") ++j;
    if (j < t.size() && t[j].kind == TokenKind::kLParen) out.push_back(IdentifierValue(t[i]));
  }
  return out;
}

bool IsReplace(const std::vector<Token>& t) {
  const std::string w0 = WordAt(t, 0);
  if (w0 == "replace") return true;
  return (w0 == "insert" || w0 == "update") && WordAt(t, 1) == "or" && WordAt(t, 2) == "replace";
}

}  // namespace

Status SessionImpl::BindValues(sqlite3_stmt* stmt, const std::vector<Value>& values) {
  const int bindable = sqlite3_bind_parameter_count(stmt);
  for (size_t i = 0; i < values.size() && static_cast<int>(i) < bindable; ++i) {
    const Value& v = values[i];
    const int idx = static_cast<int>(i) + 1;
    int rc = SQLITE_OK;
    switch (v.kind) {
      case Value::Kind::kNull:
        rc = sqlite3_bind_null(stmt, idx);
        break;
      case Value::Kind::kInt:
        rc = sqlite3_bind_int64(stmt, idx, v.i);
        break;
      case Value::Kind::kReal:
        rc = sqlite3_bind_double(stmt, idx, v.d);
        break;
      case Value::Kind::kText:
        rc = sqlite3_bind_text64(stmt, idx, v.s.data(), v.s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
      case Value::Kind::kBlob:
        rc = sqlite3_bind_blob64(stmt, idx, v.s.data(), v.s.size(), SQLITE_TRANSIENT);
        break;
    }
    if (rc != SQLITE_OK && rc != SQLITE_RANGE) return MapSqliteError(rc);
  }
  return Status::Ok();
}

Result<sqlite3_stmt*> SessionImpl::PrepareUser(StatementImpl& st) {
  if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
  bool reloaded = false;
  // At most: one reload for an object the snapshot did not know yet, one
  // preparation without flattening.
  for (int attempt = 0; attempt < 3; attempt++) {
    st.auth = privileges::StatementAuth{};
    st.auth.replace = IsReplace(st.tokens);
    st.auth.truncate = st.truncate;
    st.auth.ctes = CteNames(st.tokens);
    st.auth.reloaded = reloaded;
    sqlite3_stmt* stmt = nullptr;
    int rc;
    {
      privileges::AccessControl::Scope scope(&access_, &st.auth);
      NoFlattening no_flattening(db_, st.unflattened);
      rc = sqlite3_prepare_v3(db_, st.rewritten.sql.c_str(),
                              static_cast<int>(st.rewritten.sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt, nullptr);
    }
    const bool refused = (rc & 0xFF) == SQLITE_AUTH;
    if (refused && st.auth.missing && !reloaded) {
      // Created by another session since our snapshot: look again.
      (void)sandbox::TakeDenial();
      access_.CatalogueStale();
      if (Status s = access_.Refresh(db_); !s.ok()) return s.error();
      reloaded = true;
      continue;
    }
    // A table read for none of its columns outside any view, in a
    // statement that reads a view: with the view flattened into the query,
    // SQLite reports the view's table as read by the reader, and not the
    // view. Only the unflattened plan says who reads what.
    const bool ambiguous = st.auth.view_context && st.auth.bare_read && !access_.superuser();
    if (ambiguous && !st.unflattened) {
      if (stmt != nullptr) sqlite3_finalize(stmt);
      (void)sandbox::TakeDenial();
      st.unflattened = true;
      continue;
    }
    if (rc != SQLITE_OK) return MapSqliteError(rc);
    st.auth_epoch = access_.epoch();
    return stmt;
  }
  return MakeError("42501", "permission denied");
}

Status SessionImpl::Reauthorize(StatementImpl& st, sqlite3_stmt** stmt,
                                const std::vector<Value>& params) {
  if (Status s = access_.Refresh(db_); !s.ok()) return s;
  if (st.auth_epoch == access_.epoch() || *stmt == nullptr) return Status::Ok();
  const int columns = sqlite3_column_count(*stmt);
  Result<sqlite3_stmt*> fresh = PrepareUser(st);
  if (!fresh.ok()) return fresh.error();
  if (sqlite3_column_count(*fresh) != columns) {
    sqlite3_finalize(*fresh);
    return MakeError("0A000", "cached plan must not change result type");
  }
  if (Status s = BindValues(*fresh, params); !s.ok()) {
    sqlite3_finalize(*fresh);
    return s;
  }
  sqlite3_finalize(*stmt);
  *stmt = *fresh;
  return Status::Ok();
}

int SessionImpl::StepUser(StatementImpl& st, sqlite3_stmt* stmt) {
  privileges::AccessControl::Scope scope(&access_, &st.auth);
  NoFlattening no_flattening(db_, st.unflattened);
  return sqlite3_step(stmt);
}

Status SessionImpl::AfterUserStatement(StatementImpl& st) {
  for (const std::string& w : st.auth.warnings) Notice("WARNING", "42501", w);
  if (!st.auth.ddl) return Status::Ok();
  InvalidateStatementCache();
  return access_.AfterDdl(db_, st.auth, st.tokens);
}

Status SessionImpl::ExecUser(const std::string& sql, const std::vector<Token>& tokens,
                             bool truncate) {
  StatementImpl st;
  st.tokens = tokens;
  st.rewritten.sql = sql;
  st.truncate = truncate;
  Result<sqlite3_stmt*> prepared = PrepareUser(st);
  if (!prepared.ok()) return prepared.error();
  sqlite3_stmt* stmt = *prepared;
  int rc = StepUser(st, stmt);
  while (rc == SQLITE_ROW) rc = StepUser(st, stmt);
  if (rc != SQLITE_DONE) {
    ErrorReport e = MapSqliteError(rc);
    sqlite3_finalize(stmt);
    return e;
  }
  sqlite3_finalize(stmt);
  return AfterUserStatement(st);
}

void SessionImpl::ApplyResourceLimits() {
  sandbox::ApplyLimits(
      guc::session_memory_limit < 0 ? -1 : int64_t{guc::session_memory_limit} * 1024,
      guc::temp_file_limit < 0 ? -1 : int64_t{guc::temp_file_limit} * 1024);
}

void SessionImpl::ApplyRoles(uint32_t session, uint32_t current) {
  (void)access_.SetSessionRole(session);
  (void)access_.SetCurrentRole(current);
  (void)guc::SetOption("session_authorization", info_.session_role_name, guc::Context::kInternal,
                       guc::Source::kOverride);
  (void)guc::SetOption("is_superuser", info_.superuser ? "on" : "off", guc::Context::kInternal,
                       guc::Source::kOverride);
  (void)guc::SetOption("role", current == session ? "none" : info_.role_name,
                       guc::Context::kInternal, guc::Source::kOverride);
  CollectReports();
  PublishRoles();
}

void SessionImpl::PublishRoles() const {
  compat::SessionRoles roles;
  roles.current = info_.role_oid;
  roles.session = info_.session_role_oid;
  roles.authenticated = authenticated_role_;
  roles.current_superuser = info_.superuser;
  compat::PublishSessionRoles(roles);
}

Status SessionImpl::Exec(const char* sql) {
  sandbox::InternalScope internal;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return MapSqliteError(rc);
  return Status::Ok();
}

void SessionImpl::StartTransactionClock() {
  // Settings may have changed since (SET by a superuser, a reload).
  ApplyResourceLimits();
  const int64_t now = functions::NowMicros();
  fctx_.transaction_start_us = now;
  backend_status::ReportTransactionStart(now);
}

Status SessionImpl::EnsureTransaction(bool need_sqlite, bool write) {
  if (state_ == TxState::kIdle) {
    state_ = TxState::kImplicit;
    StartTransactionClock();
  }
  if (need_sqlite && !sqlite_open_) {
    if (Status st = RunControl(write ? Control::kBeginImmediate : Control::kBegin); !st.ok()) {
      return st;
    }
    sqlite_open_ = true;
  }
  return Status::Ok();
}

Status SessionImpl::EndTransaction(bool commit) {
  Status result = Status::Ok();
  for (PortalImpl* p : registry_->live) p->TransactionEnded();
  if (sqlite_open_) {
    if (sqlite3_get_autocommit(db_) != 0) {
      // SQLite already rolled the transaction back (e.g. after an I/O error).
      commit = false;
    } else if (commit) {
      Status st = RunControl(Control::kCommit);
      if (!st.ok()) {
        result = st;
        commit = false;
        if (sqlite3_get_autocommit(db_) == 0) (void)RunControl(Control::kRollback);
      }
    } else {
      (void)RunControl(Control::kRollback);
    }
    sqlite_open_ = false;
  }
  if (commit) {
    if (Status st = notify::AtCommit(); !st.ok()) result = st;
  } else {
    notify::AtAbort();
    // A rolled-back CREATE or ALTER leaves statements prepared against a
    // schema that no longer exists.
    InvalidateStatementCache();
  }
  // SET is transactional: a rolled-back transaction undoes its SETs; SET
  // LOCAL ends with the transaction either way.
  for (auto it = guc_undo_.rbegin(); it != guc_undo_.rend(); ++it) {
    if (commit && !it->local) continue;
    if (it->old_current_role != 0) {
      ApplyRoles(it->old_session_role, it->old_current_role);
    } else {
      (void)guc::SetOption(it->name, it->old_value, SetContext(), guc::Source::kSession);
    }
  }
  guc_undo_.clear();
  access_.TransactionEnded(commit);
  CollectReports();
  state_ = TxState::kIdle;
  fctx_.transaction_start_us = 0;
  fmgr::EndTransactionMemory();
  backend_status::ReportTransactionStart(0);
  return result;
}

guc::Context SessionImpl::SetContext() const {
  return info_.superuser ? guc::Context::kSuset : guc::Context::kUserset;
}

void SessionImpl::CollectReports() {
  // Runs at every transaction end: skip the lookups when no setting changed.
  uint64_t count = guc::ChangeCount();
  if (count == reports_change_count_) return;
  reports_change_count_ = count;
  for (const char* name : kReportedSettings) {
    std::string now = guc::ShowValue(name);
    auto it = reported_.find(name);
    if (it == reported_.end() || it->second != now) {
      reported_[name] = now;
      pending_reports_.emplace_back(name, now);
      if (std::strcmp(name, "application_name") == 0) {
        backend_status::ReportApplicationName(now);
      }
    }
  }
}

void SessionImpl::ProbeTypes(const StatementImpl& st, std::vector<Column>* cols) {
  // Describe-statement has no row to learn expression types from, yet the
  // client will read every later execution with the types it is told now.
  // A read-only statement without parameters can be run once to look
  // (side-effecting functions all have declared types, so they never get
  // here); anything else stays text.
  bool unknown = false;
  for (const Column& c : *cols) unknown = unknown || c.type_oid == 0;
  if (!unknown || !st.params.empty() || state_ == TxState::kFailed) return;
  sqlite3_stmt* probe = nullptr;
  privileges::StatementAuth auth;
  {
    privileges::AccessControl::Scope scope(&access_, &auth);
    if (sqlite3_prepare_v2(db_, st.rewritten.sql.c_str(), static_cast<int>(st.rewritten.sql.size()),
                           &probe, nullptr) != SQLITE_OK) {
      (void)sandbox::TakeDenial();
      return;
    }
  }
  if (auth.view_context && auth.bare_read) {
    // Checking this read properly needs the unflattened plan; types can
    // wait for the first row.
    sqlite3_finalize(probe);
    return;
  }
  privileges::AccessControl::Scope scope(&access_, &auth);
  if (sqlite3_stmt_readonly(probe) != 0 && sqlite3_step(probe) == SQLITE_ROW &&
      sqlite3_column_count(probe) == static_cast<int>(cols->size())) {
    for (size_t k = 0; k < cols->size(); ++k) {
      if ((*cols)[k].type_oid == 0) {
        (*cols)[k].type_oid = ValueTypeOid(ColumnValue(probe, static_cast<int>(k)));
      }
    }
  }
  sqlite3_finalize(probe);
  // A probe that was interrupted or failed leaves nothing behind.
  fctx_.interrupt = functions::Interrupt::kNone;
  fctx_.error.reset();
  (void)system::TakeFunctionError();
}

uint32_t SessionImpl::CFunctionReturnType(const std::string& name) {
  sandbox::InternalScope internal;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT return_type FROM bgw_catalog_proc WHERE name = ?1 LIMIT 1",
                         -1, &st, nullptr) != SQLITE_OK) {
    return 0;
  }
  sqlite3_bind_text(st, 1, name.c_str(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  uint32_t type = 0;
  if (sqlite3_step(st) == SQLITE_ROW) type = static_cast<uint32_t>(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  return type;
}

std::shared_ptr<StatementImpl> SessionImpl::CachedStatement(std::string_view sql,
                                                            std::span<const uint32_t> types) {
  if (statement_cache_.empty()) return nullptr;
  // Another connection's commit (seen when this one last began a read)
  // may have changed the schema.
  unsigned int version = 0;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK ||
      version != cache_data_version_) {
    statement_cache_.clear();
    return nullptr;
  }
  auto it = statement_cache_.find(std::string(sql));
  if (it == statement_cache_.end()) return nullptr;
  const CacheEntry& e = it->second;
  if (e.statement.use_count() != 1 ||
      !std::equal(e.types.begin(), e.types.end(), types.begin(), types.end())) {
    return nullptr;
  }
  // What a Describe of an earlier Parse reported is that Parse's alone.
  e.statement->reported.reset();
  return e.statement;
}

void SessionImpl::RememberStatement(const std::shared_ptr<StatementImpl>& st,
                                    std::span<const uint32_t> types) {
  if (statement_cache_.empty()) {
    unsigned int version = 0;
    if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK) {
      return;
    }
    cache_data_version_ = version;
  }
  if (statement_cache_.size() >= kStatementCacheLimit) statement_cache_.clear();
  statement_cache_[st->sql_] = CacheEntry{std::vector<uint32_t>(types.begin(), types.end()), st};
}

Result<std::shared_ptr<Statement>> SessionImpl::Prepare(std::string_view sql,
                                                        std::span<const uint32_t> types) {
  // Only SQLite statements are cached, so a hit needs no classification;
  // in a failed block they are refused below, so look only outside one.
  if (state_ != TxState::kFailed) {
    if (std::shared_ptr<StatementImpl> hit = CachedStatement(sql, types)) {
      return std::shared_ptr<Statement>(std::move(hit));
    }
  }
  auto st = std::make_shared<StatementImpl>();
  st->registry = registry_;
  st->sql_ = std::string(sql);
  st->tokens = SignificantTokens(st->sql_);
  // Trailing semicolons end the statement; anything after one is a second
  // statement, which the extended protocol does not allow.
  while (!st->tokens.empty() && st->tokens.back().kind == TokenKind::kSemicolon) {
    st->tokens.pop_back();
  }
  for (const Token& t : st->tokens) {
    // A trigger body's semicolons are the statement's own (SplitSql knows).
    if (t.kind == TokenKind::kSemicolon && SplitSql(st->sql_).size() > 1) {
      return MakeError("42601", "cannot insert multiple commands into a prepared statement");
    }
  }
  Classified c = Classify(st->tokens);
  st->kind = c.kind;
  st->fixed_tag = c.tag;
  const bool exit_stmt =
      c.kind == Kind::kCommit || c.kind == Kind::kRollback || c.kind == Kind::kRollbackTo;
  if (state_ == TxState::kFailed && !exit_stmt && c.kind != Kind::kEmpty) return AbortedError();
  if (c.kind == Kind::kUnsupported) {
    return MakeError("0A000", StringPrintf("%s is not supported", c.tag.c_str()));
  }
  if (c.kind == Kind::kShow) PrepareShow(st.get());
  if (c.kind == Kind::kSqlite) {
    st->rewritten = RewriteForSqlite(st->sql_);
    if (!st->rewritten.error.empty()) return MakeError("42601", st->rewritten.error);
    Result<sqlite3_stmt*> prepared = PrepareUser(*st);
    if (!prepared.ok()) return prepared.error();
    sqlite3_stmt* stmt = *prepared;
    if (stmt == nullptr) {
      st->kind = Kind::kEmpty;
    } else {
      st->cached = stmt;
      st->tag = TagFor(st->tokens);
      const Rewritten& rw = st->rewritten;
      const int n = sqlite3_column_count(stmt);
      const bool items = rw.items_known && rw.items.size() == static_cast<size_t>(n);
      for (int k = 0; k < n; ++k) {
        Column col;
        const auto uk = static_cast<size_t>(k);
        col.name =
            items && !rw.items[uk].name.empty() ? rw.items[uk].name : sqlite3_column_name(stmt, k);
        uint32_t type = items ? rw.items[uk].type_oid : 0;
        if (type == 0 && items && rw.items[uk].param > 0) {
          // SELECT $1: the parameter's declared type (as PostgreSQL infers).
          const auto pi = static_cast<size_t>(rw.items[uk].param - 1);
          if (pi < types.size() && types[pi] != 0) type = types[pi];
        }
        if (type == 0) {
          if (const char* decl = sqlite3_column_decltype(stmt, k)) type = DeclTypeOid(decl);
        }
        if (type == 0 && items && !rw.items[uk].call.empty()) {
          type = CFunctionReturnType(rw.items[uk].call);
        }
        col.type_oid = type;
        st->columns.push_back(col);
      }
    }
    const size_t nparams = std::max(static_cast<size_t>(st->rewritten.max_param), types.size());
    for (size_t i = 0; i < nparams; ++i) {
      uint32_t t = i < types.size() ? types[i] : 0;
      if (t == 0 && i < st->rewritten.param_casts.size()) t = st->rewritten.param_casts[i];
      st->params.push_back(t != 0 ? t : oid::kText);
    }
    if (st->kind == Kind::kSqlite) RememberStatement(st, types);
  } else {
    for (uint32_t t : types) st->params.push_back(t != 0 ? t : oid::kText);
  }
  return std::shared_ptr<Statement>(st);
}

Result<std::unique_ptr<Portal>> SessionImpl::Bind(std::shared_ptr<Statement> statement,
                                                  std::vector<Value> values) {
  auto st = std::static_pointer_cast<StatementImpl>(statement);
  if (values.size() != st->params.size()) {
    return MakeError("08P01",
                     StringPrintf("bind message supplies %zu parameters, but prepared statement "
                                  "\"\" requires %zu",
                                  values.size(), st->params.size()));
  }
  const bool exit_stmt =
      st->kind == Kind::kCommit || st->kind == Kind::kRollback || st->kind == Kind::kRollbackTo;
  if (state_ == TxState::kFailed && !exit_stmt && st->kind != Kind::kEmpty) {
    return AbortedError();
  }
  auto portal = std::make_unique<PortalImpl>(registry_, st, std::vector<Value>{});
  if (st->kind == Kind::kSqlite) {
    sqlite3_stmt* stmt = st->cached;
    if (stmt != nullptr) {
      st->cached = nullptr;
    } else {
      Result<sqlite3_stmt*> prepared = PrepareUser(*st);
      if (!prepared.ok()) return prepared.error();
      stmt = *prepared;
    }
    portal->SetStmt(stmt);
    if (Status bound = BindValues(stmt, values); !bound.ok()) return bound.error();
    // Kept: a re-preparation before execution binds them again.
    portal->SetParams(std::move(values));
  } else {
    portal->SetParams(std::move(values));
  }
  return std::unique_ptr<Portal>(std::move(portal));
}

void SessionImpl::AfterError() {
  fctx_.interrupt = functions::Interrupt::kNone;
  fctx_.error.reset();
  fctx_.deadline_us = 0;
  if (state_ == TxState::kImplicit) {
    (void)EndTransaction(false);
  } else if (state_ == TxState::kBlock) {
    state_ = TxState::kFailed;
    if (sqlite_open_ && sqlite3_get_autocommit(db_) != 0) sqlite_open_ = false;
  }
}

Status SessionImpl::Sync() {
  if (state_ == TxState::kImplicit) return EndTransaction(true);
  return Status::Ok();
}

char SessionImpl::TransactionStatus() const {
  switch (state_) {
    case TxState::kBlock:
      return 'T';
    case TxState::kFailed:
      return 'E';
    default:
      return 'I';
  }
}

std::vector<std::pair<std::string, std::string>> SessionImpl::TakeReportedSettings() {
  std::vector<std::pair<std::string, std::string>> out;
  out.swap(pending_reports_);
  return out;
}

std::vector<std::pair<std::string, std::string>> SessionImpl::InitialReportedSettings() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* name : kReportedSettings) out.emplace_back(name, guc::ShowValue(name));
  return out;
}

std::vector<Notification> SessionImpl::TakeNotifications() { return notify::Take(); }

std::vector<ErrorReport> SessionImpl::TakeNotices() {
  std::vector<ErrorReport> out;
  out.swap(notices_);
  return out;
}

void SessionImpl::ReportQueryStart(std::string_view query_text) {
  // A cancel that arrived while the session was idle has nothing to cancel
  // (PostgreSQL ignores it while reading a command); it must not cancel
  // this new query.
  QueryCancelPending = 0;
  current_query_.assign(query_text);
  debug_query_string = current_query_.c_str();
  backend_status::ReportActivity(backend_status::State::kRunning, current_query_.c_str());
}

void SessionImpl::ReportIdle() {
  backend_status::State s = backend_status::State::kIdle;
  if (state_ == TxState::kBlock) s = backend_status::State::kIdleInTransaction;
  if (state_ == TxState::kFailed) s = backend_status::State::kIdleInTransactionAborted;
  debug_query_string = nullptr;
  backend_status::ReportActivity(s, nullptr);
}

void SessionImpl::Notice(std::string severity, std::string sqlstate, std::string message) {
  ErrorReport e = MakeError(std::move(sqlstate), std::move(message));
  e.severity = std::move(severity);
  notices_.push_back(std::move(e));
}

}  // namespace internal

Result<std::unique_ptr<Session>> Session::Open(const SessionInfo& info) {
  auto s = std::make_unique<internal::SessionImpl>(info);
  if (Status st = s->Initialize(); !st.ok()) {
    ErrorReport e = st.error();
    e.severity = "FATAL";
    return e;
  }
  return std::unique_ptr<Session>(std::move(s));
}

std::vector<std::string> Session::SplitStatements(std::string_view sql) { return SplitSql(sql); }

}  // namespace bgw::sql
