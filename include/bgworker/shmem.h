// bgworker/shmem.h: the shared-memory toolkit for C++ modules: typed named
// structs in the main segment (SharedStruct<T>), RAII lock guards
// (LWLockGuard, SpinLockGuard) and typed message queues over shm_mq
// (Channel<T>, ByteChannel).
//
// A thin layer over the C API of storage/shmem.h, storage/lwlock.h,
// storage/spin.h and storage/shm_mq.h, with the same semantics (see
// docs/modules.md, "Laying out shared state"). What the C++ face adds:
//   * failures are values (Expected<T>, error.h): every C call that can
//     raise ereport(ERROR) runs inside CatchPgErrors, so no siglongjmp
//     crosses the caller's C++ frames. The exceptions are the LWLockGuard
//     constructor, SharedLock/ExclusiveLock and TryLock, which throw
//     bgworker::Error (use LWLockGuard::Acquire for a value);
//   * locks are released by destructors; queue handles are detached by
//     destructors;
//   * shared structs and messages are checked at compile time to be plain
//     bytes (trivially copyable, standard layout): shared memory is mapped
//     at different addresses in different processes, so it holds offsets and
//     handles, never pointers or C++ objects owning heap memory.
//
// Error codes: a caught ERROR is kPgError (with its SQLSTATE). shm_mq
// results map to Errc (error.h has no "would block" code):
//   SHM_MQ_WOULD_BLOCK (nowait only) -> kTimeout (a zero timeout expired)
//   SHM_MQ_DETACHED                  -> kStopped (the peer is gone)
//
// Interrupt holdoff: LWLocks hold interrupts (HOLD_INTERRUPTS) while held,
// and an ERROR resets the holdoff count to 0 (as PostgreSQL's error
// recovery does). The functions here restore the count after an ERROR they
// catch; a guard's release also tolerates a count already reset by an
// ERROR the caller caught while the guard was alive.
//
// Header-only (inline); nothing to link. Not thread-safe, like the C API.
#ifndef BGWORKER_SHMEM_H
#define BGWORKER_SHMEM_H

#include <bit>
#include <cstddef>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "error.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/postmaster/bgworker.h"
#include "postgres/storage/dsm.h"
#include "postgres/storage/lwlock.h"
#include "postgres/storage/shm_mq.h"
#include "postgres/storage/shmem.h"
#include "postgres/storage/spin.h"
#include "postgres/utils/memutils.h"

namespace bgworker {

namespace internal {

// Restores InterruptHoldoffCount when an ERROR was caught (errfinish zeroes
// it) so that locks still held keep interrupts held off.
template <typename F>
auto CatchPgErrorsKeepingHoldoff(F&& fn) {
  const uint32 holdoff = InterruptHoldoffCount;
  auto result = CatchPgErrors(std::forward<F>(fn));
  if (!result) InterruptHoldoffCount = holdoff;
  return result;
}

}  // namespace internal

// ---------------------------------------------------------------------------
// LWLocks

enum class LockMode {
  kShared,     // LW_SHARED
  kExclusive,  // LW_EXCLUSIVE
};

constexpr LWLockMode ToLWLockMode(LockMode mode) {
  return mode == LockMode::kShared ? LW_SHARED : LW_EXCLUSIVE;
}

// Holds an LWLock from construction to destruction (or Release()).
// Move-only. While held, interrupts are held off (CHECK_FOR_INTERRUPTS does
// nothing), as in C: keep critical sections short.
//
// Errors of the acquire (ERROR from the server: no shared memory in this
// process, too many LWLocks held, the lock already held by this process in
// a conflicting mode) are returned by Acquire() and thrown as
// bgworker::Error (kPgError) by the constructor.
class LWLockGuard {
 public:
  // LWLockAcquire(lock, mode): waits until granted. Throws bgworker::Error.
  LWLockGuard(::LWLock* lock, LockMode mode) : LWLockGuard(Acquire(lock, mode).value()) {}

