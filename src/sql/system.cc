// The server's views and control functions on a session's SQLite
// connection; see system.h.
//
// Views are eponymous-only virtual tables (no CREATE VIRTUAL TABLE, nothing
// stored in the database file): each scan materializes its rows from shared
// memory or the catalog at xFilter, so one SELECT sees one snapshot. Column
// types are declared in the vtab schema (INT4, TEXT, TIMESTAMPTZ, ...) so
// sqlite3_column_decltype tells the engine which PostgreSQL type to present.
//
// Functions that fail report a ErrorReport through fmgr::ResultError, so the
// engine can send the SQLSTATE (TakeFunctionError).
#include "sql/system.h"

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/strutil.h"
#include "ipc/backend_status.h"
#include "ipc/notify.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/postmaster/bgworker.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"
#include "sql/fmgr_call.h"
#include "storage/catalog.h"
#include "workers/worker_slots.h"

namespace bgw::sql::system {
namespace {

Value TextOrNull(const std::string& s) { return s.empty() ? Value::Null() : Value::Text(s); }
Value IntOrNull(int64_t v, bool null) { return null ? Value::Null() : Value::Int(v); }

}  // namespace

// 'YYYY-MM-DD HH:MM:SS[.ffffff]+00', trailing fractional zeros dropped, as
// PostgreSQL prints a timestamptz with TimeZone UTC.
std::string FormatTimestamp(int64_t micros) {
  int64_t secs = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char f[8];
    std::snprintf(f, sizeof f, ".%06lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + "+00";
}

namespace {

Value TimeOrNull(int64_t micros) {
  return micros == 0 ? Value::Null() : Value::Text(FormatTimestamp(micros));
}

// ---- eponymous virtual tables --------------------------------------------

struct TableDef {
  const char* name;
  const char* schema;  // CREATE TABLE x(...) with declared types
  ViewRows rows;
};

// Every name AddView registered in this process (IsView).
std::set<std::string>& ViewNames() {
  static auto* names = new std::set<std::string>();
  return *names;
}

struct VTab {
  sqlite3_vtab base;  // first: SQLite hands us this pointer
  TableDef* def;
};

struct Cursor {
  sqlite3_vtab_cursor base;
  std::vector<Row> rows;
  size_t at = 0;
};

int VtConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  auto* def = static_cast<TableDef*>(aux);
  int rc = sqlite3_declare_vtab(db, def->schema);
  if (rc != SQLITE_OK) return rc;
  // Read-only and filtered by the session's privileges: safe to use from
  // views and triggers even with trusted_schema off.
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  auto* vt = new VTab{};
  vt->def = def;
  *out = &vt->base;
  return SQLITE_OK;
}

int VtDisconnect(sqlite3_vtab* vt) {
  delete reinterpret_cast<VTab*>(vt);
  return SQLITE_OK;
}

int VtBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1000;
  info->estimatedRows = 100;
  return SQLITE_OK;
}

int VtOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* c = new Cursor{};
  *out = &c->base;
  return SQLITE_OK;
}

int VtClose(sqlite3_vtab_cursor* c) {
  delete reinterpret_cast<Cursor*>(c);
  return SQLITE_OK;
}

int VtFilter(sqlite3_vtab_cursor* cur, int, const char*, int, sqlite3_value**) {
  auto* c = reinterpret_cast<Cursor*>(cur);
  auto* vt = reinterpret_cast<VTab*>(cur->pVtab);
  Result<std::vector<Row>> rows = vt->def->rows();
  c->at = 0;
  c->rows.clear();
  if (!rows.ok()) {
    sqlite3_free(vt->base.zErrMsg);
    vt->base.zErrMsg = sqlite3_mprintf("%s", rows.error().message.c_str());
    fmgr::KeepError(rows.error());  // its SQLSTATE, for the engine
    return SQLITE_ERROR;
  }
  c->rows = std::move(*rows);
  return SQLITE_OK;
}

int VtNext(sqlite3_vtab_cursor* cur) {
  reinterpret_cast<Cursor*>(cur)->at++;
  return SQLITE_OK;
}

int VtEof(sqlite3_vtab_cursor* cur) {
  auto* c = reinterpret_cast<Cursor*>(cur);
  return c->at >= c->rows.size() ? 1 : 0;
}

