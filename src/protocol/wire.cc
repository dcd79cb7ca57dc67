// Wire framing and the backend socket; see wire.h for the contracts.
//
// All integers on the wire are big-endian; they are assembled byte by byte so
// the code is independent of host order and alignment. All waiting funnels
// through Connection::Wait(), the one place that knows about deadlines, EINTR
// and the postmaster-death fd.
#include "protocol/wire.h"

#include "common/internal_error.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "common/log.h"

namespace bgw::protocol {
namespace {

// Same size as PostgreSQL's PQ_RECV_BUFFER_SIZE: big enough that a typical
// startup packet or query arrives in one recv().
constexpr size_t kRecvBufferSize = 8192;

// A bug in our own code, not bad input.
[[noreturn]] void BrokenInvariant(const char* what) {
  BGW_INTERNAL_ERROR("protocol invariant broken: %s", what);
}

void PutBE32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t GetBE32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

Status InsufficientData() { return Status::Error("insufficient data left in message"); }

Status ErrnoStatus(const char* what, int err) {
  return Status::FromErrno(what, err, ErrnoSource::kSocket);
}

}  // namespace

Status IoError(IoCode code, std::string message, int sys_errno) {
  const char* sqlstate = "08006";
  switch (code) {
    case IoCode::kOk:
    case IoCode::kEof:
      break;
    case IoCode::kTimeout:
      sqlstate = "57014";
      break;
    case IoCode::kPostmasterDied:
      sqlstate = "57P01";
      break;
    case IoCode::kError:
      sqlstate = SqlstateForErrno(sys_errno, ErrnoSource::kSocket);
      break;
    case IoCode::kProtocolViolation:
      sqlstate = "08P01";
      break;
  }
  ErrorReport e = MakeError(sqlstate, std::move(message));
  e.sys_errno = sys_errno;
  return e;
}

IoCode IoCodeOf(const Status& status) {
  if (status.ok()) return IoCode::kOk;
  if (status.sys_errno() != 0) return IoCode::kError;
  const std::string& s = status.sqlstate();
  if (s == "08006") return IoCode::kEof;
  if (s == "57014") return IoCode::kTimeout;
  if (s == "57P01") return IoCode::kPostmasterDied;
  if (s == "08P01") return IoCode::kProtocolViolation;
  return IoCode::kError;
}

// ---------------------------------------------------------------------------
// MessageWriter

void MessageWriter::Begin(char type) {
  if (open_) BrokenInvariant("MessageWriter::Begin inside an open message");
  buf_.push_back(static_cast<uint8_t>(type));
  open_ = buf_.size();
  buf_.resize(buf_.size() + 4);
}

void MessageWriter::BeginUntyped() {
  if (open_) BrokenInvariant("MessageWriter::BeginUntyped inside an open message");
  open_ = buf_.size();
  buf_.resize(buf_.size() + 4);
}

void MessageWriter::Int8(uint8_t v) { buf_.push_back(v); }

void MessageWriter::Int16(int16_t v) {
  uint16_t u = static_cast<uint16_t>(v);
  buf_.push_back(static_cast<uint8_t>(u >> 8));
  buf_.push_back(static_cast<uint8_t>(u));
}

void MessageWriter::Int32(int32_t v) {
  size_t at = buf_.size();
  buf_.resize(at + 4);
  PutBE32(buf_.data() + at, static_cast<uint32_t>(v));
}

void MessageWriter::String(std::string_view s) {
  // An embedded NUL would end the string early on the receiving side and
  // shift every later field; cut there so the frame stays well-formed.
  s = s.substr(0, s.find('\0'));
  buf_.insert(buf_.end(), s.begin(), s.end());
  buf_.push_back(0);
}

void MessageWriter::Bytes(std::span<const uint8_t> bytes) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

void MessageWriter::End() {
  if (!open_) BrokenInvariant("MessageWriter::End without Begin");
  size_t len = buf_.size() - *open_;
  if (len > static_cast<size_t>(INT32_MAX)) BrokenInvariant("message longer than 2^31-1 bytes");
  PutBE32(buf_.data() + *open_, static_cast<uint32_t>(len));
  open_.reset();
}

void MessageWriter::Clear() {
  buf_.clear();
  open_.reset();
}

void MessageWriter::ErrorOrNotice(char type, const ErrorFields& f) {
  Begin(type);
  Int8('S');
  String(f.severity);
  // 'V' is the never-translated severity (protocol 3.0, PostgreSQL 9.6+).
  // We do not translate, so both carry the same text.
  Int8('V');
  String(f.severity);
  Int8('C');
  String(f.sqlstate);
  Int8('M');
  String(f.message);
  if (!f.detail.empty()) {
    Int8('D');
    String(f.detail);
  }
  if (!f.hint.empty()) {
    Int8('H');
    String(f.hint);
  }
  Int8(0);
  End();
}

void MessageWriter::ErrorResponse(const ErrorFields& fields) { ErrorOrNotice('E', fields); }

void MessageWriter::NoticeResponse(const ErrorFields& fields) { ErrorOrNotice('N', fields); }

void MessageWriter::ReadyForQuery(char status) {
  Begin('Z');
  Int8(static_cast<uint8_t>(status));
  End();
}

void MessageWriter::ParameterStatus(std::string_view name, std::string_view value) {
  Begin('S');
  String(name);
  String(value);
  End();
}

void MessageWriter::BackendKeyData(uint32_t pid, uint32_t key) {
  Begin('K');
  Int32(static_cast<int32_t>(pid));
  Int32(static_cast<int32_t>(key));
  End();
}

void MessageWriter::AuthenticationOk() {
  Begin('R');
  Int32(0);
  End();
}

void MessageWriter::NegotiateProtocolVersion(uint32_t newest_version,
                                             std::span<const std::string> unrecognized_options) {
  Begin('v');
  Int32(static_cast<int32_t>(newest_version));
  Int32(static_cast<int32_t>(unrecognized_options.size()));
  for (const std::string& name : unrecognized_options) String(name);
  End();
}

void MessageWriter::RowDescription(std::span<const FieldDescription> fields) {
  Begin('T');
  Int16(static_cast<int16_t>(fields.size()));
  for (const FieldDescription& f : fields) {
    String(f.name);
    Int32(static_cast<int32_t>(f.table_oid));
    Int16(f.attnum);
    Int32(static_cast<int32_t>(f.type_oid));
    Int16(f.type_len);
    Int32(f.type_mod);
    Int16(f.format);
  }
  End();
}

void MessageWriter::DataRow(std::span<const std::optional<std::string>> values) {
  Begin('D');
  Int16(static_cast<int16_t>(values.size()));
  for (const std::optional<std::string>& v : values) {
    if (!v) {
      Int32(-1);
      continue;
    }
    if (v->size() > static_cast<size_t>(INT32_MAX)) BrokenInvariant("DataRow value too long");
    Int32(static_cast<int32_t>(v->size()));
    Bytes(std::span(reinterpret_cast<const uint8_t*>(v->data()), v->size()));
  }
  End();
}

void MessageWriter::CommandComplete(std::string_view tag) {
  Begin('C');
  String(tag);
  End();
}

void MessageWriter::EmptyQueryResponse() {
  Begin('I');
  End();
}

void MessageWriter::ParseComplete() {
  Begin('1');
  End();
}

void MessageWriter::BindComplete() {
  Begin('2');
  End();
}

void MessageWriter::CloseComplete() {
  Begin('3');
  End();
}

void MessageWriter::NoData() {
  Begin('n');
  End();
}

void MessageWriter::PortalSuspended() {
  Begin('s');
  End();
}

void MessageWriter::ParameterDescription(std::span<const uint32_t> type_oids) {
  Begin('t');
  Int16(static_cast<int16_t>(type_oids.size()));
  for (uint32_t t : type_oids) Int32(static_cast<int32_t>(t));
  End();
}

void MessageWriter::NotificationResponse(int32_t sender_pid, std::string_view channel,
                                         std::string_view payload) {
  Begin('A');
  Int32(sender_pid);
  String(channel);
  String(payload);
  End();
}

// ---------------------------------------------------------------------------
// MessageReader

Result<uint8_t> MessageReader::Int8() {
  if (Remaining() < 1) return InsufficientData();
  return body_[pos_++];
}

Result<int16_t> MessageReader::Int16() {
  if (Remaining() < 2) return InsufficientData();
  uint16_t u = static_cast<uint16_t>((body_[pos_] << 8) | body_[pos_ + 1]);
  pos_ += 2;
  return static_cast<int16_t>(u);
}

Result<int32_t> MessageReader::Int32() {
  if (Remaining() < 4) return InsufficientData();
  uint32_t u = GetBE32(body_.data() + pos_);
  pos_ += 4;
  return static_cast<int32_t>(u);
}

Result<std::string_view> MessageReader::String() {
  auto rest = body_.subspan(pos_);
  auto nul = std::find(rest.begin(), rest.end(), uint8_t{0});
  if (nul == rest.end()) return Status::Error("invalid string in message");
  size_t len = static_cast<size_t>(nul - rest.begin());
  std::string_view s(reinterpret_cast<const char*>(rest.data()), len);
  pos_ += len + 1;
  return s;
}

Result<std::span<const uint8_t>> MessageReader::Bytes(size_t n) {
  if (Remaining() < n) return InsufficientData();
  auto s = body_.subspan(pos_, n);
  pos_ += n;
  return s;
}

Status MessageReader::ExpectEnd() const {
  if (Remaining() != 0) return Status::Error("invalid message format");
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Connection

Connection::Connection(UniqueFd socket, int postmaster_death_fd)
    : socket_(std::move(socket)), death_fd_(postmaster_death_fd), in_(kRecvBufferSize) {}

Status Connection::Wait(short events, Deadline deadline) {
  pollfd fds[2] = {{socket_.get(), events, 0}, {death_fd_, POLLIN, 0}};
  nfds_t nfds = death_fd_ >= 0 ? 2 : 1;
  for (;;) {
    timespec ts{};
    timespec* timeout = nullptr;
    if (deadline) {
      auto now = std::chrono::steady_clock::now();
      if (now >= *deadline) return IoError(IoCode::kTimeout, "timeout waiting for client");
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - now).count();
      ts.tv_sec = static_cast<time_t>(left / 1000000000);
      ts.tv_nsec = static_cast<long>(left % 1000000000);
      timeout = &ts;
    }
    int n = ppoll(fds, nfds, timeout, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;  // the deadline is recomputed above
      return ErrnoStatus("could not wait for client socket", errno);
    }
    if (n == 0) continue;  // timed out: the check at the top reports it
    // POLLIN, POLLHUP, POLLERR (and POLLNVAL, a caller bug) all mean the
    // postmaster's end is gone or unusable: treat it as death, the safe side.
    if (nfds == 2 && fds[1].revents != 0) {
      return IoError(IoCode::kPostmasterDied, "postmaster died");
    }
    // Error and hang-up conditions on the socket are left for the following
    // recv()/send() to report with a proper errno or EOF.
    if (fds[0].revents != 0) return Status::Ok();
  }
}

Status Connection::Fill(Deadline deadline) {
  in_begin_ = in_end_ = 0;
  for (;;) {
    ssize_t n = recv(socket_.get(), in_.data(), in_.size(), MSG_DONTWAIT);
    if (n > 0) {
      in_end_ = static_cast<size_t>(n);
      return Status::Ok();
    }
    if (n == 0) return IoError(IoCode::kEof, "unexpected EOF on client connection");
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      Status st = Wait(POLLIN, deadline);
      if (!st) return st;
      continue;
    }
    return ErrnoStatus("could not receive data from client", err);
  }
}

