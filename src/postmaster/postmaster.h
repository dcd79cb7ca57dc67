// The postmaster: the supervisor process of a bgw server.
//
// One thread, one event loop (epoll over a signalfd, a timerfd and the listen
// sockets). Signal handlers do not exist here: every signal is read from the
// signalfd and handled in the loop, so no code runs in signal context. The
// loop sleeps until something happens; when nothing is pending the timer is
// disarmed, so an idle server wakes up for nothing.
//
// The postmaster owns the listen sockets, the main shared memory segment, the
// child table and the server state machine (docs/architecture.md). It never
// takes a lock in shared memory and never trusts what it reads there.
#pragma once

#include <string>
#include <vector>

namespace bgw {

struct PostmasterOptions {
  std::string data_dir;
  std::vector<std::string> settings;  // "-c name=value" assignments, in order
};

// Runs a server on options.data_dir until it shuts down. Returns the process
// exit code (0 after a requested shutdown, 1 after a startup failure or a
// crash with restart_after_crash off).
int PostmasterMain(const PostmasterOptions& options);

}  // namespace bgw
