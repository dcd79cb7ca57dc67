// Tests of port/atomics.h: every operation's return value and effect (32
// and 64 bit, flags), wrap-around, compare-exchange reporting the current
// value, atomicity between forked processes (fetch_add, a CAS loop, a flag
// used as a lock around a plain counter), publication through write/read
// barriers, and that the shared-memory headers of this toolkit compile as
// C99, C11 and C++20 with warnings as errors (modules must build unmodified).
// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include "postgres/port/atomics.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include "ipc/ipc_testing.h"
#include "postgres/storage/condition_variable.h"
#include "postgres/storage/lwlock.h"
#include "postgres/storage/spin.h"

namespace {

using bgw::testing::WaitExit;

struct Shared {
  pg_atomic_uint32 u32;
  pg_atomic_uint64 u64;
  pg_atomic_uint32 cas_counter;
  pg_atomic_flag flag;
  volatile int64 plain;
  pg_atomic_uint32 go;
  // Message passing.
  int64 payload[64];
  pg_atomic_uint32 published;
};

class AtomicsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p =
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    s_ = static_cast<Shared*>(p);
  }
  void TearDown() override { munmap(s_, sizeof(Shared)); }

  template <typename F>
  void RunInChildren(int n, F&& body) {
    std::vector<pid_t> pids;
    for (int i = 0; i < n; i++) {
      pid_t pid = bgw::testing::ForkChild([&] {
        while (pg_atomic_read_u32(&s_->go) == 0) pg_spin_delay();
        body(i);
        return 0;
      });
      ASSERT_GE(pid, 0);
      pids.push_back(pid);
    }
    pg_atomic_write_u32(&s_->go, 1);
    for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  }

  Shared* s_ = nullptr;
};

TEST_F(AtomicsTest, U32OperationsReturnTheDocumentedValues) {
  pg_atomic_uint32* a = &s_->u32;
  pg_atomic_init_u32(a, 5);
  EXPECT_EQ(pg_atomic_read_u32(a), 5u);
  pg_atomic_write_u32(a, 7);
  EXPECT_EQ(pg_atomic_read_u32(a), 7u);
  pg_atomic_unlocked_write_u32(a, 8);
  EXPECT_EQ(pg_atomic_read_u32(a), 8u);

  EXPECT_EQ(pg_atomic_exchange_u32(a, 10), 8u);
  EXPECT_EQ(pg_atomic_read_u32(a), 10u);

  uint32 expected = 3;
  EXPECT_FALSE(pg_atomic_compare_exchange_u32(a, &expected, 20));
  EXPECT_EQ(expected, 10u) << "a failed CAS reports the current value";
  EXPECT_EQ(pg_atomic_read_u32(a), 10u);
  EXPECT_TRUE(pg_atomic_compare_exchange_u32(a, &expected, 20));
  EXPECT_EQ(expected, 10u);
  EXPECT_EQ(pg_atomic_read_u32(a), 20u);

  EXPECT_EQ(pg_atomic_fetch_add_u32(a, 5), 20u);
  EXPECT_EQ(pg_atomic_fetch_add_u32(a, -10), 25u);
  EXPECT_EQ(pg_atomic_fetch_sub_u32(a, 5), 15u);
  EXPECT_EQ(pg_atomic_add_fetch_u32(a, 100), 110u);
  EXPECT_EQ(pg_atomic_sub_fetch_u32(a, 10), 100u);
  EXPECT_EQ(pg_atomic_fetch_or_u32(a, 0x0F00), 100u);
  EXPECT_EQ(pg_atomic_read_u32(a), 100u | 0x0F00u);
  EXPECT_EQ(pg_atomic_fetch_and_u32(a, 0x0F00), 100u | 0x0F00u);
  EXPECT_EQ(pg_atomic_read_u32(a), 0x0F00u);

  // Unsigned wrap-around, both ways.
  pg_atomic_write_u32(a, PG_UINT32_MAX);
  EXPECT_EQ(pg_atomic_add_fetch_u32(a, 1), 0u);
  EXPECT_EQ(pg_atomic_sub_fetch_u32(a, 1), PG_UINT32_MAX);
  EXPECT_EQ(pg_atomic_fetch_add_u32(a, PG_INT32_MAX), PG_UINT32_MAX);
}