int VtColumn(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int col) {
  auto* c = reinterpret_cast<Cursor*>(cur);
  const Row& row = c->rows[c->at];
  if (col < 0 || static_cast<size_t>(col) >= row.size()) {
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  const Value& v = row[static_cast<size_t>(col)];
  switch (v.kind) {
    case Value::Kind::kNull:
      sqlite3_result_null(ctx);
      break;
    case Value::Kind::kInt:
      sqlite3_result_int64(ctx, v.i);
      break;
    case Value::Kind::kReal:
      sqlite3_result_double(ctx, v.d);
      break;
    case Value::Kind::kText:
      sqlite3_result_text(ctx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT);
      break;
    case Value::Kind::kBlob:
      sqlite3_result_blob(ctx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT);
      break;
  }
  return SQLITE_OK;
}

int VtRowid(sqlite3_vtab_cursor* cur, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(cur)->at);
  return SQLITE_OK;
}

// Eponymous-only: xCreate is NULL, so CREATE VIRTUAL TABLE ... USING
// pg_stat_activity is refused and the table exists under its module name.
const sqlite3_module kModule = {
    /* iVersion */ 0,
    /* xCreate */ nullptr,
    /* xConnect */ VtConnect,
    /* xBestIndex */ VtBestIndex,
    /* xDisconnect */ VtDisconnect,
    /* xDestroy */ VtDisconnect,
    /* xOpen */ VtOpen,
    /* xClose */ VtClose,
    /* xFilter */ VtFilter,
    /* xNext */ VtNext,
    /* xEof */ VtEof,
    /* xColumn */ VtColumn,
    /* xRowid */ VtRowid,
    /* xUpdate */ nullptr,
    /* xBegin */ nullptr,
    /* xSync */ nullptr,
    /* xCommit */ nullptr,
    /* xRollback */ nullptr,
    /* xFindFunction */ nullptr,
    /* xRename */ nullptr,
    /* xSavepoint */ nullptr,
    /* xRelease */ nullptr,
    /* xRollbackTo */ nullptr,
    /* xShadowName */ nullptr,
};

void DestroyTableDef(void* p) { delete static_cast<TableDef*>(p); }

// ---- row sources ------------------------------------------------------------

const char kStatActivitySchema[] =
    "CREATE TABLE x(datid OID, datname TEXT, pid INT4, leader_pid INT4, usesysid OID, "
    "usename TEXT, application_name TEXT, client_addr TEXT, client_hostname TEXT, "
    "client_port INT4, backend_start TIMESTAMPTZ, xact_start TIMESTAMPTZ, "
    "query_start TIMESTAMPTZ, state_change TIMESTAMPTZ, wait_event_type TEXT, "
    "wait_event TEXT, state TEXT, backend_xid TEXT, backend_xmin TEXT, query_id INT8, "
    "query TEXT, backend_type TEXT)";

Result<std::vector<Row>> StatActivityRows(const SessionInfo& info) {
  std::vector<Row> rows;
  for (const backend_status::Entry& e : backend_status::Snapshot()) {
    const bool client = e.backend_type == "client backend";
    const bool visible = info.superuser || (e.role_oid != 0 && e.role_oid == info.role_oid);
    Row r(22);
    r[0] = IntOrNull(e.database_oid, e.database_oid == 0);
    r[1] = e.database_oid == 0 ? Value::Null() : Value::Text(e.database_name);
    r[2] = Value::Int(e.pid);
    r[3] = Value::Null();
    r[4] = IntOrNull(e.role_oid, e.role_oid == 0);
    r[5] = e.role_oid == 0 ? Value::Null() : Value::Text(e.role_name);
    r[6] = Value::Text(e.application_name);
    r[21] = Value::Text(e.backend_type);
    if (!visible) {
      // PostgreSQL hides everything about the activity of other roles.
      r[20] = Value::Text("<insufficient privilege>");
      rows.push_back(std::move(r));
      continue;
    }
    r[7] = TextOrNull(e.client_addr);
    r[8] = Value::Null();
    r[9] = IntOrNull(e.client_port, !client);
    r[10] = TimeOrNull(e.backend_start);
    r[11] = TimeOrNull(e.xact_start);
    r[12] = TimeOrNull(e.query_start);
    r[13] = TimeOrNull(e.state_change);
    const char* wtype = pgstat_get_wait_event_type(e.wait_event_info);
    const char* wname = pgstat_get_wait_event(e.wait_event_info);
    r[14] = wtype != nullptr ? Value::Text(wtype) : Value::Null();
    r[15] = wname != nullptr ? Value::Text(wname) : Value::Null();
    const char* state = backend_status::StateName(e.state);
    r[16] = state != nullptr ? Value::Text(state) : Value::Null();
    r[17] = Value::Null();
    r[18] = Value::Null();
    r[19] = Value::Null();
    r[20] = Value::Text(e.query);
    rows.push_back(std::move(r));
  }
  return rows;
}

