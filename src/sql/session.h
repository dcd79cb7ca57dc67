// The SQL engine: one Session per connected process (client backend, or a
// background worker after BackgroundWorkerInitializeConnection), executing
// statements on the database's SQLite file with PostgreSQL's transaction
// semantics, command tags, type OIDs and SQLSTATEs.
//
// The protocol layer (src/protocol/query_loop.cc) and SPI drive it through the
// extended-query model, which also serves simple queries:
//
//   SplitStatements(query text)          simple query only
//   Prepare(sql, param types)  -> Statement   (Parse)
//   Bind(statement, values)    -> Portal      (Bind)
//   portal->Describe()                        (Describe portal)
//   portal->Execute(max_rows, sink)           (Execute, repeatable)
//   AfterError() on any failure; Sync() at Sync / end of a simple query.
//
// Transactions are PostgreSQL's: outside BEGIN ... COMMIT every statement runs
// in an implicit transaction that Sync() commits (so a multi-statement simple
// query is atomic); BEGIN turns the current implicit transaction explicit. An
// error inside an explicit block moves it to the failed state: every statement
// but COMMIT/ROLLBACK/ROLLBACK TO then fails with 25P02 until the block ends
// (COMMIT of a failed block rolls back and reports the tag "ROLLBACK").
//
// Statements SQLite does not know are executed by the engine itself: BEGIN/
// START TRANSACTION/COMMIT/END/ROLLBACK/ABORT/SAVEPOINT/RELEASE/ROLLBACK TO,
// SET/SHOW/RESET, CREATE/ALTER/DROP DATABASE and ROLE/USER, LISTEN/UNLISTEN/
// NOTIFY, CREATE FUNCTION ... LANGUAGE C; PostgreSQL spellings inside SQLite
// statements ($n parameters, expr::type casts, current_user, ...) are
// rewritten. docs/sql.md lists what is accepted.
//
// Not thread-safe; one Session per process. Long-running work checks for
// interrupts (QueryCancelPending, ProcDiePending, statement_timeout) and fails
// with 57014 (canceling statement due to user request / statement timeout) or
// 57P01 (FATAL terminating connection due to administrator command).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "ipc/notify.h"
#include "sql/value.h"

namespace bgw::sql {

// Who is connected to what. Filled in by the caller from the catalog.
//
// role_* describe the current role (current_user: what privileges are
// checked against; SET ROLE changes it); session_role_* the session user
// (the login, unless a superuser used SET SESSION AUTHORIZATION). Callers
// fill role_*; Open copies them to session_role_* when those are unset.
struct SessionInfo {
  uint32_t database_oid = 0;
  std::string database_name;
  std::string database_path;  // the SQLite file (base/<oid>.db)
  uint32_t database_owner = 0;
  std::optional<std::string> database_acl;  // sql/acl.h storage form; nullopt = defaults
  uint32_t role_oid = 0;
  std::string role_name;
  bool superuser = false;
  uint32_t session_role_oid = 0;
  std::string session_role_name;
  bool session_superuser = false;
  std::string application_name;
  std::string data_dir;  // absolute; the catalog lives under it
  // Settings from the startup packet ("options" -c switches already split
  // out by the caller), applied as SET at Open in this order.
  std::vector<std::pair<std::string, std::string>> startup_settings;
};

// A result column, as RowDescription describes it.
struct Column {
  std::string name;
  uint32_t type_oid = oid::kText;
  int16_t type_len = -1;
  int32_t type_mod = -1;
  uint32_t table_oid = 0;
  int16_t attnum = 0;
};

// Receives result rows. The span is valid only during the call.
class RowSink {
 public:
  virtual ~RowSink() = default;
  // Returning an error stops execution; the error is the statement's.
  virtual Status Row(std::span<const Value> values) = 0;
};

struct ExecuteResult {
  std::string command_tag;  // "SELECT 3", "INSERT 0 1", "BEGIN", ... (empty when suspended)
  bool suspended = false;   // max_rows reached and more rows remain (PortalSuspended)
};

// A parsed statement (the protocol's prepared statement). Immutable after
// Prepare; shared by the portals bound to it.
class Statement {
 public:
  virtual ~Statement() = default;
  virtual const std::string& sql() const = 0;
  // True for an empty query string (EmptyQueryResponse).
  virtual bool empty() const = 0;
  // One OID per parameter ($1..$n): as declared at Prepare, else inferred
  // (text when nothing better is known).
  virtual const std::vector<uint32_t>& param_types() const = 0;
  // Columns as far as they are known without executing (declared column
  // types; text where unknown). Empty = the statement returns no rows
  // (NoData). A portal's Describe() is authoritative.
  virtual std::vector<Column> DescribeColumns() const = 0;
};

// A statement bound to parameter values (the protocol's portal).
class Portal {
 public:
  virtual ~Portal() = default;
  // The result columns; empty = no rows (NoData). May run the statement to
  // its first row to learn value types; that row is then not lost.
  virtual Result<std::vector<Column>> Describe() = 0;
  // Runs until completion or until max_rows rows were sent (max_rows <= 0 =
  // all). After completion, further calls return the same tag with no rows.
  virtual Result<ExecuteResult> Execute(int64_t max_rows, RowSink& sink) = 0;
};

// A notification to deliver to the client (NotificationResponse): the
// queue's own type (ipc/notify.h).
using Notification = notify::Notification;

class Session {
 public:
  // Opens the database (WAL mode, busy timeout), registers the functions and
  // views, applies info.startup_settings. Errors are FATAL for the caller.
  static Result<std::unique_ptr<Session>> Open(const SessionInfo& info);
  virtual ~Session() = default;

