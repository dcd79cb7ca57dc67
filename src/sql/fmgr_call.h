// SQL-callable C functions on a session's SQLite connection: parsing CREATE
// FUNCTION ... LANGUAGE C and DROP FUNCTION, resolving the symbol in a module
// (with its PG_FUNCTION_INFO_V1 record), calling it with PostgreSQL's V1
// convention, and remembering definitions in the database's catalogue
// (catalogue.h). The SQL surface is src/sql/system.h.
//
// Calls convert each SQLite argument to a Datum of the declared type (text
// and bytea as palloc'd varlenas in a per-call memory context that is reset
// afterwards), run the function under PG_TRY, and convert the result back.
// An ERROR the function raises becomes an SQLite error whose ErrorReport
// (SQLSTATE, detail, hint) is kept for the engine: see TakeError().
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fmgr/pg_try.h"
#include "sql/catalogue.h"

namespace bgw::sql::fmgr {

// Types a C function may take or return (void: return only).
inline constexpr uint32_t kVoidOid = 2278;

// The definition as the catalogue keeps it (with its owner and ACL).
using CFunction = catalogue::Function;

struct CreateSpec {
  CFunction function;
  bool or_replace = false;
};
// CREATE [OR REPLACE] FUNCTION ...; see system.h for the accepted syntax.
// 42601 syntax errors, 42704 unknown types, 0A000 other languages or types
// C functions cannot take.
Result<CreateSpec> ParseCreateFunction(std::string_view statement);

struct DropSpec {
  std::string name;
  bool if_exists = false;
  std::optional<std::vector<uint32_t>> arg_types;  // absent: no parentheses
};
Result<DropSpec> ParseDropFunction(std::string_view statement);

// "name(integer, text)".
std::string Signature(const std::string& name, const std::vector<uint32_t>& arg_types);

// Runs fn(arg), which may raise ereport(ERROR) (module code, the bgworker C
// API), and returns the ERROR as a ErrorReport, or nullopt when fn returned.
// fn must keep no C++ objects with destructors alive (see bgworker/error.h).
using bgw::fmgr::CallGuarded;

// Loads the library (running _PG_init on first load; an ERROR there is
// returned), checks pg_finfo_<symbol> and finds the function. 58P01 for a
// library that cannot be loaded, 42883 for missing symbols.
Result<void*> Resolve(const CFunction& function);

// Registers `function` (entry point `fn`) on `db` under its name and arity.
// With fn null the library is resolved (loaded, _PG_init run) at the first
// call instead, and a failure is that call's error.
Status Bind(sqlite3* db, const CFunction& function, void* fn);
// Removes the function from `db` (every arity Bind registered).
void Unbind(sqlite3* db, const CFunction& function);

// PostgreSQL's transaction memory for C functions called from SQL: a C
// function finds TopTransactionContext and CurTransactionContext set, as in
// PostgreSQL, living until the transaction ends. Where a worker's SPI
// transaction (spi/xact.cc) already made them they are used as they are;
// otherwise the first C call makes them and the session's transaction end
// deletes them here.
void EndTransactionMemory();

// Called before every call of a bound function: an error refuses it
// (EXECUTE privilege, privileges.h). One per process, set by the session.
using ExecuteCheck = std::optional<ErrorReport> (*)(const CFunction& function, void* arg);
void SetExecuteCheck(ExecuteCheck check, void* arg);

// The remembered definitions: the catalogue's bgw_catalog_proc, inside the
// caller's transaction.
Status Store(sqlite3* db, const CFunction& function);
Status Remove(sqlite3* db, const std::string& name, int nargs);
Result<std::vector<CFunction>> LoadAll(sqlite3* db);

// Reports `error` as the result of an SQLite function call and keeps it for
// TakeError().
void ResultError(sqlite3_context* ctx, ErrorReport error);
// Keeps `error` for TakeError() when SQLite is told the failure another
// way (a virtual table's xFilter sets zErrMsg to its message).
void KeepError(ErrorReport error);
// The error behind the last ResultError in this process, once.
std::optional<ErrorReport> TakeError();

}  // namespace bgw::sql::fmgr
