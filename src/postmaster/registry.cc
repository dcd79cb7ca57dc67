// The postmaster's background worker registry; see registry.h.
#include "postmaster/registry.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "common/strutil.h"
#include "guc/settings.h"
#include "workers/worker_slots.h"

namespace bgw::bgworker {
namespace {

struct RegisteredWorker {
  BackgroundWorker worker;  // validated private copy
  int slot = -1;
  pid_t pid = 0;                                    // 0 = not running
  bool terminate = false;                           // unregister once not running
  bool waiting = false;                             // in a waiting-to-start list
  std::list<RegisteredWorker*>::iterator order_it;  // its place in `ordered`
  std::optional<Clock::time_point> crashed_at;      // restart pending since
  uint64_t restart_seq = 0;                         // matches the live heap entry
  int starts = 0;
  int last_status = -1;  // wait status of the last exit, -1 = none
};

// Registrations collected while preloading, before shared memory exists.
std::vector<BackgroundWorker> static_workers;
// Registered workers by shared slot; nullptr = slot not registered.
std::vector<std::unique_ptr<RegisteredWorker>> by_slot;
// Registration order of live entries, for crash reinitialization.
std::list<RegisteredWorker*> ordered;
// Slots waiting to start, one LIFO list per start time (the back is the
// newest); each entry carries the sequence number of its insertion so the
// newest across the lists the server state allows goes first. Lists the
// state does not allow are not even looked at.
struct WaitingEntry {
  uint64_t seq;
  int slot;
};
std::vector<WaitingEntry> waiting[3];
uint64_t next_waiting_seq = 1;

struct RestartEntry {
  Clock::time_point when;
  int slot;
  uint64_t seq;
  bool operator>(const RestartEntry& o) const { return when > o.when; }
};
std::priority_queue<RestartEntry, std::vector<RestartEntry>, std::greater<>> restarts;
uint64_t next_seq = 1;
// notify pid -> slots whose registrant it is.
std::unordered_multimap<pid_t, int> by_notify_pid;

void NotifyRegistrant(const RegisteredWorker& rw) {
  if (rw.worker.bgw_notify_pid > 0) kill(rw.worker.bgw_notify_pid, SIGUSR1);
}

void DropNotifyIndex(const RegisteredWorker& rw) {
  pid_t p = rw.worker.bgw_notify_pid;
  if (p <= 0) return;
  auto range = by_notify_pid.equal_range(p);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == rw.slot) {
      by_notify_pid.erase(it);
      return;
    }
  }
}

// Unregisters: frees the shared slot (the registrant may reuse it at once),
// then tells the registrant. PostgreSQL's ForgetBackgroundWorker.
void Forget(RegisteredWorker* rw, bool notify) {
  int slot_index = rw->slot;
  WorkerSlot* slot = Slot(slot_index);
  BGW_DEBUG1("unregistering background worker \"%s\"", rw->worker.bgw_name);
  pid_t notify_pid = rw->worker.bgw_notify_pid;
  DropNotifyIndex(*rw);
  ordered.erase(rw->order_it);
  by_slot[slot_index].reset();
  if (slot != nullptr) {
    CountParallelTermination(slot->worker);
    slot->pid.store(0, std::memory_order_relaxed);
    // Pairs with the registrant's acquire load of in_use.
    slot->in_use.store(false, std::memory_order_release);
  }
  if (notify && notify_pid > 0) kill(notify_pid, SIGUSR1);
}

void ReportPid(RegisteredWorker* rw, pid_t pid) {
  if (WorkerSlot* slot = Slot(rw->slot)) slot->pid.store(pid, std::memory_order_release);
  NotifyRegistrant(*rw);
}

int StartIndex(const BackgroundWorker& w) {
  // Validated on registration: one of the three start times.
  return static_cast<int>(w.bgw_start_time);
}

void AddWaiting(RegisteredWorker* rw) {
  if (rw->waiting) return;
  rw->waiting = true;
  waiting[StartIndex(rw->worker)].push_back({next_waiting_seq++, rw->slot});
}

void ScheduleRestart(RegisteredWorker* rw) {
  auto delay = std::chrono::seconds(rw->worker.bgw_restart_time);
  rw->restart_seq = next_seq++;
  if (delay.count() == 0) {
    AddWaiting(rw);
    return;
  }
  restarts.push({*rw->crashed_at + delay, rw->slot, rw->restart_seq});
}

