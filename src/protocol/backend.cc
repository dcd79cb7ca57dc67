// Client backend entry; see backend.h.
#include "protocol/backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>

#include "common/log.h"
#include "common/strutil.h"
#include "guc/settings.h"
#include "ipc/backend_status.h"
#include "ipc/pmdeath.h"
#include "ipc/pmsignal.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/signals.h"
#include "port/process_title.h"
#include "postgres/libpq/pqsignal.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/latch.h"
#include "protocol/auth.h"
#include "protocol/messages.h"
#include "protocol/query_loop.h"
#include "protocol/startup_packet.h"
#include "protocol/wire.h"
#include "sql/login.h"
#include "sql/session.h"
#include "storage/catalog.h"
#include "storage/catalog_cache.h"

namespace bgw {
namespace {

// "[local]" or "host(port)", PostgreSQL's notation for ps and logs.
std::string PeerDescription(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "[unknown]";
  char host[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
    return StringPrintf("%s(%d)", host, ntohs(sin->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
    return StringPrintf("%s(%d)", host, ntohs(sin6->sin6_port));
  }
  return "[local]";
}

// The peer as backend_status and pg_stat_activity show it: address and
// port for TCP, ("", -1) for a Unix-domain socket.
struct Peer {
  bool is_unix = true;
  sockaddr_storage addr{};
  std::string host;
  int port = -1;
};

Peer PeerOf(int fd) {
  Peer p;
  socklen_t len = sizeof p.addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&p.addr), &len) != 0) return p;
  char host[INET6_ADDRSTRLEN] = "";
  if (p.addr.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&p.addr);
    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
    p.port = ntohs(sin->sin_port);
    p.is_unix = false;
  } else if (p.addr.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&p.addr);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
    p.port = ntohs(sin6->sin6_port);
    p.is_unix = false;
  }
  p.host = host;
  return p;
}

[[noreturn]] void Reject(protocol::Connection& conn, std::string_view sqlstate,
                         std::string_view message, std::string_view detail = {},
                         std::string_view hint = {}) {
  log::Message m;
  m.level = log::Level::kFatal;
  m.sqlstate = std::string(sqlstate);
  m.text = std::string(message);
  m.detail = std::string(detail);
  m.hint = std::string(hint);
  log::Emit(m);
  (void)protocol::SendFatal(conn, sqlstate, message, detail, hint);
  ProcExit(1);
}

[[noreturn]] void RejectWith(protocol::Connection& conn, const ErrorReport& e) {
  Reject(conn, e.sqlstate, e.message, e.detail, e.hint);
}

// From here on the process is a session: PostgreSQL's client-backend
// handlers, which only set flags and the latch (ipc/signals.cc has
// them; the loop in protocol/query_loop.cc acts on the flags).
void InstallSessionSignalHandlers() {
  pqinitmask();
  pqsignal(SIGINT, StatementCancelHandler);
  pqsignal(SIGTERM, die);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGUSR1, procsignal_sigusr1_handler);
  pqsignal(SIGUSR2, SIG_IGN);
  pqsignal(SIGPIPE, SIG_IGN);
  pqsignal(SIGCHLD, SIG_DFL);
  sigprocmask(SIG_SETMASK, &UnBlockSig, nullptr);
}

// PostgreSQL's order of settings at startup: the "options" switches first,
// then the other packet parameters.
Result<std::vector<std::pair<std::string, std::string>>> StartupSettings(
    const protocol::StartupResult& r) {
  auto settings = protocol::ParseStartupOptions(r.options);
  if (!settings.ok()) return settings;
  for (const auto& [name, value] : r.params) {
    if (name == "application_name") continue;  // SessionInfo carries it (sanitized)
    settings->emplace_back(name, value);
  }
  return settings;
}

// Authentication, then the role checks of PostgreSQL's InitPostgres
// (sql/login.h): the role exists and may log in. Runs before the process
// takes anything in shared memory (it only reads the catalog snapshot; see
// BackendMain). Ends the process on any failure, after the FATAL answer.
storage::RoleInfo AuthenticateRole(protocol::Connection& conn, storage::CatalogLookup& catalog,
                                   const protocol::StartupResult& r, const Peer& peer,
                                   protocol::Deadline deadline) {
  const sql::login::Target who = sql::login::Target::Named(r.user);
  auto role = sql::login::FindRole(catalog, who);
  if (!role.ok()) RejectWith(conn, role.error());

  protocol::ClientInfo client;
  client.is_unix = peer.is_unix;
  client.addr = peer.addr;
  client.user = r.user;
  client.database = r.database;
  // On failure Authenticate has answered and logged. It runs whether or
  // not the role exists, so a client cannot tell which names exist.
  if (!protocol::Authenticate(conn, client, *role, deadline)) ProcExit(1);

  auto admitted = sql::login::AdmitRole(*role, who, /*bypass_login_check=*/false);
  if (!admitted.ok()) RejectWith(conn, admitted.error());
  return std::move(*admitted);
}