  // LWLockAcquire(lock, mode), with errors as values.
  [[nodiscard]] static Expected<LWLockGuard> Acquire(::LWLock* lock, LockMode mode) {
    auto acquired = internal::CatchPgErrorsKeepingHoldoff(
        [&] { (void)LWLockAcquire(lock, ToLWLockMode(mode)); });
    if (!acquired) return std::move(acquired).error();
    return LWLockGuard(lock, mode, Adopt{});
  }

  // LWLockConditionalAcquire(lock, mode): never waits; nullopt if the lock
  // is busy (also when this process holds it in a conflicting mode).
  [[nodiscard]] static Expected<std::optional<LWLockGuard>> TryAcquire(::LWLock* lock,
                                                                       LockMode mode) {
    auto acquired = internal::CatchPgErrorsKeepingHoldoff(
        [&] { return LWLockConditionalAcquire(lock, ToLWLockMode(mode)); });
    if (!acquired) return std::move(acquired).error();
    if (!*acquired) return std::optional<LWLockGuard>();
    return std::optional<LWLockGuard>(LWLockGuard(lock, mode, Adopt{}));
  }

  LWLockGuard(LWLockGuard&& other) noexcept
      : lock_(std::exchange(other.lock_, nullptr)), mode_(other.mode_) {}
  LWLockGuard& operator=(LWLockGuard&& other) noexcept {
    if (this != &other) {
      Release();
      lock_ = std::exchange(other.lock_, nullptr);
      mode_ = other.mode_;
    }
    return *this;
  }
  LWLockGuard(const LWLockGuard&) = delete;
  LWLockGuard& operator=(const LWLockGuard&) = delete;
  ~LWLockGuard() { Release(); }

  // LWLockRelease() now; no-op if not held.
  void Release() noexcept {
    ::LWLock* lock = std::exchange(lock_, nullptr);
    if (lock == nullptr) return;
    // An ERROR caught since the acquire zeroed the holdoff count, which
    // LWLockRelease decrements: keep it from wrapping around.
    if (InterruptHoldoffCount == 0) HOLD_INTERRUPTS();
    // Cannot fail for a lock this guard holds; an ERROR (the lock was
    // released behind the guard's back, e.g. LWLockReleaseAll) is dropped.
    auto released = CatchPgErrors([lock] { LWLockRelease(lock); });
    (void)released;
  }

  bool owns_lock() const noexcept { return lock_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  ::LWLock* lock() const noexcept { return lock_; }
  LockMode mode() const noexcept { return mode_; }

 private:
  struct Adopt {};
  LWLockGuard(::LWLock* lock, LockMode mode, Adopt) noexcept : lock_(lock), mode_(mode) {}

  ::LWLock* lock_ = nullptr;
  LockMode mode_ = LockMode::kExclusive;
};

// auto guard = bgworker::ExclusiveLock(&state->lock);  (throws bgworker::Error)
inline LWLockGuard SharedLock(::LWLock* lock) { return LWLockGuard(lock, LockMode::kShared); }
inline LWLockGuard ExclusiveLock(::LWLock* lock) { return LWLockGuard(lock, LockMode::kExclusive); }

// LWLockConditionalAcquire(): the guard, or nullopt if the lock is busy.
// Throws bgworker::Error for an ERROR (see LWLockGuard::TryAcquire).
inline std::optional<LWLockGuard> TryLock(::LWLock* lock, LockMode mode = LockMode::kExclusive) {
  return LWLockGuard::TryAcquire(lock, mode).value();
}

// ---------------------------------------------------------------------------
// Spinlocks

// SpinLockAcquire() in the constructor, SpinLockRelease() in the destructor.
// Neither raises ERROR (a stuck lock is a PANIC). Not movable: a spinlock
// protects a few instructions in one scope; never raise an error, wait, or
// take an LWLock while holding it.
class SpinLockGuard {
 public:
  explicit SpinLockGuard(slock_t* lock) noexcept : lock_(lock) { SpinLockAcquire(lock_); }
  ~SpinLockGuard() { SpinLockRelease(lock_); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  slock_t* lock_;
};

// ---------------------------------------------------------------------------
// Named structs in the main shared memory segment

// T as a named struct of the main segment. T must be plain bytes: trivially
// copyable and standard layout (LWLock, slock_t and pg_atomic_* members are;
// pointers are allowed by the type system but are meaningless in other
// processes: store offsets or handles instead).
//
//   struct MyState { LWLock lock; uint64 count; };
//   _PG_init (preloading):   bgworker::SharedStruct<MyState>::Request();
//   shmem_startup_hook and every process that uses it:
//     auto state = bgworker::SharedStruct<MyState>::Attach("my_module",
//         [](MyState& s) { LWLockInitialize(&s.lock, LWLockNewTrancheId()); });
template <typename T>
class SharedStruct {
  static_assert(std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>,
                "SharedStruct<T>: shared memory holds plain bytes: T must be trivially copyable "
                "and standard layout");
  static_assert(alignof(T) <= MAXIMUM_ALIGNOF,
                "SharedStruct<T>: ShmemInitStruct only guarantees MAXALIGN alignment");

