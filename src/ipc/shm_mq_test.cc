// Tests of shared memory message queues (storage/shm_mq.h) between forked
// processes: each child takes a process slot (as a background worker does),
// so latches are set and waited on exactly as in the server. The queues
// live in an anonymous MAP_SHARED region made before the fork, or in a DSM
// segment for the auto-detach tests.
//
// Covered: ring wrap-around with many message sizes, messages much larger
// than the ring, nowait sends and receives returning SHM_MQ_WOULD_BLOCK and
// resumed with the same arguments, gathering iovecs, the receiver draining
// after the sender detached (including unflushed batched sends), detach
// seen by the sender, set-once sides, misuse errors, waits for attach, the
// on_dsm_detach auto-detach at process exit, and that the headers compile as
// C99/C11 with both the PostgreSQL 14 and 15 spellings of shm_mq_send.
//
// Every child arms alarm(): a lost wake-up kills it instead of hanging.
// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "compat/compat_testing.h"
#include "ipc/dsm.h"
#include "ipc/ipc_testing.h"
#include "ipc/proc.h"
#include "ipc/proc_exit.h"
#include "ipc/segment.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/dsm.h"
#include "postgres/storage/ipc.h"
#include "postgres/storage/latch.h"
#include "postgres/storage/shm_mq.h"
#include "postgres/storage/shm_toc.h"
#include "postgres/utils/memutils.h"

namespace bgw {
namespace {

using bgw::testing::WaitExit;
using bgw::testing::WaitFor;

using compat::testing::CatchError;
using compat::testing::CaughtError;

constexpr int kProcSlots = 6;
constexpr int kDsmSegments = 8;
constexpr size_t kAreaSize = 1 << 20;
constexpr unsigned kChildAlarmSeconds = 60;

// Cross-process bookkeeping in MAP_SHARED memory.
struct Sync {
  std::atomic<int> stage;
  std::atomic<int> would_block[2];
  std::atomic<uint32_t> handle;
  std::atomic<int> flags[4];
  char error[512];
};

// Deterministic message contents: message `m`, byte `i`.
uint8_t Byte(uint64_t m, size_t i) {
  return static_cast<uint8_t>((m * 2654435761u) ^ (i * 40503u) ^ (i >> 7) ^ (m >> 3));
}
void Fill(std::vector<char>& buf, uint64_t m, size_t len) {
  buf.resize(len);
  for (size_t i = 0; i < len; i++) buf[i] = static_cast<char>(Byte(m, i));
}
// First mismatch, or -1.
long Mismatch(const void* data, uint64_t m, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < len; i++) {
    if (p[i] != Byte(m, i)) return static_cast<long>(i);
  }
  return -1;
}

class ShmMqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
    shmem::RequestSpace(proc::ShmemSize(kProcSlots));
    shmem::RequestSpace(dsm::ShmemSize(kDsmSegments));
    ASSERT_TRUE(shmem::CreateMainSegment().ok());
    proc::ShmemInit(kProcSlots);
    dsm::ShmemInit(kDsmSegments);
    ASSERT_TRUE(dsm::SetNamePrefix("bgwtest.mq." + std::to_string(getpid())).ok());
    void* p = mmap(nullptr, kAreaSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    area_ = static_cast<char*>(p);
    sync_ = new (area_) Sync();
    queue_space_ = area_ + 4096;
  }
  void TearDown() override {
    if (area_ != nullptr) munmap(area_, kAreaSize);
    dsm::RemoveLeftoverSegments();
    shmem::DestroyMainSegment();
    shmem::ResetRequests();
  }

