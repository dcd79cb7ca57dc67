// The postmaster's event loop, child table and state machine; see postmaster.h
// and docs/architecture.md for the states and who owns what.
#include "postmaster/postmaster.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include "common/log.h"
#include "common/status.h"
#include "common/strutil.h"
#include "fmgr/dynamic_loader.h"
#include "guc/guc.h"
#include "guc/settings.h"
#include "ipc/addin_shmem.h"
#include "ipc/backend_status.h"
#include "ipc/dsm.h"
#include "ipc/lwlock.h"
#include "ipc/notify.h"
#include "ipc/pmdeath.h"
#include "ipc/pmsignal.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "port/install_layout.h"
#include "port/process_title.h"
#include "port/unique_fd.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/ipc.h"
#include "postgres/utils/guc.h"
#include "postmaster/child.h"
#include "postmaster/datadir.h"
#include "postmaster/listen.h"
#include "postmaster/lockfile.h"
#include "postmaster/registry.h"
#include "postmaster/startup.h"
#include "postmaster/wal_index_pins.h"
#include "protocol/auth.h"
#include "protocol/backend.h"
#include "storage/catalog.h"
#include "storage/catalog_cache.h"
#include "workers/worker_main.h"
#include "workers/worker_slots.h"

namespace bgw {
namespace {

using Clock = std::chrono::steady_clock;

// How long children get after SIGQUIT (crash, immediate shutdown) or after
// SIGTERM at a shutdown before they are sent SIGKILL. PostgreSQL waits 5 s
// after SIGQUIT (SIGKILL_CHILDREN_AFTER_SECS); we apply the same bound to
// children that ignore SIGTERM during shutdown.
constexpr auto kKillTimeout = std::chrono::seconds(5);
constexpr auto kWalIndexRetryDelay = std::chrono::milliseconds(100);
constexpr int kWalIndexRetries = 20;
// Connections accepted per listen-socket wake-up before the loop looks at
// other events again: a connection flood cannot starve signals or exits.
constexpr int kMaxAcceptsPerWakeup = 64;

// Server states, in PostgreSQL's order (pmState). The standby states are
// reserved for the hot standby issue.
enum class PmState {
  kInit,
  kStartup,       // startup process running
  kRecovery,      // reserved: standby, not yet consistent
  kHotStandby,    // reserved: standby, consistent, read-only
  kRun,           // normal operation
  kStopBackends,  // about to send SIGTERM to every child
  kWaitBackends,  // waiting for children attached to shared memory to exit
  kWaitDeadEnd,   // waiting for dead-end backends
  kNoChildren,    // every child is gone
};

enum class Shutdown { kNone = 0, kSmart = 1, kFast = 2, kImmediate = 3 };

struct Child {
  pid_t pid;
  ChildKind kind;
  int child_slot;        // -1 when not attached to shared memory
  int worker_slot = -1;  // background workers: their registry slot
};

enum EventTag : uint64_t { kTagSignal = 0, kTagTimer = 1, kTagListenBase = 2 };

class Postmaster {
 public:
  explicit Postmaster(const PostmasterOptions& options) : options_(options) {}
  int Run();

 private:
  Status Initialize();
  Status CreateSharedMemory();
  void ApplyLogSettings();
  void Loop();
  void HandleSignal(const signalfd_siginfo& info);
  void ProcessPending();
  void ReloadConfiguration();
  void ReapChildren();
  void HandleChildExit(const Child& child, int status);
  void HandleChildCrash(const Child& child, int status);
  void LogChildExit(log::Level level, const Child& child, int status);
  void StateMachine();
  void Reinitialize();
  void AcceptConnections(size_t listen_index);
  void LaunchStartupProcess();
  Result<pid_t> LaunchWorker(int worker_slot, const BackgroundWorker& worker);
  bgworker::StartPhase WorkerStartPhase() const;
  void WriteStatusFile();

 public:
  // Removes postmaster.pid and the Unix sockets (the exit path of a FATAL).
  void RemoveFilesAtExit() {
    listen_.reset();
    pid_file_.reset();
  }

 private:
  void LaunchBackend(UniqueFd client, Admission admission);
  void SignalChildren(int sig, bool include_dead_end);
  void SetKillDeadline();
  void ArmTimer();
  void NoteWalIndexResult(bool all_held);
  void SetPidFileStatus(const char* status);
  size_t CountChildren(ChildKind kind) const;
  bool AnyChildExceptDeadEnd() const;
  Admission CanAcceptConnection() const;
  const char* ProcessDescription(ChildKind kind) const;

