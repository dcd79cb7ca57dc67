// The shared catalog: databases and roles, in <data_dir>/global/catalog.db
// (SQLite, WAL mode), and the database files <data_dir>/base/<oid>.db.
//
// Every process that needs it opens its own Catalog (SQLite connections are
// not shared across fork). Writers serialize through SQLite's lock with a
// busy timeout; each operation is one SQLite transaction, so a crash never
// leaves a half-created database or role: the database file is created
// before its row commits and removed after its row is deleted, and a
// leftover file without a row is ignored and overwritten.
//
// Errors carry PostgreSQL's SQLSTATEs and messages: 42P04 database "x"
// already exists, 3D000 database "x" does not exist, 42710 role "x" already
// exists, 42704 role "x" does not exist, 2BP01 role "x" cannot be dropped
// because some objects depend on it (it owns a database or holds privileges
// on one).
//
// Role membership (GRANT role TO role) lives here too, as PostgreSQL's
// pg_auth_members, and so do PostgreSQL 15's predefined roles
// (pg_database_owner, pg_read_all_data, ...), with PostgreSQL's OIDs; what
// membership means is decided by the SQL layer (src/sql/roles.h). A
// database's ACL is stored as text in acl.h's storage form; NULL means the
// defaults (owner all, PUBLIC CONNECT and TEMPORARY).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

struct sqlite3;

namespace bgw::storage {

// First OIDs handed out, as PostgreSQL's: 10 is the bootstrap superuser,
// 5 the postgres database; user-created objects start at 16384.
inline constexpr uint32_t kBootstrapSuperuserOid = 10;
inline constexpr uint32_t kPostgresDatabaseOid = 5;
inline constexpr uint32_t kFirstNormalOid = 16384;

// PostgreSQL 15's predefined roles (NOLOGIN, created with every catalog).
inline constexpr uint32_t kPgDatabaseOwnerOid = 6171;
inline constexpr uint32_t kPgReadAllDataOid = 6181;
inline constexpr uint32_t kPgWriteAllDataOid = 6182;
inline constexpr uint32_t kPgMonitorOid = 3373;
inline constexpr uint32_t kPgReadAllSettingsOid = 3374;
inline constexpr uint32_t kPgReadAllStatsOid = 3375;
inline constexpr uint32_t kPgStatScanTablesOid = 3377;
inline constexpr uint32_t kPgSignalBackendOid = 4200;
inline constexpr uint32_t kPgCheckpointOid = 4544;
inline constexpr uint32_t kPgReadServerFilesOid = 4569;
inline constexpr uint32_t kPgWriteServerFilesOid = 4570;
inline constexpr uint32_t kPgExecuteServerProgramOid = 4571;

struct DatabaseInfo {
  uint32_t oid = 0;
  std::string name;
  uint32_t owner = 0;  // role oid
  bool allow_connections = true;
  int connection_limit = -1;       // -1 = no limit
  std::optional<std::string> acl;  // acl.h storage form; nullopt = defaults
};

struct RoleInfo {
  uint32_t oid = 0;
  std::string name;
  bool superuser = false;
  bool can_login = false;
  int connection_limit = -1;
  std::string password;  // a verifier ("SCRAM-SHA-256$..." or "md5..."), "" = none
  bool inherit = true;   // uses the privileges of the roles it is a member of
  bool create_role = false;
  bool create_db = false;
  bool replication = false;
  bool bypass_rls = false;
};

// One row of pg_auth_members: `member` is a member of `role`.
struct Membership {
  uint32_t role = 0;
  uint32_t member = 0;
  uint32_t grantor = 0;
  bool admin_option = false;
};

// Options of CREATE/ALTER ROLE; unset = leave as is (ALTER) or default (CREATE).
struct RoleOptions {
  std::optional<bool> superuser;
  std::optional<bool> can_login;
  std::optional<int> connection_limit;
  // A verifier already computed by the caller (never a plain password), or
  // "" to clear (PASSWORD NULL).
  std::optional<std::string> password;
  std::optional<bool> inherit;
  std::optional<bool> create_role;
  std::optional<bool> create_db;
  std::optional<bool> replication;
  std::optional<bool> bypass_rls;
};

struct DatabaseOptions {
  std::optional<uint32_t> owner;
  std::optional<bool> allow_connections;
  std::optional<int> connection_limit;
  // The new ACL (storage form), or nullopt inside to go back to the defaults.
  std::optional<std::optional<std::string>> acl;
};

// Postmaster only, once, before the first child is forked: initializes the
// SQLite library (its allocator, VFS and built-in function table), so every
// child inherits it ready instead of building it at its first open. That
// first open was about 15% of a client connection's set-up. Safe across
// fork: no connection or file is open yet, and the postmaster has one
// thread. Failure is not fatal: each child then initializes on first use.
void InitializeEngineBeforeFork();

// Options every long-lived connection to a catalog or database file gets.
// Public for the SQL engine (sql/session.cc), which opens database files.
//
// No checkpoint on close: by default the last connection to close a WAL
// database checkpoints it and deletes its -wal and -shm files, and the next
// one to open recreates and re-initializes them (file creation, ownership,
// shared-memory sizing, WAL recovery). With one short-lived backend or
// worker at a time that was the bulk of every connection's file-system
// work. Durability is unchanged: committed data is in the WAL (synced at
// commit), and SQLite still checkpoints when the WAL passes its
// auto-checkpoint size at a commit.
void ConfigureConnection(sqlite3* db);

// The SQLite file of a database: <data_dir>/base/<oid>.db. A pure function
// of its arguments, so a connection answered from the shared snapshot
// (catalog_cache.h) needs no open catalog for it.
std::string DatabaseFilePath(const std::string& data_dir, uint32_t database_oid);

class Catalog {
 public:
  // Creates global/catalog.db, base/, database "postgres" (oid 5) owned by
  // the bootstrap superuser `superuser` (oid 10, SUPERUSER LOGIN, password
  // verifier or ""). For `bgw init`; fails if a catalog exists.
  static Status Initialize(const std::string& data_dir, const std::string& superuser,
                           const std::string& password_verifier);
  // Opens the existing catalog of `data_dir`.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& data_dir);
  virtual ~Catalog() = default;

