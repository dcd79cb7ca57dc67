// Lock files: postmaster.pid in the data directory and <socket>.lock beside
// each Unix socket, in PostgreSQL's format so its tools' habits carry over.
//
//   line 1  postmaster PID          line 5  first Unix socket directory
//   line 2  data directory          line 6  first listen address
//   line 3  start time (epoch s)    line 7  shared memory key and id
//   line 4  port                    line 8  status: starting/stopping/ready/standby
//
// Creation refuses a file whose PID is a live bgw postmaster; a file left by a
// dead one is replaced. For the data directory lock, a stale file whose
// shared memory interlock is still attached (children of the dead postmaster
// still running) is refused too.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace bgw {

enum LockFileLine {
  kLockLinePid = 1,
  kLockLineDataDir = 2,
  kLockLineStartTime = 3,
  kLockLinePort = 4,
  kLockLineSocketDir = 5,
  kLockLineListenAddr = 6,
  kLockLineShmemKey = 7,
  kLockLineStatus = 8,
};

inline constexpr const char* kStatusStarting = "starting";
inline constexpr const char* kStatusStopping = "stopping";
inline constexpr const char* kStatusReady = "ready   ";
inline constexpr const char* kStatusStandby = "standby ";

struct PidFileInfo {
  pid_t pid = 0;
  std::string data_dir;
  long long start_time = 0;
  int port = 0;
  std::string socket_dir;
  std::string listen_addr;
  int shm_id = -1;
  std::string status;  // trimmed
};

// Parses a lock file; a missing file is an error whose message says so.
Result<PidFileInfo> ReadLockFile(const std::string& path);

// True if `pid` is alive and looks like a bgw postmaster (its title starts
// with "bgw: postmaster"), or cannot be inspected (assume it is). With
// `data_dir`, the title must name that data directory too, so a recycled
// pid that now belongs to another directory's server does not count.
bool IsLivePostmaster(pid_t pid, std::string_view data_dir = {});

class LockFile {
 public:
  // Creates `path` for this process. `data_dir_lock`: the data directory's
  // postmaster.pid (enables the shared memory interlock check).
  static Result<LockFile> Create(const std::string& path, const std::string& data_dir,
                                 bool data_dir_lock);
  LockFile(LockFile&&) noexcept;
  LockFile& operator=(LockFile&&) noexcept;
  ~LockFile();  // removes the file if this process created it

  // Sets line `line` (1-based), rewriting the file; missing lines are added.
  Status SetLine(int line, const std::string& value) { return SetLines({{line, value}}); }
  // Sets several lines with one rewrite.
  Status SetLines(std::initializer_list<std::pair<int, std::string>> lines);
  const std::string& path() const { return path_; }
  // Removes the file now (e.g. at the end of shutdown).
  void Remove();

 private:
  LockFile() = default;
  static Result<LockFile> CreateLocked(const std::string& path, const std::string& data_dir,
                                       bool data_dir_lock);
  Status WriteTo(const std::string& tmp) const;
  // Data directory locks: an fd of the directory holding flock(LOCK_EX),
  // inherited by every child, so the lock lasts while any process of this
  // server lives. Deciding whether an existing lock file is stale is only
  // done while holding it: two servers starting at once cannot both win.
  int dir_lock_fd_ = -1;
  std::string path_;
  pid_t owner_ = 0;
  std::string lines_[kLockLineStatus];
};

}  // namespace bgw
