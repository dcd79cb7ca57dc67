// Tests of LISTEN/NOTIFY (ipc/notify.h) between forked processes sharing a
// segment: delivery at commit in commit order with de-duplication, nothing
// from aborted transactions, late listeners see only later commits, a full
// queue fails the commit with 54000 without appending, and the space comes
// back once listeners read or leave.
#include "ipc/notify.h"
#include "ipc/ipc_testing.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <vector>

#include "common/log.h"
#include "ipc/addin_shmem.h"
#include "ipc/lwlock.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/latch.h"

namespace bgw::notify {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitFor;

constexpr int kSlots = 4;

struct Sync {
  std::atomic<int> phase;
  std::atomic<int> listener_pid;
  std::atomic<int> sent;
  std::atomic<int> received;
};

// Takes notifications, sleeping on the latch between tries, until `want`
// arrived or 10 s passed.
std::vector<notify::Notification> TakeAtLeast(size_t want) {
  std::vector<notify::Notification> got;
  for (int i = 0; i < 100 && got.size() < want; i++) {
    for (auto& n : Take()) got.push_back(std::move(n));
    if (got.size() >= want) break;
    WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT, 100, 0);
    ResetLatch(MyLatch);
  }
  return got;
}

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    lwlock::ResetForTesting();
    addin::ResetForTesting();
    shmem::RequestSpace(proc::ShmemSize(kSlots));
    shmem::RequestSpace(lwlock::ShmemSize());
    shmem::RequestSpace(ShmemSize(kSlots));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    proc::ShmemInit(kSlots);
    ASSERT_TRUE(lwlock::ShmemInit().ok());
    ShmemInit(kSlots);
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    sync_ = new (p) Sync();
  }
  void TearDown() override {
    munmap(sync_, 4096);
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    lwlock::ResetForTesting();
    addin::ResetForTesting();
  }

  template <typename F>
  pid_t Child(int slot, F&& body) {
    return bgw::testing::ForkChild([&]() -> int {
      ResetExitCallbacks();
      MyProcPid = getpid();
      InitializeLatchSupport();
      proc::AttachChild(slot, "test", "notify_test");
      ProcExit(body());
    });
  }

  bool WaitPhase(int phase) {
    return WaitFor([&] { return sync_->phase.load() >= phase; });
  }

  Sync* sync_ = nullptr;
};

TEST_F(NotifyTest, BadChannelsAndPayloadsAre22023) {
  auto empty = Notify("", "x");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().sqlstate, "22023");
  EXPECT_EQ(empty.error().message, "channel name cannot be empty");
  auto longname = Listen(std::string(kMaxChannelLen + 1, 'c'));
  ASSERT_FALSE(longname.ok());
  EXPECT_EQ(longname.error().sqlstate, "22023");
  EXPECT_EQ(longname.error().message, "channel name too long");
  auto payload = Notify("c", std::string(kMaxPayloadLen + 1, 'p'));
  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.error().message, "payload string too long");
  EXPECT_TRUE(Notify(std::string(kMaxChannelLen, 'c'), std::string(kMaxPayloadLen, 'p')).ok());
  EXPECT_FALSE(Unlisten("").ok());
  EXPECT_TRUE(Unlisten("*").ok());
  AtAbort();
}

TEST_F(NotifyTest, ListenNeedsAProcessSlot) {
  auto s = Listen("c");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sqlstate, "55000");
  EXPECT_TRUE(Take().empty());
}

TEST_F(NotifyTest, CommittedNotificationsArriveInOrderOnceEach) {
  pid_t listener = Child(0, [&] {
    if (!Listen("ch").ok() || !AtCommit().ok()) return 2;
    sync_->phase.store(1);
    std::vector<notify::Notification> got = TakeAtLeast(3);
    usleep(50000);  // anything else (the aborted one, "other") would be here now
    for (auto& n : Take()) got.push_back(std::move(n));
    if (got.size() != 3) return 10 + static_cast<int>(got.size());
    if (got[0].payload != "a" || got[1].payload != "b" || got[2].payload != "c") return 4;
    for (const auto& n : got) {
      if (n.channel != "ch" || n.sender_pid != sync_->listener_pid.load()) return 5;
    }
    return 0;
  });
  ASSERT_TRUE(WaitPhase(1));
  pid_t sender = Child(1, [&] {
    sync_->listener_pid.store(getpid());
    (void)Notify("ch", "a");
    (void)Notify("ch", "b");
    (void)Notify("ch", "a");  // a duplicate within one transaction is sent once
    (void)Notify("other", "x");
    if (!AtCommit().ok()) return 2;
    (void)Notify("ch", "dropped");
    AtAbort();
    if (!AtCommit().ok()) return 3;  // nothing left to send
    (void)Notify("ch", "c");
    return AtCommit().ok() ? 0 : 4;
  });
  EXPECT_EQ(WaitExit(sender), 0);
  EXPECT_EQ(WaitExit(listener), 0);
}

