// Background worker slots; see worker_slots.h for the hand-off protocol.
#include "workers/worker_slots.h"

#include <sched.h>

#include <cstring>
#include <string>

#include "common/strutil.h"
#include "ipc/pmsignal.h"
#include "ipc/segment.h"

namespace bgw::bgworker {
namespace {

WorkerArray* array = nullptr;

size_t BitmapOffset() { return (sizeof(WorkerArray) + 63) & ~size_t{63}; }
int BitmapWords(int num_slots) { return (num_slots + 63) / 64; }
size_t SlotsOffset(int num_slots) {
  size_t end = BitmapOffset() + sizeof(std::atomic<uint64_t>) * BitmapWords(num_slots);
  return (end + 63) & ~size_t{63};
}

// PostgreSQL caps the restart interval at a day of milliseconds.
constexpr int kMaxRestartSeconds = 86400 * 1000;

}  // namespace

size_t ShmemSize(int num_slots) {
  return SlotsOffset(num_slots) + sizeof(WorkerSlot) * static_cast<size_t>(num_slots);
}

void ShmemInit(int num_slots) {
  bool found;
  array = static_cast<WorkerArray*>(
      shmem::InitStruct("Background Worker Data", ShmemSize(num_slots), &found));
  if (array == nullptr || found) return;
  array->total_slots = num_slots;
  array->bitmap_words = BitmapWords(num_slots);
  // Fresh shared memory is zero: every slot is free, every bit clear.
  for (int i = 0; i < num_slots; i++) Slot(i)->pid.store(kNotStarted, std::memory_order_relaxed);
}

// A worker without shared memory access has unmapped the segment: the
// pointer inherited from the postmaster must not be used there.
WorkerArray* Array() { return shmem::IsAttached() ? array : nullptr; }

int NumSlots() { return Array() ? array->total_slots : 0; }

WorkerSlot* Slot(int index) {
  if (Array() == nullptr || index < 0 || index >= array->total_slots) return nullptr;
  auto* base = reinterpret_cast<char*>(array) + SlotsOffset(array->total_slots);
  return reinterpret_cast<WorkerSlot*>(base) + index;
}

std::atomic<uint64_t>* ChangedWords() {
  if (Array() == nullptr) return nullptr;
  return reinterpret_cast<std::atomic<uint64_t>*>(reinterpret_cast<char*>(array) + BitmapOffset());
}

RegistrantsLock::RegistrantsLock() {
  int spins = 0;
  // Acquire: pairs with the previous holder's release in the destructor.
  while (array->reg_lock.exchange(1, std::memory_order_acquire) != 0) {
    if (++spins > 64) sched_yield();
  }
}

RegistrantsLock::~RegistrantsLock() { array->reg_lock.store(0, std::memory_order_release); }

void NotifyPostmaster(int index) {
  if (Array() == nullptr) return;
  ChangedWords()[index / 64].fetch_or(uint64_t{1} << (index % 64), std::memory_order_release);
  pmsignal::Send(pmsignal::Reason::kBackgroundWorkerChange);
}

void CountParallelTermination(const BackgroundWorker& worker) {
  if (Array() != nullptr && (worker.bgw_flags & BGWORKER_CLASS_PARALLEL)) {
    array->parallel_terminated.fetch_add(1, std::memory_order_release);
  }
}

bool ValidateWorker(BackgroundWorker* w, std::string* error) {
  // Strings come from module code (or shared memory): terminate them.
  w->bgw_name[BGW_MAXLEN - 1] = '\0';
  w->bgw_type[BGW_MAXLEN - 1] = '\0';
  w->bgw_library_name[BGW_MAXLEN - 1] = '\0';
  w->bgw_function_name[BGW_MAXLEN - 1] = '\0';
  const char* name = w->bgw_name;
  // Read as a plain int: a module (or a corrupted slot) may hold a value
  // outside the enum, and loading that as the enum would be undefined.
  int start_time;
  static_assert(sizeof start_time == sizeof w->bgw_start_time);
  std::memcpy(&start_time, &w->bgw_start_time, sizeof start_time);
  if ((w->bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION) &&
      !(w->bgw_flags & BGWORKER_SHMEM_ACCESS)) {
    *error = StringPrintf(
        "background worker \"%s\": must attach to shared memory in order to request a database "
        "connection",
        name);
    return false;
  }
  if ((w->bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION) &&
      start_time == BgWorkerStart_PostmasterStart) {
    *error = StringPrintf(
        "background worker \"%s\": cannot request database access if starting at postmaster "
        "start",
        name);
    return false;
  }
  if (start_time != BgWorkerStart_PostmasterStart && start_time != BgWorkerStart_ConsistentState &&
      start_time != BgWorkerStart_RecoveryFinished) {
    *error = StringPrintf("background worker \"%s\": invalid start time %d", name, start_time);
    return false;
  }
  if (w->bgw_restart_time != BGW_NEVER_RESTART &&
      (w->bgw_restart_time < 0 || w->bgw_restart_time > kMaxRestartSeconds)) {
    *error = StringPrintf("background worker \"%s\": invalid restart interval", name);
    return false;
  }
  if ((w->bgw_flags & BGWORKER_CLASS_PARALLEL) && w->bgw_restart_time != BGW_NEVER_RESTART) {
    *error = StringPrintf(
        "background worker \"%s\": parallel workers may not be configured for "
        "restart",
        name);
    return false;
  }
  if (w->bgw_library_name[0] == '\0' || w->bgw_function_name[0] == '\0') {
    *error =
        StringPrintf("background worker \"%s\": library and function names are required", name);
    return false;
  }
  if (w->bgw_type[0] == '\0') std::memcpy(w->bgw_type, w->bgw_name, BGW_MAXLEN);
  return true;
}

namespace {
StaticRegistrar static_registrar = nullptr;
}  // namespace

void SetStaticRegistrar(StaticRegistrar registrar) { static_registrar = registrar; }
StaticRegistrar GetStaticRegistrar() { return static_registrar; }

}  // namespace bgw::bgworker
