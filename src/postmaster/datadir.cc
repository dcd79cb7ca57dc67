// Data directory creation and checks; see datadir.h.
#include "postmaster/datadir.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/strutil.h"
#include "guc/guc.h"
#include "port/unique_fd.h"

namespace bgw::datadir {
namespace {

constexpr const char* kHbaTemplate =
    R"(# Client authentication rules (hba.conf), PostgreSQL's pg_hba.conf format.
#
# One rule per line; the first rule whose connection type, database, user and
# address match decides the authentication method:
#
#   local  DATABASE  USER            METHOD
#   host   DATABASE  USER  ADDRESS   METHOD
#
# DATABASE and USER: a name, a comma-separated list, or "all".
# ADDRESS: an IP address with a CIDR mask (127.0.0.1/32, ::1/128).
# METHOD: trust, reject, scram-sha-256, md5 or password.
#
# "local" rules match Unix-domain socket connections, "host" rules TCP/IP.

local   all   all                  trust
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
)";

bool IsDirEmpty(const std::string& path, bool* empty) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return false;
  *empty = true;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      *empty = false;
      break;
    }
  }
  closedir(d);
  return true;
}

Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0) {
    return Status::FromErrno("could not create directory \"" + path + "\"");
  }
  return Status::Ok();
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& content, int mode) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return Status::FromErrno("could not create file \"" + tmp + "\"");
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("could not write file \"" + tmp + "\"");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (fsync(fd.get()) != 0) return Status::FromErrno("could not fsync file \"" + tmp + "\"");
  fd.reset();
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::FromErrno("could not rename file \"" + tmp + "\" to \"" + path + "\"");
  }
  return Status::Ok();
}

Status Create(const InitOptions& options) {
  // "data/" and "data" name the same directory.
  std::string path = options.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return Status::Error("\"" + path + "\" exists but is not a directory");
    bool empty = false;
    if (!IsDirEmpty(path, &empty))
      return Status::FromErrno("could not open directory \"" + path + "\"");
    if (!empty) {
      return Status::Error("directory \"" + path +
                           "\" exists but is not empty\nHINT:  If you want to create a new data "
                           "directory, either remove or empty the directory \"" +
                           path + "\" or run bgw init with an argument other than \"" + path +
                           "\".");
    }
    if (chmod(path.c_str(), 0700) != 0) {
      return Status::FromErrno("could not change permissions of directory \"" + path + "\"");
    }
  } else if (errno == ENOENT) {
    // Like initdb: missing parents are created too.
    for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
      std::string parent = path.substr(0, pos);
      if (mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
        return Status::FromErrno("could not create directory \"" + parent + "\"");
      }
    }
    if (Status s = MakeDir(path); !s.ok()) return s;
  } else {
    return Status::FromErrno("could not access directory \"" + path + "\"");
  }

  for (const char* sub : {"global", "base", "log", "modules"}) {
    if (Status s = MakeDir(path + "/" + sub); !s.ok()) return s;
  }
  if (Status s = WriteFileAtomically(path + "/" + kVersionFile,
                                     std::to_string(kFormatVersion) + "\n", 0600);
      !s.ok()) {
    return s;
  }
  if (Status s = WriteFileAtomically(path + "/" + kConfigFile, guc::SampleConfigFile(), 0600);
      !s.ok()) {
    return s;
  }
  if (Status s = WriteFileAtomically(path + "/" + kHbaFile, kHbaTemplate, 0600); !s.ok()) {
    return s;
  }
  return WriteControlState(path, ClusterState::kShutDown);
}

Result<std::string> Canonicalize(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    return Status::FromErrno("could not access directory \"" + path + "\"");
  }
  return std::string(buf);
}

Status Check(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Status::Error("data directory \"" + path +
                           "\" does not exist\nHINT:  Create it with \"bgw init -D " + path +
                           "\".");
    }
    return Status::FromErrno("could not access data directory \"" + path + "\"");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error("specified data directory \"" + path + "\" is not a directory");
  }
  if (st.st_uid != geteuid()) {
    return Status::Error("data directory \"" + path +
                         "\" has wrong ownership\nHINT:  The server must be started by the user "
                         "that owns the data directory.");
  }
  if ((st.st_mode & 0777) != 0700) {
    return Status::Error(StringPrintf(
        "data directory \"%s\" has invalid permissions\nDETAIL:  Permissions are %04o; they "
        "should be u=rwx (0700).\nHINT:  Run chmod 0700 \"%s\".",
        path.c_str(), st.st_mode & 0777, path.c_str()));
  }
  for (const char* f : {kVersionFile, kConfigFile, kHbaFile, "global", "base", kControlFile}) {
    std::string full = path + "/" + f;
    if (access(full.c_str(), F_OK) != 0) {
      return Status::Error("\"" + path + "\" is not a valid data directory\nDETAIL:  File \"" +
                           full + "\" is missing.");
    }
  }
  std::ifstream v(path + "/" + kVersionFile);
  int version = 0;
  if (!(v >> version) || version != kFormatVersion) {
    return Status::Error(StringPrintf(
        "data directory \"%s\" has an incompatible format\nDETAIL:  The data directory has "
        "format version %d; this server supports version %d.",
        path.c_str(), version, kFormatVersion));
  }
  return Status::Ok();
}

const char* ClusterStateName(ClusterState state) {
  switch (state) {
    case ClusterState::kShutDown:
      return "shut down";
    case ClusterState::kInProduction:
      return "in production";
    case ClusterState::kShuttingDown:
      return "shutting down";
    case ClusterState::kUnknown:
      break;
  }
  return "unknown";
}

Result<ClusterState> ReadControlState(const std::string& data_dir, long long* last_change) {
  std::string path = data_dir + "/" + kControlFile;
  std::ifstream in(path);
  if (!in) return Status::FromErrno("could not open control file \"" + path + "\"");
  std::string line;
  ClusterState state = ClusterState::kUnknown;
  *last_change = 0;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key(Trim(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    if (key == "state") {
      for (ClusterState s :
           {ClusterState::kShutDown, ClusterState::kInProduction, ClusterState::kShuttingDown}) {
        if (value == ClusterStateName(s)) state = s;
      }
    } else if (key == "time") {
      *last_change = std::atoll(value.c_str());
    }
  }
  if (state == ClusterState::kUnknown) {
    return Status::Error("control file \"" + path + "\" is corrupt: no valid state line");
  }
  return state;
}

Status WriteControlState(const std::string& data_dir, ClusterState state) {
  std::string content =
      StringPrintf("format: %d\nstate: %s\ntime: %lld\n", kFormatVersion, ClusterStateName(state),
                   static_cast<long long>(time(nullptr)));
  return WriteFileAtomically(data_dir + "/" + kControlFile, content, 0600);
}

}  // namespace bgw::datadir