const char kWorkersSchema[] =
    "CREATE TABLE x(slot INT4, name TEXT, type TEXT, library TEXT, function TEXT, pid INT4, "
    "state TEXT, restart_seconds INT4, dynamic BOOL, notify_pid INT4)";

std::string Bounded(const char* s, size_t cap) { return std::string(s, strnlen(s, cap)); }

Result<std::vector<Row>> WorkerRows(const SessionInfo&) {
  std::vector<Row> rows;
  for (int i = 0; i < bgworker::NumSlots(); i++) {
    bgworker::WorkerSlot* slot = bgworker::Slot(i);
    if (slot == nullptr || !slot->in_use.load(std::memory_order_acquire)) continue;
    // The registration is published before in_use (see worker_slots.h);
    // copy it, then confirm the slot was not recycled meanwhile.
    uint64_t generation = slot->generation.load(std::memory_order_acquire);
    BackgroundWorker w;
    std::memcpy(&w, &slot->worker, sizeof w);
    pid_t pid = slot->pid.load(std::memory_order_acquire);
    if (!slot->in_use.load(std::memory_order_acquire) ||
        slot->generation.load(std::memory_order_acquire) != generation) {
      continue;
    }
    Row r(10);
    r[0] = Value::Int(i);
    r[1] = Value::Text(Bounded(w.bgw_name, BGW_MAXLEN));
    r[2] = Value::Text(Bounded(w.bgw_type, BGW_MAXLEN));
    r[3] = Value::Text(Bounded(w.bgw_library_name, BGW_MAXLEN));
    r[4] = Value::Text(Bounded(w.bgw_function_name, BGW_MAXLEN));
    r[5] = IntOrNull(pid, pid <= 0);
    r[6] = Value::Text(pid == bgworker::kNotStarted ? "starting" : pid > 0 ? "running" : "stopped");
    r[7] = Value::Int(w.bgw_restart_time);
    // Static registrations are published with generation 0; a dynamic one
    // bumps it (after a crash restart every survivor reads as static).
    r[8] = Value::Int(generation != 0 ? 1 : 0);
    r[9] = IntOrNull(w.bgw_notify_pid, w.bgw_notify_pid == 0);
    rows.push_back(std::move(r));
  }
  return rows;
}

// ---- functions --------------------------------------------------------------

const SessionInfo& Info(sqlite3_context* ctx) {
  return *static_cast<const SessionInfo*>(sqlite3_user_data(ctx));
}

void Warning(const std::string& message) { ereport(WARNING, errmsg("%s", message.c_str())); }

// Whether the target role is a superuser (role 0, a worker that never
// connected, counts as one, as PostgreSQL's InvalidOid does).
bool RoleIsSuperuser(const SessionInfo& info, uint32_t role_oid) {
  if (role_oid == 0) return true;
  auto catalog = storage::Catalog::Open(info.data_dir);
  if (!catalog.ok()) return true;  // unknown: the stricter answer
  auto role = (*catalog)->FindRole(role_oid);
  return !role.ok() || !role->has_value() || (*role)->superuser;
}

enum class SignalKind { kTerminate, kCancel };