  PostmasterOptions options_;
  std::optional<LockFile> pid_file_;
  std::unique_ptr<ListenSet> listen_;
  UniqueFd epoll_, signal_fd_, timer_fd_;

  PmState state_ = PmState::kInit;
  Shutdown shutdown_ = Shutdown::kNone;
  bool fatal_error_ = false;  // a crash is being handled: shared memory is suspect
  bool pending_reload_ = false;
  bool pending_child_exit_ = false;
  bool pending_pmsignal_ = false;
  bool pending_status_ = false;
  bool start_workers_now_ = false;  // more workers to launch without sleeping
  Shutdown pending_shutdown_ = Shutdown::kNone;
  std::optional<Clock::time_point> kill_deadline_;
  // See wal_index_pins.h. Busy files are retried on this deadline, a
  // bounded number of times (a first connection holds a file exclusively
  // for microseconds; the next CREATE/DROP DATABASE tries again anyway).
  std::optional<WalIndexPins> wal_index_pins_;
  std::optional<Clock::time_point> wal_index_retry_;
  int wal_index_retries_left_ = 0;
  bool exit_now_ = false;
  int exit_code_ = 0;

  void AddChild(const Child& child);
  void RemoveChild(std::unordered_map<pid_t, Child>::iterator it);

  // Child table: pid -> child, plus a count per kind so admission checks and
  // state transitions never scan the table.
  std::unordered_map<pid_t, Child> children_;
  size_t count_by_kind_[4] = {};
  std::optional<Clock::time_point> armed_deadline_;  // what the timerfd holds
};

Status Postmaster::Initialize() {
  // Signals are blocked before anything is created: they are read from the
  // signalfd once the loop runs, so a shutdown request during startup is
  // handled (never a default-action death that leaves files behind).
  // SIGPIPE is ignored: a closed client or log pipe must never kill us.
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&mask, sig);
  }
  sigprocmask(SIG_BLOCK, &mask, nullptr);

  const std::string& dir = options_.data_dir;
  if (Status s = datadir::Check(dir); !s.ok()) return s;
  if (chdir(dir.c_str()) != 0)
    return Status::FromErrno("could not change directory to \"" + dir + "\"");

  guc::DefineBuiltinSettings();
  for (const std::string& assignment : options_.settings) {
    if (Status s = guc::SetFromCommandLine(assignment); !s.ok()) return s;
  }
  if (Status s = guc::ProcessConfigFile(dir + "/" + datadir::kConfigFile, guc::Phase::kStartup);
      !s.ok()) {
    return s;
  }
  ApplyLogSettings();
  if (Status s = protocol::LoadHba(dir + "/" + datadir::kHbaFile); !s.ok()) return s;
  // Every backend and database worker opens SQLite: set it up once here.
  storage::InitializeEngineBeforeFork();
  IsPostmasterEnvironment = true;
  MyProcPid = getpid();
  ::PostmasterPid = getpid();
  MyStartTime = time(nullptr);
  DataDir = strdup(dir.c_str());
  // miscadmin.h's paths, as PostgreSQL fills them: this executable and $libdir.
  {
    const ssize_t n = readlink("/proc/self/exe", my_exec_path, MAXPGPATH - 1);
    my_exec_path[n > 0 ? n : 0] = '\0';
    std::snprintf(pkglib_path, MAXPGPATH, "%s", Layout().pkglibdir.c_str());
  }
  ConfigFileName = strdup((dir + "/" + datadir::kConfigFile).c_str());
  MaxConnections = guc::max_connections;
  max_worker_processes = guc::max_worker_processes;

  // The title must read "bgw: postmaster" before the lock file exists: that
  // is how another server recognises a live postmaster (lockfile.h).
  std::string title = "bgw: postmaster " + dir;
  if (guc::cluster_name != nullptr && guc::cluster_name[0] != '\0') {
    title += std::string(" (") + guc::cluster_name + ")";
  }
  process_title::Set(title);
  log::SetProcessKind("postmaster");

  Result<LockFile> lock = LockFile::Create(dir + "/" + datadir::kPidFile, dir, true);
  if (!lock.ok()) return lock.status();
  pid_file_.emplace(std::move(*lock));
  // A FATAL raised by module code in the postmaster (a _PG_init, a hook)
  // ends the process through proc_exit, which skips destructors: remove the
  // lock file and the sockets there too.
  OnProcExit([](int, uintptr_t arg) { reinterpret_cast<Postmaster*>(arg)->RemoveFilesAtExit(); },
             reinterpret_cast<uintptr_t>(this));

