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
// because some objects depend on it (it owns a database).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sql/error.h"

struct sqlite3;

namespace bgw::storage {

// First OIDs handed out, as PostgreSQL's: 10 is the bootstrap superuser,
// 5 the postgres database; user-created objects start at 16384.
inline constexpr uint32_t kBootstrapSuperuserOid = 10;
inline constexpr uint32_t kPostgresDatabaseOid = 5;
inline constexpr uint32_t kFirstNormalOid = 16384;

struct DatabaseInfo {
  uint32_t oid = 0;
  std::string name;
  uint32_t owner = 0;  // role oid
  bool allow_connections = true;
  int connection_limit = -1;  // -1 = no limit
};

struct RoleInfo {
  uint32_t oid = 0;
  std::string name;
  bool superuser = false;
  bool can_login = false;
  int connection_limit = -1;
  std::string password;  // a verifier ("SCRAM-SHA-256$..." or "md5..."), "" = none
};

// Options of CREATE/ALTER ROLE; unset = leave as is (ALTER) or default (CREATE).
struct RoleOptions {
  std::optional<bool> superuser;
  std::optional<bool> can_login;
  std::optional<int> connection_limit;
  // A verifier already computed by the caller (never a plain password), or
  // "" to clear (PASSWORD NULL).
  std::optional<std::string> password;
};

struct DatabaseOptions {
  std::optional<uint32_t> owner;
  std::optional<bool> allow_connections;
  std::optional<int> connection_limit;
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
  static sql::SqlStatus Initialize(const std::string& data_dir, const std::string& superuser,
                                   const std::string& password_verifier);
  // Opens the existing catalog of `data_dir`.
  static sql::SqlResult<std::unique_ptr<Catalog>> Open(const std::string& data_dir);
  virtual ~Catalog() = default;

  virtual sql::SqlResult<std::optional<DatabaseInfo>> FindDatabase(const std::string& name) = 0;
  virtual sql::SqlResult<std::optional<DatabaseInfo>> FindDatabase(uint32_t oid) = 0;
  virtual sql::SqlResult<std::vector<DatabaseInfo>> ListDatabases() = 0;
  virtual sql::SqlResult<std::optional<RoleInfo>> FindRole(const std::string& name) = 0;
  virtual sql::SqlResult<std::optional<RoleInfo>> FindRole(uint32_t oid) = 0;
  virtual sql::SqlResult<std::vector<RoleInfo>> ListRoles() = 0;

  // The SQLite file of a database.
  virtual std::string DatabasePath(uint32_t database_oid) const = 0;

  // CREATE DATABASE: a new empty SQLite file in WAL mode.
  virtual sql::SqlResult<DatabaseInfo> CreateDatabase(const std::string& name,
                                                      const DatabaseOptions& options) = 0;
  virtual sql::SqlStatus AlterDatabase(const std::string& name, const DatabaseOptions& options) = 0;
  virtual sql::SqlStatus RenameDatabase(const std::string& name, const std::string& new_name) = 0;
  // The caller has checked that nobody is connected (55006).
  virtual sql::SqlStatus DropDatabase(const std::string& name) = 0;

  virtual sql::SqlResult<RoleInfo> CreateRole(const std::string& name,
                                              const RoleOptions& options) = 0;
  virtual sql::SqlStatus AlterRole(const std::string& name, const RoleOptions& options) = 0;
  virtual sql::SqlStatus DropRole(const std::string& name) = 0;
};

}  // namespace bgw::storage
