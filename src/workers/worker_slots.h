// Background worker slots in shared memory: how registrants (backends and
// workers) hand registrations to the postmaster, and how they follow them.
//
// One WorkerSlot per max_worker_processes. The hand-off is lockless on the
// postmaster's side, which must never wait on a lock a child holds nor trust
// what it reads: in_use says who owns a slot, release stores publish and
// acquire loads of the same atomic read, and a bitmap of changed slots tells
// the postmaster where to look, so no request costs a scan over every slot.
// The comments on WorkerSlot and WorkerArray say, field by field, who writes
// it, in which state, under which lock, and which barrier publishes it.
//
// Handles are {slot, generation}: a handle whose generation no longer matches
// its slot reads STOPPED, and terminating through it does nothing.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "postgres/postmaster/bgworker.h"

namespace bgw::bgworker {

inline constexpr pid_t kNotStarted = -1;  // PostgreSQL's InvalidPid

// One registration as the postmaster and the registrants share it.
//
// in_use hands the slot over. While it is false the slot is the registrants'
// and the postmaster reads nothing in it but in_use; while it is true the slot
// is the postmaster's and registrants only read it, except that they may set
// terminate. Either side may be changing the slot while the other reads it,
// so readers copy what they need and then check in_use and generation again;
// the postmaster also validates what it copied. Ordering and notification are
// separate: after its writes a registrant marks the slot in WorkerArray's
// `changed` bitmap and signals the postmaster (pmsignal); the postmaster, after
// its writes, sends SIGUSR1 to the registration's bgw_notify_pid.
struct WorkerSlot {
  // Who owns the slot: the one field either side may read at any time.
  //  * false -> true by a registrant holding RegistrantsLock, as its last
  //    write after filling the slot (release store). Pairs with the
  //    postmaster's acquire load in AbsorbChanges, and with the acquire loads
  //    by which registrants read a slot (handle status, bgw_workers, terminate).
  //  * false -> true by the postmaster for static workers and crash survivors,
  //    right after it creates shared memory, when no other process is attached
  //    (no lock needed; a release store all the same).
  //  * true -> false by the postmaster when the registration ends (Forget) or
  //    is refused (AbsorbChanges), as its last write to the slot (release
  //    store). Pairs with the acquire load by which a registrant looking for a
  //    free slot, under RegistrantsLock, decides that it may reuse this one.
  std::atomic<bool> in_use;

  // "Do not start or restart this worker; stop it if it runs."
  //  * Cleared (relaxed) by whoever fills the slot while in_use is false; the
  //    release store of in_use publishes it.
  //  * Set (release store) by a registrant while in_use is true, holding
  //    RegistrantsLock and having checked under it that the slot still holds
  //    the registration it means (the handle's generation for
  //    TerminateBackgroundWorker, the pid for bgw_terminate_worker); it then
  //    marks the slot changed. The postmaster's acquire load, after the
  //    exchange that found the mark, pairs with that store.
  //  * Never cleared while in_use is true: the postmaster keeps its own copy.
  std::atomic<bool> terminate;

  // kNotStarted (PostgreSQL's InvalidPid) until the postmaster forks the
  // worker, then its pid, then 0 once it exited.
  //  * Set to kNotStarted by whoever fills the slot while in_use is false: a
  //    registrant stores it after the new generation (release store), so a
  //    reader that sees the new pid also sees the new generation.
  //  * Written by the postmaster while in_use is true: the pid after fork and
  //    0 when the worker exits (release stores), and 0 before it frees the
  //    slot (relaxed; the release store of in_use publishes it). It then
  //    sends SIGUSR1 to bgw_notify_pid. Pairs with the acquire loads in a
  //    registrant's status read, which loads in_use and generation again
  //    afterwards and reports STOPPED if either changed.
  std::atomic<pid_t> pid;

  // Which registration of this slot it is, so that a handle {slot,
  // generation} of an earlier one never reads or terminates the new one.
  //  * Incremented by each registrant that fills the slot, holding
  //    RegistrantsLock (a load and a release store: the lock is what makes
  //    the increment safe), before it stores pid and in_use.
  //  * Set to 0 by the postmaster when it fills slots right after creating
  //    shared memory (relaxed; published by in_use). Every handle died with
  //    the processes of the crashed generation, so none can be confused.
  //  * Readers load it (acquire) before and after what they copy.
  std::atomic<uint64_t> generation;

