// Lock files; see lockfile.h.
#include "postmaster/lockfile.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "common/strutil.h"
#include "ipc/segment.h"
#include "port/process.h"
#include "port/unique_fd.h"

namespace bgw {

Result<PidFileInfo> ReadLockFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::FromErrno("could not open file \"" + path + "\"");
  std::string lines[kLockLineStatus];
  for (auto& l : lines) {
    if (!std::getline(in, l)) break;
  }
  PidFileInfo info;
  info.pid = static_cast<pid_t>(std::atol(lines[0].c_str()));
  if (info.pid <= 0) return Status::Error("bogus data in lock file \"" + path + "\"");
  info.data_dir = lines[1];
  info.start_time = std::atoll(lines[2].c_str());
  info.port = std::atoi(lines[3].c_str());
  info.socket_dir = lines[4];
  info.listen_addr = lines[5];
  std::istringstream shm(lines[6]);
  long key = 0, id = -1;
  if (shm >> key >> id) info.shm_id = static_cast<int>(id);
  info.status = std::string(Trim(lines[7]));
  return info;
}

bool IsLivePostmaster(pid_t pid, std::string_view data_dir) {
  if (!ProcessIsRunning(pid)) return false;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmd) return true;  // cannot inspect: assume it is ours
  std::string title;
  std::getline(cmd, title, '\0');
  // Our title ("bgw: postmaster <dir>[ (<cluster_name>)]") is set before any
  // lock file is created, so a postmaster that holds one always shows it.
  constexpr std::string_view kPrefix = "bgw: postmaster";
  if (!StartsWith(title, kPrefix)) return false;
  if (data_dir.empty()) return true;
  std::string_view rest = std::string_view(title).substr(kPrefix.size());
  std::string expected = " " + std::string(data_dir);
  return rest == expected || StartsWith(rest, expected + " (");
}

Result<LockFile> LockFile::Create(const std::string& path, const std::string& data_dir,
                                  bool data_dir_lock) {
  int dir_lock_fd = -1;
  if (data_dir_lock) {
    dir_lock_fd = open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_lock_fd < 0)
      return Status::FromErrno("could not open data directory \"" + data_dir + "\"");
    if (flock(dir_lock_fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      close(dir_lock_fd);
      if (err != EWOULDBLOCK)
        return Status::FromErrno("could not lock data directory \"" + data_dir + "\"", err);
      Result<PidFileInfo> other = ReadLockFile(path);
      if (other.ok() && IsLivePostmaster(other->pid, data_dir)) {
        return MakeError("F0001", "lock file \"" + path + "\" already exists", {},
                         StringPrintf("Is another postmaster (PID %d) running in data directory "
                                      "\"%s\"?",
                                      static_cast<int>(other->pid), data_dir.c_str()));
      }
      return MakeError("F0001",
                       "data directory \"" + data_dir +
                           "\" is in use by another server or by processes of a previous one",
                       {},
                       "Terminate any old server processes associated with data directory \"" +
                           data_dir + "\".");
    }
  }
  Result<LockFile> created = CreateLocked(path, data_dir, data_dir_lock);
  if (!created.ok()) {
    if (dir_lock_fd >= 0) close(dir_lock_fd);
    return created;
  }
  created->dir_lock_fd_ = dir_lock_fd;
  return created;
}

