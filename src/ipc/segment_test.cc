// Tests of the main shared memory segment (sizing, the named index and its
// failure modes, sharing with forked children) and of the System V interlock
// that tells a new postmaster whether children of an old one still run.
//
// Every test starts from a fresh segment. Anything that must not touch the
// test process (the interlock, detaching) runs in a forked child.
#include "ipc/segment.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "common/log.h"
#include "ipc/ipc_testing.h"

namespace bgw::shmem {
namespace {

using bgw::testing::WaitExit;

// Runs body() in a forked child. Assertion failures in the child are printed
// there and make it exit 1, which fails the test here.
template <typename F>
void RunInForkedChild(F&& body) {
  pid_t pid = bgw::testing::ForkChild([&] {
    body();
    return ::testing::Test::HasFailure() ? 1 : 0;
  });
  ASSERT_GE(pid, 0) << strerror(errno);
  int status = bgw::testing::WaitStatus(pid);
  ASSERT_NE(status, -1) << strerror(errno);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child wait status " << status;
}

// Captures what the log writes to fd 2.
class StderrCapture {
 public:
  StderrCapture() {
    char name[] = "/tmp/bgw_shmem_test_XXXXXX";
    fd_ = mkostemp(name, O_CLOEXEC);
    unlink(name);
    fflush(stderr);
    saved_ = dup(2);
    dup2(fd_, 2);
  }
  ~StderrCapture() {
    dup2(saved_, 2);
    close(saved_);
    close(fd_);
  }
  std::string Text() {
    std::string out;
    char buf[4096];
    off_t off = 0;
    ssize_t n;
    while ((n = pread(fd_, buf, sizeof buf, off)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

 private:
  int fd_ = -1;
  int saved_ = -1;
};

bool MappedInThisProcess(const void* addr) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto a = reinterpret_cast<uintptr_t>(addr);
  while (std::getline(maps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream in(line);
    in >> std::hex >> lo >> dash >> hi;
    if (a >= lo && a < hi) return true;
  }
  return false;
}

class ShmemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_log_ = log::CurrentOptions();
    log::Options o;
    o.min_level = log::Level::kWarning;
    o.line_prefix = "";
    o.to_stderr = true;
    log::Configure(o);
    DestroyMainSegment();
    ResetRequests();
  }
  void TearDown() override {
    DestroyMainSegment();
    ResetRequests();
    log::Configure(saved_log_);
  }
  log::Options saved_log_;
};

TEST_F(ShmemTest, RequestsAreAlignedToCacheLinesAndReset) {
  EXPECT_EQ(RequestedSpace(), 0u);
  RequestSpace(1);
  EXPECT_EQ(RequestedSpace(), kAlignment);
  RequestSpace(kAlignment);
  EXPECT_EQ(RequestedSpace(), 2 * kAlignment);
  RequestSpace(kAlignment + 1);
  EXPECT_EQ(RequestedSpace(), 4 * kAlignment);
  RequestSpace(0);
  EXPECT_EQ(RequestedSpace(), 4 * kAlignment);
  ResetRequests();
  EXPECT_EQ(RequestedSpace(), 0u);
}

TEST_F(ShmemTest, SegmentGrowsByTheRequestedSpace) {
  EXPECT_FALSE(IsAttached());
  EXPECT_EQ(SegmentSize(), 0u);
  EXPECT_EQ(SegmentAddress(), nullptr);
  ASSERT_TRUE(CreateMainSegment().ok());
  ASSERT_TRUE(IsAttached());
  size_t base = SegmentSize();
  EXPECT_EQ(base % 4096, 0u);
  EXPECT_GE(base, kSlackBytes);
  DestroyMainSegment();
  EXPECT_FALSE(IsAttached());

  const size_t kRequest = 1 << 20;
  RequestSpace(kRequest);
  ASSERT_TRUE(CreateMainSegment().ok());
  size_t grown = SegmentSize();
  EXPECT_EQ(grown % 4096, 0u);
  EXPECT_GE(grown, base + kRequest - 4096);
  EXPECT_LE(grown, base + kRequest + 4096);
  EXPECT_TRUE(MappedInThisProcess(SegmentAddress()));
}

TEST_F(ShmemTest, RequestedSpaceAndSlackAreBothAvailable) {
  const size_t kRequest = 300000;  // well beyond the slack alone
  ASSERT_TRUE(CreateMainSegment().ok());
  bool found = true;
  {
    StderrCapture capture;
    EXPECT_EQ(InitStruct("too big without a request", kRequest, &found), nullptr);
    EXPECT_FALSE(found);
  }
  DestroyMainSegment();

  RequestSpace(kRequest);
  ASSERT_TRUE(CreateMainSegment().ok());
  EXPECT_NE(InitStruct("requested", kRequest, &found), nullptr);
  // Allocations made later by running processes come out of the slack.
  EXPECT_NE(InitStruct("later", kSlackBytes / 2, &found), nullptr);
}

TEST_F(ShmemTest, InitStructCreatesZeroedAlignedStructsInsideTheSegment) {
  RequestSpace(10000);
  ASSERT_TRUE(CreateMainSegment().ok());
  auto* lo = static_cast<const char*>(SegmentAddress());
  const char* hi = lo + SegmentSize();
  std::set<void*> seen;
  for (size_t size : {size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{4000}}) {
    bool found = true;
    std::string name = "struct" + std::to_string(size);
    auto* p = static_cast<char*>(InitStruct(name, size, &found));
    ASSERT_NE(p, nullptr) << name;
    EXPECT_FALSE(found);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kAlignment, 0u) << name;
    EXPECT_GE(p, lo);
    EXPECT_LE(p + size, hi);
    for (size_t i = 0; i < size; i++) ASSERT_EQ(p[i], 0) << name << " byte " << i;
    std::memset(p, 0xAB, size);  // must not overlap any other struct
    EXPECT_TRUE(seen.insert(p).second);
  }
  // Every struct still holds only its own fill.
  for (size_t size : {size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{4000}}) {
    bool found = false;
    auto* p =
        static_cast<unsigned char*>(InitStruct("struct" + std::to_string(size), size, &found));
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(found);
    EXPECT_EQ(p[0], 0xAB);
    EXPECT_EQ(p[size - 1], 0xAB);
  }
}

TEST_F(ShmemTest, SecondInitStructFindsTheSameMemory) {
  ASSERT_TRUE(CreateMainSegment().ok());
  bool found = true;
  auto* first = static_cast<int*>(InitStruct("counter", sizeof(int), &found));
  ASSERT_NE(first, nullptr);
  EXPECT_FALSE(found);
  *first = 42;
  auto* again = static_cast<int*>(InitStruct("counter", sizeof(int), &found));
  EXPECT_TRUE(found);
  EXPECT_EQ(again, first);
  EXPECT_EQ(*again, 42);
  // Names are compared exactly.
  auto* other = static_cast<int*>(InitStruct("Counter", sizeof(int), &found));
  EXPECT_FALSE(found);
  EXPECT_NE(other, first);
}

TEST_F(ShmemTest, SizeMismatchReturnsNullAndKeepsTheEntry) {
  ASSERT_TRUE(CreateMainSegment().ok());
  bool found = false;
  void* p = InitStruct("sized", 16, &found);
  ASSERT_NE(p, nullptr);
  StderrCapture capture;
  found = true;
  EXPECT_EQ(InitStruct("sized", 32, &found), nullptr);
  EXPECT_FALSE(found);
  EXPECT_EQ(InitStruct("sized", 8, &found), nullptr);
  EXPECT_NE(capture.Text().find("ERROR:  shared memory struct \"sized\" has size 16, requested 32"),
            std::string::npos)
      << capture.Text();
  EXPECT_EQ(InitStruct("sized", 16, &found), p);
  EXPECT_TRUE(found);
}

TEST_F(ShmemTest, NamesMustBeNonEmptyAndAtMostMaxLen) {
  ASSERT_TRUE(CreateMainSegment().ok());
  bool found = true;
  std::string longest(kMaxNameLen, 'n');
  void* p = InitStruct(longest, 8, &found);
  EXPECT_NE(p, nullptr);
  EXPECT_FALSE(found);
  EXPECT_EQ(InitStruct(longest, 8, &found), p);
  EXPECT_TRUE(found);

  StderrCapture capture;
  std::string too_long(kMaxNameLen + 1, 'n');
  found = true;
  EXPECT_EQ(InitStruct(too_long, 8, &found), nullptr);
  EXPECT_FALSE(found);
  EXPECT_EQ(InitStruct("", 8, &found), nullptr);
  std::string text = capture.Text();
  EXPECT_NE(text.find("ERROR:  invalid shared memory name \"" + too_long + "\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("ERROR:  invalid shared memory name \"\""), std::string::npos) << text;
  // The name that was too long was not truncated into an alias of the 63-char one.
  EXPECT_EQ(InitStruct(longest, 8, &found), p);
}

TEST_F(ShmemTest, ExhaustedSegmentReturnsNullWithOutOfSharedMemory) {
  ASSERT_TRUE(CreateMainSegment().ok());
  bool found = true;
  StderrCapture capture;
  EXPECT_EQ(InitStruct("huge", SegmentSize(), &found), nullptr);
  EXPECT_FALSE(found);
  std::string text = capture.Text();
  EXPECT_NE(text.find("ERROR:  out of shared memory (" + std::to_string(SegmentSize()) +
                      " bytes requested for \"huge\")"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("HINT:  Request the space with RequestAddinShmemSpace()"), std::string::npos)
      << text;
  // A failed allocation consumes nothing.
  EXPECT_NE(InitStruct("small", 64, &found), nullptr);
  EXPECT_FALSE(found);
}

TEST_F(ShmemTest, IndexHoldsAtMostMaxEntries) {
  ASSERT_TRUE(CreateMainSegment().ok());
  bool found = true;
  for (size_t i = 0; i < kMaxIndexEntries; i++) {
    ASSERT_NE(InitStruct("e" + std::to_string(i), 1, &found), nullptr) << i;
  }
  StderrCapture capture;
  EXPECT_EQ(InitStruct("one too many", 1, &found), nullptr);
  EXPECT_NE(capture.Text().find("out of shared memory"), std::string::npos) << capture.Text();
  // Existing entries are still found.
  EXPECT_NE(InitStruct("e0", 1, &found), nullptr);
  EXPECT_TRUE(found);
  EXPECT_NE(InitStruct("e" + std::to_string(kMaxIndexEntries - 1), 1, &found), nullptr);
  EXPECT_TRUE(found);
}

TEST_F(ShmemTest, InitStructWithoutSegmentFails) {
  StderrCapture capture;
  bool found = true;
  EXPECT_EQ(InitStruct("anything", 8, &found), nullptr);
  EXPECT_FALSE(found);
  EXPECT_NE(capture.Text().find("shared memory is not attached in this process"),
            std::string::npos);
}

TEST_F(ShmemTest, DestroyIsIdempotent) {
  ASSERT_TRUE(CreateMainSegment().ok());
  const void* addr = SegmentAddress();
  DestroyMainSegment();
  DestroyMainSegment();
  EXPECT_FALSE(IsAttached());
  EXPECT_FALSE(MappedInThisProcess(addr));
}

// The segment is MAP_SHARED: a child's writes and allocations are visible to
// the parent, and the index lives in the segment itself.
TEST_F(ShmemTest, ChildAllocationsAndWritesAreShared) {
  ASSERT_TRUE(CreateMainSegment().ok());
  bool found = false;
  auto* before = static_cast<uint64_t*>(InitStruct("made before fork", sizeof(uint64_t), &found));
  ASSERT_NE(before, nullptr);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    bool f = false;
    auto* b = static_cast<uint64_t*>(InitStruct("made before fork", sizeof(uint64_t), &f));
    if (b == nullptr || !f) _exit(2);
    *b = 0x1122334455667788ULL;
    auto* c = static_cast<uint64_t*>(InitStruct("made by child", sizeof(uint64_t), &f));
    if (c == nullptr || f) _exit(3);
    *c = 7;
    _exit(0);
  }
  ASSERT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(*before, 0x1122334455667788ULL);
  auto* by_child = static_cast<uint64_t*>(InitStruct("made by child", sizeof(uint64_t), &found));
  ASSERT_NE(by_child, nullptr);
  EXPECT_TRUE(found);
  EXPECT_EQ(*by_child, 7u);
}

// Concurrent children agree on one allocation per name (the index spinlock).
TEST_F(ShmemTest, ConcurrentChildrenAgreeOnOneAllocation) {
  RequestSpace(64 * 1024);
  ASSERT_TRUE(CreateMainSegment().ok());
  constexpr int kChildren = 4;
  constexpr int kNamesPerChild = 40;
  // A start flag so the children contend.
  bool found = false;
  auto* go = static_cast<int*>(InitStruct("go", sizeof(int), &found));
  ASSERT_NE(go, nullptr);
  pid_t pids[kChildren];
  fflush(nullptr);
  for (int c = 0; c < kChildren; c++) {
    pids[c] = fork();
    ASSERT_GE(pids[c], 0);
    if (pids[c] == 0) {
      while (__atomic_load_n(go, __ATOMIC_ACQUIRE) == 0) {
      }
      for (int i = 0; i < kNamesPerChild; i++) {
        bool f = false;
        auto* shared = static_cast<int*>(InitStruct("shared" + std::to_string(i), sizeof(int), &f));
        if (shared == nullptr) _exit(2);
        __atomic_fetch_add(shared, 1, __ATOMIC_SEQ_CST);
        auto* own = static_cast<int*>(
            InitStruct("own" + std::to_string(c) + "_" + std::to_string(i), sizeof(int), &f));
        if (own == nullptr || f) _exit(3);
        *own = c + 1;
      }
      _exit(0);
    }
  }
  __atomic_store_n(go, 1, __ATOMIC_RELEASE);
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  for (int i = 0; i < kNamesPerChild; i++) {
    auto* shared = static_cast<int*>(InitStruct("shared" + std::to_string(i), sizeof(int), &found));
    ASSERT_NE(shared, nullptr);
    EXPECT_TRUE(found);
    EXPECT_EQ(*shared, kChildren) << "shared" << i;
    for (int c = 0; c < kChildren; c++) {
      auto* own = static_cast<int*>(
          InitStruct("own" + std::to_string(c) + "_" + std::to_string(i), sizeof(int), &found));
      ASSERT_NE(own, nullptr);
      EXPECT_TRUE(found);
      EXPECT_EQ(*own, c + 1);
    }
  }
}

TEST_F(ShmemTest, DetachForChildUnmapsOnlyInTheChild) {
  ASSERT_TRUE(CreateMainSegment().ok());
  bool found = false;
  auto* value = static_cast<int*>(InitStruct("value", sizeof(int), &found));
  ASSERT_NE(value, nullptr);
  *value = 5;
  const void* addr = SegmentAddress();
  RunInForkedChild([&] {
    ASSERT_TRUE(CreateInterlock().ok());
    int id = InterlockId();
    EXPECT_GE(id, 0);
    EXPECT_TRUE(InterlockInUse(id, getpid()));
    DetachForChild();
    EXPECT_FALSE(IsAttached());
    EXPECT_EQ(SegmentSize(), 0u);
    EXPECT_FALSE(MappedInThisProcess(addr));
    // This process held the only attachment, and the id was removed at
    // creation: the interlock is gone with it.
    EXPECT_FALSE(InterlockInUse(id, getpid()));
    DetachForChild();  // twice is harmless
  });
  EXPECT_TRUE(IsAttached());
  EXPECT_TRUE(MappedInThisProcess(addr));
  EXPECT_EQ(*value, 5);
}

TEST_F(ShmemTest, InterlockInUseRejectsBadIdsAndOtherCreators) {
  EXPECT_FALSE(InterlockInUse(-1, getpid()));
  RunInForkedChild([] {
    ASSERT_TRUE(CreateInterlock().ok());
    int id = InterlockId();
    EXPECT_TRUE(InterlockInUse(id, getpid()));
    EXPECT_FALSE(InterlockInUse(id, getppid()));  // not created by that pid
    EXPECT_FALSE(InterlockInUse(-1, getpid()));
  });
}

// The scenario the interlock exists for: the postmaster is gone but a child
// it forked still runs on the data directory.
TEST_F(ShmemTest, InterlockInUseUntilTheCreatorAndItsChildrenExit) {
  RunInForkedChild([] {
    // Adopt the grandchild when its parent (the "postmaster") exits, so it
    // can be reaped here.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int report[2], release_creator[2], release_holder[2];
    ASSERT_EQ(pipe(report), 0);
    ASSERT_EQ(pipe(release_creator), 0);
    ASSERT_EQ(pipe(release_holder), 0);
    pid_t creator = fork();
    ASSERT_GE(creator, 0);
    if (creator == 0) {
      close(report[0]);
      close(release_creator[1]);
      close(release_holder[1]);
      if (!CreateInterlock().ok()) _exit(2);
      pid_t holder = fork();
      if (holder < 0) _exit(3);
      if (holder == 0) {
        close(report[1]);
        close(release_creator[0]);
        char c;
        while (read(release_holder[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
      }
      int msg[2] = {InterlockId(), holder};
      if (write(report[1], msg, sizeof msg) != sizeof msg) _exit(4);
      char c;
      while (read(release_creator[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);  // leaves the holder running, attached
    }
    close(report[1]);
    close(release_creator[0]);
    close(release_holder[0]);
    int msg[2] = {-1, -1};
    ASSERT_EQ(read(report[0], msg, sizeof msg), static_cast<ssize_t>(sizeof msg));
    int id = msg[0];
    pid_t holder = msg[1];

    EXPECT_TRUE(InterlockInUse(id, creator));
    close(release_creator[1]);
    EXPECT_EQ(WaitExit(creator), 0);
    EXPECT_TRUE(InterlockInUse(id, creator)) << "the holder is still attached";

    close(release_holder[1]);
    EXPECT_EQ(WaitExit(holder), 0);
    EXPECT_FALSE(InterlockInUse(id, creator));
    close(report[0]);
  });
}

}  // namespace
}  // namespace bgw::shmem
