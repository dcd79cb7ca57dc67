// Spinlock waiting (storage/s_lock.h, storage/spin.h): the back-off and the
// stuck-lock detector shared by SpinLockAcquire, the LWLock wait-list lock
// and anything else that spins through perform_spin_delay().
//
// The lock word itself lives in the caller's shared struct; this file only
// decides how long a waiter spins, sleeps, and when it gives up. Giving up is
// a PANIC: the process aborts, the postmaster counts it as a crash and
// rebuilds shared memory, so a lock whose holder died can never hang the
// server for longer than the stuck timeout.
#pragma once

#include <chrono>

namespace bgw::spin {

// PostgreSQL's "about 2 minutes".
inline constexpr std::chrono::milliseconds kDefaultStuckTimeout{120000};
// The environment variable that shortens it (tests only): milliseconds > 0.
inline constexpr const char* kStuckTimeoutEnv = "BGW_STUCK_SPINLOCK_TIMEOUT_MS";

// The timeout a waiter starting to sleep now would use.
std::chrono::microseconds StuckTimeout();

// This process's current adaptive spin count (10..1000).
int SpinsPerDelay();

}  // namespace bgw::spin
