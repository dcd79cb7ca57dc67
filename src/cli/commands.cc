// The `bgw` command's subcommands: init, run, start, stop, status, reload.
//
// Like PostgreSQL's initdb/postgres/pg_ctl folded into one binary. `start`
// re-executes this binary as `bgw run` in a new session with stderr sent to
// the data directory's log, then watches postmaster.pid until the server
// reports "ready" (or the child dies, and then shows why).
#include "cli/commands.h"

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/privilege.h"
#include "common/status.h"
#include "common/strutil.h"
#include "port/install_layout.h"
#include "port/process.h"
#include "postgres/pg_config.h"
#include "postmaster/datadir.h"
#include "postmaster/lockfile.h"
#include "postmaster/postmaster.h"

namespace bgw::cli {
namespace {

using Clock = std::chrono::steady_clock;

void PrintError(const Status& s) { std::fprintf(stderr, "bgw: error: %s\n", s.ToString().c_str()); }

// The commands that become or create the server (init, start, run) call this
// right after parsing their options, which touches nothing, and before
// anything else: no file is opened or created as root. Help and usage errors
// still work as root. Returns -1 to go on, else the exit status.
int RefuseIfPrivileged(const char* cmd) {
  Status s = CheckUnprivileged(CurrentUserIds(), cmd);
  if (s.ok()) return -1;
  PrintError(s);
  return kExitFailure;
}

int UsageError(const char* cmd, const std::string& what) {
  std::fprintf(stderr, "bgw %s: %s\nTry \"bgw %s --help\" for more information.\n", cmd,
               what.c_str(), cmd);
  return kExitUsage;
}

struct CommonArgs {
  std::string data_dir;
  std::vector<std::string> settings;
  std::string mode = "fast";
  int timeout_s = 60;
  std::string username;
  bool help = false;
};

// Parses the options a subcommand accepts (`allowed`: short option letters).
// Returns -1 on success, else the exit code to return.
int ParseArgs(const char* cmd, int argc, char** argv, const std::string& allowed, CommonArgs* out) {
  static const struct option kLong[] = {
      {"pgdata", required_argument, nullptr, 'D'},   {"help", no_argument, nullptr, 'h'},
      {"mode", required_argument, nullptr, 'm'},     {"timeout", required_argument, nullptr, 't'},
      {"username", required_argument, nullptr, 'U'}, {nullptr, 0, nullptr, 0}};
  std::string optstring = ":h";
  for (char c : allowed) optstring += std::string(1, c) + ":";
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, optstring.c_str(), kLong, nullptr)) != -1) {
    if (c != 'h' && c != '?' && c != ':' &&
        allowed.find(static_cast<char>(c)) == std::string::npos) {
      return UsageError(cmd, StringPrintf("invalid option \"%s\"", argv[optind - 1]));
    }
    switch (c) {
      case 'h':
        out->help = true;
        return -1;
      case 'D':
        out->data_dir = optarg;
        break;
      case 'c': {
        std::string a = optarg;
        if (a.find('=') == std::string::npos) {
          return UsageError(cmd, "-c " + a + " requires a value (name=value)");
        }
        out->settings.push_back(a);
        break;
      }
      case 'm':
        out->mode = optarg;
        if (out->mode == "s") out->mode = "smart";
        if (out->mode == "f") out->mode = "fast";
        if (out->mode == "i") out->mode = "immediate";
        if (out->mode != "smart" && out->mode != "fast" && out->mode != "immediate") {
          return UsageError(cmd, "unrecognized shutdown mode \"" + out->mode + "\"");
        }
        break;
      case 't': {
        char* end;
        long v = std::strtol(optarg, &end, 10);
        if (*end != '\0' || v <= 0 || v > 86400) {
          return UsageError(cmd, StringPrintf("invalid timeout \"%s\"", optarg));
        }
        out->timeout_s = static_cast<int>(v);
        break;
      }
      case 'U':
        out->username = optarg;
        break;
      case ':':
        return UsageError(cmd,
                          StringPrintf("option requires an argument -- \"%s\"", argv[optind - 1]));
      default:
        return UsageError(cmd, StringPrintf("invalid option \"%s\"", argv[optind - 1]));
    }
  }
  if (optind < argc) {
    return UsageError(
        cmd, StringPrintf("too many command-line arguments (first is \"%s\")", argv[optind]));
  }
  if (out->data_dir.empty()) {
    const char* env = std::getenv("BGWDATA");
    if (env != nullptr) out->data_dir = env;
  }
  if (out->data_dir.empty()) {
    return UsageError(cmd, "no data directory specified (use -D or set BGWDATA)");
  }
  return -1;
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "bgw";
  buf[n] = '\0';
  return buf;
}

