// Dynamic shared memory segments: storage/dsm.h on POSIX shared memory.
// See dsm.h for naming and who cleans up when.
//
// Errors follow the module API: ereport(ERROR) unwinds with siglongjmp, so
// no object with a non-trivial destructor is alive across a call that can
// raise one, and every OS resource is released before the ereport.
#include "ipc/dsm.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "common/status.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/dsm.h"
#include "postgres/utils/memutils.h"

namespace {

// One on_dsm_detach registration; a singly linked stack, newest first.
struct DetachCallback {
  DetachCallback* next;
  on_dsm_detach_callback function;
  Datum arg;
};

}  // namespace

// This process's mapping of a segment (process-local, malloc'd: mappings
// outlive every memory context).
struct dsm_segment {
  dsm_segment* next;  // this process's mappings, newest first
  dsm_handle handle;
  int control_slot;  // item holding our reference; -1 once dropped
  void* address;
  size_t mapped_size;
  bool mapping_pinned;  // dsm_pin_mapping (informational here)
  bool in_detach;       // dsm_detach is running this segment's callbacks
  DetachCallback* callbacks;
};

extern "C" {
int dynamic_shared_memory_type = DSM_IMPL_POSIX;
int min_dynamic_shared_memory = 0;
}

namespace bgw::dsm {
namespace {

constexpr uint32_t kControlMagic = 0x444d4331;  // "DMC1"
constexpr const char* kShmDir = "/dev/shm";
constexpr size_t kNameLen = kMaxPrefixLen + 16;  // "/" + prefix + "." + uint32 + NUL

// Reference counts (PostgreSQL's convention):
//   0   free item;
//   1   reserved while the creator makes the file, or moribund while the
//       last holder removes it: nobody may attach;
//   2+  live: 1 + attached processes + 1 if pinned.
constexpr uint32_t kFree = 0;
constexpr uint32_t kReservedOrMoribund = 1;
constexpr uint32_t kLive = 2;

// One segment in the control table. Every field is read and written only
// under DsmControl::lock.
struct ControlItem {
  uint32_t handle;
  uint32_t refcnt;
  bool pinned;
};

// The control table, in the main shared memory segment.
//   magic, max_items: written by the postmaster at creation (before any
//     child exists; children see them through fork), read-only after.
//   lock: test-and-set spinlock, taken by children only, held for one scan
//     of the items; its acquire/release pairs order all item accesses.
//   items: see ControlItem. The postmaster never reads them: it cleans up
//     by name (RemoveLeftoverSegments).
struct DsmControl {
  uint32_t magic;
  uint32_t max_items;
  std::atomic<uint32_t> lock;
  ControlItem items[1];  // max_items of them
};
static_assert(std::atomic<uint32_t>::is_always_lock_free);

DsmControl* control = nullptr;
const void* control_segment = nullptr;  // main segment the table lives in
char name_prefix[kMaxPrefixLen + 1] = "";
dsm_segment* segment_list = nullptr;

// The table, if this process can reach it: a child without shared memory
// access has unmapped the main segment, and a table of an earlier segment
// (unit tests recreate it) must not be used.
DsmControl* GetControl() {
  if (control == nullptr || !shmem::IsAttached() || shmem::SegmentAddress() != control_segment) {
    return nullptr;
  }
  return control;
}

void Lock(DsmControl* c) {
  int spins = 0;
  while (c->lock.exchange(1, std::memory_order_acquire) != 0) {
    if (++spins > 100) sched_yield();
  }
}
void Unlock(DsmControl* c) { c->lock.store(0, std::memory_order_release); }

void SegmentName(dsm_handle h, char (&name)[kNameLen]) {
  snprintf(name, sizeof name, "/%s.%u", name_prefix, static_cast<unsigned>(h));
}

dsm_handle RandomHandle() {
  static uint64_t state = 0;
  dsm_handle h = 0;
  while (h == DSM_HANDLE_INVALID) {
    if (getrandom(&h, sizeof h, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof h)) {
      if (state == 0) {
        state = static_cast<uint64_t>(getpid()) * 0x9E3779B97F4A7C15ULL ^
                static_cast<uint64_t>(time(nullptr));
      }
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      h = static_cast<dsm_handle>(state >> 16);
    }
  }
  return h;
}

int ErrcodeFor(int err) {
  if (err == EFBIG || err == ENOMEM || err == ENOSPC) return errcode(ERRCODE_OUT_OF_MEMORY);
  return errcode_for_file_access();
}

DsmControl* RequireControl(const char* what) {
  if (IsPostmasterEnvironment && !IsUnderPostmaster) {
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("cannot %s dynamic shared memory segments in the postmaster", what));
  }
  DsmControl* c = GetControl();
  if (c == nullptr || name_prefix[0] == '\0') {
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("cannot %s dynamic shared memory segments: this process has no access to "
                   "shared memory",
                   what),
            errhint("A background worker must be registered with BGWORKER_SHMEM_ACCESS to use "
                    "dynamic shared memory."));
  }
  return c;
}