TEST_F(AtomicsTest, U64OperationsUseAllSixtyFourBits) {
  pg_atomic_uint64* a = &s_->u64;
  const uint64 big = UINT64CONST(0x1234567800000000);
  pg_atomic_init_u64(a, big);
  EXPECT_EQ(pg_atomic_read_u64(a), big);
  pg_atomic_write_u64(a, big + 1);
  EXPECT_EQ(pg_atomic_read_u64(a), big + 1);
  pg_atomic_unlocked_write_u64(a, big + 2);
  EXPECT_EQ(pg_atomic_exchange_u64(a, big), big + 2);

  uint64 expected = 0;
  EXPECT_FALSE(pg_atomic_compare_exchange_u64(a, &expected, 1));
  EXPECT_EQ(expected, big);
  EXPECT_TRUE(pg_atomic_compare_exchange_u64(a, &expected, big << 1));
  EXPECT_EQ(pg_atomic_read_u64(a), big << 1);

  pg_atomic_write_u64(a, UINT64CONST(0xFFFFFFFF));
  EXPECT_EQ(pg_atomic_fetch_add_u64(a, 1), UINT64CONST(0xFFFFFFFF));
  EXPECT_EQ(pg_atomic_read_u64(a), UINT64CONST(0x100000000)) << "carry into the high word";
  EXPECT_EQ(pg_atomic_fetch_sub_u64(a, 1), UINT64CONST(0x100000000));
  EXPECT_EQ(pg_atomic_add_fetch_u64(a, INT64CONST(0x100000000)), UINT64CONST(0x1FFFFFFFF));
  EXPECT_EQ(pg_atomic_sub_fetch_u64(a, INT64CONST(0xFFFFFFFF)), UINT64CONST(0x100000000));
  EXPECT_EQ(pg_atomic_fetch_or_u64(a, 0xFF), UINT64CONST(0x100000000));
  EXPECT_EQ(pg_atomic_fetch_and_u64(a, UINT64CONST(0xFFFFFFFF00000000)), UINT64CONST(0x1000000FF));
  EXPECT_EQ(pg_atomic_read_u64(a), UINT64CONST(0x100000000));
  EXPECT_EQ(pg_atomic_add_fetch_u64(a, -INT64CONST(0x100000001)), PG_UINT64_MAX);
}

TEST_F(AtomicsTest, FlagTestSetClearAndUnlockedTest) {
  pg_atomic_flag* f = &s_->flag;
  pg_atomic_init_flag(f);
  EXPECT_TRUE(pg_atomic_unlocked_test_flag(f)) << "true means clear";
  EXPECT_TRUE(pg_atomic_test_set_flag(f));
  EXPECT_FALSE(pg_atomic_unlocked_test_flag(f));
  EXPECT_FALSE(pg_atomic_test_set_flag(f)) << "already set";
  pg_atomic_clear_flag(f);
  EXPECT_TRUE(pg_atomic_unlocked_test_flag(f));
  EXPECT_TRUE(pg_atomic_test_set_flag(f));
  pg_atomic_clear_flag(f);
}

TEST_F(AtomicsTest, TypesFitSharedMemory) {
  static_assert(std::is_trivially_copyable_v<pg_atomic_uint32>);
  static_assert(std::is_trivially_copyable_v<pg_atomic_uint64>);
  static_assert(std::is_trivially_copyable_v<pg_atomic_flag>);
  static_assert(std::is_trivially_copyable_v<ConditionVariable>);
  static_assert(sizeof(pg_atomic_uint32) == 4);
  static_assert(sizeof(pg_atomic_uint64) == 8);
  static_assert(alignof(pg_atomic_uint64) == 8);
  static_assert(sizeof(slock_t) == 1);
  static_assert(sizeof(ConditionVariableMinimallyPadded) == 16);
  SUCCEED();
}

