// The postmaster's registry of background workers (PostgreSQL's
// BackgroundWorkerList and its handling in postmaster.c).
//
// Postmaster-private: no other process reads it, and it never trusts the
// shared slots it copies from (worker_slots.h). Everything per event is O(1)
// or O(log n) in the number of workers:
//   * registered workers are indexed by shared slot number;
//   * workers waiting to start are kept in a LIFO list (the newest
//     registration starts first, as in PostgreSQL), at most
//     kMaxLaunchesPerPass per pass;
//   * restart deadlines live in a min-heap; the postmaster's timer is armed
//     to the earliest one only;
//   * registrants are found by pid through a map, not a scan.
//
// Exit codes (PostgreSQL's): 0 = unregister; 1 = restart after
// bgw_restart_time (BGW_NEVER_RESTART: unregister); anything else, or a
// signal, for a worker attached to shared memory = crash of the server (the
// postmaster handles that; the registry then drops BGW_NEVER_RESTART workers
// and restarts the others at once, ResetAfterCrash()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "postgres/postmaster/bgworker.h"

namespace bgw::bgworker {

using Clock = std::chrono::steady_clock;

inline constexpr int kMaxLaunchesPerPass = 100;

// Which start times the server state allows (PostgreSQL's
// bgworker_should_start_now falls through the same way).
enum class StartPhase {
  kNone,            // shutting down or handling a crash: start nothing
  kPostmasterOnly,  // startup / recovery: BgWorkerStart_PostmasterStart
  kConsistent,      // hot standby: + ConsistentState
  kAll,             // run: + RecoveryFinished
};

// Postmaster, while preloading libraries: RegisterBackgroundWorker().
void RegisterStatic(const BackgroundWorker& worker);

// Postmaster, after shared memory was (re)created: puts every registered
// worker into a slot (static ones first at startup; after a crash, every
// survivor), all waiting to start.
void PublishToSlots();

// Postmaster, on PMSIGNAL kBackgroundWorkerChange: absorbs new registrations
// and termination requests. With accept_new false (shutting down) new
// registrations are cancelled and their registrants told.
// `is_child_pid` says whether a pid is a live child (valid bgw_notify_pid).
void AbsorbChanges(bool accept_new, const std::function<bool(pid_t)>& is_child_pid);

// What launching a worker needs from the postmaster: fork it, return its pid
// (or an error: treated as a crash of that worker, not of the server).
using Launcher = std::function<Result<pid_t>(int slot, const BackgroundWorker& worker)>;

// Postmaster: starts waiting workers the phase allows, newest first, at most
// kMaxLaunchesPerPass. Returns true when more remain that could start now
// (the caller should run another pass without sleeping).
bool StartWaiting(StartPhase phase, const Launcher& launch);

// Postmaster: the worker in `slot` (pid) exited with wait status `status`.
// `server_crash`: the postmaster treats this exit as a crash of the server.
void OnWorkerExit(int slot, pid_t pid, int status, bool server_crash);

// Postmaster: a child (any kind) exited; notifications to it stop.
void OnChildExit(pid_t pid);

// Postmaster: crash reinitialization: drop BGW_NEVER_RESTART workers, clear
// crash times, pids and notify pids of the others (they restart at once).
void ResetAfterCrash();

// Postmaster, entering shutdown: forget workers that never started and have
// a registrant waiting on them, and tell the registrant.
void ForgetUnstartedWithWaiters();

// Postmaster timer: the earliest pending restart, if any; and moving due
// restarts to the waiting list.
std::optional<Clock::time_point> NextRestart();
void PromoteDueRestarts(Clock::time_point now);

// Name for log lines about the worker in `slot` ("" if none).
std::string WorkerName(int slot);
bool HasShmemAccess(int slot);

// Human-readable table of every registered worker (bgw status).
std::string StatusReport();

// Number of registered workers (static + dynamic).
int RegisteredCount();

}  // namespace bgw::bgworker