Status Connection::ReadExact(void* dst, size_t n, Deadline deadline) {
  uint8_t* p = static_cast<uint8_t*>(dst);
  while (n > 0) {
    if (BufferedInput() == 0) {
      Status st = Fill(deadline);
      if (!st) return st;
    }
    size_t take = std::min(n, BufferedInput());
    std::memcpy(p, in_.data() + in_begin_, take);
    in_begin_ += take;
    p += take;
    n -= take;
  }
  return Status::Ok();
}

Status Connection::ReadMessage(FrontendMessage* out, size_t max_body_len, Deadline deadline) {
  uint8_t type = 0;
  Status st = ReadExact(&type, 1, deadline);
  if (!st) return st;
  return ReadMessageRest(static_cast<char>(type), out, max_body_len, deadline);
}

Status Connection::ReadMessage(FrontendMessage* out,
                               std::optional<size_t> (*max_body_len_for)(char type),
                               Deadline deadline) {
  uint8_t type = 0;
  Status st = ReadExact(&type, 1, deadline);
  if (!st) return st;
  out->type = static_cast<char>(type);
  std::optional<size_t> max = max_body_len_for(static_cast<char>(type));
  if (!max) {
    return IoError(IoCode::kProtocolViolation,
                   "invalid frontend message type " + std::to_string(type));
  }
  return ReadMessageRest(static_cast<char>(type), out, *max, deadline);
}

