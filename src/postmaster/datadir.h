// The data directory: creation (bgw init), validation before a server uses it,
// and the control file that records whether the last shutdown was clean.
//
// Layout: BGW_VERSION, bgw.conf, hba.conf, postmaster.pid (while running),
// global/ (shared catalog, bgw_control), base/ (one database file per oid),
// log/ (server log), modules/ (on the default dynamic_library_path).
#pragma once

#include <string>

#include "common/status.h"

namespace bgw::datadir {

inline constexpr const char* kVersionFile = "BGW_VERSION";
inline constexpr const char* kConfigFile = "bgw.conf";
inline constexpr const char* kHbaFile = "hba.conf";
inline constexpr const char* kPidFile = "postmaster.pid";
inline constexpr const char* kControlFile = "global/bgw_control";
inline constexpr const char* kCatalogFile = "global/catalog.db";  // storage/catalog.h
// Data directory format version, bumped when the layout changes.
inline constexpr int kFormatVersion = 1;

struct InitOptions {
  std::string path;
  std::string username;  // initial superuser; empty = the OS user
  // hba.conf methods for "local" and for "host" (127.0.0.1/32, ::1/128)
  // rules: trust, reject, scram-sha-256, md5 or password.
  std::string auth_local = "trust";
  std::string auth_host = "trust";
  // The superuser's password in plain text (stored as a verifier per
  // password_encryption); empty = none. Required by a password method.
  std::string password;
};

// The effective OS user's name, the default superuser name (as initdb).
Result<std::string> OsUserName();

// Checks options before anything is created: methods known, a password when
// a method needs one, a superuser name PostgreSQL would accept. The message
// is initdb's.
Status ValidateInitOptions(const InitOptions& options);

// Creates a new data directory at options.path (must not exist, or be
// empty): files, hba.conf with the chosen methods, and the catalog with the
// superuser and database "postgres". On failure nothing it created is left:
// a directory it made is removed, an existing empty one is emptied again.
Status Create(const InitOptions& options);

namespace internal {
// Tests only: makes Create fail ("injected failure") after the files are
// written and before the catalog, to exercise its cleanup.
inline bool fail_before_catalog_for_testing = false;
}  // namespace internal

// Makes `path` absolute and canonical (the directory must exist).
Result<std::string> Canonicalize(const std::string& path);

// Checks that `path` is a data directory this process may run a server on:
// owned by us, mode 0700, the version and the required files present.
Status Check(const std::string& path);

// Cluster state in the control file.
enum class ClusterState { kShutDown, kInProduction, kShuttingDown, kUnknown };
const char* ClusterStateName(ClusterState state);
// Reads / writes <data_dir>/global/bgw_control (written atomically).
Result<ClusterState> ReadControlState(const std::string& data_dir, long long* last_change);
Status WriteControlState(const std::string& data_dir, ClusterState state);

// Writes `content` to `path` atomically (temp file, fsync, rename).
Status WriteFileAtomically(const std::string& path, const std::string& content, int mode);

}  // namespace bgw::datadir