 public:
  // What Request() reserves: MAXALIGN(sizeof(T)).
  static constexpr Size kRequestSize = MAXALIGN(sizeof(T));

  // RequestAddinShmemSpace(MAXALIGN(sizeof(T))): only while the library is
  // preloaded (_PG_init) or in shmem_request_hook. Outside them the C API
  // ignores the request (postmaster, with a LOG line) or raises ERROR (a
  // server child): here the ERROR is caught and logged as a WARNING. Use
  // TryRequest() to get it as a value.
  static void Request() {
    auto requested = TryRequest();
    if (requested) return;
    const std::string message = requested.error().ToString();
    auto logged = CatchPgErrors([&] {
      elog(WARNING, "SharedStruct::Request(%zu bytes): %s", static_cast<size_t>(kRequestSize),
           message.c_str());
    });
    (void)logged;
  }

  // The same; the server's ERROR comes back as kPgError.
  [[nodiscard]] static Expected<void> TryRequest() {
    return CatchPgErrors([] { RequestAddinShmemSpace(kRequestSize); });
  }

  // Under AddinShmemInitLock (exclusive): ShmemInitStruct(name, sizeof(T)),
  // then, only if the struct did not exist yet, init(struct) on its zeroed
  // memory, still under the lock (so no process sees it half-initialized).
  // Returns this process's address of the struct.
  //
  // `init` runs inside CatchPgErrors: it may call the C API (an ERROR comes
  // back as kPgError) but must keep no C++ object with a non-trivial
  // destructor alive across such a call (error.h). A C++ exception it throws
  // propagates (the lock is released). After an ERROR or exception in
  // `init`, the struct exists (later Attach calls find it) but is only
  // partly initialized: treat it as fatal.
  //
  // Errors: kInvalidSpec (name empty, longer than SHMEM_INDEX_KEYSIZE - 1
  // bytes, or containing a NUL), kNotUnderPostmaster (no shared memory
  // mapped in this process), kPgError (the server's ERROR: shared memory not
  // available in this process -- a worker without BGWORKER_SHMEM_ACCESS;
  // out of shared memory -- the space was not requested; an existing struct
  // of another size; any ERROR of `init`).
  [[nodiscard]] static Expected<T*> Attach(std::string_view name,
                                           std::function<void(T&)> init = {}) {
    if (name.empty() || name.size() >= SHMEM_INDEX_KEYSIZE ||
        name.find('\0') != std::string_view::npos) {
      return Unexpected(Errc::kInvalidSpec, "shared struct name must be 1 to " +
                                                std::to_string(SHMEM_INDEX_KEYSIZE - 1) +
                                                " bytes without NUL; got " +
                                                std::to_string(name.size()) + " bytes");
    }
    if (MainLWLockArray == nullptr) {
      return Unexpected(Errc::kNotUnderPostmaster,
                        "shared memory is not available in this process (register the "
                        "background worker with BGWORKER_SHMEM_ACCESS)");
    }
    const std::string cname(name);
    auto guard = LWLockGuard::Acquire(AddinShmemInitLock, LockMode::kExclusive);
    if (!guard) return std::move(guard).error();
    bool found = false;
    auto memory = internal::CatchPgErrorsKeepingHoldoff([&]() -> void* {
      void* p = ShmemInitStruct(cname.c_str(), sizeof(T), &found);
      if (!found && init) init(*static_cast<T*>(p));
      return p;
    });
    if (!memory) return std::move(memory).error();
    return static_cast<T*>(*memory);
  }
};

// ---------------------------------------------------------------------------
// Message queues

// Which end of a queue this process is.
enum class QueueRole {
  kSender,
  kReceiver,
};

// An attached shm_mq_handle, for messages of any length. Move-only; the
// destructor detaches (shm_mq_detach: pending bytes are flushed, the peer
// sees SHM_MQ_DETACHED -> kStopped once it has read everything).
//
// Lifetime: destroy (or Detach()) the channel BEFORE dsm_detach() of the
// segment holding the queue (detaching touches the queue). A segment
// detached first (explicitly or at process exit) marks the queue detached
// for the peer, as in C.
class ByteChannel {
 public:
  // shm_mq_create(address, size) and sets this process (MyProc) as the
  // queue's `role`. Publish the result (shm_toc_insert), then Attach() it
  // (typically once the peer worker is registered, to pass its handle).
  // Errors: kPgError (size < shm_mq_minimum_size, address not MAXALIGN'd,
  // no process slot in this process).
  [[nodiscard]] static Expected<shm_mq*> Create(void* address, std::size_t size, QueueRole role) {
    return CatchPgErrors([&]() -> shm_mq* {
      shm_mq* mq = shm_mq_create(address, size);
      if (role == QueueRole::kSender) {
        shm_mq_set_sender(mq, MyProc);
      } else {
        shm_mq_set_receiver(mq, MyProc);
      }
      return mq;
    });
  }

