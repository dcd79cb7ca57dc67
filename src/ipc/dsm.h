// Dynamic shared memory segments: the server side of storage/dsm.h.
//
// A segment is a POSIX shared memory object, /dev/shm/<prefix>.<handle>,
// mapped MAP_SHARED by every process that attaches it. The prefix names the
// server: "bgw.<st_dev>.<st_ino>" of its data directory, stable across
// restarts, so a new postmaster recognises (and removes) the segments of a
// predecessor that was killed, and two servers never touch each other's.
//
// Reference counts live in a control table in the main shared memory
// segment (DsmControl, see dsm.cc for its protocol). Only children take its
// lock. The postmaster never reads the table: it cleans up by name, by
// removing every /dev/shm entry with its prefix, at three moments when no
// child can be using one: before creating shared memory at startup and at
// every crash reinitialization (RemoveLeftoverSegments from
// CreateSharedMemory), and after its last child has exited at shutdown.
// Between those, a segment's file is removed by the process that drops its
// last reference (refcount 2 -> 1, not pinned).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bgw::dsm {

// PostgreSQL's sizing: 64 + 5 per process that may attach.
inline constexpr int kFixedSlots = 64;
inline constexpr int kSlotsPerProcess = 5;
// Longest name prefix (without the ".<handle>" suffix).
inline constexpr size_t kMaxPrefixLen = 63;

int MaxSegments(int max_processes);
size_t ShmemSize(int max_segments);

// Postmaster (before forking children), or a test: the prefix of segment
// names. From the data directory's device and inode: "bgw.<dev>.<ino>".
Status SetNamePrefixForDataDir(const std::string& data_dir);
// Tests: any prefix of [A-Za-z0-9._-], at most kMaxPrefixLen bytes.
Status SetNamePrefix(std::string_view prefix);
const char* NamePrefix();  // "" until set

// Postmaster, after shmem::CreateMainSegment (and tests): lays out the
// control table, every slot free. Children inherit it across fork.
void ShmemInit(int max_segments);

// Postmaster (no child running): removes every /dev/shm entry named
// "<prefix>.<digits>". Returns how many were removed. Never touches shared
// memory and takes no lock.
int RemoveLeftoverSegments();

// Exit path (proc_exit's shmem phase): detaches every segment this process
// has mapped, running their on_dsm_detach callbacks. Cheap when none.
void DetachAllForExit();

// Number of segments this process has mapped (tests, diagnostics).
int MappedSegmentCount();

}  // namespace bgw::dsm
