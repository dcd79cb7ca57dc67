// Per-process slots in shared memory (PostgreSQL's PGPROC, reduced to what
// this server needs): one per child that attaches to shared memory, indexed
// by its pmsignal child slot, holding the process's latch and what other
// processes may want to know about it (pid, kind, wait event).
//
// Protocol, per field of ProcSlot:
//   pgproc:          what modules see as PGPROC (postgres/storage/proc.h);
//                    the first member, so a PGPROC* and its ProcSlot* are the
//                    same address.
//   pgproc.procLatch: owned by the process in the slot (OwnLatch at start,
//                    DisownLatch at exit); set by anyone.
//   pgproc.pgprocno: the slot's index, written once at ShmemInit.
//   pgproc.backendId, backend_type, name: written by the owner before it
//                    publishes pid (backendId back to InvalidBackendId after
//                    it clears pid at exit).
//   pgproc.databaseId, roleId: InvalidOid, always.
//   pgproc.pid:      0 = free. Stored by the owner with release order after
//                    the fields above; cleared by the owner at exit. Readers
//                    load it with acquire order (PidOf) before reading the
//                    rest. C modules read it plainly (an int; a snapshot).
//   wait_event_info: written by the owner, read by anyone (relaxed; a view
//                    of a moment).
//   lw_*, cv_*:      LWLock and condition variable waits; the protocol is in
//                    src/ipc/lwlock.cc and src/ipc/condition_variable.cc.
//                    Zero (fresh segment) is the idle state.
#pragma once

#include <sys/types.h>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "postgres/storage/latch.h"
#include "postgres/storage/proc.h"  // PGPROC; MyProc is this process's slot's

namespace bgw::proc {

inline constexpr size_t kTypeLen = 96;

struct ProcSlot {
  PGPROC pgproc;  // first: see ToPgProc
  std::atomic<uint32_t> wait_event_info;
  char backend_type[kTypeLen];
  char name[kTypeLen];
  // LWLock waits: a counting semaphore (futex word) the owner sleeps on and
  // releasers post; whether and how the owner waits; its links in one lock's
  // wait list (by slot number, under that lock's wait-list flag).
  std::atomic<uint32_t> lw_sem;
  std::atomic<uint8_t> lw_waiting;
  uint8_t lw_wait_mode;
  int32_t lw_next;
  int32_t lw_prev;
  // Condition variable waits: on a wakeup list or not, and the links (under
  // that condition variable's mutex).
  uint8_t cv_on_list;
  int32_t cv_next;
  int32_t cv_prev;
};

size_t ShmemSize(int num_slots);
void ShmemInit(int num_slots);

int NumSlots();
ProcSlot* Slot(int index);

// Child, at start: takes slot `index` (its child slot), owns its latch and
// points MyLatch at it. Releases it again in its exit path.
void AttachChild(int index, const char* backend_type, const char* name);

// This process's slot, or nullptr (postmaster, or no shared memory access).
ProcSlot* MyProcSlot();

// The slot's index, or -1 if `slot` is not a slot of the array.
int SlotIndex(const ProcSlot* slot);
// The slot a live process holds, or nullptr (also when not attached to
// shared memory). O(number of slots).
ProcSlot* SlotForPid(pid_t pid);
// The slot's pid (pgproc.pid), for atomic access: acquire loads by readers,
// release stores by the owner.
inline std::atomic_ref<int> PidOf(ProcSlot* slot) { return std::atomic_ref<int>(slot->pgproc.pid); }
static_assert(alignof(int) >= std::atomic_ref<int>::required_alignment);
static_assert(std::atomic_ref<int>::is_always_lock_free);

// Conversions for the module API: a PGPROC* is the address of its ProcSlot.
// FromPgProc returns nullptr for a pointer that is not a slot of the array.
inline PGPROC* ToPgProc(ProcSlot* slot) { return slot != nullptr ? &slot->pgproc : nullptr; }
ProcSlot* FromPgProc(PGPROC* proc);

static_assert(offsetof(ProcSlot, pgproc) == 0, "PGPROC* and ProcSlot* are plain casts");
static_assert(offsetof(PGPROC, procLatch) == 0);

}  // namespace bgw::proc