  // Forks a child that takes process slot `slot` and runs body(), which
  // returns the exit code. An ERROR escaping body() is recorded in
  // sync_->error and exits 90. The child leaves through ProcExit, so its
  // exit callbacks (DSM detach, slot release) run as in the server.
  template <typename F>
  pid_t Child(int slot, F&& body) {
    return bgw::testing::ForkChild(
        [&]() -> int {
          ResetExitCallbacks();
          IsPostmasterEnvironment = false;
          IsUnderPostmaster = false;
          MyProcPid = getpid();
          InitializeLatchSupport();
          proc::AttachChild(slot, "test", "shm_mq_test");
          int code = 0;
          CaughtError e = CatchError([&] { code = body(); });
          if (e.raised) {
            snprintf(sync_->error, sizeof sync_->error, "slot %d: %s", slot, e.message.c_str());
            code = 90;
          }
          ProcExit(code);
        },
        kChildAlarmSeconds);
  }

  shm_mq* NewQueue(size_t size, size_t offset = 0) {
    return shm_mq_create(queue_space_ + offset, size);
  }

  char* area_ = nullptr;
  char* queue_space_ = nullptr;
  Sync* sync_ = nullptr;
};

TEST_F(ShmMqTest, MinimumSizeAndCreateRejectsTooSmall) {
  EXPECT_GE(shm_mq_minimum_size, sizeof(Size) * 2);
  EXPECT_EQ(shm_mq_minimum_size % MAXIMUM_ALIGNOF, 0u);
  CaughtError e = CatchError([&] { NewQueue(shm_mq_minimum_size - 1); });
  EXPECT_TRUE(e.raised);
  EXPECT_NE(e.message.find("too small"), std::string::npos) << e.message;
  EXPECT_EQ(e.sqlstate, "22023");
  e = CatchError([&] { shm_mq_create(queue_space_ + 1, 4096); });
  EXPECT_TRUE(e.raised) << "unaligned address";
  shm_mq* mq = nullptr;
  e = CatchError([&] { mq = NewQueue(shm_mq_minimum_size); });
  EXPECT_FALSE(e.raised) << e.message;
  EXPECT_NE(mq, nullptr);
  EXPECT_EQ(shm_mq_get_sender(mq), nullptr);
  EXPECT_EQ(shm_mq_get_receiver(mq), nullptr);
}

TEST_F(ShmMqTest, RingWrapsAroundWithManyMessageSizes) {
  shm_mq* mq = NewQueue(1024);
  constexpr int kCount = 4000;
  auto len = [](int i) -> size_t { return (static_cast<size_t>(i) * 7919u) % 701u; };
  pid_t receiver = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    for (int i = 0; i < kCount; i++) {
      Size n = 0;
      void* data = nullptr;
      if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_SUCCESS) return 10;
      if (n != len(i)) return 11;
      if (Mismatch(data, i, n) >= 0) return 12;
    }
    Size n;
    void* data;
    return shm_mq_receive(h, &n, &data, false) == SHM_MQ_DETACHED ? 0 : 13;
  });
  pid_t sender = Child(1, [&] {
    shm_mq_set_sender(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    std::vector<char> buf;
    for (int i = 0; i < kCount; i++) {
      Fill(buf, i, len(i));
      // Mostly batched (PostgreSQL 15): visibility comes from the quarter-
      // ring rule, a full ring, and the final detach.
      if (shm_mq_send(h, buf.size(), buf.data(), false, i % 5 == 0) != SHM_MQ_SUCCESS) return 20;
    }
    shm_mq_detach(h);
    return 0;
  });
  EXPECT_EQ(WaitExit(sender), 0) << sync_->error;
  EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
}