TEST_F(NotifyTest, ListenAndNotifyInOneTransactionDeliversToSelfUntilUnlisten) {
  pid_t pid = Child(2, [&] {
    (void)Listen("me");
    (void)Notify("me", "hello");
    if (!AtCommit().ok()) return 2;
    auto got = Take();
    if (got.size() != 1 || got[0].payload != "hello" || got[0].sender_pid != getpid()) return 3;
    (void)Unlisten("me");
    if (!AtCommit().ok()) return 4;
    (void)Notify("me", "again");
    if (!AtCommit().ok()) return 5;
    if (!Take().empty()) return 6;
    // A LISTEN that is rolled back never takes effect.
    (void)Listen("me");
    AtAbort();
    (void)Notify("me", "third");
    (void)AtCommit();
    return Take().empty() ? 0 : 7;
  });
  EXPECT_EQ(WaitExit(pid), 0);
}

TEST_F(NotifyTest, LateListenerSeesOnlyNotificationsCommittedAfterItsListen) {
  pid_t sender = Child(1, [&] {
    (void)Notify("ch", "early");
    if (!AtCommit().ok()) return 2;
    sync_->phase.store(1);
    if (!WaitPhase(2)) return 3;
    (void)Notify("ch", "late");
    return AtCommit().ok() ? 0 : 4;
  });
  pid_t listener = Child(0, [&] {
    if (!WaitPhase(1)) return 2;
    (void)Listen("ch");
    if (!AtCommit().ok()) return 3;
    sync_->phase.store(2);
    auto got = TakeAtLeast(1);
    usleep(20000);
    for (auto& n : Take()) got.push_back(std::move(n));
    return got.size() == 1 && got[0].payload == "late" ? 0 : 10 + static_cast<int>(got.size());
  });
  EXPECT_EQ(WaitExit(sender), 0);
  EXPECT_EQ(WaitExit(listener), 0);
}

TEST_F(NotifyTest, FullQueueFailsTheCommitWith54000UntilTheListenerReads) {
  pid_t listener = Child(0, [&] {
    (void)Listen("ch");
    if (!AtCommit().ok()) return 2;
    sync_->phase.store(1);
    if (!WaitPhase(2)) return 3;
    // Everything committed before the failure, nothing of the failed one.
    size_t want = static_cast<size_t>(sync_->sent.load());
    auto got = TakeAtLeast(want);
    sync_->received.store(static_cast<int>(got.size()));
    sync_->phase.store(3);
    return WaitPhase(4) ? 0 : 4;
  });
  ASSERT_TRUE(WaitPhase(1));
  pid_t sender = Child(1, [&] {
    std::string payload(kMaxPayloadLen, 'p');
    Status s = Status::Ok();
    int sent = 0;
    for (int i = 0; i < 1000; i++) {
      (void)Notify("ch", std::to_string(i) + payload.substr(10));
      s = AtCommit();
      if (!s.ok()) break;
      sent++;
    }
    sync_->sent.store(sent);
    if (s.ok()) return 2;
    if (s.error().sqlstate != "54000" ||
        s.error().message != "too many notifications in the NOTIFY queue") {
      return 3;
    }
    sync_->phase.store(2);
    if (!WaitPhase(3)) return 4;
    // The listener read everything: the space is back.
    (void)Notify("ch", "after");
    s = AtCommit();
    sync_->phase.store(4);
    return s.ok() ? 0 : 5;
  });
  EXPECT_EQ(WaitExit(sender), 0);
  EXPECT_EQ(WaitExit(listener), 0);
  EXPECT_GT(sync_->sent.load(), 100);
  EXPECT_EQ(sync_->received.load(), sync_->sent.load());
}

TEST_F(NotifyTest, ListenerThatExitsNoLongerHoldsQueueSpace) {
  pid_t listener = Child(0, [&] {
    (void)Listen("ch");
    return AtCommit().ok() ? 0 : 2;
  });
  ASSERT_EQ(WaitExit(listener), 0);
  pid_t sender = Child(1, [&] {
    std::string payload(kMaxPayloadLen, 'p');
    for (int i = 0; i < 400; i++) {  // about three times the queue
      (void)Notify("ch", std::to_string(i) + payload.substr(10));
      if (!AtCommit().ok()) return 2;
    }
    return 0;
  });
  EXPECT_EQ(WaitExit(sender), 0);
}

}  // namespace
}  // namespace bgw::notify
