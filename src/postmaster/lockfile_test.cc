// Tests of lock files (postmaster.pid and socket locks): the format written
// and parsed, line updates, removal only by the creating process, and the
// decision Create() makes about an existing file: refuse a live postmaster
// (a process whose title starts with "bgw: postmaster") and a shared memory
// interlock still attached; replace anything stale (dead pid, zombie, a live
// process that is not a postmaster, our own pid).
//
// A "live postmaster" is simulated by exec'ing sleep with argv[0] set to the
// title, which is exactly what /proc/PID/cmdline shows.
#include "postmaster/lockfile.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/strutil.h"
#include "ipc/ipc_testing.h"
#include "ipc/segment.h"

namespace bgw {
namespace {

using bgw::testing::WaitExit;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

std::string Cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string first;
  std::getline(in, first, '\0');
  return first;
}

// A child process running `sleep` under the given argv[0]; killed and reaped
// when destroyed.
class TitledProcess {
 public:
  explicit TitledProcess(const std::string& title) {
    fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      execlp("sleep", title.c_str(), "120", static_cast<char*>(nullptr));
      _exit(127);
    }
    // Wait for the exec to show in /proc.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pid_ > 0 && Cmdline(pid_) != title && std::chrono::steady_clock::now() < deadline) {
      usleep(1000);
    }
    ready_ = pid_ > 0 && Cmdline(pid_) == title;
  }
  ~TitledProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      WaitExit(pid_);
    }
  }
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

// A pid that belonged to a process which has exited and been reaped.
pid_t DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  WaitExit(pid);
  return pid;
}

class LockFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bgw_lockfile_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/postmaster.pid";
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }

  // A lock file as another postmaster would have left it.
  void WriteForeignLock(const std::string& path, pid_t pid, int shm_id = -1,
                        const std::string& data_dir = "/other/data") {
    WriteFile(path, std::to_string(pid) + "\n" + data_dir + "\n1700000000\n5432\n/tmp\n*\n" +
                        (shm_id >= 0 ? "0 " + std::to_string(shm_id) : "") + "\nready   \n");
  }

  // Creates a lock that must succeed, and checks it is now ours.
  void ExpectReplaced(const std::string& path, bool data_dir_lock) {
    Result<LockFile> lf = LockFile::Create(path, dir_, data_dir_lock);
    ASSERT_TRUE(lf.ok()) << lf.status().message();
    Result<PidFileInfo> info = ReadLockFile(path);
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_EQ(info->pid, getpid());
    EXPECT_EQ(info->data_dir, dir_);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(LockFileTest, CreateWritesPidDataDirAndStartTime) {
  time_t before = time(nullptr);
  Result<LockFile> lf = LockFile::Create(path_, "/some/data", false);
  time_t after = time(nullptr);
  ASSERT_TRUE(lf.ok()) << lf.status().message();
  EXPECT_EQ(lf->path(), path_);
  std::string content = ReadFile(path_);
  std::vector<std::string> lines = SplitTrimmed(content, '\n');
  ASSERT_EQ(lines.size(), 4u) << content;  // three lines and the final newline
  EXPECT_EQ(lines[0], std::to_string(getpid()));
  EXPECT_EQ(lines[1], "/some/data");
  EXPECT_EQ(lines[3], "");

  Result<PidFileInfo> info = ReadLockFile(path_);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->pid, getpid());
  EXPECT_EQ(info->data_dir, "/some/data");
  EXPECT_GE(info->start_time, before);
  EXPECT_LE(info->start_time, after);
  EXPECT_EQ(info->port, 0);
  EXPECT_EQ(info->shm_id, -1);
  EXPECT_EQ(info->status, "");

  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The private file used to build it is gone.
  EXPECT_EQ(DirEntries(dir_), std::vector<std::string>{"postmaster.pid"});
}

TEST_F(LockFileTest, DestructorAndRemoveDeleteTheFile) {
  {
    Result<LockFile> lf = LockFile::Create(path_, dir_, true);
    ASSERT_TRUE(lf.ok());
    EXPECT_TRUE(Exists(path_));
  }
  EXPECT_FALSE(Exists(path_));

  Result<LockFile> lf = LockFile::Create(path_, dir_, true);
  ASSERT_TRUE(lf.ok());
  lf->Remove();
  EXPECT_FALSE(Exists(path_));
  // Once removed it is no longer ours: a new file at the path survives.
  WriteFile(path_, "someone else's\n");
  lf->Remove();
  EXPECT_TRUE(Exists(path_));
}

