// Tests of the wal-index DMS lock helpers. POSIX locks belong to processes,
// so "another SQLite process" is a forked child that takes or probes the
// lock, and what this process holds is observed from a forked child too.
#include "port/wal_index_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "port/unique_fd.h"

namespace bgw::wal_index {
namespace {

class WalIndexLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bgw_wal_index_lock.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/5.db-shm";
    // A wal-index as a crashed system may leave it: 100 bytes of content.
    UniqueFd fd(open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd);
    std::string junk(100, 'x');
    ASSERT_EQ(write(fd.get(), junk.data(), junk.size()), 100);
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  off_t FileSize() const {
    struct stat st;
    return stat(path_.c_str(), &st) == 0 ? st.st_size : -1;
  }

  // What a new SQLite opener's F_GETLK reports: F_UNLCK, F_RDLCK or F_WRLCK.
  short ProbeFromOtherProcess() const {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
      struct flock lk = {};
      lk.l_type = F_WRLCK;
      lk.l_whence = SEEK_SET;
      lk.l_start = kDmsByte;
      lk.l_len = 1;
      short result = -1;
      if (fd >= 0 && fcntl(fd, F_GETLK, &lk) == 0) result = lk.l_type;
      (void)!write(p[1], &result, sizeof result);
      _exit(0);
    }
    close(p[1]);
    short result = -1;
    if (read(p[0], &result, sizeof result) != sizeof result) result = -1;
    close(p[0]);
    waitpid(pid, nullptr, 0);
    return result;
  }

  // Another process that holds the DMS byte with `type` until Release().
  struct Holder {
    pid_t pid = -1;
    int release_fd = -1;
  };
  Holder HoldInOtherProcess(short type) const {
    int ready[2], release[2];
    if (pipe(ready) != 0 || pipe(release) != 0) std::abort();
    pid_t pid = fork();
    if (pid == 0) {
      close(ready[0]);
      close(release[1]);
      int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
      struct flock lk = {};
      lk.l_type = type;
      lk.l_whence = SEEK_SET;
      lk.l_start = kDmsByte;
      lk.l_len = 1;
      char ok = (fd >= 0 && fcntl(fd, F_SETLK, &lk) == 0) ? 1 : 0;
      (void)!write(ready[1], &ok, 1);
      char c;
      while (read(release[0], &c, 1) > 0) {
      }
      _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    char ok = 0;
    if (read(ready[0], &ok, 1) != 1 || ok != 1) ADD_FAILURE() << "holder could not lock";
    close(ready[0]);
    return {pid, release[1]};
  }
  static void Release(Holder& h) {
    close(h.release_fd);
    waitpid(h.pid, nullptr, 0);
  }

  UniqueFd OpenShm() const { return UniqueFd(open(path_.c_str(), O_RDWR | O_CLOEXEC)); }

  std::string dir_;
  std::string path_;
};

TEST_F(WalIndexLockTest, UnusedFileIsResetThenHeldShared) {
  EXPECT_EQ(ProbeFromOtherProcess(), F_UNLCK);
  UniqueFd fd = OpenShm();
  Result<Hold> hold = TakeShared(fd.get());
  ASSERT_TRUE(hold.ok()) << hold.status().message();
  EXPECT_EQ(*hold, Hold::kReset);
  // Exactly SQLite's first connection: truncated to 3 bytes, then shared.
  EXPECT_EQ(FileSize(), kResetSize);
  EXPECT_EQ(ProbeFromOtherProcess(), F_RDLCK);
}

TEST_F(WalIndexLockTest, FileInUseIsJoinedWithoutTouchingIt) {
  Holder sqlite = HoldInOtherProcess(F_RDLCK);
  UniqueFd fd = OpenShm();
  Result<Hold> hold = TakeShared(fd.get());
  ASSERT_TRUE(hold.ok()) << hold.status().message();
  EXPECT_EQ(*hold, Hold::kJoined);
  EXPECT_EQ(FileSize(), 100);
  Release(sqlite);
  // The other user left; our lock keeps the file live for the next opener.
  EXPECT_EQ(ProbeFromOtherProcess(), F_RDLCK);
  EXPECT_EQ(FileSize(), 100);
}

TEST_F(WalIndexLockTest, FileBeingResetIsBusyAndLeftAlone) {
  Holder first_connection = HoldInOtherProcess(F_WRLCK);
  UniqueFd fd = OpenShm();
  Result<Hold> hold = TakeShared(fd.get());
  ASSERT_TRUE(hold.ok()) << hold.status().message();
  EXPECT_EQ(*hold, Hold::kBusy);
  EXPECT_EQ(FileSize(), 100);
  Release(first_connection);
  // Nothing was taken on the way: the byte is free again.
  EXPECT_EQ(ProbeFromOtherProcess(), F_UNLCK);
  // And a retry now takes it.
  hold = TakeShared(fd.get());
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(*hold, Hold::kReset);
}

TEST_F(WalIndexLockTest, ResetOnlyWhenSoleHolder) {
  Holder sqlite = HoldInOtherProcess(F_RDLCK);
  UniqueFd fd = OpenShm();
  ASSERT_EQ(*TakeShared(fd.get()), Hold::kJoined);
  Result<bool> reset = ResetIfSoleHolder(fd.get());
  ASSERT_TRUE(reset.ok());
  EXPECT_FALSE(*reset);  // in use by the other process: untouched
  EXPECT_EQ(FileSize(), 100);
  Release(sqlite);
  // Our shared lock survived the failed upgrade.
  EXPECT_EQ(ProbeFromOtherProcess(), F_RDLCK);
  reset = ResetIfSoleHolder(fd.get());
  ASSERT_TRUE(reset.ok());
  EXPECT_TRUE(*reset);
  EXPECT_EQ(FileSize(), kResetSize);
  EXPECT_EQ(ProbeFromOtherProcess(), F_RDLCK);
}

TEST_F(WalIndexLockTest, ClosingAnyDescriptorDropsTheLock) {
  // Why the postmaster keeps exactly one descriptor per file.
  UniqueFd fd = OpenShm();
  ASSERT_EQ(*TakeShared(fd.get()), Hold::kReset);
  UniqueFd other = OpenShm();
  other.reset();
  EXPECT_EQ(ProbeFromOtherProcess(), F_UNLCK);
}

TEST_F(WalIndexLockTest, BadDescriptorIsAnError) {
  Result<Hold> hold = TakeShared(-1);
  EXPECT_FALSE(hold.ok());
}

}  // namespace
}  // namespace bgw::wal_index
