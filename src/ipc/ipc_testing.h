// Helpers for unit tests that fork processes sharing a segment (test code
// only): fork a child that runs a body, reap a child with its status, and
// poll for a condition. One copy for every test file, so that all of them
// reap the same way (EINTR retried, a death by signal told apart from an exit
// code) and a hung child fails its test instead of stalling the suite.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

namespace bgw::testing {

// The child's raw wait status (for WIFEXITED and friends); -1 if waitpid
// failed (no such child, or already reaped).
inline int WaitStatus(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// The child's exit status; 1000 + signal number if a signal ended it; -1 if
// waitpid failed.
inline int WaitExit(pid_t pid) {
  int status = WaitStatus(pid);
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

// Polls `pred` every millisecond until it holds or `limit` has passed;
// returns its last answer. The limit is only reached when the awaited event
// never comes, so it is long: a noisy machine must not fail a test.
template <typename P>
bool WaitFor(P&& pred, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    usleep(1000);
  }
  return true;
}

// Forks a child that runs body() and leaves with _exit(its result), so none
// of the parent's state is torn down there (GoogleTest's, atexit handlers,
// static destructors); a body may also end the child itself (ProcExit).
// stdio is flushed before the fork so buffered output is not written twice.
// The child dies of SIGALRM after `alarm_seconds`, so a hang fails the test.
// Returns the child's pid (-1 if fork failed); reap it with WaitExit.
template <typename F>
pid_t ForkChild(F&& body, unsigned alarm_seconds = 60) {
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  alarm(alarm_seconds);
  const int code = body();
  fflush(nullptr);
  _exit(code);
}

}  // namespace bgw::testing
