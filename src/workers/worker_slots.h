// Background worker slots in shared memory: how registrants (backends and
// workers) hand registrations to the postmaster, and how they follow them.
//
// One WorkerSlot per max_worker_processes. The hand-off is lockless on the
// postmaster's side (it must never wait on a lock a child holds):
//
//   * While in_use is false the slot belongs to registrants. A registrant
//     (holding the registrants' lock, which only registrants take) fills
//     `worker`, sets pid = kNotStarted, bumps generation, clears terminate,
//     and then stores in_use = true with release order. From then on the
//     slot belongs to the postmaster, which loads in_use with acquire order
//     before reading the rest, and copies and validates `worker` (never
//     trusting it).
//   * A registrant may still set terminate (TerminateBackgroundWorker); the
//     postmaster reads it on the next change notification.
//   * The postmaster publishes pid (kNotStarted, a pid once forked, 0 once
//     stopped), and frees the slot by storing in_use = false (release) after
//     its last write; registrants read pid and generation after an acquire
//     load of in_use.
//   * After changing a slot a registrant sets the slot's bit in `changed`
//     and sends the postmaster PMSIGNAL kBackgroundWorkerChange; the
//     postmaster exchanges each bitmap word with 0 and looks only at the
//     slots whose bit was set (no scan over every slot per request).
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

struct WorkerSlot {
  std::atomic<bool> in_use;
  std::atomic<bool> terminate;
  std::atomic<pid_t> pid;
  std::atomic<uint64_t> generation;
  BackgroundWorker worker;
};

struct WorkerArray {
  int total_slots;                 // written at creation, read-only after
  std::atomic<uint32_t> reg_lock;  // registrants only (BackgroundWorkerLock)
  int bitmap_words;                // written at creation
  // Parallel-class workers (PostgreSQL's quota): registrants increment
  // parallel_registered under reg_lock; only the postmaster increments
  // parallel_terminated (no lock), when such a registration ends. Active =
  // registered - terminated; wraparound is harmless.
  std::atomic<uint32_t> parallel_registered;
  std::atomic<uint32_t> parallel_terminated;
  // Followed by: std::atomic<uint64_t> changed[bitmap_words];
  //              WorkerSlot slots[total_slots];
};

size_t ShmemSize(int num_slots);
// Postmaster: creates the array (all slots free) at every shared memory
// (re)initialization.
void ShmemInit(int num_slots);

WorkerArray* Array();
WorkerSlot* Slot(int index);
int NumSlots();

// Registrants' lock (spins, then yields; held for a few hundred ns).
void LockRegistrants();
void UnlockRegistrants();

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
