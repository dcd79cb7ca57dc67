// The shared catalog on SQLite; see catalog.h.
//
// Schema (global/catalog.db):
//   meta(key, value)        "next_oid": the OID counter (shared by roles and
//                           databases, as PostgreSQL's), "version"
//   roles(oid, name, ...)   names UNIQUE, compared bytewise (BINARY
//                           collation): the SQL layer folds case first
//   databases(oid, name, owner, ...)
// Writers take SQLite's write lock up front (BEGIN IMMEDIATE), so two
// processes racing on the same name serialize on the busy timeout instead
// of failing with SQLITE_BUSY when a read lock cannot be upgraded.
#include "storage/catalog.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/strutil.h"
#include "storage/catalog_cache.h"
#include "storage/sqlite_stmt.h"

namespace bgw::storage {
namespace {

constexpr int kBusyTimeoutMs = 10000;
// Version 2 added role attributes, memberships, database ACLs and the
// predefined roles; Open migrates a version 1 catalog in place.
constexpr int kCatalogVersion = 2;

constexpr const char* kSchema = R"(
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE roles(
  oid INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  superuser INTEGER NOT NULL,
  can_login INTEGER NOT NULL,
  connection_limit INTEGER NOT NULL,
  password TEXT NOT NULL,
  inherit INTEGER NOT NULL DEFAULT 1,
  create_role INTEGER NOT NULL DEFAULT 0,
  create_db INTEGER NOT NULL DEFAULT 0,
  replication INTEGER NOT NULL DEFAULT 0,
  bypass_rls INTEGER NOT NULL DEFAULT 0);
CREATE TABLE databases(
  oid INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  owner INTEGER NOT NULL,
  allow_connections INTEGER NOT NULL,
  connection_limit INTEGER NOT NULL,
  acl TEXT);
CREATE TABLE members(
  role INTEGER NOT NULL,
  member INTEGER NOT NULL,
  grantor INTEGER NOT NULL,
  admin_option INTEGER NOT NULL,
  PRIMARY KEY(role, member));
)";

// Version 1 to 2, inside the migrating transaction.
constexpr const char* kMigrateFrom1 = R"(
ALTER TABLE roles ADD COLUMN inherit INTEGER NOT NULL DEFAULT 1;
ALTER TABLE roles ADD COLUMN create_role INTEGER NOT NULL DEFAULT 0;
ALTER TABLE roles ADD COLUMN create_db INTEGER NOT NULL DEFAULT 0;
ALTER TABLE roles ADD COLUMN replication INTEGER NOT NULL DEFAULT 0;
ALTER TABLE roles ADD COLUMN bypass_rls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE databases ADD COLUMN acl TEXT;
CREATE TABLE members(
  role INTEGER NOT NULL,
  member INTEGER NOT NULL,
  grantor INTEGER NOT NULL,
  admin_option INTEGER NOT NULL,
  PRIMARY KEY(role, member));
UPDATE meta SET value = 2 WHERE key = 'version';
)";

// PostgreSQL 15's predefined roles, and the memberships among them.
struct PredefinedRole {
  uint32_t oid;
  const char* name;
};
constexpr PredefinedRole kPredefinedRoles[] = {
    {kPgDatabaseOwnerOid, "pg_database_owner"},
    {kPgReadAllDataOid, "pg_read_all_data"},
    {kPgWriteAllDataOid, "pg_write_all_data"},
    {kPgMonitorOid, "pg_monitor"},
    {kPgReadAllSettingsOid, "pg_read_all_settings"},
    {kPgReadAllStatsOid, "pg_read_all_stats"},
    {kPgStatScanTablesOid, "pg_stat_scan_tables"},
    {kPgReadServerFilesOid, "pg_read_server_files"},
    {kPgWriteServerFilesOid, "pg_write_server_files"},
    {kPgExecuteServerProgramOid, "pg_execute_server_program"},
    {kPgSignalBackendOid, "pg_signal_backend"},
    {kPgCheckpointOid, "pg_checkpoint"},
};
constexpr uint32_t kMonitorMembersOf[] = {kPgReadAllSettingsOid, kPgReadAllStatsOid,
                                          kPgStatScanTablesOid};

