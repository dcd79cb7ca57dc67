// The server's built-in settings, as plain globals (PostgreSQL's style: code
// reads the variable directly; the registry in guc.h writes it).
//
// Contract: call DefineBuiltinSettings() once per process before reading any
// of these (the postmaster does it first thing; children inherit the values
// through fork). Until then the integers hold their defaults and the strings
// are nullptr. Only the registry writes them; string values are owned by it.
#pragma once

namespace bgw::guc {

// CONNECTIONS
extern int port;                       // 1..65535, postmaster
extern char* listen_addresses;         // comma-separated host names/addresses, postmaster
extern char* unix_socket_directories;  // comma-separated directories, postmaster
extern int max_connections;            // postmaster
extern int authentication_timeout;     // seconds, sighup

// AUTHENTICATION (client authentication; owned by src/protocol/auth.cc)
// password_encryption: which verifier CREATE/ALTER ROLE ... PASSWORD stores.
enum class PasswordEncryption : int { kMd5 = 0, kScramSha256 = 1 };
extern int password_encryption;  // a PasswordEncryption value, userset

// RESOURCES
extern int max_worker_processes;  // postmaster

// MODULES
extern char* shared_preload_libraries;  // comma-separated library names, postmaster
extern char* dynamic_library_path;      // colon-separated; $libdir, $datadir expand; sighup

// LOGGING
extern int log_min_messages;   // a bgw::log::Level value, superuser
extern char* log_line_prefix;  // sighup
extern char* log_destination;  // "stderr", "file" or both, comma-separated; sighup
extern char* log_directory;    // relative to the data directory unless absolute; sighup
extern char* log_filename;     // sighup
extern char* cluster_name;     // shown in process titles, postmaster

// ERROR HANDLING
extern bool restart_after_crash;  // sighup

// RESOURCES: per session (= per process), superuser.
extern int session_memory_limit;  // kB, -1 = none: sqlite3_hard_heap_limit64
extern int temp_file_limit;       // kB, -1 = none: temporary files (sql/sandbox.h)

// ---------------------------------------------------------------------------
// SESSION: the SQL engine's per-connection settings (src/sql/session.cc).
// A backend process serves one session, so process-global storage is
// per-session storage. Defined by DefineSessionSettings() (idempotent;
// sql::Session::Open calls it; a postmaster that wants them settable from
// bgw.conf or -c calls it after DefineBuiltinSettings()). Never listed in
// the sample file.
extern int statement_timeout;                    // ms, 0 = none; userset
extern int lock_timeout;                         // ms; accepted, not enforced; userset
extern int idle_in_transaction_session_timeout;  // ms, 0 = none: FATAL 25P03
extern int idle_session_timeout;                 // ms, 0 = none: FATAL 57P05
extern char* client_encoding;    // "UTF8" (or "SQL_ASCII", which libpq's C locale asks for)
extern char* datestyle;          // "ISO, MDY"
extern char* timezone_setting;   // "UTC"; any non-empty name is accepted
extern char* intervalstyle;      // "postgres"
extern char* application_name;   // userset
extern char* search_path;        // accepted, not used (one schema)
extern int extra_float_digits;   // -15..3
extern int client_min_messages;  // a bgw::log::Level value
extern bool standard_conforming_strings;  // only on
extern bool default_transaction_read_only;
extern char* default_transaction_isolation;
// Read-only (internal): reported to clients at connection start.
extern bool integer_datetimes;       // on
extern char* server_version;         // "15.0 (bgworker)"
extern int server_version_num;       // 150000
extern char* server_encoding;        // "UTF8"
extern bool in_hot_standby;          // off
extern char* transaction_isolation;  // "serializable" (SQLite's only level)
extern bool is_superuser;            // set by the engine at session start
extern char* session_authorization;  // set by the engine at session start
extern char* role_setting;           // "role": SET ROLE's role, or "none"

void DefineSessionSettings();

// Registers every built-in setting that is not registered yet (so calling it
// again, e.g. after guc::ResetForTesting(), is harmless). Aborts the process
// if a built-in definition is itself broken: that is a programming error.
void DefineBuiltinSettings();

}  // namespace bgw::guc