  // Modules register their workers and shared memory needs in _PG_init(),
  // before shared memory is sized.
  loader::SetDataDirectory(dir);
  if (Status s = loader::PreloadLibraries(
          guc::shared_preload_libraries ? guc::shared_preload_libraries : "");
      !s.ok()) {
    return s;
  }
  // PostgreSQL 15: modules size their shared memory in shmem_request_hook.
  addin::ProcessShmemRequests();

  if (Status s = shmem::CreateInterlock(); !s.ok()) return s;
  if (Status s = CreateSharedMemory(); !s.ok()) return s;
  if (!pmdeath::CreatePipe())
    return Status::FromErrno("could not create pipe to monitor postmaster death");
  RegisterPostmasterOnlyFd(pmdeath::WriteEndForPostmasterOnly());

  int backlog = std::min(guc::max_connections * 2, 4096);
  auto listen = OpenListenSockets(guc::listen_addresses, guc::port, guc::unix_socket_directories,
                                  dir, std::max(backlog, 64));
  if (!listen.ok()) return listen.status();
  listen_ = std::move(*listen);

  Status written = pid_file_->SetLines({
      {kLockLinePort, std::to_string(guc::port)},
      {kLockLineSocketDir, listen_->first_socket_dir},
      {kLockLineListenAddr, listen_->first_listen_addr},
      {kLockLineShmemKey, StringPrintf("%9d %9d", 0, shmem::InterlockId())},
      {kLockLineStatus, kStatusStarting},
  });
  if (!written.ok()) return written;

  signal_fd_.reset(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd_) return Status::FromErrno("could not create signalfd");
  timer_fd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_fd_) return Status::FromErrno("could not create timerfd");
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return Status::FromErrno("could not create epoll instance");

  auto add = [&](int fd, uint64_t tag) -> Status {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return Status::FromErrno("epoll_ctl");
    RegisterPostmasterOnlyFd(fd);
    return Status::Ok();
  };
  if (Status s = add(signal_fd_.get(), kTagSignal); !s.ok()) return s;
  if (Status s = add(timer_fd_.get(), kTagTimer); !s.ok()) return s;
  RegisterPostmasterOnlyFd(epoll_.get());
  for (size_t i = 0; i < listen_->sockets.size(); i++) {
    if (Status s = add(listen_->sockets[i].fd.get(), kTagListenBase + i); !s.ok()) return s;
  }
  return Status::Ok();
}

// Sizes the segment from every subsystem's request, creates it, and lets each
// subsystem lay out its part. Runs at startup and after each crash.
Status Postmaster::CreateSharedMemory() {
  int child_slots = guc::max_connections + guc::max_worker_processes + 4;
  shmem::ResetRequests();
  shmem::RequestSpace(pmsignal::ShmemSize(child_slots));
  shmem::RequestSpace(proc::ShmemSize(child_slots));
  shmem::RequestSpace(bgworker::ShmemSize(guc::max_worker_processes));
  int dsm_segments = dsm::MaxSegments(child_slots);
  shmem::RequestSpace(dsm::ShmemSize(dsm_segments));
  shmem::RequestSpace(lwlock::ShmemSize());
  shmem::RequestSpace(addin::ShmemSize());
  shmem::RequestSpace(backend_status::ShmemSize(child_slots));
  shmem::RequestSpace(notify::ShmemSize(child_slots));
  shmem::RequestSpace(storage::catalog_cache::ShmemSize());
  // No child runs now (startup, or every child of the crashed generation is
  // gone): segments left by a killed predecessor or by the crashed
  // generation, pinned or not, can go.
  if (Status s = dsm::SetNamePrefixForDataDir(options_.data_dir); !s.ok()) return s;
  dsm::RemoveLeftoverSegments();
  if (Status s = shmem::CreateMainSegment(); !s.ok()) return s;
  pmsignal::ShmemInit(child_slots);
  proc::ShmemInit(child_slots);
  bgworker::ShmemInit(guc::max_worker_processes);
  if (Status s = lwlock::ShmemInit(); !s.ok()) return s;
  if (Status s = addin::ShmemInit(); !s.ok()) return s;
  dsm::ShmemInit(dsm_segments);
  backend_status::ShmemInit(child_slots);
  notify::ShmemInit(child_slots);
  storage::catalog_cache::ShmemInit();
  bgworker::PublishToSlots();
  if (shmem_startup_hook != nullptr) shmem_startup_hook();
  lwlock::ReleaseLeftoverLocks();
  // Every postmaster-side module hook has run: what children reset is known.
  RecordSignalDispositions();
  log::Log(log::Level::kDebug1, "created shared memory segment of %zu bytes", shmem::SegmentSize());
  return Status::Ok();
}