bool Allowed(StartPhase phase, BgWorkerStartTime start_time) {
  switch (phase) {
    case StartPhase::kAll:
      return true;
    case StartPhase::kConsistent:
      return start_time != BgWorkerStart_RecoveryFinished;
    case StartPhase::kPostmasterOnly:
      return start_time == BgWorkerStart_PostmasterStart;
    case StartPhase::kNone:
      return false;
  }
  return false;
}

RegisteredWorker* Add(const BackgroundWorker& w, int slot) {
  if (by_slot.size() < static_cast<size_t>(NumSlots())) by_slot.resize(NumSlots());
  auto rw = std::make_unique<RegisteredWorker>();
  rw->worker = w;
  rw->slot = slot;
  RegisteredWorker* p = rw.get();
  by_slot[slot] = std::move(rw);
  p->order_it = ordered.insert(ordered.end(), p);
  if (p->worker.bgw_notify_pid > 0) by_notify_pid.emplace(p->worker.bgw_notify_pid, slot);
  return p;
}

}  // namespace

namespace {
// RegisterBackgroundWorker reaches RegisterStatic through the workers
// layer's hook (worker_slots.h), which sits below this one.
[[maybe_unused]] const bool installed = (SetStaticRegistrar(&RegisterStatic), true);
}  // namespace

void RegisterStatic(const BackgroundWorker& worker) {
  BackgroundWorker w = worker;
  std::string error;
  if (!ValidateWorker(&w, &error)) {
    log::Log(log::Level::kLog, "%s", error.c_str());
    return;
  }
  if (w.bgw_notify_pid != 0) {
    log::Log(log::Level::kLog,
             "background worker \"%s\": only dynamic background workers can request "
             "notification",
             w.bgw_name);
    return;
  }
  if (static_cast<int>(static_workers.size()) + 1 > guc::max_worker_processes) {
    log::Message m;
    m.level = log::Level::kLog;
    m.sqlstate = "53400";
    m.text = "too many background workers";
    m.detail = guc::max_worker_processes == 1
                   ? "Up to 1 background worker can be registered with the current settings."
                   : StringPrintf(
                         "Up to %d background workers can be registered with the "
                         "current settings.",
                         guc::max_worker_processes);
    m.hint = "Consider increasing the configuration parameter \"max_worker_processes\".";
    log::Emit(m);
    return;
  }
  static_workers.push_back(w);
}

void PublishToSlots() {
  // First generation: the static registrations. Later generations (after a
  // crash): every survivor, static or dynamic, in registration order, with
  // its start count and last exit kept for bgw status.
  std::vector<BackgroundWorker> workers;
  std::vector<std::pair<int, int>> history;
  if (ordered.empty()) {
    workers = static_workers;
    static_workers.clear();
  } else {
    for (RegisteredWorker* rw : ordered) {
      workers.push_back(rw->worker);
      history.emplace_back(rw->starts, rw->last_status);
    }
  }
  ordered.clear();
  by_slot.clear();
  by_slot.resize(NumSlots());
  for (auto& list : waiting) list.clear();
  by_notify_pid.clear();
  restarts = {};
  int n = std::min<int>(static_cast<int>(workers.size()), NumSlots());
  for (int i = 0; i < n; i++) {
    WorkerSlot* slot = Slot(i);
    std::memcpy(&slot->worker, &workers[i], sizeof(BackgroundWorker));
    slot->worker.bgw_notify_pid = 0;
    slot->pid.store(kNotStarted, std::memory_order_relaxed);
    slot->generation.store(0, std::memory_order_relaxed);
    slot->terminate.store(false, std::memory_order_relaxed);
    slot->in_use.store(true, std::memory_order_release);
    RegisteredWorker* rw = Add(slot->worker, i);
    if (i < static_cast<int>(history.size())) {
      rw->starts = history[i].first;
      rw->last_status = history[i].second;
    }
    AddWaiting(rw);
  }
}

