// Backend status entries in the main segment; see backend_status.h.
//
// Each entry is a small seqlock: its owner is the only writer, so writes
// need no lock, and readers (pg_stat_activity, cancel requests, connection
// limits) copy the entry and retry when they raced with an update. A reader
// therefore never blocks a backend, however slow the reader is.
#include "ipc/backend_status.h"

#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>

#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"

namespace bgw::backend_status {
namespace {

// One process's entry.
//
// Protocol (PostgreSQL's st_changecount, as a seqlock):
//   changecount: written by the owner only. Before changing any other field
//     it stores changecount+1 (odd) and issues a release fence (pairs with
//     the reader's acquire fence after its copy); after the change it stores
//     changecount+1 again (even) with release order (pairs with the reader's
//     acquire load before its copy).
//   pid: 0 = free. The owner stores it (release) as the last step of Begin*,
//     after the fields and the cancel key, and clears it (release) as the
//     first step at exit. Readers skip entries whose pid is 0.
//   every other field: written by the owner between the two counter stores;
//     readers copy them between an acquire load of the counter and an
//     acquire fence followed by a second load, and discard the copy when the
//     counter was odd or moved. The copies are plain memcpy of trivially
//     copyable bytes, like PostgreSQL's; a torn copy is never used.
//   cancel_key: written once before pid is published; never changes while
//     pid is set.
// What an entry says; copied out whole by readers.
struct EntryData {
  uint32_t cancel_key;
  uint8_t is_client;
  uint8_t state;  // a State
  int32_t client_port;
  uint32_t database_oid;
  uint32_t role_oid;
  int64_t backend_start;
  int64_t xact_start;
  int64_t query_start;
  int64_t state_change;
  char backend_type[proc::kTypeLen];
  char database_name[kMaxNameLen];
  char role_name[kMaxNameLen];
  char application_name[kMaxNameLen];
  char client_addr[kMaxNameLen];
  char query[kMaxQueryLen + 1];
};

struct alignas(64) StatusEntry {
  std::atomic<uint32_t> changecount;
  std::atomic<int32_t> pid;
  EntryData d;
};

struct StatusArray {
  int num_slots;  // written by the postmaster at creation, read-only after
  StatusEntry entries[1];
};

StatusArray* array = nullptr;
StatusEntry* my_entry = nullptr;

StatusEntry* EntryAt(int index) {
  if (array == nullptr || !shmem::IsAttached() || index < 0 || index >= array->num_slots) {
    return nullptr;
  }
  return &array->entries[index];
}

// Copies at most cap-1 bytes, never ending inside a UTF-8 sequence.
void CopyText(char* dst, size_t cap, std::string_view src) {
  size_t n = src.size() < cap ? src.size() : cap - 1;
  if (n < src.size()) {
    while (n > 0 && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80) n--;
  }
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

void BeginWrite(StatusEntry* e) {
  uint32_t c = e->changecount.load(std::memory_order_relaxed);
  e->changecount.store(c + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

void EndWrite(StatusEntry* e) {
  uint32_t c = e->changecount.load(std::memory_order_relaxed);
  e->changecount.store(c + 1, std::memory_order_release);
}

// A consistent copy of entry `index`; false when it is free.
bool ReadEntry(int index, pid_t* pid, EntryData* out) {
  StatusEntry* e = EntryAt(index);
  if (e == nullptr) return false;
  for (;;) {
    uint32_t before = e->changecount.load(std::memory_order_acquire);
    pid_t p = e->pid.load(std::memory_order_acquire);
    if (p == 0) return false;
    std::memcpy(out, &e->d, sizeof(EntryData));
    std::atomic_thread_fence(std::memory_order_acquire);
    uint32_t after = e->changecount.load(std::memory_order_relaxed);
    if ((before & 1) == 0 && before == after) {
      *pid = p;
      return true;
    }
    sched_yield();
  }
}

Entry ToEntry(int index, pid_t pid, const EntryData& d) {
  Entry e;
  e.pid = pid;
  e.child_slot = index;
  e.backend_type = d.backend_type;
  e.database_oid = d.database_oid;
  e.database_name = d.database_name;
  e.role_oid = d.role_oid;
  e.role_name = d.role_name;
  e.application_name = d.application_name;
  e.client_addr = d.client_addr;
  e.client_port = d.client_port;
  e.state = static_cast<State>(d.state);
  e.query = d.query;
  e.backend_start = d.backend_start;
  e.xact_start = d.xact_start;
  e.query_start = d.query_start;
  e.state_change = d.state_change;
  if (proc::ProcSlot* ps = proc::Slot(index); ps != nullptr) {
    e.wait_event_info = ps->wait_event_info.load(std::memory_order_relaxed);
  }
  return e;
}

void Detach(int, uintptr_t) {
  if (my_entry == nullptr) return;
  my_entry->pid.store(0, std::memory_order_release);
  my_entry = nullptr;
}

uint32_t RandomKey() {
  uint32_t key = 0;
  while (key == 0) {
    if (getrandom(&key, sizeof key, 0) != static_cast<ssize_t>(sizeof key)) {
      // No entropy source: still unpredictable enough to other users, who
      // cannot read our clock at nanosecond resolution.
      timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      key = static_cast<uint32_t>(ts.tv_nsec) ^ static_cast<uint32_t>(getpid() << 16);
    }
  }
  return key;
}

void Begin(int child_slot, bool is_client, std::string_view backend_type, uint32_t cancel_key,
           std::string_view client_addr, int client_port) {
  StatusEntry* e = EntryAt(child_slot);
  if (e == nullptr) return;
  // A previous owner killed without cleanup may have left the entry set;
  // the slot is ours now (the postmaster reuses it only after reaping).
  e->pid.store(0, std::memory_order_release);
  BeginWrite(e);
  e->d.cancel_key = cancel_key;
  e->d.is_client = is_client ? 1 : 0;
  e->d.state = static_cast<uint8_t>(State::kUndefined);
  e->d.client_port = client_port;
  e->d.database_oid = 0;
  e->d.role_oid = 0;
  e->d.backend_start = NowMicros();
  e->d.xact_start = 0;
  e->d.query_start = 0;
  e->d.state_change = 0;
  CopyText(e->d.backend_type, sizeof e->d.backend_type, backend_type);
  e->d.database_name[0] = '\0';
  e->d.role_name[0] = '\0';
  e->d.application_name[0] = '\0';
  CopyText(e->d.client_addr, sizeof e->d.client_addr, client_addr);
  e->d.query[0] = '\0';
  EndWrite(e);
  e->pid.store(getpid(), std::memory_order_release);
  my_entry = e;
  OnProcExit(Detach, 0);
}

template <typename Pred>
int Count(Pred pred) {
  int n = 0;
  for (int i = 0; array != nullptr && i < array->num_slots; i++) {
    pid_t pid;
    EntryData d;
    if (ReadEntry(i, &pid, &d) && pred(pid, d)) n++;
  }
  return n;
}

}  // namespace

const char* StateName(State state) {
  switch (state) {
    case State::kIdle:
      return "idle";
    case State::kRunning:
      return "active";
    case State::kIdleInTransaction:
      return "idle in transaction";
    case State::kIdleInTransactionAborted:
      return "idle in transaction (aborted)";
    case State::kFastpath:
      return "fastpath function call";
    case State::kDisabled:
      return "disabled";
    case State::kUndefined:
      break;
  }
  return nullptr;
}

size_t ShmemSize(int num_slots) {
  return offsetof(StatusArray, entries) + sizeof(StatusEntry) * static_cast<size_t>(num_slots);
}

void ShmemInit(int num_slots) {
  bool found;
  array = static_cast<StatusArray*>(
      shmem::InitStruct("BackendStatusArray", ShmemSize(num_slots), &found));
  my_entry = nullptr;
  if (array == nullptr || found) return;
  array->num_slots = num_slots;  // entries are zero-filled: all free
}

uint32_t BeginClientBackend(int child_slot, std::string_view client_addr, int client_port) {
  uint32_t key = RandomKey();
  Begin(child_slot, true, "client backend", key, client_addr, client_port);
  return key;
}

void BeginWorker(int child_slot, std::string_view bgw_type) {
  Begin(child_slot, false, bgw_type, 0, "", -1);
}

void ReportConnection(uint32_t database_oid, std::string_view database_name, uint32_t role_oid,
                      std::string_view role_name, std::string_view application_name) {
  StatusEntry* e = my_entry;
  if (e == nullptr) return;
  BeginWrite(e);
  e->d.database_oid = database_oid;
  CopyText(e->d.database_name, sizeof e->d.database_name, database_name);
  e->d.role_oid = role_oid;
  CopyText(e->d.role_name, sizeof e->d.role_name, role_name);
  CopyText(e->d.application_name, sizeof e->d.application_name, application_name);
  EndWrite(e);
}

void ReportApplicationName(std::string_view application_name) {
  StatusEntry* e = my_entry;
  if (e == nullptr) return;
  BeginWrite(e);
  CopyText(e->d.application_name, sizeof e->d.application_name, application_name);
  EndWrite(e);
}

void ReportActivity(State state, const char* query) {
  StatusEntry* e = my_entry;
  if (e == nullptr) return;
  int64_t now = NowMicros();
  BeginWrite(e);
  if (state == State::kRunning && (query != nullptr || e->d.state != static_cast<uint8_t>(state))) {
    e->d.query_start = now;
  }
  if (e->d.state != static_cast<uint8_t>(state)) e->d.state_change = now;
  e->d.state = static_cast<uint8_t>(state);
  if (query != nullptr) CopyText(e->d.query, sizeof e->d.query, query);
  EndWrite(e);
}

void ReportTransactionStart(int64_t start_us) {
  StatusEntry* e = my_entry;
  if (e == nullptr) return;
  BeginWrite(e);
  e->d.xact_start = start_us;
  EndWrite(e);
}

bool Attached() { return my_entry != nullptr; }

std::vector<Entry> Snapshot() {
  std::vector<Entry> out;
  for (int i = 0; array != nullptr && i < array->num_slots; i++) {
    pid_t pid;
    EntryData d;
    if (ReadEntry(i, &pid, &d)) out.push_back(ToEntry(i, pid, d));
  }
  return out;
}

std::optional<Entry> Find(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  for (int i = 0; array != nullptr && i < array->num_slots; i++) {
    pid_t p;
    EntryData d;
    if (ReadEntry(i, &p, &d) && p == pid) return ToEntry(i, p, d);
  }
  return std::nullopt;
}

bool SignalCancel(pid_t pid, uint32_t cancel_key) {
  if (pid <= 0) return false;
  for (int i = 0; array != nullptr && i < array->num_slots; i++) {
    pid_t p;
    EntryData d;
    if (ReadEntry(i, &p, &d) && p == pid) {
      if (d.is_client == 0 || d.cancel_key != cancel_key) return false;
      return kill(pid, SIGINT) == 0;
    }
  }
  return false;
}

int CountOtherBackendsInDatabase(uint32_t database_oid) {
  pid_t me = getpid();
  return Count([&](pid_t pid, const EntryData& d) {
    return d.is_client != 0 && pid != me && d.database_oid == database_oid;
  });
}

int CountBackendsOfRole(uint32_t role_oid) {
  return Count(
      [&](pid_t, const EntryData& d) { return d.is_client != 0 && d.role_oid == role_oid; });
}

int CountBackendsInDatabase(uint32_t database_oid) {
  return Count([&](pid_t, const EntryData& d) {
    return d.is_client != 0 && d.database_oid == database_oid;
  });
}

int64_t NowMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace bgw::backend_status