std::string CatalogPath(const std::string& data_dir) { return data_dir + "/global/catalog.db"; }

ErrorReport SqliteError(sqlite3* db, const std::string& what) {
  int code = db != nullptr ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  // Lock timeouts and I/O failures get their own classes: a client may retry
  // the first, and the second is about the disk, not the request.
  const char* state = "XX000";
  switch (code & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      state = "55P03";
      break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
      state = "58030";
      break;
    default:
      break;
  }
  return MakeError(state, what + ": " + msg);
}

Status Exec(sqlite3* db, const char* sql, const std::string& what) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    return SqliteError(db, what);
  }
  return Status::Ok();
}

// Opens (optionally creating) a SQLite file with the project's settings.
Result<sqlite3*> OpenDb(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    ErrorReport e = SqliteError(db, "could not open \"" + path + "\"");
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return db;
}

void RemoveDatabaseFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) unlink((path + suffix).c_str());
}

// A new, empty database file in WAL mode (any leftover of a crashed
// CREATE DATABASE with the same oid is replaced).
Status CreateDatabaseFile(const std::string& path) {
  RemoveDatabaseFiles(path);
  Result<sqlite3*> db = OpenDb(path, /*create=*/true);
  if (!db.ok()) return db.error();
  // Private to the server like the rest of the data directory (SQLite
  // creates 0644; its -wal and -shm files copy the main file's mode).
  Status s = chmod(path.c_str(), 0600) == 0
                 ? Exec(*db, "PRAGMA journal_mode=WAL", "could not initialize \"" + path + "\"")
                 : Status::FromErrno("could not change permissions of \"" + path + "\"");
  sqlite3_close(*db);
  if (!s.ok()) RemoveDatabaseFiles(path);
  return s;
}

RoleInfo RowToRole(const Stmt& s) {
  RoleInfo r;
  r.oid = static_cast<uint32_t>(s.Int(0));
  r.name = s.Text(1);
  r.superuser = s.Int(2) != 0;
  r.can_login = s.Int(3) != 0;
  r.connection_limit = static_cast<int>(s.Int(4));
  r.password = s.Text(5);
  r.inherit = s.Int(6) != 0;
  r.create_role = s.Int(7) != 0;
  r.create_db = s.Int(8) != 0;
  r.replication = s.Int(9) != 0;
  r.bypass_rls = s.Int(10) != 0;
  return r;
}

DatabaseInfo RowToDatabase(const Stmt& s) {
  DatabaseInfo d;
  d.oid = static_cast<uint32_t>(s.Int(0));
  d.name = s.Text(1);
  d.owner = static_cast<uint32_t>(s.Int(2));
  d.allow_connections = s.Int(3) != 0;
  d.connection_limit = static_cast<int>(s.Int(4));
  if (!s.IsNull(5)) d.acl = s.Text(5);
  return d;
}

constexpr const char* kRoleColumns =
    "SELECT oid, name, superuser, can_login, connection_limit, password, inherit, create_role, "
    "create_db, replication, bypass_rls FROM roles ";
constexpr const char* kDatabaseColumns =
    "SELECT oid, name, owner, allow_connections, connection_limit, acl FROM databases ";

// Whether an ACL in storage form ("grantee=privs/grantor,...", see
// sql/acl.h) names `role` as a grantee or grantor.
bool AclMentions(const std::string& acl, uint32_t role) {
  const std::string oid = std::to_string(role);
  for (const std::string& item : SplitTrimmed(acl, ',')) {
    const size_t eq = item.find('='), slash = item.rfind('/');
    if (eq == std::string::npos || slash == std::string::npos) continue;
    if (item.compare(0, eq, oid) == 0 && eq == oid.size()) return true;
    if (item.compare(slash + 1, std::string::npos, oid) == 0) return true;
  }
  return false;
}

