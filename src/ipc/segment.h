// The main shared memory segment and its named-allocation index.
//
// The postmaster creates the segment once per "generation" (startup, and again
// after every crash reinitialization) as an anonymous MAP_SHARED mapping:
// children inherit it across fork, nothing ever appears in /dev/shm, and the
// kernel frees it when the last process holding it exits, however that
// happens. A child that must not reach shared memory (a worker without
// BGWORKER_SHMEM_ACCESS) unmaps it right after fork.
//
// Beside it the postmaster creates a tiny System V segment (IPC_PRIVATE,
// removed at once with IPC_RMID so it can never leak) that every child keeps
// attached. Its id goes into postmaster.pid; a new postmaster that finds the
// id still alive knows children of a dead postmaster are still running on
// this data directory and refuses to start (PostgreSQL's interlock).
//
// Sizing: subsystems and modules add requests with RequestSpace() before the
// segment is created; the segment is exactly the sum plus the index and a
// slack for allocations made later by running processes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace bgw::shmem {

inline constexpr size_t kMaxNameLen = 63;  // index names, NUL excluded
inline constexpr size_t kMaxIndexEntries = 512;
inline constexpr size_t kSlackBytes = 100000;  // for allocations after startup
inline constexpr size_t kAlignment = 64;       // cache line

// Postmaster, before CreateMainSegment: adds `bytes` to the next segment size.
void RequestSpace(size_t bytes);
// Bytes requested so far (not counting the header and slack).
size_t RequestedSpace();
// Postmaster, before a reinitialization: forgets requests of the previous
// generation (subsystems request again while the segment is rebuilt).
void ResetRequests();

// Postmaster: creates a fresh segment sized from the requests. Any previous
// segment must have been destroyed first.
Status CreateMainSegment();
// Postmaster: unmaps the segment (children still holding it keep their copy).
void DestroyMainSegment();

// Any attached process: the named allocation, created zero-filled on first
// use. *found tells whether it existed already. A name longer than
// kMaxNameLen, a size mismatch with the existing entry, or an exhausted
// segment/index is a fatal internal error for the caller (returns nullptr and
// logs). Postmaster: only while no children run. Children: under the index
// spinlock, so concurrent callers agree on one allocation.
void* InitStruct(std::string_view name, size_t size, bool* found);

// Child without shared memory access: drop the mapping and the interlock.
void DetachForChild();
bool IsAttached();
size_t SegmentSize();
// Raw address range of the mapping (tests check /proc/self/maps with it).
const void* SegmentAddress();

// Interlock segment (see above). Created once at postmaster start.
Status CreateInterlock();
int InterlockId();
// True if a System V segment with this id still exists and was created by
// `creator_pid`: children of that postmaster are still alive.
bool InterlockInUse(int shm_id, int creator_pid);

}  // namespace bgw::shmem
