// The modern C++ module API (include/bgworker/*.h), implemented on the
// PostgreSQL-compatible C API: one implementation, two faces.
//
// Why here and not header-only: this file is part of the server executable,
// which exports its symbols to the modules it loads, so the C++ face is
// resolved exactly like the C one and shares its validator
// (bgw::bgworker::ValidateWorker) with the server's own registration paths. Only
// templates (Expected, CatchPgErrors, ExceptionBoundary) live in the
// headers.
//
// The ERROR rule (utils/elog.h, bgworker/error.h): siglongjmp must never
// cross a frame holding a C++ object with a non-trivial destructor. Every
// call into the C API that can raise ERROR therefore runs through
// CallCatchingPgError() inside a plain function whose frame holds only
// trivially destructible data (the *Call structs below); the error is
// turned into an ErrorInfo after the jump has landed.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <string>

#include "bgworker/error.h"
#include "bgworker/latch.h"
#include "bgworker/worker.h"
#include "common/strutil.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/postgres.h"
#include "postgres/postmaster/bgworker.h"
#include "postgres/storage/latch.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"
#include "workers/worker_slots.h"

namespace bgworker {
namespace {

using bgw::StringPrintf;
using Clock = std::chrono::steady_clock;

// PostgreSQL's limit on bgw_restart_time (seconds; a day of milliseconds).
constexpr int64_t kMaxRestartSeconds = 86400LL * 1000;

// Longest single WaitLatch() timeout we pass: the C API takes a long of
// milliseconds and adds it to a clock; longer waits are done in steps.
constexpr int64_t kMaxWaitStepMs = INT_MAX;

// The worker's name for messages, cut to what fits the C field.
std::string ShortName(const std::string& name) {
  return name.size() <= kMaxNameBytes ? name : name.substr(0, kMaxNameBytes) + "...";
}

// Copies one string field; an error names the field instead of truncating.
bool CopyField(const char* field, const std::string& value, bool required, char (&out)[BGW_MAXLEN],
               const std::string& worker, ErrorInfo* error) {
  if (value.size() > kMaxNameBytes) {
    *error =
        Unexpected(Errc::kInvalidSpec,
                   StringPrintf("background worker \"%s\": %s is %zu bytes long; the limit "
                                "is %zu (BGW_MAXLEN - 1)",
                                ShortName(worker).c_str(), field, value.size(), kMaxNameBytes));
    return false;
  }
  if (value.find('\0') != std::string::npos) {
    *error = Unexpected(Errc::kInvalidSpec,
                        StringPrintf("background worker \"%s\": %s contains a NUL byte",
                                     ShortName(worker).c_str(), field));
    return false;
  }
  if (required && value.empty()) {
    *error = Unexpected(Errc::kInvalidSpec, StringPrintf("background worker \"%s\": %s is required",
                                                         ShortName(worker).c_str(), field));
    return false;
  }
  std::memcpy(out, value.data(), value.size());
  out[value.size()] = '\0';
  return true;
}

// Lets the postmaster's SIGUSR1 (start/stop notification) through while a
// wait runs, even when the caller still has signals blocked, as the C waits
// do (bgworker_api.cc); restores the mask afterwards.
class NotificationsUnblocked {
 public:
  NotificationsUnblocked() {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &usr1, &saved_);
  }
  ~NotificationsUnblocked() { sigprocmask(SIG_SETMASK, &saved_, nullptr); }
  NotificationsUnblocked(const NotificationsUnblocked&) = delete;
  NotificationsUnblocked& operator=(const NotificationsUnblocked&) = delete;