Status Connection::ReadMessageRest(char type, FrontendMessage* out, size_t max_body_len,
                                   Deadline deadline) {
  Status st;
  uint8_t len_word[4];
  st = ReadExact(len_word, sizeof len_word, deadline);
  if (!st) {
    if (IoCodeOf(st) == IoCode::kEof) {
      return IoError(IoCode::kEof, "unexpected EOF within message length word");
    }
    return st;
  }
  uint32_t len = GetBE32(len_word);
  if (len < 4 || len - 4 > max_body_len) {
    return IoError(IoCode::kProtocolViolation, "invalid message length");
  }
  out->type = type;
  out->body.resize(len - 4);
  st = ReadExact(out->body.data(), out->body.size(), deadline);
  if (!st && IoCodeOf(st) == IoCode::kEof) {
    return IoError(IoCode::kEof, "incomplete message from client");
  }
  return st;
}

Status Connection::Flush(Deadline deadline) {
  if (out_.InMessage()) BrokenInvariant("Connection::Flush with an open message");
  std::span<const uint8_t> data = out_.Buffer();
  size_t sent = 0;
  Status result;
  while (sent < data.size()) {
    ssize_t n =
        send(socket_.get(), data.data() + sent, data.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      result = Wait(POLLOUT, deadline);
      if (!result) break;
      continue;
    }
    result = ErrnoStatus("could not send data to client", err);
    break;
  }
  out_.Clear();
  return result;
}

}  // namespace bgw::protocol
