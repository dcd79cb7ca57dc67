// pmsignals and child slots; see pmsignal.h.
#include "ipc/pmsignal.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "ipc/segment.h"

namespace bgw::pmsignal {
namespace {

enum ChildFlag : uint32_t { kUnused = 0, kAssigned = 1, kActive = 2, kInactive = 3 };

// In shared memory.
//  reasons[]: set to 1 by any child (relaxed store, then kill(): the signal
//    delivery orders it); exchanged to 0 by the postmaster.
//  child_flags[]: kAssigned by the postmaster before fork; kActive/kInactive
//    by the owning child only; read and reset to kUnused by the postmaster
//    after it reaped that child. No locks: one writer at a time per slot.
//  in_recovery: written by the postmaster at state changes (release), read by
//    anyone (acquire).
struct State {
  pid_t postmaster_pid;  // written at creation, read-only after
  int num_child_slots;   // ditto
  std::atomic<uint32_t> in_recovery;
  std::atomic<uint32_t> reasons[static_cast<int>(Reason::kNumReasons)];
  std::atomic<uint32_t> child_flags[1];  // really num_child_slots
};

State* state = nullptr;
int my_slot = -1;
std::vector<int> free_slots;  // postmaster only

}  // namespace

size_t ShmemSize(int num_child_slots) {
  return sizeof(State) + sizeof(std::atomic<uint32_t>) * static_cast<size_t>(num_child_slots);
}

void ShmemInit(int num_child_slots) {
  bool found;
  state =
      static_cast<State*>(shmem::InitStruct("PMSignalState", ShmemSize(num_child_slots), &found));
  if (found) return;
  state->postmaster_pid = getpid();
  state->num_child_slots = num_child_slots;
  state->in_recovery.store(1, std::memory_order_relaxed);
  free_slots.clear();
  for (int i = num_child_slots - 1; i >= 0; i--) free_slots.push_back(i);
}

void Send(Reason reason) {
  if (state == nullptr || !shmem::IsAttached()) return;
  state->reasons[static_cast<int>(reason)].store(1, std::memory_order_release);
  kill(state->postmaster_pid, SIGUSR1);
}

bool CheckAndClear(Reason reason) {
  return state != nullptr &&
         state->reasons[static_cast<int>(reason)].exchange(0, std::memory_order_acq_rel) != 0;
}

int AssignChildSlot() {
  if (free_slots.empty()) return -1;
  int slot = free_slots.back();
  free_slots.pop_back();
  state->child_flags[slot].store(kAssigned, std::memory_order_release);
  return slot;
}

bool ReleaseChildSlot(int slot) {
  uint32_t flag = state->child_flags[slot].exchange(kUnused, std::memory_order_acq_rel);
  free_slots.push_back(slot);
  return flag != kActive;
}

void PublishInRecovery(bool in_recovery) {
  if (state != nullptr) state->in_recovery.store(in_recovery ? 1 : 0, std::memory_order_release);
}

bool InRecovery() {
  return state != nullptr && shmem::IsAttached() &&
         state->in_recovery.load(std::memory_order_acquire) != 0;
}

void MarkChildActive(int slot) {
  my_slot = slot;
  state->child_flags[slot].store(kActive, std::memory_order_release);
}

void MarkChildInactive() {
  if (state == nullptr || my_slot < 0 || !shmem::IsAttached()) return;
  state->child_flags[my_slot].store(kInactive, std::memory_order_release);
}

}  // namespace bgw::pmsignal

#include "postgres/access/xlog.h"

extern "C" bool RecoveryInProgress(void) { return bgw::pmsignal::InRecovery(); }
