// Tests of storage/proc.h and storage/procarray.h: PGPROC is the start of a
// process slot, BackendPidGetProc finds the slot a forked child attached
// (and stops finding it once the child exits), and a module written like
// PostgreSQL's test_shm_mq (MyProc->procLatch, BackendPidGetProc, SetLatch)
// compiles as C99/C11/C++20.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "ipc/ipc_testing.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/ipc.h"
#include "postgres/storage/latch.h"
#include "postgres/storage/proc.h"
#include "postgres/storage/procarray.h"

namespace bgw {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitFor;

constexpr int kProcSlots = 4;
constexpr unsigned kChildAlarmSeconds = 60;

struct Sync {
  std::atomic<int> attached;
  std::atomic<int> release;
  std::atomic<int> woken;
};

class ProcArrayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    shmem::RequestSpace(proc::ShmemSize(kProcSlots));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    proc::ShmemInit(kProcSlots);
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    sync_ = new (p) Sync();
  }
  void TearDown() override {
    if (sync_ != nullptr) munmap(sync_, 4096);
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
  }

  // A child that takes slot `slot`, reports that, and sleeps on
  // MyProc->procLatch until the parent sets it and asks it to leave.
  pid_t Child(int slot) {
    fflush(nullptr);
    pid_t pid = fork();
    if (pid != 0) return pid;
    alarm(kChildAlarmSeconds);
    ResetExitCallbacks();
    IsPostmasterEnvironment = false;
    IsUnderPostmaster = false;
    MyProcPid = getpid();
    InitializeLatchSupport();
    proc::AttachChild(slot, "test", "procarray_test");
    int code = 0;
    if (MyProc == nullptr || MyLatch != &MyProc->procLatch) code = 2;
    if (code == 0 && BackendPidGetProc(getpid()) != MyProc) code = 3;
    if (code == 0 && (MyProc->pid != getpid() || MyProc->pgprocno != slot ||
                      MyProc->backendId != slot + 1 || MyProc->databaseId != InvalidOid)) {
      code = 4;
    }
    sync_->attached.store(1);
    while (code == 0 && sync_->release.load() == 0) {
      WaitLatch(&MyProc->procLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, 0);
      ResetLatch(MyLatch);
      sync_->woken.fetch_add(1);
    }
    ProcExit(code);
  }

  Sync* sync_ = nullptr;
};

TEST_F(ProcArrayTest, PgProcIsTheStartOfItsSlot) {
  for (int i = 0; i < kProcSlots; i++) {
    proc::ProcSlot* slot = proc::Slot(i);
    ASSERT_NE(slot, nullptr);
    PGPROC* p = proc::ToPgProc(slot);
    EXPECT_EQ(static_cast<void*>(p), static_cast<void*>(slot));
    EXPECT_EQ(proc::FromPgProc(p), slot);
    EXPECT_EQ(p->pgprocno, i);
    EXPECT_EQ(p->pid, 0);
    EXPECT_EQ(p->backendId, InvalidBackendId);
    EXPECT_EQ(p->databaseId, InvalidOid);
    EXPECT_EQ(p->roleId, InvalidOid);
  }
  EXPECT_EQ(proc::ToPgProc(nullptr), nullptr);
  PGPROC outside{};
  EXPECT_EQ(proc::FromPgProc(&outside), nullptr);
}

