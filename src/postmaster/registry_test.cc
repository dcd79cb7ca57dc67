// Tests of the postmaster's worker registry, driven directly: static
// registration and its limit, publishing to slots, launching (newest first,
// a bounded number per pass, only what the start phase allows), exits and
// restarts (exit 0, exit 1, BGW_NEVER_RESTART, signals, server crashes and
// the reset after them), launch failures, dynamic registrations and
// termination requests absorbed from shared memory, and registrant
// notifications.
//
// The registry is postmaster-global state with no reset, so every test runs
// in a forked child that starts from the test process's untouched registry
// and a fresh shared memory segment. The launcher is a fake that records its
// calls and returns pids above the kernel's PID_MAX_LIMIT (4194304), so a
// kill() the registry sends to them can never reach a real process; tests
// that need a real worker fork one.
//
// Registrant notifications (SIGUSR1 to bgw_notify_pid) are observed by
// naming the test child itself as the registrant and counting SIGUSR1.
// pmsignal::Send (the registrant's poke to the postmaster) also sends SIGUSR1
// to the test child, so counts are reset after each NotifyPostmaster.

// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include "postmaster/registry.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/log.h"
#include "guc/settings.h"
#include "ipc/ipc_testing.h"
#include "ipc/pmsignal.h"
#include "ipc/segment.h"
#include "workers/worker_slots.h"

namespace bgw::bgworker {
namespace {

using bgw::testing::WaitStatus;
using std::chrono::seconds;

constexpr pid_t kFirstFakePid = 5000000;

volatile sig_atomic_t usr1_count = 0;
void CountUsr1(int) { usr1_count = usr1_count + 1; }

BackgroundWorker MakeWorker(const std::string& name,
                            BgWorkerStartTime start = BgWorkerStart_PostmasterStart,
                            int restart_time = 5, int flags = BGWORKER_SHMEM_ACCESS) {
  BackgroundWorker w;
  std::memset(&w, 0, sizeof w);
  std::snprintf(w.bgw_name, BGW_MAXLEN, "%s", name.c_str());
  w.bgw_flags = flags;
  w.bgw_start_time = start;
  w.bgw_restart_time = restart_time;
  std::snprintf(w.bgw_library_name, BGW_MAXLEN, "testlib");
  std::snprintf(w.bgw_function_name, BGW_MAXLEN, "test_main");
  return w;
}

// Everything one test child needs: a fresh segment with pmsignal state and
// worker slots, the log captured, SIGUSR1 counted, and a recording launcher.
class Env {
 public:
  explicit Env(int max_workers) {
    char name[] = "/tmp/bgw_registry_test_XXXXXX";
    log_fd_ = mkostemp(name, O_CLOEXEC);
    unlink(name);
    dup2(log_fd_, 2);
    log::Options o;
    o.min_level = log::Level::kLog;
    o.line_prefix = "";
    o.to_stderr = true;
    log::Configure(o);

    struct sigaction sa = {};
    sa.sa_handler = CountUsr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);

    guc::max_worker_processes = max_workers;
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    shmem::RequestSpace(pmsignal::ShmemSize(8));
    shmem::RequestSpace(ShmemSize(max_workers));
    EXPECT_TRUE(shmem::CreateMainSegment().ok());
    pmsignal::ShmemInit(8);
    ShmemInit(max_workers);
    EXPECT_EQ(NumSlots(), max_workers);
    EXPECT_EQ(RegisteredCount(), 0) << "the test process's registry is not empty";
  }

  // A new shared memory generation, as the postmaster's crash
  // reinitialization makes it.
  void Reinitialize() {
    ResetAfterCrash();
    shmem::DestroyMainSegment();
    EXPECT_TRUE(shmem::CreateMainSegment().ok());
    pmsignal::ShmemInit(8);
    ShmemInit(guc::max_worker_processes);
    PublishToSlots();
  }