std::string PidFilePath(const std::string& dir) { return dir + "/" + datadir::kPidFile; }

// Last `n` lines of `path` starting at byte `from`.
std::string TailFrom(const std::string& path, off_t from, size_t n) {
  std::ifstream in(path);
  if (!in) return {};
  in.seekg(from);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > n) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

// Running server on `dir`, if any: pid > 0 when postmaster.pid names a live
// postmaster.
pid_t RunningPostmaster(const std::string& dir, PidFileInfo* info) {
  Result<PidFileInfo> r = ReadLockFile(PidFilePath(dir));
  if (!r.ok()) return 0;
  if (info != nullptr) *info = *r;
  return IsLivePostmaster(r->pid, r->data_dir) ? r->pid : 0;
}

// Asks the postmaster (SIGUSR2) to write postmaster.status and returns its
// report, or "" if no fresh report appears within two seconds.
std::string RequestStatusReport(const std::string& dir, pid_t pid) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long asked = static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
  if (kill(pid, SIGUSR2) != 0) return "";
  std::string path = dir + "/postmaster.status";
  auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    std::ifstream in(path);
    std::string first;
    if (in && std::getline(in, first) && StartsWith(first, "generated: ") &&
        std::atoll(first.c_str() + 11) >= asked) {
      std::string rest, line;
      while (std::getline(in, line)) rest += "  " + line + "\n";
      return rest;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

const char* kInitHelp =
    "bgw init creates a new data directory.\n\n"
    "Usage:\n  bgw init -D DATADIR [OPTION]...\n\n"
    "Options:\n"
    "  -D, --pgdata=DATADIR      location of the new data directory (or $BGWDATA)\n"
    "  -U, --username=NAME       name of the initial superuser (default: the OS user)\n"
    "  -A, --auth=METHOD         default authentication method for local and host\n"
    "                            connections (default: trust)\n"
    "      --auth-local=METHOD   authentication method for local (Unix socket) connections\n"
    "      --auth-host=METHOD    authentication method for host (TCP/IP) connections\n"
    "      --pwfile=FILE         read the superuser's password from the first line of FILE\n"
    "  -h, --help                show this help, then exit\n\n"
    "METHOD: trust, reject, scram-sha-256, md5 or password. A password method\n"
    "needs --pwfile. The directory must not exist or be empty; it is created with\n"
    "mode 0700. Run it as the unprivileged user that is to run the server: as root\n"
    "it refuses (exit status 1).\n"
    "Exit status: 0 created, 1 failed, 2 usage error.\n";

const char* kRunHelp =
    "bgw run runs the server in the foreground until it is stopped.\n\n"
    "Usage:\n  bgw run -D DATADIR [-c NAME=VALUE]...\n\n"
    "Options:\n"
    "  -D, --pgdata=DATADIR   data directory (or $BGWDATA)\n"
    "  -c NAME=VALUE          set a configuration parameter (overrides bgw.conf)\n"
    "  -h, --help             show this help, then exit\n\n"
    "Signals: SIGTERM smart shutdown, SIGINT (Ctrl-C) fast, SIGQUIT immediate,\n"
    "SIGHUP reload the configuration.\n"
    "Run it as the unprivileged user that owns DATADIR: as root it refuses.\n"
    "Exit status: 0 after a requested shutdown, 1 on a startup failure (running as\n"
    "root is one) or a crash with restart_after_crash off, 2 usage error.\n";

const char* kStartHelp =
    "bgw start starts the server in the background.\n\n"
    "Usage:\n  bgw start -D DATADIR [-c NAME=VALUE]... [-t SECS]\n\n"
    "Options:\n"
    "  -D, --pgdata=DATADIR   data directory (or $BGWDATA)\n"
    "  -c NAME=VALUE          set a configuration parameter (overrides bgw.conf)\n"
    "  -t, --timeout=SECS     seconds to wait for the server to accept connections\n"
    "                         (default 60)\n"
    "  -h, --help             show this help, then exit\n\n"
    "Returns once the server accepts connections. The server's stderr goes to\n"
    "DATADIR/log/bgw.log; on failure the reason and the log's last lines are shown.\n"
    "Run it as the unprivileged user that owns DATADIR: as root it refuses (exit\n"
    "status 1) before it opens anything.\n"
    "Exit status: 0 started, 1 failed, 2 usage error.\n";

const char* kStopHelp =
    "bgw stop stops a running server and waits until it has stopped.\n\n"
    "Usage:\n  bgw stop -D DATADIR [-m smart|fast|immediate] [-t SECS]\n\n"
    "Options:\n"
    "  -D, --pgdata=DATADIR   data directory (or $BGWDATA)\n"
    "  -m, --mode=MODE        smart: wait for clients to disconnect; fast (default):\n"
    "                         terminate sessions and workers cleanly; immediate: quit\n"
    "                         at once (recovery runs at the next start)\n"
    "  -t, --timeout=SECS     seconds to wait (default 60)\n"
    "  -h, --help             show this help, then exit\n\n"
    "Exit status: 0 stopped, 1 failed or timed out, 2 usage error, 3 not running.\n";

const char* kStatusHelp =
    "bgw status shows whether a server is running on a data directory.\n\n"
    "Usage:\n  bgw status -D DATADIR\n\n"
    "Exit status: 0 running, 2 usage error, 3 not running, 4 no accessible data\n"
    "directory.\n";

const char* kReloadHelp =
    "bgw reload makes a running server re-read its configuration (SIGHUP).\n\n"
    "Usage:\n  bgw reload -D DATADIR\n\n"
    "Exit status: 0 signaled, 1 failed, 2 usage error, 3 not running.\n";

}  // namespace

