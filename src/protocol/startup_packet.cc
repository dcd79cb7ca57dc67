// Startup-packet processing; see startup.h for the contract.
//
// Follows the order of PostgreSQL's checks exactly, because the order decides
// which error a client sees when a packet is wrong in several ways: framing
// (logged only, nothing sent), then SSL/GSS/cancel codes, then the protocol
// major version, then the parameter list (a bad "replication" value is
// reported as soon as it is met), then the layout terminator, then protocol
// negotiation, then the user name. Errors PostgreSQL raises with
// ereport(FATAL) are logged at FATAL and sent; those it raises with
// COMMERROR are logged at LOG and never sent (the client may not even speak
// the protocol).
#include "protocol/startup_packet.h"

#include <cstring>
#include <optional>
#include <utility>

#include "common/log.h"
#include "common/status.h"
#include "common/strutil.h"

namespace bgw::protocol {
namespace {

constexpr char kSqlstateProtocolViolation[] = "08P01";
constexpr char kSqlstateConnectionFailure[] = "08006";
constexpr char kSqlstateFeatureNotSupported[] = "0A000";
constexpr char kSqlstateInvalidAuthorization[] = "28000";
constexpr char kSqlstateInvalidParameterValue[] = "22023";
constexpr char kSqlstateAdminShutdown[] = "57P01";

// PostgreSQL's COMMERROR: server log only, at LOG rank.
void LogCommError(const char* sqlstate, std::string text) {
  log::Message m;
  m.level = log::Level::kLog;
  m.text = std::move(text);
  m.sqlstate = sqlstate;
  log::Emit(m);
}

StartupResult Closed(CloseReason reason) {
  StartupResult r;
  r.kind = StartupResult::Kind::kClose;
  r.close_reason = reason;
  return r;
}

// Before protocol 3.0 an error was a bare 'E' followed by one string and no
// length word. PostgreSQL still answers a 1.x/2.x client that way so that an
// old client can show why it was refused.
void SendOldStyleFatal(Connection& conn, std::string_view message, Deadline deadline) {
  conn.Out().Int8('E');
  conn.Out().String("FATAL:  " + std::string(message) + "\n");
  (void)conn.Flush(deadline);
}

// ereport(FATAL) during startup: to the log and to the client.
StartupResult Reject(Connection& conn, Deadline deadline, ErrorFields fields,
                     bool old_protocol = false) {
  fields.severity = "FATAL";
  log::Message m;
  m.level = log::Level::kFatal;
  m.text = fields.message;
  m.detail = fields.detail;
  m.hint = fields.hint;
  m.sqlstate = fields.sqlstate;
  log::Emit(m);
  if (old_protocol) {
    SendOldStyleFatal(conn, fields.message, deadline);
  } else {
    (void)SendError(conn, fields, deadline);
  }
  return Closed(CloseReason::kRejected);
}

StartupResult PostmasterDied(Connection& conn, Deadline deadline) {
  // Sending cannot hang: Flush() sends what the socket takes at once and its
  // wait sees the (already readable) death fd immediately.
  StartupResult r = Reject(conn, deadline,
                           {"", kSqlstateAdminShutdown,
                            "terminating connection due to unexpected postmaster exit", "", ""});
  r.close_reason = CloseReason::kPostmasterDied;
  return r;
}

// A read of the startup packet failed. `incomplete` = the client sent part
// of a packet, which is worth a log line; no bytes at all is not.
StartupResult ReadFailed(Connection& conn, const Status& st, Deadline deadline, bool incomplete) {
  switch (IoCodeOf(st)) {
    case IoCode::kTimeout:
      // authentication_timeout: PostgreSQL just exits, telling nobody.
      return Closed(CloseReason::kTimeout);
    case IoCode::kPostmasterDied:
      return PostmasterDied(conn, deadline);
    case IoCode::kError:
      LogCommError(kSqlstateConnectionFailure, st.message());
      break;
    default:
      break;
  }
  if (incomplete) LogCommError(kSqlstateProtocolViolation, "incomplete startup packet");
  return Closed(CloseReason::kClientGone);
}

// Answers 'N' to an SSLRequest or GSSENCRequest: no encryption here.
// Returns a result only if the connection must close.
std::optional<StartupResult> RefuseEncryption(Connection& conn, Deadline deadline,
                                              const char* layer) {
  conn.Out().Int8('N');
  Status st = conn.Flush(deadline);
  if (!st) {
    switch (IoCodeOf(st)) {
      case IoCode::kTimeout:
        return Closed(CloseReason::kTimeout);
      case IoCode::kPostmasterDied:
        return PostmasterDied(conn, deadline);
      default:
        LogCommError(kSqlstateConnectionFailure,
                     StringPrintf("failed to send %s negotiation response: %s", layer,
                                  ErrnoText(st.sys_errno()).c_str()));
        return Closed(CloseReason::kClientGone);
    }
  }
  // Bytes that arrived before our answer were sent in the clear before the
  // client knew whether encryption would follow: either a broken client or
  // an injection attempt. Refuse rather than parse them.
  if (conn.BufferedInput() > 0) {
    return Reject(conn, deadline,
                  {"", kSqlstateProtocolViolation,
                   std::strcmp(layer, "SSL") == 0
                       ? "received unencrypted data after SSL request"
                       : "received unencrypted data after GSSAPI encryption request",
                   "The client sent data before reading the server's answer to its encryption "
                   "request; this is either a client bug or a man-in-the-middle attack.",
                   ""});
  }
  return std::nullopt;
}

// PostgreSQL's parse_bool: case-insensitive, any non-empty prefix of
// true/false/yes/no, "on", "of"/"off" (two letters needed), "1", "0".
std::optional<bool> ParseBool(std::string_view v) {
  auto prefix_of = [&v](std::string_view word, size_t min_len) {
    return v.size() >= min_len && v.size() <= word.size() &&
           EqualsIgnoreCase(v, word.substr(0, v.size()));
  };
  if (prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2)) return true;
  if (prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2)) return false;
  if (v == "1") return true;
  if (v == "0") return false;
  return std::nullopt;
}