TEST_F(ShmMqTest, MessagesMuchLargerThanTheRing) {
  shm_mq* mq = NewQueue(200);  // a ring of a few dozen bytes
  constexpr int kCount = 40;
  auto len = [](int i) -> size_t {
    return i == 0 ? 100000 : (static_cast<size_t>(i) * 4099u) % 30000u;
  };
  pid_t receiver = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    for (int i = 0; i < kCount; i++) {
      Size n = 0;
      void* data = nullptr;
      if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_SUCCESS) return 10;
      if (n != len(i)) return 11;
      if (Mismatch(data, i, n) >= 0) return 12;
    }
    return 0;
  });
  pid_t sender = Child(1, [&] {
    shm_mq_set_sender(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    std::vector<char> buf;
    for (int i = 0; i < kCount; i++) {
      Fill(buf, i, len(i));
      if (shm_mq_send(h, buf.size(), buf.data(), false, true) != SHM_MQ_SUCCESS) return 20;
    }
    return 0;
  });
  EXPECT_EQ(WaitExit(sender), 0) << sync_->error;
  EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
}

// The spin-or-yield before sleeping (shm_mq.cc, "Spinning"): messages
// arrive intact and in order whether both sides share one CPU (yield), run
// on two (spin), or go where the scheduler puts them; a sender that stays
// busy outside shm_mq for longer than the spin budget makes the receiver
// give up and sleep, and the next flush still wakes it.
TEST_F(ShmMqTest, StreamsWhetherTheSidesShareACpuOrNot) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  }
  ASSERT_FALSE(cpus.empty());
  struct Placement {
    const char* name;
    int receiver_cpu;  // -1: unpinned
    int sender_cpu;
  };
  std::vector<Placement> placements = {{"same CPU", cpus[0], cpus[0]}, {"unpinned", -1, -1}};
  if (cpus.size() > 1) placements.push_back({"two CPUs", cpus[0], cpus[1]});
  auto pin = [](int cpu) {
    if (cpu < 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof one, &one);
  };
  constexpr int kCount = 3000;
  auto len = [](int i) -> size_t {
    return i % 7 == 0 ? 8192 : (static_cast<size_t>(i) * 37) % 300;
  };
  size_t offset = 0;
  for (const Placement& where : placements) {
    SCOPED_TRACE(where.name);
    shm_mq* mq = NewQueue(16384, offset);
    offset += 16384;
    pid_t receiver = Child(0, [&] {
      pin(where.receiver_cpu);
      shm_mq_set_receiver(mq, MyProc);
      shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
      for (int i = 0; i < kCount; i++) {
        Size n = 0;
        void* data = nullptr;
        if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_SUCCESS) return 10;
        if (n != len(i)) return 11;
        if (Mismatch(data, i, n) >= 0) return 12;
      }
      return 0;
    });
    pid_t sender = Child(1, [&] {
      pin(where.sender_cpu);
      shm_mq_set_sender(mq, MyProc);
      shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
      std::vector<char> buf;
      for (int i = 0; i < kCount; i++) {
        Fill(buf, i, len(i));
        if (shm_mq_send(h, buf.size(), buf.data(), false, i % 3 == 0) != SHM_MQ_SUCCESS) {
          return 20;
        }
        if (i % 500 == 499) {
          // Awake but busy elsewhere, past the spin budget.
          auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3);
          while (std::chrono::steady_clock::now() < until) {
          }
        }
      }
      shm_mq_detach(h);
      return 0;
    });
    EXPECT_EQ(WaitExit(sender), 0) << sync_->error;
    EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
  }
}

