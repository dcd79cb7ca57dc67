// Shared memory for modules: the server side of storage/shmem.h.
//
// Modules get a budget of their own inside the main segment: the sum of
// their RequestAddinShmemSpace() calls, reserved as one region when the
// segment is created. ShmemInitStruct/ShmemAlloc carve module structs out
// of it with their own name index, so a module that allocates more than
// was requested gets an ERROR and can neither overlap another struct nor
// eat the space the server keeps for itself (the segment's slack).
//
// Sizing happens in the postmaster: requests are collected while libraries
// are preloaded (_PG_init, PostgreSQL 13/14 style) and in shmem_request_hook
// (PostgreSQL 15 style), which ProcessShmemRequests() calls once after
// preloading. The total is kept across crash reinitializations; each new
// segment gets a fresh, empty region.
#pragma once

#include <cstddef>

#include "common/status.h"

namespace bgw::addin {

// Structs and anonymous allocations the region can hold (each costs index
// space and up to one cache line of padding, which is reserved up front).
inline constexpr size_t kMaxAllocations = 256;

// Postmaster, once, after shared_preload_libraries: runs shmem_request_hook
// with process_shmem_requests_in_progress set.
void ProcessShmemRequests();

// Postmaster, before the segment is created: bytes the region needs.
size_t ShmemSize();
// Postmaster, after the segment is created: a fresh region and index.
Status ShmemInit();

// Sum of the modules' requests (the budget), and what is charged so far.
size_t RequestedBytes();
size_t UsedBytes();

// Tests: forget the requests and the region.
void ResetForTesting();

}  // namespace bgw::addin
