// Tests of module shared memory (storage/shmem.h): RequestAddinShmemSpace
// accounting (exactly the requested bytes are usable; one byte more is an
// ERROR that names the struct and hints at the request, and never touches
// other structs or the server's slack), ShmemInitStruct's found flag and
// sharing with forked children, the errors (size mismatch, size 0, names,
// no shared memory in this process), where requests are accepted (while
// preloading, in shmem_request_hook) and refused, add_size/mul_size
// overflow, and a fresh region after reinitialization.
// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include "ipc/addin_shmem.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "compat/compat_testing.h"
#include "ipc/ipc_testing.h"
#include "ipc/lwlock.h"
#include "ipc/proc.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/shmem.h"

namespace bgw::addin {
namespace {

using bgw::testing::WaitExit;
using compat::testing::CatchError;
using compat::testing::CaughtError;

template <typename F>
pid_t Spawn(F&& body) {
  return bgw::testing::ForkChild([&] {
    MyProcPid = getpid();
    return body();
  });
}

bool Filled(const void* p, size_t n, unsigned char byte) {
  auto* c = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; i++) {
    if (c[i] != byte) return false;
  }
  return true;
}

class ShmemAddinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_log_ = log::CurrentOptions();
    log::Options o;
    o.min_level = log::Level::kWarning;
    o.line_prefix = "";
    o.to_stderr = true;
    log::Configure(o);
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    lwlock::ResetForTesting();
    ResetForTesting();
  }
  void TearDown() override {
    process_shared_preload_libraries_in_progress = false;
    IsPostmasterEnvironment = false;
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    lwlock::ResetForTesting();
    ResetForTesting();
    log::Configure(saved_log_);
  }

  // What _PG_init does while preloaded.
  static void Request(size_t bytes) {
    process_shared_preload_libraries_in_progress = true;
    RequestAddinShmemSpace(bytes);
    process_shared_preload_libraries_in_progress = false;
  }

  // What the postmaster's CreateSharedMemory does.
  static void CreateSegment() {
    shmem::ResetRequests();
    shmem::RequestSpace(lwlock::ShmemSize());
    shmem::RequestSpace(ShmemSize());
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    ASSERT_TRUE(lwlock::ShmemInit().ok());
    ASSERT_TRUE(ShmemInit().ok());
  }

  log::Options saved_log_;
};

TEST_F(ShmemAddinTest, RequestedBytesAreUsableAndOneMoreIsAnError) {
  Request(1000);
  Request(24);
  EXPECT_EQ(RequestedBytes(), 1024u);
  CreateSegment();
  bool found = true;
  void* a = ShmemInitStruct("a", 1000, &found);
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(found);
  EXPECT_TRUE(Filled(a, 1000, 0)) << "fresh structs are zeroed";
  memset(a, 0xAA, 1000);
  void* b = ShmemInitStruct("b", 24, &found);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(found);
  memset(b, 0xBB, 24);
  EXPECT_EQ(UsedBytes(), 1024u) << "alignment padding is not charged";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);

  CaughtError e = CatchError([] {
    bool f;
    ShmemInitStruct("c", 1, &f);
  });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.sqlstate, "53200");
  EXPECT_EQ(e.message, "out of shared memory: 1 bytes for \"c\" requested by the server");
  EXPECT_EQ(e.detail,
            "Modules reserved 1024 bytes with RequestAddinShmemSpace(); 0 of them are left.");
  EXPECT_NE(e.hint.find("RequestAddinShmemSpace()"), std::string::npos) << e.hint;
  EXPECT_NE(e.hint.find("shmem_request_hook"), std::string::npos) << e.hint;
  e = CatchError([] { ShmemAlloc(1); });
  EXPECT_NE(e.message.find("out of shared memory: 1 bytes for \"(anonymous allocation)\""),
            std::string::npos)
      << e.message;
  EXPECT_EQ(ShmemAllocNoError(1), nullptr);
  // Nothing was overwritten, and the failed attempts created nothing.
  EXPECT_TRUE(Filled(a, 1000, 0xAA));
  EXPECT_TRUE(Filled(b, 24, 0xBB));
  EXPECT_EQ(ShmemInitStruct("a", 1000, &found), a);
  EXPECT_TRUE(found);
  e = CatchError([] {
    bool f;
    ShmemInitStruct("c", 1, &f);
  });
  EXPECT_TRUE(e.raised) << "a failed creation leaves no entry behind";
}

