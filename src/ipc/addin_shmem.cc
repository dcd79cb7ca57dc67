// Shared memory for modules; see addin_shmem.h and
// include/postgres/storage/shmem.h.
//
// The region is one entry of the main segment's index ("Addin Shared
// Memory"): a header, then the data area. Its protocol:
//   magic, budget, data_offset, data_size: written by the postmaster when it
//     creates the region (before any child exists), read-only afterwards.
//   mutex: spinlock guarding everything below; taken by any process that
//     allocates or looks up a module struct (the postmaster only while no
//     child exists).
//   used: bytes charged (exactly the sizes asked for), never above budget.
//   free_offset: next free byte of the data area, cache-line aligned.
//   num_entries, entries: the module struct index; an entry is immutable
//     once num_entries covers it.
//   num_allocations: named and anonymous allocations so far. Each one pads
//     its start to a cache line; data_size reserves that padding for
//     kMaxAllocations, so the data area can never run out before the budget.
#include "ipc/addin_shmem.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstring>

#include "common/log.h"
#include "compat/dynahash.h"
#include "ipc/lwlock.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/storage/shmem.h"
#include "postgres/storage/spin.h"

extern "C" {
shmem_request_hook_type shmem_request_hook = nullptr;
bool process_shmem_requests_in_progress = false;
}

namespace bgw::addin {
namespace {

constexpr uint64_t kMagic = 0x4247574144444e31ULL;  // "BGWADDN1"
constexpr size_t kAlign = 64;

struct AddinEntry {
  char name[SHMEM_INDEX_KEYSIZE];
  uint64_t offset;  // from the region start
  uint64_t size;
};

struct AddinHeader {
  uint64_t magic;
  uint64_t budget;
  uint64_t data_offset;
  uint64_t data_size;
  slock_t mutex;
  uint64_t used;
  uint64_t free_offset;
  uint32_t num_entries;
  uint32_t num_allocations;
  AddinEntry entries[kMaxAllocations];
};

// Postmaster-private (inherited by children): the modules' requests.
size_t total_request = 0;
// The region of the current generation; set by the postmaster, inherited.
AddinHeader* region = nullptr;

size_t AlignUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

bool InPostmaster() { return IsPostmasterEnvironment && !::IsUnderPostmaster; }

enum class Outcome { kFound, kCreated, kSizeMismatch, kNoSpace, kTooMany };

struct Result {
  Outcome outcome;
  void* ptr = nullptr;
  uint64_t existing_size = 0;
  uint64_t left = 0;
};

// Everything under the mutex; no error can be raised in here. A null name
// is an anonymous allocation.
Result Allocate(const char* name, size_t size) {
  Result r{Outcome::kNoSpace};
  char* base = reinterpret_cast<char*>(region);
  SpinLockAcquire(&region->mutex);
  if (name != nullptr) {
    for (uint32_t i = 0; i < region->num_entries; i++) {
      const AddinEntry& e = region->entries[i];
      if (strcmp(e.name, name) != 0) continue;
      if (e.size != size) {
        r.outcome = Outcome::kSizeMismatch;
        r.existing_size = e.size;
      } else {
        r.outcome = Outcome::kFound;
        r.ptr = base + e.offset;
      }
      SpinLockRelease(&region->mutex);
      return r;
    }
  }
  r.left = region->budget - region->used;
  if (region->num_allocations >= kMaxAllocations) {
    r.outcome = Outcome::kTooMany;
  } else if (size <= r.left) {
    uint64_t offset = region->free_offset;
    // Guaranteed by the padding reserve; checked anyway, never overflowed.
    if (offset + size <= region->data_offset + region->data_size) {
      r.outcome = Outcome::kCreated;
      r.ptr = base + offset;
      region->free_offset = AlignUp(offset + size);
      region->used += size;
      if (name != nullptr) {
        AddinEntry& e = region->entries[region->num_entries];
        strcpy(e.name, name);
        e.offset = offset;
        e.size = size;
        region->num_entries++;
      }
      region->num_allocations++;
    }
  }
  SpinLockRelease(&region->mutex);
  return r;
}

// "library "x"" for the module whose code called us, or "the server".
void DescribeCaller(const void* return_address, char* buf, size_t len) {
  Dl_info caller = {}, self = {};
  if (dladdr(return_address, &caller) != 0 && caller.dli_fname != nullptr &&
      dladdr(reinterpret_cast<const void*>(&ShmemInitStruct), &self) != 0 &&
      (self.dli_fname == nullptr || strcmp(caller.dli_fname, self.dli_fname) != 0)) {
    const char* base = strrchr(caller.dli_fname, '/');
    base = base != nullptr ? base + 1 : caller.dli_fname;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".so") == 0) n -= 3;
    snprintf(buf, len, "library \"%.*s\"", static_cast<int>(n), base);
    return;
  }
  snprintf(buf, len, "the server");
}

