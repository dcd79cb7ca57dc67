// Session admission checks; see login.h.
#include "sql/login.h"

#include "common/strutil.h"
#include "ipc/backend_status.h"

namespace bgw::sql::login {
namespace {

ErrorReport Fatal(std::string sqlstate, std::string message) {
  ErrorReport e = MakeError(std::move(sqlstate), std::move(message));
  e.severity = "FATAL";
  return e;
}

// A catalog that cannot be read ends the attempt: nothing can be checked.
template <typename T>
Result<T> FatalOnError(Result<T> r) {
  if (!r.ok()) {
    ErrorReport e = r.error();
    e.severity = "FATAL";
    return e;
  }
  return r;
}

}  // namespace

Result<std::optional<storage::RoleInfo>> FindRole(storage::CatalogLookup& catalog,
                                                  const Target& who) {
  return FatalOnError(who.name.empty() ? catalog.FindRole(who.oid) : catalog.FindRole(who.name));
}

Result<std::optional<storage::DatabaseInfo>> FindDatabase(storage::CatalogLookup& catalog,
                                                          const Target& which) {
  return FatalOnError(which.name.empty() ? catalog.FindDatabase(which.oid)
                                         : catalog.FindDatabase(which.name));
}

Result<storage::RoleInfo> AdmitRole(const std::optional<storage::RoleInfo>& role, const Target& who,
                                    bool bypass_login_check) {
  if (!role.has_value()) {
    return Fatal("28000", who.name.empty()
                              ? StringPrintf("role with OID %u does not exist", who.oid)
                              : StringPrintf("role \"%s\" does not exist", who.name.c_str()));
  }
  if (!role->can_login && !bypass_login_check) {
    return Fatal("28000",
                 StringPrintf("role \"%s\" is not permitted to log in", role->name.c_str()));
  }
  return *role;
}

Result<storage::DatabaseInfo> AdmitDatabase(const std::optional<storage::DatabaseInfo>& db,
                                            const Target& which, bool bypass_allow_connections) {
  if (!db.has_value()) {
    return Fatal("3D000", which.name.empty()
                              ? StringPrintf("database %u does not exist", which.oid)
                              : StringPrintf("database \"%s\" does not exist", which.name.c_str()));
  }
  if (!db->allow_connections && !bypass_allow_connections) {
    return Fatal("55000", StringPrintf("database \"%s\" is not currently accepting connections",
                                       db->name.c_str()));
  }
  return *db;
}

Status CheckRoleConnectionLimit(const storage::RoleInfo& role) {
  if (!role.superuser && role.connection_limit >= 0 &&
      backend_status::CountBackendsOfRole(role.oid) > role.connection_limit) {
    return Fatal("53300", StringPrintf("too many connections for role \"%s\"", role.name.c_str()));
  }
  return Status::Ok();
}

Status CheckDatabaseConnectionLimit(const storage::RoleInfo& role,
                                    const storage::DatabaseInfo& db) {
  if (!role.superuser && db.connection_limit >= 0 &&
      backend_status::CountBackendsInDatabase(db.oid) > db.connection_limit) {
    return Fatal("53300",
                 StringPrintf("too many connections for database \"%s\"", db.name.c_str()));
  }
  return Status::Ok();
}

SessionInfo SessionInfoFor(const storage::RoleInfo& role, const storage::DatabaseInfo& db,
                           const std::string& data_dir) {
  SessionInfo info;
  info.database_oid = db.oid;
  info.database_name = db.name;
  info.database_path = storage::DatabaseFilePath(data_dir, db.oid);
  info.role_oid = role.oid;
  info.role_name = role.name;
  info.superuser = role.superuser;
  info.data_dir = data_dir;
  return info;
}

}  // namespace bgw::sql::login