void Postmaster::ApplyLogSettings() {
  log::Options o;
  o.min_level = static_cast<log::Level>(guc::log_min_messages);
  o.line_prefix = guc::log_line_prefix ? guc::log_line_prefix : "";
  o.to_stderr = false;
  bool to_file = false;
  for (const std::string& d : SplitTrimmed(guc::log_destination ? guc::log_destination : "", ',')) {
    if (EqualsIgnoreCase(d, "stderr")) o.to_stderr = true;
    if (EqualsIgnoreCase(d, "file")) to_file = true;
  }
  if (to_file) {
    std::string dir = guc::log_directory ? guc::log_directory : "log";
    if (dir.empty() || dir[0] != '/') dir = options_.data_dir + "/" + dir;
    o.file_path = dir + "/" + (guc::log_filename ? guc::log_filename : "bgw.log");
  }
  log::Configure(o);
}

void Postmaster::SetPidFileStatus(const char* status) {
  if (!pid_file_) return;
  if (Status s = pid_file_->SetLine(kLockLineStatus, status); !s.ok()) {
    log::EmitStatus(log::Level::kWarning, s);
  }
}

int Postmaster::Run() {
  if (Status s = Initialize(); !s.ok()) {
    log::EmitStatus(log::Level::kFatal, s);
    return 1;
  }
  state_ = PmState::kStartup;
  // Before the first fork: no process of a server uses the files now (the
  // data directory lock), so each is reset as SQLite's first connection
  // would; a file an outside SQLite client has open is joined instead.
  wal_index_pins_.emplace(options_.data_dir);
  wal_index_retries_left_ = kWalIndexRetries;
  NoteWalIndexResult(wal_index_pins_->Reconcile());
  LaunchStartupProcess();
  Loop();
  // Every child has exited: remove the dynamic shared memory segments that
  // are left (pinned ones, and those of children that died uncleanly).
  dsm::RemoveLeftoverSegments();
  if (exit_code_ == 0 && shutdown_ != Shutdown::kImmediate) {
    log::Log(log::Level::kLog, "database system is shut down");
  }
  return exit_code_;
}

void Postmaster::Loop() {
  constexpr int kMaxEvents = 16;
  struct epoll_event events[kMaxEvents];
  while (!exit_now_) {
    ArmTimer();
    // Sleep until something happens; only more launches pending make this
    // a poll.
    int n = epoll_wait(epoll_.get(), events, kMaxEvents, start_workers_now_ ? 0 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      log::Log(log::Level::kPanic, "epoll_wait failed: %s", ErrnoText(errno).c_str());
      exit_code_ = 1;
      return;
    }
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == kTagSignal) {
        signalfd_siginfo info[8];
        ssize_t r;
        while ((r = read(signal_fd_.get(), info, sizeof info)) > 0) {
          for (size_t k = 0; k < static_cast<size_t>(r) / sizeof info[0]; k++)
            HandleSignal(info[k]);
        }
      } else if (tag == kTagTimer) {
        uint64_t expirations;
        while (read(timer_fd_.get(), &expirations, sizeof expirations) > 0) {
        }
      } else {
        AcceptConnections(tag - kTagListenBase);
      }
    }
    ProcessPending();
  }
}

void Postmaster::HandleSignal(const signalfd_siginfo& info) {
  switch (info.ssi_signo) {
    case SIGTERM:
      pending_shutdown_ = std::max(pending_shutdown_, Shutdown::kSmart);
      break;
    case SIGINT:
      pending_shutdown_ = std::max(pending_shutdown_, Shutdown::kFast);
      break;
    case SIGQUIT:
      pending_shutdown_ = std::max(pending_shutdown_, Shutdown::kImmediate);
      break;
    case SIGHUP:
      pending_reload_ = true;
      break;
    case SIGCHLD:
      pending_child_exit_ = true;
      break;
    case SIGUSR1:
      pending_pmsignal_ = true;
      break;
    case SIGUSR2:
      pending_status_ = true;  // bgw status asks for a report
      break;
    default:
      break;
  }
}