  virtual Result<std::optional<DatabaseInfo>> FindDatabase(const std::string& name) = 0;
  virtual Result<std::optional<DatabaseInfo>> FindDatabase(uint32_t oid) = 0;
  virtual Result<std::vector<DatabaseInfo>> ListDatabases() = 0;
  virtual Result<std::optional<RoleInfo>> FindRole(const std::string& name) = 0;
  virtual Result<std::optional<RoleInfo>> FindRole(uint32_t oid) = 0;
  virtual Result<std::vector<RoleInfo>> ListRoles() = 0;
  virtual Result<std::vector<Membership>> ListMemberships() = 0;

  // The SQLite file of a database.
  virtual std::string DatabasePath(uint32_t database_oid) const = 0;

  // CREATE DATABASE: a new empty SQLite file in WAL mode.
  virtual Result<DatabaseInfo> CreateDatabase(const std::string& name,
                                              const DatabaseOptions& options) = 0;
  virtual Status AlterDatabase(const std::string& name, const DatabaseOptions& options) = 0;
  virtual Status RenameDatabase(const std::string& name, const std::string& new_name) = 0;
  // The caller has checked that nobody is connected (55006).
  virtual Status DropDatabase(const std::string& name) = 0;

  virtual Result<RoleInfo> CreateRole(const std::string& name, const RoleOptions& options) = 0;
  virtual Status AlterRole(const std::string& name, const RoleOptions& options) = 0;
  virtual Status RenameRole(const std::string& name, const std::string& new_name) = 0;
  // Also removes the role's memberships, both ways. The caller has checked
  // that no database object still refers to it (2BP01 otherwise).
  virtual Status DropRole(const std::string& name) = 0;

  // GRANT role TO member [WITH ADMIN OPTION]: adds the row, or adds the
  // admin option to an existing one. The caller has checked privileges and
  // circularity.
  virtual Status GrantMembership(const Membership& membership) = 0;
  // REVOKE [ADMIN OPTION FOR] role FROM member. False if there was no such
  // membership (the caller warns, as PostgreSQL does).
  virtual Result<bool> RevokeMembership(uint32_t role, uint32_t member, bool admin_option_only) = 0;
};

}  // namespace bgw::storage