// Both sides nowait: WOULD_BLOCK, wait on the latch, call again with the
// same arguments (PostgreSQL's contract), for messages larger than the ring.
TEST_F(ShmMqTest, NowaitWouldBlockThenResumeWithTheSameArguments) {
  shm_mq* mq = NewQueue(512);
  constexpr int kCount = 300;
  auto len = [](int i) -> size_t { return (static_cast<size_t>(i) * 613u) % 3000u; };
  pid_t receiver = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    for (int i = 0; i < kCount; i++) {
      Size n = 0;
      void* data = nullptr;
      for (;;) {
        shm_mq_result r = shm_mq_receive(h, &n, &data, true);
        if (r == SHM_MQ_SUCCESS) break;
        if (r != SHM_MQ_WOULD_BLOCK) return 10;
        sync_->would_block[0]++;
        WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT, 10000, 0);
        ResetLatch(MyLatch);
      }
      if (n != len(i)) return 11;
      if (Mismatch(data, i, n) >= 0) return 12;
    }
    return 0;
  });
  pid_t sender = Child(1, [&] {
    shm_mq_set_sender(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    std::vector<char> buf;
    for (int i = 0; i < kCount; i++) {
      Fill(buf, i, len(i));
      for (;;) {
        shm_mq_result r = shm_mq_send(h, buf.size(), buf.data(), true, true);
        if (r == SHM_MQ_SUCCESS) break;
        if (r != SHM_MQ_WOULD_BLOCK) return 20;
        sync_->would_block[1]++;
        WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT, 10000, 0);
        ResetLatch(MyLatch);
      }
    }
    return 0;
  });
  EXPECT_EQ(WaitExit(sender), 0) << sync_->error;
  EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
  EXPECT_GT(sync_->would_block[0].load(), 0) << "receiver never had to wait";
  EXPECT_GT(sync_->would_block[1].load(), 0) << "sender never had to wait";
}

// shm_mq_sendv: pieces of odd sizes (including empty ones) arrive as one
// message, through a tiny ring with nowait sends resumed mid-piece.
TEST_F(ShmMqTest, SendvGathersPiecesAcrossAlignmentBoundaries) {
  shm_mq* mq = NewQueue(shm_mq_minimum_size + 3 * MAXIMUM_ALIGNOF);
  constexpr int kCount = 200;
  static const size_t kPieces[] = {1, 3, 0, 7, 13, 8, 2, 0, 5, 16, 1, 1, 1, 9};
  constexpr int kNumPieces = sizeof kPieces / sizeof kPieces[0];
  auto pieces = [](int i) { return 1 + i % kNumPieces; };
  auto total = [&](int i) {
    size_t t = 0;
    for (int k = 0; k < pieces(i); k++) t += kPieces[(i + k) % kNumPieces];
    return t;
  };
  pid_t receiver = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    for (int i = 0; i < kCount; i++) {
      Size n = 0;
      void* data = nullptr;
      if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_SUCCESS) return 10;
      if (n != total(i)) return 11;
      if (Mismatch(data, i, n) >= 0) return 12;
    }
    return 0;
  });
  pid_t sender = Child(1, [&] {
    shm_mq_set_sender(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    std::vector<char> buf;
    for (int i = 0; i < kCount; i++) {
      Fill(buf, i, total(i));
      shm_mq_iovec iov[kNumPieces];
      size_t at = 0;
      for (int k = 0; k < pieces(i); k++) {
        iov[k].data = buf.data() + at;
        iov[k].len = kPieces[(i + k) % kNumPieces];
        at += iov[k].len;
      }
      for (;;) {
        shm_mq_result r = shm_mq_sendv(h, iov, pieces(i), true, true);
        if (r == SHM_MQ_SUCCESS) break;
        if (r != SHM_MQ_WOULD_BLOCK) return 20;
        WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT, 10000, 0);
        ResetLatch(MyLatch);
      }
    }
    return 0;
  });
  EXPECT_EQ(WaitExit(sender), 0) << sync_->error;
  EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
}

// The sender sends (batched, never flushed explicitly), detaches and exits
// before the receiver even exists: every message is still delivered, then
// SHM_MQ_DETACHED.
TEST_F(ShmMqTest, ReceiverDrainsWhatWasSentBeforeTheSenderDetached) {
  shm_mq* mq = NewQueue(8192);
  constexpr int kCount = 20;
  pid_t sender = Child(1, [&] {
    shm_mq_set_sender(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    std::vector<char> buf;
    for (int i = 0; i < kCount; i++) {
      Fill(buf, i, 40 + i);
      if (shm_mq_send(h, buf.size(), buf.data(), false, false) != SHM_MQ_SUCCESS) return 20;
    }
    shm_mq_detach(h);
    return 0;
  });
  ASSERT_EQ(WaitExit(sender), 0) << sync_->error;
  pid_t receiver = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    for (int i = 0; i < kCount; i++) {
      Size n = 0;
      void* data = nullptr;
      if (shm_mq_receive(h, &n, &data, true) != SHM_MQ_SUCCESS) return 10 + i;
      if (n != static_cast<Size>(40 + i) || Mismatch(data, i, n) >= 0) return 50;
    }
    Size n;
    void* data;
    if (shm_mq_receive(h, &n, &data, true) != SHM_MQ_DETACHED) return 60;
    if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_DETACHED) return 61;
    return 0;
  });
  EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
}

