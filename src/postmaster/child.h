// The one launch path for every kind of child process.
//
// LaunchChild forks with every signal blocked, so no handler of the
// postmaster ever runs in the child. The child then:
//   * closes every descriptor only the postmaster may hold (listen sockets,
//     the signalfd, epoll and timer fds, the death pipe's write end);
//   * starts its own process group (signals to the postmaster's terminal
//     group, e.g. Ctrl-C on `bgw run`, reach only the postmaster, which
//     decides what children get);
//   * resets to SIG_DFL the signals whose disposition the postmaster had
//     changed (RecordSignalDispositions), installs SIGQUIT = immediate
//     _exit(2), arms postmaster-death detection (pmdeath.h);
//   * sets its process title "bgw: <kind> <detail>" and log process kind;
//   * detaches shared memory unless the child may use it, else marks its
//     child slot ACTIVE (the dead-man switch, pmsignal.h);
//   * runs the child's main function, which must end in ProcExit().
// Signals other than SIGQUIT and the death signal stay blocked when the child
// main starts; each kind unblocks what it handles.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bgw {

enum class ChildKind {
  kStartup,         // brings the data to a consistent state, then exits 0
  kBackend,         // one client connection
  kDeadEndBackend,  // a connection that is only told why it cannot connect
  kBgWorker,        // a background worker
};

const char* ChildKindName(ChildKind kind);  // "startup", "backend", ...

// Views, not copies: the text they point at outlives the fork (the worker's
// registry entry, literals), and neither the postmaster nor the child then
// allocates for them (a heap write after fork is a copied page).
struct ChildSpec {
  ChildKind kind;
  std::string_view title_detail;  // after "bgw: <kind> "
  std::string_view title_kind;    // replaces the kind name in the title if set
  bool attach_shmem = true;       // false: the main segment is unmapped in the child
  int child_slot = -1;            // pmsignal child slot when attach_shmem
  std::string_view log_kind;      // %b in log lines; defaults to the kind name
};

// Postmaster: descriptors every child must close right after fork.
void RegisterPostmasterOnlyFd(int fd);
void UnregisterPostmasterOnlyFd(int fd);

// Postmaster: notes which signals have a disposition other than SIG_DFL
// right now (inherited SIG_IGN, SIGPIPE, handlers a module's _PG_init or
// shmem_startup_hook installed), so that a child resets only those: one
// sigaction per changed signal instead of one per signal (64 system calls,
// ~20 us of every launch). Call after postmaster code that may change
// dispositions has run: shared memory creation (after the modules' hooks)
// and configuration reload. pqsignal() in the postmaster also notes its
// signal (NoteSignalDisposition).
// (The record itself is common/process.h's.)
void RecordSignalDispositions();

// Postmaster: forks a child that runs `child_main` (which never returns).
// Returns the child's pid, or an error if fork failed.
Result<pid_t> LaunchChild(const ChildSpec& spec, const std::function<void()>& child_main);

}  // namespace bgw
