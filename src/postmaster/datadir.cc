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
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strutil.h"
#include "crypto/password.h"
#include "guc/guc.h"
#include "port/unique_fd.h"
#include "storage/catalog.h"

namespace bgw::datadir {
namespace {

constexpr const char* kHbaHeader =
    R"(# Client authentication rules (hba.conf), PostgreSQL's pg_hba.conf format.
#
# One rule per line; the first rule whose connection type, database, user and
# address match decides the authentication method:
#
#   local  DATABASE  USER            METHOD
#   host   DATABASE  USER  ADDRESS   METHOD
#
# DATABASE: a name, a comma-separated list, "all" or "sameuser".
# USER: a name, a comma-separated list, or "all". Quote a name that would
# otherwise read as a keyword or holds spaces or commas ("all").
# ADDRESS: an IP address with a CIDR mask (127.0.0.1/32, ::1/128), an address
# followed by a netmask (127.0.0.1 255.255.255.255), or "all".
# METHOD: trust, reject, scram-sha-256, md5 or password.
#
# "local" rules match Unix-domain socket connections, "host" and "hostnossl"
# rules TCP/IP; "hostssl" rules never match (the server has no SSL).
# A connection no rule matches is refused. Changes apply on reload.

)";

// The rules bgw init writes, with the methods chosen by --auth*.
std::string HbaFileContent(const InitOptions& o) {
  return std::string(kHbaHeader) + "local   all   all                  " + o.auth_local + "\n" +
         "host    all   all   127.0.0.1/32   " + o.auth_host + "\n" +
         "host    all   all   ::1/128        " + o.auth_host + "\n";
}

bool IsKnownMethod(const std::string& m) {
  return m == "trust" || m == "reject" || m == "scram-sha-256" || m == "md5" || m == "password";
}

bool NeedsPassword(const std::string& m) {
  return m == "scram-sha-256" || m == "md5" || m == "password";
}

// Removes everything inside `path` (not `path` itself).
void EmptyDirectory(const std::string& path) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    std::filesystem::remove_all(entry.path(), ec);
  }
}

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

Result<std::string> OsUserName() {
  errno = 0;
  struct passwd* pw = getpwuid(geteuid());
  if (pw == nullptr) {
    return errno != 0 ? Status::FromErrno("could not look up effective user ID")
                      : Status::Error(StringPrintf("could not look up effective user ID %ld",
                                                   static_cast<long>(geteuid())));
  }
  return std::string(pw->pw_name);
}

Status ValidateInitOptions(const InitOptions& options) {
  for (const auto& [method, kind] :
       {std::pair{&options.auth_local, "local"}, std::pair{&options.auth_host, "host"}}) {
    if (!IsKnownMethod(*method)) {
      return Status::Error(StringPrintf(
          "invalid authentication method \"%s\" for \"%s\" connections", method->c_str(), kind));
    }
  }
  if ((NeedsPassword(options.auth_local) || NeedsPassword(options.auth_host)) &&
      options.password.empty()) {
    return Status::Error(
        "must specify a password for the superuser to enable password authentication");
  }
  if (StartsWith(options.username, "pg_")) {
    return Status::Error("superuser name \"" + options.username +
                         "\" is disallowed; role names cannot begin with \"pg_\"");
  }
  return Status::Ok();
}

namespace {

// Everything of Create but the cleanup. *created: the directory itself was
// made here; *writing: the directory was accepted (new or empty) and files
// may have been written into it.
Status CreateLayout(const InitOptions& options, const std::string& username, bool* created,
                    bool* writing) {
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
      return MakeError("55000", "directory \"" + path + "\" exists but is not empty", {},
                       "If you want to create a new data directory, either remove or empty the "
                       "directory \"" +
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
    *created = true;
  } else {
    return Status::FromErrno("could not access directory \"" + path + "\"");
  }

  *writing = true;
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
  if (Status s = WriteFileAtomically(path + "/" + kHbaFile, HbaFileContent(options), 0600);
      !s.ok()) {
    return s;
  }
  if (internal::fail_before_catalog_for_testing) return Status::Error("injected failure");
  std::string verifier =
      options.password.empty() ? "" : crypto::MakePasswordVerifier(options.password, username);
  if (Status s = storage::Catalog::Initialize(path, username, verifier); !s.ok()) {
    return Status::Error("could not create the catalog: " + s.error().message);
  }
  return WriteControlState(path, ClusterState::kShutDown);
}

}  // namespace

Status Create(const InitOptions& options) {
  if (Status s = ValidateInitOptions(options); !s.ok()) return s;
  std::string username = options.username;
  if (username.empty()) {
    Result<std::string> os_user = OsUserName();
    if (!os_user.ok()) return os_user.status();
    username = *os_user;
  }
  bool created = false;
  bool writing = false;
  Status s = CreateLayout(options, username, &created, &writing);
  if (!s.ok() && writing) {
    // Like initdb: a failed init leaves nothing behind. Only a directory
    // that was new or empty gets here, so emptying it loses nothing.
    std::string path = options.path;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    EmptyDirectory(path);
    if (created) rmdir(path.c_str());
  }
  return s;
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
      return MakeError("58P01", "data directory \"" + path + "\" does not exist", {},
                       "Create it with \"bgw init -D " + path + "\".");
    }
    return Status::FromErrno("could not access data directory \"" + path + "\"");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error("specified data directory \"" + path + "\" is not a directory");
  }
  if (st.st_uid != geteuid()) {
    return MakeError("55000", "data directory \"" + path + "\" has wrong ownership", {},
                     "The server must be started by the user that owns the data directory.");
  }
  if ((st.st_mode & 0777) != 0700) {
    return MakeError(
        "55000", "data directory \"" + path + "\" has invalid permissions",
        StringPrintf("Permissions are %04o; they should be u=rwx (0700).", st.st_mode & 0777),
        "Run chmod 0700 \"" + path + "\".");
  }
  for (const char* f :
       {kVersionFile, kConfigFile, kHbaFile, "global", "base", kControlFile, kCatalogFile}) {
    std::string full = path + "/" + f;
    if (access(full.c_str(), F_OK) != 0) {
      return MakeError("55000", "\"" + path + "\" is not a valid data directory",
                       "File \"" + full + "\" is missing.");
    }
  }
  std::ifstream v(path + "/" + kVersionFile);
  int version = 0;
  if (!(v >> version) || version != kFormatVersion) {
    return MakeError("55000", "data directory \"" + path + "\" has an incompatible format",
                     StringPrintf("The data directory has format version %d; this server "
                                  "supports version %d.",
                                  version, kFormatVersion));
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
