// bgworker/worker.h: background workers for C++ modules: a typed worker
// definition (WorkerSpec), an RAII handle on a dynamic worker
// (WorkerHandle) with waits that take timeouts, and static registration.
//
// One implementation, two faces: everything here is a thin layer over the
// PostgreSQL-compatible C API of postmaster/bgworker.h and storage/latch.h
// (RegisterBackgroundWorker, RegisterDynamicBackgroundWorker,
// GetBackgroundWorkerPid, TerminateBackgroundWorker, WaitLatch), implemented
// in the server (src/workers/cxx_api.cc) and resolved when the module is
// loaded, like the C API. Semantics are the C API's: see docs/modules.md.
// What the C++ face adds:
//   * definitions are validated before they reach the server; a string too
//     long for its field is an error value, never silently truncated;
//   * failures are values (Expected<T>, error.h), never an ERROR that
//     siglongjmps over the caller's C++ objects;
//   * waits take an optional timeout (PostgreSQL's wait forever).
//
// ABI: the C API is stamped by PG_MODULE_MAGIC; this C++ API passes
// std::string and class objects across the module boundary, so a module
// using it must be built with the same compiler and standard library as the
// server (as every in-tree module is).
//
// Who may call what: the server calls module code in one thread per
// process; none of this is thread-safe.
#ifndef BGWORKER_WORKER_H
#define BGWORKER_WORKER_H

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "error.h"
#include "postgres/postmaster/bgworker.h"

namespace bgworker {

// bgw_start_time: the earliest server state in which the worker may start.
enum class StartTime {
  kPostmasterStart,   // as soon as the server starts (no database access allowed)
  kConsistentState,   // once the server is consistent (hot standby or normal running)
  kRecoveryFinished,  // once the server runs normally
};

// bgw_flags, as levels: a database connection implies shared memory access
// (PostgreSQL requires both flags together).
enum class Access : unsigned {
  kNone = 0,
  kSharedMemory = BGWORKER_SHMEM_ACCESS,
  kDatabase = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION,
};

// BgwHandleStatus.
enum class WorkerState {
  kNotYetStarted,   // registered, not forked yet
  kStarted,         // running; the pid is known
  kStopped,         // exited or unregistered (or the handle is empty)
  kPostmasterDied,  // the server is gone
};

// What a WorkerHandle's destructor does to its worker.
enum class OnDestroy {
  kDetach,     // nothing: the worker runs on (PostgreSQL's behaviour when a handle is freed)
  kTerminate,  // TerminateBackgroundWorker(): it is stopped and unregistered
};

// Longest bgw_name / bgw_type / bgw_library_name / bgw_function_name, in bytes.
inline constexpr std::size_t kMaxNameBytes = BGW_MAXLEN - 1;
// Size of bgw_extra.
inline constexpr std::size_t kExtraBytes = BGW_EXTRALEN;

// A background worker definition (struct BackgroundWorker, typed).
struct WorkerSpec {
  std::string name;      // bgw_name: in logs and the process title; required
  std::string type;      // bgw_type: empty = same as name
  std::string library;   // bgw_library_name: the module ("my_module"); required
  std::string function;  // bgw_function_name: extern "C" void fn(Datum); required
  Access access = Access::kSharedMemory;
  StartTime start = StartTime::kRecoveryFinished;
  // Delay before a restart after exit status 1; nullopt = BGW_NEVER_RESTART.
  // 0 .. 86400000 s.
  std::optional<std::chrono::seconds> restart_delay;
  uint64_t main_arg = 0;  // bgw_main_arg, passed to the entry function by value
  std::array<std::byte, kExtraBytes> extra{};  // bgw_extra, read back with ReadExtra
  // Dynamic registration: bgw_notify_pid = MyProcPid, so the registrant's
  // latch is set when the worker starts and stops (the waits below need
  // it). Ignored by RegisterStatic (static workers cannot be notified).
  bool notify_me = true;

  // Copies `bytes` into `extra` (the rest zeroed); kInvalidSpec if longer
  // than kExtraBytes.
  Expected<void> SetExtra(std::span<const std::byte> bytes) {
    if (bytes.size() > extra.size()) {
      return Unexpected(Errc::kInvalidSpec, "bgw_extra holds at most " +
                                                std::to_string(extra.size()) + " bytes, not " +
                                                std::to_string(bytes.size()));
    }
    extra.fill(std::byte{0});
    if (!bytes.empty()) std::memcpy(extra.data(), bytes.data(), bytes.size());
    return {};
  }

  // Stores a trivially copyable value in `extra` (read back with ReadExtra<T>).
  template <typename T>
  void SetExtraValue(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>,
                  "bgw_extra holds bytes: T must be trivially copyable");
    static_assert(sizeof(T) <= kExtraBytes, "T does not fit in bgw_extra");
    extra.fill(std::byte{0});
    std::memcpy(extra.data(), &value, sizeof(T));
  }

  // The C struct, validated: every check of the server's registration (it
  // uses the same validator) plus: name, library and function non-empty;
  // no string longer than kMaxNameBytes or containing a NUL byte;
  // restart_delay in range. Failure: kInvalidSpec, naming the field.
  // bgw_notify_pid is MyProcPid when notify_me, else 0.
  Expected<BackgroundWorker> ToBackgroundWorker() const;
};

