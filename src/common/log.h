// Server log: PostgreSQL-style severity levels, line prefix, and destinations.
//
// Every process writes its own lines: one formatted buffer, one write(2) per
// destination, so lines from many processes never interleave mid-line (the
// file is opened O_APPEND). No log collector process is needed, and a dying
// process loses at most the line it had not yet written.
#pragma once

#include <string>
#include <string_view>

namespace bgw::log {

// PostgreSQL's elevels, in PostgreSQL's numeric order (DEBUG5=10 .. PANIC=23)
// so the C compatibility headers can reuse the values.
enum class Level : int {
  kDebug5 = 10,
  kDebug4 = 11,
  kDebug3 = 12,
  kDebug2 = 13,
  kDebug1 = 14,
  kLog = 15,
  kInfo = 17,
  kNotice = 18,
  kWarning = 19,
  kError = 21,
  kFatal = 22,
  kPanic = 23,
};

const char* LevelName(Level level);  // "DEBUG1", "LOG", ...
// Parses a level name case-insensitively ("debug1", "warning", ...).
bool ParseLevel(std::string_view name, Level* out);

struct Message {
  Level level = Level::kLog;
  std::string text;
  std::string detail;
  std::string hint;
  std::string context;   // CONTEXT: lines (error context callbacks)
  std::string sqlstate;  // empty when not applicable
};

struct Options {
  Level min_level = Level::kWarning;  // log_min_messages
  std::string line_prefix = "%m [%p] %b ";
  bool to_stderr = true;
  // Absolute path of the log file; empty = no file destination.
  std::string file_path;
};

// Applies new options; opens (or re-opens) the log file. A file that cannot be
// opened is reported on stderr and the file destination is dropped.
void Configure(const Options& options);
const Options& CurrentOptions();

// Process kind for %b ("postmaster", "backend", the worker's bgw_type...).
void SetProcessKind(std::string_view kind);
// Session fields for %u, %d, %a (empty when unknown).
void SetSessionInfo(std::string_view user, std::string_view database, std::string_view application);

// PostgreSQL's rule for the server log: LOG ranks above ERROR.
bool ShouldEmit(Level level);
void Emit(const Message& message);

void Log(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Convenience for the common levels.
#define BGW_LOG(...) ::bgw::log::Log(::bgw::log::Level::kLog, __VA_ARGS__)
#define BGW_WARNING(...) ::bgw::log::Log(::bgw::log::Level::kWarning, __VA_ARGS__)
#define BGW_DEBUG1(...) ::bgw::log::Log(::bgw::log::Level::kDebug1, __VA_ARGS__)

// Called in a freshly forked child: the file stays open (shared O_APPEND
// offset is harmless), the pid in the prefix is refreshed.
void AfterFork();

}  // namespace bgw::log

namespace bgw {
class Status;
}

namespace bgw::log {
// Logs a Status: its message, detail and hint fields.
void EmitStatus(Level level, const Status& status);
Message MessageFromStatus(Level level, const Status& status);
}  // namespace bgw::log
