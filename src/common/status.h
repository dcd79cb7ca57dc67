// Status and Result<T>: expected failures as values.
//
// Every fallible operation in the server returns one of these instead of
// throwing; errno is converted to a message in exactly one place
// (Status::FromErrno) so messages read the same everywhere ("could not open
// file "x": No such file or directory", PostgreSQL's wording).
//
// A Status may carry the SQLSTATE its source knows (the settings registry:
// 42704 for an unknown parameter, 55P02 for one that cannot change now), so
// the layer that reports it to a client passes the code through instead of
// guessing it from the text. Empty = the source did not say.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bgw {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message, std::string sqlstate = {}) {
    return Status(std::move(message), std::move(sqlstate));
  }
  // "<what>: <strerror(err)>", e.g. FromErrno("could not open file \"x\"").
  static Status FromErrno(const std::string& what, int err = errno) {
    return Status(what + ": " + std::strerror(err), {});
  }

  bool ok() const { return !message_.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // Five characters, or empty when the source gave none.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  Status(std::string message, std::string sqlstate)
      : message_(std::move(message)), sqlstate_(std::move(sqlstate)) {}
  std::optional<std::string> message_;
  std::string sqlstate_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must be an error

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace bgw
