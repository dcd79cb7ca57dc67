// LISTEN / NOTIFY between sessions: a queue in the main shared memory
// segment, PostgreSQL's async.c semantics.
//
// Notifications are queued by a transaction (Notify) and become visible only
// when it commits (AtCommit appends them to the shared queue in commit order,
// then wakes every listening process through its latch); AtAbort drops them.
// Within one transaction a duplicate (same channel and payload) is sent once.
// Each listening process keeps a read position and filters the queue by its
// own channels; the queue space behind the slowest listener is reused.
// A full queue makes Notify's commit fail with 54000 "too many notifications
// in the NOTIFY queue" rather than block forever.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bgw::notify {

// A notification to deliver (the protocol's NotificationResponse).
struct Notification {
  int32_t sender_pid = 0;
  std::string channel;
  std::string payload;
};

inline constexpr size_t kMaxChannelLen = 63;    // NAMEDATALEN - 1
inline constexpr size_t kMaxPayloadLen = 7999;  // PostgreSQL's limit

size_t ShmemSize(int num_slots);
void ShmemInit(int num_slots);

// This process's side; child_slot is its pmsignal slot. Listening takes
// effect at commit, as PostgreSQL's (these record the intent; AtCommit
// applies it). Errors: 22023 channel name too long / cannot be empty,
// payload too long.
Status Listen(std::string_view channel);
Status Unlisten(std::string_view channel);  // "*" = all
Status Notify(std::string_view channel, std::string_view payload);

// Transaction end. AtCommit publishes queued notifications and applies
// LISTEN/UNLISTEN; returns an error if the queue is full (nothing is sent).
Status AtCommit();
void AtAbort();

// Committed notifications for this process's channels not yet taken.
std::vector<Notification> Take();

// Stops listening (at process exit; also registered automatically on the
// first Listen).
void UnlistenAll();

}  // namespace bgw::notify
