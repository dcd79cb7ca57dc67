// Test-only helpers for the protocol unit tests: a socket pair standing in
// for a client connection, builders for the packets a client sends, and a
// parser for what the server answered.
//
// Header-only and included only by *_test.cc files, so none of it is linked
// into the server. Failures abort the test binary rather than return errors:
// a broken test fixture must not pass silently.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "port/unique_fd.h"
#include "protocol/wire.h"

namespace bgw::protocol::test_util {

using Bytes = std::vector<uint8_t>;

[[noreturn]] inline void Die(const char* what) {
  std::perror(what);
  std::abort();
}

struct SocketPair {
  UniqueFd server;
  UniqueFd client;
};

inline SocketPair MakeSocketPair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) Die("socketpair");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

inline Pipe MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) Die("pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

inline void WriteAll(int fd, std::span<const uint8_t> bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("send");
    }
    off += static_cast<size_t>(n);
  }
}

inline Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Reads until EOF or until nothing arrives for `idle`. Returns what came.
inline Bytes ReadUntilEof(int fd, std::chrono::milliseconds idle = std::chrono::seconds(5)) {
  Bytes out;
  uint8_t buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(idle.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return out;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.insert(out.end(), buf, buf + n);
  }
}

// Reads exactly n bytes or fewer if EOF/idle timeout comes first.
inline Bytes ReadN(int fd, size_t n, std::chrono::milliseconds idle = std::chrono::seconds(5)) {
  Bytes out;
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(idle.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return out;
    uint8_t buf[4096];
    size_t want = std::min(sizeof buf, n - out.size());
    ssize_t got = recv(fd, buf, want, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return out;
    out.insert(out.end(), buf, buf + got);
  }
  return out;
}

// A packet of the startup family: length word, then code, then extra Int32s.
inline Bytes CodePacket(uint32_t code, const std::vector<int32_t>& extra = {}) {
  MessageWriter w;
  w.BeginUntyped();
  w.Int32(static_cast<int32_t>(code));
  for (int32_t v : extra) w.Int32(v);
  w.End();
  auto b = w.Buffer();
  return Bytes(b.begin(), b.end());
}

// A well-formed StartupMessage.
inline Bytes StartupPacket(uint32_t version,
                           const std::vector<std::pair<std::string, std::string>>& params) {
  MessageWriter w;
  w.BeginUntyped();
  w.Int32(static_cast<int32_t>(version));
  for (const auto& [name, value] : params) {
    w.String(name);
    w.String(value);
  }
  w.Int8(0);
  w.End();
  auto b = w.Buffer();
  return Bytes(b.begin(), b.end());
}

// A startup-family packet with an arbitrary body (the length word is right).
inline Bytes RawPacket(uint32_t version, std::string_view body) {
  MessageWriter w;
  w.BeginUntyped();
  w.Int32(static_cast<int32_t>(version));
  w.Bytes({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  w.End();
  auto b = w.Buffer();
  return Bytes(b.begin(), b.end());
}

struct ServerMessage {
  char type = 0;
  Bytes body;
};

// Splits typed backend messages. Returns false if the bytes do not frame.
inline bool SplitMessages(const Bytes& bytes, std::vector<ServerMessage>* out) {
  MessageReader r(bytes);
  while (r.Remaining() > 0) {
    auto type = r.Int8();
    auto len = r.Int32();
    if (!type.ok() || !len.ok() || *len < 4) return false;
    auto body = r.Bytes(static_cast<size_t>(*len) - 4);
    if (!body.ok()) return false;
    out->push_back({static_cast<char>(*type), Bytes(body->begin(), body->end())});
  }
  return true;
}

// Field code -> value of an ErrorResponse/NoticeResponse body; empty on error.
inline std::map<char, std::string> ParseErrorFields(const Bytes& body) {
  std::map<char, std::string> fields;
  MessageReader r(body);
  for (;;) {
    auto code = r.Int8();
    if (!code.ok()) return {};
    if (*code == 0) break;
    auto value = r.String();
    if (!value.ok()) return {};
    fields[static_cast<char>(*code)] = std::string(*value);
  }
  if (!r.ExpectEnd().ok()) return {};
  return fields;
}

}  // namespace bgw::protocol::test_util