TEST_F(LockFileTest, SetLineFillsMissingLinesAndRewritesAtomically) {
  Result<LockFile> lf = LockFile::Create(path_, dir_, true);
  ASSERT_TRUE(lf.ok());
  ASSERT_TRUE(lf->SetLine(kLockLineStatus, kStatusStarting).ok());
  std::vector<std::string> lines = SplitTrimmed(ReadFile(path_), '\n');
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_EQ(lines[3], "");
  EXPECT_EQ(lines[6], "");
  EXPECT_EQ(lines[7], "starting");

  ASSERT_TRUE(lf->SetLines({{kLockLinePort, "5433"},
                            {kLockLineSocketDir, "/run/bgw"},
                            {kLockLineListenAddr, "localhost"},
                            {kLockLineShmemKey, "0 12345"},
                            {kLockLineStatus, kStatusReady}})
                  .ok());
  Result<PidFileInfo> info = ReadLockFile(path_);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->pid, getpid());
  EXPECT_EQ(info->data_dir, dir_);
  EXPECT_EQ(info->port, 5433);
  EXPECT_EQ(info->socket_dir, "/run/bgw");
  EXPECT_EQ(info->listen_addr, "localhost");
  EXPECT_EQ(info->shm_id, 12345);
  EXPECT_EQ(info->status, "ready");  // trimmed
  EXPECT_EQ(DirEntries(dir_), std::vector<std::string>{"postmaster.pid"});

  // A later line update keeps the others.
  ASSERT_TRUE(lf->SetLine(kLockLineStatus, kStatusStopping).ok());
  info = ReadLockFile(path_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, "stopping");
  EXPECT_EQ(info->port, 5433);
  EXPECT_EQ(info->shm_id, 12345);
}

TEST_F(LockFileTest, SetLineFailsWhenTheDirectoryIsGone) {
  std::string sub = dir_ + "/sub";
  ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
  Result<LockFile> lf = LockFile::Create(sub + "/x.lock", dir_, false);
  ASSERT_TRUE(lf.ok());
  ASSERT_EQ(unlink((sub + "/x.lock").c_str()), 0);
  ASSERT_EQ(rmdir(sub.c_str()), 0);
  Status s = lf->SetLine(kLockLinePort, "1");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("could not write lock file"), std::string::npos) << s.message();
}

TEST_F(LockFileTest, ReadLockFileReportsMissingFile) {
  Result<PidFileInfo> info = ReadLockFile(path_);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().message(),
            "could not open file \"" + path_ + "\": No such file or directory");
}

TEST_F(LockFileTest, ReadLockFileRejectsBogusPids) {
  for (const char* content : {"", "\n", "abc\n/data\n", "0\n/data\n", "-5\n/data\n"}) {
    WriteFile(path_, content);
    Result<PidFileInfo> info = ReadLockFile(path_);
    ASSERT_FALSE(info.ok()) << '"' << content << '"';
    EXPECT_EQ(info.status().message(), "bogus data in lock file \"" + path_ + "\"");
  }
}

TEST_F(LockFileTest, ReadLockFileToleratesShortFilesAndOddShmemLines) {
  WriteFile(path_, "1234\n");
  Result<PidFileInfo> info = ReadLockFile(path_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->pid, 1234);
  EXPECT_EQ(info->data_dir, "");
  EXPECT_EQ(info->shm_id, -1);

  WriteFile(path_, "1234\n/d\n1\n2\n/s\n*\n  17   99 \n");
  info = ReadLockFile(path_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->shm_id, 99);

  WriteFile(path_, "1234\n/d\n1\n2\n/s\n*\nonly-one-number\n");
  info = ReadLockFile(path_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->shm_id, -1);
}

TEST_F(LockFileTest, IsLivePostmasterFalseCases) {
  EXPECT_FALSE(IsLivePostmaster(0));
  EXPECT_FALSE(IsLivePostmaster(-1));
  EXPECT_FALSE(IsLivePostmaster(DeadPid()));
  EXPECT_FALSE(IsLivePostmaster(getpid())) << "the test binary is not a postmaster";
  TitledProcess other("bgw: backend alice");
  ASSERT_TRUE(other.ready());
  EXPECT_FALSE(IsLivePostmaster(other.pid()));
  TitledProcess lookalike("postmaster");
  ASSERT_TRUE(lookalike.ready());
  EXPECT_FALSE(IsLivePostmaster(lookalike.pid()));
}

