// LISTEN / NOTIFY; see notify.h.
//
// The queue is a ring of bytes in the main segment addressed by 64-bit
// positions that only grow (position % kQueueBytes is the byte), so "behind"
// and "ahead" are plain comparisons and never wrap. Each record is
//   uint32 total length (header + channel + payload, padded to 8)
//   int32 sender pid, uint32 channel length, uint32 payload length,
//   channel bytes, payload bytes.
// A record may straddle the end of the ring; it is copied in two pieces.
//
// Which channels a process listens on is its own business (kept locally);
// shared memory only says whether it listens at all and how far it has read,
// so a committer never has to know anybody's channels: every listener reads
// every record and keeps those for its channels.
#include "ipc/notify.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <utility>

#include "ipc/lwlock.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/storage/latch.h"
#include "postgres/storage/lwlock.h"

namespace bgw::notify {
namespace {

inline constexpr size_t kQueueBytes = 1 << 20;
inline constexpr size_t kHeaderBytes = 16;
// Wait events show queue waits under this tranche; ids below
// LWTRANCHE_FIRST_USER_DEFINED other than the individual locks are unnamed
// ("extension") in this server.
inline constexpr int kNotifyTranche = LWTRANCHE_FIRST_USER_DEFINED - 1;

// Per process slot.
//   listening: written by the owner under `lock` held exclusively; read by
//     committers under the lock (any mode).
//   pos: next byte the owner will read. Written by the owner, either under
//     the lock exclusively (when it starts listening) or under the lock
//     shared while reading (only the owner writes it, and committers, who
//     read it, hold the lock exclusively, so they never see it move).
struct Listener {
  std::atomic<bool> listening;
  std::atomic<uint64_t> pos;
};

// head: the position of the next record; written by committers under
// `lock` exclusively, read under the lock. num_slots: at creation.
struct Control {
  LWLock lock;
  int num_slots;
  uint64_t head;
  char ring[kQueueBytes];
  // Followed by Listener listeners[num_slots].
};

Control* control = nullptr;

Listener* Listeners() {
  return reinterpret_cast<Listener*>(reinterpret_cast<char*>(control) + sizeof(Control));
}

// This process's transaction-local state.
enum class Action { kListen, kUnlisten, kUnlistenAll };
std::vector<std::pair<Action, std::string>> pending_actions;
std::vector<std::pair<std::string, std::string>> pending_notifies;
std::set<std::pair<std::string, std::string>> pending_set;  // de-duplication
std::set<std::string> channels;                             // committed LISTENs
bool exit_hook_registered = false;

int MySlot() {
  if (control == nullptr || !shmem::IsAttached()) return -1;
  int i = proc::SlotIndex(proc::MyProcSlot());
  return i < control->num_slots ? i : -1;
}

size_t RecordBytes(size_t channel_len, size_t payload_len) {
  return (kHeaderBytes + channel_len + payload_len + 7) & ~static_cast<size_t>(7);
}

void RingWrite(uint64_t pos, const void* src, size_t n) {
  size_t off = pos % kQueueBytes;
  size_t first = std::min(n, kQueueBytes - off);
  std::memcpy(control->ring + off, src, first);
  std::memcpy(control->ring, static_cast<const char*>(src) + first, n - first);
}

void RingRead(uint64_t pos, void* dst, size_t n) {
  size_t off = pos % kQueueBytes;
  size_t first = std::min(n, kQueueBytes - off);
  std::memcpy(dst, control->ring + off, first);
  std::memcpy(static_cast<char*>(dst) + first, control->ring, n - first);
}

// The oldest position any listener still needs (head when nobody listens).
// Caller holds the lock.
uint64_t Tail() {
  uint64_t tail = control->head;
  Listener* l = Listeners();
  for (int i = 0; i < control->num_slots; i++) {
    if (l[i].listening.load(std::memory_order_relaxed)) {
      tail = std::min(tail, l[i].pos.load(std::memory_order_relaxed));
    }
  }
  return tail;
}

void ClearPending() {
  pending_actions.clear();
  pending_notifies.clear();
  pending_set.clear();
}

void ExitHook(int, uintptr_t) { UnlistenAll(); }

Status CheckChannel(std::string_view channel) {
  if (channel.empty()) return MakeError("22023", "channel name cannot be empty");
  if (channel.size() > kMaxChannelLen) return MakeError("22023", "channel name too long");
  return Status::Ok();
}

}  // namespace

size_t ShmemSize(int num_slots) {
  return sizeof(Control) + sizeof(Listener) * static_cast<size_t>(num_slots);
}

void ShmemInit(int num_slots) {
  bool found;
  control = static_cast<Control*>(shmem::InitStruct("NotifyQueue", ShmemSize(num_slots), &found));
  channels.clear();
  ClearPending();
  exit_hook_registered = false;
  if (control == nullptr || found) return;
  LWLockInitialize(&control->lock, kNotifyTranche);
  control->num_slots = num_slots;
  control->head = 0;
  // Listeners are zero-filled: nobody listens.
}

Status Listen(std::string_view channel) {
  if (auto s = CheckChannel(channel); !s.ok()) return s;
  if (MySlot() < 0) {
    return MakeError("55000", "LISTEN is not available in this process");
  }
  pending_actions.emplace_back(Action::kListen, std::string(channel));
  return Status::Ok();
}

Status Unlisten(std::string_view channel) {
  if (channel == "*") {
    pending_actions.emplace_back(Action::kUnlistenAll, std::string());
    return Status::Ok();
  }
  if (auto s = CheckChannel(channel); !s.ok()) return s;
  pending_actions.emplace_back(Action::kUnlisten, std::string(channel));
  return Status::Ok();
}

Status Notify(std::string_view channel, std::string_view payload) {
  if (auto s = CheckChannel(channel); !s.ok()) return s;
  if (payload.size() > kMaxPayloadLen) return MakeError("22023", "payload string too long");
  auto key = std::make_pair(std::string(channel), std::string(payload));
  if (pending_set.insert(key).second) pending_notifies.push_back(std::move(key));
  return Status::Ok();
}

Status AtCommit() {
  // Most transactions neither listen nor notify: then nothing changes and
  // the queue's lock is not taken (this runs at every commit).
  if (pending_actions.empty() && pending_notifies.empty()) return Status::Ok();
  const int me = MySlot();
  if (control == nullptr || me < 0) {
    // No shared queue in this process: nothing can be delivered anywhere.
    ClearPending();
    return Status::Ok();
  }
  // The channel set this transaction leaves behind.
  std::set<std::string> next = channels;
  for (const auto& [action, channel] : pending_actions) {
    switch (action) {
      case Action::kListen:
        next.insert(channel);
        break;
      case Action::kUnlisten:
        next.erase(channel);
        break;
      case Action::kUnlistenAll:
        next.clear();
        break;
    }
  }
  size_t bytes = 0;
  for (const auto& [channel, payload] : pending_notifies) {
    bytes += RecordBytes(channel.size(), payload.size());
  }

  bool appended = false;
  LWLockAcquire(&control->lock, LW_EXCLUSIVE);
  if (bytes > 0 && bytes > kQueueBytes - (control->head - Tail())) {
    LWLockRelease(&control->lock);
    ClearPending();
    return MakeError("54000", "too many notifications in the NOTIFY queue",
                     "The NOTIFY queue is full: a listening session is not reading it.",
                     "Make sure every listening session consumes its notifications.");
  }
  // Listening starts before this transaction's own notifications are
  // appended, so a LISTEN and a NOTIFY committed together are delivered
  // (PostgreSQL's order), and never before: a late listener sees only what
  // commits after it.
  Listener& mine = Listeners()[me];
  const bool was = mine.listening.load(std::memory_order_relaxed);
  if (!was && !next.empty()) {
    mine.pos.store(control->head, std::memory_order_relaxed);
    mine.listening.store(true, std::memory_order_relaxed);
  } else if (was && next.empty()) {
    mine.listening.store(false, std::memory_order_relaxed);
  }
  const int32_t sender = getpid();
  for (const auto& [channel, payload] : pending_notifies) {
    uint32_t header[4] = {static_cast<uint32_t>(RecordBytes(channel.size(), payload.size())),
                          static_cast<uint32_t>(sender), static_cast<uint32_t>(channel.size()),
                          static_cast<uint32_t>(payload.size())};
    uint64_t at = control->head;
    RingWrite(at, header, sizeof header);
    RingWrite(at + kHeaderBytes, channel.data(), channel.size());
    RingWrite(at + kHeaderBytes + channel.size(), payload.data(), payload.size());
    control->head = at + header[0];
    appended = true;
  }
  std::vector<int> wake;
  if (appended) {
    for (int i = 0; i < control->num_slots; i++) {
      if (Listeners()[i].listening.load(std::memory_order_relaxed)) wake.push_back(i);
    }
  }
  LWLockRelease(&control->lock);

  channels = std::move(next);
  ClearPending();
  if (!channels.empty() && !exit_hook_registered) {
    OnShmemExit(ExitHook, 0);
    exit_hook_registered = true;
  }
  for (int i : wake) {
    if (proc::ProcSlot* slot = proc::Slot(i); slot != nullptr) SetLatch(&slot->pgproc.procLatch);
  }
  return Status::Ok();
}

void AtAbort() { ClearPending(); }

std::vector<Notification> Take() {
  std::vector<Notification> out;
  const int me = MySlot();
  if (me < 0) return out;
  Listener& mine = Listeners()[me];
  // Only this process sets its own flag, so it can be read without the
  // lock; a session that does not listen (nearly all) skips the lock that
  // would otherwise be taken at every idle wait and transaction end.
  if (!mine.listening.load(std::memory_order_relaxed)) return out;
  LWLockAcquire(&control->lock, LW_SHARED);
  if (mine.listening.load(std::memory_order_relaxed)) {
    uint64_t pos = mine.pos.load(std::memory_order_relaxed);
    const uint64_t head = control->head;
    std::string channel;
    while (pos < head) {
      uint32_t header[4];
      RingRead(pos, header, sizeof header);
      channel.resize(header[2]);
      RingRead(pos + kHeaderBytes, channel.data(), channel.size());
      if (channels.count(channel) != 0) {
        Notification n;
        n.sender_pid = static_cast<int32_t>(header[1]);
        n.channel = channel;
        n.payload.resize(header[3]);
        RingRead(pos + kHeaderBytes + header[2], n.payload.data(), n.payload.size());
        out.push_back(std::move(n));
      }
      pos += header[0];
    }
    mine.pos.store(pos, std::memory_order_relaxed);
  }
  LWLockRelease(&control->lock);
  return out;
}

void UnlistenAll() {
  channels.clear();
  ClearPending();
  const int me = MySlot();
  if (me < 0) return;
  LWLockAcquire(&control->lock, LW_EXCLUSIVE);
  Listeners()[me].listening.store(false, std::memory_order_relaxed);
  LWLockRelease(&control->lock);
}

}  // namespace bgw::notify
