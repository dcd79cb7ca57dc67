// Table of contents for a chunk of shared memory: storage/shm_toc.h.
//
// Layout of the space handed to shm_toc_create():
//
//   [ShmToc header][entry 0][entry 1]...  free  ...[chunk n]...[chunk 1][chunk 0]
//   ^ address                                                  address + total_bytes ^
//
// Entries grow up from the header, chunks are carved down from the end, and
// they may not meet. Everything is stored as offsets from the TOC, so each
// process may map the space at its own address.
//
// Protocol (ShmToc):
//   magic, total_bytes: written by the creator before the TOC's address is
//     shared with anyone; read-only after.
//   lock: spinlock serialising allocate and insert (any attached process).
//   allocated_bytes: under lock.
//   entries[i]: written once, under lock, before nentry is raised past i.
//   nentry: raised under lock with a release store after the entry is
//     written; lookups load it with acquire and read entries [0, nentry)
//     without the lock (PostgreSQL's write barrier / read barrier pair).
#include "postgres/storage/shm_toc.h"

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "postgres/storage/shmem.h"
#include "postgres/utils/elog.h"

struct shm_toc_entry {
  uint64 key;
  uint64 offset;  // from the TOC's address
};

struct shm_toc {
  uint64 magic;
  std::atomic<uint32_t> lock;
  std::atomic<uint32_t> nentry;
  uint64 total_bytes;
  uint64 allocated_bytes;
  shm_toc_entry entries[1];  // nentry of them
};
static_assert(std::atomic<uint32_t>::is_always_lock_free);

namespace {

constexpr size_t kHeaderSize = offsetof(shm_toc, entries);
constexpr size_t kBufferAlign = 64;  // BUFFERALIGN

void Lock(shm_toc* toc) {
  int spins = 0;
  while (toc->lock.exchange(1, std::memory_order_acquire) != 0) {
    if (++spins > 100) sched_yield();
  }
}
void Unlock(shm_toc* toc) { toc->lock.store(0, std::memory_order_release); }

[[noreturn]] void OutOfSharedMemory() {
  ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of shared memory"));
  pg_unreachable();
}

// Bytes in use at the front (header and entries) and at the back (chunks).
size_t BytesInUse(size_t nentry, size_t allocated) {
  return kHeaderSize + nentry * sizeof(shm_toc_entry) + allocated;
}

}  // namespace

extern "C" {

shm_toc* shm_toc_create(uint64 magic, void* address, Size nbytes) {
  if (address == nullptr || reinterpret_cast<uintptr_t>(address) % kBufferAlign != 0) {
    elog(ERROR, "shm_toc_create: address %p is not BUFFERALIGN'd", address);
  }
  Size total = nbytes & ~(kBufferAlign - 1);  // BUFFERALIGN_DOWN
  if (total < kHeaderSize) {
    elog(ERROR, "shm_toc_create: %zu bytes cannot hold a table of contents (at least %zu needed)",
         nbytes, kHeaderSize);
  }
  auto* toc = static_cast<shm_toc*>(address);
  toc->lock.store(0, std::memory_order_relaxed);
  toc->nentry.store(0, std::memory_order_relaxed);
  toc->total_bytes = total;
  toc->allocated_bytes = 0;
  // Publishes the header to anyone who later learns the address through a
  // lock or another release (DSM handles travel by such paths).
  std::atomic_thread_fence(std::memory_order_release);
  toc->magic = magic;
  return toc;
}

shm_toc* shm_toc_attach(uint64 magic, void* address) {
  if (address == nullptr) return nullptr;
  auto* toc = static_cast<shm_toc*>(address);
  if (toc->magic != magic) return nullptr;
  std::atomic_thread_fence(std::memory_order_acquire);
  return toc;
}

void* shm_toc_allocate(shm_toc* toc, Size nbytes) {
  Size aligned = (nbytes + kBufferAlign - 1) & ~(kBufferAlign - 1);
  if (aligned < nbytes) OutOfSharedMemory();  // overflowed
  Lock(toc);
  size_t total = toc->total_bytes;
  size_t allocated = toc->allocated_bytes;
  size_t used = BytesInUse(toc->nentry.load(std::memory_order_relaxed), allocated);
  if (used > total || aligned > total - used) {
    Unlock(toc);
    OutOfSharedMemory();
  }
  toc->allocated_bytes = allocated + aligned;
  Unlock(toc);
  return reinterpret_cast<char*>(toc) + (total - allocated - aligned);
}

Size shm_toc_freespace(shm_toc* toc) {
  Lock(toc);
  size_t total = toc->total_bytes;
  size_t allocated = toc->allocated_bytes;
  size_t nentry = toc->nentry.load(std::memory_order_relaxed);
  Unlock(toc);
  size_t front =
      (kHeaderSize + nentry * sizeof(shm_toc_entry) + kBufferAlign - 1) & ~(kBufferAlign - 1);
  return front + allocated >= total ? 0 : total - (front + allocated);
}

void shm_toc_insert(shm_toc* toc, uint64 key, void* address) {
  auto* base = reinterpret_cast<char*>(toc);
  auto* p = static_cast<char*>(address);
  if (p <= base || p >= base + toc->total_bytes) {
    elog(ERROR, "shm_toc_insert: address %p is outside the table of contents at %p", address,
         static_cast<void*>(toc));
  }
  Lock(toc);
  uint32_t n = toc->nentry.load(std::memory_order_relaxed);
  size_t used = BytesInUse(n, toc->allocated_bytes);
  if (used > toc->total_bytes || sizeof(shm_toc_entry) > toc->total_bytes - used ||
      n == UINT32_MAX) {
    Unlock(toc);
    OutOfSharedMemory();
  }
  toc->entries[n].key = key;
  toc->entries[n].offset = static_cast<uint64>(p - base);
  // Pairs with the acquire load in shm_toc_lookup: the entry is complete
  // before anyone can see the count that includes it.
  toc->nentry.store(n + 1, std::memory_order_release);
  Unlock(toc);
}

void* shm_toc_lookup(shm_toc* toc, uint64 key, bool noError) {
  uint32_t n = toc->nentry.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; i++) {
    if (toc->entries[i].key == key) return reinterpret_cast<char*>(toc) + toc->entries[i].offset;
  }
  if (!noError) {
    elog(ERROR, "could not find key " UINT64_FORMAT " in shm TOC at %p", key,
         static_cast<void*>(toc));
  }
  return nullptr;
}

Size shm_toc_estimate(shm_toc_estimator* e) {
  Size sz = add_size(kHeaderSize, mul_size(e->number_of_keys, sizeof(shm_toc_entry)));
  sz = add_size(sz, e->space_for_chunks);
  sz = add_size(sz, kBufferAlign - 1);
  return sz & ~(kBufferAlign - 1);
}

}  // extern "C"