TEST_F(LockFileTest, IsLivePostmasterTrueForTheTitle) {
  TitledProcess pm("bgw: postmaster -D /data");
  ASSERT_TRUE(pm.ready());
  EXPECT_TRUE(IsLivePostmaster(pm.pid()));
}

// An exited, unreaped child still answers kill(pid, 0), but is not running.
TEST_F(LockFileTest, ZombieIsNotALivePostmaster) {
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(gate[1]);
    char c;
    (void)!read(gate[0], &c, 1);  // EOF once the parent closes its end
    _exit(0);
  }
  close(gate[0]);
  close(gate[1]);  // the child exits and stays a zombie until reaped
  siginfo_t info = {};
  ASSERT_EQ(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(kill(pid, 0), 0) << "still a zombie";
  EXPECT_FALSE(IsLivePostmaster(pid));
  WaitExit(pid);
}

TEST_F(LockFileTest, RefusesALivePostmaster) {
  TitledProcess pm("bgw: postmaster " + dir_);
  ASSERT_TRUE(pm.ready());
  WriteForeignLock(path_, pm.pid());
  std::string before = ReadFile(path_);
  Result<LockFile> lf = LockFile::Create(path_, dir_, true);
  ASSERT_FALSE(lf.ok());
  EXPECT_EQ(lf.status().ToString(),
            "lock file \"" + path_ + "\" already exists\nHINT:  Is another postmaster (PID " +
                std::to_string(pm.pid()) + ") running in data directory \"" + dir_ + "\"?");
  EXPECT_EQ(ReadFile(path_), before) << "the other server's file is untouched";
  EXPECT_EQ(DirEntries(dir_), std::vector<std::string>{"postmaster.pid"});
}

TEST_F(LockFileTest, SocketLockNamesTheOtherServersDataDirectory) {
  TitledProcess pm("bgw: postmaster /their/data");
  ASSERT_TRUE(pm.ready());
  std::string sock_lock = dir_ + "/.s.PGSQL.5432.lock";
  WriteForeignLock(sock_lock, pm.pid(), -1, "/their/data");
  Result<LockFile> lf = LockFile::Create(sock_lock, dir_, false);
  ASSERT_FALSE(lf.ok());
  EXPECT_EQ(lf.status().ToString(),
            "lock file \"" + sock_lock + "\" already exists\nHINT:  Is another postmaster (PID " +
                std::to_string(pm.pid()) + ") running in socket directory \"/their/data\"?");
}

TEST_F(LockFileTest, ReplacesALockOfADeadProcess) {
  WriteForeignLock(path_, DeadPid());
  ExpectReplaced(path_, true);
}

// A recycled pid that now belongs to another data directory's postmaster.
TEST_F(LockFileTest, ReplacesALockOfAPostmasterOfAnotherDirectory) {
  TitledProcess pm("bgw: postmaster /elsewhere");
  ASSERT_TRUE(pm.ready());
  WriteForeignLock(path_, pm.pid());
  ExpectReplaced(path_, true);
}

// Two servers starting at once: the data directory's flock lets one decide.
TEST_F(LockFileTest, SecondCreatorIsRefusedWhileTheFirstHoldsTheDirectory) {
  Result<LockFile> first = LockFile::Create(path_, dir_, true);
  ASSERT_TRUE(first.ok()) << first.status().message();
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Another process (as a second postmaster would be), same directory.
    Result<LockFile> second = LockFile::Create(path_ + ".other", dir_, true);
    _exit(second.ok() ? 1 : 0);
  }
  EXPECT_EQ(WaitExit(pid), 0) << "the second creator must be refused";
}

TEST_F(LockFileTest, ReplacesALockOfALiveProcessThatIsNotAPostmaster) {
  TitledProcess other("sleep");
  ASSERT_TRUE(other.ready());
  WriteForeignLock(path_, other.pid());
  ExpectReplaced(path_, true);
}

// After a restart a recycled pid may be our own: that is not another server.
TEST_F(LockFileTest, ReplacesALockNamingOurOwnPid) {
  WriteForeignLock(path_, getpid());
  ExpectReplaced(path_, true);
}