TEST_F(ShmMqTest, SenderSeesDetachedWhenTheReceiverLeaves) {
  shm_mq* mq = NewQueue(1024);
  pid_t receiver = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    Size n;
    void* data;
    if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_SUCCESS) return 10;
    shm_mq_detach(h);
    return 0;
  });
  pid_t sender = Child(1, [&] {
    shm_mq_set_sender(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    std::vector<char> buf;
    Fill(buf, 1, 5000);
    for (int i = 0; i < 1000; i++) {
      shm_mq_result r = shm_mq_send(h, buf.size(), buf.data(), false, true);
      if (r == SHM_MQ_DETACHED) return i >= 1 ? 0 : 21;
      if (r != SHM_MQ_SUCCESS) return 20;
    }
    return 22;  // never noticed: a blocking send would have hung instead
  });
  EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
  EXPECT_EQ(WaitExit(sender), 0) << sync_->error;
}

TEST_F(ShmMqTest, SidesAreSetOnceAndMisuseRaisesErrors) {
  shm_mq* mq = NewQueue(1024);
  pid_t first = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    CaughtError e = CatchError([&] { shm_mq_set_receiver(mq, MyProc); });
    if (!e.raised || e.message != "queue already has a receiver") return 10;
    e = CatchError([&] { shm_mq_set_sender(mq, nullptr); });
    if (!e.raised) return 11;
    if (shm_mq_get_receiver(mq) != MyProc || shm_mq_get_sender(mq) != nullptr) return 12;
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    if (shm_mq_get_queue(h) != mq) return 13;
    // A receiver cannot send.
    e = CatchError([&] { shm_mq_send(h, 1, "x", true, true); });
    if (!e.raised || e.message.find("not the queue's sender") == std::string::npos) return 14;
    sync_->stage = 1;
    return 0;
  });
  ASSERT_EQ(WaitExit(first), 0) << sync_->error;
  pid_t second = Child(1, [&] {
    CaughtError e = CatchError([&] { shm_mq_set_receiver(mq, MyProc); });
    if (!e.raised || e.message != "queue already has a receiver") return 20;
    // Neither side yet: attaching is an error.
    e = CatchError([&] { shm_mq_attach(mq, nullptr, nullptr); });
    if (!e.raised || e.message.find("neither the sender nor the receiver") == std::string::npos) {
      return 21;
    }
    shm_mq_set_sender(mq, MyProc);
    e = CatchError([&] { shm_mq_set_sender(mq, MyProc); });
    if (!e.raised || e.message != "queue already has a sender") return 22;
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    // Larger than MaxAllocSize.
    e = CatchError([&] { shm_mq_send(h, MaxAllocSize + 1, "x", true, true); });
    if (!e.raised || e.sqlstate != "54000" ||
        e.message.find("cannot send a message of size") == std::string::npos) {
      return 23;
    }
    // The receiver is gone (its process exited without detaching, but the
    // queue is not in a DSM segment): a full ring makes nowait block.
    std::vector<char> big;
    Fill(big, 3, 4000);
    shm_mq_result r = shm_mq_send(h, big.size(), big.data(), true, true);
    if (r != SHM_MQ_WOULD_BLOCK) return 24;
    // Resuming with another message is refused.
    e = CatchError([&] { shm_mq_send(h, 10, big.data(), true, true); });
    if (!e.raised || e.message.find("same arguments") == std::string::npos) return 25;
    Size n;
    void* data;
    e = CatchError([&] { shm_mq_receive(h, &n, &data, true); });
    if (!e.raised) return 26;
    return 0;
  });
  EXPECT_EQ(WaitExit(second), 0) << sync_->error;
}

