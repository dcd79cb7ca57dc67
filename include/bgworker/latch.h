// bgworker/latch.h: latches for C++ modules: a view over a storage/latch.h
// Latch (by default this process's MyLatch) with std::chrono timeouts and a
// typed wait result.
//
// The contract is PostgreSQL's: Reset(), then check for work, then Wait();
// a Set() between the check and the wait is never lost.
//
//   bgworker::Latch latch;  // MyLatch
//   for (;;) {
//     auto r = latch.Wait(std::chrono::seconds(10));  // exits on postmaster death
//     latch.Reset();
//     if (auto ok = bgworker::CheckForInterrupts(); !ok) ...;
//     ... do the work ...
//   }
//
// Postmaster death: by default (OnPostmasterDeath::kExit) a wait exits the
// process (WL_EXIT_ON_PM_DEATH), which is what almost every worker wants;
// kReturn reports it in WaitResult::postmaster_died instead.
//
// Wait() is implemented in the server (src/workers/cxx_api.cc): an ERROR of
// WaitLatch() never siglongjmps through the caller's frames. Set(), Reset()
// and IsSet() are inline: they cannot fail. Not thread-safe (SetLatch on
// another process's latch is safe from any process, as in C).
#ifndef BGWORKER_LATCH_H
#define BGWORKER_LATCH_H

#include <chrono>
#include <cstdint>
#include <optional>

#include "error.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/latch.h"
#include "postgres/utils/wait_event.h"

namespace bgworker {

enum class OnPostmasterDeath {
  kExit,    // WL_EXIT_ON_PM_DEATH: the process exits (status 1)
  kReturn,  // WL_POSTMASTER_DEATH: the wait returns with postmaster_died set
};

// WL_SOCKET_* as a flag set.
enum class SocketEvents : unsigned {
  kNone = 0,
  kReadable = WL_SOCKET_READABLE,
  kWriteable = WL_SOCKET_WRITEABLE,
  kClosed = WL_SOCKET_CLOSED,
};
constexpr SocketEvents operator|(SocketEvents a, SocketEvents b) {
  return static_cast<SocketEvents>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr SocketEvents operator&(SocketEvents a, SocketEvents b) {
  return static_cast<SocketEvents>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}

// Why a wait returned (several may hold at once).
struct WaitResult {
  bool latch_set = false;
  bool timeout = false;
  bool postmaster_died = false;
  bool socket_readable = false;
  bool socket_writeable = false;
  bool socket_closed = false;

  // From a WaitLatch()/WaitLatchOrSocket() result.
  static constexpr WaitResult FromEvents(int events) {
    WaitResult r;
    r.latch_set = (events & WL_LATCH_SET) != 0;
    r.timeout = (events & WL_TIMEOUT) != 0;
    r.postmaster_died = (events & WL_POSTMASTER_DEATH) != 0;
    r.socket_readable = (events & WL_SOCKET_READABLE) != 0;
    r.socket_writeable = (events & WL_SOCKET_WRITEABLE) != 0;
    r.socket_closed = (events & WL_SOCKET_CLOSED) != 0;
    return r;
  }
};

// A view (never an owner) of a latch. Default: this process's MyLatch,
// looked up at each call (MyLatch may change when a process attaches to
// shared memory).
class Latch {
 public:
  Latch() noexcept = default;
  // A latch in shared memory (InitSharedLatch/OwnLatch are the C API's).
  explicit Latch(::Latch* latch) noexcept : latch_(latch) {}

  ::Latch* get() const noexcept { return latch_ != nullptr ? latch_ : MyLatch; }

  // SetLatch(): wakes the owner. Async-signal-safe, like SetLatch.
  void Set() const noexcept { SetLatch(get()); }
  // ResetLatch().
  void Reset() const noexcept { ResetLatch(get()); }
  bool IsSet() const noexcept { return get()->is_set != 0; }

  // WaitLatch(latch, WL_LATCH_SET [| WL_TIMEOUT] | death flag, ...). Must be
  // this process's latch (one it owns). nullopt = no timeout; a negative
  // timeout counts as 0 (returns at once). Throws bgworker::Error
  // (kPgError) only if the wait itself fails (epoll), which the C API
  // reports with ERROR.
  WaitResult Wait(std::optional<std::chrono::milliseconds> timeout,
                  OnPostmasterDeath on_death = OnPostmasterDeath::kExit,
                  uint32_t wait_event = PG_WAIT_EXTENSION) const;

  // WaitLatchOrSocket(): also wakes for `events` on `socket` (not taken
  // over; must stay open during the wait). An invalid socket is an error
  // value (kPgError), not a thrown exception.
  Expected<WaitResult> WaitOrSocket(int socket, SocketEvents events,
                                    std::optional<std::chrono::milliseconds> timeout,
                                    OnPostmasterDeath on_death = OnPostmasterDeath::kExit,
                                    uint32_t wait_event = PG_WAIT_EXTENSION) const;

 private:
  ::Latch* latch_ = nullptr;  // nullptr: MyLatch
};

}  // namespace bgworker

#endif  // BGWORKER_LATCH_H
