// Tests of dynamic shared memory (storage/dsm.h) without a postmaster: the
// main segment and the DSM control table are made in the test process, and
// forked children create, attach, pin and detach segments as server
// processes would (leaving through ProcExit, so the exit path's detach
// runs). The /dev/shm files are checked directly: a segment exists while
// referenced or pinned, and is gone after the last reference.
// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "compat/compat_testing.h"
#include "ipc/dsm.h"
#include "ipc/ipc_testing.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/dsm.h"
#include "postgres/storage/ipc.h"

namespace bgw {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitFor;

using compat::testing::CatchError;
using compat::testing::CaughtError;

constexpr int kMaxSegments = 4;
constexpr unsigned kChildAlarmSeconds = 60;

struct Sync {
  std::atomic<int> stage;
  std::atomic<uint32_t> handle;
  std::atomic<int> order_len;
  int order[16];
  char error[512];
};

uint8_t Pattern(size_t i) { return static_cast<uint8_t>(i * 31 + 7); }

class DsmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    shmem::RequestSpace(dsm::ShmemSize(kMaxSegments));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    dsm::ShmemInit(kMaxSegments);
    prefix_ = "bgwtest.dsm." + std::to_string(getpid());
    ASSERT_TRUE(dsm::SetNamePrefix(prefix_).ok());
    void* p =
        mmap(nullptr, sizeof(Sync), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    sync_ = new (p) Sync();
  }
  void TearDown() override {
    munmap(sync_, sizeof(Sync));
    dsm::RemoveLeftoverSegments();
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
  }

  std::string FileOf(uint32_t h) const { return "/dev/shm/" + prefix_ + "." + std::to_string(h); }
  bool Exists(uint32_t h) const { return access(FileOf(h).c_str(), F_OK) == 0; }

  // Forks a child running body() (returns the exit code); an escaping
  // ERROR is recorded and exits 90. Exits through ProcExit.
  template <typename F>
  pid_t Child(F&& body) {
    return bgw::testing::ForkChild(
        [&]() -> int {
          ResetExitCallbacks();
          IsPostmasterEnvironment = false;
          IsUnderPostmaster = false;
          MyProcPid = getpid();
          int code = 0;
          CaughtError e = CatchError([&] { code = body(); });
          if (e.raised) {
            snprintf(sync_->error, sizeof sync_->error, "%s", e.message.c_str());
            code = 90;
          }
          ProcExit(code);
        },
        kChildAlarmSeconds);
  }

  std::string prefix_;
  Sync* sync_ = nullptr;
};

TEST_F(DsmTest, SegmentIsSharedAndDestroyedWithItsLastReference) {
  constexpr size_t kSize = 10000;
  pid_t creator = Child([&] {
    dsm_segment* seg = dsm_create(kSize, 0);
    if (dsm_segment_map_length(seg) != kSize) return 10;
    auto* p = static_cast<uint8_t*>(dsm_segment_address(seg));
    for (size_t i = 0; i < kSize; i++) {
      if (p[i] != 0) return 11;  // zero-filled
      p[i] = Pattern(i);
    }
    sync_->handle = dsm_segment_handle(seg);
    sync_->stage = 1;
    if (!WaitFor([&] { return sync_->stage.load() == 2; })) return 12;
    dsm_detach(seg);
    sync_->stage = 3;
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->stage.load() >= 1; }));
  uint32_t h = sync_->handle.load();
  EXPECT_NE(h, DSM_HANDLE_INVALID);
  EXPECT_TRUE(Exists(h)) << FileOf(h);
  pid_t other = Child([&] {
    dsm_segment* seg = dsm_attach(h);
    if (seg == nullptr) return 20;
    if (dsm_segment_map_length(seg) != kSize || dsm_segment_handle(seg) != h) return 21;
    if (dsm_find_mapping(h) != seg) return 22;
    sync_->stage = 2;
    if (!WaitFor([&] { return sync_->stage.load() == 3; })) return 23;
    // The creator detached; our reference keeps the segment.
    if (!Exists(h)) return 24;
    auto* p = static_cast<uint8_t*>(dsm_segment_address(seg));
    for (size_t i = 0; i < kSize; i++) {
      if (p[i] != Pattern(i)) return 25;
    }
    dsm_detach(seg);
    if (Exists(h)) return 26;
    if (dsm_attach(h) != nullptr) return 27;
    return 0;
  });
  EXPECT_EQ(WaitExit(creator), 0) << sync_->error;
  EXPECT_EQ(WaitExit(other), 0) << sync_->error;
  EXPECT_FALSE(Exists(h));
}

