// Requests from children to the postmaster ("pmsignals") and the per-child
// dead-man switch.
//
// A child that needs the postmaster's attention sets a reason flag in shared
// memory and sends SIGUSR1; repeated requests coalesce. The postmaster reads
// and clears the flags with an atomic exchange; it never waits on anything a
// child holds.
//
// Dead-man switch: every child attached to shared memory owns one child slot.
// The postmaster marks it ASSIGNED before fork; the child marks it ACTIVE once
// running and INACTIVE as the last step of a clean exit. A child that exits
// (even with status 0 or 1) while still ACTIVE skipped its cleanup, so shared
// state may be inconsistent: the postmaster treats that as a crash.
#pragma once

#include <cstddef>

namespace bgw::pmsignal {

enum class Reason : int {
  kBackgroundWorkerChange = 0,  // a worker slot was registered or terminated
  kDatabaseFilesChange,         // CREATE/DROP DATABASE committed (postmaster/wal_index_pins.h)
  kNumReasons
};

// Shared memory size for `num_child_slots` slots, and its initialisation.
size_t ShmemSize(int num_child_slots);
void ShmemInit(int num_child_slots);

// Any child: raise a request and wake the postmaster.
void Send(Reason reason);
// Postmaster: test-and-clear.
bool CheckAndClear(Reason reason);

// Postmaster: hands out and takes back child slots (O(1) free list, kept in
// postmaster-private memory). Returns -1 when none is free.
int AssignChildSlot();
// Postmaster: returns the slot; false if the child was still ACTIVE.
bool ReleaseChildSlot(int slot);

// Postmaster: publishes whether the server is in normal operation (false
// while starting up, recovering, or on a standby). Children read it for
// RecoveryInProgress().
void PublishInRecovery(bool in_recovery);
bool InRecovery();

// Child: mark own slot active / inactive (the latter is async-signal-safe).
void MarkChildActive(int slot);
void MarkChildInactive();

}  // namespace bgw::pmsignal
