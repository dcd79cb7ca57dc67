// The one sandbox every SQLite connection that runs user SQL goes through
// (client sessions, workers' SPI, functions called from SQL): SQLite is safe
// to expose only behind its own defences, set up here in one place.
//
// What it does, and why (docs/security.md has the threat model):
//   - A confining VFS ("bgw-sandbox"): the connection may open its own
//     database file, that file's -wal and -journal, and anonymous temporary
//     files, nothing else. ATTACH, VACUUM INTO and any future way of naming
//     a file cannot reach the shared catalog, another database or a path
//     outside the data directory, whatever the statement. Temporary files
//     count against temp_file_limit (53400 when exceeded). No shared
//     library can be loaded through it.
//   - Defensive settings: SQLITE_DBCONFIG_DEFENSIVE (no writable_schema, no
//     writes to shadow tables or sqlite_dbpage), no FTS3 tokenizer pointers,
//     no load_extension, trusted_schema off (functions with side effects
//     cannot run from views, triggers or defaults), double-quoted strings
//     are identifiers as in PostgreSQL, at most 0 attached databases.
//   - A memory cap (session_memory_limit, sqlite3_hard_heap_limit64): one
//     statement cannot exhaust the server (53200).
//   - The authorizer: refusals that hold for every login, superusers
//     included (ATTACH/DETACH, raw transaction control, the pragmas that
//     would break durability or the engine's invariants, load_extension,
//     fts3_tokenizer, the server's own catalogue tables), then the
//     privilege checks of the session (Authorizer, privileges.h).
//
// Statements the server itself runs on such a connection (its BEGIN and
// COMMIT, savepoints, catalogue reads and writes) run inside an
// InternalScope, which the authorizer lets through unchecked; everything
// else is the user's and is checked, including SQLite's automatic
// re-preparation of a user statement while it steps.
//
// One session per process: the scope and the last refusal are per process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

struct sqlite3;

namespace bgw::sql::sandbox {

// Checks what the engine-wide rules leave to the session: one call per
// authorizer event that is not the server's own (SQLite's arguments).
// Returns SQLITE_OK, SQLITE_DENY (after Deny()) or SQLITE_IGNORE.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual int Authorize(int action, const char* arg1, const char* arg2, const char* database,
                        const char* inner) = 0;
};

// Opens (creating if missing) `path` for user SQL with everything above but the
// authorizer. 58030 when the file cannot be opened.
Result<sqlite3*> Open(const std::string& path);
// Closes what Open returned (zombie until outstanding statements finish).
void Close(sqlite3* db);

// Installs the authorizer; `session` (may be null: engine rules only) must
// outlive the connection.
void SetAuthorizer(sqlite3* db, Authorizer* session);

// Records why the current event is refused (42501 with the object's name,
// usually) and returns SQLITE_DENY; the engine reports it for SQLITE_AUTH.
int Deny(ErrorReport error);
// The refusal behind the last SQLITE_AUTH, once.
std::optional<ErrorReport> TakeDenial();

// The server's own statements: prepare and step them inside one.
class InternalScope {
 public:
  InternalScope();
  ~InternalScope();
  InternalScope(const InternalScope&) = delete;
  InternalScope& operator=(const InternalScope&) = delete;

 private:
  bool saved_;
};
bool InInternalScope();

// Applies session_memory_limit and temp_file_limit (call at session start
// and after either may have changed). -1 = no limit.
void ApplyLimits(int64_t memory_limit_bytes, int64_t temp_limit_bytes);
// Whether a temporary file write was refused by temp_file_limit since the
// last call (the engine then reports 53400 instead of "disk full").
bool TakeTempLimitExceeded();
// Bytes held in this process's temporary files now (tests, diagnostics).
int64_t TempBytes();

// Names the server reserves for its own tables in every database file.
bool IsReservedName(const char* name);

}  // namespace bgw::sql::sandbox
