// LaunchChild in real processes: which signal dispositions a child starts
// with, and the postmaster-side resolution of a worker's entry function.
#include "postmaster/child.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "ipc/ipc_testing.h"
#include "ipc/proc_exit.h"
#include "postgres/miscadmin.h"
#include "postgres/port.h"
#include "workers/worker_main.h"

namespace bgw {
namespace {

void Handler(int) {}

bool IsDefault(int sig) {
  struct sigaction sa;
  if (sigaction(sig, nullptr, &sa) != 0) return false;
  return (sa.sa_flags & SA_SIGINFO) == 0 && sa.sa_handler == SIG_DFL;
}

// Restores this test process's dispositions whatever the test does.
class SavedDispositions {
 public:
  SavedDispositions() {
    for (int sig : kSignals) sigaction(sig, nullptr, &saved_[Index(sig)]);
  }
  ~SavedDispositions() {
    for (int sig : kSignals) sigaction(sig, &saved_[Index(sig)], nullptr);
  }
  static constexpr int kSignals[] = {SIGHUP, SIGUSR2, SIGALRM, SIGTTIN};

 private:
  static int Index(int sig) {
    for (int i = 0; i < 4; i++) {
      if (kSignals[i] == sig) return i;
    }
    return 0;
  }
  struct sigaction saved_[4];
};

TEST(LaunchChild, ResetsEveryDispositionThePostmasterChanged) {
  SavedDispositions saved;
  ::PostmasterPid = getpid();
  // Changed before the record: an inherited SIG_IGN and a raw handler (what
  // a module's _PG_init might install without pqsignal).
  signal(SIGHUP, SIG_IGN);
  struct sigaction sa = {};
  sa.sa_handler = Handler;
  sigaction(SIGUSR2, &sa, nullptr);
  RecordSignalDispositions();
  // Changed after the record, through pqsignal: noted too.
  pqsignal(SIGALRM, Handler);
  // SIGTTIN, left alone, stays default.

  ChildSpec spec;
  spec.kind = ChildKind::kBgWorker;
  spec.attach_shmem = false;
  spec.title_kind = "child_test";
  spec.title_detail = "dispositions";
  Result<pid_t> pid = LaunchChild(spec, [] {
    int bad = 0;
    if (!IsDefault(SIGHUP)) bad |= 1;
    if (!IsDefault(SIGUSR2)) bad |= 2;
    if (!IsDefault(SIGALRM)) bad |= 4;
    if (!IsDefault(SIGTTIN)) bad |= 8;
    ProcExit(bad == 0 ? 0 : 10 + bad);
  });
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  EXPECT_EQ(testing::WaitExit(*pid), 0);
  // The postmaster itself keeps its dispositions.
  EXPECT_FALSE(IsDefault(SIGHUP));
  EXPECT_FALSE(IsDefault(SIGUSR2));
}

TEST(LaunchChild, TitleAndLogKindNeedNoLongLivedStrings) {
  ::PostmasterPid = getpid();
  ChildSpec spec;
  spec.kind = ChildKind::kBgWorker;
  spec.attach_shmem = false;
  char type[64];
  std::strcpy(type, "a type longer than fifteen characters");
  spec.title_kind = type;
  spec.log_kind = type;
  Result<pid_t> pid = LaunchChild(spec, [] {
    char comm[32] = {};
    FILE* f = std::fopen("/proc/self/comm", "r");
    bool ok = f != nullptr && std::fgets(comm, sizeof comm, f) != nullptr;
    if (f != nullptr) std::fclose(f);
    // The kernel keeps the first 15 bytes of "bgw: <kind> ...".
    ProcExit(ok && std::strncmp(comm, "bgw: a type lon", 15) == 0 ? 0 : 1);
  });
  ASSERT_TRUE(pid.ok());
  EXPECT_EQ(testing::WaitExit(*pid), 0);
}

TEST(ResolveLoadedEntry, BuiltinsResolveAndUnloadedLibrariesAreLeftToTheChild) {
  BackgroundWorker w;
  std::memset(&w, 0, sizeof w);
  std::strcpy(w.bgw_library_name, "postgres");
  std::strcpy(w.bgw_function_name, "IdleWorkerMain");
  EXPECT_NE(bgworker::ResolveLoadedEntry(w), nullptr);
  std::strcpy(w.bgw_function_name, "NoSuchWorkerMain");
  EXPECT_EQ(bgworker::ResolveLoadedEntry(w), nullptr);  // the child reports it
  std::strcpy(w.bgw_library_name, "no_such_library_loaded_here");
  std::strcpy(w.bgw_function_name, "IdleWorkerMain");
  EXPECT_EQ(bgworker::ResolveLoadedEntry(w), nullptr);  // never loaded here
  // Unterminated names are never read past their arrays.
  std::memset(w.bgw_library_name, 'x', sizeof w.bgw_library_name);
  EXPECT_EQ(bgworker::ResolveLoadedEntry(w), nullptr);
}

}  // namespace
}  // namespace bgw