TEST_F(ShmMqTest, NowaitReceiveBeforeTheSenderAttachesWouldBlock) {
  shm_mq* mq = NewQueue(1024);
  pid_t receiver = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    Size n;
    void* data;
    if (shm_mq_receive(h, &n, &data, true) != SHM_MQ_WOULD_BLOCK) return 10;
    sync_->stage = 1;
    // The sender attaches and detaches without sending: DETACHED, not a hang.
    if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_DETACHED) return 11;
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->stage.load() == 1; }));
  pid_t sender = Child(1, [&] {
    shm_mq_set_sender(mq, MyProc);
    shm_mq_detach(shm_mq_attach(mq, nullptr, nullptr));
    return 0;
  });
  EXPECT_EQ(WaitExit(sender), 0) << sync_->error;
  EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
}

TEST_F(ShmMqTest, WaitForAttachReturnsWhenThePeerComesOrLeaves) {
  shm_mq* mq = NewQueue(1024);
  pid_t sender = Child(1, [&] {
    shm_mq_set_sender(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, nullptr, nullptr);
    sync_->stage = 1;
    return shm_mq_wait_for_attach(h) == SHM_MQ_SUCCESS ? 0 : 10;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->stage.load() == 1; }));
  usleep(20000);  // let it sleep on its latch
  pid_t receiver = Child(0, [&] {
    shm_mq_set_receiver(mq, MyProc);
    return 0;
  });
  EXPECT_EQ(WaitExit(receiver), 0) << sync_->error;
  EXPECT_EQ(WaitExit(sender), 0) << sync_->error;

  // A peer that attached and already detached: DETACHED, not SUCCESS.
  shm_mq* mq2 = NewQueue(1024, 8192);
  pid_t waiter = Child(2, [&] {
    shm_mq_set_receiver(mq2, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq2, nullptr, nullptr);
    sync_->stage = 2;
    if (!WaitFor([&] { return sync_->stage.load() == 3; })) return 21;
    return shm_mq_wait_for_attach(h) == SHM_MQ_DETACHED ? 0 : 20;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->stage.load() == 2; }));
  pid_t leaver = Child(3, [&] {
    shm_mq_set_sender(mq2, MyProc);
    shm_mq_detach(shm_mq_attach(mq2, nullptr, nullptr));
    return 0;
  });
  EXPECT_EQ(WaitExit(leaver), 0) << sync_->error;
  sync_->stage = 3;
  EXPECT_EQ(WaitExit(waiter), 0) << sync_->error;
}

