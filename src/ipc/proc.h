// Per-process slots in shared memory (PostgreSQL's PGPROC, reduced to what
// this server needs): one per child that attaches to shared memory, indexed
// by its pmsignal child slot, holding the process's latch and what other
// processes may want to know about it (pid, kind, wait event).
//
// Protocol, per field of ProcSlot:
//   latch:           owned by the process in the slot (OwnLatch at start,
//                    DisownLatch at exit); set by anyone.
//   backend_type, name: written by the owner before it publishes pid.
//   pid:             0 = free. Stored by the owner with release order after
//                    the fields above; cleared by the owner at exit. Readers
//                    load it with acquire order before reading the rest.
//   wait_event_info: written by the owner, read by anyone (relaxed; a view
//                    of a moment).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "postgres/storage/latch.h"

namespace bgw::proc {

inline constexpr size_t kTypeLen = 96;

struct ProcSlot {
  Latch latch;
  std::atomic<int32_t> pid;
  std::atomic<uint32_t> wait_event_info;
  char backend_type[kTypeLen];
  char name[kTypeLen];
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

}  // namespace bgw::proc
