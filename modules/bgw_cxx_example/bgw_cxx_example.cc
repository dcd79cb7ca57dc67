// bgw_cxx_example: a background worker module written against the C++ API
// (include/bgworker/bgworker.h), beside the PostgreSQL-compatible C headers
// it still needs for the magic block, Datum, signals and GUCs.
//
// With shared_preload_libraries = 'bgw_cxx_example', _PG_init() registers
// one static worker, the launcher, through bgworker::RegisterStatic (restart
// delay as a std::chrono duration). The launcher runs the scenario named by
// bgw_cxx_example.scenario and logs what it saw as
// "bgw_cxx_example RESULT key=value ..." lines (tests/test_cxx_api.py):
//
//   demo     invalid definitions are refused as values (kInvalidSpec); an
//            ereport(ERROR) is caught as a value (CatchPgErrors);
//            bgw_cxx_example.workers sleepers are launched
//            (WorkerHandle::Register), their startup awaited with a timeout;
//            a wait for the shutdown of a sleeper that keeps running ends
//            with kTimeout after bgw_cxx_example.timeout_ms; one sleeper is
//            terminated and its shutdown awaited; a worker whose C++
//            exception escapes its body exits with an ordinary ERROR
//            (ExceptionBoundary). The remaining sleepers are terminated by
//            their handles' destructors (OnDestroy::kTerminate).
//   exhaust  sleepers are registered until the slots run out (kNoFreeSlot);
//            one is stopped and its slot reused.
//
// The ERROR rule (bgworker/error.h): no C++ object may be alive across a
// call that can raise ereport(ERROR) unless the call is wrapped; here every
// C API call that can raise ERROR (elog, ereport) goes through
// bgworker::CatchPgErrors, and each entry function is only an
// ExceptionBoundary around the C++ body.
#include "postgres.h"

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bgworker/bgworker.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"

// C linkage: the server looks these up by name with dlsym().
extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void bgw_cxx_example_launcher(Datum main_arg);
PGDLLEXPORT void bgw_cxx_example_sleeper(Datum main_arg);
PGDLLEXPORT void bgw_cxx_example_thrower(Datum main_arg);
}