dsm_segment* NewSegment() {
  auto* seg = static_cast<dsm_segment*>(calloc(1, sizeof(dsm_segment)));
  if (seg == nullptr) ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"));
  seg->control_slot = -1;
  return seg;
}

// Returns a reserved item to the free state (creation failed).
void ReleaseReserved(DsmControl* c, int slot, dsm_handle h) {
  Lock(c);
  ControlItem& item = c->items[slot];
  if (item.handle == h && item.refcnt == kReservedOrMoribund) item.refcnt = kFree;
  Unlock(c);
}

// The item's last reference is gone (refcount 1, moribund): remove the name,
// then free the item. If the name cannot be removed the item stays moribund
// (unattachable) and the postmaster removes the file when it stops.
void Destroy(DsmControl* c, int slot, dsm_handle h) {
  char name[kNameLen];
  SegmentName(h, name);
  if (shm_unlink(name) != 0 && errno != ENOENT) {
    ereport(WARNING, errcode_for_file_access(),
            errmsg("could not remove shared memory segment \"%s\": %m", name));
    return;
  }
  Lock(c);
  ControlItem& item = c->items[slot];
  if (item.handle == h && item.refcnt == kReservedOrMoribund) item.refcnt = kFree;
  Unlock(c);
}

void DropReference(DsmControl* c, int slot, dsm_handle h) {
  uint32_t refcnt = 0;
  Lock(c);
  ControlItem& item = c->items[slot];
  if (item.handle == h && item.refcnt >= kLive) refcnt = --item.refcnt;
  Unlock(c);
  if (refcnt == kReservedOrMoribund) Destroy(c, slot, h);
}

// Blocks every signal that may be blocked, so a long posix_fallocate (it
// restarts from the beginning on EINTR) cannot be livelocked by signals.
// SIGQUIT stays deliverable: an immediate stop must still work.
void BlockSignalsForFill(sigset_t* old) {
  sigset_t all;
  sigfillset(&all);
  for (int sig : {SIGQUIT, SIGTRAP, SIGABRT, SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGSYS, SIGPWR}) {
    sigdelset(&all, sig);
  }
  sigprocmask(SIG_BLOCK, &all, old);
}

dsm_segment** FindLink(const dsm_segment* seg) {
  for (dsm_segment** link = &segment_list; *link != nullptr; link = &(*link)->next) {
    if (*link == seg) return link;
  }
  return nullptr;
}

dsm_segment* RequireMapped(dsm_segment* seg, const char* caller) {
  if (seg == nullptr || FindLink(seg) == nullptr) {
    elog(ERROR, "%s: dynamic shared memory segment %p is not mapped in this process", caller,
         static_cast<void*>(seg));
  }
  return seg;
}

}  // namespace

int MaxSegments(int max_processes) { return kFixedSlots + kSlotsPerProcess * max_processes; }

size_t ShmemSize(int max_segments) {
  return offsetof(DsmControl, items) + sizeof(ControlItem) * static_cast<size_t>(max_segments);
}

Status SetNamePrefixForDataDir(const std::string& data_dir) {
  struct stat st;
  if (stat(data_dir.c_str(), &st) != 0) {
    return Status::FromErrno("could not stat data directory \"" + data_dir + "\"");
  }
  char prefix[kMaxPrefixLen + 1];
  snprintf(prefix, sizeof prefix, "bgw.%llu.%llu", static_cast<unsigned long long>(st.st_dev),
           static_cast<unsigned long long>(st.st_ino));
  return SetNamePrefix(prefix);
}

Status SetNamePrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > kMaxPrefixLen) {
    return Status::Error("invalid dynamic shared memory name prefix");
  }
  for (char ch : prefix) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-';
    if (!ok) return Status::Error("invalid dynamic shared memory name prefix");
  }
  std::memcpy(name_prefix, prefix.data(), prefix.size());
  name_prefix[prefix.size()] = '\0';
  return Status::Ok();
}

const char* NamePrefix() { return name_prefix; }