const char* MainHelp() {
  return "bgw runs and controls a bgworker server: PostgreSQL's background worker\n"
         "system as a standalone server.\n\n"
         "Usage:\n  bgw COMMAND [OPTIONS]\n\n"
         "Commands:\n"
         "  init     create a new data directory\n"
         "  run      run the server in the foreground\n"
         "  start    start the server in the background\n"
         "  stop     stop a running server\n"
         "  status   show whether a server is running\n"
         "  reload   make a running server re-read its configuration\n"
         "  config   show how to build modules (like pg_config)\n\n"
         "Run \"bgw COMMAND --help\" for a command's options.\n"
         "Common exit status: 0 success, 1 failure, 2 usage error, 3 server not running,\n"
         "4 no accessible data directory.\n";
}

namespace {

// `bgw init` has options no other command takes (initdb's), so it parses its
// own command line. Returns -1 on success, else the exit code.
int ParseInitArgs(int argc, char** argv, datadir::InitOptions* out, std::string* pwfile, bool* help,
                  bool* auth_defaulted) {
  enum { kAuthLocal = 1000, kAuthHost, kPwfile };
  static const struct option kLong[] = {{"pgdata", required_argument, nullptr, 'D'},
                                        {"username", required_argument, nullptr, 'U'},
                                        {"auth", required_argument, nullptr, 'A'},
                                        {"auth-local", required_argument, nullptr, kAuthLocal},
                                        {"auth-host", required_argument, nullptr, kAuthHost},
                                        {"pwfile", required_argument, nullptr, kPwfile},
                                        {"help", no_argument, nullptr, 'h'},
                                        {nullptr, 0, nullptr, 0}};
  std::string auth, auth_local, auth_host;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":hD:U:A:", kLong, nullptr)) != -1) {
    switch (c) {
      case 'h':
        *help = true;
        return -1;
      case 'D':
        out->path = optarg;
        break;
      case 'U':
        out->username = optarg;
        if (out->username.empty()) return UsageError("init", "superuser name must not be empty");
        break;
      case 'A':
        auth = optarg;
        break;
      case kAuthLocal:
        auth_local = optarg;
        break;
      case kAuthHost:
        auth_host = optarg;
        break;
      case kPwfile:
        *pwfile = optarg;
        break;
      case ':':
        return UsageError("init",
                          StringPrintf("option requires an argument -- \"%s\"", argv[optind - 1]));
      default:
        return UsageError("init", StringPrintf("invalid option \"%s\"", argv[optind - 1]));
    }
  }
  if (optind < argc) {
    return UsageError(
        "init", StringPrintf("too many command-line arguments (first is \"%s\")", argv[optind]));
  }
  // As initdb: --auth sets both; --auth-local/--auth-host win over it.
  out->auth_local = !auth_local.empty() ? auth_local : !auth.empty() ? auth : "trust";
  out->auth_host = !auth_host.empty() ? auth_host : !auth.empty() ? auth : "trust";
  *auth_defaulted = auth.empty() && (auth_local.empty() || auth_host.empty());
  if (out->path.empty()) {
    const char* env = std::getenv("BGWDATA");
    if (env != nullptr) out->path = env;
  }
  if (out->path.empty()) {
    return UsageError("init", "no data directory specified (use -D or set BGWDATA)");
  }
  // Method and password problems are usage errors, found before anything
  // is created. The password itself is checked after reading --pwfile.
  datadir::InitOptions check = *out;
  if (!pwfile->empty()) check.password = "x";
  if (Status s = datadir::ValidateInitOptions(check); !s.ok()) {
    return UsageError("init", s.message());
  }
  return -1;
}

}  // namespace

