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
#include "sql/login.h"
#include "sql/session.h"
#include "storage/catalog.h"
#include "storage/catalog_cache.h"

namespace bgw::spi {
namespace {

bool connected = false;

// dbname/username may be null (then the OIDs are used; InvalidOid = none /
// the bootstrap superuser).
void ConnectImpl(const char* dbname, const char* username, Oid dboid, Oid useroid, uint32 flags,
                 PendingError* err) {
  std::string data_dir = DataDir != nullptr ? DataDir : ".";
  // The shared snapshot answers when it is current; else the catalog is
  // opened (and a failure to open it is FATAL, as before).
  storage::CatalogLookup catalog(data_dir);

  // PostgreSQL's InitPostgres checks (sql/login.h), with the worker's
  // bypass flags. Workers are not subject to connection limits here (they
  // never were: keep it so until supervision decides otherwise).
  const sql::login::Target who = username != nullptr ? sql::login::Target::Named(username)
                                 : useroid != InvalidOid
                                     ? sql::login::Target::WithOid(useroid)
                                     : sql::login::Target::WithOid(storage::kBootstrapSuperuserOid);
  auto found_role = sql::login::FindRole(catalog, who);
  if (!found_role.ok()) return Capture(found_role.error(), err);
  auto role =
      sql::login::AdmitRole(*found_role, who, (flags & BGWORKER_BYPASS_ROLELOGINCHECK) != 0);
  if (!role.ok()) return Capture(role.error(), err);
  const storage::RoleInfo& ri = *role;

  const bool attached = backend_status::Attached();
  if (dbname == nullptr && dboid == InvalidOid) {
    // Shared catalogs only: no database, so no session; SPI says so.
    if (attached) backend_status::ReportConnection(0, "", ri.oid, ri.name, "");
    log::SetSessionInfo(ri.name, "", "");
    connected = true;
    return;
  }
  const sql::login::Target which =
      dbname != nullptr ? sql::login::Target::Named(dbname) : sql::login::Target::WithOid(dboid);
  auto found_db = sql::login::FindDatabase(catalog, which);
  if (!found_db.ok()) return Capture(found_db.error(), err);
  auto db = sql::login::AdmitDatabase(*found_db, which, (flags & BGWORKER_BYPASS_ALLOWCONN) != 0);
  if (!db.ok()) return Capture(db.error(), err);
  const storage::DatabaseInfo& di = *db;

  sql::SessionInfo info = sql::login::SessionInfoFor(ri, di, data_dir);
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
  InstallSession(std::move(*session));  // Session::Open set MyDatabaseId
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