// A queue in a DSM segment, attached with the segment: a process that exits
// without shm_mq_detach detaches the queue through on_dsm_detach, so the
// blocked peer gets SHM_MQ_DETACHED; the last detach removes the segment.
TEST_F(ShmMqTest, QueueInDsmDetachesAutomaticallyAtProcessExit) {
  pid_t owner = Child(0, [&] {
    shm_toc_estimator e;
    shm_toc_initialize_estimator(&e);
    shm_toc_estimate_chunk(&e, 4096);
    shm_toc_estimate_keys(&e, 1);
    dsm_segment* seg = dsm_create(shm_toc_estimate(&e), 0);
    shm_toc* toc = shm_toc_create(0x5151, dsm_segment_address(seg), dsm_segment_map_length(seg));
    shm_mq* mq = shm_mq_create(shm_toc_allocate(toc, 4096), 4096);
    shm_toc_insert(toc, 1, mq);
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, seg, nullptr);
    sync_->handle = dsm_segment_handle(seg);
    sync_->stage = 1;
    Size n;
    void* data;
    if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_SUCCESS) return 10;
    if (n != 5 || memcmp(data, "hello", 5) != 0) return 11;
    // The sender exits without detaching: its exit path does it.
    if (shm_mq_receive(h, &n, &data, false) != SHM_MQ_DETACHED) return 12;
    dsm_detach(seg);  // runs our queue's callback too (harmless twice)
    return 0;
  });
  ASSERT_TRUE(WaitFor([&] { return sync_->stage.load() == 1; }));
  pid_t peer = Child(1, [&] {
    dsm_segment* seg = dsm_attach(sync_->handle.load());
    if (seg == nullptr) return 20;
    shm_toc* toc = shm_toc_attach(0x5151, dsm_segment_address(seg));
    if (toc == nullptr) return 21;
    auto* mq = static_cast<shm_mq*>(shm_toc_lookup(toc, 1, false));
    shm_mq_set_sender(mq, MyProc);
    shm_mq_handle* h = shm_mq_attach(mq, seg, nullptr);
    if (shm_mq_send(h, 5, "hello", false, true) != SHM_MQ_SUCCESS) return 22;
    proc_exit(0);  // no shm_mq_detach, no dsm_detach
    return 1;
  });
  EXPECT_EQ(WaitExit(peer), 0) << sync_->error;
  EXPECT_EQ(WaitExit(owner), 0) << sync_->error;
  std::string path =
      std::string("/dev/shm/") + dsm::NamePrefix() + "." + std::to_string(sync_->handle.load());
  EXPECT_NE(access(path.c_str(), F_OK), 0) << path << " still exists after the last detach";
}

// C modules include these headers; PostgreSQL 13/14 code calls shm_mq_send
// with four arguments, PostgreSQL 15 code with five.
TEST(ShmMqHeaders, CompileAsC99AndC11WithBothSendSpellings) {
  if (system("command -v gcc >/dev/null 2>&1") != 0) GTEST_SKIP() << "gcc not installed";
  char path[] = "/tmp/bgw_shm_mq_headers_XXXXXX.c";
  int fd = mkstemps(path, 2);
  ASSERT_GE(fd, 0);
  const char* source =
      "#include \"postgres.h\"\n"
      "#include \"storage/dsm.h\"\n"
      "#include \"storage/shm_mq.h\"\n"
      "#include \"storage/shm_toc.h\"\n"
      "#include \"storage/shm_mq.h\"\n"
      "int use(shm_mq_handle *h, dsm_segment *seg);\n"
      "int use(shm_mq_handle *h, dsm_segment *seg)\n"
      "{\n"
      "\tshm_mq_iovec iov[2] = {{\"a\", 1}, {\"bc\", 2}};\n"
      "\tshm_toc_estimator e;\n"
      "\tshm_mq_result (*fn)(shm_mq_handle *, Size, const void *, bool, bool) = &shm_mq_send;\n"
      "\tshm_mq_result r = shm_mq_send(h, 1, \"x\", false);\n"
      "\tr = shm_mq_send(h, 1, \"x\", false, true);\n"
      "\tr = shm_mq_sendv(h, iov, 2, true);\n"
      "\tr = shm_mq_sendv(h, iov, 2, true, false);\n"
      "\tr = fn(h, 0, NULL, true, true);\n"
      "\tshm_toc_initialize_estimator(&e);\n"
      "\tshm_toc_estimate_chunk(&e, 100);\n"
      "\tshm_toc_estimate_keys(&e, 2);\n"
      "\tshm_mq_set_sender(shm_mq_get_queue(h), MyProc);\n"
      "\treturn (int) r + (int) dsm_segment_handle(seg) + (int) shm_toc_estimate(&e)\n"
      "\t\t+ (DSM_HANDLE_INVALID == 0) + (int) shm_mq_minimum_size;\n"
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
