// Tests of the child exit path: the three callback lists run newest first in
// the order before-shmem, shmem, proc; the code reaches the callbacks and the
// exit status; cancel_before_shmem_exit's "only the newest" rule; shmem_exit
// running the shared memory lists early; and a callback that exits again.
//
// Everything runs in forked children (ProcExit ends the process). Callbacks
// report through a pipe: one byte per call, the byte being the callback's arg.
#include "ipc/proc_exit.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "postgres/storage/ipc.h"

namespace bgw {
namespace {

int report_fd = -1;  // write end of the pipe, in the child

void Record(int code, uintptr_t arg) {
  char buf[2] = {static_cast<char>(arg), static_cast<char>('0' + code)};
  (void)!write(report_fd, buf, sizeof buf);
}

// Records, then reports whether ProcExitInProgress() was true.
void RecordInProgress(int, uintptr_t arg) {
  char buf[2] = {static_cast<char>(arg), ProcExitInProgress() ? 'y' : 'n'};
  (void)!write(report_fd, buf, sizeof buf);
}

void RecordCompat(int code, Datum arg) { Record(code, arg); }

void RecordCompatFlags(int, Datum arg) {
  char buf[2] = {static_cast<char>(arg), static_cast<char>('0' + (proc_exit_inprogress ? 1 : 0) +
                                                           (shmem_exit_inprogress ? 2 : 0))};
  (void)!write(report_fd, buf, sizeof buf);
}

// Calls ProcExit again from inside a callback.
void ExitAgain(int code, uintptr_t arg) {
  Record(code, arg);
  ProcExit(3);
}

struct ChildResult {
  int status = -1;
  std::string calls;  // pairs of (arg, code or flag)
};

// Forks; the child starts with no callbacks, runs body() (which should end in
// an exit), and its callbacks' records are collected here.
template <typename F>
ChildResult RunChild(F&& body) {
  ChildResult result;
  int fds[2];
  if (pipe(fds) != 0) return result;
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    report_fd = fds[1];
    ResetExitCallbacks();
    body();
    _exit(99);  // body did not exit
  }
  close(fds[1]);
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    result.calls.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  waitpid(pid, &result.status, 0);
  return result;
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

TEST(ProcExitTest, ListsRunNewestFirstBeforeShmemThenShmemThenProc) {
  ChildResult r = RunChild([] {
    // Registered interleaved, so the order can only come from the lists.
    OnProcExit(Record, 'p');
    BeforeShmemExit(Record, 'b');
    OnShmemExit(Record, 's');
    OnProcExit(Record, 'P');
    BeforeShmemExit(Record, 'B');
    OnShmemExit(Record, 'S');
    ProcExit(4);
  });
  EXPECT_EQ(ExitCode(r.status), 4);
  EXPECT_EQ(r.calls, "B4b4S4s4P4p4");
}

// The first 16 entries of a list live in the list itself, the rest in a
// vector: 40 callbacks still run newest first, cancel still finds the newest
// one past the boundary, and a reset empties both parts.
TEST(ProcExitTest, ListsLongerThanTheirInlineRoomKeepTheOrder) {
  ChildResult r = RunChild([] {
    for (int i = 0; i < 40; i++) OnProcExit(Record, static_cast<uintptr_t>('A' + i));
    for (int i = 0; i < 20; i++) BeforeShmemExit(Record, static_cast<uintptr_t>('a' + i));
    CancelBeforeShmemExit(Record, 'a' + 19);  // the newest, in the overflow part
    CancelBeforeShmemExit(Record, 'a' + 18);
    CancelBeforeShmemExit(Record, 'a' + 17);
    CancelBeforeShmemExit(Record, 'a' + 16);
    CancelBeforeShmemExit(Record, 'a' + 15);  // the newest inline one
    ProcExit(0);
  });
  std::string want;
  for (int i = 14; i >= 0; i--) want += std::string{static_cast<char>('a' + i), '0'};
  for (int i = 39; i >= 0; i--) want += std::string{static_cast<char>('A' + i), '0'};
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.calls, want);

  ChildResult reset = RunChild([] {
    for (int i = 0; i < 30; i++) OnShmemExit(Record, 'x');
    ResetExitCallbacks();
    OnShmemExit(Record, 'y');
    ProcExit(0);
  });
  EXPECT_EQ(reset.calls, "y0");
}

TEST(ProcExitTest, ExitWithoutCallbacksUsesTheCode) {
  EXPECT_EQ(ExitCode(RunChild([] { ProcExit(0); }).status), 0);
  EXPECT_EQ(ExitCode(RunChild([] { ProcExit(1); }).status), 1);
  EXPECT_EQ(ExitCode(RunChild([] { ProcExit(2); }).status), 2);
}

TEST(ProcExitTest, ProcExitInProgressIsTrueInCallbacks) {
  ChildResult r = RunChild([] {
    if (ProcExitInProgress()) _exit(50);
    BeforeShmemExit(RecordInProgress, 'b');
    OnProcExit(RecordInProgress, 'p');
    ProcExit(0);
  });
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.calls, "bypy");
}