// Owner of a dynamic worker's BackgroundWorkerHandle (allocated in
// TopMemoryContext, freed by the destructor). Move-only. Usable only in the
// process that registered the worker.
class WorkerHandle {
 public:
  // RegisterDynamicBackgroundWorker(). From a backend or a background
  // worker (not the postmaster: kNotUnderPostmaster). Never blocks.
  // Errors: kInvalidSpec (the server's ERROR for an invalid definition is
  // caught and returned, it does not escape), kNoFreeSlot (every slot of
  // max_worker_processes is in use).
  [[nodiscard]] static Expected<WorkerHandle> Register(const WorkerSpec& spec,
                                                       OnDestroy on_destroy = OnDestroy::kDetach);

  // Adopts a handle from the C API (takes ownership: it is pfree'd).
  explicit WorkerHandle(BackgroundWorkerHandle* handle,
                        OnDestroy on_destroy = OnDestroy::kDetach) noexcept
      : handle_(handle), on_destroy_(on_destroy) {}
  WorkerHandle() noexcept = default;  // empty
  WorkerHandle(WorkerHandle&& other) noexcept
      : handle_(other.handle_), on_destroy_(other.on_destroy_) {
    other.handle_ = nullptr;
  }
  WorkerHandle& operator=(WorkerHandle&& other) noexcept;
  WorkerHandle(const WorkerHandle&) = delete;
  WorkerHandle& operator=(const WorkerHandle&) = delete;
  ~WorkerHandle();

  // GetBackgroundWorkerPid(): a snapshot; *pid is set when kStarted. An
  // empty handle reads kStopped. Never blocks.
  WorkerState State(pid_t* pid = nullptr) const;

  // Waits until the worker has started: its pid. nullopt timeout = no
  // limit. Errors: kStopped (it stopped, or was refused by the server,
  // before it was seen running; a worker that runs only briefly can read
  // so), kTimeout (still not started; it may start later), kPostmasterDied,
  // kPgError (an ERROR raised while waiting, e.g. a query cancel).
  // A SIGTERM (die) ends the process during the wait, as in the C API.
  // Requires notify_me (bgw_notify_pid): otherwise only the timeout ends
  // the wait early. Like the C waits it resets MyLatch: recheck your own
  // wake-up conditions afterwards.
  [[nodiscard]] Expected<pid_t> WaitForStartup(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Waits until the worker has stopped. Errors: kTimeout (still running or
  // not yet started), kPostmasterDied, kPgError; as WaitForStartup.
  [[nodiscard]] Expected<void> WaitForShutdown(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // TerminateBackgroundWorker(): SIGTERM if running, then unregistered;
  // a worker not started yet never starts. Does not wait. No-op when empty.
  void Terminate();

  OnDestroy on_destroy() const noexcept { return on_destroy_; }
  void set_on_destroy(OnDestroy on_destroy) noexcept { on_destroy_ = on_destroy; }

  bool empty() const noexcept { return handle_ == nullptr; }
  // For the C API; stays owned by this object.
  BackgroundWorkerHandle* get() const noexcept { return handle_; }
  // Gives up ownership (the caller pfree's it); the handle becomes empty.
  BackgroundWorkerHandle* release() noexcept {
    BackgroundWorkerHandle* h = handle_;
    handle_ = nullptr;
    return h;
  }

 private:
  BackgroundWorkerHandle* handle_ = nullptr;
  OnDestroy on_destroy_ = OnDestroy::kDetach;
};

// RegisterBackgroundWorker(): only from _PG_init() of a library in
// shared_preload_libraries, while the postmaster preloads it
// (process_shared_preload_libraries_in_progress); elsewhere
// kNotUnderPostmaster. When a child process initializes the library again,
// the call is accepted and ignored, as in C. Errors: kInvalidSpec. The
// server may still refuse a valid definition (more static workers than
// max_worker_processes): it logs that, as for C modules.
Expected<void> RegisterStatic(const WorkerSpec& spec);

// MyBgworkerEntry: this worker's private copy of its definition.
// Precondition: called in a background worker (elsewhere it raises FATAL,
// ending the process).
const BackgroundWorker& CurrentWorker();

// CHECK_FOR_INTERRUPTS() for C++ code: a pending die (SIGTERM) ends the
// process with FATAL, exit 1, as in C; a pending query cancel, which C
// raises as ERROR, is returned as kPgError instead.
Expected<void> CheckForInterrupts();

// A bounded view of a fixed-size name field of BackgroundWorker.
inline std::string_view FieldView(const char (&field)[BGW_MAXLEN]) {
  const void* nul = std::memchr(field, '\0', BGW_MAXLEN);
  return std::string_view(
      field, nul != nullptr ? static_cast<const char*>(nul) - field : std::size_t{BGW_MAXLEN});
}

// Reads back a value stored with WorkerSpec::SetExtraValue<T>.
template <typename T>
T ReadExtra(const BackgroundWorker& worker) {
  static_assert(std::is_trivially_copyable_v<T>,
                "bgw_extra holds bytes: T must be trivially copyable");
  static_assert(sizeof(T) <= kExtraBytes, "T does not fit in bgw_extra");
  T value;
  std::memcpy(&value, worker.bgw_extra, sizeof(T));
  return value;
}

}  // namespace bgworker

#endif  // BGWORKER_WORKER_H
