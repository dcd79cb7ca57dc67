// Per-process shared slots; see proc.h.
#include "ipc/proc.h"

#include <unistd.h>

#include <cstring>

#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/procarray.h"
#include "postgres/utils/wait_event.h"

extern "C" {
PGPROC* MyProc = nullptr;
}

namespace bgw::proc {
namespace {

struct ProcArray {
  int num_slots;  // written by the postmaster at creation
  ProcSlot slots[1];
};

ProcArray* array = nullptr;
ProcSlot* my_slot = nullptr;

void ReleaseSlot(int, uintptr_t) {
  if (my_slot == nullptr) return;
  DisownLatch(&my_slot->pgproc.procLatch);
  PidOf(my_slot).store(0, std::memory_order_release);
  my_slot->pgproc.backendId = InvalidBackendId;
  MyLatch = nullptr;
  MyProc = nullptr;
  my_slot = nullptr;
}

}  // namespace

size_t ShmemSize(int num_slots) {
  return offsetof(ProcArray, slots) + sizeof(ProcSlot) * static_cast<size_t>(num_slots);
}

void ShmemInit(int num_slots) {
  bool found;
  array = static_cast<ProcArray*>(shmem::InitStruct("ProcArray", ShmemSize(num_slots), &found));
  if (found) return;
  array->num_slots = num_slots;
  for (int i = 0; i < num_slots; i++) {
    PGPROC* p = &array->slots[i].pgproc;
    InitSharedLatch(&p->procLatch);
    p->pgprocno = i;
    p->backendId = InvalidBackendId;
    p->databaseId = InvalidOid;
    p->roleId = InvalidOid;
  }
}

int NumSlots() { return array && shmem::IsAttached() ? array->num_slots : 0; }

ProcSlot* Slot(int index) {
  if (array == nullptr || !shmem::IsAttached() || index < 0 || index >= array->num_slots) {
    return nullptr;
  }
  return &array->slots[index];
}

void AttachChild(int index, const char* backend_type, const char* name) {
  ProcSlot* slot = Slot(index);
  if (slot == nullptr) return;
  std::strncpy(slot->backend_type, backend_type, kTypeLen - 1);
  slot->backend_type[kTypeLen - 1] = '\0';
  std::strncpy(slot->name, name, kTypeLen - 1);
  slot->name[kTypeLen - 1] = '\0';
  slot->wait_event_info.store(0, std::memory_order_relaxed);
  // A previous owner that crashed may have left the latch owned; the slot is
  // ours now (the postmaster only reuses a slot after reaping its owner).
  slot->pgproc.procLatch.owner_pid = 0;
  OwnLatch(&slot->pgproc.procLatch);
  slot->pgproc.backendId = index + 1;
  my_slot = slot;
  MyProc = ToPgProc(slot);
  MyLatch = &slot->pgproc.procLatch;
  // Wait events are published straight into the shared slot from now on.
  my_wait_event_info = reinterpret_cast<uint32*>(&slot->wait_event_info);
  PidOf(slot).store(getpid(), std::memory_order_release);
  OnShmemExit(ReleaseSlot, 0);
}

ProcSlot* MyProcSlot() { return my_slot; }

int SlotIndex(const ProcSlot* slot) {
  if (array == nullptr || slot == nullptr) return -1;
  const ProcSlot* first = &array->slots[0];
  if (slot < first || slot >= first + array->num_slots) return -1;
  return static_cast<int>(slot - first);
}

ProcSlot* SlotForPid(pid_t pid) {
  if (array == nullptr || !shmem::IsAttached() || pid <= 0) return nullptr;
  for (int i = 0; i < array->num_slots; i++) {
    if (PidOf(&array->slots[i]).load(std::memory_order_acquire) == pid) return &array->slots[i];
  }
  return nullptr;
}

ProcSlot* FromPgProc(PGPROC* proc) {
  auto* slot = reinterpret_cast<ProcSlot*>(proc);
  return SlotIndex(slot) >= 0 ? slot : nullptr;
}

}  // namespace bgw::proc

extern "C" {

PGPROC* BackendPidGetProc(int pid) { return bgw::proc::ToPgProc(bgw::proc::SlotForPid(pid)); }

PGPROC* BackendPidGetProcWithLock(int pid) { return BackendPidGetProc(pid); }

}  // extern "C"