TEST_F(DsmTest, PinnedSegmentOutlivesItsCreatorUntilUnpinned) {
  pid_t creator = Child([&] {
    dsm_segment* seg = dsm_create(4096, 0);
    memcpy(dsm_segment_address(seg), "pinned", 7);
    dsm_pin_segment(seg);
    CaughtError e = CatchError([&] { dsm_pin_segment(seg); });
    if (!e.raised || e.message != "cannot pin a segment that is already pinned") return 10;
    dsm_pin_mapping(seg);
    dsm_unpin_mapping(seg);
    sync_->handle = dsm_segment_handle(seg);
    return 0;  // exits still attached: the exit path detaches
  });
  ASSERT_EQ(WaitExit(creator), 0) << sync_->error;
  uint32_t h = sync_->handle.load();
  EXPECT_TRUE(Exists(h)) << "a pinned segment must survive its creator";
  pid_t reader = Child([&] {
    dsm_segment* seg = dsm_attach(h);
    if (seg == nullptr) return 20;
    if (strcmp(static_cast<char*>(dsm_segment_address(seg)), "pinned") != 0) return 21;
    dsm_unpin_segment(h);
    CaughtError e = CatchError([&] { dsm_unpin_segment(h); });
    if (!e.raised || e.message != "cannot unpin a segment that is not pinned") return 22;
    if (!Exists(h)) return 23;  // still attached here
    dsm_detach(seg);
    if (Exists(h)) return 24;
    if (dsm_attach(h) != nullptr) return 25;
    e = CatchError([&] { dsm_unpin_segment(h); });
    if (!e.raised || e.message != "cannot unpin unknown segment handle") return 26;
    return 0;
  });
  EXPECT_EQ(WaitExit(reader), 0) << sync_->error;
  EXPECT_FALSE(Exists(h));
}

TEST_F(DsmTest, UnpinningDestroysASegmentNobodyHasMapped) {
  pid_t creator = Child([&] {
    dsm_segment* seg = dsm_create(100, 0);
    dsm_pin_segment(seg);
    sync_->handle = dsm_segment_handle(seg);
    dsm_detach(seg);
    if (dsm_find_mapping(sync_->handle.load()) != nullptr) return 11;
    return Exists(sync_->handle.load()) ? 0 : 10;
  });
  ASSERT_EQ(WaitExit(creator), 0) << sync_->error;
  uint32_t h = sync_->handle.load();
  EXPECT_TRUE(Exists(h));
  pid_t unpinner = Child([&] {
    dsm_unpin_segment(h);
    return Exists(h) ? 20 : 0;
  });
  EXPECT_EQ(WaitExit(unpinner), 0) << sync_->error;
}

TEST_F(DsmTest, BadRequestsRaiseErrorsAndUnknownHandlesAttachAsNull) {
  pid_t child = Child([&] {
    CaughtError e = CatchError([&] { dsm_create(0, 0); });
    if (!e.raised || e.sqlstate != "22023") return 10;
    e = CatchError([&] { dsm_create(SIZE_MAX, 0); });
    if (!e.raised || e.message.find("too large") == std::string::npos) return 11;
    e = CatchError([&] { dsm_create(size_t{1} << 52, 0); });  // 4 PB: no tmpfs has that
    if (!e.raised ||
        e.message.find("could not resize shared memory segment") == std::string::npos) {
      return 12;
    }
    if (dsm_attach(DSM_HANDLE_INVALID) != nullptr) return 13;
    if (dsm_attach(123456789) != nullptr) return 14;
    dsm_segment* seg = dsm_create(64, 0);
    dsm_handle h = dsm_segment_handle(seg);
    e = CatchError([&] { dsm_attach(h); });
    if (!e.raised || e.message != "can't attach the same segment more than once") return 15;
    if (dsm_find_mapping(h) != seg || dsm_find_mapping(h + 1) != nullptr) return 16;
    if (dsm::MappedSegmentCount() != 1) return 17;
    dsm_detach(seg);
    if (dsm::MappedSegmentCount() != 0) return 18;
    e = CatchError([&] { dsm_detach(seg); });
    if (!e.raised || e.message.find("not mapped in this process") == std::string::npos) return 19;
    return 0;
  });
  EXPECT_EQ(WaitExit(child), 0) << sync_->error;
}

TEST_F(DsmTest, FullControlTableRaisesErrorOrReturnsNull) {
  pid_t child = Child([&] {
    dsm_segment* segs[kMaxSegments];
    for (int i = 0; i < kMaxSegments; i++) segs[i] = dsm_create(64, 0);
    CaughtError e = CatchError([&] { dsm_create(64, 0); });
    if (!e.raised || e.message != "too many dynamic shared memory segments" ||
        e.sqlstate != "53000") {
      return 10;
    }
    if (dsm_create(64, DSM_CREATE_NULL_IF_MAXSEGMENTS) != nullptr) return 11;
    dsm_detach(segs[1]);
    dsm_segment* again = dsm_create(64, DSM_CREATE_NULL_IF_MAXSEGMENTS);
    if (again == nullptr) return 12;
    dsm_detach_all();
    return dsm::MappedSegmentCount() == 0 ? 0 : 13;
  });
  EXPECT_EQ(WaitExit(child), 0) << sync_->error;
  EXPECT_EQ(dsm::RemoveLeftoverSegments(), 0) << "every segment was destroyed by its last detach";
}