ErrorReport DatabaseMissing(const std::string& name) {
  return MakeError("3D000", "database \"" + name + "\" does not exist");
}
ErrorReport RoleMissing(const std::string& name) {
  return MakeError("42704", "role \"" + name + "\" does not exist");
}

class SqliteCatalog : public Catalog {
 public:
  SqliteCatalog(std::string data_dir, sqlite3* db) : data_dir_(std::move(data_dir)), db_(db) {}
  ~SqliteCatalog() override { sqlite3_close(db_); }

  Result<std::optional<DatabaseInfo>> FindDatabase(const std::string& name) override {
    Stmt s(db_, (std::string(kDatabaseColumns) + "WHERE name = ?1").c_str());
    s.Bind(1, name);
    return OneDatabase(s);
  }
  Result<std::optional<DatabaseInfo>> FindDatabase(uint32_t oid) override {
    Stmt s(db_, (std::string(kDatabaseColumns) + "WHERE oid = ?1").c_str());
    s.Bind(1, oid);
    return OneDatabase(s);
  }
  Result<std::vector<DatabaseInfo>> ListDatabases() override {
    Stmt s(db_, (std::string(kDatabaseColumns) + "ORDER BY oid").c_str());
    std::vector<DatabaseInfo> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(RowToDatabase(s));
    if (rc != SQLITE_DONE) return SqliteError(db_, "could not read the catalog");
    return out;
  }
  Result<std::optional<RoleInfo>> FindRole(const std::string& name) override {
    Stmt s(db_, (std::string(kRoleColumns) + "WHERE name = ?1").c_str());
    s.Bind(1, name);
    return OneRole(s);
  }
  Result<std::optional<RoleInfo>> FindRole(uint32_t oid) override {
    Stmt s(db_, (std::string(kRoleColumns) + "WHERE oid = ?1").c_str());
    s.Bind(1, oid);
    return OneRole(s);
  }
  Result<std::vector<RoleInfo>> ListRoles() override {
    Stmt s(db_, (std::string(kRoleColumns) + "ORDER BY oid").c_str());
    std::vector<RoleInfo> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(RowToRole(s));
    if (rc != SQLITE_DONE) return SqliteError(db_, "could not read the catalog");
    return out;
  }
  Result<std::vector<Membership>> ListMemberships() override {
    Stmt s(db_, "SELECT role, member, grantor, admin_option FROM members ORDER BY role, member");
    std::vector<Membership> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      out.push_back(Membership{static_cast<uint32_t>(s.Int(0)), static_cast<uint32_t>(s.Int(1)),
                               static_cast<uint32_t>(s.Int(2)), s.Int(3) != 0});
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "could not read the catalog");
    return out;
  }

  std::string DatabasePath(uint32_t database_oid) const override {
    return DatabaseFilePath(data_dir_, database_oid);
  }

  Result<DatabaseInfo> CreateDatabase(const std::string& name,
                                      const DatabaseOptions& options) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    auto existing = FindDatabase(name);
    if (!existing.ok()) return existing.error();
    if (*existing) return MakeError("42P04", "database \"" + name + "\" already exists");
    DatabaseInfo d;
    d.name = name;
    d.owner = options.owner.value_or(kBootstrapSuperuserOid);
    d.allow_connections = options.allow_connections.value_or(true);
    d.connection_limit = options.connection_limit.value_or(-1);
    if (auto s = CheckOwner(d.owner); !s.ok()) return s.error();
    auto oid = NextOid();
    if (!oid.ok()) return oid.error();
    d.oid = *oid;
    const std::string path = DatabasePath(d.oid);
    if (auto s = CreateDatabaseFile(path); !s.ok()) return s.error();
    Stmt ins(db_,
             "INSERT INTO databases(oid, name, owner, allow_connections, connection_limit) "
             "VALUES (?1, ?2, ?3, ?4, ?5)");
    ins.Bind(1, d.oid).Bind(2, d.name).Bind(3, d.owner).Bind(4, d.allow_connections ? 1 : 0);
    ins.Bind(5, d.connection_limit);
    if (ins.Step() != SQLITE_DONE) {
      ErrorReport e = SqliteError(db_, "could not create database \"" + name + "\"");
      RemoveDatabaseFiles(path);
      return e;
    }
    if (auto s = txn.Commit(); !s.ok()) {
      RemoveDatabaseFiles(path);
      return s.error();
    }
    return d;
  }

  Status AlterDatabase(const std::string& name, const DatabaseOptions& options) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    auto found = FindDatabase(name);
    if (!found.ok()) return found.error();
    if (!*found) return DatabaseMissing(name);
    DatabaseInfo d = **found;
    if (options.owner) {
      if (auto s = CheckOwner(*options.owner); !s.ok()) return s;
      d.owner = *options.owner;
    }
    if (options.allow_connections) d.allow_connections = *options.allow_connections;
    if (options.connection_limit) d.connection_limit = *options.connection_limit;
    if (options.acl) d.acl = *options.acl;
    Stmt up(db_,
            "UPDATE databases SET owner = ?2, allow_connections = ?3, connection_limit = ?4, "
            "acl = ?5 WHERE oid = ?1");
    up.Bind(1, d.oid).Bind(2, d.owner).Bind(3, d.allow_connections ? 1 : 0);
    up.Bind(4, d.connection_limit);
    if (d.acl) {
      up.Bind(5, *d.acl);
    } else {
      up.BindNull(5);
    }
    if (up.Step() != SQLITE_DONE) {
      return SqliteError(db_, "could not alter database \"" + name + "\"");
    }
    return txn.Commit();
  }

  Status RenameDatabase(const std::string& name, const std::string& new_name) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    auto found = FindDatabase(name);
    if (!found.ok()) return found.error();
    if (!*found) return DatabaseMissing(name);
    auto clash = FindDatabase(new_name);
    if (!clash.ok()) return clash.error();
    if (*clash) return MakeError("42P04", "database \"" + new_name + "\" already exists");
    Stmt up(db_, "UPDATE databases SET name = ?2 WHERE oid = ?1");
    up.Bind(1, (*found)->oid).Bind(2, new_name);
    if (up.Step() != SQLITE_DONE) {
      return SqliteError(db_, "could not rename database \"" + name + "\"");
    }
    return txn.Commit();
  }

  Status DropDatabase(const std::string& name) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    auto found = FindDatabase(name);
    if (!found.ok()) return found.error();
    if (!*found) return DatabaseMissing(name);
    Stmt del(db_, "DELETE FROM databases WHERE oid = ?1");
    del.Bind(1, (*found)->oid);
    if (del.Step() != SQLITE_DONE) {
      return SqliteError(db_, "could not drop database \"" + name + "\"");
    }
    if (auto s = txn.Commit(); !s.ok()) return s;
    // After the commit: a crash between the two leaves only an orphan file,
    // which nothing refers to and the next CreateDatabase with that oid
    // would replace.
    RemoveDatabaseFiles(DatabasePath((*found)->oid));
    return Status::Ok();
  }

  Result<RoleInfo> CreateRole(const std::string& name, const RoleOptions& options) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    auto existing = FindRole(name);
    if (!existing.ok()) return existing.error();
    if (*existing) return MakeError("42710", "role \"" + name + "\" already exists");
    RoleInfo r;
    r.name = name;
    r.superuser = options.superuser.value_or(false);
    r.can_login = options.can_login.value_or(false);
    r.connection_limit = options.connection_limit.value_or(-1);
    r.password = options.password.value_or("");
    r.inherit = options.inherit.value_or(true);
    r.create_role = options.create_role.value_or(false);
    r.create_db = options.create_db.value_or(false);
    r.replication = options.replication.value_or(false);
    r.bypass_rls = options.bypass_rls.value_or(false);
    auto oid = NextOid();
    if (!oid.ok()) return oid.error();
    r.oid = *oid;
    if (auto s = InsertRole(r); !s.ok()) return s.error();
    if (auto s = txn.Commit(); !s.ok()) return s.error();
    return r;
  }

  Status AlterRole(const std::string& name, const RoleOptions& options) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    auto found = FindRole(name);
    if (!found.ok()) return found.error();
    if (!*found) return RoleMissing(name);
    RoleInfo r = **found;
    if (options.superuser) r.superuser = *options.superuser;
    if (options.can_login) r.can_login = *options.can_login;
    if (options.connection_limit) r.connection_limit = *options.connection_limit;
    if (options.password) r.password = *options.password;
    if (options.inherit) r.inherit = *options.inherit;
    if (options.create_role) r.create_role = *options.create_role;
    if (options.create_db) r.create_db = *options.create_db;
    if (options.replication) r.replication = *options.replication;
    if (options.bypass_rls) r.bypass_rls = *options.bypass_rls;
    Stmt up(db_,
            "UPDATE roles SET superuser = ?2, can_login = ?3, connection_limit = ?4, "
            "password = ?5, inherit = ?6, create_role = ?7, create_db = ?8, replication = ?9, "
            "bypass_rls = ?10 WHERE oid = ?1");
    up.Bind(1, r.oid).Bind(2, r.superuser ? 1 : 0).Bind(3, r.can_login ? 1 : 0);
    up.Bind(4, r.connection_limit).Bind(5, r.password).Bind(6, r.inherit ? 1 : 0);
    up.Bind(7, r.create_role ? 1 : 0).Bind(8, r.create_db ? 1 : 0);
    up.Bind(9, r.replication ? 1 : 0).Bind(10, r.bypass_rls ? 1 : 0);
    if (up.Step() != SQLITE_DONE) return SqliteError(db_, "could not alter role \"" + name + "\"");
    return txn.Commit();
  }

  Status RenameRole(const std::string& name, const std::string& new_name) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    auto found = FindRole(name);
    if (!found.ok()) return found.error();
    if (!*found) return RoleMissing(name);
    auto clash = FindRole(new_name);
    if (!clash.ok()) return clash.error();
    if (*clash) return MakeError("42710", "role \"" + new_name + "\" already exists");
    // An MD5 verifier is salted with the role name: it cannot survive a
    // rename (PostgreSQL clears it and says so; the caller warns).
    const bool md5 = (*found)->password.rfind("md5", 0) == 0;
    Stmt up(db_, md5 ? "UPDATE roles SET name = ?2, password = '' WHERE oid = ?1"
                     : "UPDATE roles SET name = ?2 WHERE oid = ?1");
    up.Bind(1, (*found)->oid).Bind(2, new_name);
    if (up.Step() != SQLITE_DONE) return SqliteError(db_, "could not rename role \"" + name + "\"");
    return txn.Commit();
  }

  Status GrantMembership(const Membership& m) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    Stmt up(db_,
            "INSERT INTO members(role, member, grantor, admin_option) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT(role, member) DO UPDATE SET admin_option = "
            "max(admin_option, excluded.admin_option)");
    up.Bind(1, m.role).Bind(2, m.member).Bind(3, m.grantor).Bind(4, m.admin_option ? 1 : 0);
    if (up.Step() != SQLITE_DONE) return SqliteError(db_, "could not grant membership");
    return txn.Commit();
  }

  Result<bool> RevokeMembership(uint32_t role, uint32_t member, bool admin_option_only) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    Stmt del(db_, admin_option_only
                      ? "UPDATE members SET admin_option = 0 WHERE role = ?1 AND member = ?2"
                      : "DELETE FROM members WHERE role = ?1 AND member = ?2");
    del.Bind(1, role).Bind(2, member);
    if (del.Step() != SQLITE_DONE) return SqliteError(db_, "could not revoke membership");
    const bool changed = sqlite3_changes(db_) > 0;
    if (auto s = txn.Commit(); !s.ok()) return s.error();
    return changed;
  }

  Status DropRole(const std::string& name) override {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    auto found = FindRole(name);
    if (!found.ok()) return found.error();
    if (!*found) return RoleMissing(name);
    if ((*found)->oid == kBootstrapSuperuserOid) {
      return MakeError(
          "2BP01", "cannot drop role " + name + " because it is required by the database system");
    }
    Stmt owned(db_, "SELECT name FROM databases WHERE owner = ?1 ORDER BY oid");
    owned.Bind(1, (*found)->oid);
    std::string detail;
    int rc;
    while ((rc = owned.Step()) == SQLITE_ROW) {
      if (!detail.empty()) detail += "\n";
      detail += "owner of database " + owned.Text(0);
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "could not read the catalog");
    // Grants on databases name the role by OID inside the ACL text.
    Stmt granted(db_, "SELECT name, acl FROM databases WHERE acl IS NOT NULL ORDER BY oid");
    while ((rc = granted.Step()) == SQLITE_ROW) {
      if (AclMentions(granted.Text(1), (*found)->oid)) {
        if (!detail.empty()) detail += "\n";
        detail += "privileges for database " + granted.Text(0);
      }
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "could not read the catalog");
    if (!detail.empty()) {
      return MakeError("2BP01",
                       "role \"" + name + "\" cannot be dropped because some objects depend on it",
                       detail);
    }
    for (const char* sql : {"DELETE FROM members WHERE role = ?1 OR member = ?1",
                            "DELETE FROM roles WHERE oid = ?1"}) {
      Stmt del(db_, sql);
      del.Bind(1, (*found)->oid);
      if (del.Step() != SQLITE_DONE) {
        return SqliteError(db_, "could not drop role \"" + name + "\"");
      }
    }
    return txn.Commit();
  }

  // For Initialize: the fixed-oid rows.
  Status InsertRole(const RoleInfo& r) {
    Stmt ins(db_,
             "INSERT INTO roles(oid, name, superuser, can_login, connection_limit, password, "
             "inherit, create_role, create_db, replication, bypass_rls) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    ins.Bind(1, r.oid).Bind(2, r.name).Bind(3, r.superuser ? 1 : 0).Bind(4, r.can_login ? 1 : 0);
    ins.Bind(5, r.connection_limit).Bind(6, r.password).Bind(7, r.inherit ? 1 : 0);
    ins.Bind(8, r.create_role ? 1 : 0).Bind(9, r.create_db ? 1 : 0);
    ins.Bind(10, r.replication ? 1 : 0).Bind(11, r.bypass_rls ? 1 : 0);
    if (ins.Step() != SQLITE_DONE)
      return SqliteError(db_, "could not create role \"" + r.name + "\"");
    return Status::Ok();
  }

  // For Initialize and the version 1 migration, inside their transaction:
  // the predefined roles that are missing (a name already taken by a role
  // of the old catalog keeps that role, and the predefined one is skipped).
  Status InsertPredefinedRoles() {
    for (const PredefinedRole& p : kPredefinedRoles) {
      Stmt ins(db_,
               "INSERT OR IGNORE INTO roles(oid, name, superuser, can_login, connection_limit, "
               "password) VALUES (?1, ?2, 0, 0, -1, '')");
      ins.Bind(1, p.oid).Bind(2, std::string(p.name));
      if (ins.Step() != SQLITE_DONE) return SqliteError(db_, "could not create predefined roles");
    }
    for (uint32_t role : kMonitorMembersOf) {
      Stmt ins(db_,
               "INSERT OR IGNORE INTO members(role, member, grantor, admin_option) "
               "SELECT ?1, ?2, ?3, 0 WHERE EXISTS (SELECT 1 FROM roles WHERE oid = ?2)");
      ins.Bind(1, role).Bind(2, kPgMonitorOid).Bind(3, kBootstrapSuperuserOid);
      if (ins.Step() != SQLITE_DONE) return SqliteError(db_, "could not create predefined roles");
    }
    return Status::Ok();
  }

  // Brings a catalog of an older version up to kCatalogVersion, in one
  // transaction (concurrent openers serialize on the write lock and find
  // the work done). Returns the version found.
  Result<int64_t> Migrate() {
    Txn txn(this);
    if (!txn.ok()) return txn.error();
    Stmt version(db_, "SELECT value FROM meta WHERE key = 'version'");
    if (version.Step() != SQLITE_ROW) return SqliteError(db_, "could not read the catalog");
    const int64_t found = version.Int(0);
    if (found != 1) return found;
    if (auto s = Exec(db_, kMigrateFrom1, "could not migrate the catalog"); !s.ok())
      return s.error();
    if (auto s = InsertPredefinedRoles(); !s.ok()) return s.error();
    if (auto s = txn.Commit(); !s.ok()) return s.error();
    return int64_t{kCatalogVersion};
  }

 private:
  // One write transaction; rolls back unless committed.
  class Txn {
   public:
    explicit Txn(SqliteCatalog* c) : c_(c) {
      status_ = Exec(c_->db_, "BEGIN IMMEDIATE", "could not lock the catalog");
      open_ = status_.ok();
    }
    ~Txn() {
      if (open_) (void)Exec(c_->db_, "ROLLBACK", "rollback");
    }
    bool ok() const { return status_.ok(); }
    const ErrorReport& error() const { return status_.error(); }
    Status Commit() {
      Status s = Exec(c_->db_, "COMMIT", "could not commit a catalog change");
      // After the commit, before the caller reports success: every
      // connection from now on reads the new rows. Also when COMMIT failed:
      // after an I/O error its outcome is not always known, and a needless
      // invalidation only costs one rebuild.
      catalog_cache::Invalidate();
      if (s.ok()) open_ = false;
      return s;
    }

   private:
    SqliteCatalog* c_;
    Status status_ = Status::Ok();
    bool open_ = false;
  };

  Result<std::optional<DatabaseInfo>> OneDatabase(Stmt& s) {
    int rc = s.Step();
    if (rc == SQLITE_ROW) return std::optional<DatabaseInfo>(RowToDatabase(s));
    if (rc == SQLITE_DONE) return std::optional<DatabaseInfo>();
    return SqliteError(db_, "could not read the catalog");
  }
  Result<std::optional<RoleInfo>> OneRole(Stmt& s) {
    int rc = s.Step();
    if (rc == SQLITE_ROW) return std::optional<RoleInfo>(RowToRole(s));
    if (rc == SQLITE_DONE) return std::optional<RoleInfo>();
    return SqliteError(db_, "could not read the catalog");
  }

  Status CheckOwner(uint32_t oid) {
    auto owner = FindRole(oid);
    if (!owner.ok()) return owner.error();
    if (!*owner) return MakeError("42704", StringPrintf("role with OID %u does not exist", oid));
    return Status::Ok();
  }

  // Inside a write transaction: takes the next OID.
  Result<uint32_t> NextOid() {
    Stmt get(db_, "SELECT value FROM meta WHERE key = 'next_oid'");
    if (get.Step() != SQLITE_ROW) return SqliteError(db_, "could not read the OID counter");
    int64_t oid = get.Int(0);
    Stmt put(db_, "UPDATE meta SET value = ?1 WHERE key = 'next_oid'");
    put.Bind(1, oid + 1);
    if (put.Step() != SQLITE_DONE) return SqliteError(db_, "could not advance the OID counter");
    return static_cast<uint32_t>(oid);
  }

  friend class Txn;
  std::string data_dir_;
  sqlite3* db_;
};

}  // namespace