// The segment keeps ~100 kB of slack for the server's own later use; a
// module that requested nothing cannot take any of it.
TEST_F(ShmemAddinTest, ServerSlackIsNotAvailableToModules) {
  CreateSegment();
  CaughtError e = CatchError([] {
    bool f;
    ShmemInitStruct("unrequested", 64, &f);
  });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.detail,
            "Modules reserved 0 bytes with RequestAddinShmemSpace(); 0 of them are left.");
  bool found = false;
  EXPECT_NE(shmem::InitStruct("server struct", shmem::kSlackBytes / 2, &found), nullptr)
      << "the slack is still there for the server";
}

TEST_F(ShmemAddinTest, ManyAllocationsNeverOverlapAndStayInTheRegion) {
  constexpr size_t kBudget = 10000;
  Request(kBudget);
  CreateSegment();
  std::vector<std::pair<unsigned char*, size_t>> blocks;
  size_t used = 0;
  for (int i = 0;; i++) {
    size_t size = 1 + (static_cast<size_t>(i) * 37) % 200;
    if (used + size > kBudget) {
      EXPECT_EQ(ShmemAllocNoError(size), nullptr) << "over budget by " << used + size - kBudget;
      EXPECT_NE(ShmemAllocNoError(kBudget - used), nullptr) << "the rest still fits";
      used = kBudget;
      break;
    }
    bool found = true;
    void* p = i % 2 == 0 ? ShmemInitStruct(("s" + std::to_string(i)).c_str(), size, &found)
                         : ShmemAlloc(size);
    ASSERT_NE(p, nullptr) << i;
    ASSERT_TRUE(ShmemAddrIsValid(p));
    ASSERT_TRUE(ShmemAddrIsValid(static_cast<char*>(p) + size - 1));
    memset(p, i & 0xFF, size);
    blocks.push_back({static_cast<unsigned char*>(p), size});
    used += size;
  }
  EXPECT_EQ(UsedBytes(), used);
  for (size_t i = 0; i < blocks.size(); i++) {
    EXPECT_TRUE(Filled(blocks[i].first, blocks[i].second, static_cast<unsigned char>(i & 0xFF)))
        << "block " << i << " was overwritten";
  }
  int local = 0;
  EXPECT_FALSE(ShmemAddrIsValid(&local));
}

TEST_F(ShmemAddinTest, AllocationCountIsBounded) {
  Request(kMaxAllocations + 10);
  CreateSegment();
  for (size_t i = 0; i < kMaxAllocations; i++) ASSERT_NE(ShmemAlloc(1), nullptr) << i;
  CaughtError e = CatchError([] { ShmemAlloc(1); });
  EXPECT_EQ(e.message, "could not create ShmemIndex entry for data structure \"(anonymous)\"");
}

// ShmemInitHash: made once, attached by a forked child, shared both ways,
// bounded by max_size (ENTER_NULL gives NULL, ENTER raises), and charged
// exactly hash_estimate_size() against the module budget.
TEST_F(ShmemAddinTest, SharedHashTableIsSharedAndBounded) {
  struct Entry {
    uint32 key;
    int64_t hits;
  };
  constexpr long kMax = 50;
  Request(hash_estimate_size(kMax, sizeof(Entry)));
  CreateSegment();
  HASHCTL ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.keysize = sizeof(uint32);
  ctl.entrysize = sizeof(Entry);
  HTAB* table = ShmemInitHash("hits", kMax, kMax, &ctl, HASH_ELEM | HASH_BLOBS);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(UsedBytes(), hash_estimate_size(kMax, sizeof(Entry)));
  for (uint32 k = 0; k < 10; k++) {
    bool found = true;
    auto* e = static_cast<Entry*>(hash_search(table, &k, HASH_ENTER, &found));
    ASSERT_FALSE(found);
    e->hits = k;
  }
  pid_t pid = Spawn([] {
    HASHCTL c;
    memset(&c, 0, sizeof(c));
    c.keysize = sizeof(uint32);
    c.entrysize = sizeof(Entry);
    HTAB* mine = ShmemInitHash("hits", kMax, kMax, &c, HASH_ELEM | HASH_BLOBS);
    if (hash_get_num_entries(mine) != 10) return 2;
    uint32 k = 7;
    auto* e = static_cast<Entry*>(hash_search(mine, &k, HASH_FIND, nullptr));
    if (e == nullptr || e->hits != 7) return 3;
    e->hits += 100;
    for (uint32 n = 100; n < 140; n++) {
      if (hash_search(mine, &n, HASH_ENTER_NULL, nullptr) == nullptr) return 4;
    }
    return 0;
  });
  EXPECT_EQ(WaitExit(pid), 0);
  uint32 seven = 7;
  EXPECT_EQ(static_cast<Entry*>(hash_search(table, &seven, HASH_FIND, nullptr))->hits, 107);
  EXPECT_EQ(hash_get_num_entries(table), 50);
  uint32 more = 1000;
  EXPECT_EQ(hash_search(table, &more, HASH_ENTER_NULL, nullptr), nullptr);
  CaughtError e = CatchError([&] { hash_search(table, &more, HASH_ENTER, nullptr); });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.sqlstate, "53200");
  EXPECT_EQ(e.message, "out of shared memory");
  // Removing makes room again.
  hash_search(table, &seven, HASH_REMOVE, nullptr);
  EXPECT_NE(hash_search(table, &more, HASH_ENTER_NULL, nullptr), nullptr);
  // Attaching with other sizes is refused.
  ctl.entrysize = sizeof(Entry) + 8;
  e = CatchError([&] { ShmemInitHash("hits", kMax, kMax, &ctl, HASH_ELEM | HASH_BLOBS); });
  EXPECT_TRUE(e.raised);
}