void Postmaster::ProcessPending() {
  if (pending_shutdown_ > shutdown_) {
    Shutdown requested = pending_shutdown_;
    switch (requested) {
      case Shutdown::kSmart:
        BGW_LOG("received smart shutdown request");
        break;
      case Shutdown::kFast:
        BGW_LOG("received fast shutdown request");
        break;
      case Shutdown::kImmediate:
        BGW_LOG("received immediate shutdown request");
        break;
      case Shutdown::kNone:
        break;
    }
    shutdown_ = requested;
    SetPidFileStatus(kStatusStopping);
    if (requested == Shutdown::kImmediate) {
      SignalChildren(SIGQUIT, true);
      SetKillDeadline();
      state_ = PmState::kWaitBackends;
    } else if (requested == Shutdown::kFast ||
               (state_ != PmState::kRun && state_ < PmState::kStopBackends)) {
      // Fast, or smart before the server is up: nothing to wait for.
      if (state_ < PmState::kStopBackends) state_ = PmState::kStopBackends;
    }
    // Smart in kRun: keep running until client backends are gone (below).
  }
  if (pending_reload_) {
    pending_reload_ = false;
    if (shutdown_ <= Shutdown::kSmart) ReloadConfiguration();
  }
  if (pending_child_exit_) {
    pending_child_exit_ = false;
    ReapChildren();
  }
  if (pending_pmsignal_) {
    pending_pmsignal_ = false;
    if (pmsignal::CheckAndClear(pmsignal::Reason::kBackgroundWorkerChange)) {
      bgworker::AbsorbChanges(state_ < PmState::kStopBackends && !fatal_error_,
                              [this](pid_t pid) { return children_.count(pid) != 0; });
    }
    if (pmsignal::CheckAndClear(pmsignal::Reason::kDatabaseFilesChange)) {
      wal_index_retries_left_ = kWalIndexRetries;
      NoteWalIndexResult(wal_index_pins_->Reconcile());
    }
  }
  if (pending_status_) {
    pending_status_ = false;
    WriteStatusFile();
  }
  if (wal_index_retry_ && Clock::now() >= *wal_index_retry_) {
    wal_index_retry_.reset();
    NoteWalIndexResult(wal_index_pins_->Reconcile());
  }
  bgworker::PromoteDueRestarts(Clock::now());
  if (kill_deadline_ && Clock::now() >= *kill_deadline_) {
    kill_deadline_.reset();
    if (!children_.empty()) {
      BGW_LOG("issuing SIGKILL to recalcitrant children");
      SignalChildren(SIGKILL, true);
    }
  }
  StateMachine();
  start_workers_now_ = bgworker::StartWaiting(
      WorkerStartPhase(),
      [this](int slot, const BackgroundWorker& w) { return LaunchWorker(slot, w); });
}

bgworker::StartPhase Postmaster::WorkerStartPhase() const {
  if (fatal_error_ || exit_now_) return bgworker::StartPhase::kNone;
  switch (state_) {
    case PmState::kStartup:
    case PmState::kRecovery:
      return bgworker::StartPhase::kPostmasterOnly;
    case PmState::kHotStandby:
      return bgworker::StartPhase::kConsistent;
    case PmState::kRun:
      return bgworker::StartPhase::kAll;
    default:
      return bgworker::StartPhase::kNone;
  }
}

Result<pid_t> Postmaster::LaunchWorker(int worker_slot, const BackgroundWorker& worker) {
  ChildSpec spec;
  spec.kind = ChildKind::kBgWorker;
  spec.attach_shmem = (worker.bgw_flags & BGWORKER_SHMEM_ACCESS) != 0;
  if (spec.attach_shmem) {
    spec.child_slot = pmsignal::AssignChildSlot();
    if (spec.child_slot < 0) {
      return Status::Error("no slot available for new background worker process");
    }
  }
  spec.title_kind = worker.bgw_type;
  spec.title_detail = worker.bgw_name;
  spec.log_kind = worker.bgw_type;
  // One reference captured: the closure fits std::function's inline buffer,
  // so launching allocates nothing.
  struct WorkerStart {
    const BackgroundWorker* worker;
    int child_slot;
    bgworker_main_type entry;
  } start{&worker, spec.child_slot, bgworker::ResolveLoadedEntry(worker)};
  Result<pid_t> pid = LaunchChild(spec, [&start] {
    bgworker::BackgroundWorkerMain(*start.worker, start.child_slot, start.entry);
  });
  if (!pid.ok()) {
    if (spec.child_slot >= 0) pmsignal::ReleaseChildSlot(spec.child_slot);
    return Status::FromErrno("could not fork background worker process");
  }
  Child child{*pid, ChildKind::kBgWorker, spec.child_slot};
  child.worker_slot = worker_slot;
  AddChild(child);
  return pid;
}