// The rest of InitPostgres's checks, in its order, once this backend is
// visible in backend_status (the counts include it): the role's connection
// limit, then the database (exists, accepts connections, its limit).
// Returns the SessionInfo to open.
sql::SessionInfo CheckConnection(protocol::Connection& conn, storage::CatalogLookup& catalog,
                                 const protocol::StartupResult& r, const storage::RoleInfo& ri,
                                 const std::string& data_dir) {
  backend_status::ReportConnection(0, "", ri.oid, ri.name, r.application_name);
  if (auto s = sql::login::CheckRoleConnectionLimit(ri); !s.ok()) RejectWith(conn, s.error());

  const sql::login::Target which = sql::login::Target::Named(r.database);
  auto found = sql::login::FindDatabase(catalog, which);
  if (!found.ok()) RejectWith(conn, found.error());
  auto db = sql::login::AdmitDatabase(*found, which, /*bypass_allow_connections=*/false);
  if (!db.ok()) RejectWith(conn, db.error());
  backend_status::ReportConnection(db->oid, db->name, ri.oid, ri.name, r.application_name);
  if (auto s = sql::login::CheckDatabaseConnectionLimit(ri, *db); !s.ok()) {
    RejectWith(conn, s.error());
  }

  sql::SessionInfo info = sql::login::SessionInfoFor(ri, *db, data_dir);
  info.application_name = r.application_name;
  auto settings = StartupSettings(r);
  if (!settings.ok()) RejectWith(conn, settings.error());
  info.startup_settings = std::move(*settings);
  return info;
}

}  // namespace

void BackendMain(UniqueFd client, Admission admission, int child_slot) {
  // Until a session exists there is nothing to clean up: SIGTERM (fast
  // shutdown) ends the process at once, as PostgreSQL's startup-packet phase
  // does. SIGHUP is ignored until the session reads configuration.
  signal(SIGTERM, [](int) {
    // Nothing in shared memory is touched in this phase: a clean exit, and
    // the child slot says so (else the postmaster would see a crash).
    pmsignal::MarkChildInactive();
    _exit(1);
  });
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);

  Peer peer = PeerOf(client.get());
  std::string peer_text = PeerDescription(client.get());
  process_title::Set("bgw: backend " + peer_text + " startup");
  protocol::Connection conn(std::move(client), pmdeath::ReadFd());
  protocol::StartupOptions opts;
  opts.deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(guc::authentication_timeout);
  protocol::StartupResult r = protocol::ProcessStartupPacket(conn, opts);
  switch (r.kind) {
    case protocol::StartupResult::Kind::kClose:
      ProcExit(0);
    case protocol::StartupResult::Kind::kCancel:
      // A dead-end backend has no shared memory to look the target up in.
      // A wrong key is ignored silently, as PostgreSQL does.
      if (child_slot >= 0 && r.cancel_pid != 0) {
        (void)backend_status::SignalCancel(static_cast<pid_t>(r.cancel_pid), r.cancel_key);
      }
      ProcExit(0);
    case protocol::StartupResult::Kind::kStartup:
      break;
  }
  log::SetSessionInfo(r.user, r.database, r.application_name);
  switch (admission) {
    case Admission::kStartup:
      Reject(conn, "57P03", "the database system is starting up");
    case Admission::kShutdown:
      Reject(conn, "57P03", "the database system is shutting down");
    case Admission::kRecovery:
      Reject(conn, "57P03", "the database system is in recovery mode");
    case Admission::kTooMany:
      Reject(conn, "53300", "sorry, too many clients already");
    case Admission::kOk:
      break;
  }
  if (r.replication != protocol::ReplicationMode::kNone) {
    Reject(conn, "0A000", "replication connections are not supported");
  }

  // Authentication waits on the client, for up to authentication_timeout:
  // it runs before anything in shared memory is ours, while SIGTERM still
  // ends the process at once. The lookups are answered from the shared
  // catalog snapshot when it is current, read without a lock; only when it
  // is stale is global/catalog.db opened (SQLite: its locks die with us) and
  // the snapshot republished, with signals blocked (see catalog_cache.h).
  std::string data_dir = DataDir != nullptr ? DataDir : ".";
  std::optional<storage::CatalogLookup> catalog(std::in_place, data_dir);
  storage::RoleInfo role = AuthenticateRole(conn, *catalog, r, peer, opts.deadline);

  // Shared state next: the proc slot (latch) and the activity entry, so the
  // session is visible and cancellable from here on. SIGTERM is held off
  // until the session's handlers are in place: from then on it is a flag
  // the loop acts on (57P01), and exit callbacks release what we took.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, nullptr);
  MyBackendType = B_BACKEND;
  InitializeLatchSupport();
  proc::AttachChild(child_slot, "client backend", "");
  uint32_t cancel_key = backend_status::BeginClientBackend(child_slot, peer.host, peer.port);
  InstallSessionSignalHandlers();  // unblocks SIGTERM

  sql::SessionInfo info = CheckConnection(conn, *catalog, r, role, data_dir);
  catalog.reset();
  process_title::Set("bgw: backend " + r.user + " " + r.database + " " + peer_text);

  auto opened = sql::Session::Open(info);
  if (!opened.ok()) RejectWith(conn, opened.error());
  std::unique_ptr<sql::Session> session = std::move(*opened);

  protocol::MessageWriter& out = conn.Out();
  out.AuthenticationOk();
  for (const auto& [name, value] : session->InitialReportedSettings()) {
    out.ParameterStatus(name, value);
  }
  out.BackendKeyData(static_cast<uint32_t>(getpid()), cancel_key);

  protocol::SessionEnd end = protocol::RunSession(conn, *session);
  // Closing the session rolls back whatever transaction is still open.
  session.reset();
  ProcExit(end == protocol::SessionEnd::kTerminate || end == protocol::SessionEnd::kClientGone ? 0
                                                                                               : 1);
}

}  // namespace bgw