  // shm_mq_attach(mq, seg, handle). `role`: this process's end, set now
  // (shm_mq_set_sender/receiver) unless it already is that end; nullopt =
  // inferred: already an end (it created the queue), or the end the creator
  // left free. seg: the DSM segment holding the queue, or nullptr. handle:
  // the peer worker, or nullptr; with it a peer that stops or never starts
  // is reported as kStopped instead of waiting forever. The handle is not
  // taken over: it must outlive the channel (WorkerHandle::get()).
  // The shm_mq_handle is allocated in TopMemoryContext.
  // Errors: kInvalidSpec (role cannot be inferred: neither end is set, or
  // both are set to other processes), kPgError (the server's ERROR).
  [[nodiscard]] static Expected<ByteChannel> Attach(shm_mq* mq, dsm_segment* seg,
                                                    BackgroundWorkerHandle* handle,
                                                    std::optional<QueueRole> role = std::nullopt) {
    // 0: attached; 1: role ambiguous. Plain data only (see error.h).
    int outcome = 0;
    auto attached = CatchPgErrors([&]() -> shm_mq_handle* {
      PGPROC* receiver = shm_mq_get_receiver(mq);
      PGPROC* sender = shm_mq_get_sender(mq);
      bool want_sender;
      if (role.has_value()) {
        want_sender = *role == QueueRole::kSender;
      } else if (receiver == MyProc || sender == MyProc) {
        want_sender = sender == MyProc;
      } else if ((receiver == nullptr) != (sender == nullptr)) {
        want_sender = sender == nullptr;
      } else {
        outcome = 1;
        return nullptr;
      }
      if (want_sender && sender != MyProc) shm_mq_set_sender(mq, MyProc);
      if (!want_sender && receiver != MyProc) shm_mq_set_receiver(mq, MyProc);
      MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
      shm_mq_handle* mqh = shm_mq_attach(mq, seg, handle);
      MemoryContextSwitchTo(old);
      return mqh;
    });
    if (!attached) return std::move(attached).error();
    if (outcome == 1) {
      return Unexpected(Errc::kInvalidSpec,
                        "cannot infer this process's end of the shared memory queue: pass a "
                        "QueueRole");
    }
    return ByteChannel(*attached);
  }

