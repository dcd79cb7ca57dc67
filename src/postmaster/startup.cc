// The startup process; see startup.h.
#include "postmaster/startup.h"

#include <signal.h>

#include <ctime>

#include "common/log.h"
#include "ipc/proc_exit.h"
#include "postmaster/datadir.h"

namespace bgw {
namespace {

std::string FormatTime(long long t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  localtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm);
  return buf;
}

}  // namespace

void StartupProcessMain(const std::string& data_dir) {
  // A shutdown request while starting up simply ends the process (exit 1 is
  // a normal exit for the postmaster). The work below is short and keeps no
  // state that a termination could tear.
  signal(SIGTERM, [](int) { _exit(1); });
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_UNBLOCK, &term, nullptr);

  long long last_change = 0;
  Result<datadir::ClusterState> state = datadir::ReadControlState(data_dir, &last_change);
  if (!state.ok()) {
    log::EmitStatus(log::Level::kFatal, state.status());
    ProcExit(1);
  }
  switch (*state) {
    case datadir::ClusterState::kShutDown:
      BGW_LOG("database system was shut down at %s", FormatTime(last_change).c_str());
      break;
    case datadir::ClusterState::kShuttingDown:
      BGW_LOG("database system shutdown was interrupted; last known up at %s",
              FormatTime(last_change).c_str());
      BGW_LOG("database system was not properly shut down; automatic recovery in progress");
      break;
    case datadir::ClusterState::kInProduction:
      BGW_LOG("database system was interrupted; last known up at %s",
              FormatTime(last_change).c_str());
      BGW_LOG("database system was not properly shut down; automatic recovery in progress");
      break;
    case datadir::ClusterState::kUnknown:
      break;
  }
  if (Status s = datadir::WriteControlState(data_dir, datadir::ClusterState::kInProduction);
      !s.ok()) {
    log::EmitStatus(log::Level::kFatal, s);
    ProcExit(1);
  }
  ProcExit(0);
}

}  // namespace bgw