// Writes the registered workers and children to postmaster.status for
// `bgw status` (on request only: SIGUSR2).
void Postmaster::WriteStatusFile() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  std::string text = StringPrintf("generated: %lld\n",
                                  static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  text += StringPrintf("children: %zu (backends %zu, background workers %zu)\n", children_.size(),
                       CountChildren(ChildKind::kBackend), CountChildren(ChildKind::kBgWorker));
  text += bgworker::StatusReport();
  Status s = datadir::WriteFileAtomically(options_.data_dir + "/postmaster.status", text, 0600);
  if (!s.ok()) log::EmitStatus(log::Level::kLog, s);
}

void Postmaster::ReloadConfiguration() {
  BGW_LOG("received SIGHUP, reloading configuration files");
  Status s =
      guc::ProcessConfigFile(options_.data_dir + "/" + datadir::kConfigFile, guc::Phase::kReload);
  if (!s.ok()) log::EmitStatus(log::Level::kLog, s);
  ApplyLogSettings();
  // A broken hba.conf keeps the rules in force (LoadHba says so).
  if (Status hba = protocol::LoadHba(options_.data_dir + "/" + datadir::kHbaFile); !hba.ok()) {
    log::EmitStatus(log::Level::kLog, hba);
  }
  RecordSignalDispositions();  // settings' assign hooks are module code too
  SignalChildren(SIGHUP, false);
}

void Postmaster::ReapChildren() {
  while (true) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    auto it = children_.find(pid);
    if (it == children_.end()) continue;  // not ours (cannot happen; be safe)
    Child child = it->second;
    RemoveChild(it);
    HandleChildExit(child, status);
  }
}

const char* Postmaster::ProcessDescription(ChildKind kind) const {
  switch (kind) {
    case ChildKind::kStartup:
      return "startup process";
    case ChildKind::kBackend:
    case ChildKind::kDeadEndBackend:
      return "server process";
    case ChildKind::kBgWorker:
      return "background worker";
  }
  return "server process";
}

