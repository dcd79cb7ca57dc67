// Private to src/sql: the engine's classes behind session.h, shared by
// session.cc (statements, portals, transactions) and utility.cc (the
// statements the engine runs itself), and exposed for the unit tests.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "guc/guc.h"
#include "sql/functions.h"
#include "sql/lexer.h"
#include "sql/privileges.h"
#include "sql/rewrite.h"
#include "sql/session.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bgw::storage {
class Catalog;
}
namespace bgw::sql::extension {
struct Control;
}

namespace bgw::sql::internal {

enum class Kind {
  kEmpty,
  kSqlite,
  kBegin,
  kCommit,
  kRollback,
  kRollbackTo,
  kSavepoint,
  kRelease,
  kSet,
  kShow,
  kReset,
  kDiscard,
  kListen,
  kUnlisten,
  kNotify,
  kTruncate,
  kDropObjects,  // DROP TABLE|INDEX|VIEW a, b [CASCADE]
  kVacuum,
  kCreateFunction,
  kDropFunction,
  kCreateExtension,
  kAlterExtension,
  kDropExtension,
  kCreateDatabase,
  kAlterDatabase,
  kDropDatabase,
  kCreateRole,
  kAlterRole,
  kDropRole,
  kGrant,       // GRANT / REVOKE (privileges or role membership)
  kAlterOwner,  // ALTER TABLE|VIEW|INDEX|SCHEMA|FUNCTION ... OWNER TO
  kReassignOwned,
  kDropOwned,
  kNoop,         // accepted and ignored; `tag` is the command tag
  kUnsupported,  // 0A000; `tag` names the command
};

struct Classified {
  Kind kind = Kind::kSqlite;
  std::string tag;
};
Classified Classify(const std::vector<Token>& significant);

enum class TagStyle { kFixed, kRows, kInsert, kUpdate, kDelete };
struct SqliteTag {
  TagStyle style = TagStyle::kFixed;
  std::string base;  // "SELECT", "CREATE TABLE", ...
};
SqliteTag TagFor(const std::vector<Token>& significant);

// A declared column type (sqlite3_column_decltype) as a type OID.
uint32_t DeclTypeOid(std::string_view decl);
// SQLite's error (primary/extended code and message) as PostgreSQL's.
ErrorReport TranslateSqliteError(int rc, int extended, const std::string& message);
// A guc registry failure as PostgreSQL's error.
ErrorReport SettingsError(const Status& status);
// Column k of the current row of `st`, and the type OID PostgreSQL would
// give a value of that storage class when no declared type says more.
Value ColumnValue(sqlite3_stmt* st, int k);
uint32_t ValueTypeOid(const Value& v);
// A word token folded to lower case; "" for any other token (or past the
// end, for WordAt).
std::string LowerWord(const Token& t);
std::string WordAt(const std::vector<Token>& t, size_t i);

class SessionImpl;
class PortalImpl;

// Live portals, so a transaction end can release their SQLite statements;
// `session` is cleared when the session goes away first.
struct Registry {
  SessionImpl* session = nullptr;
  std::set<PortalImpl*> live;
};

class StatementImpl final : public Statement {
 public:
  ~StatementImpl() override;
  const std::string& sql() const override;
  bool empty() const override;
  const std::vector<uint32_t>& param_types() const override;
  std::vector<Column> DescribeColumns() const override;
  std::vector<Column> UtilityColumns() const;

