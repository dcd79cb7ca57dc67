// BackgroundWorkerInitializeConnection[ByOid] (postmaster/bgworker.h): the
// checks of PostgreSQL's InitPostgres for a background worker, then the
// worker's SQL session (spi_internal.h) on the database's SQLite file.
//
// Order and messages are PostgreSQL 15's: the registration flag, the role
// (exists, may log in unless BGWORKER_BYPASS_ROLELOGINCHECK), then the
// database (exists, accepts connections unless BGWORKER_BYPASS_ALLOWCONN).
// Every failure is FATAL, as in PostgreSQL: the worker exits with status 1
// and the postmaster restarts it after bgw_restart_time. A second call is an
// ERROR (PostgreSQL has no explicit check; its InitPostgres must not run
// twice, so we say so instead of misbehaving).
#include <memory>
#include <optional>
#include <string>

#include "common/log.h"
#include "common/strutil.h"
#include "ipc/backend_status.h"
#include "postgres/miscadmin.h"
#include "postgres/postmaster/bgworker.h"
#include "postgres/utils/elog.h"
#include "spi/spi_internal.h"
#include "sql/session.h"
#include "storage/catalog.h"
#include "storage/catalog_cache.h"

namespace bgw::spi {
namespace {

bool connected = false;

void Fatal(int sqlerrcode, const std::string& message, PendingError* err) {
  CaptureOwn(FATAL, sqlerrcode, message.c_str(), nullptr, err);
}

// dbname/username may be null (then the OIDs are used; InvalidOid = none /
// the bootstrap superuser).
void ConnectImpl(const char* dbname, const char* username, Oid dboid, Oid useroid, uint32 flags,
                 PendingError* err) {
  std::string data_dir = DataDir != nullptr ? DataDir : ".";
  // The shared snapshot answers when it is current; else the catalog is
  // opened (and a failure to open it is FATAL, as before).
  storage::CatalogLookup catalog(data_dir);

  sql::SqlResult<std::optional<storage::RoleInfo>> role =
      username != nullptr     ? catalog.FindRole(std::string(username))
      : useroid != InvalidOid ? catalog.FindRole(static_cast<uint32_t>(useroid))
                              : catalog.FindRole(storage::kBootstrapSuperuserOid);
  if (!role.ok()) {
    Capture(role.error(), err);
    err->elevel = FATAL;
    return;
  }
  if (!role->has_value()) {
    Fatal(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
          username != nullptr ? StringPrintf("role \"%s\" does not exist", username)
                              : StringPrintf("role with OID %u does not exist", useroid),
          err);
    return;
  }
  const storage::RoleInfo& ri = **role;
  if (!ri.can_login && !(flags & BGWORKER_BYPASS_ROLELOGINCHECK)) {
    Fatal(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
          StringPrintf("role \"%s\" is not permitted to log in", ri.name.c_str()), err);
    return;
  }

  const bool attached = backend_status::Attached();
  if (dbname == nullptr && dboid == InvalidOid) {
    // Shared catalogs only: no database, so no session; SPI says so.
    if (attached) backend_status::ReportConnection(0, "", ri.oid, ri.name, "");
    log::SetSessionInfo(ri.name, "", "");
    connected = true;
    return;
  }
  auto db = dbname != nullptr ? catalog.FindDatabase(std::string(dbname))
                              : catalog.FindDatabase(static_cast<uint32_t>(dboid));
  if (!db.ok()) {
    Capture(db.error(), err);
    err->elevel = FATAL;
    return;
  }
  if (!db->has_value()) {
    Fatal(ERRCODE_UNDEFINED_DATABASE,
          dbname != nullptr ? StringPrintf("database \"%s\" does not exist", dbname)
                            : StringPrintf("database %u does not exist", dboid),
          err);
    return;
  }
  const storage::DatabaseInfo& di = **db;
  if (!di.allow_connections && !(flags & BGWORKER_BYPASS_ALLOWCONN)) {
    Fatal(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
          StringPrintf("database \"%s\" is not currently accepting connections", di.name.c_str()),
          err);
    return;
  }

  sql::SessionInfo info;
  info.database_oid = di.oid;
  info.database_name = di.name;
  info.database_path = storage::DatabaseFilePath(data_dir, di.oid);
  info.role_oid = ri.oid;
  info.role_name = ri.name;
  info.superuser = ri.superuser;
  info.data_dir = data_dir;
  if (attached) backend_status::ReportConnection(di.oid, di.name, ri.oid, ri.name, "");
  auto session = sql::Session::Open(info);
  if (!session.ok()) {
    Capture(session.error(), err);
    err->elevel = FATAL;
    return;
  }
  // A worker has no client: its NOTICEs and WARNINGs go to the server log
  // only (Open pointed them at the session's client queue).
  bgw_set_client_error_sink(nullptr);
  InstallSession(std::move(*session));
  MyDatabaseId = di.oid;
  log::SetSessionInfo(ri.name, di.name, "");
  connected = true;
}

void Connect(const char* dbname, const char* username, Oid dboid, Oid useroid, uint32 flags) {
  if (MyBgworkerEntry == nullptr ||
      !(MyBgworkerEntry->bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) {
    ereport(FATAL, errmsg("database connection requirement not indicated during registration"));
  }
  if (connected) {
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("BackgroundWorkerInitializeConnection may only be called once"));
  }
  PendingError err;
  ConnectImpl(dbname, username, dboid, useroid, flags, &err);
  RaiseIfSet(err);
}

}  // namespace
}  // namespace bgw::spi

extern "C" {

void BackgroundWorkerInitializeConnection(const char* dbname, const char* username, uint32 flags) {
  bgw::spi::Connect(dbname, username, InvalidOid, InvalidOid, flags);
}

void BackgroundWorkerInitializeConnectionByOid(Oid dboid, Oid useroid, uint32 flags) {
  bgw::spi::Connect(nullptr, nullptr, dboid, useroid, flags);
}

}  // extern "C"
