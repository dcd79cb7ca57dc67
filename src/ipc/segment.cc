// Main shared memory segment and named index; see shmem.h.
#include "ipc/segment.h"

#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "common/log.h"
#include "common/strutil.h"

namespace bgw::shmem {
namespace {

constexpr uint64_t kMagic = 0x4247575348454d31ULL;  // "BGWSHEM1"

// One named allocation. Written once, under ShmemHeader::index_lock, before
// num_entries is incremented (release) so readers that load num_entries
// (acquire) see a complete entry.
struct IndexEntry {
  char name[kMaxNameLen + 1];
  uint64_t offset;  // from the segment start
  uint64_t size;
};

// First bytes of the segment.
//  magic, total_size: written by the postmaster at creation, read-only after.
//  index_lock: test-and-set spinlock held while allocating; the postmaster
//    only allocates before any child exists, so it never spins on it.
//  free_offset, num_entries: advanced under index_lock; num_entries is stored
//    with release order after the entry is filled.
struct ShmemHeader {
  uint64_t magic;
  uint64_t total_size;
  std::atomic<uint32_t> index_lock;
  std::atomic<uint32_t> num_entries;
  uint64_t free_offset;
  IndexEntry entries[kMaxIndexEntries];
};
static_assert(std::atomic<uint32_t>::is_always_lock_free);

ShmemHeader* header = nullptr;
size_t requested = 0;
int interlock_id = -1;
void* interlock_addr = nullptr;

size_t AlignUp(size_t n) { return (n + kAlignment - 1) & ~(kAlignment - 1); }

void LockIndex() {
  int spins = 0;
  while (header->index_lock.exchange(1, std::memory_order_acquire) != 0) {
    if (++spins > 100) sched_yield();
  }
}
void UnlockIndex() { header->index_lock.store(0, std::memory_order_release); }

}  // namespace

void RequestSpace(size_t bytes) { requested += AlignUp(bytes); }
size_t RequestedSpace() { return requested; }
void ResetRequests() { requested = 0; }

Status CreateMainSegment() {
  size_t total = AlignUp(sizeof(ShmemHeader)) + requested + kSlackBytes;
  total = (total + 4095) & ~size_t{4095};
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return Status::FromErrno("could not map anonymous shared memory of " + std::to_string(total) +
                             " bytes");
  }
  header = static_cast<ShmemHeader*>(p);
  header->magic = kMagic;
  header->total_size = total;
  header->index_lock.store(0);
  header->num_entries.store(0);
  header->free_offset = AlignUp(sizeof(ShmemHeader));
  return Status::Ok();
}

void DestroyMainSegment() {
  if (header == nullptr) return;
  munmap(header, header->total_size);
  header = nullptr;
}

void* InitStruct(std::string_view name, size_t size, bool* found) {
  *found = false;
  if (header == nullptr) {
    log::Log(log::Level::kError, "shared memory is not attached in this process");
    return nullptr;
  }
  if (name.empty() || name.size() > kMaxNameLen) {
    log::Log(log::Level::kError, "invalid shared memory name \"%.*s\"",
             static_cast<int>(name.size()), name.data());
    return nullptr;
  }
  auto* base = reinterpret_cast<char*>(header);
  LockIndex();
  uint32_t n = header->num_entries.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; i++) {
    IndexEntry& e = header->entries[i];
    if (name == e.name) {
      UnlockIndex();
      if (e.size != size) {
        log::Log(log::Level::kError, "shared memory struct \"%s\" has size %zu, requested %zu",
                 e.name, static_cast<size_t>(e.size), size);
        return nullptr;
      }
      *found = true;
      return base + e.offset;
    }
  }
  size_t aligned = AlignUp(size);
  if (n >= kMaxIndexEntries || header->free_offset + aligned > header->total_size) {
    UnlockIndex();
    log::Message m;
    m.level = log::Level::kError;
    m.sqlstate = "53200";
    m.text = StringPrintf("out of shared memory (%zu bytes requested for \"%.*s\")", size,
                          static_cast<int>(name.size()), name.data());
    m.hint = "Request the space with RequestAddinShmemSpace() while the module is preloaded.";
    log::Emit(m);
    return nullptr;
  }
  IndexEntry& e = header->entries[n];
  std::memcpy(e.name, name.data(), name.size());
  e.name[name.size()] = '\0';
  e.offset = header->free_offset;
  e.size = size;
  header->free_offset += aligned;
  // Fresh anonymous memory is zero; a reused segment never exists (each
  // generation maps a new one), so no memset is needed.
  header->num_entries.store(n + 1, std::memory_order_release);
  UnlockIndex();
  return base + e.offset;
}

void DetachForChild() {
  if (header != nullptr) {
    munmap(header, header->total_size);
    header = nullptr;
  }
  if (interlock_addr != nullptr) {
    shmdt(interlock_addr);
    interlock_addr = nullptr;
  }
}

bool IsAttached() { return header != nullptr; }
size_t SegmentSize() { return header ? header->total_size : 0; }
const void* SegmentAddress() { return header; }

Status CreateInterlock() {
  int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) return Status::FromErrno("could not create shared memory interlock segment");
  void* addr = shmat(id, nullptr, 0);
  if (addr == reinterpret_cast<void*>(-1)) {
    int err = errno;
    shmctl(id, IPC_RMID, nullptr);
    return Status::FromErrno("could not attach shared memory interlock segment", err);
  }
  // Marked for removal at once: it disappears with the last attached process.
  shmctl(id, IPC_RMID, nullptr);
  interlock_id = id;
  interlock_addr = addr;
  return Status::Ok();
}

int InterlockId() { return interlock_id; }

bool InterlockInUse(int shm_id, int creator_pid) {
  if (shm_id < 0) return false;
  struct shmid_ds ds;
  if (shmctl(shm_id, IPC_STAT, &ds) != 0) return false;  // gone (EINVAL) or not ours
  return ds.shm_cpid == creator_pid && ds.shm_nattch > 0;
}

}  // namespace bgw::shmem