Result<LockFile> LockFile::CreateLocked(const std::string& path, const std::string& data_dir,
                                        bool data_dir_lock) {
  for (int attempt = 0; attempt < 100; attempt++) {
    // The content is written to a private file first and linked into place:
    // link() fails if the lock exists, and the lock never exists half-written.
    LockFile lf;
    lf.path_ = path;
    lf.lines_[kLockLinePid - 1] = std::to_string(getpid());
    lf.lines_[kLockLineDataDir - 1] = data_dir;
    lf.lines_[kLockLineStartTime - 1] = std::to_string(time(nullptr));
    std::string tmp = path + "." + std::to_string(getpid()) + ".new";
    if (Status s = lf.WriteTo(tmp); !s.ok()) return s;
    int rc = link(tmp.c_str(), path.c_str());
    int link_errno = errno;
    unlink(tmp.c_str());
    if (rc == 0) {
      lf.owner_ = getpid();
      return lf;
    }
    errno = link_errno;
    if (errno != EEXIST) return Status::FromErrno("could not create lock file \"" + path + "\"");
    Result<PidFileInfo> other = ReadLockFile(path);
    if (!other.ok()) {
      // Empty or half-written: another postmaster may be creating it right
      // now. PostgreSQL refuses rather than guess; so do we.
      if (errno == ENOENT) continue;  // vanished meanwhile: retry
      return MakeError("F0001", "lock file \"" + path + "\" is empty or corrupt", {},
                       "Either another server is starting, or the lock file is the remnant of a "
                       "previous server startup crash.");
    }
    pid_t other_pid = other->pid;
    if (other_pid != getpid() && other_pid != getppid() &&
        IsLivePostmaster(other_pid, data_dir_lock ? data_dir : other->data_dir)) {
      const char* what = data_dir_lock ? "data directory" : "socket directory";
      return MakeError("F0001", "lock file \"" + path + "\" already exists", {},
                       StringPrintf("Is another postmaster (PID %d) running in %s \"%s\"?",
                                    static_cast<int>(other_pid), what,
                                    data_dir_lock ? data_dir.c_str() : other->data_dir.c_str()));
    }
    if (data_dir_lock && shmem::InterlockInUse(other->shm_id, other_pid)) {
      return MakeError(
          "F0001",
          StringPrintf("pre-existing shared memory block (key 0, ID %d) is still in use",
                       other->shm_id),
          {},
          "Terminate any old server processes associated with data directory \"" + data_dir +
              "\".");
    }
    // Stale: left by a server that is gone. Replace it.
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno("could not remove old lock file \"" + path + "\"");
    }
  }
  return Status::Error("could not create lock file \"" + path + "\": too many attempts");
}

LockFile::LockFile(LockFile&& o) noexcept { *this = std::move(o); }

LockFile& LockFile::operator=(LockFile&& o) noexcept {
  if (this != &o) {
    Remove();
    path_ = std::move(o.path_);
    owner_ = std::exchange(o.owner_, 0);
    dir_lock_fd_ = std::exchange(o.dir_lock_fd_, -1);
    for (int i = 0; i < kLockLineStatus; i++) lines_[i] = std::move(o.lines_[i]);
  }
  return *this;
}

LockFile::~LockFile() { Remove(); }

void LockFile::Remove() {
  // Only the creating process removes it: a forked child's copy must not.
  if (owner_ != 0 && owner_ == getpid()) {
    unlink(path_.c_str());
    if (dir_lock_fd_ >= 0) close(dir_lock_fd_);
    dir_lock_fd_ = -1;
  }
  owner_ = 0;
}

Status LockFile::SetLines(std::initializer_list<std::pair<int, std::string>> lines) {
  for (const auto& [line, value] : lines) lines_[line - 1] = value;
  std::string tmp = path_ + ".tmp";
  if (Status s = WriteTo(tmp); !s.ok()) return s;
  if (rename(tmp.c_str(), path_.c_str()) != 0) {
    Status s = Status::FromErrno("could not rename lock file \"" + tmp + "\"");
    unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

Status LockFile::WriteTo(const std::string& tmp) const {
  std::string content;
  int last = 0;
  for (int i = 0; i < kLockLineStatus; i++) {
    if (!lines_[i].empty()) last = i + 1;
  }
  for (int i = 0; i < last; i++) content += lines_[i] + "\n";
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return Status::FromErrno("could not write lock file \"" + tmp + "\"");
  if (write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    Status s = Status::FromErrno("could not write lock file \"" + tmp + "\"");
    unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

}  // namespace bgw