Status Catalog::Initialize(const std::string& data_dir, const std::string& superuser,
                           const std::string& password_verifier) {
  const std::string path = CatalogPath(data_dir);
  for (const char* sub : {"/global", "/base"}) {
    std::string dir = data_dir + sub;
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::FromErrno("could not create directory \"" + dir + "\"");
    }
  }
  if (access(path.c_str(), F_OK) == 0) {
    return MakeError("42P04", "catalog \"" + path + "\" already exists");
  }
  // Built under a temporary name and renamed into place: a crash midway
  // leaves no catalog that looks finished.
  const std::string tmp = path + ".tmp";
  RemoveDatabaseFiles(tmp);
  Result<sqlite3*> db = OpenDb(tmp, /*create=*/true);
  if (!db.ok()) return db.error();
  if (chmod(tmp.c_str(), 0600) != 0) {
    Status e = Status::FromErrno("could not change permissions of \"" + tmp + "\"");
    sqlite3_close(*db);
    RemoveDatabaseFiles(tmp);
    return e;
  }
  Status result = [&]() -> Status {
    SqliteCatalog catalog(data_dir, *db);
    Status s = Exec(*db, "BEGIN", "could not initialize the catalog");
    if (s.ok()) s = Exec(*db, kSchema, "could not create the catalog schema");
    if (s.ok()) {
      std::string meta =
          StringPrintf("INSERT INTO meta(key, value) VALUES ('next_oid', %u), ('version', %d)",
                       kFirstNormalOid, kCatalogVersion);
      s = Exec(*db, meta.c_str(), "could not initialize the catalog");
    }
    if (s.ok()) {
      RoleInfo r;
      r.oid = kBootstrapSuperuserOid;
      r.name = superuser;
      // As initdb makes it: every attribute.
      r.superuser = true;
      r.can_login = true;
      r.create_role = true;
      r.create_db = true;
      r.replication = true;
      r.bypass_rls = true;
      r.password = password_verifier;
      s = catalog.InsertRole(r);
    }
    if (s.ok()) s = catalog.InsertPredefinedRoles();
    if (s.ok()) {
      std::string ins = StringPrintf(
          "INSERT INTO databases(oid, name, owner, allow_connections, connection_limit) "
          "VALUES (%u, 'postgres', %u, 1, -1)",
          kPostgresDatabaseOid, kBootstrapSuperuserOid);
      s = Exec(*db, ins.c_str(), "could not create database \"postgres\"");
    }
    if (s.ok()) s = Exec(*db, "COMMIT", "could not initialize the catalog");
    if (s.ok()) s = Exec(*db, "PRAGMA journal_mode=WAL", "could not initialize the catalog");
    return s;  // the catalog's destructor closes the connection (checkpointing the WAL)
  }();
  if (result.ok()) {
    result = CreateDatabaseFile(DatabaseFilePath(data_dir, kPostgresDatabaseOid));
  }
  if (result.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    result = Status::FromErrno("could not rename \"" + tmp + "\" to \"" + path + "\"");
  }
  if (!result.ok()) {
    RemoveDatabaseFiles(tmp);
    RemoveDatabaseFiles(DatabaseFilePath(data_dir, kPostgresDatabaseOid));
  }
  return result;
}