// The shared part of ShmemInitStruct / ShmemAlloc: ERROR on every failure
// except running out of budget with no_error (then NULL).
void* AllocateOrError(const char* name, size_t size, bool* found, bool no_error,
                      const void* caller) {
  if (found != nullptr) *found = false;
  lwlock::RequireSharedMemory();
  if (region == nullptr || !shmem::IsAttached()) {
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("shared memory is not available in this process"),
            errhint("Register the background worker with BGWORKER_SHMEM_ACCESS in bgw_flags to "
                    "use shared memory."));
  }
  if (name != nullptr) {
    if (name[0] == '\0') elog(ERROR, "shared memory structure name must not be empty");
    if (strlen(name) >= SHMEM_INDEX_KEYSIZE) {
      ereport(ERROR, errcode(ERRCODE_NAME_TOO_LONG),
              errmsg("shared memory structure name \"%s\" is too long", name),
              errdetail("Names may be at most %d bytes long.", SHMEM_INDEX_KEYSIZE - 1));
    }
    if (size == 0) {
      elog(ERROR, "invalid size 0 requested for shared memory structure \"%s\"", name);
    }
  }
  Result r = Allocate(name, size);
  switch (r.outcome) {
    case Outcome::kFound:
      if (found != nullptr) *found = true;
      return r.ptr;
    case Outcome::kCreated:
      return r.ptr;  // fresh segment memory: already zero
    case Outcome::kSizeMismatch:
      ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
              errmsg("shared memory structure \"%s\" has size %zu, requested %zu", name,
                     static_cast<size_t>(r.existing_size), size),
              errdetail("ShmemIndex entry size is wrong for data structure \"%s\": expected %zu, "
                        "actual %zu.",
                        name, size, static_cast<size_t>(r.existing_size)));
      break;
    case Outcome::kTooMany:
      ereport(
          ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
          errmsg("could not create ShmemIndex entry for data structure \"%s\"",
                 name != nullptr ? name : "(anonymous)"),
          errdetail("Modules may make at most %zu shared memory allocations.", kMaxAllocations));
      break;
    case Outcome::kNoSpace: {
      if (no_error) return nullptr;
      char who[160];
      DescribeCaller(caller, who, sizeof who);
      ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
              errmsg("out of shared memory: %zu bytes for \"%s\" requested by %s", size,
                     name != nullptr ? name : "(anonymous allocation)", who),
              errdetail("Modules reserved %zu bytes with RequestAddinShmemSpace(); %zu of them "
                        "are left.",
                        static_cast<size_t>(region->budget), static_cast<size_t>(r.left)),
              errhint("Request the space with RequestAddinShmemSpace() in _PG_init() (PostgreSQL "
                      "13/14) or in a shmem_request_hook (PostgreSQL 15) of a library listed in "
                      "shared_preload_libraries."));
      break;
    }
  }
  return nullptr;
}

}  // namespace

void ProcessShmemRequests() {
  process_shmem_requests_in_progress = true;
  if (shmem_request_hook != nullptr) shmem_request_hook();
  process_shmem_requests_in_progress = false;
}

size_t ShmemSize() {
  return AlignUp(sizeof(AddinHeader)) + AlignUp(total_request) + kAlign * (kMaxAllocations + 1);
}

