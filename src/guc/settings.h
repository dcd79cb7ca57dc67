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

// Registers every built-in setting that is not registered yet (so calling it
// again, e.g. after guc::ResetForTesting(), is harmless). Aborts the process
// if a built-in definition is itself broken: that is a programming error.
void DefineBuiltinSettings();

}  // namespace bgw::guc
