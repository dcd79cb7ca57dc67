// Client backend entry; see backend.h.
#include "protocol/backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>

#include "common/log.h"
#include "common/strutil.h"
#include "guc/settings.h"
#include "ipc/pmdeath.h"
#include "ipc/pmsignal.h"
#include "ipc/proc_exit.h"
#include "port/process_title.h"
#include "protocol/startup.h"
#include "protocol/wire.h"

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

[[noreturn]] void Reject(protocol::Connection& conn, const char* sqlstate, const char* message) {
  log::Message m;
  m.level = log::Level::kFatal;
  m.sqlstate = sqlstate;
  m.text = message;
  log::Emit(m);
  (void)protocol::SendFatal(conn, sqlstate, message);
  ProcExit(1);
}

}  // namespace

void BackendMain(UniqueFd client, Admission admission, int child_slot) {
  (void)child_slot;  // sessions attach to their slot (client-connections work)
  // Until a session exists there is nothing to clean up: SIGTERM (fast
  // shutdown) ends the process at once, as PostgreSQL's startup-packet phase
  // does. SIGHUP is ignored until sessions read configuration.
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

  std::string peer = PeerDescription(client.get());
  process_title::Set("bgw: backend " + peer + " startup");
  protocol::Connection conn(std::move(client), pmdeath::ReadFd());
  protocol::StartupOptions opts;
  opts.deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(guc::authentication_timeout);
  protocol::StartupResult r = protocol::ProcessStartupPacket(conn, opts);
  switch (r.kind) {
    case protocol::StartupResult::Kind::kClose:
      ProcExit(0);
    case protocol::StartupResult::Kind::kCancel:
      // Sessions, and so queries to cancel, do not exist yet.
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
  process_title::Set("bgw: backend " + r.user + " " + r.database + " " + peer);
  // SQL sessions arrive with the client-connections work; until then the
  // client is told plainly, with the SQLSTATE for an unsupported feature.
  Reject(conn, "0A000", "SQL sessions are not supported by this server yet");
}

}  // namespace bgw