TEST_F(AtomicsTest, ReadModifyWriteIsAtomicAcrossProcesses) {
  constexpr int kProcs = 4;
  constexpr int kIters = 200000;
  pg_atomic_init_u32(&s_->u32, 0);
  pg_atomic_init_u64(&s_->u64, UINT64CONST(0xFFFFFFFF) - 1000);
  pg_atomic_init_u32(&s_->cas_counter, 0);
  RunInChildren(kProcs, [this](int) {
    for (int n = 0; n < kIters; n++) {
      pg_atomic_fetch_add_u32(&s_->u32, 1);
      pg_atomic_add_fetch_u64(&s_->u64, 3);
      uint32 old = pg_atomic_read_u32(&s_->cas_counter);
      while (!pg_atomic_compare_exchange_u32(&s_->cas_counter, &old, old + 1)) {
      }
    }
  });
  EXPECT_EQ(pg_atomic_read_u32(&s_->u32), uint32{kProcs} * kIters);
  EXPECT_EQ(pg_atomic_read_u64(&s_->u64), UINT64CONST(0xFFFFFFFF) - 1000 + 3ULL * kProcs * kIters);
  EXPECT_EQ(pg_atomic_read_u32(&s_->cas_counter), uint32{kProcs} * kIters);
}

TEST_F(AtomicsTest, FlagWorksAsALockAcrossProcesses) {
  constexpr int kProcs = 4;
  constexpr int kIters = 50000;
  pg_atomic_init_flag(&s_->flag);
  s_->plain = 0;
  RunInChildren(kProcs, [this](int) {
    for (int n = 0; n < kIters; n++) {
      while (!pg_atomic_test_set_flag(&s_->flag)) pg_spin_delay();
      s_->plain = s_->plain + 1;
      pg_atomic_clear_flag(&s_->flag);
    }
  });
  EXPECT_EQ(s_->plain, int64{kProcs} * kIters);
}

// The writer fills a payload, write barrier, publishes a sequence number;
// the reader sees the number, read barrier, and must see the payload.
TEST_F(AtomicsTest, BarriersPublishDataBetweenProcesses) {
  constexpr uint32 kRounds = 20000;
  pg_atomic_init_u32(&s_->published, 0);
  int bad_pipe[2];
  ASSERT_EQ(pipe(bad_pipe), 0);
  RunInChildren(2, [this, bad_pipe](int who) {
    if (who == 0) {
      for (uint32 r = 1; r <= kRounds; r++) {
        // Wait for the reader to take the previous round.
        while (pg_atomic_read_u32(&s_->published) != 2 * (r - 1)) pg_spin_delay();
        for (int64& v : s_->payload) v = r;
        pg_write_barrier();
        pg_atomic_write_u32(&s_->published, 2 * r - 1);
      }
    } else {
      int bad = 0;
      for (uint32 r = 1; r <= kRounds; r++) {
        while (pg_atomic_read_u32(&s_->published) != 2 * r - 1) pg_spin_delay();
        pg_read_barrier();
        for (int64 v : s_->payload) bad += v != static_cast<int64>(r);
        pg_memory_barrier();
        pg_atomic_write_u32(&s_->published, 2 * r);
      }
      (void)!write(bad_pipe[1], &bad, sizeof bad);
    }
  });
  int bad = -1;
  ASSERT_EQ(read(bad_pipe[0], &bad, sizeof bad), static_cast<ssize_t>(sizeof bad));
  EXPECT_EQ(bad, 0);
  close(bad_pipe[0]);
  close(bad_pipe[1]);
  pg_compiler_barrier();
}

// A module-style C file using every header of the toolkit.
constexpr const char* kModuleSource = R"(
#include "postgres.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/s_lock.h"
#include "storage/shmem.h"
#include "storage/spin.h"

typedef struct ModuleState
{
	slock_t		mutex;
	LWLock		lock;
	ConditionVariable cv;
	pg_atomic_uint32 hits;
	pg_atomic_uint64 bytes;
	pg_atomic_flag once;
	int64		counter;
} ModuleState;

