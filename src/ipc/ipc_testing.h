// Helpers for unit tests that fork processes sharing a segment (test code
// only): reap a child with its exit status, and poll for a condition.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace bgw::testing {

// The child's exit status; 1000 + signal number if a signal ended it; -1 if
// waitpid failed.
inline int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

// Polls `pred` every millisecond for up to 20 s; returns its last answer.
template <typename P>
bool WaitFor(P pred) {
  for (int i = 0; i < 20000; i++) {
    if (pred()) return true;
    usleep(1000);
  }
  return pred();
}

}  // namespace bgw::testing
