// Tests of pmsignals (a reason flag plus SIGUSR1 to the postmaster, coalesced
// and test-and-cleared) and of the child slots that make up the dead-man
// switch (ASSIGNED -> ACTIVE -> INACTIVE; released while ACTIVE = crash).
//
// The test process plays the postmaster: ShmemInit records its pid, so Send()
// signals it. SIGUSR1 is caught for the duration of each test.
#include "ipc/pmsignal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "ipc/ipc_testing.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/access/xlog.h"

namespace bgw::pmsignal {
namespace {

using bgw::testing::WaitExit;

volatile sig_atomic_t usr1_count = 0;
void CountUsr1(int) { usr1_count = usr1_count + 1; }

// Forks a child that runs fn() and exits 0; returns its exit code.
template <typename F>
int RunChild(F&& fn) {
  pid_t pid = bgw::testing::ForkChild([&] {
    fn();
    return 0;
  });
  return pid < 0 ? -1 : WaitExit(pid);
}

class PmSignalTest : public ::testing::Test {
 protected:
  static constexpr int kSlots = 5;

  void SetUp() override {
    struct sigaction sa = {};
    sa.sa_handler = CountUsr1;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &saved_usr1_), 0);
    usr1_count = 0;
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    shmem::RequestSpace(ShmemSize(kSlots));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    ShmemInit(kSlots);
  }
  void TearDown() override {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    sigaction(SIGUSR1, &saved_usr1_, nullptr);
  }
  struct sigaction saved_usr1_ = {};
};

TEST_F(PmSignalTest, ShmemSizeGrowsPerChildSlot) {
  EXPECT_GT(ShmemSize(0), 0u);
  EXPECT_EQ(ShmemSize(10) - ShmemSize(9), ShmemSize(2) - ShmemSize(1));
  EXPECT_GE(ShmemSize(10) - ShmemSize(9), sizeof(uint32_t));
}

TEST_F(PmSignalTest, NothingPendingAfterInit) {
  EXPECT_FALSE(CheckAndClear(Reason::kBackgroundWorkerChange));
  EXPECT_EQ(usr1_count, 0);
}

TEST_F(PmSignalTest, SendSignalsThePostmasterAndCheckAndClearConsumes) {
  Send(Reason::kBackgroundWorkerChange);
  EXPECT_EQ(usr1_count, 1);  // a signal sent to oneself arrives before kill() returns
  EXPECT_TRUE(CheckAndClear(Reason::kBackgroundWorkerChange));
  EXPECT_FALSE(CheckAndClear(Reason::kBackgroundWorkerChange));
}

TEST_F(PmSignalTest, RepeatedRequestsCoalesce) {
  for (int i = 0; i < 3; i++) Send(Reason::kBackgroundWorkerChange);
  EXPECT_GE(usr1_count, 1);
  EXPECT_TRUE(CheckAndClear(Reason::kBackgroundWorkerChange));
  EXPECT_FALSE(CheckAndClear(Reason::kBackgroundWorkerChange));
  // A request after the clear is seen again.
  Send(Reason::kBackgroundWorkerChange);
  EXPECT_TRUE(CheckAndClear(Reason::kBackgroundWorkerChange));
}

TEST_F(PmSignalTest, RequestFromAChildReachesThePostmaster) {
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  // Blocked until the child is reaped, so the signal cannot be missed.
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
  EXPECT_EQ(RunChild([] { Send(Reason::kBackgroundWorkerChange); }), 0);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_TRUE(sigismember(&pending, SIGUSR1));
  sigprocmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(usr1_count, 1);
  EXPECT_TRUE(CheckAndClear(Reason::kBackgroundWorkerChange));
  EXPECT_FALSE(CheckAndClear(Reason::kBackgroundWorkerChange));
}

TEST_F(PmSignalTest, RecoveryStateIsPublished) {
  EXPECT_TRUE(InRecovery()) << "a new segment starts in recovery";
  EXPECT_TRUE(RecoveryInProgress());
  PublishInRecovery(false);
  EXPECT_FALSE(InRecovery());
  EXPECT_FALSE(RecoveryInProgress());
  // Children see what the postmaster published.
  EXPECT_EQ(RunChild([] { _exit(InRecovery() ? 1 : 0); }), 0);
  PublishInRecovery(true);
  EXPECT_EQ(RunChild([] { _exit(InRecovery() ? 0 : 1); }), 0);
}

