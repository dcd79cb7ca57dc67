// Server log implementation; see log.h for the model (one write per line per
// destination, every process writes for itself).
#include "common/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/status.h"
#include "common/strutil.h"

namespace bgw::log {
namespace {

struct State {
  Options options;
  int file_fd = -1;
  // When stderr is the log file itself (bgw start redirects it there), the
  // stderr destination is skipped so lines are not written twice.
  bool stderr_is_file = false;
  std::string process_kind = "postmaster";
  std::string user, database, application;
  // Room for any process kind (a worker's bgw_type is < 96 bytes), reserved
  // in the postmaster: a child renaming itself right after fork then writes
  // the existing buffer instead of allocating (no malloc after fork).
  State() { process_kind.reserve(96); }
};

State& S() {
  static State* state = new State();  // never destroyed: usable in atexit paths
  return *state;
}

// PostgreSQL's is_log_level_output(): LOG (and COMMERROR) rank between ERROR
// and FATAL for the server log.
int ServerRank(Level level) {
  switch (level) {
    case Level::kLog:
      return static_cast<int>(Level::kError) * 2 + 1;
    default:
      return static_cast<int>(level) * 2;
  }
}

void WriteAll(int fd, const std::string& s) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a logging failure
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string FormatPrefix() {
  const State& st = S();
  const std::string& fmt = st.options.line_prefix;
  std::string out;
  for (size_t i = 0; i < fmt.size(); i++) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (i + 1 == fmt.size()) break;  // a lone trailing '%' prints nothing
    char c = fmt[++i];
    switch (c) {
      case 'm':
      case 't': {
        struct timeval tv;
        gettimeofday(&tv, nullptr);
        struct tm tm;
        localtime_r(&tv.tv_sec, &tm);
        char buf[64];
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
        out += buf;
        if (c == 'm') out += StringPrintf(".%03d", static_cast<int>(tv.tv_usec / 1000));
        strftime(buf, sizeof buf, " %Z", &tm);
        out += buf;
        break;
      }
      case 'p':
        out += std::to_string(getpid());
        break;
      case 'b':
        out += st.process_kind;
        break;
      case 'u':
        out += st.user;
        break;
      case 'd':
        out += st.database;
        break;
      case 'a':
        out += st.application;
        break;
      case '%':
        out += '%';
        break;
      default:
        break;  // unknown escapes print nothing, as in PostgreSQL
    }
  }
  return out;
}

bool SameFile(int fd_a, int fd_b) {
  struct stat a, b;
  if (fstat(fd_a, &a) != 0 || fstat(fd_b, &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug5:
      return "DEBUG5";
    case Level::kDebug4:
      return "DEBUG4";
    case Level::kDebug3:
      return "DEBUG3";
    case Level::kDebug2:
      return "DEBUG2";
    case Level::kDebug1:
      return "DEBUG1";
    case Level::kLog:
      return "LOG";
    case Level::kInfo:
      return "INFO";
    case Level::kNotice:
      return "NOTICE";
    case Level::kWarning:
      return "WARNING";
    case Level::kError:
      return "ERROR";
    case Level::kFatal:
      return "FATAL";
    case Level::kPanic:
      return "PANIC";
  }
  return "???";
}

bool ParseLevel(std::string_view name, Level* out) {
  static constexpr Level kAll[] = {Level::kDebug5,  Level::kDebug4, Level::kDebug3, Level::kDebug2,
                                   Level::kDebug1,  Level::kLog,    Level::kInfo,   Level::kNotice,
                                   Level::kWarning, Level::kError,  Level::kFatal,  Level::kPanic};
  for (Level l : kAll) {
    if (EqualsIgnoreCase(name, LevelName(l))) {
      *out = l;
      return true;
    }
  }
  return false;
}

void Configure(const Options& options) {
  State& st = S();
  bool reopen = options.file_path != st.options.file_path || st.file_fd < 0;
  st.options = options;
  if (!reopen) return;
  if (st.file_fd >= 0) close(st.file_fd);
  st.file_fd = -1;
  st.stderr_is_file = false;
  if (options.file_path.empty()) return;
  int fd = open(options.file_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    WriteAll(2, StringPrintf("could not open log file \"%s\": %s\n", options.file_path.c_str(),
                             bgw::ErrnoText(errno).c_str()));
    st.options.file_path.clear();
    return;
  }
  st.file_fd = fd;
  st.stderr_is_file = SameFile(2, fd);
}

const Options& CurrentOptions() { return S().options; }

void SetProcessKind(std::string_view kind) { S().process_kind.assign(kind.data(), kind.size()); }

void SetSessionInfo(std::string_view user, std::string_view database,
                    std::string_view application) {
  State& st = S();
  st.user = std::string(user);
  st.database = std::string(database);
  st.application = std::string(application);
}

bool ShouldEmit(Level level) { return ServerRank(level) >= ServerRank(S().options.min_level); }

void Emit(const Message& m) {
  if (!ShouldEmit(m.level)) return;
  State& st = S();
  int saved_errno = errno;
  std::string prefix = FormatPrefix();
  std::string text = prefix + LevelName(m.level) + ":  " + m.text + "\n";
  if (!m.detail.empty()) text += prefix + "DETAIL:  " + m.detail + "\n";
  if (!m.hint.empty()) text += prefix + "HINT:  " + m.hint + "\n";
  if (!m.context.empty()) text += prefix + "CONTEXT:  " + m.context + "\n";
  if (st.options.to_stderr && !(st.stderr_is_file && st.file_fd >= 0)) WriteAll(2, text);
  if (st.file_fd >= 0) WriteAll(st.file_fd, text);
  // With neither destination usable, stderr is the last resort.
  if (!st.options.to_stderr && st.file_fd < 0) WriteAll(2, text);
  errno = saved_errno;
}

void Log(Level level, const char* fmt, ...) {
  if (!ShouldEmit(level)) return;
  va_list ap;
  va_start(ap, fmt);
  Message m;
  m.level = level;
  m.text = StringPrintfV(fmt, ap);
  va_end(ap);
  Emit(m);
}

void AfterFork() {
  // Nothing to reopen: the O_APPEND descriptor is shared and safe. The pid in
  // the prefix is read per line. Kept as the one place to hook fork handling.
}

Message MessageFromStatus(Level level, const Status& status) {
  Message m;
  m.level = level;
  m.text = status.message();
  m.detail = status.detail();
  m.hint = status.hint();
  return m;
}

void EmitStatus(Level level, const Status& status) { Emit(MessageFromStatus(level, status)); }

}  // namespace bgw::log
