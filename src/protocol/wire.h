// PostgreSQL v3 wire framing: building backend messages, parsing received
// message bodies, and the backend's socket with its send and receive buffers.
//
// Shaped for the whole protocol, not only the startup packet: MessageWriter
// frames any number of messages into one buffer (one send per round trip, as
// pqcomm.c does), MessageReader is the only place that decodes untrusted bytes
// (every read is bounds-checked and fails as a value), and Connection is the
// only place that touches the client socket. Connection's waits include the
// postmaster-death pipe and an absolute deadline, so a backend blocked on a
// silent client still notices a dead postmaster or an expired
// authentication_timeout at once, without polling on a tick.
//
// Everything here runs in a client backend process (after fork); nothing is
// shared between processes and nothing here is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "port/unique_fd.h"

namespace bgw::protocol {

// An absolute point in time after which a wait gives up; nullopt = wait forever.
using Deadline = std::optional<std::chrono::steady_clock::time_point>;
inline constexpr Deadline kNoDeadline = std::nullopt;

// Fields of ErrorResponse / NoticeResponse. Empty detail and hint are omitted.
struct ErrorFields {
  std::string severity;  // "ERROR", "FATAL", "PANIC", "WARNING", "NOTICE", ...
  std::string sqlstate;  // five characters, e.g. "08P01"
  std::string message;
  std::string detail;
  std::string hint;
};

// One RowDescription field. `format` is 0 (text) or 1 (binary).
struct FieldDescription {
  std::string_view name;
  uint32_t table_oid = 0;
  int16_t attnum = 0;
  uint32_t type_oid = 0;
  int16_t type_len = -1;
  int32_t type_mod = -1;
  int16_t format = 0;
};

// Builds outgoing bytes. Begin(type) ... End() frames one message (type byte,
// then an Int32 length that End() patches). The field appenders may also be
// used outside Begin/End to emit raw bytes (the single 'N' answer to an
// SSLRequest has no framing). Misuse (nested Begin, End without Begin) is a
// programming error: it is logged at PANIC and aborts the process (there is
// no project-wide internal-error hook yet; see wire.cc).
class MessageWriter {
 public:
  void Begin(char type);
  // Starts a message with no type byte (the startup-packet family: length word
  // first). Used by clients and tests; the backend never sends one.
  void BeginUntyped();
  void Int8(uint8_t v);
  void Int16(int16_t v);
  void Int32(int32_t v);
  void String(std::string_view s);  // appends s and a NUL; s must not contain NUL
  void Bytes(std::span<const uint8_t> bytes);
  void End();

  // Whole backend messages.
  void ErrorResponse(const ErrorFields& fields);                        // 'E'
  void NoticeResponse(const ErrorFields& fields);                       // 'N'
  void ReadyForQuery(char status);                                      // 'Z': 'I', 'T' or 'E'
  void ParameterStatus(std::string_view name, std::string_view value);  // 'S'
  void BackendKeyData(uint32_t pid, uint32_t key);                      // 'K'
  void AuthenticationOk();                                              // 'R', 0
  // 'v': the newest protocol version we speak (full major<<16|minor number, as
  // PostgreSQL sends it) and the protocol options (_pq_.*) we did not accept.
  void NegotiateProtocolVersion(uint32_t newest_version,
                                std::span<const std::string> unrecognized_options);

  // The query cycle.
  void RowDescription(std::span<const FieldDescription> fields);  // 'T'
  // 'D': one value per column, nullopt = NULL (length -1).
  void DataRow(std::span<const std::optional<std::string>> values);
  void CommandComplete(std::string_view tag);                      // 'C'
  void EmptyQueryResponse();                                       // 'I'
  void ParseComplete();                                            // '1'
  void BindComplete();                                             // '2'
  void CloseComplete();                                            // '3'
  void NoData();                                                   // 'n'
  void PortalSuspended();                                          // 's'
  void ParameterDescription(std::span<const uint32_t> type_oids);  // 't'
  void NotificationResponse(int32_t sender_pid, std::string_view channel,
                            std::string_view payload);  // 'A'

  std::span<const uint8_t> Buffer() const { return buf_; }
  size_t size() const { return buf_.size(); }
  bool empty() const { return buf_.empty(); }
  bool InMessage() const { return open_.has_value(); }
  // Drops everything, including a half-built message.
  void Clear();

 private:
  void ErrorOrNotice(char type, const ErrorFields& fields);

  std::vector<uint8_t> buf_;
  std::optional<size_t> open_;  // offset of the open message's length word
};

// Reads a received message body front to back. Every read checks bounds: a
// read that does not fit fails with a Status ("insufficient data left in
// message", PostgreSQL's wording) and leaves the cursor where it was. The
// reader does not own the bytes; they must outlive it and every string_view
// or span it returned.
class MessageReader {
 public:
  explicit MessageReader(std::span<const uint8_t> body) : body_(body) {}

