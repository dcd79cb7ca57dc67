// Child launch path; see child.h.
#include "postmaster/child.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "common/process.h"
#include "ipc/pmdeath.h"
#include "ipc/pmsignal.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "port/process_title.h"
#include "postgres/miscadmin.h"

namespace bgw {
namespace {

std::vector<int> postmaster_only_fds;

void QuickDieHandler(int) {
  // Immediate shutdown or crash of a sibling: shared memory may be corrupt,
  // so run no exit callbacks at all. Status 2 tells the postmaster so.
  _exit(2);
}

}  // namespace

const char* ChildKindName(ChildKind kind) {
  switch (kind) {
    case ChildKind::kStartup:
      return "startup";
    case ChildKind::kBackend:
      return "backend";
    case ChildKind::kDeadEndBackend:
      return "dead-end backend";
    case ChildKind::kBgWorker:
      return "background worker";
  }
  return "child";
}

void RegisterPostmasterOnlyFd(int fd) { postmaster_only_fds.push_back(fd); }

void UnregisterPostmasterOnlyFd(int fd) {
  postmaster_only_fds.erase(std::remove(postmaster_only_fds.begin(), postmaster_only_fds.end(), fd),
                            postmaster_only_fds.end());
}

void RecordSignalDispositions() {
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction sa;
    if (sigaction(sig, nullptr, &sa) != 0) continue;  // not a valid signal number
    bool is_default = (sa.sa_flags & SA_SIGINFO) == 0 && sa.sa_handler == SIG_DFL;
    if (!is_default) NoteSignalDisposition(sig);
  }
}

Result<pid_t> LaunchChild(const ChildSpec& spec, const std::function<void()>& child_main) {
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  fflush(nullptr);  // no buffered output may be written twice
  pid_t pid = fork();
  if (pid != 0) {
    int err = errno;
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) return Status::FromErrno("could not fork new process", err);
    return pid;
  }

  // --- child ---
  ::IsUnderPostmaster = true;
  MyProcPid = getpid();
  MyStartTime = time(nullptr);
  for (int fd : postmaster_only_fds) close(fd);
  postmaster_only_fds.clear();
  setsid();
  ResetExitCallbacks();

  // Dispositions survive fork; reset what the postmaster changed.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (uint64_t mask = ChangedSignalDispositions(); mask != 0; mask &= mask - 1) {
    sigaction(__builtin_ctzll(mask) + 1, &dfl, nullptr);
  }
  SetChangedSignalDispositions(0);
  struct sigaction sa = {};
  sa.sa_handler = QuickDieHandler;
  sigfillset(&sa.sa_mask);
  sigaction(SIGQUIT, &sa, nullptr);
  pmdeath::InitChild(::PostmasterPid);
  sigset_t quit;
  sigemptyset(&quit);
  sigaddset(&quit, SIGQUIT);
  sigprocmask(SIG_UNBLOCK, &quit, nullptr);

  // Only when no override is given: strlen would be code and data to page in.
  auto kind_name = [&] { return std::string_view(ChildKindName(spec.kind)); };
  // "bgw: <kind> <detail>", built on the stack with plain copies: no heap
  // page is written, and no printf code is paged in for it.
  char title[256];
  size_t len = 0;
  auto append = [&](std::string_view part) {
    size_t n = std::min(part.size(), sizeof title - len);
    std::memcpy(title + len, part.data(), n);
    len += n;
  };
  append("bgw: ");
  append(spec.title_kind.empty() ? kind_name() : spec.title_kind);
  if (!spec.title_detail.empty()) {
    append(" ");
    append(spec.title_detail);
  }
  process_title::Set(std::string_view(title, len));
  log::SetProcessKind(spec.log_kind.empty() ? kind_name() : spec.log_kind);
  log::AfterFork();

  if (!spec.attach_shmem) {
    shmem::DetachForChild();
  } else if (spec.child_slot >= 0) {
    pmsignal::MarkChildActive(spec.child_slot);
  }

  child_main();
  // A child main that returns is a bug in it; exit as a crash would.
  log::Log(log::Level::kLog, "%s process returned from its main function",
           ChildKindName(spec.kind));
  ProcExit(1);
}

}  // namespace bgw