void SignalBackend(sqlite3_context* ctx, int argc, sqlite3_value** argv, SignalKind kind) {
  const SessionInfo& info = Info(ctx);
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const pid_t pid = static_cast<pid_t>(sqlite3_value_int64(argv[0]));
  int64_t timeout_ms = 0;
  if (argc > 1 && sqlite3_value_type(argv[1]) != SQLITE_NULL) {
    timeout_ms = sqlite3_value_int64(argv[1]);
    if (timeout_ms < 0) {
      fmgr::ResultError(ctx, MakeError("22023", "\"timeout\" must not be negative"));
      return;
    }
  }
  std::optional<backend_status::Entry> target = backend_status::Find(pid);
  if (!target) {
    Warning(StringPrintf("PID %d is not a PostgreSQL server process", pid));
    sqlite3_result_int(ctx, 0);
    return;
  }
  const bool terminate = kind == SignalKind::kTerminate;
  // A non-superuser may signal its own role's processes (that role is not
  // a superuser, or the caller would be one).
  if (!info.superuser && target->role_oid != info.role_oid) {
    const char* what =
        terminate ? "permission denied to terminate process" : "permission denied to cancel query";
    if (RoleIsSuperuser(info, target->role_oid)) {
      fmgr::ResultError(
          ctx, MakeError("42501", what,
                         terminate ? "Only roles with the SUPERUSER attribute may terminate "
                                     "processes of roles with the SUPERUSER attribute."
                                   : "Only roles with the SUPERUSER attribute may cancel queries "
                                     "of roles with the SUPERUSER attribute."));
      return;
    }
    fmgr::ResultError(
        ctx, MakeError("42501", what,
                       terminate ? "Only roles with privileges of the role whose process is "
                                   "being terminated or with privileges of the "
                                   "\"pg_signal_backend\" role may terminate this backend."
                                 : "Only roles with privileges of the role whose query is "
                                   "being canceled or with privileges of the "
                                   "\"pg_signal_backend\" role may cancel this query."));
    return;
  }
  if (kill(pid, terminate ? SIGTERM : SIGINT) != 0) {
    Warning(StringPrintf("could not send signal to process %d: %s", pid, ErrnoText(errno).c_str()));
    sqlite3_result_int(ctx, 0);
    return;
  }
  if (terminate && timeout_ms > 0) {
    const int64_t deadline = backend_status::NowMicros() + timeout_ms * 1000;
    while (backend_status::Find(pid).has_value()) {
      if (backend_status::NowMicros() >= deadline) {
        Warning(StringPrintf("backend with PID %d did not terminate within %lld milliseconds", pid,
                             static_cast<long long>(timeout_ms)));
        sqlite3_result_int(ctx, 0);
        return;
      }
      usleep(10000);
    }
  }
  sqlite3_result_int(ctx, 1);
}

void TerminateBackendFn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  SignalBackend(ctx, argc, argv, SignalKind::kTerminate);
}
void CancelBackendFn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  SignalBackend(ctx, argc, argv, SignalKind::kCancel);
}

void ReloadConfFn(sqlite3_context* ctx, int, sqlite3_value**) {
  if (!Info(ctx).superuser) {
    fmgr::ResultError(ctx, MakeError("42501", "permission denied for function pg_reload_conf"));
    return;
  }
  pid_t postmaster = PostmasterPid > 0 ? PostmasterPid : getppid();
  if (kill(postmaster, SIGHUP) != 0) {
    Warning(StringPrintf("failed to send signal to postmaster: %s", ErrnoText(errno).c_str()));
    sqlite3_result_int(ctx, 0);
    return;
  }
  sqlite3_result_int(ctx, 1);
}

std::string ArgText(sqlite3_value* v) {
  const unsigned char* p = sqlite3_value_text(v);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p),
                                    static_cast<size_t>(sqlite3_value_bytes(v)))
                      : std::string();
}

void NotifyFn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    fmgr::ResultError(ctx, MakeError("22023", "channel name cannot be empty"));
    return;
  }
  std::string channel = ArgText(argv[0]);
  std::string payload = sqlite3_value_type(argv[1]) == SQLITE_NULL ? "" : ArgText(argv[1]);
  Status s = notify::Notify(channel, payload);
  if (!s.ok()) {
    fmgr::ResultError(ctx, s.error());
    return;
  }
  sqlite3_result_null(ctx);
}

// Registration and wait run through fmgr::CallGuarded: the bgworker API
// reports bad registrations and interrupts with ERROR.
struct LaunchCall {
  BackgroundWorker worker;
  bool registered;
  BgwHandleStatus status;
  pid_t pid;
};