void Postmaster::LogChildExit(log::Level level, const Child& child, int status) {
  const char* what = ProcessDescription(child.kind);
  if (child.kind == ChildKind::kBgWorker) {
    std::string name = bgworker::WorkerName(child.worker_slot);
    std::string desc = "background worker \"" + name + "\"";
    if (WIFEXITED(status)) {
      log::Log(level, "%s (PID %d) exited with exit code %d", desc.c_str(),
               static_cast<int>(child.pid), WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      log::Log(level, "%s (PID %d) was terminated by signal %d: %s", desc.c_str(),
               static_cast<int>(child.pid), WTERMSIG(status), strsignal(WTERMSIG(status)));
    }
    return;
  }
  if (WIFEXITED(status)) {
    log::Log(level, "%s (PID %d) exited with exit code %d", what, static_cast<int>(child.pid),
             WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    log::Log(level, "%s (PID %d) was terminated by signal %d: %s", what,
             static_cast<int>(child.pid), WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else {
    log::Log(level, "%s (PID %d) exited with unrecognized status %d", what,
             static_cast<int>(child.pid), status);
  }
}

void Postmaster::HandleChildExit(const Child& child, int status) {
  bool clean_exit = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1);
  bool slot_ok = true;
  if (child.child_slot >= 0) slot_ok = pmsignal::ReleaseChildSlot(child.child_slot);

  if (child.kind == ChildKind::kStartup) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && slot_ok) {
      if (shutdown_ == Shutdown::kNone && !fatal_error_ && state_ == PmState::kStartup) {
        state_ = PmState::kRun;
        pmsignal::PublishInRecovery(false);
        SetPidFileStatus(kStatusReady);
        BGW_LOG("database system is ready to accept connections");
      }
      return;
    }
    // Killed by our own SIGQUIT/SIGTERM while shutting down or handling a
    // crash: expected.
    if (shutdown_ != Shutdown::kNone || fatal_error_) return;
    LogChildExit(log::Level::kLog, child, status);
    BGW_LOG("aborting startup due to startup process failure");
    exit_code_ = 1;
    // Nothing else runs yet; stop every child and exit.
    SignalChildren(SIGQUIT, true);
    shutdown_ = Shutdown::kImmediate;
    state_ = PmState::kWaitBackends;
    SetKillDeadline();
    return;
  }

  if (child.kind == ChildKind::kDeadEndBackend) return;  // never attached to shared memory
  bgworker::OnChildExit(child.pid);

  if (child.kind == ChildKind::kBgWorker) {
    // A worker without shared memory cannot have corrupted it: whatever its
    // exit, only that worker is affected (restarted per its policy).
    bool server_crash = child.child_slot >= 0 && (!clean_exit || !slot_ok);
    if (server_crash) HandleChildCrash(child, status);
    bgworker::OnWorkerExit(child.worker_slot, child.pid, status, server_crash);
    return;
  }

  if (!clean_exit || !slot_ok) {
    HandleChildCrash(child, status);
    return;
  }
  if (log::ShouldEmit(log::Level::kDebug2)) LogChildExit(log::Level::kDebug2, child, status);
}

// A child died in a way that may have left shared memory inconsistent: stop
// every other child (SIGQUIT, SIGKILL after kKillTimeout) and rebuild shared
// memory once all are gone (Reinitialize, from the state machine).
void Postmaster::HandleChildCrash(const Child& child, int status) {
  if (fatal_error_ || shutdown_ == Shutdown::kImmediate) {
    // Already handling a crash or an immediate stop: this exit is expected.
    if (log::ShouldEmit(log::Level::kDebug2)) LogChildExit(log::Level::kDebug2, child, status);
    return;
  }
  LogChildExit(log::Level::kLog, child, status);
  BGW_LOG("terminating any other active server processes");
  fatal_error_ = true;
  SignalChildren(SIGQUIT, true);
  SetKillDeadline();
  if (state_ < PmState::kWaitBackends) state_ = PmState::kWaitBackends;
}

void Postmaster::StateMachine() {
  if (state_ == PmState::kRun && shutdown_ == Shutdown::kSmart &&
      CountChildren(ChildKind::kBackend) == 0) {
    state_ = PmState::kStopBackends;
  }
  if (state_ == PmState::kStopBackends) {
    bgworker::ForgetUnstartedWithWaiters();
    SignalChildren(SIGTERM, true);
    SetKillDeadline();
    state_ = PmState::kWaitBackends;
  }
  if (state_ == PmState::kWaitBackends && !AnyChildExceptDeadEnd()) {
    if (shutdown_ != Shutdown::kNone && shutdown_ != Shutdown::kImmediate && !fatal_error_) {
      // Every process that could change data is gone: the shutdown is clean.
      Status s = datadir::WriteControlState(options_.data_dir, datadir::ClusterState::kShutDown);
      if (!s.ok()) log::EmitStatus(log::Level::kLog, s);
    }
    state_ = PmState::kWaitDeadEnd;
  }
  if (state_ == PmState::kWaitDeadEnd && children_.empty()) state_ = PmState::kNoChildren;
  if (state_ != PmState::kNoChildren) return;

  kill_deadline_.reset();
  if (shutdown_ != Shutdown::kNone) {
    exit_now_ = true;
    return;
  }
  if (fatal_error_) {
    if (!guc::restart_after_crash) {
      BGW_LOG("shutting down because restart_after_crash is off");
      exit_code_ = 1;
      exit_now_ = true;
      return;
    }
    Reinitialize();
  }
}

void Postmaster::Reinitialize() {
  BGW_LOG("all server processes terminated; reinitializing");
  bgworker::ResetAfterCrash();
  shmem::DestroyMainSegment();
  if (Status s = CreateSharedMemory(); !s.ok()) {
    log::EmitStatus(log::Level::kFatal, s);
    exit_code_ = 1;
    exit_now_ = true;
    return;
  }
  fatal_error_ = false;
  state_ = PmState::kStartup;
  SetPidFileStatus(kStatusStarting);
  wal_index_retries_left_ = kWalIndexRetries;
  NoteWalIndexResult(wal_index_pins_->ResetAfterCrash());
  LaunchStartupProcess();
}

void Postmaster::LaunchStartupProcess() {
  ChildSpec spec;
  spec.kind = ChildKind::kStartup;
  spec.child_slot = pmsignal::AssignChildSlot();
  std::string data_dir = options_.data_dir;
  Result<pid_t> pid = LaunchChild(spec, [data_dir] { StartupProcessMain(data_dir); });
  if (!pid.ok()) {
    if (spec.child_slot >= 0) pmsignal::ReleaseChildSlot(spec.child_slot);
    log::EmitStatus(log::Level::kFatal, pid.status());
    exit_code_ = 1;
    exit_now_ = true;
    return;
  }
  AddChild(Child{*pid, ChildKind::kStartup, spec.child_slot});
}

Admission Postmaster::CanAcceptConnection() const {
  if (shutdown_ != Shutdown::kNone || state_ >= PmState::kStopBackends) {
    return fatal_error_ ? Admission::kRecovery : Admission::kShutdown;
  }
  if (fatal_error_) return Admission::kRecovery;
  if (state_ != PmState::kRun) return Admission::kStartup;
  if (CountChildren(ChildKind::kBackend) >= static_cast<size_t>(guc::max_connections)) {
    return Admission::kTooMany;
  }
  return Admission::kOk;
}

void Postmaster::AcceptConnections(size_t listen_index) {
  if (listen_index >= listen_->sockets.size()) return;
  int lfd = listen_->sockets[listen_index].fd.get();
  for (int i = 0; i < kMaxAcceptsPerWakeup; i++) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        log::Log(log::Level::kLog, "could not accept new connection: %s", ErrnoText(errno).c_str());
      }
      return;
    }
    LaunchBackend(UniqueFd(fd), CanAcceptConnection());
  }
}

