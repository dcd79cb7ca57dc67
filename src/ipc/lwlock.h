// Lightweight locks: the server side of storage/lwlock.h.
//
// The postmaster sizes and lays out the lock array once per shared memory
// generation: the individual server locks (AddinShmemInitLock, ...) followed
// by every named tranche modules requested while preloading. Children find
// it through MainLWLockArray, inherited across fork.
//
// Also here: the process-list helpers that LWLocks and condition variables
// use to link process slots (src/ipc/proc.h) into wait lists by slot number.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "ipc/proc.h"
#include "postgres/storage/lwlock.h"
#include "postgres/storage/proclist_types.h"

namespace bgw::lwlock {

// Postmaster, before the segment is created: bytes for the lock array (the
// individual locks plus every named tranche requested so far).
size_t ShmemSize();
// Postmaster, after the segment is created: lays out and initializes the
// array, assigns the named tranches their ids (the same ones in every
// generation) and registers their names, and restarts the tranche counter.
Status ShmemInit();
// Postmaster, after shmem_startup_hook: a hook that left an LWLock held
// would hang every child; release it with a LOG line naming it.
void ReleaseLeftoverLocks();

// ProcExit, before any exit callback: releases every held lock and takes
// this process off any wait list. A process interrupted inside the lock
// code itself (a signal handler that exits, like bgworker_die) cannot be
// repaired: that exit becomes a PANIC, i.e. a crash, so nobody hangs.
void ReleaseAllAtExit();

int NumHeldByMe();
// The tranche's name as wait events show it ("extension" when unknown).
const char* TrancheName(int tranche_id);

// ERROR "shared memory is not available in this process" for a server
// process that has no shared memory (a worker without
// BGWORKER_SHMEM_ACCESS, or the postmaster before the segment exists).
// Standalone processes (unit tests) may use locks in any mapping.
void RequireSharedMemory();

// Tests: forget named tranche requests, registrations and the array.
void ResetForTesting();

}  // namespace bgw::lwlock

namespace bgw::proclist {

// A list of process slots linked through two int32 members of ProcSlot
// (Next/Prev), by slot number. The caller holds whatever guards the list.
// A slot number that does not exist means shared memory is corrupt: PANIC.
proc::ProcSlot* SlotOrPanic(int procno);

inline void Init(proclist_head* list) {
  list->head = INVALID_PGPROCNO;
  list->tail = INVALID_PGPROCNO;
}
inline bool IsEmpty(const proclist_head* list) { return list->head == INVALID_PGPROCNO; }

template <int32_t proc::ProcSlot::*Next, int32_t proc::ProcSlot::*Prev>
void PushTail(proclist_head* list, int procno) {
  proc::ProcSlot* p = SlotOrPanic(procno);
  p->*Next = INVALID_PGPROCNO;
  p->*Prev = list->tail;
  if (list->tail == INVALID_PGPROCNO) {
    list->head = procno;
  } else {
    SlotOrPanic(list->tail)->*Next = procno;
  }
  list->tail = procno;
}

template <int32_t proc::ProcSlot::*Next, int32_t proc::ProcSlot::*Prev>
void PushHead(proclist_head* list, int procno) {
  proc::ProcSlot* p = SlotOrPanic(procno);
  p->*Prev = INVALID_PGPROCNO;
  p->*Next = list->head;
  if (list->head == INVALID_PGPROCNO) {
    list->tail = procno;
  } else {
    SlotOrPanic(list->head)->*Prev = procno;
  }
  list->head = procno;
}

template <int32_t proc::ProcSlot::*Next, int32_t proc::ProcSlot::*Prev>
void Delete(proclist_head* list, int procno) {
  proc::ProcSlot* p = SlotOrPanic(procno);
  if (p->*Prev == INVALID_PGPROCNO) {
    list->head = p->*Next;
  } else {
    SlotOrPanic(p->*Prev)->*Next = p->*Next;
  }
  if (p->*Next == INVALID_PGPROCNO) {
    list->tail = p->*Prev;
  } else {
    SlotOrPanic(p->*Next)->*Prev = p->*Prev;
  }
  p->*Next = INVALID_PGPROCNO;
  p->*Prev = INVALID_PGPROCNO;
}

// This process's slot number, or -1 without a slot.
int MyProcNumber();

}  // namespace bgw::proclist