void RecordCallback(dsm_segment*, Datum arg) {
  auto* sync = reinterpret_cast<Sync*>(arg >> 8);
  int n = sync->order_len.fetch_add(1);
  if (n < 16) sync->order[n] = static_cast<int>(arg & 0xff);
}

TEST_F(DsmTest, DetachCallbacksRunNewestFirstAtDetachAndAtExit) {
  pid_t child = Child([&] {
    auto arg = [&](int tag) { return (reinterpret_cast<Datum>(sync_) << 8) | tag; };
    dsm_segment* seg = dsm_create(64, 0);
    on_dsm_detach(seg, RecordCallback, arg(1));
    on_dsm_detach(seg, RecordCallback, arg(2));
    on_dsm_detach(seg, RecordCallback, arg(3));
    cancel_on_dsm_detach(seg, RecordCallback, arg(2));
    dsm_detach(seg);  // 3, 1
    dsm_segment* at_exit = dsm_create(64, 0);
    on_dsm_detach(at_exit, RecordCallback, arg(4));
    on_dsm_detach(at_exit, RecordCallback, arg(5));
    sync_->handle = dsm_segment_handle(at_exit);
    proc_exit(0);  // 5, 4
    return 1;
  });
  ASSERT_EQ(WaitExit(child), 0) << sync_->error;
  ASSERT_EQ(sync_->order_len.load(), 4);
  EXPECT_EQ(sync_->order[0], 3);
  EXPECT_EQ(sync_->order[1], 1);
  EXPECT_EQ(sync_->order[2], 5);
  EXPECT_EQ(sync_->order[3], 4);
  EXPECT_FALSE(Exists(sync_->handle.load())) << "the exit path detached the last reference";
}

TEST_F(DsmTest, ProcessesWithoutSharedMemoryGetAClearError) {
  pid_t child = Child([&] {
    shmem::DetachForChild();  // what a worker without BGWORKER_SHMEM_ACCESS does
    CaughtError e = CatchError([&] { dsm_create(64, 0); });
    if (!e.raised || e.message.find("no access to shared memory") == std::string::npos ||
        e.hint.find("BGWORKER_SHMEM_ACCESS") == std::string::npos) {
      return 10;
    }
    e = CatchError([&] { dsm_attach(1); });
    if (!e.raised || e.message.find("no access to shared memory") == std::string::npos) return 11;
    return 0;
  });
  EXPECT_EQ(WaitExit(child), 0) << sync_->error;
  pid_t postmaster = Child([&] {
    IsPostmasterEnvironment = true;  // the postmaster never creates segments
    CaughtError e = CatchError([&] { dsm_create(64, 0); });
    IsPostmasterEnvironment = false;
    if (!e.raised || e.message.find("in the postmaster") == std::string::npos) return 20;
    return 0;
  });
  EXPECT_EQ(WaitExit(postmaster), 0) << sync_->error;
}

TEST_F(DsmTest, LeftoverRemovalTakesOnlyThisServersNames) {
  const char* mine[] = {".17", ".4294967295"};
  const char* not_mine[] = {".abc", ".12x", "", ".1.2", "x.5"};
  auto make = [](const std::string& name) {
    int fd = shm_open(("/" + name).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    return fd >= 0;
  };
  for (const char* s : mine) ASSERT_TRUE(make(prefix_ + s));
  for (const char* s : not_mine) ASSERT_TRUE(make(prefix_ + s));
  ASSERT_TRUE(make("bgwtest.other." + std::to_string(getpid()) + ".17"));
  EXPECT_EQ(dsm::RemoveLeftoverSegments(), 2);
  for (const char* s : mine) EXPECT_NE(access(("/dev/shm/" + prefix_ + s).c_str(), F_OK), 0);
  for (const char* s : not_mine) {
    std::string path = "/dev/shm/" + prefix_ + s;
    EXPECT_EQ(access(path.c_str(), F_OK), 0) << path;
    shm_unlink(("/" + prefix_ + s).c_str());
  }
  std::string other = "/bgwtest.other." + std::to_string(getpid()) + ".17";
  EXPECT_EQ(access(("/dev/shm" + other).c_str(), F_OK), 0);
  shm_unlink(other.c_str());
}

TEST_F(DsmTest, NamePrefixComesFromTheDataDirectorysDeviceAndInode) {
  struct stat st;
  ASSERT_EQ(stat("/tmp", &st), 0);
  ASSERT_TRUE(dsm::SetNamePrefixForDataDir("/tmp").ok());
  EXPECT_EQ(std::string(dsm::NamePrefix()),
            "bgw." + std::to_string(st.st_dev) + "." + std::to_string(st.st_ino));
  EXPECT_FALSE(dsm::SetNamePrefixForDataDir("/nonexistent/bgw").ok());
  EXPECT_FALSE(dsm::SetNamePrefix("a/b").ok());
  EXPECT_FALSE(dsm::SetNamePrefix("").ok());
  ASSERT_TRUE(dsm::SetNamePrefix(prefix_).ok());
}

}  // namespace
}  // namespace bgw