static ModuleState *state = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
module_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(ModuleState)), mul_size(2, 64)));
	RequestNamedLWLockTranche("module", 2);
}

static void
module_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	state = (ModuleState *) ShmemInitStruct("module", sizeof(ModuleState), &found);
	if (!found)
	{
		SpinLockInit(&state->mutex);
		LWLockInitialize(&state->lock, LWLockNewTrancheId());
		ConditionVariableInit(&state->cv);
		pg_atomic_init_u32(&state->hits, 0);
		pg_atomic_init_u64(&state->bytes, 0);
		pg_atomic_init_flag(&state->once);
	}
	LWLockRelease(AddinShmemInitLock);
	LWLockRegisterTranche(state->lock.tranche, "module");
}

void		module_touch(void);

void
module_touch(void)
{
	LWLockPadded *named = GetNamedLWLockTranche("module");
	uint32		expected = 0;
	uint64		expected64 = 0;

	SpinLockAcquire(&state->mutex);
	state->counter++;
	SpinLockRelease(&state->mutex);
	if (LWLockConditionalAcquire(&named[1].lock, LW_SHARED))
		LWLockRelease(&named[1].lock);
	if (!LWLockAcquire(&state->lock, LW_EXCLUSIVE))
		elog(LOG, "waited");
	Assert(LWLockHeldByMe(&state->lock));
	Assert(LWLockHeldByMeInMode(&state->lock, LW_EXCLUSIVE));
	LWLockRelease(&state->lock);
	(void) pg_atomic_fetch_add_u32(&state->hits, 1);
	(void) pg_atomic_compare_exchange_u32(&state->hits, &expected, 5);
	(void) pg_atomic_compare_exchange_u64(&state->bytes, &expected64, 5);
	(void) pg_atomic_sub_fetch_u64(&state->bytes, 1);
	if (pg_atomic_test_set_flag(&state->once))
		pg_atomic_clear_flag(&state->once);
	pg_memory_barrier();
	pg_read_barrier();
	pg_write_barrier();
	ConditionVariablePrepareToSleep(&state->cv);
	(void) ConditionVariableTimedSleep(&state->cv, 10, PG_WAIT_EXTENSION);
	ConditionVariableCancelSleep();
	ConditionVariableBroadcast(&state->cv);
	ConditionVariableSignal(&state->cv);
	(void) ShmemAddrIsValid(state);
	(void) GetLWLockIdentifier(PG_WAIT_LWLOCK, state->lock.tranche);
	(void) process_shmem_requests_in_progress;
	LWLockReleaseAll();
}

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = module_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = module_shmem_startup;
}
)";

bool HaveCompiler(const char* name) {
  return system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

int CompileModule(const std::string& compiler, const std::string& flags) {
  char path[] = "/tmp/bgw_atomics_module_XXXXXX.c";
  int fd = mkstemps(path, 2);
  if (fd < 0) return -1;
  FILE* f = fdopen(fd, "w");
  fputs(kModuleSource, f);
  fclose(f);
  std::string include = std::string(BGW_SOURCE_DIR) + "/include/postgres";
  std::string cmd =
      compiler + " " + flags + " -Wall -Wextra -Werror -c -o /dev/null -I" + include + " " + path;
  int rc = system(cmd.c_str());
  unlink(path);
  return rc;
}

TEST_F(AtomicsTest, ToolkitHeadersCompileAsC99C11AndCxx20) {
  if (!HaveCompiler("gcc")) GTEST_SKIP() << "gcc not installed";
  EXPECT_EQ(CompileModule("gcc", "-std=c99"), 0);
  EXPECT_EQ(CompileModule("gcc", "-std=c11 -O2"), 0);
  EXPECT_EQ(CompileModule("gcc", "-std=c11 -pedantic"), 0);
  if (HaveCompiler("g++")) {
    EXPECT_EQ(CompileModule("g++", "-x c++ -std=c++20 -O2"), 0);
  }
}

}  // namespace
