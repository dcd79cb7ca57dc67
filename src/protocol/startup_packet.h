// The backend's first conversation with a client: the startup packet.
//
// After the postmaster accepts a connection and forks a backend, the backend
// reads the startup-packet family (SSLRequest, GSSENCRequest, CancelRequest,
// StartupMessage) with PostgreSQL's semantics, so every libpq-based client and
// driver behaves as it would against PostgreSQL: same answers, same error
// codes and texts, same silence where PostgreSQL is silent (a client that
// connects and leaves, an expired authentication_timeout).
//
// It is one function returning a value, not a state machine spread over the
// backend's main loop, because the whole exchange is a short sequence that
// ends in one of three outcomes: close, cancel, or a session to authenticate.
// What happens next (cancel signalling, refusing connections while the server
// starts or stops, authentication) belongs to the caller.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocol/wire.h"

namespace bgw::protocol {

// Protocol version numbers are major << 16 | minor.
constexpr uint32_t ProtocolVersion(uint32_t major, uint32_t minor) { return major << 16 | minor; }
constexpr uint32_t ProtocolMajor(uint32_t v) { return v >> 16; }
constexpr uint32_t ProtocolMinor(uint32_t v) { return v & 0xffff; }

inline constexpr uint32_t kProtocolLatest = ProtocolVersion(3, 0);
inline constexpr uint32_t kCancelRequestCode = ProtocolVersion(1234, 5678);
inline constexpr uint32_t kSslRequestCode = ProtocolVersion(1234, 5679);
inline constexpr uint32_t kGssEncRequestCode = ProtocolVersion(1234, 5680);

// PostgreSQL's MAX_STARTUP_PACKET_LENGTH: the longest packet body accepted,
// not counting the length word itself (so the length word may say 10004).
inline constexpr size_t kMaxStartupPacketLength = 10000;
// PostgreSQL's NAMEDATALEN: user and database names are cut to 63 bytes.
inline constexpr size_t kNameDataLen = 64;

struct StartupOptions {
  // authentication_timeout as an absolute time: covers the whole exchange,
  // including SSL/GSS answers. On expiry the connection closes silently.
  Deadline deadline = kNoDeadline;
};

// The "replication" startup parameter.
enum class ReplicationMode {
  kNone,      // absent or false: a normal backend
  kPhysical,  // true: a walsender not connected to a database (database = "")
  kLogical,   // "database": a walsender connected to `database`
};

// Why a kClose result closed. Informational: whatever PostgreSQL would log or
// send for it has already been logged or sent.
enum class CloseReason {
  kNone,            // not closed
  kClientGone,      // EOF or socket error (an incomplete packet is logged)
  kTimeout,         // the deadline passed (nothing logged, nothing sent)
  kPostmasterDied,  // FATAL logged and sent, best effort
  kBadPacket,       // malformed framing: logged, nothing sent (COMMERROR)
  kRejected,        // a FATAL ErrorResponse was logged and sent
};

struct StartupResult {
  enum class Kind { kClose, kCancel, kStartup };
  Kind kind = Kind::kClose;
  CloseReason close_reason = CloseReason::kNone;

  // kCancel: the target backend and its secret key, unchecked. (PostgreSQL
  // ignores a request for pid 0.)
  uint32_t cancel_pid = 0;
  uint32_t cancel_key = 0;

  // kStartup: the protocol version the client asked for (we speak 3.0).
  uint32_t requested_protocol = 0;
  std::string user;              // non-empty, at most 63 bytes
  std::string database;          // defaults to user; "" for physical replication
  std::string application_name;  // non-printable-ASCII bytes replaced by '?'
  std::string options;           // the raw "options" parameter (command-line switches)
  ReplicationMode replication = ReplicationMode::kNone;
  // Every other parameter as sent (GUC settings, application_name included
  // unaltered); a repeated name keeps its last value, as applying them in
  // order would.
  std::map<std::string, std::string> params;
  // "_pq_." protocol options, none of which we support: they were reported
  // back to the client in NegotiateProtocolVersion.
  std::vector<std::string> unrecognized_protocol_options;
};

// Reads and answers the startup packet(s) on a freshly accepted connection.
// Client backend only, before authentication.
//
// Never throws and never exits: every failure is a kClose result, after
// logging and answering the way PostgreSQL does (see CloseReason). On
// kStartup, conn.Out() may hold an unflushed NegotiateProtocolVersion message
// that the caller's next Flush() sends along with its own answer.
StartupResult ProcessStartupPacket(Connection& conn, const StartupOptions& opts);

// Sends an ErrorResponse with severity FATAL and flushes it, best effort: the
// connection is about to close, so a failure is returned but rarely useful.
// It only sends; logging the error is the caller's business.
Status SendFatal(Connection& conn, std::string_view sqlstate, std::string_view message,
                 std::string_view detail = {}, std::string_view hint = {});
// The same with a deadline on the flush.
Status SendError(Connection& conn, const ErrorFields& fields, Deadline deadline);

}  // namespace bgw::protocol
