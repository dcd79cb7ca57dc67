// Status and Result<T>: the server's one error type.
//
// Every fallible operation returns one of these instead of throwing. An ok
// Status is a null pointer (cheap to return, as in LevelDB and Abseil); a
// failure owns an ErrorReport with what PostgreSQL's ErrorResponse carries:
// severity, SQLSTATE, message, detail, hint, and the errno behind it when
// there is one. So a caller learns what went wrong from fields set where the
// error was made, never by reading the message text, and the layer that
// reports it (a client's ErrorResponse, an SPI caller's ereport, the server
// log) passes them through unchanged.
//
// errno becomes a message and a SQLSTATE in exactly one place
// (Status::FromErrno, with SqlstateForErrno below), so messages read the same
// everywhere ("could not open file "x": No such file or directory",
// PostgreSQL's wording).
#pragma once

#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <variant>

namespace bgw {

// One failure: the fields of PostgreSQL's ErrorData that a client sees.
struct ErrorReport {
  std::string severity = "ERROR";  // "ERROR" or "FATAL" (FATAL ends the session)
  std::string sqlstate;            // five characters, e.g. "42P01"; empty = unknown
  std::string message;
  std::string detail;  // empty = omitted
  std::string hint;    // empty = omitted
  int sys_errno = 0;   // the errno behind the failure, 0 = none
};

// What kind of object an errno came from: PostgreSQL maps the same errno to
// different SQLSTATEs for files (errcode_for_file_access) and sockets
// (errcode_for_socket_access).
enum class ErrnoSource { kFile, kSocket };

// The SQLSTATE PostgreSQL reports for `err` (58030 io_error / 08006
// connection_failure when nothing more specific applies).
const char* SqlstateForErrno(int err, ErrnoSource source = ErrnoSource::kFile);
// strerror(err), thread-safe and never empty: an unknown code reads
// "operating system error N". The buffer form allocates nothing (for error
// paths such as elog's %m); it returns buf or a static string.
std::string ErrnoText(int err);
const char* ErrnoText(int err, char* buf, size_t len);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorReport error)  // NOLINT: implicit, so `return MakeError(...)` works
      : rep_(std::make_unique<ErrorReport>(std::move(error))) {}
  Status(const Status& other)
      : rep_(other.rep_ ? std::make_unique<ErrorReport>(*other.rep_) : nullptr) {}
  Status(Status&&) noexcept = default;
  Status& operator=(const Status& other) {
    if (this != &other) rep_ = other.rep_ ? std::make_unique<ErrorReport>(*other.rep_) : nullptr;
    return *this;
  }
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return Status(); }
  // An error of the server's own; `sqlstate` empty = the source has none to say.
  static Status Error(std::string message, std::string sqlstate = {}) {
    return ErrorReport{"ERROR", std::move(sqlstate), std::move(message), {}, {}, 0};
  }
  // "<what>: <strerror(err)>", e.g. FromErrno("could not open file \"x\""),
  // with the SQLSTATE PostgreSQL gives that errno and sys_errno set.
  static Status FromErrno(const std::string& what, int err = errno,
                          ErrnoSource source = ErrnoSource::kFile) {
    return ErrorReport{"ERROR", SqlstateForErrno(err, source), what + ": " + ErrnoText(err), {}, {},
                       err};
  }

  bool ok() const { return rep_ == nullptr; }
  explicit operator bool() const { return ok(); }

  // Precondition for error(): !ok(). The accessors below are safe on an ok
  // Status (they return empty / 0).
  const ErrorReport& error() const { return *rep_; }
  ErrorReport& error() { return *rep_; }
  const std::string& message() const { return rep_ ? rep_->message : Empty(); }
  const std::string& sqlstate() const { return rep_ ? rep_->sqlstate : Empty(); }
  const std::string& detail() const { return rep_ ? rep_->detail : Empty(); }
  const std::string& hint() const { return rep_ ? rep_->hint : Empty(); }
  int sys_errno() const { return rep_ ? rep_->sys_errno : 0; }
  // The message with "\nDETAIL:  ..." and "\nHINT:  ..." lines as psql and
  // PostgreSQL's tools print them; empty when ok.
  std::string ToString() const;

 private:
  static const std::string& Empty() {
    static const std::string kEmpty;
    return kEmpty;
  }
  std::unique_ptr<ErrorReport> rep_;
};

// An ERROR with a SQLSTATE, in ereport's order: code, message, detail, hint.
inline ErrorReport MakeError(std::string sqlstate, std::string message, std::string detail = {},
                             std::string hint = {}) {
  return ErrorReport{"ERROR",           std::move(sqlstate), std::move(message),
                     std::move(detail), std::move(hint),     0};
}

// A T or the Status saying why not.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                    // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}             // NOLINT: must be an error
  Result(ErrorReport error) : v_(Status(std::move(error))) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The failure; Ok when this holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  // Precondition: !ok().
  const ErrorReport& error() const { return std::get<Status>(v_).error(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace bgw