  Result<uint8_t> Int8();
  Result<int16_t> Int16();
  Result<int32_t> Int32();
  // A NUL-terminated string; the view excludes the NUL. Fails if no NUL
  // occurs before the end of the body.
  Result<std::string_view> String();
  Result<std::span<const uint8_t>> Bytes(size_t n);

  size_t Remaining() const { return body_.size() - pos_; }
  // Fails ("invalid message format") unless the whole body was consumed.
  Status ExpectEnd() const;

 private:
  std::span<const uint8_t> body_;
  size_t pos_ = 0;
};

// Socket I/O reports failure as a Status whose SQLSTATE says why, because
// callers react differently: a client gone (kEof) or a timeout are routine
// and often silent, a dead postmaster ends the process, a socket error is
// logged. IoCodeOf() classifies such a Status; IoError() makes one.
enum class IoCode {
  kOk,
  kEof,                // the client closed the connection (08006, errno 0)
  kTimeout,            // the deadline passed (57014)
  kPostmasterDied,     // the death fd became readable or hung up (57P01)
  kError,              // a socket error: sys_errno says which
  kProtocolViolation,  // framing the client sent is invalid (08P01)
};

// A Status for `code` (not kOk; kError needs the errno behind it).
Status IoError(IoCode code, std::string message, int sys_errno = 0);
// What kind of I/O failure `status` (from a Connection) is.
IoCode IoCodeOf(const Status& status);

// One typed frontend message as read by Connection::ReadMessage.
struct FrontendMessage {
  char type = 0;
  std::vector<uint8_t> body;  // after the length word
};

// The backend's end of a client connection.
//
// Owns the socket (closed on destruction). The socket may be blocking or
// not: every receive and send is MSG_DONTWAIT and waits happen in ppoll(),
// on the socket and on the postmaster-death fd, bounded by the caller's
// deadline. EINTR is retried; the remaining time is recomputed each round,
// so signals neither shorten nor extend a wait. Sends use MSG_NOSIGNAL: a
// vanished client is an error value, never SIGPIPE.
//
// Input is buffered (like pqcomm.c's PqRecvBuffer), so one recv() may bring
// in bytes beyond the current read; BufferedInput() exposes that, which the
// startup code needs to spot data that arrived before an encryption answer.
class Connection {
 public:
  // Takes ownership of `socket`. `postmaster_death_fd` is borrowed (-1 for
  // none): the read end of the postmaster-death pipe, which must stay open
  // as long as this Connection waits on it. Readable or hung up = dead.
  explicit Connection(UniqueFd socket, int postmaster_death_fd = -1);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return socket_.get(); }

  // The send buffer. Messages accumulate until Flush().
  MessageWriter& Out() { return out_; }

  // Sends everything in Out(). On any failure the unsent bytes are dropped
  // (the connection is not usable for protocol traffic afterwards). A message
  // still open in Out() is a broken invariant.
  Status Flush(Deadline deadline = kNoDeadline);

  // Reads exactly n bytes into dst. Buffered bytes are used first and a wait
  // happens only when the socket has nothing, so data already received wins
  // over a postmaster death noticed at the same moment. On failure the bytes
  // read so far are consumed and lost.
  Status ReadExact(void* dst, size_t n, Deadline deadline);

  // Reads one typed message (type byte, Int32 length including itself, body).
  // A length below 4 or a body above max_body_len is kProtocolViolation
  // ("invalid message length") and nothing beyond the length word is read,
  // so a hostile length never causes a large allocation.
  Status ReadMessage(FrontendMessage* out, size_t max_body_len, Deadline deadline);
  // The same with a limit that depends on the message type, as PostgreSQL's
  // backend has (large for Query/Parse/Bind, small for the rest). The type
  // is stored in out->type as soon as it is read; `max_body_len_for(type)`
  // returning nullopt rejects the type itself (kProtocolViolation, "invalid
  // frontend message type N") before its length word is read.
  Status ReadMessage(FrontendMessage* out, std::optional<size_t> (*max_body_len_for)(char type),
                     Deadline deadline);

  // Bytes received from the socket but not yet consumed by a read.
  size_t BufferedInput() const { return in_end_ - in_begin_; }

 private:
  // Waits until the socket is ready for `events` (POLLIN/POLLOUT).
  Status Wait(short events, Deadline deadline);
  // Receives whatever is available into the empty input buffer.
  Status Fill(Deadline deadline);
  // ReadMessage after the type byte: the length word and the body.
  Status ReadMessageRest(char type, FrontendMessage* out, size_t max_body_len, Deadline deadline);

  UniqueFd socket_;
  int death_fd_;
  MessageWriter out_;
  std::vector<uint8_t> in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
};

}  // namespace bgw::protocol
