// Facts about other processes, read from /proc.
#pragma once

#include <sys/types.h>

namespace bgw {

// True if `pid` exists and has not exited. A zombie (exited, not yet reaped,
// e.g. reparented to an init that does not reap) counts as not running,
// though kill(pid, 0) still succeeds on it.
bool ProcessIsRunning(pid_t pid);

}  // namespace bgw