  std::string Log() const {
    std::string out;
    char buf[4096];
    off_t off = 0;
    ssize_t n;
    while ((n = pread(log_fd_, buf, sizeof buf, off)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

  Launcher launcher() {
    return [this](int slot, const BackgroundWorker& w) -> Result<pid_t> {
      launched.push_back(slot);
      launched_names.push_back(w.bgw_name);
      if (fail_slots.count(slot) != 0) {
        return Status::Error(
            "could not fork background worker process: Resource temporarily "
            "unavailable");
      }
      pid_t pid = next_pid++;
      pids[slot] = pid;
      return pid;
    };
  }

  // A launcher that forks a real, idle worker process.
  Launcher real_launcher() {
    return [this](int slot, const BackgroundWorker&) -> Result<pid_t> {
      launched.push_back(slot);
      fflush(nullptr);
      pid_t pid = fork();
      if (pid < 0) return Status::FromErrno("could not fork");
      if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        for (;;) pause();
      }
      pids[slot] = pid;
      return pid;
    };
  }

  // Fills a free slot the way RegisterDynamicBackgroundWorker does and pokes
  // the postmaster. Returns the slot, or -1.
  int RegisterDynamic(const BackgroundWorker& w) {
    int index = -1;
    {
      RegistrantsLock lock;
      for (int i = 0; i < NumSlots(); i++) {
        WorkerSlot* slot = Slot(i);
        if (slot->in_use.load(std::memory_order_acquire)) continue;
        std::memcpy(&slot->worker, &w, sizeof w);
        slot->pid.store(kNotStarted, std::memory_order_relaxed);
        slot->generation.store(slot->generation.load() + 1, std::memory_order_relaxed);
        slot->terminate.store(false, std::memory_order_relaxed);
        slot->in_use.store(true, std::memory_order_release);
        index = i;
        break;
      }
    }
    if (index >= 0) NotifyPostmaster(index);
    return index;
  }

  // TerminateBackgroundWorker's side.
  void RequestTerminate(int index) {
    {
      RegistrantsLock lock;
      Slot(index)->terminate.store(true, std::memory_order_release);
    }
    NotifyPostmaster(index);
  }

  static bool AnyPidIsChild(pid_t) { return true; }

  std::vector<int> launched;
  std::vector<std::string> launched_names;
  std::set<int> fail_slots;
  std::map<int, pid_t> pids;  // slot -> pid of the latest launch
  pid_t next_pid = kFirstFakePid;

 private:
  int log_fd_ = -1;
};

// Runs body(env) in a forked child with a fresh registry environment.
template <typename F>
void InChild(int max_workers, F&& body) {
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0) << strerror(errno);
  if (pid == 0) {
    Env env(max_workers);
    if (!::testing::Test::HasFailure()) body(env);
    if (::testing::Test::HasFailure())
      printf("--- server log of the failed test ---\n%s", env.Log().c_str());
    fflush(nullptr);
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int status = WaitStatus(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child wait status " << status;
}

std::vector<int> Seq(std::initializer_list<int> v) { return std::vector<int>(v); }

TEST(RegistryTest, RegisterStaticEnforcesMaxWorkerProcesses) {
  InChild(2, [](Env& env) {
    RegisterStatic(MakeWorker("a"));
    RegisterStatic(MakeWorker("b"));
    RegisterStatic(MakeWorker("c"));
    EXPECT_EQ(env.Log(),
              "LOG:  too many background workers\n"
              "DETAIL:  Up to 2 background workers can be registered with the current "
              "settings.\n"
              "HINT:  Consider increasing the configuration parameter "
              "\"max_worker_processes\".\n");
    PublishToSlots();
    EXPECT_EQ(RegisteredCount(), 2);
    EXPECT_EQ(WorkerName(0), "a");
    EXPECT_EQ(WorkerName(1), "b");
  });
}

TEST(RegistryTest, RegisterStaticLimitOfOneUsesTheSingular) {
  InChild(1, [](Env& env) {
    RegisterStatic(MakeWorker("a"));
    RegisterStatic(MakeWorker("b"));
    EXPECT_NE(env.Log().find("DETAIL:  Up to 1 background worker can be registered with the "
                             "current settings.\n"),
              std::string::npos)
        << env.Log();
    PublishToSlots();
    EXPECT_EQ(RegisteredCount(), 1);
  });
}

TEST(RegistryTest, RegisterStaticRejectsInvalidAndNotifyingWorkers) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("bad restart", BgWorkerStart_PostmasterStart, -3));
    BackgroundWorker notifying = MakeWorker("notifying");
    notifying.bgw_notify_pid = getpid();
    RegisterStatic(notifying);
    RegisterStatic(MakeWorker("good"));
    EXPECT_EQ(env.Log(),
              "LOG:  background worker \"bad restart\": invalid restart interval\n"
              "LOG:  background worker \"notifying\": only dynamic background workers can "
              "request notification\n");
    PublishToSlots();
    EXPECT_EQ(RegisteredCount(), 1);
    EXPECT_EQ(WorkerName(0), "good");
    // Rejected registrations do not count against the limit.
    EXPECT_EQ(WorkerName(1), "");
  });
}