TEST_F(LockFileTest, RefusesAnEmptyOrCorruptLock) {
  for (const char* content : {"", "garbage\n"}) {
    WriteFile(path_, content);
    Result<LockFile> lf = LockFile::Create(path_, dir_, true);
    ASSERT_FALSE(lf.ok()) << '"' << content << '"';
    EXPECT_EQ(lf.status().ToString(),
              "lock file \"" + path_ +
                  "\" is empty or corrupt\nHINT:  Either another server is starting, or the lock "
                  "file is the remnant of a previous server startup crash.");
    EXPECT_EQ(ReadFile(path_), content);
  }
}

TEST_F(LockFileTest, FailsWhenTheDirectoryDoesNotExist) {
  Result<LockFile> lf = LockFile::Create(dir_ + "/missing/postmaster.pid", dir_, true);
  ASSERT_FALSE(lf.ok());
  EXPECT_NE(lf.status().message().find("could not write lock file"), std::string::npos)
      << lf.status().message();
  EXPECT_NE(lf.status().message().find("No such file or directory"), std::string::npos);
}

// Children of a dead postmaster still attached to its interlock segment: the
// data directory lock is refused, a socket lock is not concerned.
TEST_F(LockFileTest, RefusesWhileTheInterlockIsStillAttached) {
  int report[2], release[2];
  ASSERT_EQ(pipe(report), 0);
  ASSERT_EQ(pipe(release), 0);
  fflush(nullptr);
  pid_t old_server = fork();
  ASSERT_GE(old_server, 0);
  if (old_server == 0) {
    close(report[0]);
    close(release[1]);
    if (!shmem::CreateInterlock().ok()) _exit(2);
    int id = shmem::InterlockId();
    if (write(report[1], &id, sizeof id) != sizeof id) _exit(3);
    char c;
    while (read(release[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(report[1]);
  close(release[0]);
  int id = -1;
  ASSERT_EQ(read(report[0], &id, sizeof id), static_cast<ssize_t>(sizeof id));
  close(report[0]);
  ASSERT_TRUE(shmem::InterlockInUse(id, old_server));

  WriteForeignLock(path_, old_server, id);
  Result<LockFile> lf = LockFile::Create(path_, dir_, true);
  ASSERT_FALSE(lf.ok());
  EXPECT_EQ(lf.status().ToString(),
            "pre-existing shared memory block (key 0, ID " + std::to_string(id) +
                ") is still in use\nHINT:  Terminate any old server processes associated with "
                "data directory \"" +
                dir_ + "\".");
  EXPECT_TRUE(Exists(path_));

  std::string sock_lock = dir_ + "/.s.PGSQL.5432.lock";
  WriteForeignLock(sock_lock, old_server, id);
  ExpectReplaced(sock_lock, false);

  close(release[1]);
  EXPECT_EQ(WaitExit(old_server), 0);
  ExpectReplaced(path_, true);
}

// A forked child holds a copy of the LockFile; only the creator removes it.
TEST_F(LockFileTest, ForkedChildDoesNotRemoveTheParentsLock) {
  Result<LockFile> lf = LockFile::Create(path_, dir_, true);
  ASSERT_TRUE(lf.ok());
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    lf->Remove();
    _exit(Exists(path_) ? 0 : 1);
  }
  EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_TRUE(Exists(path_));
}

TEST_F(LockFileTest, MoveTransfersOwnership) {
  std::string other_path = dir_ + "/other.lock";
  {
    Result<LockFile> a = LockFile::Create(path_, dir_, true);
    ASSERT_TRUE(a.ok());
    LockFile moved(std::move(*a));
    EXPECT_EQ(moved.path(), path_);
    a->Remove();  // the moved-from object owns nothing
    EXPECT_TRUE(Exists(path_));

    Result<LockFile> b = LockFile::Create(other_path, dir_, false);
    ASSERT_TRUE(b.ok());
    // Assigning over a lock releases the lock it held.
    *b = std::move(moved);
    EXPECT_FALSE(Exists(other_path));
    EXPECT_TRUE(Exists(path_));
    EXPECT_EQ(b->path(), path_);
  }
  EXPECT_FALSE(Exists(path_));
  EXPECT_FALSE(Exists(other_path));
}

}  // namespace
}  // namespace bgw
