// Latch internals shared with other parts of src/ipc (not module API).
#pragma once

namespace bgw::latch {

// Async-signal-safe. Ends this process's futex sleep in WaitLatch, if any,
// so that the wait re-checks its conditions (the postmaster-death handler
// calls it after raising its flag). A no-op when not in a futex sleep.
void WakeFutexSleeperFromSignalHandler();

}  // namespace bgw::latch