 private:
  sigset_t saved_;
};

// --- calls into the C API that may raise ERROR (run by CallCatchingPgError) ---

struct RegisterCall {
  BackgroundWorker* worker;
  BackgroundWorkerHandle* handle;
  bool registered;
};

void RegisterDynamic(void* arg) {
  auto* call = static_cast<RegisterCall*>(arg);
  // The handle outlives any shorter-lived context the caller may be in; the
  // WorkerHandle frees it. CallCatchingPgError restores the context on ERROR.
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  call->registered = RegisterDynamicBackgroundWorker(call->worker, &call->handle);
  MemoryContextSwitchTo(old);
}

void RegisterStaticWorker(void* arg) {
  RegisterBackgroundWorker(static_cast<BackgroundWorker*>(arg));
}

void RunProcessInterrupts(void*) { CHECK_FOR_INTERRUPTS(); }

enum class WaitGoal { kStartup, kShutdown };

struct HandleWaitCall {
  BackgroundWorkerHandle* handle;
  WaitGoal goal;
  bool has_deadline;
  Clock::time_point deadline;
  // Results.
  BgwHandleStatus status;
  pid_t pid;
  bool timed_out;
  bool postmaster_died;
};

// PostgreSQL's wait loop (WaitForBackgroundWorkerStartup/Shutdown), bounded
// by a deadline: check, sleep on MyLatch until the postmaster's notification
// (or the deadline), reset, check again.
void HandleWaitLoop(void* arg) {
  auto* call = static_cast<HandleWaitCall*>(arg);
  const uint32 wait_event =
      call->goal == WaitGoal::kStartup ? WAIT_EVENT_BGWORKER_STARTUP : WAIT_EVENT_BGWORKER_SHUTDOWN;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    pid_t pid = 0;
    const BgwHandleStatus status = GetBackgroundWorkerPid(call->handle, &pid);
    call->status = status;
    const bool done =
        call->goal == WaitGoal::kStartup ? status != BGWH_NOT_YET_STARTED : status == BGWH_STOPPED;
    if (done || status == BGWH_POSTMASTER_DIED) {
      if (status == BGWH_STARTED) call->pid = pid;
      return;
    }
    int events = WL_LATCH_SET | WL_POSTMASTER_DEATH;
    long timeout_ms = -1;
    if (call->has_deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(call->deadline - Clock::now());
      if (left.count() <= 0) {
        call->timed_out = true;
        return;
      }
      timeout_ms = static_cast<long>(std::min<int64_t>(left.count(), kMaxWaitStepMs));
      events |= WL_TIMEOUT;
    }
    const int rc = WaitLatch(MyLatch, events, timeout_ms, wait_event);
    if (rc & WL_POSTMASTER_DEATH) {
      call->postmaster_died = true;
      return;
    }
    if (rc & WL_LATCH_SET) ResetLatch(MyLatch);
  }
}

struct LatchWaitCall {
  ::Latch* latch;
  int events;  // without WL_TIMEOUT: added per step
  pgsocket socket;
  bool has_deadline;
  Clock::time_point deadline;
  uint32 wait_event;
  int result;
};

// WaitLatchOrSocket() until something other than a timeout happens, or the
// deadline has passed. A step's timeout is re-checked against the deadline:
// a step may be shorter than the wait (long waits), and WaitLatch may
// return a fraction of a millisecond early; this wait never does.
void LatchWaitLoop(void* arg) {
  auto* call = static_cast<LatchWaitCall*>(arg);
  for (;;) {
    int events = call->events;
    long timeout_ms = -1;
    if (call->has_deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(call->deadline - Clock::now());
      timeout_ms = static_cast<long>(std::clamp<int64_t>(left.count(), 0, kMaxWaitStepMs));
      events |= WL_TIMEOUT;
    }
    const int rc =
        WaitLatchOrSocket(call->latch, events, call->socket, timeout_ms, call->wait_event);
    if (rc != WL_TIMEOUT || !call->has_deadline || Clock::now() >= call->deadline) {
      call->result = rc;
      return;
    }
  }
}

// Now + timeout; negative counts as 0, and absurd values saturate instead of
// overflowing the clock.
Clock::time_point DeadlineAfter(std::chrono::milliseconds timeout) {
  const auto max_left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            Clock::time_point::max() - Clock::now()) -
                        std::chrono::hours(24);
  return Clock::now() + std::clamp(timeout, std::chrono::milliseconds(0), max_left);
}

Expected<WaitResult> WaitImpl(::Latch* latch, int events, pgsocket socket,
                              std::optional<std::chrono::milliseconds> timeout,
                              OnPostmasterDeath on_death, uint32_t wait_event) {
  InitializeLatchSupport();  // sets MyLatch in a process that has none yet
  LatchWaitCall call{};
  call.latch = latch != nullptr ? latch : MyLatch;
  call.events = WL_LATCH_SET | events |
                (on_death == OnPostmasterDeath::kExit ? WL_EXIT_ON_PM_DEATH : WL_POSTMASTER_DEATH);
  call.socket = socket;
  if (timeout.has_value()) {
    call.has_deadline = true;
    call.deadline = DeadlineAfter(*timeout);
  }
  call.wait_event = wait_event;
  ErrorInfo error;
  if (!internal::CallCatchingPgError(&LatchWaitLoop, &call, &error)) return error;
  return WaitResult::FromEvents(call.result);
}

std::string DescribeTimeout(std::chrono::milliseconds timeout) {
  return std::to_string(timeout.count()) + " ms";
}

}  // namespace

// --- worker.h ---