Status ShmemInit() {
  bool found = false;
  size_t size = ShmemSize();
  auto* h = static_cast<AddinHeader*>(shmem::InitStruct("Addin Shared Memory", size, &found));
  if (h == nullptr) return Status::Error("could not reserve shared memory for modules");
  h->magic = kMagic;
  h->budget = total_request;
  h->data_offset = AlignUp(sizeof(AddinHeader));
  h->data_size = size - h->data_offset;
  SpinLockInit(&h->mutex);
  h->used = 0;
  h->free_offset = h->data_offset;
  h->num_entries = 0;
  h->num_allocations = 0;
  region = h;
  return Status::Ok();
}

size_t RequestedBytes() { return total_request; }

size_t UsedBytes() {
  if (region == nullptr || !shmem::IsAttached()) return 0;
  SpinLockAcquire(&region->mutex);
  size_t used = region->used;
  SpinLockRelease(&region->mutex);
  return used;
}

void ResetForTesting() {
  total_request = 0;
  region = nullptr;
  shmem_request_hook = nullptr;
  process_shmem_requests_in_progress = false;
}

}  // namespace bgw::addin

extern "C" {

void* ShmemInitStruct(const char* name, Size size, bool* foundPtr) {
  if (name == nullptr) elog(ERROR, "shared memory structure name must not be NULL");
  return bgw::addin::AllocateOrError(name, size, foundPtr, false, __builtin_return_address(0));
}

void* ShmemAlloc(Size size) {
  return bgw::addin::AllocateOrError(nullptr, size, nullptr, false, __builtin_return_address(0));
}

void* ShmemAllocNoError(Size size) {
  return bgw::addin::AllocateOrError(nullptr, size, nullptr, true, __builtin_return_address(0));
}

HTAB* ShmemInitHash(const char* name, long init_size, long max_size, HASHCTL* infoP,
                    int hash_flags) {
  (void)init_size;  // all max_size entries are reserved at once
  if (name == nullptr || infoP == nullptr) elog(ERROR, "ShmemInitHash: name and info are required");
  if (max_size <= 0) elog(ERROR, "ShmemInitHash: max_size must be positive for \"%s\"", name);
  bool found = false;
  void* block = bgw::addin::AllocateOrError(name, hash_estimate_size(max_size, infoP->entrysize),
                                            &found, false, __builtin_return_address(0));
  HTAB* table = bgw::compat::CreateSharedHash(name, block, max_size, found, infoP, hash_flags);
  infoP->hctl = reinterpret_cast<HASHHDR*>(block);
  return table;
}

bool ShmemAddrIsValid(const void* addr) {
  if (!bgw::shmem::IsAttached()) return false;
  auto* lo = static_cast<const char*>(bgw::shmem::SegmentAddress());
  auto* p = static_cast<const char*>(addr);
  return p >= lo && p < lo + bgw::shmem::SegmentSize();
}

Size add_size(Size s1, Size s2) {
  Size result = s1 + s2;
  if (result < s1) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
            errmsg("requested shared memory size overflows size_t"));
  }
  return result;
}

Size mul_size(Size s1, Size s2) {
  if (s1 == 0 || s2 == 0) return 0;
  Size result = s1 * s2;
  if (result / s2 != s1) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
            errmsg("requested shared memory size overflows size_t"));
  }
  return result;
}

void RequestAddinShmemSpace(Size size) {
  if (!process_shared_preload_libraries_in_progress && !process_shmem_requests_in_progress) {
    if (bgw::addin::InPostmaster()) {
      bgw::log::Log(bgw::log::Level::kLog,
                    "cannot request additional shared memory outside shmem_request_hook; request "
                    "for %zu bytes ignored",
                    size);
      return;
    }
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("cannot request additional shared memory outside shmem_request_hook"),
            errhint("Call RequestAddinShmemSpace() from _PG_init() or a shmem_request_hook of a "
                    "library listed in shared_preload_libraries."));
  }
  // Bounded so the sizing arithmetic can never overflow.
  constexpr Size kMaxTotal = Size{1} << 44;  // 16 TB
  Size total = add_size(bgw::addin::total_request, size);
  if (total > kMaxTotal) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
            errmsg("requested shared memory size overflows size_t"),
            errdetail("Modules asked for %zu bytes in total.", total));
  }
  bgw::addin::total_request = total;
}

}  // extern "C"