TEST_F(ProcArrayTest, BackendPidGetProcFindsAForkedChildsSlot) {
  EXPECT_EQ(BackendPidGetProc(0), nullptr);
  EXPECT_EQ(BackendPidGetProc(-1), nullptr);
  EXPECT_EQ(BackendPidGetProc(getpid()), nullptr) << "the parent holds no slot";

  pid_t child = Child(2);
  ASSERT_GT(child, 0);
  ASSERT_TRUE(WaitFor([&] { return sync_->attached.load() != 0; }));
  PGPROC* p = BackendPidGetProc(child);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p, proc::ToPgProc(proc::Slot(2)));
  EXPECT_EQ(BackendPidGetProcWithLock(child), p);
  EXPECT_EQ(p->pid, child);
  EXPECT_EQ(p->pgprocno, 2);
  EXPECT_EQ(p->backendId, 3);
  EXPECT_EQ(BackendPidGetProc(child + 100000), nullptr) << "unknown pid";

  // Wake the child through its PGPROC, as test_shm_mq's worker wakes the
  // registrant.
  SetLatch(&p->procLatch);
  EXPECT_TRUE(WaitFor([&] { return sync_->woken.load() >= 1; }));
  sync_->release.store(1);
  SetLatch(&p->procLatch);
  EXPECT_EQ(WaitExit(child), 0);

  EXPECT_EQ(BackendPidGetProc(child), nullptr) << "released at exit";
  EXPECT_EQ(p->pid, 0);
  EXPECT_EQ(p->backendId, InvalidBackendId);
}

TEST(ProcArrayOutsideSharedMemory, ReturnsNull) {
  shmem::DestroyMainSegment();
  EXPECT_EQ(BackendPidGetProc(getpid()), nullptr);
  EXPECT_EQ(BackendPidGetProcWithLock(1), nullptr);
}

// A module in the style of test_shm_mq (worker.c / setup.c), as C99, C11 and
// C++20 with warnings as errors.
TEST(ProcArrayHeaders, TestShmMqStyleModuleCompiles) {
  if (system("command -v gcc >/dev/null 2>&1") != 0) GTEST_SKIP() << "gcc not installed";
  char path[] = "/tmp/bgw_procarray_headers_XXXXXX.c";
  int fd = mkstemps(path, 2);
  ASSERT_GE(fd, 0);
  const char* source =
      "#include \"postgres.h\"\n"
      "#include \"miscadmin.h\"\n"
      "#include \"postmaster/bgworker.h\"\n"
      "#include \"storage/procarray.h\"\n"
      "#include \"storage/shm_mq.h\"\n"
      "#include \"storage/proc.h\"\n"
      "#include \"storage/latch.h\"\n"
      "int notify_registrant(pid_t registrant_pid, shm_mq *mq);\n"
      "int notify_registrant(pid_t registrant_pid, shm_mq *mq)\n"
      "{\n"
      "\tPGPROC *registrant;\n"
      "\tLatch *mine = &MyProc->procLatch;\n"
      "\tshm_mq_set_sender(mq, MyProc);\n"
      "\tregistrant = BackendPidGetProc(registrant_pid);\n"
      "\tif (registrant == NULL)\n"
      "\t{\n"
      "\t\telog(DEBUG1, \"registrant backend has exited prematurely\");\n"
      "\t\treturn 1;\n"
      "\t}\n"
      "\tSetLatch(&registrant->procLatch);\n"
      "\tregistrant = BackendPidGetProcWithLock(registrant->pid);\n"
      "\tResetLatch(mine);\n"
      "\treturn registrant != NULL && registrant->backendId != InvalidBackendId\n"
      "\t\t&& registrant->pgprocno >= 0 && OidIsValid(registrant->databaseId) == false\n"
      "\t\t&& registrant->roleId == InvalidOid;\n"
      "}\n";
  ASSERT_EQ(write(fd, source, strlen(source)), static_cast<ssize_t>(strlen(source)));
  close(fd);
  std::string dir = BGW_SOURCE_DIR;
  for (const char* std : {"-std=c99", "-std=c11", "-x c++ -std=c++20"}) {
    std::string cmd = std::string(strstr(std, "c++") ? "g++ " : "gcc ") + std +
                      " -Wall -Wextra -Werror -c -o /dev/null -I" + dir + "/include/postgres " +
                      path;
    EXPECT_EQ(system(cmd.c_str()), 0) << cmd;
  }
  unlink(path);
}

}  // namespace
}  // namespace bgw