  std::string sql_;
  std::vector<Token> tokens;  // significant, viewing sql_
  Kind kind = Kind::kSqlite;
  std::string fixed_tag;  // kNoop / kUnsupported
  Rewritten rewritten;
  SqliteTag tag;
  std::vector<uint32_t> params;
  std::vector<Column> columns;  // type 0 = learn from the first row
  // Columns as told to the client by DescribeColumns: portals then present
  // values the same way, even if a first row would suggest other types.
  mutable std::optional<std::vector<Column>> reported;
  sqlite3_stmt* cached = nullptr;      // free for the next portal
  std::shared_ptr<Registry> registry;  // the session, while it lives
  // What the authorizer saw; the epoch it authorized for (stale = prepare
  // again before running, privileges.h); prepared without the query
  // flattener so reads through views are seen (PrepareUser).
  privileges::StatementAuth auth;
  uint64_t auth_epoch = 0;
  bool unflattened = false;
  bool truncate = false;  // the DELETE behind TRUNCATE (TRUNCATE privilege)
  bool show_all = false;
  std::string show_name;  // canonical setting name for SHOW
};

struct UtilityResult {
  std::string tag;
  std::vector<std::vector<Value>> rows;
};

class PortalImpl final : public Portal {
 public:
  PortalImpl(std::shared_ptr<Registry> registry, std::shared_ptr<StatementImpl> stmt,
             std::vector<Value> params);
  ~PortalImpl() override;
  Result<std::vector<Column>> Describe() override;
  Result<ExecuteResult> Execute(int64_t max_rows, RowSink& sink) override;

  void SetStmt(sqlite3_stmt* st) { st_ = st; }
  void SetParams(std::vector<Value> params) { params_ = std::move(params); }
  // The transaction ended: a half-read statement cannot continue.
  void TransactionEnded();

 private:
  Status Start(SessionImpl* s);
  Status Fetch(SessionImpl* s);  // one step: row_ready_ or done_
  sqlite3_stmt* Stmt(SessionImpl* s);
  std::string CompletionTag(SessionImpl* s) const;
  void ReleaseStatement();
  Result<ExecuteResult> ExecuteUtility(SessionImpl* s, int64_t max_rows, RowSink& sink);

  std::shared_ptr<Registry> registry_;
  std::shared_ptr<StatementImpl> statement_;
  std::vector<Value> params_;
  sqlite3_stmt* st_ = nullptr;
  bool started_ = false;
  bool done_ = false;
  bool failed_ = false;
  bool invalid_ = false;
  bool row_ready_ = false;  // the statement sits on a row not yet sent
  int64_t rows_ = 0;
  int64_t deadline_us_ = 0;
  std::string tag_;
  std::optional<std::vector<Column>> columns_;
  bool utility_ran_ = false;
  std::vector<std::vector<Value>> util_rows_;
  size_t util_pos_ = 0;
};

enum class TxState { kIdle, kImplicit, kBlock, kFailed };

class SessionImpl final : public Session {
 public:
  explicit SessionImpl(const SessionInfo& info);
  ~SessionImpl() override;
  Status Initialize();

  Result<std::shared_ptr<Statement>> Prepare(std::string_view sql,
                                             std::span<const uint32_t> param_types) override;
  Result<std::unique_ptr<Portal>> Bind(std::shared_ptr<Statement> statement,
                                       std::vector<Value> values) override;
  void AfterError() override;
  Status Sync() override;
  char TransactionStatus() const override;
  std::vector<std::pair<std::string, std::string>> TakeReportedSettings() override;
  std::vector<std::pair<std::string, std::string>> InitialReportedSettings() const override;
  std::vector<Notification> TakeNotifications() override;
  std::vector<ErrorReport> TakeNotices() override;
  void ReportQueryStart(std::string_view query_text) override;
  void ReportIdle() override;
  const SessionInfo& info() const override { return info_; }