void AbsorbChanges(bool accept_new, const std::function<bool(pid_t)>& is_child_pid) {
  ForEachChanged([&](int index) {
    WorkerSlot* slot = Slot(index);
    // Pairs with the registrant's release store of in_use.
    if (!slot->in_use.load(std::memory_order_acquire)) return;
    RegisteredWorker* rw =
        by_slot.size() > static_cast<size_t>(index) ? by_slot[index].get() : nullptr;
    if (rw != nullptr) {
      if (slot->terminate.load(std::memory_order_acquire) && !rw->terminate) {
        rw->terminate = true;
        if (rw->pid > 0) {
          kill(rw->pid, SIGTERM);
        } else {
          // Never started (or between restarts): it is done now.
          Forget(rw, true);
        }
      }
      return;
    }
    // A new registration: copy, then validate the copy.
    BackgroundWorker w;
    std::memcpy(&w, &slot->worker, sizeof w);
    std::string error;
    bool cancel = slot->terminate.load(std::memory_order_acquire) || !accept_new;
    if (!cancel && !ValidateWorker(&w, &error)) {
      log::Log(log::Level::kLog, "%s", error.c_str());
      cancel = true;
    }
    if (w.bgw_notify_pid != 0 && !is_child_pid(w.bgw_notify_pid)) {
      BGW_DEBUG1("worker notification PID %d is not valid", static_cast<int>(w.bgw_notify_pid));
      w.bgw_notify_pid = 0;
    }
    if (cancel) {
      CountParallelTermination(slot->worker);
      slot->pid.store(0, std::memory_order_relaxed);
      slot->in_use.store(false, std::memory_order_release);
      if (w.bgw_notify_pid > 0) kill(w.bgw_notify_pid, SIGUSR1);
      return;
    }
    BGW_DEBUG1("registering background worker \"%s\"", w.bgw_name);
    AddWaiting(Add(w, index));
  });
}

bool StartWaiting(StartPhase phase, const Launcher& launch) {
  // The lists this state allows (indexes are BgWorkerStartTime values).
  bool allowed[3] = {false, false, false};
  for (int i = 0; i < 3; i++) allowed[i] = Allowed(phase, static_cast<BgWorkerStartTime>(i));
  // The allowed list whose newest entry is the newest overall, or -1.
  auto next_list = [&]() {
    int best = -1;
    for (int i = 0; i < 3; i++) {
      if (allowed[i] && !waiting[i].empty() &&
          (best < 0 || waiting[i].back().seq > waiting[best].back().seq)) {
        best = i;
      }
    }
    return best;
  };
  int launched = 0;
  for (int list = next_list(); list >= 0; list = next_list()) {
    if (launched == kMaxLaunchesPerPass) return true;  // more to do: next pass
    int index = waiting[list].back().slot;
    waiting[list].pop_back();
    RegisteredWorker* rw =
        static_cast<size_t>(index) < by_slot.size() ? by_slot[index].get() : nullptr;
    if (rw == nullptr || !rw->waiting) continue;
    rw->waiting = false;
    if (rw->pid > 0) continue;
    if (rw->terminate) {
      Forget(rw, true);
      continue;
    }
    launched++;
    rw->crashed_at.reset();
    Result<pid_t> pid = launch(index, rw->worker);
    if (!pid.ok()) {
      // PostgreSQL: a failed start counts as a crash of that worker only.
      log::EmitStatus(log::Level::kLog, pid.status());
      rw->crashed_at = Clock::now();
      if (rw->worker.bgw_restart_time == BGW_NEVER_RESTART) {
        Forget(rw, true);
      } else {
        // Retried after bgw_restart_time, but never sooner than a second:
        // a failure that persists (no free process slot) must not spin the
        // postmaster or starve the other workers.
        rw->restart_seq = next_seq++;
        auto delay = std::max<Clock::duration>(std::chrono::seconds(rw->worker.bgw_restart_time),
                                               std::chrono::seconds(1));
        restarts.push({*rw->crashed_at + delay, rw->slot, rw->restart_seq});
      }
      continue;
    }
    rw->pid = *pid;
    rw->starts++;
    ReportPid(rw, *pid);
  }
  return false;
}