int Init(int argc, char** argv) {
  datadir::InitOptions o;
  std::string pwfile;
  bool help = false;
  bool auth_defaulted = false;
  if (int rc = ParseInitArgs(argc, argv, &o, &pwfile, &help, &auth_defaulted); rc >= 0) return rc;
  if (help) return std::printf("%s", kInitHelp), kExitOk;
  if (int rc = RefuseIfPrivileged("init"); rc >= 0) return rc;
  if (!pwfile.empty()) {
    std::ifstream in(pwfile);
    if (!in) {
      PrintError(Status::FromErrno("could not open file \"" + pwfile + "\" for reading"));
      return kExitFailure;
    }
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      PrintError(Status::Error("password file \"" + pwfile + "\" is empty"));
      return kExitFailure;
    }
    o.password = line;
  }
  if (Status s = datadir::Create(o); !s.ok()) {
    PrintError(s);
    return kExitFailure;
  }
  if (auth_defaulted) {
    // initdb's reminder when no method was chosen: whoever can reach the
    // server is the superuser.
    std::fprintf(stderr,
                 "bgw init: warning: enabling \"trust\" authentication for local connections\n"
                 "bgw init: hint: You can change this by editing hba.conf or using the option "
                 "-A, or --auth-local and --auth-host, the next time you run bgw init.\n");
  }
  std::printf(
      "Data directory \"%s\" created.\n\nStart the server with:\n\n    bgw start -D %s\n\n"
      "or in the foreground with:\n\n    bgw run -D %s\n",
      o.path.c_str(), o.path.c_str(), o.path.c_str());
  return kExitOk;
}

int Run(int argc, char** argv) {
  CommonArgs a;
  if (int rc = ParseArgs("run", argc, argv, "Dc", &a); rc >= 0) return rc;
  if (a.help) return std::printf("%s", kRunHelp), kExitOk;
  if (int rc = RefuseIfPrivileged("run"); rc >= 0) return rc;
  Result<std::string> dir = datadir::Canonicalize(a.data_dir);
  if (!dir.ok()) {
    PrintError(dir.status());
    return kExitFailure;
  }
  PostmasterOptions o;
  o.data_dir = *dir;
  o.settings = a.settings;
  return PostmasterMain(o);
}

int Start(int argc, char** argv) {
  CommonArgs a;
  if (int rc = ParseArgs("start", argc, argv, "Dct", &a); rc >= 0) return rc;
  if (a.help) return std::printf("%s", kStartHelp), kExitOk;
  if (int rc = RefuseIfPrivileged("start"); rc >= 0) return rc;
  Result<std::string> dir = datadir::Canonicalize(a.data_dir);
  if (!dir.ok()) {
    PrintError(dir.status());
    return kExitFailure;
  }
  if (Status s = datadir::Check(*dir); !s.ok()) {
    PrintError(s);
    return kExitFailure;
  }
  if (pid_t other = RunningPostmaster(*dir, nullptr); other > 0) {
    std::fprintf(stderr,
                 "bgw: another server (PID %d) might be running; trying to start server "
                 "anyway\n",
                 static_cast<int>(other));
  }
  std::string log_path = *dir + "/log/bgw.log";
  int log_fd = open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    PrintError(Status::FromErrno("could not open log file \"" + log_path + "\""));
    return kExitFailure;
  }
  struct stat st;
  off_t log_start = fstat(log_fd, &st) == 0 ? st.st_size : 0;

  std::vector<std::string> args = {"bgw", "run", "-D", *dir};
  for (const auto& s : a.settings) {
    args.push_back("-c");
    args.push_back(s);
  }
  std::string exe = SelfExe();
  fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    PrintError(Status::FromErrno("could not fork"));
    return kExitFailure;
  }
  if (child == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (devnull > 0) close(devnull);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    std::vector<char*> cargv;
    for (auto& s : args) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    execv(exe.c_str(), cargv.data());
    std::fprintf(stderr, "bgw: could not execute \"%s\": %s\n", exe.c_str(),
                 ErrnoText(errno).c_str());
    _exit(1);
  }
  close(log_fd);

  std::printf("waiting for server to start...");
  std::fflush(stdout);
  auto deadline = Clock::now() + std::chrono::seconds(a.timeout_s);
  while (Clock::now() < deadline) {
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
      std::printf(" stopped waiting\n");
      std::fprintf(stderr, "bgw: could not start server\nExamine the log output (%s):\n%s",
                   log_path.c_str(), TailFrom(log_path, log_start, 20).c_str());
      return kExitFailure;
    }
    Result<PidFileInfo> info = ReadLockFile(PidFilePath(*dir));
    if (info.ok() && info->pid == child && info->status == Trim(kStatusReady)) {
      std::printf(" done\nserver started\n");
      return kExitOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf(" stopped waiting\n");
  std::fprintf(stderr,
               "bgw: server did not start in time (%d s); it is still starting (PID %d)\n"
               "Examine the log output (%s):\n%s",
               a.timeout_s, static_cast<int>(child), log_path.c_str(),
               TailFrom(log_path, log_start, 20).c_str());
  return kExitFailure;
}