  // The registration: plain bytes, as module code filled them.
  //  * Written only while in_use is false: by a registrant holding
  //    RegistrantsLock, or by the postmaster right after creating shared
  //    memory (which also clears bgw_notify_pid: no process it named
  //    survived). The release store of in_use publishes it.
  //  * The postmaster copies it after its acquire load of in_use and
  //    validates the copy (ValidateWorker), never the slot.
  //  * Registrants copy it without the lock (bgw_workers,
  //    GetBackgroundWorkerTypeByPid), so a slot freed and reused meanwhile
  //    can give a torn copy: bgw_workers drops a copy whose generation
  //    changed; GetBackgroundWorkerTypeByPid only terminates the string.
  BackgroundWorker worker;
};

struct WorkerArray {
  // Written by the postmaster when it creates shared memory, before any other
  // process is attached (fork publishes it); read-only after.
  int total_slots;
  // The registrants' lock word, 0 free or 1 held; only RegistrantsLock
  // touches it (the postmaster never does).
  std::atomic<uint32_t> reg_lock;
  // Written with total_slots, read-only after.
  int bitmap_words;
  // PostgreSQL's quota of parallel-class workers: active = registered -
  // terminated (wraparound is harmless).
  //  * parallel_registered: incremented (relaxed) by registrants holding
  //    RegistrantsLock before they publish the slot; read under the lock.
  //  * parallel_terminated: incremented (release) only by the postmaster, when
  //    a parallel registration ends. Registrants load it (acquire) under the
  //    lock; a stale value only makes one refuse a worker it could have had.
  std::atomic<uint32_t> parallel_registered;
  std::atomic<uint32_t> parallel_terminated;
  // Followed by:
  //  std::atomic<uint64_t> changed[bitmap_words]: a bit per slot meaning "look
  //    at this slot". A registrant sets its slot's bit (release fetch_or)
  //    after its writes to the slot, then signals the postmaster, which
  //    exchanges each word with 0 (acq_rel; pairs with those fetch_ors) and
  //    looks only at the slots whose bits were set.
  //  WorkerSlot slots[total_slots];
};

size_t ShmemSize(int num_slots);
// Postmaster: creates the array (all slots free) at every shared memory
// (re)initialization.
void ShmemInit(int num_slots);

WorkerArray* Array();
WorkerSlot* Slot(int index);
int NumSlots();

// The registrants' lock, PostgreSQL's BackgroundWorkerLock (exclusive mode
// only): registrants hold it while they look for a free slot and fill it,
// and while they set terminate, so that two of them never claim the same
// slot or bump the same generation. It does not exclude the postmaster, which
// never takes it. Scoped: acquired by the constructor (spinning, then
// yielding; held for a few hundred nanoseconds), released by the destructor
// on every way out of the scope. Acquiring pairs with the previous holder's
// release.
//
// Registrants only, with the array attached (Array() != nullptr). Block
// signals first: a handler that exits (bgworker_die) would leave it held
// forever. Not reentrant.
class [[nodiscard]] RegistrantsLock {
 public:
  RegistrantsLock();
  ~RegistrantsLock();
  RegistrantsLock(const RegistrantsLock&) = delete;
  RegistrantsLock& operator=(const RegistrantsLock&) = delete;
};

// Any registrant: marks `index` changed and signals the postmaster.
void NotifyPostmaster(int index);
// Postmaster: calls fn(index) for every slot marked changed, clearing marks.
template <typename Fn>
void ForEachChanged(Fn&& fn);

// Postmaster: a parallel-class registration ended (forgotten or cancelled).
void CountParallelTermination(const BackgroundWorker& worker);

// Checks a registration as PostgreSQL's SanityCheckBackgroundWorker does;
// fills an empty bgw_type from bgw_name. Returns false with a message.
bool ValidateWorker(BackgroundWorker* worker, std::string* error);

// Where RegisterBackgroundWorker (a library's _PG_init in the postmaster)
// hands static registrations: the postmaster's registry
// (postmaster/registry.h), which installs itself when it is linked in.
// Null: nobody takes them (a process without the postmaster's registry).
using StaticRegistrar = void (*)(const BackgroundWorker& worker);
void SetStaticRegistrar(StaticRegistrar registrar);
StaticRegistrar GetStaticRegistrar();

// --- template implementation ---
std::atomic<uint64_t>* ChangedWords();

template <typename Fn>
void ForEachChanged(Fn&& fn) {
  WorkerArray* a = Array();
  if (a == nullptr) return;
  std::atomic<uint64_t>* words = ChangedWords();
  for (int w = 0; w < a->bitmap_words; w++) {
    uint64_t bits = words[w].exchange(0, std::memory_order_acq_rel);
    while (bits != 0) {
      int bit = __builtin_ctzll(bits);
      bits &= bits - 1;
      int index = w * 64 + bit;
      if (index < a->total_slots) fn(index);
    }
  }
}

}  // namespace bgw::bgworker