TEST(ProcExitTest, ResetExitCallbacksForgetsEverything) {
  ChildResult r = RunChild([] {
    OnProcExit(Record, 'p');
    BeforeShmemExit(Record, 'b');
    OnShmemExit(Record, 's');
    ResetExitCallbacks();
    OnProcExit(Record, 'q');
    ProcExit(0);
  });
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.calls, "q0");
}

TEST(ProcExitTest, CancelRemovesOnlyTheNewestMatchingBeforeShmemCallback) {
  ChildResult r = RunChild([] {
    BeforeShmemExit(Record, 'a');
    BeforeShmemExit(Record, 'b');
    CancelBeforeShmemExit(Record, 'a');            // not the newest: no effect
    CancelBeforeShmemExit(Record, 'x');            // different arg: no effect
    CancelBeforeShmemExit(RecordInProgress, 'b');  // different function: no effect
    CancelBeforeShmemExit(Record, 'b');            // removed
    ProcExit(0);
  });
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.calls, "a0");
}

TEST(ProcExitTest, CancelOnAnEmptyListIsHarmless) {
  ChildResult r = RunChild([] {
    CancelBeforeShmemExit(Record, 'a');
    OnShmemExit(Record, 's');
    CancelBeforeShmemExit(Record, 's');  // only looks at before-shmem callbacks
    ProcExit(0);
  });
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.calls, "s0");
}

TEST(ProcExitTest, RunShmemExitCallbacksRunsOnlyTheShmemListsOnce) {
  ChildResult r = RunChild([] {
    OnProcExit(Record, 'p');
    OnShmemExit(Record, 's');
    BeforeShmemExit(Record, 'b');
    RunShmemExitCallbacks(2);
    (void)!write(report_fd, "|-", 2);
    ProcExit(0);  // the shmem lists are empty now
  });
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.calls, "b2s2|-p0");
}

// A callback that exits again does not rerun itself; the remaining callbacks
// run once, under the new code.
TEST(ProcExitTest, CallbackThatExitsAgainDoesNotRerunItself) {
  ChildResult r = RunChild([] {
    OnProcExit(Record, 'p');
    OnShmemExit(Record, 's');
    BeforeShmemExit(Record, 'a');
    BeforeShmemExit(ExitAgain, 'X');
    BeforeShmemExit(Record, 'c');
    ProcExit(5);
  });
  EXPECT_EQ(ExitCode(r.status), 3);
  EXPECT_EQ(r.calls, "c5X5a3s3p3");
}

// Callbacks registered while exiting still run (PostgreSQL allows it).
TEST(ProcExitTest, CallbackRegisteredDuringExitRuns) {
  ChildResult r = RunChild([] {
    OnShmemExit(
        [](int code, uintptr_t) {
          Record(code, 's');
          OnProcExit(Record, 'L');
        },
        0);
    ProcExit(1);
  });
  EXPECT_EQ(ExitCode(r.status), 1);
  EXPECT_EQ(r.calls, "s1L1");
}

TEST(ProcExitTest, CompatApiUsesTheSameLists) {
  ChildResult r = RunChild([] {
    on_proc_exit(RecordCompat, 'p');
    on_shmem_exit(RecordCompat, 's');
    before_shmem_exit(RecordCompat, 'b');
    before_shmem_exit(RecordCompat, 'c');
    cancel_before_shmem_exit(RecordCompat, 'c');
    proc_exit(1);
  });
  EXPECT_EQ(ExitCode(r.status), 1);
  EXPECT_EQ(r.calls, "b1s1p1");
}

TEST(ProcExitTest, CompatFlagsAreSetWhileTheirListsRun) {
  ChildResult r = RunChild([] {
    on_shmem_exit(RecordCompatFlags, 's');
    on_proc_exit(RecordCompatFlags, 'p');
    shmem_exit(0);  // runs the shmem lists now, with shmem_exit_inprogress
    if (shmem_exit_inprogress) _exit(60);
    proc_exit(0);
  });
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.calls, "s2p1");
}

TEST(ProcExitTest, CompatOnExitResetForgetsCallbacks) {
  ChildResult r = RunChild([] {
    on_proc_exit(RecordCompat, 'p');
    before_shmem_exit(RecordCompat, 'b');
    on_exit_reset();
    check_on_shmem_exit_lists_are_empty();
    proc_exit(0);
  });
  EXPECT_EQ(ExitCode(r.status), 0);
  EXPECT_EQ(r.calls, "");
}

}  // namespace
}  // namespace bgw
