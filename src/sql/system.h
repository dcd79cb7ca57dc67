// The server's own SQL objects on every session's SQLite connection, beyond
// the engine's built-ins (version(), now(), current_user, pg_sleep(), ...,
// which live in src/sql/functions.cc):
//
//   views (eponymous virtual tables): pg_stat_activity, bgw_workers (every
//     registered background worker, running or not); the catalogue's views
//     (pg_class, pg_roles, ...) are catalog_views.h's, made with AddView;
//   control: pg_terminate_backend(pid), pg_cancel_backend(pid),
//     pg_reload_conf(), bgw_launch_worker(library, function, argument, name,
//     type, restart_seconds) -> pid, bgw_terminate_worker(pid) -> bool;
//   notify: pg_notify(channel, payload);
//   module functions: CREATE [OR REPLACE] FUNCTION ... LANGUAGE C binding a
//     PG_FUNCTION_INFO_V1 symbol, DROP FUNCTION; remembered per database in
//     its catalogue (catalogue.h) and bound again by every new session.
//
// Privileges as PostgreSQL's: only superusers launch or terminate workers,
// create C functions, or see other roles' query text (pg_stat_activity shows
// "<insufficient privilege>"); pg_terminate_backend/pg_cancel_backend on
// another role's backend need superuser (42501).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sql/builtins.h"
#include "sql/session.h"

struct sqlite3;

namespace bgw::sql::system {

// The server-control functions above (builtins.h).
std::span<const builtins::Function> Functions();

// Registers everything above on `db` for the session described by `info`,
// and binds the database's remembered C functions by name (their libraries
// load at the first call, whose error a missing one is). `info` must
// outlive `db`.
Status Register(sqlite3* db, const SessionInfo& info);

// A read-only view `name` (an eponymous virtual table: nothing is stored in
// the database file) with the columns of `schema` ("CREATE TABLE x(a INT4,
// b TEXT)": the declared types are what clients are told), whose rows
// `rows` computes at each scan, so one SELECT sees one snapshot. It may run
// SQL on the connection (inside a sandbox::InternalScope). A failure is the
// statement's error.
using Row = std::vector<Value>;
using ViewRows = std::function<Result<std::vector<Row>>()>;
Status AddView(sqlite3* db, const char* name, const char* schema, ViewRows rows);

// Whether `name` (lower case) is a view made by AddView: the privilege
// checks let anyone read them (they filter rows by privilege themselves).
bool IsView(std::string_view name);

// CREATE [OR REPLACE] FUNCTION name(argtypes) RETURNS type AS 'library',
// 'symbol' LANGUAGE C [STRICT | CALLED ON NULL INPUT] [IMMUTABLE | STABLE |
// VOLATILE] [PARALLEL ...]; `statement` is the whole statement text. Also
// accepts LANGUAGE c before AS, and AS 'library' alone (symbol = name).
// Non-C languages: 0A000. Runs inside the session's current transaction.
Status CreateCFunction(sqlite3* db, const SessionInfo& info, std::string_view statement);
// DROP FUNCTION [IF EXISTS] name[(argtypes)].
Status DropFunction(sqlite3* db, const SessionInfo& info, std::string_view statement);

// Additive: the ErrorReport (SQLSTATE, detail, hint) behind the most recent
// failure of a function registered here (control functions, pg_notify, C
// functions: an ereport(ERROR) in a module), which SQLite only reports as
// SQLITE_ERROR with the message text. The engine calls it after a failed
// sqlite3_step and prefers it when its message equals sqlite3_errmsg();
// otherwise it falls back to its own mapping. Returns it once (cleared).
std::optional<ErrorReport> TakeFunctionError();

// Additive: a timestamptz as PostgreSQL prints it with TimeZone UTC,
// 'YYYY-MM-DD HH:MM:SS[.ffffff]+00' (trailing fractional zeros dropped);
// `micros` since the Unix epoch. The views use it for their time columns.
std::string FormatTimestamp(int64_t micros);

}  // namespace bgw::sql::system