Expected<BackgroundWorker> WorkerSpec::ToBackgroundWorker() const {
  BackgroundWorker w;
  std::memset(&w, 0, sizeof w);
  ErrorInfo error;
  if (!CopyField("name", name, true, w.bgw_name, name, &error) ||
      !CopyField("type", type, false, w.bgw_type, name, &error) ||
      !CopyField("library", library, true, w.bgw_library_name, name, &error) ||
      !CopyField("function", function, true, w.bgw_function_name, name, &error)) {
    return error;
  }
  switch (access) {
    case Access::kNone:
    case Access::kSharedMemory:
    case Access::kDatabase:
      w.bgw_flags = static_cast<int>(access);
      break;
    default:
      return Unexpected(Errc::kInvalidSpec,
                        StringPrintf("background worker \"%s\": invalid access %u", w.bgw_name,
                                     static_cast<unsigned>(access)));
  }
  switch (start) {
    case StartTime::kPostmasterStart:
      w.bgw_start_time = BgWorkerStart_PostmasterStart;
      break;
    case StartTime::kConsistentState:
      w.bgw_start_time = BgWorkerStart_ConsistentState;
      break;
    case StartTime::kRecoveryFinished:
      w.bgw_start_time = BgWorkerStart_RecoveryFinished;
      break;
    default:
      return Unexpected(Errc::kInvalidSpec,
                        StringPrintf("background worker \"%s\": invalid start time %d", w.bgw_name,
                                     static_cast<int>(start)));
  }
  if (!restart_delay.has_value()) {
    w.bgw_restart_time = BGW_NEVER_RESTART;
  } else if (restart_delay->count() < 0 || restart_delay->count() > kMaxRestartSeconds) {
    return Unexpected(Errc::kInvalidSpec,
                      StringPrintf("background worker \"%s\": restart delay %lld s is out of "
                                   "range (0 .. %lld s; std::nullopt = never restart)",
                                   w.bgw_name, static_cast<long long>(restart_delay->count()),
                                   static_cast<long long>(kMaxRestartSeconds)));
  } else {
    w.bgw_restart_time = static_cast<int>(restart_delay->count());
  }
  w.bgw_main_arg = static_cast<Datum>(main_arg);
  std::memcpy(w.bgw_extra, extra.data(), sizeof w.bgw_extra);
  w.bgw_notify_pid = notify_me ? MyProcPid : 0;
  // The server's own checks (the same code its registration paths run).
  std::string message;
  if (!bgw::bgworker::ValidateWorker(&w, &message)) return Unexpected(Errc::kInvalidSpec, message);
  return w;
}

Expected<WorkerHandle> WorkerHandle::Register(const WorkerSpec& spec, OnDestroy on_destroy) {
  Expected<BackgroundWorker> worker = spec.ToBackgroundWorker();
  if (!worker) return std::move(worker).error();
  if (!IsUnderPostmaster) {
    return Unexpected(Errc::kNotUnderPostmaster,
                      StringPrintf("background worker \"%s\": dynamic workers can only be "
                                   "registered by a backend or a background worker",
                                   worker->bgw_name));
  }
  // A process without shared memory has no slots to fill.
  if (!bgw::shmem::IsAttached() || bgw::bgworker::Array() == nullptr) {
    return Unexpected(Errc::kNotUnderPostmaster,
                      StringPrintf("background worker \"%s\": this process is not attached to "
                                   "shared memory (registering needs Access::kSharedMemory)",
                                   worker->bgw_name));
  }
  RegisterCall call{&*worker, nullptr, false};
  ErrorInfo error;
  if (!internal::CallCatchingPgError(&RegisterDynamic, &call, &error)) {
    error.code = Errc::kInvalidSpec;
    return error;
  }
  if (!call.registered) {
    ErrorInfo full = Unexpected(
        Errc::kNoFreeSlot,
        StringPrintf("no free background worker slot for \"%s\": all %d (max_worker_processes) "
                     "are in use",
                     worker->bgw_name, bgw::bgworker::NumSlots()));
    full.sqlstate = "53400";
    full.hint = "Consider increasing the configuration parameter \"max_worker_processes\".";
    return full;
  }
  return WorkerHandle(call.handle, on_destroy);
}

WorkerHandle& WorkerHandle::operator=(WorkerHandle&& other) noexcept {
  if (this != &other) {
    WorkerHandle old(std::move(*this));  // releases our current handle
    handle_ = other.handle_;
    on_destroy_ = other.on_destroy_;
    other.handle_ = nullptr;
  }
  return *this;
}

WorkerHandle::~WorkerHandle() {
  if (handle_ == nullptr) return;
  if (on_destroy_ == OnDestroy::kTerminate) TerminateBackgroundWorker(handle_);
  pfree(handle_);
}