namespace {

using namespace std::chrono_literals;
using bgworker::Errc;
using bgworker::ErrcName;
using bgworker::WorkerHandle;
using bgworker::WorkerSpec;
using bgworker::WorkerState;

constexpr const char* kLibrary = "bgw_cxx_example";

// Settings (the server owns the values; see _PG_init).
int example_workers = 3;
int example_timeout_ms = 100;
char* example_scenario = nullptr;

// What a launcher hands its sleepers through bgw_extra.
struct SleeperInfo {
  int32 launcher_pid;
  int32 index;
};

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

// elog(LOG) raises no ERROR in practice, but nothing promises it: a line is
// logged through CatchPgErrors like any C API call.
void Log(const std::string& line) {
  auto logged = bgworker::CatchPgErrors([&] { elog(LOG, "bgw_cxx_example %s", line.c_str()); });
  (void)logged;
}

void Result(const std::string& body) { Log("RESULT " + body); }

// "text", with " and \ escaped by a backslash (the test parses it back).
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

const char* StateName(WorkerState state) {
  switch (state) {
    case WorkerState::kNotYetStarted:
      return "kNotYetStarted";
    case WorkerState::kStarted:
      return "kStarted";
    case WorkerState::kStopped:
      return "kStopped";
    case WorkerState::kPostmasterDied:
      return "kPostmasterDied";
  }
  return "?";
}

WorkerSpec SleeperSpec(int index) {
  WorkerSpec spec;
  spec.name = Format("bgw_cxx_example sleeper %d", index);
  spec.type = "bgw_cxx_example sleeper";
  spec.library = kLibrary;
  spec.function = "bgw_cxx_example_sleeper";
  spec.access = bgworker::Access::kSharedMemory;
  spec.start = bgworker::StartTime::kRecoveryFinished;
  spec.restart_delay = std::nullopt;  // BGW_NEVER_RESTART
  spec.main_arg = static_cast<uint64_t>(index);
  spec.SetExtraValue(SleeperInfo{MyProcPid, index});
  return spec;  // notify_me: the launcher's latch is set on start and stop
}

// Registering definitions the server would refuse: errors as values, and
// the launcher carries on (no ERROR escapes).
void ShowInvalidSpecs() {
  WorkerSpec long_name = SleeperSpec(0);
  long_name.name = std::string(200, 'x');
  auto r1 = WorkerHandle::Register(long_name);
  Result(Format("invalid_name=%s", r1 ? "registered" : std::string(ErrcName(r1.code())).c_str()));
  if (!r1) Result("invalid_name_message=" + Quote(r1.error().message));

  WorkerSpec db_at_start = SleeperSpec(0);
  db_at_start.access = bgworker::Access::kDatabase;
  db_at_start.start = bgworker::StartTime::kPostmasterStart;
  auto r2 = WorkerHandle::Register(db_at_start);
  Result(Format("invalid_db_at_start=%s",
                r2 ? "registered" : std::string(ErrcName(r2.code())).c_str()));

  WorkerSpec negative_delay = SleeperSpec(0);
  negative_delay.restart_delay = -5s;
  auto r3 = WorkerHandle::Register(negative_delay);
  Result(
      Format("invalid_restart=%s", r3 ? "registered" : std::string(ErrcName(r3.code())).c_str()));

  std::vector<std::byte> too_much(bgworker::kExtraBytes + 1);
  auto r4 = negative_delay.SetExtra(too_much);
  Result(Format("invalid_extra=%s", r4 ? "accepted" : std::string(ErrcName(r4.code())).c_str()));
}

// An ereport(ERROR) caught as a value instead of unwinding the launcher.
void ShowCaughtError() {
  auto caught = bgworker::CatchPgErrors([] {
    ereport(ERROR, errcode(ERRCODE_DIVISION_BY_ZERO),
            errmsg("division by zero, raised on purpose"));
  });
  if (caught) {
    Result("caught_error=none");
    return;
  }
  Result(Format("caught_error=%s sqlstate=%s", std::string(ErrcName(caught.code())).c_str(),
                caught.error().sqlstate.c_str()));
}

void RunDemo() {
  ShowInvalidSpecs();
  ShowCaughtError();

  // Launch the sleepers. Their handles terminate them when destroyed.
  std::vector<WorkerHandle> sleepers;
  for (int i = 1; i <= example_workers; i++) {
    auto handle = WorkerHandle::Register(SleeperSpec(i), bgworker::OnDestroy::kTerminate);
    if (!handle) {
      Result(Format("register_failed=%d error=%s", i, Quote(handle.error().ToString()).c_str()));
      continue;
    }
    sleepers.push_back(std::move(*handle));
  }
  std::string pids;
  int started = 0;
  for (size_t i = 0; i < sleepers.size(); i++) {
    auto pid = sleepers[i].WaitForStartup(10s);
    if (!pid) {
      Result(Format("startup_failed=%zu error=%s", i + 1, Quote(pid.error().ToString()).c_str()));
      continue;
    }
    started++;
    pids += (pids.empty() ? "" : ",") + std::to_string(*pid);
  }
  Result(Format("started=%d pids=%s", started, pids.c_str()));
  if (sleepers.size() < 2 || started != static_cast<int>(sleepers.size())) {
    Result("demo_done=incomplete");
    return;
  }

  // A sleeper never stops on its own: waiting for its shutdown times out.
  {
    WorkerHandle& first = sleepers.front();
    const auto t0 = std::chrono::steady_clock::now();
    auto stopped = first.WaitForShutdown(std::chrono::milliseconds(example_timeout_ms));
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    pid_t pid = 0;
    const WorkerState state = first.State(&pid);
    Result(Format("timeout=%s elapsed_ms=%lld timeout_state=%s timeout_pid=%d",
                  stopped ? "stopped" : std::string(ErrcName(stopped.code())).c_str(),
                  static_cast<long long>(elapsed.count()), StateName(state),
                  static_cast<int>(pid)));
  }

  // Terminate the last one and wait, with a timeout, until it is gone.
  {
    WorkerHandle& last = sleepers.back();
    pid_t pid = 0;
    last.State(&pid);
    last.Terminate();
    auto stopped = last.WaitForShutdown(10s);
    Result(Format("terminated=%s terminated_pid=%d terminated_state=%s",
                  stopped ? "ok" : Quote(stopped.error().ToString()).c_str(), static_cast<int>(pid),
                  StateName(last.State())));
  }

  // A worker whose body throws: an ERROR and exit 1, not a crash.
  {
    WorkerSpec spec;
    spec.name = "bgw_cxx_example thrower";
    spec.library = kLibrary;
    spec.function = "bgw_cxx_example_thrower";
    spec.access = bgworker::Access::kSharedMemory;
    auto thrower = WorkerHandle::Register(spec);
    if (!thrower) {
      Result("thrower=" + Quote(thrower.error().ToString()));
    } else {
      auto stopped = thrower->WaitForShutdown(30s);
      Result("thrower=" + (stopped ? std::string("stopped") : Quote(stopped.error().ToString())));
    }
  }

  Result(Format("demo_done=1 remaining=%zu", sleepers.size() - 1));
  // `sleepers` goes out of scope: OnDestroy::kTerminate stops the rest.
}

// Fills every free slot, then frees one and reuses it.
void RunExhaust() {
  std::vector<WorkerHandle> held;
  std::string outcome = "none";
  for (int i = 1; i <= max_worker_processes + 1; i++) {
    auto handle = WorkerHandle::Register(SleeperSpec(i), bgworker::OnDestroy::kTerminate);
    if (!handle) {
      outcome = std::string(ErrcName(handle.code()));
      Result("exhaust_message=" + Quote(handle.error().ToString()));
      break;
    }
    held.push_back(std::move(*handle));
  }
  Result(Format("exhaust=%s registered=%zu max_worker_processes=%d", outcome.c_str(), held.size(),
                max_worker_processes));
  int started = 0;
  for (WorkerHandle& h : held) started += h.WaitForStartup(10s) ? 1 : 0;
  Result(Format("exhaust_started=%d", started));
  if (held.empty()) return;

  held.back().Terminate();
  auto stopped = held.back().WaitForShutdown(10s);
  held.pop_back();
  // The postmaster frees the slot as it reports the stop; allow it a moment.
  int attempts = 0;
  std::string reuse = "not tried";
  bgworker::Latch latch;
  while (stopped && attempts < 100) {
    attempts++;
    auto again = WorkerHandle::Register(SleeperSpec(99), bgworker::OnDestroy::kTerminate);
    if (again) {
      auto pid = again->WaitForStartup(10s);
      reuse = pid ? "ok" : Quote(pid.error().ToString());
      break;
    }
    reuse = std::string(ErrcName(again.code()));
    if (again.code() != Errc::kNoFreeSlot) break;
    latch.Wait(10ms);
    latch.Reset();
  }
  Result(Format("reuse=%s attempts=%d", reuse.c_str(), attempts));
  Result("exhaust_done=1");
}

void RunLauncher() {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  const BackgroundWorker& me = bgworker::CurrentWorker();
  const std::string scenario = example_scenario != nullptr ? example_scenario : "demo";
  Result(Format("launcher_pid=%d name=%s scenario=%s", MyProcPid,
                Quote(std::string(bgworker::FieldView(me.bgw_name))).c_str(), scenario.c_str()));
  if (scenario == "demo") {
    RunDemo();
  } else if (scenario == "exhaust") {
    RunExhaust();
  } else {
    Result("unknown_scenario=" + Quote(scenario));
  }
  // Returning exits 0: the launcher is unregistered, not restarted.
}

// Sleeps on its latch until terminated (SIGTERM: die, exit 1, unregistered
// as BGW_NEVER_RESTART) or until the server dies.
void RunSleeper(uint64_t index) {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  const auto info = bgworker::ReadExtra<SleeperInfo>(bgworker::CurrentWorker());
  Log(Format("sleeper %d started pid=%d launcher=%d arg=%llu", static_cast<int>(info.index),
             MyProcPid, static_cast<int>(info.launcher_pid),
             static_cast<unsigned long long>(index)));
  bgworker::Latch latch;
  for (;;) {
    latch.Wait(std::nullopt);  // exits if the server dies
    latch.Reset();
    if (auto ok = bgworker::CheckForInterrupts(); !ok) {
      Log("sleeper interrupted: " + ok.error().ToString());
      return;
    }
  }
}

}  // namespace

