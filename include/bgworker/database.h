// bgworker/database.h: the C++ face of database work in a background worker.
//
// The same engine as the C API (BackgroundWorkerInitializeConnection,
// StartTransactionCommand, SPI_*), shaped for C++: a transaction is an RAII
// scope that rolls back unless committed, statements take typed parameters
// and return rows whose fields convert to C++ types, and every failure is an
// Expected error carrying the SQLSTATE instead of a siglongjmp through C++
// frames (see error.h for why that matters).
//
//   bgworker::ConnectToDatabase("postgres");            // once per worker
//   auto tx = bgworker::Transaction::Begin().value();
//   auto r = tx.Execute("SELECT id, name FROM t WHERE id > $1", int64_t{10});
//   if (!r) elog(LOG, "%s", r.error().ToString().c_str());
//   for (const bgworker::Row& row : r->rows) use(row.Get<int64_t>(0), row.Get<std::string>(1));
//   tx.Commit().value();
//
// Parameters: std::nullptr_t (NULL), integers (int8), floating point
// (float8), bool, std::string / std::string_view / const char* (text).
// Field access: Get<T> for int64_t, int32_t, double, bool, std::string,
// std::optional<T> of those (NULL -> nullopt; plain T on NULL throws
// bgworker::Error). Values are converted from their text form, so any
// column type works with Get<std::string>.
//
// One Transaction at a time per process, in a worker that registered with
// BGWORKER_BACKEND_DATABASE_CONNECTION. Not thread-safe.
#ifndef BGWORKER_DATABASE_H
#define BGWORKER_DATABASE_H

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "error.h"

namespace bgworker {

// BackgroundWorkerInitializeConnection's flags.
inline constexpr uint32_t kBypassAllowConn = 0x0001;
inline constexpr uint32_t kBypassRoleLoginCheck = 0x0002;

// Connects this worker to a database as a role (nullptr = the bootstrap
// superuser). Failures are FATAL, as in the C API: the worker exits 1 with
// PostgreSQL's message (no such database, not accepting connections, role
// may not log in, flag missing at registration).
void ConnectToDatabase(const char* dbname, const char* user = nullptr, uint32_t flags = 0);

using Param = std::variant<std::nullptr_t, int64_t, double, bool, std::string>;

// One result row: each field's text form, or nullopt for NULL.
class Row {
 public:
  explicit Row(std::vector<std::optional<std::string>> fields) : fields_(std::move(fields)) {}

  size_t size() const { return fields_.size(); }
  bool IsNull(size_t i) const { return !At(i).has_value(); }
  const std::optional<std::string>& Text(size_t i) const { return At(i); }

  template <typename T>
  T Get(size_t i) const {
    if constexpr (IsOptional<T>::value) {
      if (IsNull(i)) return std::nullopt;
      return Get<typename T::value_type>(i);
    } else {
      const std::optional<std::string>& f = At(i);
      if (!f) throw Error(Errc::kPgError, "field " + std::to_string(i) + " is NULL");
      return Convert<T>(*f, i);
    }
  }

 private:
  template <typename T>
  struct IsOptional : std::false_type {};
  template <typename T>
  struct IsOptional<std::optional<T>> : std::true_type {};

  const std::optional<std::string>& At(size_t i) const {
    if (i >= fields_.size()) {
      throw Error(Errc::kPgError, "field " + std::to_string(i) + " out of range");
    }
    return fields_[i];
  }

  template <typename T>
  static T Convert(const std::string& s, size_t i) {
    if constexpr (std::is_same_v<T, std::string>) {
      return s;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (s == "t" || s == "true" || s == "1") return true;
      if (s == "f" || s == "false" || s == "0") return false;
      throw Error(Errc::kPgError, "field " + std::to_string(i) + " is not a boolean: " + s);
    } else {
      static_assert(std::is_arithmetic_v<T>, "Row::Get: unsupported type");
      T v{};
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || end != s.data() + s.size()) {
        throw Error(Errc::kPgError,
                    "field " + std::to_string(i) + " does not convert to a number: " + s);
      }
      return v;
    }
  }

  std::vector<std::optional<std::string>> fields_;
};

struct Result {
  std::vector<std::string> columns;  // names
  std::vector<uint32_t> types;       // PostgreSQL type OIDs
  std::vector<Row> rows;
  uint64_t processed = 0;  // rows returned or affected (SPI_processed)
};

class Transaction {
 public:
  // StartTransactionCommand + SPI_connect + an active snapshot.
  static Expected<Transaction> Begin();

  Transaction(Transaction&& other) noexcept : active_(other.active_) { other.active_ = false; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction() { Rollback(); }

  // Runs one statement with $1..$n bound to `params`. An SQL error leaves
  // the transaction failed: only Rollback (or destruction) ends it.
  template <typename... Args>
  Expected<Result> Execute(std::string_view sql, const Args&... params) {
    return ExecuteParams(sql, std::vector<Param>{ToParam(params)...});
  }
  Expected<Result> ExecuteParams(std::string_view sql, const std::vector<Param>& params);

  // Commits; on failure the transaction is rolled back and the error returned.
  Expected<void> Commit();
  // Rolls back (no-op once committed or rolled back).
  void Rollback() noexcept;
  bool active() const { return active_; }

 private:
  Transaction() : active_(true) {}
  static void AbortQuietly() noexcept;

  template <typename T>
  static Param ToParam(const T& v) {
    if constexpr (std::is_same_v<T, std::nullptr_t>) {
      return nullptr;
    } else if constexpr (std::is_same_v<T, bool>) {
      return v;
    } else if constexpr (std::is_integral_v<T>) {
      return static_cast<int64_t>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      return static_cast<double>(v);
    } else {
      return std::string(std::string_view(v));
    }
  }

  bool active_;
};

}  // namespace bgworker

#endif  // BGWORKER_DATABASE_H