TEST_F(PmSignalTest, ChildSlotsAreHandedOutOnceUntilExhausted) {
  std::set<int> got;
  for (int i = 0; i < kSlots; i++) {
    int slot = AssignChildSlot();
    ASSERT_GE(slot, 0);
    ASSERT_LT(slot, kSlots);
    EXPECT_TRUE(got.insert(slot).second) << "slot " << slot << " handed out twice";
  }
  EXPECT_EQ(AssignChildSlot(), -1);
  EXPECT_EQ(AssignChildSlot(), -1);
  // Released slots come back, one by one.
  EXPECT_TRUE(ReleaseChildSlot(3));
  EXPECT_EQ(AssignChildSlot(), 3);
  EXPECT_EQ(AssignChildSlot(), -1);
  for (int slot : got) EXPECT_TRUE(ReleaseChildSlot(slot));
}

TEST_F(PmSignalTest, AssignedButNeverActiveIsClean) {
  int slot = AssignChildSlot();
  ASSERT_GE(slot, 0);
  // A child that died before it marked itself active had touched nothing.
  EXPECT_TRUE(ReleaseChildSlot(slot));
}

TEST_F(PmSignalTest, ChildStillActiveAtExitIsReportedByRelease) {
  int slot = AssignChildSlot();
  ASSERT_GE(slot, 0);
  EXPECT_EQ(RunChild([slot] { MarkChildActive(slot); }), 0);  // _exit without cleanup
  EXPECT_FALSE(ReleaseChildSlot(slot));
  // The slot is free again and starts clean for the next child.
  EXPECT_EQ(AssignChildSlot(), slot);
  EXPECT_TRUE(ReleaseChildSlot(slot));
}

TEST_F(PmSignalTest, ChildThatMarkedItselfInactiveIsClean) {
  int slot = AssignChildSlot();
  ASSERT_GE(slot, 0);
  EXPECT_EQ(RunChild([slot] {
              MarkChildActive(slot);
              MarkChildInactive();
            }),
            0);
  EXPECT_TRUE(ReleaseChildSlot(slot));
}

// ProcExit is the clean exit path: it marks the slot inactive before _exit.
TEST_F(PmSignalTest, ProcExitMarksTheSlotInactive) {
  int slot = AssignChildSlot();
  ASSERT_GE(slot, 0);
  EXPECT_EQ(RunChild([slot] {
              ResetExitCallbacks();
              MarkChildActive(slot);
              ProcExit(1);
            }),
            1);
  EXPECT_TRUE(ReleaseChildSlot(slot));
}

// Each child owns its own slot: one child's exit does not touch another's.
TEST_F(PmSignalTest, SlotsAreIndependent) {
  int a = AssignChildSlot();
  int b = AssignChildSlot();
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_NE(a, b);
  EXPECT_EQ(RunChild([a] { MarkChildActive(a); }), 0);  // crashed
  EXPECT_EQ(RunChild([b] {
              MarkChildActive(b);
              MarkChildInactive();
            }),
            0);
  EXPECT_TRUE(ReleaseChildSlot(b));
  EXPECT_FALSE(ReleaseChildSlot(a));
}

// The postmaster itself has no slot: MarkChildInactive there is a no-op.
TEST_F(PmSignalTest, MarkChildInactiveWithoutASlotDoesNothing) {
  int slot = AssignChildSlot();
  ASSERT_GE(slot, 0);
  EXPECT_EQ(RunChild([] { MarkChildInactive(); }), 0);
  EXPECT_TRUE(ReleaseChildSlot(slot));
  EXPECT_EQ(AssignChildSlot(), slot);
  EXPECT_EQ(RunChild([slot] {
              MarkChildInactive();  // before active: ignored, no slot yet
              MarkChildActive(slot);
            }),
            0);
  EXPECT_FALSE(ReleaseChildSlot(slot));
}

}  // namespace
}  // namespace bgw::pmsignal