std::string DatabaseFilePath(const std::string& data_dir, uint32_t database_oid) {
  return data_dir + "/base/" + std::to_string(database_oid) + ".db";
}

void InitializeEngineBeforeFork() { (void)sqlite3_initialize(); }

void ConfigureConnection(sqlite3* db) {
  (void)sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
}

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& data_dir) {
  const std::string path = CatalogPath(data_dir);
  if (access(path.c_str(), F_OK) != 0) {
    return Status::FromErrno("could not open catalog \"" + path + "\"");
  }
  Result<sqlite3*> db = OpenDb(path, /*create=*/false);
  if (!db.ok()) return db.error();
  auto catalog = std::make_unique<SqliteCatalog>(data_dir, *db);
  ConfigureConnection(*db);
  // Persistent in the file already; asked again so a catalog copied from
  // elsewhere still runs in WAL mode.
  if (auto s = Exec(*db, "PRAGMA journal_mode=WAL", "could not open the catalog"); !s.ok()) {
    return s.error();
  }
  int64_t found = 0;
  {
    Stmt version(*db, "SELECT value FROM meta WHERE key = 'version'");
    if (version.Step() == SQLITE_ROW) found = version.Int(0);
  }
  if (found > 0 && found < kCatalogVersion) {
    Result<int64_t> migrated = catalog->Migrate();
    if (!migrated.ok()) return migrated.error();
    found = *migrated;
  }
  if (found != kCatalogVersion) {
    return MakeError("XX000", "catalog \"" + path + "\" is corrupt or of another version");
  }
  return std::unique_ptr<Catalog>(std::move(catalog));
}

}  // namespace bgw::storage