void ShmemInit(int max_segments) {
  bool found = false;
  auto* c =
      static_cast<DsmControl*>(shmem::InitStruct("DsmControl", ShmemSize(max_segments), &found));
  control = c;
  control_segment = c != nullptr ? shmem::SegmentAddress() : nullptr;
  if (c == nullptr || found) return;
  // Fresh segment memory is zeroed: every item is free.
  c->magic = kControlMagic;
  c->max_items = static_cast<uint32_t>(max_segments);
  c->lock.store(0, std::memory_order_relaxed);
}

int RemoveLeftoverSegments() {
  if (name_prefix[0] == '\0') return 0;
  DIR* dir = opendir(kShmDir);
  if (dir == nullptr) return 0;
  size_t prefix_len = strlen(name_prefix);
  int removed = 0;
  while (struct dirent* entry = readdir(dir)) {
    const char* name = entry->d_name;
    if (strncmp(name, name_prefix, prefix_len) != 0 || name[prefix_len] != '.') continue;
    const char* digits = name + prefix_len + 1;
    size_t n = strlen(digits);
    if (n == 0 || n > 10 || strspn(digits, "0123456789") != n) continue;
    char path[sizeof(entry->d_name) + 2];
    snprintf(path, sizeof path, "/%s", name);
    if (shm_unlink(path) == 0) {
      removed++;
    } else if (errno != ENOENT) {
      log::Log(log::Level::kLog, "could not remove shared memory segment \"%s\": %s", path,
               ErrnoText(errno).c_str());
    }
  }
  closedir(dir);
  if (removed > 0) {
    log::Log(log::Level::kDebug1, "removed %d dynamic shared memory segment(s) named %s.*", removed,
             name_prefix);
  }
  return removed;
}

void DetachAllForExit() {
  while (segment_list != nullptr) {
    // A callback that exits the process leaves its segment marked; finish
    // it here (the interrupted dsm_detach never resumes).
    segment_list->in_detach = false;
    dsm_detach(segment_list);
  }
}

int MappedSegmentCount() {
  int n = 0;
  for (dsm_segment* seg = segment_list; seg != nullptr; seg = seg->next) n++;
  return n;
}

}  // namespace bgw::dsm

using bgw::dsm::DsmControl;

extern "C" {

dsm_segment* dsm_create(Size size, int flags) {
  namespace d = bgw::dsm;
  DsmControl* c = d::RequireControl("create");
  if (size == 0) {
    ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
            errmsg("cannot create a dynamic shared memory segment of 0 bytes"));
  }
  if (size > MaxAllocHugeSize) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
            errmsg("dynamic shared memory segment size %zu is too large", size));
  }
  // Refuse what the file system cannot back before committing memory.
  struct statvfs fs;
  bool no_space = statvfs(d::kShmDir, &fs) == 0 && fs.f_frsize > 0 &&
                  (size - 1) / fs.f_frsize + 1 > static_cast<uint64_t>(fs.f_bavail);

  char name[d::kNameLen];
  if (no_space) {
    errno = ENOSPC;
    ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
            errmsg("could not resize shared memory segment \"/%s.*\" to %zu bytes: %m",
                   d::name_prefix, size));
  }

  dsm_segment* seg = d::NewSegment();
  int fd = -1;
  int slot = -1;
  dsm_handle handle = DSM_HANDLE_INVALID;
  for (int attempt = 0;; attempt++) {
    dsm_handle candidate = d::RandomHandle();
    int free_slot = -1;
    bool clash = false;
    d::Lock(c);
    for (uint32_t i = 0; i < c->max_items; i++) {
      const d::ControlItem& item = c->items[i];
      if (item.refcnt == d::kFree) {
        if (free_slot < 0) free_slot = static_cast<int>(i);
      } else if (item.handle == candidate) {
        clash = true;
        break;
      }
    }
    if (!clash && free_slot >= 0) {
      c->items[free_slot] = {candidate, d::kReservedOrMoribund, false};
    }
    d::Unlock(c);
    if (clash) continue;
    if (free_slot < 0) {
      free(seg);
      if (flags & DSM_CREATE_NULL_IF_MAXSEGMENTS) return nullptr;
      ereport(ERROR, errcode(ERRCODE_INSUFFICIENT_RESOURCES),
              errmsg("too many dynamic shared memory segments"));
    }
    d::SegmentName(candidate, name);
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      slot = free_slot;
      handle = candidate;
      break;
    }
    int err = errno;
    d::ReleaseReserved(c, free_slot, candidate);
    // A file of this name that the table does not know: not ours to reuse
    // (the postmaster removes strays); pick another handle.
    if (err == EEXIST && attempt < 16) continue;
    free(seg);
    errno = err;
    ereport(ERROR, d::ErrcodeFor(err),
            errmsg("could not open shared memory segment \"%s\": %m", name));
  }

  int err = 0;
  bool resize_failed = false;
  void* address = MAP_FAILED;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    err = errno;
    resize_failed = true;
  } else {
    // Allocate the pages now: a segment that tmpfs cannot back must fail
    // here with an error, not later with SIGBUS on first touch.
    sigset_t old;
    d::BlockSignalsForFill(&old);
    int rc;
    do {
      rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
    } while (rc == EINTR);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (rc != 0) {
      err = rc;
      resize_failed = true;
    }
  }
  if (err == 0) {
    address = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (address == MAP_FAILED) err = errno;
  }
  close(fd);
  if (err != 0) {
    shm_unlink(name);
    d::ReleaseReserved(c, slot, handle);
    free(seg);
    errno = err;
    if (resize_failed) {
      ereport(ERROR, d::ErrcodeFor(err),
              errmsg("could not resize shared memory segment \"%s\" to %zu bytes: %m", name, size));
    }
    ereport(ERROR, d::ErrcodeFor(err),
            errmsg("could not map shared memory segment \"%s\": %m", name));
  }

  d::Lock(c);
  c->items[slot].refcnt = d::kLive;  // existence + this process
  d::Unlock(c);
  seg->handle = handle;
  seg->control_slot = slot;
  seg->address = address;
  seg->mapped_size = size;
  seg->next = d::segment_list;
  d::segment_list = seg;
  return seg;
}