  // Splits a simple-query string into statements at top-level semicolons
  // (quotes, "identifiers", $tag$ dollar quotes $tag$, -- and /* */ comments
  // respected). Statements with only whitespace/comments are dropped; an
  // all-empty string gives an empty vector (EmptyQueryResponse).
  static std::vector<std::string> SplitStatements(std::string_view sql);

  // Parse. `param_types` may be shorter than the number of parameters used
  // or contain 0 (= infer). Errors: 42601 syntax, 42P01 undefined table, ...
  virtual Result<std::shared_ptr<Statement>> Prepare(std::string_view sql,
                                                     std::span<const uint32_t> param_types) = 0;
  // Bind. values.size() must equal the statement's parameter count (08P01
  // otherwise, with PostgreSQL's message).
  virtual Result<std::unique_ptr<Portal>> Bind(std::shared_ptr<Statement> statement,
                                               std::vector<Value> values) = 0;

  // After any failed message (Parse/Bind/Describe/Execute): rolls back an
  // implicit transaction, or marks an explicit block failed.
  virtual void AfterError() = 0;
  // At Sync and at the end of a simple query: commits an implicit
  // transaction (a failing commit is returned as the error to report).
  virtual Status Sync() = 0;
  // 'I' idle, 'T' in a transaction block, 'E' in a failed block.
  virtual char TransactionStatus() const = 0;

  // Settings changed since the last call whose new values the client must
  // learn (ParameterStatus): application_name, client_encoding, DateStyle,
  // TimeZone, ... As (name, value) pairs, in the order changed.
  virtual std::vector<std::pair<std::string, std::string>> TakeReportedSettings() = 0;
  // The values reported at session start (server_version, server_encoding,
  // client_encoding, DateStyle, integer_datetimes, standard_conforming_strings,
  // TimeZone, application_name, is_superuser, session_authorization, ...).
  virtual std::vector<std::pair<std::string, std::string>> InitialReportedSettings() const = 0;

  // Notifications committed by any session to channels this session listens
  // on, not yet delivered. Call while idle (latch set) and after each
  // transaction ends.
  virtual std::vector<Notification> TakeNotifications() = 0;

  // Warnings and notices raised by the statements run since the last call
  // (e.g. WARNING "there is no transaction in progress" for a COMMIT outside
  // a block), oldest first, as NoticeResponse fields: severity is "WARNING"
  // or "NOTICE". Additive: callers that never ask lose nothing else.
  virtual std::vector<ErrorReport> TakeNotices() { return {}; }

  // What pg_stat_activity shows for this session is updated by the engine;
  // the caller only says when a query starts and the session goes idle.
  virtual void ReportQueryStart(std::string_view query_text) = 0;
  virtual void ReportIdle() = 0;

  virtual const SessionInfo& info() const = 0;
};

}  // namespace bgw::sql