TEST_F(ShmemAddinTest, ChildFindsTheStructAndSharesIt) {
  Request(sizeof(int64_t) * 2);
  CreateSegment();
  bool found = true;
  auto* value = static_cast<std::atomic<int64_t>*>(ShmemInitStruct("shared", 16, &found));
  ASSERT_NE(value, nullptr);
  EXPECT_FALSE(found);
  value->store(41);
  pid_t pid = Spawn([value] {
    bool f = false;
    auto* mine = static_cast<std::atomic<int64_t>*>(ShmemInitStruct("shared", 16, &f));
    if (mine != value || !f) return 2;
    mine->fetch_add(1);
    return 0;
  });
  EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(value->load(), 42);
}

TEST_F(ShmemAddinTest, InvalidStructRequestsAreErrors) {
  Request(4096);
  CreateSegment();
  bool found = true;
  ASSERT_NE(ShmemInitStruct("sized", 100, &found), nullptr);
  CaughtError e = CatchError([] {
    bool f;
    ShmemInitStruct("sized", 200, &f);
  });
  EXPECT_EQ(e.message, "shared memory structure \"sized\" has size 100, requested 200");
  e = CatchError([] {
    bool f;
    ShmemInitStruct("zero", 0, &f);
  });
  EXPECT_EQ(e.message, "invalid size 0 requested for shared memory structure \"zero\"");
  e = CatchError([] {
    bool f;
    ShmemInitStruct("", 8, &f);
  });
  EXPECT_EQ(e.message, "shared memory structure name must not be empty");
  e = CatchError([] {
    bool f;
    ShmemInitStruct(nullptr, 8, &f);
  });
  EXPECT_TRUE(e.raised);
  std::string longest(SHMEM_INDEX_KEYSIZE - 1, 'n');
  EXPECT_NE(ShmemInitStruct(longest.c_str(), 8, &found), nullptr);
  std::string too_long(SHMEM_INDEX_KEYSIZE, 'n');
  e = CatchError([&] {
    bool f;
    ShmemInitStruct(too_long.c_str(), 8, &f);
  });
  EXPECT_EQ(e.sqlstate, "42622");
  EXPECT_NE(e.message.find("is too long"), std::string::npos);
  e = CatchError([] {
    bool f;
    ShmemInitStruct("absurd", static_cast<Size>(-1), &f);
  });
  EXPECT_EQ(e.sqlstate, "53200") << e.message;
}

TEST_F(ShmemAddinTest, RequestsAreAcceptedOnlyWhilePreloadingOrInTheHook) {
  // Outside both (a server child, or here: a standalone process): ERROR.
  CaughtError e = CatchError([] { RequestAddinShmemSpace(100); });
  EXPECT_EQ(e.message, "cannot request additional shared memory outside shmem_request_hook");
  EXPECT_EQ(RequestedBytes(), 0u);

  // PostgreSQL 15: in shmem_request_hook, which the postmaster calls once.
  static int hook_calls = 0;
  hook_calls = 0;
  shmem_request_hook = [] {
    hook_calls++;
    EXPECT_TRUE(process_shmem_requests_in_progress);
    RequestAddinShmemSpace(300);
  };
  ProcessShmemRequests();
  EXPECT_EQ(hook_calls, 1);
  EXPECT_FALSE(process_shmem_requests_in_progress);
  EXPECT_EQ(RequestedBytes(), 300u);

  // PostgreSQL 13/14: straight from _PG_init while preloaded.
  Request(200);
  EXPECT_EQ(RequestedBytes(), 500u);

  // In the postmaster after preloading (e.g. from shmem_startup_hook): a LOG
  // line and no effect, never an error that would stop the postmaster.
  IsPostmasterEnvironment = true;
  e = CatchError([] { RequestAddinShmemSpace(1000); });
  IsPostmasterEnvironment = false;
  EXPECT_FALSE(e.raised);
  EXPECT_EQ(RequestedBytes(), 500u);

  CreateSegment();
  bool found;
  EXPECT_NE(ShmemInitStruct("all of it", 500, &found), nullptr);
}

