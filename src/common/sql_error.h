// SqlError and SqlResult<T>: failures that reach a client (or an SPI caller)
// carry a SQLSTATE and PostgreSQL's message fields, not just a text.
//
// Shared by the SQL engine (src/sql), the catalog (src/storage) and the
// protocol session (src/protocol), which turns one into an ErrorResponse.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace bgw::sql {

struct SqlError {
  std::string severity = "ERROR";  // "ERROR" or "FATAL" (FATAL ends the session)
  std::string sqlstate;            // five characters, e.g. "42P01"
  std::string message;
  std::string detail;  // empty = omitted
  std::string hint;    // empty = omitted
};

inline SqlError MakeError(std::string sqlstate, std::string message, std::string detail = {},
                          std::string hint = {}) {
  return SqlError{"ERROR", std::move(sqlstate), std::move(message), std::move(detail),
                  std::move(hint)};
}

// A value or a SqlError. Mirrors bgw::Result (common/status.h).
template <typename T>
class [[nodiscard]] SqlResult {
 public:
  SqlResult(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  SqlResult(SqlError error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const SqlError& error() const { return std::get<SqlError>(v_); }

 private:
  std::variant<T, SqlError> v_;
};

// For operations with no value.
struct Done {};
using SqlStatus = SqlResult<Done>;
inline SqlStatus SqlOk() { return Done{}; }

}  // namespace bgw::sql