  // For portals and utility statements.
  sqlite3* db() const { return db_; }
  functions::FunctionContext& fctx() { return fctx_; }
  bool failed() const { return state_ == TxState::kFailed; }
  ErrorReport AbortedError() const;
  ErrorReport MapSqliteError(int rc);
  // The server's own statement (savepoints): not checked.
  Status Exec(const char* sql);
  // A user statement the engine composed (TRUNCATE's DELETE, DROP of a
  // list): authorized as the current role, DDL recorded.
  Status ExecUser(const std::string& sql, const std::vector<Token>& tokens, bool truncate);
  // Prepares st.rewritten.sql as the current role (sandbox.h, privileges.h).
  Result<sqlite3_stmt*> PrepareUser(StatementImpl& st);
  // Before running a statement: prepares *stmt again if privileges changed
  // since it was authorized.
  Status Reauthorize(StatementImpl& st, sqlite3_stmt** stmt, const std::vector<Value>& params);
  Status BindValues(sqlite3_stmt* stmt, const std::vector<Value>& values);
  // sqlite3_step of a user statement (SQLite may re-prepare it meanwhile).
  int StepUser(StatementImpl& st, sqlite3_stmt* stmt);
  // After a user statement completed: records what its DDL created.
  Status AfterUserStatement(StatementImpl& st);
  privileges::AccessControl& access() { return access_; }
  // session_memory_limit and temp_file_limit, as set now.
  void ApplyResourceLimits();
  // Makes `session` the session user and `current` the current role, and
  // tells the settings that show them.
  void ApplyRoles(uint32_t session, uint32_t current);
  // Tells module code (miscadmin.h's GetUserId and friends) who we are now.
  void PublishRoles() const;
  Status EnsureTransaction(bool need_sqlite, bool write);
  Status EndTransaction(bool commit);
  Result<UtilityResult> RunUtility(const StatementImpl& st);
  void PrepareShow(StatementImpl* st) const;
  // Fills unknown column types of a parameterless read-only statement by
  // running it to its first row.
  void ProbeTypes(const StatementImpl& st, std::vector<Column>* cols);
  // The declared return type of a C function (CREATE FUNCTION), 0 if none.
  uint32_t CFunctionReturnType(const std::string& name);
  // Queues a NoticeResponse for the client (TakeNotices).
  void Notice(std::string severity, std::string sqlstate, std::string message);
  // Something this session ran may have changed the schema (DDL, a write,
  // CREATE/DROP FUNCTION, a rollback): cached statements must be prepared
  // again.
  void InvalidateStatementCache() { statement_cache_.clear(); }
  size_t statement_cache_size() const { return statement_cache_.size(); }

 private:
  // BEGIN, BEGIN IMMEDIATE, COMMIT, ROLLBACK: run at every implicit
  // transaction, so prepared once instead of parsed each time.
  enum class Control { kBegin, kBeginImmediate, kCommit, kRollback, kCount };
  Status RunControl(Control which);
  // The statement cache (see Prepare): a free cached statement for `sql`
  // and `types`, or null.
  std::shared_ptr<StatementImpl> CachedStatement(std::string_view sql,
                                                 std::span<const uint32_t> types);
  void RememberStatement(const std::shared_ptr<StatementImpl>& st, std::span<const uint32_t> types);

  void StartTransactionClock();
  void CollectReports();
  guc::Context SetContext() const;
  Result<storage::Catalog*> Catalog();