void LaunchThunk(void* arg) {
  auto* call = static_cast<LaunchCall*>(arg);
  BackgroundWorkerHandle* handle = nullptr;
  call->registered = RegisterDynamicBackgroundWorker(&call->worker, &handle);
  if (call->registered) {
    call->status = WaitForBackgroundWorkerStartup(handle, &call->pid);
    pfree(handle);
  }
}

bool CopyName(char* dst, const std::string& src, const char* what, sqlite3_context* ctx) {
  if (src.size() >= BGW_MAXLEN) {
    fmgr::ResultError(ctx, MakeError("22023", StringPrintf("%s is too long (at most %d bytes)",
                                                           what, BGW_MAXLEN - 1)));
    return false;
  }
  std::memcpy(dst, src.c_str(), src.size() + 1);
  return true;
}

// bgw_launch_worker(library, function [, argument [, name [, type [, restart_seconds]]]])
void LaunchWorkerFn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (!Info(ctx).superuser) {
    fmgr::ResultError(ctx, MakeError("42501", "must be superuser to launch background workers"));
    return;
  }
  for (int i = 0; i < 2; i++) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      fmgr::ResultError(ctx, MakeError("22004", i == 0 ? "library name must not be null"
                                                       : "function name must not be null"));
      return;
    }
  }
  std::string library = ArgText(argv[0]);
  std::string function = ArgText(argv[1]);
  int64_t argument = argc > 2 ? sqlite3_value_int64(argv[2]) : 0;
  std::string name = argc > 3 && sqlite3_value_type(argv[3]) != SQLITE_NULL
                         ? ArgText(argv[3])
                         : StringPrintf("%s %s", library.c_str(), function.c_str());
  std::string type =
      argc > 4 && sqlite3_value_type(argv[4]) != SQLITE_NULL ? ArgText(argv[4]) : name;
  int64_t restart = argc > 5 && sqlite3_value_type(argv[5]) != SQLITE_NULL
                        ? sqlite3_value_int64(argv[5])
                        : BGW_NEVER_RESTART;
  if (restart < BGW_NEVER_RESTART || restart > INT32_MAX) {
    fmgr::ResultError(ctx, MakeError("22023", "restart_seconds must be -1 (never) or at least 0"));
    return;
  }
  auto* call = new LaunchCall{};
  std::unique_ptr<LaunchCall> owner(call);
  if (!CopyName(call->worker.bgw_library_name, library, "library name", ctx) ||
      !CopyName(call->worker.bgw_function_name, function, "function name", ctx) ||
      !CopyName(call->worker.bgw_name, name, "worker name", ctx) ||
      !CopyName(call->worker.bgw_type, type, "worker type", ctx)) {
    return;
  }
  call->worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
  call->worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  call->worker.bgw_restart_time = static_cast<int>(restart);
  call->worker.bgw_main_arg = Int64GetDatum(argument);
  call->worker.bgw_notify_pid = MyProcPid > 0 ? MyProcPid : getpid();
  if (std::optional<ErrorReport> e = fmgr::CallGuarded(LaunchThunk, call)) {
    fmgr::ResultError(ctx, std::move(*e));
    return;
  }
  if (!call->registered) {
    fmgr::ResultError(ctx, MakeError("53000", "could not register background worker", "",
                                     "Consider increasing the configuration parameter "
                                     "\"max_worker_processes\"."));
    return;
  }
  switch (call->status) {
    case BGWH_STARTED:
      sqlite3_result_int64(ctx, call->pid);
      return;
    case BGWH_POSTMASTER_DIED:
      fmgr::ResultError(ctx, MakeError("55000",
                                       "cannot start background processes without "
                                       "postmaster",
                                       "Kill all remaining database processes and restart the "
                                       "database."));
      return;
    default:
      fmgr::ResultError(ctx, MakeError("55000",
                                       StringPrintf("background worker \"%s\" stopped "
                                                    "before it started",
                                                    name.c_str()),
                                       "", "Check the server log for the worker's errors."));
      return;
  }
}

