// Postmaster death detection for children.
//
// Two mechanisms, as PostgreSQL uses on Linux:
//  * a pipe whose write end only the postmaster holds: when the postmaster
//    dies, even by SIGKILL, the read end reports EOF. Waits (latches, socket
//    reads) include the read end so a sleeping child wakes at once;
//  * PR_SET_PDEATHSIG delivers SIGPWR when the parent dies, so a busy child
//    learns of it without polling the pipe.
// Beyond PostgreSQL: the SIGPWR handler also arms a one-shot kernel timer that
// SIGKILLs the child after a grace period, so a child stuck in code that never
// checks cannot outlive a dead postmaster by more than that moment.
#pragma once

#include <chrono>

namespace bgw::pmdeath {

// How long a child may keep running after the postmaster died.
inline constexpr std::chrono::milliseconds kGracePeriod{500};

// Postmaster: creates the pipe. Returns false (errno set) on failure.
bool CreatePipe();
// Postmaster: after the pipe exists, the fd children must close.
int WriteEndForPostmasterOnly();

// Child, right after fork: closes the write end, arms PDEATHSIG and the kill
// timer, and checks the postmaster did not die before PDEATHSIG was armed.
void InitChild(int postmaster_pid);

// Read end of the pipe: readable (EOF) once the postmaster is gone.
int ReadFd();

// Cheap check: the signal flag, confirmed by a non-blocking read of the pipe.
bool PostmasterIsAlive();

// Set (async-signal-safely) by the SIGPWR handler; waits may test it.
// The handler then ends a futex sleep in WaitLatch (latch_internal.h), so a
// wait that only tests this flag still notices a death promptly.
bool DeathSignalReceived();

// The process in which InitChild armed PR_SET_PDEATHSIG (it is not
// inherited across fork), or 0. Only there can a wait rely on the signal.
int DeathSignalArmedIn();

}  // namespace bgw::pmdeath