  // utility.cc
  Result<UtilityResult> RunTransactionControl(const StatementImpl& st);
  Result<UtilityResult> RunSet(const StatementImpl& st);
  Result<UtilityResult> RunShow(const StatementImpl& st);
  Result<UtilityResult> RunReset(const StatementImpl& st);
  Result<UtilityResult> RunDatabase(const StatementImpl& st);
  Result<UtilityResult> RunRole(const StatementImpl& st);
  Result<UtilityResult> RunNotify(const StatementImpl& st);
  Result<UtilityResult> RunTruncate(const StatementImpl& st);
  Result<UtilityResult> RunDropObjects(const StatementImpl& st);
  // extension_commands.cc
  Result<UtilityResult> RunCreateExtension(const StatementImpl& st);
  Result<UtilityResult> RunAlterExtension(const StatementImpl& st);
  Result<UtilityResult> RunDropExtension(const StatementImpl& st);
  Status CreateExtension(const std::string& name, const std::optional<std::string>& version,
                         bool cascade, std::vector<std::string>* chain);
  Status DropExtension(const catalogue::Extension& extension);
  // Runs an extension's scripts (files, in order), then one script's
  // statements, in the current transaction.
  Status RunExtensionScripts(const extension::Control& control,
                             const std::vector<std::string>& files);
  Status RunExtensionScript(const std::string& sql, const std::string& file);
  // acl_commands.cc
  Result<UtilityResult> RunGrant(const StatementImpl& st);
  Result<UtilityResult> RunAlterOwner(const StatementImpl& st);
  Result<UtilityResult> RunOwned(const StatementImpl& st);
  Result<UtilityResult> RunSetRole(const StatementImpl& st, bool local, bool session);
  // catalog_commands.cc
  Status RequireRoleAdmin(const storage::RoleInfo& target, const char* verb);
  // A role attribute (CREATEDB, CREATEROLE) of the current role.
  bool HasAttribute(bool storage::RoleInfo::*attribute) const;
  // A role named in a statement (PUBLIC = 0 only where allowed;
  // CURRENT_USER, CURRENT_ROLE, SESSION_USER); 42704 when unknown.
  Result<uint32_t> RoleOid(const std::string& name, bool allow_public);
  // GRANT role TO member [WITH ADMIN OPTION], PostgreSQL's checks.
  Status AddMembership(uint32_t role, uint32_t member, bool admin);
  // 2BP01 while any database's objects still name the role.
  Status CheckRoleUnreferenced(const storage::RoleInfo& role);
  // acl_commands.cc: REVOKE role FROM member; a relation's new owner.
  Status RemoveMembership(uint32_t role, uint32_t member, bool admin_only);
  Status ChangeOwner(const catalogue::Relation& rel, uint32_t new_owner);
  Status SetOne(const std::string& name, const std::optional<std::string>& value, bool local);
  void ResetAll();

  SessionInfo info_;
  privileges::AccessControl access_{&info_};
  // The login's superuser status, which SET SESSION AUTHORIZATION needs
  // and which no later SET changes.
  bool authenticated_superuser_ = false;
  // The client's query being run: what debug_query_string points at.
  std::string current_query_;
  uint32_t authenticated_role_ = 0;
  sqlite3* db_ = nullptr;
  functions::FunctionContext fctx_;
  TxState state_ = TxState::kIdle;
  bool sqlite_open_ = false;  // a SQLite BEGIN is in force
  std::shared_ptr<Registry> registry_;
  std::vector<ErrorReport> notices_;
  std::map<std::string, std::string> reported_;
  std::vector<std::pair<std::string, std::string>> pending_reports_;
  // guc::ChangeCount() when CollectReports last looked (max = never).
  uint64_t reports_change_count_ = UINT64_MAX;
  struct GucUndo {
    std::string name;
    std::string old_value;
    bool local = false;
    // SET ROLE / SESSION AUTHORIZATION: the roles to go back to.
    uint32_t old_current_role = 0;
    uint32_t old_session_role = 0;
  };
  std::vector<GucUndo> guc_undo_;
  std::unique_ptr<storage::Catalog> catalog_;
  sqlite3_stmt* control_[static_cast<int>(Control::kCount)] = {};

  // Statements SQLite runs, by exact text: clients re-send the same text
  // (every simple query, every re-Parse of the unnamed statement), and
  // lexing, rewriting and sqlite3_prepare were the largest part of the
  // engine's time per query. An entry is reused only while nothing else
  // holds it (use_count 1), so a reuse is indistinguishable from a fresh
  // Prepare. Its validity rests on the schema it was prepared against:
  // InvalidateStatementCache covers this session's own changes, and the
  // database's data version (SQLITE_FCNTL_DATA_VERSION, which changes when
  // any connection's commit is seen) covers everyone else's. SQLite's own
  // schema is refreshed at the same moments, so a cached entry is never
  // staler than a fresh prepare would be.
  struct CacheEntry {
    std::vector<uint32_t> types;
    std::shared_ptr<StatementImpl> statement;
  };
  static constexpr size_t kStatementCacheLimit = 64;
  std::unordered_map<std::string, CacheEntry> statement_cache_;
  uint32_t cache_data_version_ = 0;
};

}  // namespace bgw::sql::internal