TEST_F(ShmemAddinTest, SizeArithmeticOverflowIsAnError) {
  EXPECT_EQ(add_size(1, 2), 3u);
  EXPECT_EQ(mul_size(3, 4), 12u);
  EXPECT_EQ(mul_size(0, SIZE_MAX), 0u);
  CaughtError e = CatchError([] { add_size(SIZE_MAX, 1); });
  EXPECT_EQ(e.message, "requested shared memory size overflows size_t");
  EXPECT_EQ(e.sqlstate, "54000");
  e = CatchError([] { mul_size(SIZE_MAX / 2, 3); });
  EXPECT_EQ(e.message, "requested shared memory size overflows size_t");
  e = CatchError([] { Request(SIZE_MAX / 2); });
  process_shared_preload_libraries_in_progress = false;
  EXPECT_TRUE(e.raised) << "an absurd request is refused";
}

TEST_F(ShmemAddinTest, ServerProcessWithoutSharedMemoryGetsAClearError) {
  Request(64);
  CreateSegment();
  pid_t pid = Spawn([] {
    shmem::DetachForChild();
    IsPostmasterEnvironment = true;  // a server child, as a worker is
    CaughtError e = CatchError([] {
      bool f;
      ShmemInitStruct("x", 8, &f);
    });
    if (e.message != "shared memory is not available in this process") return 2;
    if (e.hint.find("BGWORKER_SHMEM_ACCESS") == std::string::npos) return 3;
    e = CatchError([] { ShmemAlloc(8); });
    if (!e.raised) return 4;
    if (ShmemAddrIsValid(&e)) return 5;
    return 0;
  });
  EXPECT_EQ(WaitExit(pid), 0);
}

TEST_F(ShmemAddinTest, ReinitializationGivesAFreshRegionWithTheSameBudget) {
  Request(128);
  CreateSegment();
  bool found = true;
  auto* p = static_cast<char*>(ShmemInitStruct("state", 128, &found));
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(found);
  p[0] = 'x';
  shmem::DestroyMainSegment();  // a crash: the postmaster builds a new segment
  CreateSegment();
  p = static_cast<char*>(ShmemInitStruct("state", 128, &found));
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(found) << "a new generation starts empty";
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(UsedBytes(), 128u);
}

TEST_F(ShmemAddinTest, ConcurrentChildrenAgreeOnStructs) {
  constexpr int kProcs = 4;
  constexpr int kNames = 20;
  Request(kNames * 8 + kProcs * kNames * 8 + 64);
  CreateSegment();
  bool found;
  auto* go = static_cast<std::atomic<int>*>(ShmemInitStruct("go", 64, &found));
  std::vector<pid_t> pids;
  for (int c = 0; c < kProcs; c++) {
    pids.push_back(Spawn([go, c] {
      while (go->load() == 0) {
      }
      for (int i = 0; i < kNames; i++) {
        bool f;
        auto* shared = static_cast<std::atomic<int64_t>*>(
            ShmemInitStruct(("shared" + std::to_string(i)).c_str(), 8, &f));
        shared->fetch_add(1);
        auto* own = static_cast<int64_t*>(
            ShmemInitStruct(("own" + std::to_string(c) + "_" + std::to_string(i)).c_str(), 8, &f));
        if (f) return 2;
        *own = c + 1;
      }
      return 0;
    }));
  }
  go->store(1);
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  for (int i = 0; i < kNames; i++) {
    auto* shared = static_cast<std::atomic<int64_t>*>(
        ShmemInitStruct(("shared" + std::to_string(i)).c_str(), 8, &found));
    EXPECT_TRUE(found);
    EXPECT_EQ(shared->load(), kProcs);
    for (int c = 0; c < kProcs; c++) {
      auto* own = static_cast<int64_t*>(ShmemInitStruct(
          ("own" + std::to_string(c) + "_" + std::to_string(i)).c_str(), 8, &found));
      EXPECT_TRUE(found);
      EXPECT_EQ(*own, c + 1);
    }
  }
}

}  // namespace
}  // namespace bgw::addin