void Postmaster::LaunchBackend(UniqueFd client, Admission admission) {
  ChildSpec spec;
  spec.kind = admission == Admission::kOk ? ChildKind::kBackend : ChildKind::kDeadEndBackend;
  if (spec.kind == ChildKind::kBackend) {
    spec.child_slot = pmsignal::AssignChildSlot();
    if (spec.child_slot < 0) {
      spec.kind = ChildKind::kDeadEndBackend;
      admission = Admission::kTooMany;
    }
  }
  spec.attach_shmem = spec.kind == ChildKind::kBackend;
  spec.title_detail = "startup";
  spec.log_kind = "client backend";
  // Dead-end backends only deliver an error; bound how many may exist so a
  // connection flood during shutdown or recovery cannot exhaust processes.
  if (spec.kind == ChildKind::kDeadEndBackend &&
      CountChildren(ChildKind::kDeadEndBackend) >= static_cast<size_t>(2 * guc::max_connections)) {
    return;  // closes the connection
  }
  int client_fd = client.get();
  Result<pid_t> pid = LaunchChild(spec, [client_fd, admission, slot = spec.child_slot] {
    BackendMain(UniqueFd(client_fd), admission, slot);
  });
  if (!pid.ok()) {
    if (spec.child_slot >= 0) pmsignal::ReleaseChildSlot(spec.child_slot);
    log::EmitStatus(log::Level::kLog, pid.status());
    return;
  }
  AddChild(Child{*pid, spec.kind, spec.child_slot});
  // `client` closes the postmaster's copy of the connection here.
}

void Postmaster::SignalChildren(int sig, bool include_dead_end) {
  for (const auto& [pid, child] : children_) {
    if (!include_dead_end && child.kind == ChildKind::kDeadEndBackend) continue;
    // Each child leads its own process group: signal the group so anything
    // it spawned gets the signal too.
    if (kill(-pid, sig) != 0) kill(pid, sig);
  }
}

void Postmaster::SetKillDeadline() {
  if (!kill_deadline_) kill_deadline_ = Clock::now() + kKillTimeout;
}

void Postmaster::NoteWalIndexResult(bool all_held) {
  if (all_held || wal_index_retries_left_ <= 0) {
    wal_index_retry_.reset();
    return;
  }
  wal_index_retries_left_--;
  wal_index_retry_ = Clock::now() + kWalIndexRetryDelay;
}

void Postmaster::ArmTimer() {
  std::optional<Clock::time_point> deadline = kill_deadline_;
  if (wal_index_retry_ && (!deadline || *wal_index_retry_ < *deadline)) deadline = wal_index_retry_;
  if (auto restart = bgworker::NextRestart(); restart && (!deadline || *restart < *deadline)) {
    deadline = restart;
  }
  if (armed_deadline_ == deadline) return;  // unchanged: no syscall
  armed_deadline_ = deadline;
  struct itimerspec its = {};
  if (deadline) {
    auto delay = *deadline - Clock::now();
    auto ns =
        std::max<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count(), 1);
    its.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    its.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  }
  // All zero disarms: an idle server has no timer at all.
  timerfd_settime(timer_fd_.get(), 0, &its, nullptr);
}

void Postmaster::AddChild(const Child& child) {
  children_[child.pid] = child;
  count_by_kind_[static_cast<int>(child.kind)]++;
}

void Postmaster::RemoveChild(std::unordered_map<pid_t, Child>::iterator it) {
  count_by_kind_[static_cast<int>(it->second.kind)]--;
  children_.erase(it);
}

size_t Postmaster::CountChildren(ChildKind kind) const {
  return count_by_kind_[static_cast<int>(kind)];
}

bool Postmaster::AnyChildExceptDeadEnd() const {
  return children_.size() > CountChildren(ChildKind::kDeadEndBackend);
}

}  // namespace

int PostmasterMain(const PostmasterOptions& options) {
  Postmaster pm(options);
  return pm.Run();
}

}  // namespace bgw