  ByteChannel() noexcept = default;  // detached
  ByteChannel(ByteChannel&& other) noexcept : mqh_(std::exchange(other.mqh_, nullptr)) {}
  ByteChannel& operator=(ByteChannel&& other) noexcept {
    if (this != &other) {
      Detach();
      mqh_ = std::exchange(other.mqh_, nullptr);
    }
    return *this;
  }
  ByteChannel(const ByteChannel&) = delete;
  ByteChannel& operator=(const ByteChannel&) = delete;
  ~ByteChannel() { Detach(); }

  // shm_mq_send(..., nowait, force_flush = true): the message is visible to
  // the receiver when this returns. Waits (sleeping on MyLatch) while the
  // queue is full unless nowait. Errors: kTimeout (nowait and the queue is
  // full: call again with the same message; part of it may have been sent),
  // kStopped (the receiver detached or its worker stopped), kPgError
  // (message larger than MaxAllocSize, a query cancel while waiting, ...),
  // kInvalidSpec (this channel is detached).
  Expected<void> SendBytes(std::span<const std::byte> bytes, bool nowait = false) {
    if (mqh_ == nullptr) return Detached();
    shm_mq_handle* mqh = mqh_;
    auto sent =
        CatchPgErrors([&] { return shm_mq_send(mqh, bytes.size(), bytes.data(), nowait, true); });
    if (!sent) return std::move(sent).error();
    return FromResult(*sent, "send");
  }

  // shm_mq_receive(): the next message's bytes, valid until the next receive
  // or the detach of this channel. Waits unless nowait. Errors: kTimeout
  // (nowait and no complete message yet), kStopped (the sender detached, or
  // its worker stopped, and every message it sent has been read), kPgError,
  // kInvalidSpec (detached).
  Expected<std::span<const std::byte>> ReceiveBytes(bool nowait = false) {
    if (mqh_ == nullptr) return Detached();
    shm_mq_handle* mqh = mqh_;
    Size nbytes = 0;
    void* data = nullptr;
    auto received = CatchPgErrors([&] { return shm_mq_receive(mqh, &nbytes, &data, nowait); });
    if (!received) return std::move(received).error();
    if (auto status = FromResult(*received, "receive"); !status) return std::move(status).error();
    return std::span<const std::byte>(static_cast<const std::byte*>(data), nbytes);
  }

  // shm_mq_wait_for_attach(): waits until the peer has attached. Errors:
  // kStopped (it detached or its worker stopped first), kPgError.
  Expected<void> WaitForAttach() {
    if (mqh_ == nullptr) return Detached();
    shm_mq_handle* mqh = mqh_;
    auto waited = CatchPgErrors([&] { return shm_mq_wait_for_attach(mqh); });
    if (!waited) return std::move(waited).error();
    return FromResult(*waited, "attach");
  }

  // shm_mq_detach() now; no-op when detached.
  void Detach() noexcept {
    shm_mq_handle* mqh = std::exchange(mqh_, nullptr);
    if (mqh == nullptr) return;
    auto detached = CatchPgErrors([mqh] { shm_mq_detach(mqh); });
    (void)detached;
  }

  bool attached() const noexcept { return mqh_ != nullptr; }
  // For the C API; stays owned by this object.
  shm_mq_handle* get() const noexcept { return mqh_; }

