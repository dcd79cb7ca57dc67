// Who may open a session where: the checks of PostgreSQL's InitPostgres
// (InitializeSessionUserId, then CheckMyDatabase), written once for both
// kinds of session.
//
// Client backends (protocol/backend.cc) call them after authentication;
// workers' BackgroundWorkerInitializeConnection[ByOid] (spi/connection.cc)
// call them with the worker's bypass flags. Every failure is FATAL with
// PostgreSQL's SQLSTATE and wording; the caller reports it its own way (an
// ErrorResponse, or an ereport from the worker).
//
// The database's CONNECT privilege is checked when the session opens
// (Session::Open), because it needs the database's own ACL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "sql/session.h"
#include "storage/catalog.h"
#include "storage/catalog_cache.h"

namespace bgw::sql::login {

// A role or database as the caller named it: by name, or (name empty) by
// OID. Only the error messages tell the two apart.
struct Target {
  std::string name;
  uint32_t oid = 0;

  static Target Named(std::string n) { return Target{std::move(n), 0}; }
  static Target WithOid(uint32_t o) { return Target{{}, o}; }
};

// The catalog's answer for `who`. A failure to read the catalog is FATAL.
Result<std::optional<storage::RoleInfo>> FindRole(storage::CatalogLookup& catalog,
                                                  const Target& who);
Result<std::optional<storage::DatabaseInfo>> FindDatabase(storage::CatalogLookup& catalog,
                                                          const Target& which);

// The role exists and may log in (28000 otherwise). `bypass_login_check`
// is BGWORKER_BYPASS_ROLELOGINCHECK.
Result<storage::RoleInfo> AdmitRole(const std::optional<storage::RoleInfo>& role, const Target& who,
                                    bool bypass_login_check);

// The database exists (3D000) and accepts connections (55000).
// `bypass_allow_connections` is BGWORKER_BYPASS_ALLOWCONN.
Result<storage::DatabaseInfo> AdmitDatabase(const std::optional<storage::DatabaseInfo>& db,
                                            const Target& which, bool bypass_allow_connections);

// The role's and the database's connection limits (53300), counted in
// backend_status, which must already include the caller. Superusers are
// exempt.
Status CheckRoleConnectionLimit(const storage::RoleInfo& role);
Status CheckDatabaseConnectionLimit(const storage::RoleInfo& role, const storage::DatabaseInfo& db);

// The SessionInfo that opens a session of `role` in `db`.
SessionInfo SessionInfoFor(const storage::RoleInfo& role, const storage::DatabaseInfo& db,
                           const std::string& data_dir);

}  // namespace bgw::sql::login