dsm_segment* dsm_attach(dsm_handle h) {
  namespace d = bgw::dsm;
  DsmControl* c = d::RequireControl("attach to");
  for (dsm_segment* s = d::segment_list; s != nullptr; s = s->next) {
    if (s->handle == h && s->control_slot >= 0) {
      elog(ERROR, "can't attach the same segment more than once");
    }
  }
  if (h == DSM_HANDLE_INVALID) return nullptr;

  dsm_segment* seg = d::NewSegment();
  int slot = -1;
  d::Lock(c);
  for (uint32_t i = 0; i < c->max_items; i++) {
    d::ControlItem& item = c->items[i];
    if (item.refcnt >= d::kLive && item.handle == h) {
      item.refcnt++;
      slot = static_cast<int>(i);
      break;
    }
  }
  d::Unlock(c);
  if (slot < 0) {
    free(seg);  // never existed, or destroyed (or being destroyed)
    return nullptr;
  }

  char name[d::kNameLen];
  d::SegmentName(h, name);
  int err = 0;
  const char* what = "open";
  void* address = MAP_FAILED;
  size_t size = 0;
  int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
  } else {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      err = errno;
      what = "stat";
    } else if (st.st_size <= 0) {
      err = EINVAL;
      what = "map";
    } else {
      size = static_cast<size_t>(st.st_size);
      address = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (address == MAP_FAILED) {
        err = errno;
        what = "map";
      }
    }
    close(fd);
  }
  if (err != 0) {
    d::DropReference(c, slot, h);
    free(seg);
    errno = err;
    ereport(ERROR, d::ErrcodeFor(err),
            errmsg("could not %s shared memory segment \"%s\": %m", what, name));
  }
  seg->handle = h;
  seg->control_slot = slot;
  seg->address = address;
  seg->mapped_size = size;
  seg->next = d::segment_list;
  d::segment_list = seg;
  return seg;
}

void dsm_detach(dsm_segment* seg) {
  namespace d = bgw::dsm;
  d::RequireMapped(seg, "dsm_detach");
  // A callback detaching its own segment: the outer call finishes the job.
  if (seg->in_detach) return;
  seg->in_detach = true;

  // Each callback is unlinked before it runs, so one that raises ERROR is
  // not run again when the detach is retried (at exit, at the latest).
  HOLD_INTERRUPTS();
  PG_TRY();
  {
    while (seg->callbacks != nullptr) {
      DetachCallback* cb = seg->callbacks;
      seg->callbacks = cb->next;
      on_dsm_detach_callback function = cb->function;
      Datum arg = cb->arg;
      free(cb);
      function(seg, arg);
    }
  }
  PG_CATCH();
  {
    seg->in_detach = false;
    PG_RE_THROW();
  }
  PG_END_TRY();
  RESUME_INTERRUPTS();

  // Unmap before dropping the reference: whoever sees the count reach 1
  // knows no mapping is left anywhere.
  if (seg->address != nullptr) {
    munmap(seg->address, seg->mapped_size);
    seg->address = nullptr;
    seg->mapped_size = 0;
  }
  if (seg->control_slot >= 0) {
    int slot = seg->control_slot;
    seg->control_slot = -1;
    if (DsmControl* c = d::GetControl(); c != nullptr) d::DropReference(c, slot, seg->handle);
  }
  // Callbacks may have detached other segments: find our link again.
  if (dsm_segment** link = d::FindLink(seg); link != nullptr) *link = seg->next;
  free(seg);
}