TEST(RegistryTest, PublishToSlotsFillsSlotsAndQueuesEveryWorker) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("with shmem"));
    RegisterStatic(MakeWorker("without shmem", BgWorkerStart_PostmasterStart, 5, 0));
    PublishToSlots();
    EXPECT_EQ(RegisteredCount(), 2);
    for (int i = 0; i < 2; i++) {
      WorkerSlot* s = Slot(i);
      EXPECT_TRUE(s->in_use.load());
      EXPECT_FALSE(s->terminate.load());
      EXPECT_EQ(s->pid.load(), kNotStarted);
      EXPECT_EQ(s->generation.load(), 0u);
      EXPECT_EQ(s->worker.bgw_notify_pid, 0);
    }
    EXPECT_STREQ(Slot(0)->worker.bgw_name, "with shmem");
    EXPECT_STREQ(Slot(0)->worker.bgw_type, "with shmem") << "type filled from the name";
    EXPECT_FALSE(Slot(2)->in_use.load());
    EXPECT_EQ(WorkerName(1), "without shmem");
    EXPECT_TRUE(HasShmemAccess(0));
    EXPECT_FALSE(HasShmemAccess(1));
    EXPECT_FALSE(HasShmemAccess(2));
    EXPECT_EQ(WorkerName(99), "");
    EXPECT_EQ(WorkerName(-1), "");
    std::string report = StatusReport();
    EXPECT_NE(report.find("workers: 2 registered, 4 slots"), std::string::npos) << report;
    EXPECT_NE(report.find("name=\"with shmem\""), std::string::npos) << report;
    EXPECT_NE(report.find("state=not yet started"), std::string::npos) << report;
    EXPECT_NE(report.find("function=testlib.test_main"), std::string::npos) << report;
    // Every one of them is waiting to start.
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched.size(), 2u);
  });
}

TEST(RegistryTest, StartWaitingLaunchesNewestFirstAndPublishesPids) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("oldest"));
    RegisterStatic(MakeWorker("middle"));
    RegisterStatic(MakeWorker("newest"));
    PublishToSlots();
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({2, 1, 0}));
    EXPECT_EQ(env.launched_names, (std::vector<std::string>{"newest", "middle", "oldest"}));
    for (int i = 0; i < 3; i++) {
      EXPECT_EQ(Slot(i)->pid.load(), env.pids[i]) << i;
      EXPECT_GT(env.pids[i], 0);
    }
    // Running workers are not launched again.
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched.size(), 3u);
    std::string report = StatusReport();
    EXPECT_NE(report.find("state=running starts=1 restarts=0 last_exit=-"), std::string::npos)
        << report;
  });
}

TEST(RegistryTest, AtMostMaxLaunchesPerPass) {
  static constexpr int kWorkers = 2 * kMaxLaunchesPerPass + 50;
  InChild(kWorkers, [](Env& env) {
    for (int i = 0; i < kWorkers; i++) RegisterStatic(MakeWorker("w" + std::to_string(i)));
    PublishToSlots();
    ASSERT_EQ(RegisteredCount(), kWorkers);
    EXPECT_TRUE(StartWaiting(StartPhase::kAll, env.launcher()));
    ASSERT_EQ(env.launched.size(), size_t{kMaxLaunchesPerPass});
    EXPECT_EQ(env.launched.front(), kWorkers - 1);
    EXPECT_EQ(env.launched.back(), kWorkers - kMaxLaunchesPerPass);
    EXPECT_TRUE(StartWaiting(StartPhase::kAll, env.launcher()));
    ASSERT_EQ(env.launched.size(), size_t{2 * kMaxLaunchesPerPass});
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    ASSERT_EQ(env.launched.size(), size_t{kWorkers});
    EXPECT_EQ(env.launched.back(), 0);
    EXPECT_EQ(std::set<int>(env.launched.begin(), env.launched.end()).size(), size_t{kWorkers});
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
  });
}

TEST(RegistryTest, ExactlyMaxLaunchesLeavesNothingMore) {
  InChild(kMaxLaunchesPerPass, [](Env& env) {
    for (int i = 0; i < kMaxLaunchesPerPass; i++) RegisterStatic(MakeWorker("w"));
    PublishToSlots();
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched.size(), size_t{kMaxLaunchesPerPass});
  });
}

// Which start times each server phase allows (bgworker_should_start_now).
TEST(RegistryTest, StartTimeByPhaseMatrix) {
  struct Case {
    StartPhase phase;
    std::vector<std::string> started;  // newest first
  };
  const Case cases[] = {
      {StartPhase::kNone, {}},
      {StartPhase::kPostmasterOnly, {"postmaster"}},
      {StartPhase::kConsistent, {"consistent", "postmaster"}},
      {StartPhase::kAll, {"finished", "consistent", "postmaster"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.phase));
    InChild(4, [&c](Env& env) {
      RegisterStatic(MakeWorker("postmaster", BgWorkerStart_PostmasterStart));
      RegisterStatic(MakeWorker("consistent", BgWorkerStart_ConsistentState));
      RegisterStatic(MakeWorker("finished", BgWorkerStart_RecoveryFinished));
      PublishToSlots();
      EXPECT_FALSE(StartWaiting(c.phase, env.launcher()));
      EXPECT_EQ(env.launched_names, c.started);
    });
  }
}