// PostgreSQL (13-15) pg_clean_ascii: keep printable ASCII, '?' elsewhere, so
// the name is safe to print in the log.
std::string CleanAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c < 32 || c > 126) c = '?';
  }
  return out;
}

void TruncateName(std::string& name) {
  if (name.size() >= kNameDataLen) name.resize(kNameDataLen - 1);
}

StartupResult ParseStartupMessage(Connection& conn, Deadline deadline, uint32_t proto,
                                  MessageReader& reader) {
  uint32_t major = ProtocolMajor(proto);
  if (major != ProtocolMajor(kProtocolLatest)) {
    return Reject(
        conn, deadline,
        {"", kSqlstateFeatureNotSupported,
         StringPrintf("unsupported frontend protocol %u.%u: server supports %u.0 to %u.%u", major,
                      ProtocolMinor(proto), ProtocolMajor(kProtocolLatest),
                      ProtocolMajor(kProtocolLatest), ProtocolMinor(kProtocolLatest)),
         "", ""},
        /*old_protocol=*/major < 3);
  }

  const ErrorFields bad_layout = {"", kSqlstateProtocolViolation,
                                  "invalid startup packet layout: expected terminator as last byte",
                                  "", ""};

  StartupResult r;
  r.requested_protocol = proto;
  for (;;) {
    if (reader.Remaining() == 0) return Reject(conn, deadline, bad_layout);
    Result<std::string_view> name = reader.String();
    if (!name.ok()) return Reject(conn, deadline, bad_layout);
    if (name->empty()) {
      // The terminator must be the packet's last byte.
      if (reader.Remaining() != 0) return Reject(conn, deadline, bad_layout);
      break;
    }
    if (reader.Remaining() == 0) return Reject(conn, deadline, bad_layout);
    // A value running to the end of the packet without its NUL is still
    // looked at, and the layout refused on the next round (nothing is left):
    // PostgreSQL does the same, so an invalid "replication" value wins over
    // the layout error.
    std::string_view value;
    Result<std::string_view> terminated = reader.String();
    if (terminated.ok()) {
      value = *terminated;
    } else {
      Result<std::span<const uint8_t>> rest = reader.Bytes(reader.Remaining());
      value = std::string_view(reinterpret_cast<const char*>(rest->data()), rest->size());
    }

    if (*name == "database") {
      r.database = std::string(value);
    } else if (*name == "user") {
      r.user = std::string(value);
    } else if (*name == "options") {
      r.options = std::string(value);
    } else if (*name == "replication") {
      if (value == "database") {
        r.replication = ReplicationMode::kLogical;
      } else if (std::optional<bool> b = ParseBool(value)) {
        r.replication = *b ? ReplicationMode::kPhysical : ReplicationMode::kNone;
      } else {
        return Reject(conn, deadline,
                      {"", kSqlstateInvalidParameterValue,
                       StringPrintf("invalid value for parameter \"replication\": \"%.*s\"",
                                    static_cast<int>(value.size()), value.data()),
                       "", "Valid values are: \"false\", 0, \"true\", 1, \"database\"."});
      }
    } else if (StartsWith(*name, "_pq_.")) {
      // Reserved for protocol extensions; we implement none.
      r.unrecognized_protocol_options.emplace_back(*name);
    } else {
      r.params.insert_or_assign(std::string(*name), std::string(value));
      if (*name == "application_name") r.application_name = CleanAscii(value);
    }
  }

  // A newer 3.x client, or one offering protocol options: tell it what we
  // speak and carry on in 3.0. Queued, not flushed: an answer always follows.
  if (ProtocolMinor(proto) > ProtocolMinor(kProtocolLatest) ||
      !r.unrecognized_protocol_options.empty()) {
    conn.Out().NegotiateProtocolVersion(kProtocolLatest, r.unrecognized_protocol_options);
  }

  if (r.user.empty()) {
    return Reject(conn, deadline,
                  {"", kSqlstateInvalidAuthorization,
                   "no PostgreSQL user name specified in startup packet", "", ""});
  }
  if (r.database.empty()) r.database = r.user;
  // Longer names could never match a catalog entry; cutting them lets the
  // lookup fail (or succeed) the way PostgreSQL's would.
  TruncateName(r.user);
  TruncateName(r.database);
  // A physical walsender is not connected to any database.
  if (r.replication == ReplicationMode::kPhysical) r.database.clear();

  r.kind = StartupResult::Kind::kStartup;
  return r;
}