int Stop(int argc, char** argv) {
  CommonArgs a;
  if (int rc = ParseArgs("stop", argc, argv, "Dmt", &a); rc >= 0) return rc;
  if (a.help) return std::printf("%s", kStopHelp), kExitOk;
  PidFileInfo info;
  pid_t pid = RunningPostmaster(a.data_dir, &info);
  if (pid == 0) {
    if (info.pid > 0) {
      std::fprintf(stderr, "bgw: no server running (stale PID file names PID %d)\n",
                   static_cast<int>(info.pid));
    } else {
      std::fprintf(stderr, "bgw: PID file \"%s\" does not exist\nIs server running?\n",
                   PidFilePath(a.data_dir).c_str());
    }
    return kExitNotRunning;
  }
  int sig = a.mode == "smart" ? SIGTERM : a.mode == "immediate" ? SIGQUIT : SIGINT;
  if (kill(pid, sig) != 0) {
    PrintError(Status::FromErrno(StringPrintf("could not send stop signal (PID: %d)", pid)));
    return kExitFailure;
  }
  std::printf("waiting for server to shut down...");
  std::fflush(stdout);
  auto deadline = Clock::now() + std::chrono::seconds(a.timeout_s);
  while (Clock::now() < deadline) {
    bool gone = !ProcessIsRunning(pid);
    if (gone || access(PidFilePath(a.data_dir).c_str(), F_OK) != 0) {
      // The pid file goes last thing before exit; wait for the process too.
      while (!gone && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        gone = !ProcessIsRunning(pid);
      }
      if (gone) {
        std::printf(" done\nserver stopped\n");
        return kExitOk;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf(" failed\n");
  std::fprintf(stderr, "bgw: server does not shut down (PID %d)\n", static_cast<int>(pid));
  return kExitFailure;
}

int StatusCmd(int argc, char** argv) {
  CommonArgs a;
  if (int rc = ParseArgs("status", argc, argv, "D", &a); rc >= 0) return rc;
  if (a.help) return std::printf("%s", kStatusHelp), kExitOk;
  struct stat st;
  std::string version = a.data_dir + "/" + datadir::kVersionFile;
  if (stat(a.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      access(version.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "bgw: directory \"%s\" is not a data directory\n", a.data_dir.c_str());
    return kExitNoDataDir;
  }
  PidFileInfo info;
  pid_t pid = RunningPostmaster(a.data_dir, &info);
  if (pid == 0) {
    std::printf("no server running\n");
    return kExitNotRunning;
  }
  std::printf("server is running (PID: %d)\n", static_cast<int>(pid));
  std::printf("  data directory:   %s\n", info.data_dir.c_str());
  std::printf("  state:            %s\n", info.status.c_str());
  std::printf("  port:             %d\n", info.port);
  if (!info.socket_dir.empty()) std::printf("  socket directory: %s\n", info.socket_dir.c_str());
  if (!info.listen_addr.empty()) std::printf("  listen address:   %s\n", info.listen_addr.c_str());
  std::string report = RequestStatusReport(a.data_dir, pid);
  if (report.empty()) {
    std::printf("  (the server did not answer the status request)\n");
  } else {
    std::printf("%s", report.c_str());
  }
  return kExitOk;
}

int Reload(int argc, char** argv) {
  CommonArgs a;
  if (int rc = ParseArgs("reload", argc, argv, "D", &a); rc >= 0) return rc;
  if (a.help) return std::printf("%s", kReloadHelp), kExitOk;
  pid_t pid = RunningPostmaster(a.data_dir, nullptr);
  if (pid == 0) {
    std::fprintf(stderr, "bgw: no server running\n");
    return kExitNotRunning;
  }
  if (kill(pid, SIGHUP) != 0) {
    PrintError(Status::FromErrno(StringPrintf("could not send reload signal (PID: %d)", pid)));
    return kExitFailure;
  }
  std::printf("server signaled\n");
  return kExitOk;
}

int Config(int argc, char** argv) {
  // PostgreSQL's pg_config items, in its order and with its names, so that
  // PGXS-style Makefiles (pgxs/pgxs.mk) and scripts that parse pg_config
  // work; the paths are install_layout.h's, the ones the server uses.
  const InstallLayout& l = Layout();
  const std::string cppflags = "-D_GNU_SOURCE";
  // One-line builds (gcc $(bgw config --cflags) -shared ...) get the include
  // paths too; PGXS adds its own warning flags.
  const std::string cflags =
      "-I" + l.includedir_server + " -I" + l.includedir + " -fPIC " + cppflags;
  struct Item {
    const char* flag;
    std::string value;
  } const items[] = {
      {"--bindir", l.bindir},
      {"--docdir", l.sharedir + "/doc"},
      {"--htmldir", l.sharedir + "/doc"},
      {"--includedir", l.includedir_server},
      {"--pkgincludedir", l.includedir_server},
      {"--includedir-server", l.includedir_server},
      {"--libdir", l.libdir},
      {"--pkglibdir", l.pkglibdir},
      {"--localedir", l.sharedir + "/locale"},
      {"--mandir", l.sharedir + "/man"},
      {"--sharedir", l.sharedir},
      {"--sysconfdir", l.sharedir + "/etc"},
      {"--pgxs", l.pgxs},
      {"--configure", "'--with-bgworker'"},
      {"--cc", "gcc"},
      {"--cppflags", cppflags},
      {"--cflags", cflags},
      {"--cflags_sl", "-fPIC"},
      {"--ldflags", ""},
      {"--ldflags_ex", ""},
      {"--ldflags_sl", "-shared"},
      {"--libs", ""},
      {"--cmakedir", l.cmakedir},
      {"--version", std::string("PostgreSQL ") + PG_VERSION},
  };
  if (argc < 2) {
    for (const Item& i : items) {
      std::string name(i.flag + 2);
      for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::printf("%s = %s\n", name.c_str(), i.value.c_str());
    }
    return kExitOk;
  }
  for (int k = 1; k < argc; k++) {
    std::string arg = argv[k];
    if (arg == "--help" || arg == "-h" || arg == "-?") {
      std::printf(
          "bgw config (also run as pg_config) prints how to build modules for this server.\n\n"
          "Usage:\n  bgw config [OPTION]...\n  pg_config [OPTION]...\n\nOptions:\n"
          "  --bindir, --docdir, --htmldir, --includedir, --pkgincludedir,\n"
          "  --includedir-server, --libdir, --pkglibdir, --localedir, --mandir,\n"
          "  --sharedir, --sysconfdir, --pgxs, --configure, --cc, --cppflags, --cflags,\n"
          "  --cflags_sl, --ldflags, --ldflags_ex, --ldflags_sl, --libs, --cmakedir,\n"
          "  --version (the PostgreSQL API version the server implements)\n\n"
          "With no option, prints every item. A module builds with its own PGXS\n"
          "Makefile (make PG_CONFIG=%s/pg_config install), or with:\n"
          "  gcc $(bgw config --cflags) -shared -o my_module.so my_module.c\n"
          "Exit status: 0 success, 2 unknown option.\n",
          l.bindir.c_str());
      return kExitOk;
    }
    bool found = false;
    for (const Item& i : items) {
      if (arg == i.flag) {
        std::printf("%s\n", i.value.c_str());
        found = true;
      }
    }
    if (!found) return UsageError("config", "invalid argument: " + arg);
  }
  return kExitOk;
}

}  // namespace bgw::cli