// Workers the phase does not allow yet stay queued, in order, and start when
// the phase advances.
TEST(RegistryTest, DeferredWorkersStartWhenThePhaseAdvances) {
  InChild(8, [](Env& env) {
    RegisterStatic(MakeWorker("pm0", BgWorkerStart_PostmasterStart));
    RegisterStatic(MakeWorker("rf1", BgWorkerStart_RecoveryFinished));
    RegisterStatic(MakeWorker("cs2", BgWorkerStart_ConsistentState));
    RegisterStatic(MakeWorker("pm3", BgWorkerStart_PostmasterStart));
    RegisterStatic(MakeWorker("rf4", BgWorkerStart_RecoveryFinished));
    PublishToSlots();
    EXPECT_FALSE(StartWaiting(StartPhase::kPostmasterOnly, env.launcher()));
    EXPECT_EQ(env.launched, Seq({3, 0}));
    EXPECT_FALSE(StartWaiting(StartPhase::kNone, env.launcher()));
    EXPECT_FALSE(StartWaiting(StartPhase::kPostmasterOnly, env.launcher()));
    EXPECT_EQ(env.launched.size(), 2u);
    EXPECT_FALSE(StartWaiting(StartPhase::kConsistent, env.launcher()));
    EXPECT_EQ(env.launched, Seq({3, 0, 2}));
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({3, 0, 2, 4, 1}));
  });
}

// When a pass stops at kMaxLaunchesPerPass, the workers it skipped as not
// yet allowed are newer than the ones still queued and must keep starting
// first once allowed ("newest first").
TEST(RegistryTest, DeferredWorkersKeepNewestFirstAcrossAFullPass) {
  static constexpr int kWorkers = kMaxLaunchesPerPass + 2;
  InChild(kWorkers, [](Env& env) {
    // Slots 0..100 may start at postmaster start; slot 101 (the newest) only
    // once recovery finished.
    for (int i = 0; i < kWorkers - 1; i++) RegisterStatic(MakeWorker("pm"));
    RegisterStatic(MakeWorker("newest", BgWorkerStart_RecoveryFinished));
    PublishToSlots();
    EXPECT_TRUE(StartWaiting(StartPhase::kPostmasterOnly, env.launcher()));
    ASSERT_EQ(env.launched.size(), size_t{kMaxLaunchesPerPass});
    env.launched.clear();
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({kWorkers - 1, 0}));
  });
}

TEST(RegistryTest, ExitCodeZeroUnregisters) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("once"));
    RegisterStatic(MakeWorker("other"));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    pid_t pid = env.pids[0];
    OnWorkerExit(0, pid, W_EXITCODE(0, 0), false);
    EXPECT_FALSE(Slot(0)->in_use.load()) << "the slot is free for new registrations";
    EXPECT_EQ(Slot(0)->pid.load(), 0);
    EXPECT_EQ(RegisteredCount(), 1);
    EXPECT_EQ(WorkerName(0), "");
    EXPECT_FALSE(NextRestart().has_value());
    env.launched.clear();
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_TRUE(env.launched.empty());
    EXPECT_EQ(env.Log(), "") << "exit 0 is not worth a LOG line";
    // A second report of the same exit changes nothing.
    OnWorkerExit(0, pid, W_EXITCODE(0, 0), false);
    EXPECT_EQ(RegisteredCount(), 1);
  });
}

TEST(RegistryTest, ExitCodeOneRestartsAfterRestartTime) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("restarts", BgWorkerStart_PostmasterStart, 5));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    pid_t pid = env.pids[0];
    auto before = Clock::now();
    OnWorkerExit(0, pid, W_EXITCODE(1, 0), false);
    auto after = Clock::now();
    EXPECT_TRUE(Slot(0)->in_use.load());
    EXPECT_EQ(Slot(0)->pid.load(), 0);
    EXPECT_EQ(RegisteredCount(), 1);
    EXPECT_EQ(env.Log(), "LOG:  background worker \"restarts\" (PID " + std::to_string(pid) +
                             ") exited with exit code 1\n");
    std::optional<Clock::time_point> next = NextRestart();
    ASSERT_TRUE(next.has_value());
    EXPECT_GE(*next, before + seconds(5));
    EXPECT_LE(*next, after + seconds(5));
    std::string report = StatusReport();
    EXPECT_NE(report.find("state=waiting to restart"), std::string::npos) << report;
    EXPECT_NE(report.find("last_exit=exit code 1"), std::string::npos) << report;

    // Not due yet: nothing starts.
    env.launched.clear();
    PromoteDueRestarts(Clock::now());
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_TRUE(env.launched.empty());
    EXPECT_TRUE(NextRestart().has_value());

    // Due: it starts again, once.
    PromoteDueRestarts(*next);
    EXPECT_FALSE(NextRestart().has_value());
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({0}));
    EXPECT_EQ(Slot(0)->pid.load(), env.pids[0]);
    EXPECT_NE(env.pids[0], pid);
    report = StatusReport();
    EXPECT_NE(report.find("state=running starts=2 restarts=1"), std::string::npos) << report;
  });
}

TEST(RegistryTest, RestartTimeZeroWaitsAtOnce) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("eager", BgWorkerStart_PostmasterStart, 0));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    OnWorkerExit(0, env.pids[0], W_EXITCODE(1, 0), false);
    EXPECT_FALSE(NextRestart().has_value()) << "no timer needed";
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({0, 0}));
  });
}