void OnWorkerExit(int slot, pid_t pid, int status, bool server_crash) {
  RegisteredWorker* rw = static_cast<size_t>(slot) < by_slot.size() ? by_slot[slot].get() : nullptr;
  if (rw == nullptr || rw->pid != pid) return;
  rw->pid = 0;
  rw->last_status = status;
  bool exit0 = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (exit0) {
    rw->terminate = true;
    if (log::ShouldEmit(log::Level::kDebug1)) {
      log::Log(log::Level::kDebug1, "background worker \"%s\" (PID %d) exited with exit code 0",
               rw->worker.bgw_name, static_cast<int>(pid));
    }
  } else if (!server_crash) {
    if (WIFEXITED(status)) {
      log::Log(log::Level::kLog, "background worker \"%s\" (PID %d) exited with exit code %d",
               rw->worker.bgw_name, static_cast<int>(pid), WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      log::Log(log::Level::kLog,
               "background worker \"%s\" (PID %d) was terminated by signal %d: %s",
               rw->worker.bgw_name, static_cast<int>(pid), WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    }
    rw->crashed_at = Clock::now();
  } else {
    rw->crashed_at = Clock::now();
  }
  if (WorkerSlot* s = Slot(slot)) s->pid.store(0, std::memory_order_release);
  if (rw->terminate || rw->worker.bgw_restart_time == BGW_NEVER_RESTART) {
    Forget(rw, true);  // unregister before telling the registrant
    return;
  }
  NotifyRegistrant(*rw);
  // After a server crash, ResetAfterCrash() restarts survivors at once.
  if (!server_crash) ScheduleRestart(rw);
}

void OnChildExit(pid_t pid) {
  auto range = by_notify_pid.equal_range(pid);
  for (auto it = range.first; it != range.second; ++it) {
    if (RegisteredWorker* rw = by_slot[it->second].get()) rw->worker.bgw_notify_pid = 0;
  }
  by_notify_pid.erase(pid);
}

void ResetAfterCrash() {
  std::vector<RegisteredWorker*> all(ordered.begin(), ordered.end());
  for (RegisteredWorker* rw : all) {
    if (rw->worker.bgw_restart_time == BGW_NEVER_RESTART || rw->terminate) {
      Forget(rw, false);  // registrants are gone too
      continue;
    }
    rw->crashed_at.reset();
    rw->pid = 0;
    rw->worker.bgw_notify_pid = 0;
  }
}

void ForgetUnstartedWithWaiters() {
  std::vector<RegisteredWorker*> all(ordered.begin(), ordered.end());
  for (RegisteredWorker* rw : all) {
    if (rw->pid == 0 && rw->starts == 0 && rw->worker.bgw_notify_pid > 0) {
      Forget(rw, true);
    }
  }
}

std::optional<Clock::time_point> NextRestart() {
  while (!restarts.empty()) {
    const RestartEntry& top = restarts.top();
    RegisteredWorker* rw =
        static_cast<size_t>(top.slot) < by_slot.size() ? by_slot[top.slot].get() : nullptr;
    if (rw != nullptr && rw->restart_seq == top.seq && rw->crashed_at && rw->pid == 0) {
      return top.when;
    }
    restarts.pop();  // stale: forgotten, restarted, or rescheduled since
  }
  return std::nullopt;
}

void PromoteDueRestarts(Clock::time_point now) {
  while (auto when = NextRestart()) {
    if (*when > now) break;
    RestartEntry e = restarts.top();
    restarts.pop();
    if (RegisteredWorker* rw = by_slot[e.slot].get()) AddWaiting(rw);
  }
}

std::string WorkerName(int slot) {
  if (static_cast<size_t>(slot) >= by_slot.size() || !by_slot[slot]) return "";
  return by_slot[slot]->worker.bgw_name;
}

bool HasShmemAccess(int slot) {
  if (static_cast<size_t>(slot) >= by_slot.size() || !by_slot[slot]) return false;
  return (by_slot[slot]->worker.bgw_flags & BGWORKER_SHMEM_ACCESS) != 0;
}

int RegisteredCount() { return static_cast<int>(ordered.size()); }

std::string StatusReport() {
  std::string out = StringPrintf("workers: %d registered, %d slots\n",
                                 static_cast<int>(ordered.size()), NumSlots());
  auto now = Clock::now();
  for (RegisteredWorker* rw : ordered) {
    const char* state = rw->pid > 0      ? "running"
                        : rw->crashed_at ? "waiting to restart"
                        : rw->starts > 0 ? "stopped"
                                         : "not yet started";
    std::string last = "-";
    if (rw->last_status >= 0) {
      last = WIFEXITED(rw->last_status) ? StringPrintf("exit code %d", WEXITSTATUS(rw->last_status))
                                        : StringPrintf("signal %d", WTERMSIG(rw->last_status));
    }
    std::string restart_in;
    if (rw->crashed_at && rw->pid == 0) {
      auto at = *rw->crashed_at + std::chrono::seconds(rw->worker.bgw_restart_time);
      auto left = std::chrono::duration_cast<std::chrono::seconds>(at - now).count();
      restart_in =
          StringPrintf(" (restart in %llds)", static_cast<long long>(std::max<long long>(left, 0)));
    }
    out += StringPrintf(
        "  slot=%d name=\"%s\" type=\"%s\" function=%s.%s pid=%d state=%s%s starts=%d "
        "restarts=%d last_exit=%s\n",
        rw->slot, rw->worker.bgw_name, rw->worker.bgw_type, rw->worker.bgw_library_name,
        rw->worker.bgw_function_name, static_cast<int>(rw->pid), state, restart_in.c_str(),
        rw->starts, std::max(rw->starts - 1, 0), last.c_str());
  }
  return out;
}

}  // namespace bgw::bgworker