uint32_t BigEndian32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

}  // namespace

Status SendError(Connection& conn, const ErrorFields& fields, Deadline deadline) {
  conn.Out().ErrorResponse(fields);
  return conn.Flush(deadline);
}

Status SendFatal(Connection& conn, std::string_view sqlstate, std::string_view message,
                 std::string_view detail, std::string_view hint) {
  ErrorFields f{"FATAL", std::string(sqlstate), std::string(message), std::string(detail),
                std::string(hint)};
  return SendError(conn, f, kNoDeadline);
}

StartupResult ProcessStartupPacket(Connection& conn, const StartupOptions& opts) {
  const Deadline deadline = opts.deadline;
  // Each of SSL and GSS may be refused once; the client may then try the
  // other, in either order. A repeated request falls through to the version
  // check below and is refused as an unsupported protocol (1234.5679 or
  // 1234.5680), as in PostgreSQL.
  bool ssl_done = false;
  bool gss_done = false;
  for (;;) {
    // The first byte alone tells "nothing at all" (routine: monitoring
    // probes, a client that disliked our 'N') from a partial length word.
    uint8_t len_word[4];
    Status st = conn.ReadExact(len_word, 1, deadline);
    if (!st) return ReadFailed(conn, st, deadline, /*incomplete=*/false);
    st = conn.ReadExact(len_word + 1, 3, deadline);
    if (!st) return ReadFailed(conn, st, deadline, /*incomplete=*/!ssl_done && !gss_done);

    // The length counts itself; the body must hold at least the version.
    int64_t body_len = static_cast<int64_t>(BigEndian32(len_word)) - 4;
    if (body_len < 4 || body_len > static_cast<int64_t>(kMaxStartupPacketLength)) {
      LogCommError(kSqlstateProtocolViolation, "invalid length of startup packet");
      return Closed(CloseReason::kBadPacket);
    }
    std::vector<uint8_t> packet(static_cast<size_t>(body_len));
    st = conn.ReadExact(packet.data(), packet.size(), deadline);
    if (!st) return ReadFailed(conn, st, deadline, /*incomplete=*/true);

    MessageReader reader(packet);
    uint32_t proto = static_cast<uint32_t>(*reader.Int32());  // body_len >= 4

    if (proto == kCancelRequestCode) {
      // Code, pid and key: exactly 12 bytes. Nothing is ever sent back.
      Result<int32_t> pid = reader.Int32();
      Result<int32_t> key = reader.Int32();
      if (!pid.ok() || !key.ok() || !reader.ExpectEnd().ok()) {
        LogCommError(kSqlstateProtocolViolation, "invalid length of startup packet");
        return Closed(CloseReason::kBadPacket);
      }
      StartupResult r;
      r.kind = StartupResult::Kind::kCancel;
      r.cancel_pid = static_cast<uint32_t>(*pid);
      r.cancel_key = static_cast<uint32_t>(*key);
      return r;
    }
    if (proto == kSslRequestCode && !ssl_done) {
      if (auto closed = RefuseEncryption(conn, deadline, "SSL")) return std::move(*closed);
      ssl_done = true;
      continue;
    }
    if (proto == kGssEncRequestCode && !gss_done) {
      if (auto closed = RefuseEncryption(conn, deadline, "GSSAPI")) return std::move(*closed);
      gss_done = true;
      continue;
    }
    return ParseStartupMessage(conn, deadline, proto, reader);
  }
}

}  // namespace bgw::protocol