TEST(RegistryTest, NeverRestartUnregistersOnExitCodeOne) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("one shot", BgWorkerStart_PostmasterStart, BGW_NEVER_RESTART));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    OnWorkerExit(0, env.pids[0], W_EXITCODE(1, 0), false);
    EXPECT_FALSE(Slot(0)->in_use.load());
    EXPECT_EQ(RegisteredCount(), 0);
    EXPECT_FALSE(NextRestart().has_value());
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched.size(), 1u);
  });
}

// A worker without shared memory cannot crash the server: a death by signal
// is a restart like exit 1.
TEST(RegistryTest, SignalDeathWithoutServerCrashSchedulesARestart) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("no shmem", BgWorkerStart_PostmasterStart, 7, 0));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    pid_t pid = env.pids[0];
    OnWorkerExit(0, pid, W_EXITCODE(0, SIGKILL), false);
    EXPECT_EQ(env.Log(), "LOG:  background worker \"no shmem\" (PID " + std::to_string(pid) +
                             ") was terminated by signal 9: Killed\n");
    EXPECT_TRUE(Slot(0)->in_use.load());
    ASSERT_TRUE(NextRestart().has_value());
    EXPECT_GT(*NextRestart(), Clock::now() + seconds(6));
    EXPECT_NE(StatusReport().find("last_exit=signal 9"), std::string::npos) << StatusReport();
  });
}

// The server crash path: nothing restarts on its own; ResetAfterCrash drops
// the BGW_NEVER_RESTART workers and the next generation starts the rest at
// once, in registration order, keeping their history.
TEST(RegistryTest, ServerCrashThenReinitialization) {
  InChild(6, [](Env& env) {
    RegisterStatic(MakeWorker("crasher", BgWorkerStart_PostmasterStart, 30));
    RegisterStatic(MakeWorker("never", BgWorkerStart_PostmasterStart, BGW_NEVER_RESTART));
    RegisterStatic(MakeWorker("survivor", BgWorkerStart_RecoveryFinished, 30));
    RegisterStatic(MakeWorker("stopped", BgWorkerStart_PostmasterStart, BGW_NEVER_RESTART));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    ASSERT_EQ(env.launched.size(), 4u);
    OnWorkerExit(0, env.pids[0], W_EXITCODE(0, SIGSEGV), true);
    EXPECT_FALSE(NextRestart().has_value()) << "crash: no timer-based restart";
    EXPECT_TRUE(Slot(0)->in_use.load());
    // The others are stopped by the postmaster (SIGQUIT): also server-crash exits.
    OnWorkerExit(1, env.pids[1], W_EXITCODE(0, SIGQUIT), true);
    OnWorkerExit(2, env.pids[2], W_EXITCODE(2, 0), true);
    OnWorkerExit(3, env.pids[3], W_EXITCODE(2, 0), true);
    EXPECT_FALSE(NextRestart().has_value());
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher())) << "nothing restarts by itself";
    EXPECT_EQ(env.launched.size(), 4u);

    env.Reinitialize();
    EXPECT_EQ(RegisteredCount(), 2);
    EXPECT_EQ(WorkerName(0), "crasher");
    EXPECT_EQ(WorkerName(1), "survivor");
    EXPECT_EQ(WorkerName(2), "");
    EXPECT_TRUE(Slot(1)->in_use.load());
    EXPECT_FALSE(Slot(2)->in_use.load());
    std::string report = StatusReport();
    EXPECT_NE(report.find("name=\"crasher\" type=\"crasher\" function=testlib.test_main pid=0 "
                          "state=stopped starts=1 restarts=0 last_exit=signal 11"),
              std::string::npos)
        << report;

    env.launched.clear();
    EXPECT_FALSE(StartWaiting(StartPhase::kPostmasterOnly, env.launcher()));
    EXPECT_EQ(env.launched, Seq({0}));
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({0, 1}));
    EXPECT_NE(StatusReport().find("starts=2 restarts=1"), std::string::npos) << StatusReport();
  });
}

// A worker that exited 0 before the crash stays gone.
TEST(RegistryTest, ReinitializationDoesNotResurrectUnregisteredWorkers) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("done"));
    RegisterStatic(MakeWorker("crasher"));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    OnWorkerExit(0, env.pids[0], W_EXITCODE(0, 0), false);
    OnWorkerExit(1, env.pids[1], W_EXITCODE(3, 0), true);
    env.Reinitialize();
    EXPECT_EQ(RegisteredCount(), 1);
    EXPECT_EQ(WorkerName(0), "crasher");
  });
}