void bgw_cxx_example_launcher(Datum main_arg) {
  (void)main_arg;
  bgworker::ExceptionBoundary([] { RunLauncher(); });
}

void bgw_cxx_example_sleeper(Datum main_arg) {
  bgworker::ExceptionBoundary([&] { RunSleeper(DatumGetUInt64(main_arg)); });
}

void bgw_cxx_example_thrower(Datum main_arg) {
  (void)main_arg;
  bgworker::ExceptionBoundary(
      [] { throw std::runtime_error("bgw_cxx_example thrower: thrown on purpose"); });
}

void _PG_init(void) {
  // Settings first (a process that loads the library itself sees them too);
  // no C++ object is alive yet, so an ERROR here would unwind nothing.
  DefineCustomIntVariable("bgw_cxx_example.workers", "Sleepers the demo launches.", nullptr,
                          &example_workers, 3, 2, 16, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("bgw_cxx_example.timeout_ms",
                          "Timeout of the demo's wait that is meant to time out.", nullptr,
                          &example_timeout_ms, 100, 1, 60000, PGC_POSTMASTER, GUC_UNIT_MS, nullptr,
                          nullptr, nullptr);
  DefineCustomStringVariable("bgw_cxx_example.scenario", "What the launcher does: demo or exhaust.",
                             nullptr, &example_scenario, "demo", PGC_POSTMASTER, 0, nullptr,
                             nullptr, nullptr);
  MarkGUCPrefixReserved("bgw_cxx_example");
  if (!process_shared_preload_libraries_in_progress) return;

  WorkerSpec launcher;
  launcher.name = "bgw_cxx_example launcher";
  launcher.type = "bgw_cxx_example";
  launcher.library = kLibrary;
  launcher.function = "bgw_cxx_example_launcher";
  launcher.access = bgworker::Access::kSharedMemory;
  launcher.start = bgworker::StartTime::kRecoveryFinished;
  launcher.restart_delay = 10s;
  if (auto registered = bgworker::RegisterStatic(launcher); !registered) {
    Log("launcher not registered: " + registered.error().ToString());
  }
}