WorkerState WorkerHandle::State(pid_t* pid) const {
  if (handle_ == nullptr) return WorkerState::kStopped;
  pid_t p = 0;
  switch (GetBackgroundWorkerPid(handle_, &p)) {
    case BGWH_STARTED:
      if (pid != nullptr) *pid = p;
      return WorkerState::kStarted;
    case BGWH_NOT_YET_STARTED:
      return WorkerState::kNotYetStarted;
    case BGWH_POSTMASTER_DIED:
      return WorkerState::kPostmasterDied;
    case BGWH_STOPPED:
      break;
  }
  return WorkerState::kStopped;
}

namespace {

// The wait of WaitForStartup/WaitForShutdown, as an ErrorInfo or a pid.
Expected<pid_t> WaitOnHandle(BackgroundWorkerHandle* handle, WaitGoal goal,
                             std::optional<std::chrono::milliseconds> timeout) {
  const char* what = goal == WaitGoal::kStartup ? "start" : "stop";
  if (handle == nullptr) {
    return Unexpected(Errc::kStopped, "the worker handle is empty");
  }
  HandleWaitCall call{};
  call.handle = handle;
  call.goal = goal;
  if (timeout.has_value()) {
    call.has_deadline = true;
    call.deadline = DeadlineAfter(*timeout);
  }
  ErrorInfo error;
  bool completed;
  {
    NotificationsUnblocked unblocked;
    completed = internal::CallCatchingPgError(&HandleWaitLoop, &call, &error);
  }
  if (!completed) return error;
  if (call.postmaster_died || call.status == BGWH_POSTMASTER_DIED) {
    return Unexpected(Errc::kPostmasterDied,
                      StringPrintf("the server died while waiting for a worker to %s", what));
  }
  if (call.timed_out) {
    return Unexpected(Errc::kTimeout, StringPrintf("the worker did not %s within %s", what,
                                                   DescribeTimeout(*timeout).c_str()));
  }
  if (goal == WaitGoal::kStartup) {
    if (call.status == BGWH_STARTED) return call.pid;
    return Unexpected(Errc::kStopped, "the worker stopped before it was seen running");
  }
  return pid_t{0};
}

}  // namespace

Expected<pid_t> WorkerHandle::WaitForStartup(std::optional<std::chrono::milliseconds> timeout) {
  return WaitOnHandle(handle_, WaitGoal::kStartup, timeout);
}

Expected<void> WorkerHandle::WaitForShutdown(std::optional<std::chrono::milliseconds> timeout) {
  Expected<pid_t> result = WaitOnHandle(handle_, WaitGoal::kShutdown, timeout);
  if (!result) return std::move(result).error();
  return {};
}

void WorkerHandle::Terminate() {
  if (handle_ != nullptr) TerminateBackgroundWorker(handle_);
}

Expected<void> RegisterStatic(const WorkerSpec& spec) {
  if (!process_shared_preload_libraries_in_progress) {
    return Unexpected(Errc::kNotUnderPostmaster,
                      StringPrintf("background worker \"%s\": static workers can only be "
                                   "registered from _PG_init() of a library in "
                                   "shared_preload_libraries",
                                   ShortName(spec.name).c_str()));
  }
  WorkerSpec copy = spec;
  copy.notify_me = false;  // static workers cannot ask for notifications
  Expected<BackgroundWorker> worker = copy.ToBackgroundWorker();
  if (!worker) return std::move(worker).error();
  // A child initializing the preloaded library again: ignored, as in C.
  if (IsUnderPostmaster || !IsPostmasterEnvironment) return {};
  ErrorInfo error;
  if (!internal::CallCatchingPgError(&RegisterStaticWorker, &*worker, &error)) {
    error.code = Errc::kNotUnderPostmaster;
    return error;
  }
  return {};
}

const BackgroundWorker& CurrentWorker() {
  if (MyBgworkerEntry == nullptr) {
    ereport(FATAL, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg_internal("bgworker::CurrentWorker() called outside a background worker"));
  }
  return *MyBgworkerEntry;
}

Expected<void> CheckForInterrupts() {
  if (!InterruptPending) return {};
  ErrorInfo error;
  if (!internal::CallCatchingPgError(&RunProcessInterrupts, nullptr, &error)) return error;
  return {};
}

// --- latch.h ---

WaitResult Latch::Wait(std::optional<std::chrono::milliseconds> timeout, OnPostmasterDeath on_death,
                       uint32_t wait_event) const {
  Expected<WaitResult> result =
      WaitImpl(latch_, 0, PGINVALID_SOCKET, timeout, on_death, wait_event);
  return std::move(result).value();  // throws bgworker::Error if the wait failed
}

Expected<WaitResult> Latch::WaitOrSocket(int socket, SocketEvents events,
                                         std::optional<std::chrono::milliseconds> timeout,
                                         OnPostmasterDeath on_death, uint32_t wait_event) const {
  return WaitImpl(latch_, static_cast<int>(events), socket, timeout, on_death, wait_event);
}

}  // namespace bgworker