TEST(RegistryTest, LaunchFailureCountsAsACrashOfThatWorkerOnly) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("fine"));
    RegisterStatic(MakeWorker("unlucky", BgWorkerStart_PostmasterStart, 10));
    RegisterStatic(MakeWorker("unlucky once", BgWorkerStart_PostmasterStart, BGW_NEVER_RESTART));
    PublishToSlots();
    env.fail_slots = {1, 2};
    auto before = Clock::now();
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    auto after = Clock::now();
    EXPECT_EQ(env.launched, Seq({2, 1, 0})) << "the failures do not stop the pass";
    EXPECT_EQ(Slot(0)->pid.load(), env.pids[0]);
    // Failed with a restart interval: waits for it, like a crash.
    EXPECT_TRUE(Slot(1)->in_use.load());
    EXPECT_EQ(Slot(1)->pid.load(), kNotStarted);
    std::optional<Clock::time_point> next = NextRestart();
    ASSERT_TRUE(next.has_value());
    EXPECT_GE(*next, before + seconds(10));
    EXPECT_LE(*next, after + seconds(10));
    // Failed and never restarts: unregistered.
    EXPECT_FALSE(Slot(2)->in_use.load());
    EXPECT_EQ(RegisteredCount(), 2);
    std::string log = env.Log();
    EXPECT_EQ(log,
              "LOG:  could not fork background worker process: Resource temporarily "
              "unavailable\n"
              "LOG:  could not fork background worker process: Resource temporarily "
              "unavailable\n");

    env.fail_slots.clear();
    env.launched.clear();
    PromoteDueRestarts(*next);
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({1}));
    EXPECT_EQ(Slot(1)->pid.load(), env.pids[1]);
  });
}

// A launch failure of a worker with bgw_restart_time 0 must not put it
// straight back on the waiting list: retried in the same pass, it would
// spin the postmaster and starve older workers while the failure persists.
TEST(RegistryTest, FailingWorkerWithRestartTimeZeroDoesNotStarveOthers) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("older"));
    RegisterStatic(MakeWorker("failing", BgWorkerStart_PostmasterStart, 0));
    PublishToSlots();
    env.fail_slots = {1};
    StartWaiting(StartPhase::kAll, env.launcher());
    EXPECT_EQ(env.launched, Seq({1, 0}));
    EXPECT_EQ(Slot(0)->pid.load(), env.pids[0]) << "the older worker was never started";
  });
}

TEST(RegistryTest, StaleRestartEntriesAreSkipped) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("slow", BgWorkerStart_PostmasterStart, 100));
    RegisterStatic(MakeWorker("fast", BgWorkerStart_PostmasterStart, 10));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    OnWorkerExit(0, env.pids[0], W_EXITCODE(1, 0), false);
    OnWorkerExit(1, env.pids[1], W_EXITCODE(1, 0), false);
    std::optional<Clock::time_point> fast = NextRestart();
    ASSERT_TRUE(fast.has_value());
    EXPECT_LT(*fast, Clock::now() + seconds(11));
    // "fast" is terminated while it waits: its timer entry goes stale.
    usr1_count = 0;
    env.RequestTerminate(1);
    AbsorbChanges(true, Env::AnyPidIsChild);
    EXPECT_FALSE(Slot(1)->in_use.load());
    std::optional<Clock::time_point> slow = NextRestart();
    ASSERT_TRUE(slow.has_value());
    EXPECT_GT(*slow, Clock::now() + seconds(90));
    env.launched.clear();
    PromoteDueRestarts(*fast + seconds(1));
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_TRUE(env.launched.empty());
    PromoteDueRestarts(*slow);
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({0}));
  });
}

TEST(RegistryTest, OnWorkerExitIgnoresUnknownSlotsAndPids) {
  InChild(4, [](Env& env) {
    RegisterStatic(MakeWorker("w"));
    PublishToSlots();
    StartWaiting(StartPhase::kAll, env.launcher());
    OnWorkerExit(0, env.pids[0] + 1, W_EXITCODE(0, 0), false);  // not its pid
    OnWorkerExit(3, env.pids[0], W_EXITCODE(0, 0), false);      // empty slot
    OnWorkerExit(1000, env.pids[0], W_EXITCODE(0, 0), false);   // no such slot
    EXPECT_EQ(RegisteredCount(), 1);
    EXPECT_EQ(Slot(0)->pid.load(), env.pids[0]);
  });
}