void TerminateWorkerFn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (!Info(ctx).superuser) {
    fmgr::ResultError(ctx, MakeError("42501", "must be superuser to terminate background workers"));
    return;
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const pid_t pid = static_cast<pid_t>(sqlite3_value_int64(argv[0]));
  int found = -1;
  if (pid > 0) {
    // What TerminateBackgroundWorker does through a handle, for the slot
    // whose current worker has this pid (checked again under the lock).
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGQUIT);
    sigprocmask(SIG_BLOCK, &all, &old);
    {
      bgworker::RegistrantsLock lock;
      for (int i = 0; i < bgworker::NumSlots(); i++) {
        bgworker::WorkerSlot* slot = bgworker::Slot(i);
        if (slot->in_use.load(std::memory_order_acquire) &&
            slot->pid.load(std::memory_order_acquire) == pid) {
          slot->terminate.store(true, std::memory_order_release);
          found = i;
          break;
        }
      }
    }
    if (found >= 0) bgworker::NotifyPostmaster(found);
    sigprocmask(SIG_SETMASK, &old, nullptr);
  }
  sqlite3_result_int(ctx, found >= 0 ? 1 : 0);
}

// SQLITE_DIRECTONLY: side effects only from statements a client sent,
// never from a trigger or view stored in the database file.
constexpr int kDirect = SQLITE_DIRECTONLY;
const builtins::Function kFunctions[] = {
    {"pg_terminate_backend", 1, oid::kBool, kDirect, TerminateBackendFn},
    {"pg_terminate_backend", 2, oid::kBool, kDirect, TerminateBackendFn},
    {"pg_cancel_backend", 1, oid::kBool, kDirect, CancelBackendFn},
    {"pg_reload_conf", 0, oid::kBool, kDirect, ReloadConfFn},
    {"pg_notify", 2, oid::kVoid, kDirect, NotifyFn},
    {"bgw_launch_worker", 2, oid::kInt4, kDirect, LaunchWorkerFn},
    {"bgw_launch_worker", 3, oid::kInt4, kDirect, LaunchWorkerFn},
    {"bgw_launch_worker", 4, oid::kInt4, kDirect, LaunchWorkerFn},
    {"bgw_launch_worker", 5, oid::kInt4, kDirect, LaunchWorkerFn},
    {"bgw_launch_worker", 6, oid::kInt4, kDirect, LaunchWorkerFn},
    {"bgw_terminate_worker", 1, oid::kBool, kDirect, TerminateWorkerFn},
};

Status RequireSuperuserForC(const SessionInfo& info) {
  if (!info.superuser) return MakeError("42501", "permission denied for language c");
  return Status::Ok();
}

}  // namespace

Status AddView(sqlite3* db, const char* name, const char* schema, ViewRows rows) {
  auto* def = new TableDef{name, schema, std::move(rows)};
  if (sqlite3_create_module_v2(db, name, &kModule, def, DestroyTableDef) != SQLITE_OK) {
    return MakeError("XX000", StringPrintf("could not register %s: %s", name, sqlite3_errmsg(db)));
  }
  ViewNames().insert(name);
  return Status::Ok();
}

std::span<const builtins::Function> Functions() { return kFunctions; }

bool IsView(std::string_view name) { return ViewNames().count(std::string(name)) != 0; }

Status Register(sqlite3* db, const SessionInfo& info) {
  if (Status s = AddView(db, "pg_stat_activity", kStatActivitySchema,
                         [&info] { return StatActivityRows(info); });
      !s.ok()) {
    return s;
  }
  if (Status s = AddView(db, "bgw_workers", kWorkersSchema, [&info] { return WorkerRows(info); });
      !s.ok()) {
    return s;
  }
  if (Status s = builtins::Register(db, kFunctions, const_cast<SessionInfo*>(&info)); !s.ok()) {
    return s;
  }
  Result<std::vector<fmgr::CFunction>> remembered = fmgr::LoadAll(db);
  if (!remembered.ok()) {
    Warning(remembered.error().message);
    return Status::Ok();
  }
  // Bound by name only: each library is loaded at its functions' first
  // call (PostgreSQL's behaviour), so a session that never calls them never
  // loads them, and a missing library is the calling statement's error.
  for (const fmgr::CFunction& f : *remembered) {
    if (Status s = fmgr::Bind(db, f, nullptr); !s.ok()) Warning(s.error().message);
  }
  return Status::Ok();
}

