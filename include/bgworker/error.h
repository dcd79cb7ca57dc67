// bgworker/error.h: typed errors for the C++ module API, and the bridge
// between PostgreSQL's ereport(ERROR) and C++.
//
// Why shaped so: the C++ face reports expected failures as values
// (Expected<T>), not exceptions, because module code runs inside a C
// server whose own errors unwind with siglongjmp. Two error mechanisms meet
// here, and this header is where they are kept apart:
//
//   * ereport(ERROR) (utils/elog.h) unwinds with siglongjmp to the innermost
//     PG_TRY, or to the worker's top-level handler (the worker logs the error
//     and exits 1). siglongjmp runs no destructors: a C++ object with a
//     non-trivial destructor (std::string, std::vector, a smart pointer, a
//     lock guard, a WorkerHandle...) alive in ANY frame between the PG_TRY
//     and the ereport is skipped (a leak, a held lock), and the C++ standard
//     makes that undefined behaviour. So: never keep such objects alive
//     across a call that can raise ERROR (palloc, SPI, most of the C API),
//     unless the call is wrapped with CatchPgErrors() or ThrowOnPgError(),
//     which stop the siglongjmp before it reaches your frames. Inside the
//     callable you pass them, the same rule holds: keep it a thin call into
//     the C API.
//   * A C++ exception must not escape into the server's C frames either: one
//     escaping a worker's entry function reaches std::terminate, i.e. abort,
//     which the postmaster treats as a crash of the whole server. Wrap an
//     entry function's body with ExceptionBoundary(): an escaping exception
//     then becomes an ordinary ERROR (logged, exit status 1, restart policy
//     applies).
//
// Every function of the C++ API (worker.h, latch.h) already does this: none
// lets an ERROR escape, each returns an Expected or throws bgworker::Error
// where documented.
//
// FATAL and PANIC are never caught: they end the process (FATAL runs the
// proc_exit callbacks; C++ objects on the stack are not destroyed, which is
// harmless because the process is gone).
//
// Not thread-safe, like the C API: one thread per process uses it.
#ifndef BGWORKER_ERROR_H
#define BGWORKER_ERROR_H

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace bgworker {

// What went wrong, as a value module code can switch on.
enum class Errc {
  kNoFreeSlot,          // every background worker slot is in use (max_worker_processes)
  kInvalidSpec,         // the worker definition was refused (see the message)
  kNotUnderPostmaster,  // not callable in this process or phase (see the function)
  kStopped,             // the worker stopped (or was never started) before the wait ended
  kPostmasterDied,      // the server is gone; nothing more is known
  kTimeout,             // the wait's timeout expired first
  kPgError,             // an ereport(ERROR) was caught; sqlstate/detail/hint are set
};

// "kNoFreeSlot", "kTimeout", ...: the enumerator's name.
constexpr std::string_view ErrcName(Errc code) {
  switch (code) {
    case Errc::kNoFreeSlot:
      return "kNoFreeSlot";
    case Errc::kInvalidSpec:
      return "kInvalidSpec";
    case Errc::kNotUnderPostmaster:
      return "kNotUnderPostmaster";
    case Errc::kStopped:
      return "kStopped";
    case Errc::kPostmasterDied:
      return "kPostmasterDied";
    case Errc::kTimeout:
      return "kTimeout";
    case Errc::kPgError:
      return "kPgError";
  }
  return "kUnknown";
}

// One failure. `sqlstate` (five characters), `detail` and `hint` are filled
// for errors converted from ereport(ERROR); the API's own errors leave
// detail and hint empty.
struct ErrorInfo {
  Errc code = Errc::kPgError;
  std::string message;
  std::string sqlstate;
  std::string detail;
  std::string hint;

  // "kTimeout: worker \"x\" did not start within 100 ms".
  std::string ToString() const {
    std::string out(ErrcName(code));
    if (!sqlstate.empty()) out += " (SQLSTATE " + sqlstate + ")";
    if (!message.empty()) out += ": " + message;
    return out;
  }
};

// The exception form of an ErrorInfo (thrown by Expected::value() on an
// error, by ThrowOnPgError(), and by Latch::Wait() if the wait itself fails).
class Error : public std::exception {
 public:
  explicit Error(ErrorInfo info) : info_(std::move(info)), what_(info_.ToString()) {}
  Error(Errc code, std::string message) : Error(ErrorInfo{code, std::move(message), {}, {}, {}}) {}

  Errc code() const noexcept { return info_.code; }
  const ErrorInfo& info() const noexcept { return info_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  ErrorInfo info_;
  std::string what_;
};

// A T or an ErrorInfo (C++20 has no std::expected). [[nodiscard]]: an
// ignored error is a bug.
template <typename T>
class [[nodiscard]] Expected {
  static_assert(!std::is_reference_v<T> && !std::is_same_v<std::remove_cv_t<T>, ErrorInfo>,
                "Expected<T>: T must be an object type other than ErrorInfo");

 public:
  Expected(const T& value) : v_(std::in_place_index<0>, value) {}
  Expected(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}
  Expected(ErrorInfo error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // The value; throws bgworker::Error when this holds an error.
  T& value() & {
    Check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    Check();
    return std::get<0>(v_);
  }
  T&& value() && {
    Check();
    return std::get<0>(std::move(v_));
  }
  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  // Unchecked access: precondition has_value().
  T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  const T* operator->() const noexcept { return std::get_if<0>(&v_); }

  // Precondition: !has_value().
  const ErrorInfo& error() const& noexcept { return *std::get_if<1>(&v_); }
  ErrorInfo&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }
  Errc code() const noexcept { return error().code; }

 private:
  void Check() const {
    if (!has_value()) throw Error(*std::get_if<1>(&v_));
  }
  std::variant<T, ErrorInfo> v_;
};

// Success with no value, or an ErrorInfo.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(ErrorInfo error) : error_(std::move(error)) {}

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  // Throws bgworker::Error when this holds an error.
  void value() const {
    if (error_) throw Error(*error_);
  }
  // Precondition: !has_value().
  const ErrorInfo& error() const& noexcept { return *error_; }
  ErrorInfo&& error() && noexcept { return std::move(*error_); }
  Errc code() const noexcept { return error_->code; }

 private:
  std::optional<ErrorInfo> error_;
};

// Builds an error value: `return Unexpected(Errc::kTimeout, "...")`.
inline ErrorInfo Unexpected(Errc code, std::string message) {
  return ErrorInfo{code, std::move(message), {}, {}, {}};
}

namespace internal {

// Implemented in the server (src/fmgr/pg_try.cc).
//
// Runs fn(arg) under PG_TRY. Returns true when fn returned. When fn raised
// ERROR: restores the memory context current at entry, copies the error into
// *error (code kPgError), flushes the error state (the error is not logged)
// and returns false. fn must not throw C++ exceptions (the templates below
// catch them inside fn).
bool CallCatchingPgError(void (*fn)(void* arg), void* arg, ErrorInfo* error);

// ereport(ERROR, errcode(sqlerrcode), errmsg("%s", message)[, errdetail]);
// never returns. Call it only from a frame with no live C++ objects.
[[noreturn]] void RaisePgError(int sqlerrcode, const char* message, const char* detail);

// Packs a five-character SQLSTATE text as MAKE_SQLSTATE does; 0 if invalid.
int PackSqlState(std::string_view sqlstate);

template <typename F, typename R>
struct CatchContext {
  F* fn = nullptr;
  std::optional<R> result{};
  std::exception_ptr exception{};
};

template <typename F>
struct CatchContext<F, void> {
  F* fn = nullptr;
  std::exception_ptr exception{};
};

// Runs between PG_TRY and the callable; holds no C++ objects while fn runs
// (the try block has no runtime state), so an ERROR's siglongjmp crosses
// only the callable's own frames.
template <typename F, typename R>
void CatchTrampoline(void* arg) {
  auto* ctx = static_cast<CatchContext<F, R>*>(arg);
  try {
    if constexpr (std::is_void_v<R>) {
      std::invoke(*ctx->fn);
    } else {
      ctx->result.emplace(std::invoke(*ctx->fn));
    }
  } catch (...) {
    ctx->exception = std::current_exception();
  }
}

}  // namespace internal

// Runs fn() and returns its result, or, when fn raises ereport(ERROR), the
// error (code kPgError, with sqlstate/detail/hint) instead. The error is not
// logged (it was handled). A C++ exception thrown by fn propagates
// unchanged, after the PG_TRY is left. fn must itself keep no C++ objects
// with non-trivial destructors alive across the raising call (see above);
// everything outside fn is safe.
//
//   bgworker::Expected<void*> p = bgworker::CatchPgErrors([&] { return palloc(n); });
template <typename F>
auto CatchPgErrors(F&& fn) -> Expected<std::remove_cvref_t<std::invoke_result_t<F&>>> {
  using R = std::remove_cvref_t<std::invoke_result_t<F&>>;
  using Fn = std::remove_reference_t<F>;
  internal::CatchContext<Fn, R> ctx;
  ctx.fn = &fn;
  ErrorInfo error;
  const bool ok = internal::CallCatchingPgError(&internal::CatchTrampoline<Fn, R>, &ctx, &error);
  if (ctx.exception) std::rethrow_exception(ctx.exception);
  if (!ok) return error;
  if constexpr (std::is_void_v<R>) {
    return {};
  } else {
    return std::move(*ctx.result);
  }
}

// Like CatchPgErrors, but throws bgworker::Error for a caught ERROR.
template <typename F>
auto ThrowOnPgError(F&& fn) -> std::remove_cvref_t<std::invoke_result_t<F&>> {
  auto result = CatchPgErrors(std::forward<F>(fn));
  if constexpr (std::is_void_v<std::remove_cvref_t<std::invoke_result_t<F&>>>) {
    result.value();
  } else {
    return std::move(result).value();
  }
}

// Runs fn() (returning void) as the body of a worker entry function: a C++
// exception escaping it is re-raised as ereport(ERROR) once every C++ frame
// inside fn has been unwound, so the worker logs it and exits 1 (restart
// policy applies) instead of calling std::terminate (a crash of the server).
// A bgworker::Error keeps its SQLSTATE (default XX000), message and detail.
// It does not catch ereport(ERROR): that still siglongjmps over fn's frames
// to the worker's top-level handler, so the rule above holds inside fn.
// The entry function should contain nothing but this call (with a lambda
// capturing by reference):
//
//   extern "C" PGDLLEXPORT void my_main(Datum arg) {
//     bgworker::ExceptionBoundary([&] { RunMyWorker(arg); });
//   }
template <typename F>
void ExceptionBoundary(F&& fn) {
  // Plain arrays only: this frame is crossed by the siglongjmp below.
  char message[1024];
  char detail[512];
  int sqlerrcode = 0;
  bool failed = false;
  message[0] = detail[0] = '\0';
  try {
    std::invoke(fn);
  } catch (const Error& e) {
    failed = true;
    sqlerrcode = internal::PackSqlState(e.info().sqlstate);
    std::snprintf(message, sizeof message, "%s", e.info().message.c_str());
    std::snprintf(detail, sizeof detail, "%s", e.info().detail.c_str());
    if (e.info().code != Errc::kPgError && detail[0] == '\0') {
      const std::string_view name = ErrcName(e.info().code);
      std::snprintf(detail, sizeof detail, "bgworker::Errc::%.*s", static_cast<int>(name.size()),
                    name.data());
    }
  } catch (const std::exception& e) {
    failed = true;
    std::snprintf(message, sizeof message, "unhandled C++ exception: %s", e.what());
  } catch (...) {
    failed = true;
    std::snprintf(message, sizeof message, "unhandled C++ exception of unknown type");
  }
  if (failed) internal::RaisePgError(sqlerrcode, message, detail[0] != '\0' ? detail : nullptr);
}

}  // namespace bgworker

#endif  // BGWORKER_ERROR_H