TEST(RegistryTest, AbsorbChangesPicksUpADynamicRegistration) {
  InChild(4, [](Env& env) {
    PublishToSlots();  // no static workers
    BackgroundWorker w = MakeWorker("dynamic", BgWorkerStart_RecoveryFinished, BGW_NEVER_RESTART);
    w.bgw_notify_pid = getpid();
    int index = env.RegisterDynamic(w);
    ASSERT_EQ(index, 0);
    EXPECT_TRUE(pmsignal::CheckAndClear(pmsignal::Reason::kBackgroundWorkerChange));
    usr1_count = 0;
    std::vector<pid_t> asked;
    AbsorbChanges(true, [&](pid_t p) {
      asked.push_back(p);
      return p == getpid();
    });
    EXPECT_EQ(asked, std::vector<pid_t>{getpid()});
    EXPECT_EQ(RegisteredCount(), 1);
    EXPECT_EQ(WorkerName(0), "dynamic");
    EXPECT_EQ(Slot(0)->pid.load(), kNotStarted) << "registered, not yet started";
    // Absorbing again without a new mark does nothing.
    AbsorbChanges(true, Env::AnyPidIsChild);
    EXPECT_EQ(RegisteredCount(), 1);

    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({0}));
    EXPECT_EQ(Slot(0)->pid.load(), env.pids[0]);
    EXPECT_EQ(usr1_count, 1) << "the registrant is told the worker started";
    EXPECT_EQ(env.launched_names, std::vector<std::string>{"dynamic"});

    OnWorkerExit(0, env.pids[0], W_EXITCODE(0, 0), false);
    EXPECT_EQ(usr1_count, 2) << "and that it stopped";
    EXPECT_FALSE(Slot(0)->in_use.load());
    EXPECT_EQ(Slot(0)->pid.load(), 0);
  });
}

TEST(RegistryTest, AbsorbChangesRejectsAnInvalidRegistration) {
  InChild(4, [](Env& env) {
    PublishToSlots();
    BackgroundWorker w = MakeWorker("broken");
    w.bgw_function_name[0] = '\0';
    w.bgw_notify_pid = getpid();
    int index = env.RegisterDynamic(w);
    ASSERT_GE(index, 0);
    usr1_count = 0;
    AbsorbChanges(true, Env::AnyPidIsChild);
    EXPECT_EQ(RegisteredCount(), 0);
    EXPECT_FALSE(Slot(index)->in_use.load()) << "the slot is freed";
    EXPECT_EQ(Slot(index)->pid.load(), 0) << "the registrant reads STOPPED";
    EXPECT_EQ(usr1_count, 1) << "the registrant is told";
    EXPECT_EQ(env.Log(),
              "LOG:  background worker \"broken\": library and function names are required\n");
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_TRUE(env.launched.empty());
  });
}

TEST(RegistryTest, AbsorbChangesWhileShuttingDownCancelsNewRegistrations) {
  InChild(4, [](Env& env) {
    PublishToSlots();
    int index = env.RegisterDynamic(MakeWorker("too late"));
    ASSERT_GE(index, 0);
    AbsorbChanges(false, Env::AnyPidIsChild);
    EXPECT_EQ(RegisteredCount(), 0);
    EXPECT_FALSE(Slot(index)->in_use.load());
    EXPECT_EQ(Slot(index)->pid.load(), 0);
    EXPECT_EQ(env.Log(), "");
  });
}

TEST(RegistryTest, TerminateRequestedBeforeAbsorbingCancels) {
  InChild(4, [](Env& env) {
    PublishToSlots();
    int index = env.RegisterDynamic(MakeWorker("short lived"));
    env.RequestTerminate(index);
    AbsorbChanges(true, Env::AnyPidIsChild);
    EXPECT_EQ(RegisteredCount(), 0);
    EXPECT_FALSE(Slot(index)->in_use.load());
  });
}

TEST(RegistryTest, TerminateRequestForAnUnstartedWorkerForgetsIt) {
  InChild(4, [](Env& env) {
    PublishToSlots();
    BackgroundWorker w = MakeWorker("waiting", BgWorkerStart_RecoveryFinished);
    w.bgw_notify_pid = getpid();
    int index = env.RegisterDynamic(w);
    AbsorbChanges(true, Env::AnyPidIsChild);
    ASSERT_EQ(RegisteredCount(), 1);
    env.RequestTerminate(index);
    usr1_count = 0;
    AbsorbChanges(true, Env::AnyPidIsChild);
    EXPECT_EQ(RegisteredCount(), 0);
    EXPECT_FALSE(Slot(index)->in_use.load());
    EXPECT_EQ(usr1_count, 1) << "the registrant is told";
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_TRUE(env.launched.empty()) << "a forgotten worker is not started";
  });
}