Status CreateCFunction(sqlite3* db, const SessionInfo& info, std::string_view statement) {
  Result<fmgr::CreateSpec> spec = fmgr::ParseCreateFunction(statement);
  if (!spec.ok()) return spec.error();
  if (Status s = RequireSuperuserForC(info); !s.ok()) return s;
  fmgr::CFunction& f = spec->function;
  f.owner = info.role_oid;
  Result<std::vector<fmgr::CFunction>> existing = fmgr::LoadAll(db);
  if (!existing.ok()) return existing.error();
  // The argument counts a function can be called with (its defaults may be
  // left out): SQLite tells functions apart by that count alone.
  const auto lowest = [](const fmgr::CFunction& c) {
    return c.arg_types.size() - c.defaults.size();
  };
  const fmgr::CFunction* replaced = nullptr;
  for (const fmgr::CFunction& e : *existing) {
    if (e.name != f.name) continue;
    if (e.arg_types.size() != f.arg_types.size()) {
      if (lowest(e) <= f.arg_types.size() && lowest(f) <= e.arg_types.size()) {
        return MakeError("0A000",
                         "function " + fmgr::Signature(e.name, e.arg_types) +
                             " can be called with the same number of arguments",
                         "", "Functions are told apart by argument count here, defaults included.");
      }
      continue;
    }
    replaced = &e;
    if (!spec->or_replace) {
      return MakeError("42723", "function " + fmgr::Signature(f.name, f.arg_types) +
                                    " already exists with same argument types");
    }
    // OR REPLACE keeps the owner and the privileges, as PostgreSQL does.
    f.owner = e.owner;
    f.acl = e.acl;
    if (e.arg_types != f.arg_types || e.return_type != f.return_type) {
      if (e.return_type != f.return_type && e.arg_types == f.arg_types) {
        return MakeError("42P13", "cannot change return type of existing function", "",
                         "Use DROP FUNCTION " + fmgr::Signature(f.name, f.arg_types) + " first.");
      }
      // Same arity, other argument types: SQLite overloads by arity only.
      return MakeError("0A000",
                       "function " + fmgr::Signature(e.name, e.arg_types) +
                           " already exists with the same number of arguments",
                       "", "Drop it first: functions are told apart by argument count here.");
    }
  }
  Result<void*> fn = fmgr::Resolve(f);
  if (!fn.ok()) return fn.error();
  if (Status s = fmgr::Store(db, f); !s.ok()) return s;
  if (replaced != nullptr) fmgr::Unbind(db, *replaced);  // it may have had other defaults
  return fmgr::Bind(db, f, *fn);
}

Status DropFunction(sqlite3* db, const SessionInfo& info, std::string_view statement) {
  Result<fmgr::DropSpec> spec = fmgr::ParseDropFunction(statement);
  if (!spec.ok()) return spec.error();
  Result<std::vector<fmgr::CFunction>> existing = fmgr::LoadAll(db);
  if (!existing.ok()) return existing.error();
  std::vector<const fmgr::CFunction*> matches;
  for (const fmgr::CFunction& e : *existing) {
    if (e.name != spec->name) continue;
    if (spec->arg_types && *spec->arg_types != e.arg_types) continue;
    matches.push_back(&e);
  }
  const std::string shown =
      spec->arg_types ? fmgr::Signature(spec->name, *spec->arg_types) : spec->name;
  if (matches.empty()) {
    if (spec->if_exists) {
      ereport(NOTICE, errmsg("function %s does not exist, skipping",
                             spec->arg_types ? shown.c_str() : (shown + "()").c_str()));
      return Status::Ok();
    }
    if (!spec->arg_types) {
      return MakeError("42883", "could not find a function named \"" + spec->name + "\"");
    }
    return MakeError("42883", "function " + shown + " does not exist");
  }
  if (matches.size() > 1) {
    return MakeError("42725", "function name \"" + spec->name + "\" is not unique", "",
                     "Specify the argument list to select the function unambiguously.");
  }
  if (!info.superuser) {
    return MakeError("42501", "must be owner of function " + spec->name);
  }
  const fmgr::CFunction& f = *matches[0];
  const int nargs = static_cast<int>(f.arg_types.size());
  if (Status s = fmgr::Remove(db, f.name, nargs); !s.ok()) return s;
  fmgr::Unbind(db, f);
  return Status::Ok();
}

std::optional<ErrorReport> TakeFunctionError() { return fmgr::TakeError(); }

}  // namespace bgw::sql::system