void dsm_detach_all(void) { bgw::dsm::DetachAllForExit(); }

void dsm_backend_shutdown(void) { bgw::dsm::DetachAllForExit(); }

void dsm_pin_mapping(dsm_segment* seg) {
  bgw::dsm::RequireMapped(seg, "dsm_pin_mapping")->mapping_pinned = true;
}

void dsm_unpin_mapping(dsm_segment* seg) {
  bgw::dsm::RequireMapped(seg, "dsm_unpin_mapping")->mapping_pinned = false;
}

void dsm_pin_segment(dsm_segment* seg) {
  namespace d = bgw::dsm;
  d::RequireMapped(seg, "dsm_pin_segment");
  DsmControl* c = d::RequireControl("pin");
  bool already = false;
  if (seg->control_slot >= 0) {
    d::Lock(c);
    d::ControlItem& item = c->items[seg->control_slot];
    already = item.pinned;
    if (!already) {
      item.pinned = true;
      item.refcnt++;
    }
    d::Unlock(c);
  }
  if (already) elog(ERROR, "cannot pin a segment that is already pinned");
}

void dsm_unpin_segment(dsm_handle h) {
  namespace d = bgw::dsm;
  DsmControl* c = d::RequireControl("unpin");
  int slot = -1;
  bool was_pinned = false;
  uint32_t refcnt = 0;
  d::Lock(c);
  for (uint32_t i = 0; i < c->max_items; i++) {
    d::ControlItem& item = c->items[i];
    if (item.refcnt >= d::kLive && item.handle == h) {
      slot = static_cast<int>(i);
      if (item.pinned) {
        was_pinned = true;
        item.pinned = false;
        refcnt = --item.refcnt;
      }
      break;
    }
  }
  d::Unlock(c);
  if (slot < 0) elog(ERROR, "cannot unpin unknown segment handle");
  if (!was_pinned) elog(ERROR, "cannot unpin a segment that is not pinned");
  if (refcnt == d::kReservedOrMoribund) d::Destroy(c, slot, h);
}

dsm_segment* dsm_find_mapping(dsm_handle h) {
  for (dsm_segment* seg = bgw::dsm::segment_list; seg != nullptr; seg = seg->next) {
    if (seg->handle == h) return seg;
  }
  return nullptr;
}

void* dsm_segment_address(dsm_segment* seg) {
  return bgw::dsm::RequireMapped(seg, "dsm_segment_address")->address;
}

Size dsm_segment_map_length(dsm_segment* seg) {
  return bgw::dsm::RequireMapped(seg, "dsm_segment_map_length")->mapped_size;
}

dsm_handle dsm_segment_handle(dsm_segment* seg) {
  return bgw::dsm::RequireMapped(seg, "dsm_segment_handle")->handle;
}

void on_dsm_detach(dsm_segment* seg, on_dsm_detach_callback function, Datum arg) {
  bgw::dsm::RequireMapped(seg, "on_dsm_detach");
  auto* cb = static_cast<DetachCallback*>(malloc(sizeof(DetachCallback)));
  if (cb == nullptr) ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"));
  cb->function = function;
  cb->arg = arg;
  cb->next = seg->callbacks;
  seg->callbacks = cb;
}

void cancel_on_dsm_detach(dsm_segment* seg, on_dsm_detach_callback function, Datum arg) {
  bgw::dsm::RequireMapped(seg, "cancel_on_dsm_detach");
  for (DetachCallback** link = &seg->callbacks; *link != nullptr; link = &(*link)->next) {
    DetachCallback* cb = *link;
    if (cb->function == function && cb->arg == arg) {
      *link = cb->next;
      free(cb);
      return;
    }
  }
}

void reset_on_dsm_detach(void) {
  for (dsm_segment* seg = bgw::dsm::segment_list; seg != nullptr; seg = seg->next) {
    while (seg->callbacks != nullptr) {
      DetachCallback* cb = seg->callbacks;
      seg->callbacks = cb->next;
      free(cb);
    }
  }
}

}  // extern "C"