// A running worker gets SIGTERM and is unregistered when it exits, whatever
// its exit code and restart interval.
TEST(RegistryTest, TerminateRequestForARunningWorkerSignalsAndUnregisters) {
  InChild(4, [](Env& env) {
    PublishToSlots();
    int index = env.RegisterDynamic(MakeWorker("runner", BgWorkerStart_PostmasterStart, 1));
    AbsorbChanges(true, Env::AnyPidIsChild);
    StartWaiting(StartPhase::kAll, env.real_launcher());
    ASSERT_EQ(env.launched, Seq({index}));
    pid_t pid = env.pids[index];
    ASSERT_GT(pid, 0);
    env.RequestTerminate(index);
    AbsorbChanges(true, Env::AnyPidIsChild);
    int status = WaitStatus(pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
    EXPECT_EQ(RegisteredCount(), 1) << "still registered until its exit is reported";
    EXPECT_TRUE(Slot(index)->in_use.load());
    // A second request while it is stopping sends nothing more.
    env.RequestTerminate(index);
    AbsorbChanges(true, Env::AnyPidIsChild);
    OnWorkerExit(index, pid, status, false);
    EXPECT_EQ(RegisteredCount(), 0);
    EXPECT_FALSE(Slot(index)->in_use.load());
    EXPECT_FALSE(NextRestart().has_value());
  });
}

TEST(RegistryTest, InvalidNotifyPidIsDropped) {
  InChild(4, [](Env& env) {
    PublishToSlots();
    BackgroundWorker w = MakeWorker("orphan");
    w.bgw_notify_pid = getpid();
    env.RegisterDynamic(w);
    usr1_count = 0;
    AbsorbChanges(true, [](pid_t) { return false; });
    ASSERT_EQ(RegisteredCount(), 1);
    StartWaiting(StartPhase::kAll, env.launcher());
    OnWorkerExit(0, env.pids[0], W_EXITCODE(0, 0), false);
    EXPECT_EQ(usr1_count, 0) << "nobody to notify";
  });
}

TEST(RegistryTest, OnChildExitStopsNotifications) {
  InChild(4, [](Env& env) {
    PublishToSlots();
    BackgroundWorker w = MakeWorker("notifies");
    w.bgw_notify_pid = getpid();
    env.RegisterDynamic(w);
    env.RegisterDynamic(w);
    AbsorbChanges(true, Env::AnyPidIsChild);
    ASSERT_EQ(RegisteredCount(), 2);
    OnChildExit(getpid());  // the registrant exited
    OnChildExit(12345);     // unrelated: harmless
    usr1_count = 0;
    StartWaiting(StartPhase::kAll, env.launcher());
    OnWorkerExit(0, env.pids[0], W_EXITCODE(0, 0), false);
    OnWorkerExit(1, env.pids[1], W_EXITCODE(0, 0), false);
    EXPECT_EQ(usr1_count, 0);
  });
}

TEST(RegistryTest, ForgetUnstartedWithWaitersAtShutdown) {
  InChild(6, [](Env& env) {
    RegisterStatic(MakeWorker("static"));
    PublishToSlots();
    BackgroundWorker waited = MakeWorker("waited on", BgWorkerStart_RecoveryFinished);
    waited.bgw_notify_pid = getpid();
    BackgroundWorker unwatched = MakeWorker("unwatched", BgWorkerStart_RecoveryFinished);
    BackgroundWorker started = MakeWorker("started", BgWorkerStart_PostmasterStart);
    started.bgw_notify_pid = getpid();
    int a = env.RegisterDynamic(waited);
    int b = env.RegisterDynamic(unwatched);
    int c = env.RegisterDynamic(started);
    AbsorbChanges(true, Env::AnyPidIsChild);
    ASSERT_EQ(RegisteredCount(), 4);
    StartWaiting(StartPhase::kPostmasterOnly, env.launcher());  // starts "static", "started"
    usr1_count = 0;
    ForgetUnstartedWithWaiters();
    EXPECT_EQ(usr1_count, 1);
    EXPECT_FALSE(Slot(a)->in_use.load());
    EXPECT_TRUE(Slot(b)->in_use.load());
    EXPECT_TRUE(Slot(c)->in_use.load());
    EXPECT_EQ(RegisteredCount(), 3);
  });
}

// A freed slot can be registered again at once; the old registration's
// queue and timer entries do not leak into the new one.
TEST(RegistryTest, SlotReuseAfterUnregistering) {
  InChild(1, [](Env& env) {
    PublishToSlots();
    int first = env.RegisterDynamic(MakeWorker("first", BgWorkerStart_PostmasterStart, 50));
    AbsorbChanges(true, Env::AnyPidIsChild);
    StartWaiting(StartPhase::kAll, env.launcher());
    OnWorkerExit(first, env.pids[first], W_EXITCODE(1, 0), false);  // timer armed
    env.RequestTerminate(first);
    AbsorbChanges(true, Env::AnyPidIsChild);
    ASSERT_FALSE(Slot(first)->in_use.load());
    EXPECT_EQ(env.RegisterDynamic(MakeWorker("first", BgWorkerStart_PostmasterStart, 50)), 0)
        << "the only slot is free again";
    // Full: a second registration finds no slot.
    EXPECT_EQ(env.RegisterDynamic(MakeWorker("second")), -1);
    AbsorbChanges(true, Env::AnyPidIsChild);
    EXPECT_EQ(RegisteredCount(), 1);
    EXPECT_FALSE(NextRestart().has_value()) << "the old timer belongs to the old registration";
    env.launched.clear();
    EXPECT_FALSE(StartWaiting(StartPhase::kAll, env.launcher()));
    EXPECT_EQ(env.launched, Seq({0}));
  });
}

}  // namespace
}  // namespace bgw::bgworker