 private:
  explicit ByteChannel(shm_mq_handle* mqh) noexcept : mqh_(mqh) {}

  static ErrorInfo Detached() {
    return Unexpected(Errc::kInvalidSpec, "the channel is not attached to a queue");
  }

  static Expected<void> FromResult(shm_mq_result result, const char* what) {
    switch (result) {
      case SHM_MQ_SUCCESS:
        return {};
      case SHM_MQ_WOULD_BLOCK:
        return Unexpected(Errc::kTimeout,
                          std::string("shared memory queue ") + what + " would block");
      case SHM_MQ_DETACHED:
        break;
    }
    return Unexpected(Errc::kStopped,
                      std::string("shared memory queue ") + what + ": the other side detached");
  }

  shm_mq_handle* mqh_ = nullptr;
};

// A ByteChannel whose messages are T values (sizeof(T) bytes each), plus
// the bytes variant (SendBytes/ReceiveBytes) for anything else. T must be
// plain bytes (trivially copyable; no pointers that the peer would follow).
template <typename T>
class Channel {
  static_assert(std::is_trivially_copyable_v<T>,
                "Channel<T>: messages are copied as bytes: T must be trivially copyable");

 public:
  using Role = QueueRole;

  // See ByteChannel::Create.
  [[nodiscard]] static Expected<shm_mq*> Create(void* address, std::size_t size, Role role) {
    return ByteChannel::Create(address, size, role);
  }

  // See ByteChannel::Attach.
  [[nodiscard]] static Expected<Channel> Attach(shm_mq* mq, dsm_segment* seg,
                                                BackgroundWorkerHandle* handle,
                                                std::optional<Role> role = std::nullopt) {
    auto bytes = ByteChannel::Attach(mq, seg, handle, role);
    if (!bytes) return std::move(bytes).error();
    return Channel(std::move(*bytes));
  }

  Channel() noexcept = default;

  // Sends sizeof(T) bytes. Errors as ByteChannel::SendBytes (kTimeout:
  // nowait and full; call again with an equal value).
  Expected<void> Send(const T& value, bool nowait = false) {
    return bytes_.SendBytes(std::as_bytes(std::span<const T, 1>(&value, 1)), nowait);
  }

  // Receives one T. Errors as ByteChannel::ReceiveBytes, plus kInvalidSpec
  // when the message is not sizeof(T) bytes long (it is consumed).
  Expected<T> Receive(bool nowait = false) {
    auto bytes = bytes_.ReceiveBytes(nowait);
    if (!bytes) return std::move(bytes).error();
    if (bytes->size() != sizeof(T)) {
      return Unexpected(Errc::kInvalidSpec, "received a message of " +
                                                std::to_string(bytes->size()) +
                                                " bytes; the channel carries messages of " +
                                                std::to_string(sizeof(T)) + " bytes");
    }
    struct Raw {
      std::byte b[sizeof(T)];
    };
    Raw raw;
    std::memcpy(raw.b, bytes->data(), sizeof(T));
    return std::bit_cast<T>(raw);
  }

  Expected<void> SendBytes(std::span<const std::byte> bytes, bool nowait = false) {
    return bytes_.SendBytes(bytes, nowait);
  }
  Expected<std::span<const std::byte>> ReceiveBytes(bool nowait = false) {
    return bytes_.ReceiveBytes(nowait);
  }
  Expected<void> WaitForAttach() { return bytes_.WaitForAttach(); }
  void Detach() noexcept { bytes_.Detach(); }
  bool attached() const noexcept { return bytes_.attached(); }
  shm_mq_handle* get() const noexcept { return bytes_.get(); }

 private:
  explicit Channel(ByteChannel bytes) noexcept : bytes_(std::move(bytes)) {}

  ByteChannel bytes_;
};

}  // namespace bgworker

#endif  // BGWORKER_SHMEM_H
