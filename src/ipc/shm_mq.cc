// Shared memory message queues: storage/shm_mq.h.
//
// A queue is a ring of ring_size bytes (a multiple of MAXIMUM_ALIGNOF)
// behind a small header. Two monotonic byte counters describe it: the sender
// advances bytes_written, the receiver bytes_read; the ring position of a
// counter is counter % ring_size, and bytes_written - bytes_read bytes are
// in flight. A message is a length word (Size) and its payload, each padded
// to MAXIMUM_ALIGNOF, so every write and read except the last of a message
// is a multiple of the alignment and no padding ever lands mid-message.
//
// Protocol (struct shm_mq, in shared memory; no pointers, only offsets and
// process slot numbers, so it works wherever each process maps it):
//   magic, ring_size: written by shm_mq_create before the queue is shared;
//     read-only after.
//   receiver, sender: process slot index + 1 (0 = not yet). Set once each,
//     0 -> id by compare-and-swap (seq_cst); a second set fails. The setter
//     then reads the other field and sets that process's latch.
//   bytes_written: written only by the sender (plain load + release store;
//     the release publishes the ring bytes it covers); read by the receiver
//     with acquire before it reads those bytes.
//   bytes_read: written only by the receiver (release store: its reads of
//     the ring happen before the space is handed back); read by the sender
//     with acquire before it overwrites the space.
//   detached: 0 -> 1 once, by either side (seq_cst). Set after the
//     detaching sender's last release of bytes_written, so a receiver that
//     sees it and re-reads bytes_written drains everything sent.
//   The set-once fields and detached are all seq_cst: a process that sets
//   its side and then checks detached, and one that sets detached and then
//   reads the other's side, cannot both miss each other (no lost wake-up).
//
// Latches: a side that makes progress the other may be waiting for (bytes
// published, side set, detach) sets the other side's latch through its
// process slot; waits follow the latch contract (check, wait, reset, check).
//
// Batching (PostgreSQL 15): the sender accumulates written bytes in its
// handle (send_pending) and publishes them when asked (force_flush), past a
// quarter of the ring, when the ring is full, and at detach. The receiver
// likewise publishes consumed bytes (consume_pending) past a quarter of the
// ring or before it waits.
//
// Spinning before sleeping (beyond PostgreSQL): a side that would wait for
// the other first spins for at most kSpinNs, but only when the other side
// is awake (its latch's maybe_sleeping is 0) and was last seen on another
// CPU. Then the other side is producing or consuming right now, and the
// bytes usually arrive within a message's memcpy; a sleep would cost a
// cross-CPU wake-up instead (45-65 us on the 2-vCPU VMs we measure on, far
// more than the spin). On one CPU, or when the other side sleeps, it never
// spins: the other side cannot make progress while we spin. On the same
// CPU, it yields instead (sched_yield), so the awake other side runs now
// and, seeing us awake, sets our latch without a FUTEX_WAKE: neither a
// wake-up system call nor a wake-up preemption per message.
//   sender_cpu, receiver_cpu: the CPU each side last ran on (sched_getcpu,
//     -1 unknown), stored (relaxed) by that side at each send or receive;
//     a hint only, read relaxed: a stale value costs at most one spin
//     budget or one sleep, never correctness.
//
// Errors: ereport(ERROR) unwinds with siglongjmp; nothing here holds a
// resource across a call that can raise one.
#include "postgres/storage/shm_mq.h"

#include <sched.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "ipc/proc.h"
#include "postgres/miscadmin.h"
#include "postgres/pgstat.h"
#include "postgres/port/atomics.h"
#include "postgres/storage/latch.h"
#include "postgres/utils/memutils.h"

struct shm_mq {
  std::atomic<int32_t> receiver;
  std::atomic<int32_t> sender;
  std::atomic<uint32_t> detached;
  uint32_t magic;
  std::atomic<uint64_t> bytes_read;
  std::atomic<uint64_t> bytes_written;
  uint64_t ring_size;
  std::atomic<int32_t> sender_cpu;  // see "Spinning" above
  std::atomic<int32_t> receiver_cpu;
  // The ring follows at kRingOffset.
};

// Process-local state of one side of a queue (palloc'd).
struct shm_mq_handle {
  shm_mq* queue;
  dsm_segment* segment;
  BackgroundWorkerHandle* handle;  // the worker on the other side, or NULL
  char* buffer;                    // reassembly buffer for wrapped messages
  Size buflen;
  Size consume_pending;  // receiver: consumed, not yet added to bytes_read
  Size send_pending;     // sender: written, not yet added to bytes_written
  Size partial_bytes;    // bytes of the current message's payload done
  Size expected_bytes;   // receiver: payload length of the current message
  Size sending_total;    // sender: payload length of the current message
  bool length_word_complete;
  bool counterparty_attached;
  bool is_sender;
  bool is_receiver;
  MemoryContext context;
};

namespace {

constexpr uint32_t kMagic = 0x4d51424eU;  // "MQBN"
constexpr size_t kRingOffset = MAXALIGN(sizeof(shm_mq));
// With a worker handle, a wait also re-checks the worker this often, in case
// no notification (SIGUSR1 to bgw_notify_pid) reaches this process.
constexpr long kHandleRecheckMs = 1000;

static_assert(sizeof(Size) == MAXIMUM_ALIGNOF, "a length word is written and read in one piece");
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int32_t>::is_always_lock_free);

char* Ring(shm_mq* mq) { return reinterpret_cast<char*>(mq) + kRingOffset; }

int32_t MyProcId() {
  int index = bgw::proc::SlotIndex(bgw::proc::MyProcSlot());
  return index >= 0 ? index + 1 : 0;
}

void WakeProc(int32_t id) {
  if (id <= 0) return;
  if (bgw::proc::ProcSlot* slot = bgw::proc::Slot(id - 1); slot != nullptr) {
    SetLatch(&slot->pgproc.procLatch);
  }
}

// Longest spin before sleeping; see "Spinning" above.
constexpr int64_t kSpinNs = 20000;

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// True if process `id` runs or is about to: not sleeping on its latch, or
// its latch is set (woken, or it will not sleep; a woken process clears
// maybe_sleeping only once it runs).
bool ProcAwake(int32_t id) {
  if (id <= 0) return false;
  bgw::proc::ProcSlot* slot = bgw::proc::Slot(id - 1);
  if (slot == nullptr) return false;
  const Latch& latch = slot->pgproc.procLatch;
  return __atomic_load_n(&latch.maybe_sleeping, __ATOMIC_RELAXED) == 0 ||
         __atomic_load_n(&latch.is_set, __ATOMIC_RELAXED) != 0;
}

// Records where this side runs (for the other side's spin decision).
void NoteMyCpu(shm_mq* mq, bool receiver) {
  (receiver ? mq->receiver_cpu : mq->sender_cpu).store(sched_getcpu(), std::memory_order_relaxed);
}

// Waits without sleeping until progress() is true (returns true), or gives
// up at once or after kSpinNs (returns false: sleep). `peer` is the other
// side's id. On another CPU, spins; on ours, yields the CPU to it.
template <typename F>
bool SpinForPeer(shm_mq* mq, bool receiver, int32_t peer, F progress) {
  int me = sched_getcpu();
  int theirs = (receiver ? mq->sender_cpu : mq->receiver_cpu).load(std::memory_order_relaxed);
  if (me < 0 || theirs < 0 || !ProcAwake(peer)) return false;
  const bool same_cpu = theirs == me;
  int64_t start = MonotonicNs();
  for (unsigned i = 1;; i++) {
    if (progress()) return true;
    if (same_cpu) {
      sched_yield();
    } else {
      pg_spin_delay();
      if (i % 64 != 0) continue;
    }
    if (MonotonicNs() - start > kSpinNs || !ProcAwake(peer)) return progress();
  }
}

PGPROC* ProcOf(int32_t id) {
  if (id <= 0) return nullptr;
  bgw::proc::ProcSlot* slot = bgw::proc::Slot(id - 1);
  return slot != nullptr ? bgw::proc::ToPgProc(slot) : nullptr;
}

shm_mq* RequireQueue(shm_mq* mq, const char* caller) {
  if (mq == nullptr || mq->magic != kMagic) {
    elog(ERROR, "%s: %p is not a shared memory queue", caller, static_cast<void*>(mq));
  }
  return mq;
}

[[noreturn]] void Corrupted(shm_mq* mq) {
  ereport(ERROR, errcode(ERRCODE_DATA_CORRUPTED),
          errmsg("shared memory queue at %p is corrupted", static_cast<void*>(mq)),
          errdetail("bytes_read " UINT64_FORMAT ", bytes_written " UINT64_FORMAT
                    ", ring size " UINT64_FORMAT ".",
                    static_cast<uint64>(mq->bytes_read.load(std::memory_order_relaxed)),
                    static_cast<uint64>(mq->bytes_written.load(std::memory_order_relaxed)),
                    static_cast<uint64>(mq->ring_size)));
  pg_unreachable();
}

void SetSide(shm_mq* mq, PGPROC* proc, bool receiver) {
  RequireQueue(mq, receiver ? "shm_mq_set_receiver" : "shm_mq_set_sender");
  bgw::proc::ProcSlot* slot = bgw::proc::FromPgProc(proc);
  if (slot == nullptr) {
    elog(ERROR, "%s: %p is not a server process slot",
         receiver ? "shm_mq_set_receiver" : "shm_mq_set_sender", static_cast<void*>(proc));
  }
  int32_t id = bgw::proc::SlotIndex(slot) + 1;
  std::atomic<int32_t>& mine = receiver ? mq->receiver : mq->sender;
  std::atomic<int32_t>& theirs = receiver ? mq->sender : mq->receiver;
  int32_t expected = 0;
  if (!mine.compare_exchange_strong(expected, id, std::memory_order_seq_cst)) {
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("queue already has a %s", receiver ? "receiver" : "sender"));
  }
  WakeProc(theirs.load(std::memory_order_seq_cst));
}

// Publishes n more written bytes (sender only).
void IncBytesWritten(shm_mq* mq, Size n) {
  mq->bytes_written.store(mq->bytes_written.load(std::memory_order_relaxed) + n,
                          std::memory_order_release);
}

// Hands n more bytes of space back (receiver only) and wakes the sender.
void IncBytesRead(shm_mq* mq, Size n) {
  mq->bytes_read.store(mq->bytes_read.load(std::memory_order_relaxed) + n,
                       std::memory_order_release);
  WakeProc(mq->sender.load(std::memory_order_acquire));
}

void DetachQueue(shm_mq* mq) {
  mq->detached.store(1, std::memory_order_seq_cst);
  int32_t me = MyProcId();
  int32_t sender = mq->sender.load(std::memory_order_seq_cst);
  int32_t receiver = mq->receiver.load(std::memory_order_seq_cst);
  if (sender != me) WakeProc(sender);
  if (receiver != me) WakeProc(receiver);
}

void DetachCallback(dsm_segment*, Datum arg) {
  DetachQueue(reinterpret_cast<shm_mq*>(DatumGetPointer(arg)));
}

bool WorkerGone(BackgroundWorkerHandle* handle) {
  if (handle == nullptr) return false;
  pid_t pid;
  BgwHandleStatus status = GetBackgroundWorkerPid(handle, &pid);
  return status != BGWH_STARTED && status != BGWH_NOT_YET_STARTED;
}

// True if the other side is known to be gone: the queue is detached, or the
// worker behind the handle stopped (then the queue is marked detached).
bool CounterpartyGone(shm_mq_handle* mqh) {
  shm_mq* mq = mqh->queue;
  if (mq->detached.load(std::memory_order_seq_cst)) return true;
  if (WorkerGone(mqh->handle)) {
    mq->detached.store(1, std::memory_order_seq_cst);
    return true;
  }
  return false;
}

// Sleeps until MyLatch is set. With a worker handle the wake-up may come as
// the postmaster's SIGUSR1 to bgw_notify_pid, which is let through for the
// wait even if the caller keeps signals blocked, and the wait is bounded.
void WaitForPeer(bool have_handle, uint32 wait_event) {
  if (!have_handle) {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 0, wait_event);
    return;
  }
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_UNBLOCK, &usr1, &old);
  (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kHandleRecheckMs,
                  wait_event);
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

// Waits until *side is set. False if the queue is or becomes detached first,
// or the worker behind the handle stops or never starts.
bool WaitForSide(shm_mq* mq, std::atomic<int32_t>* side, BackgroundWorkerHandle* handle) {
  for (;;) {
    bool attached = side->load(std::memory_order_seq_cst) != 0;
    if (mq->detached.load(std::memory_order_seq_cst)) return false;
    if (attached) return true;
    if (WorkerGone(handle)) return false;
    WaitForPeer(handle != nullptr, WAIT_EVENT_MQ_INTERNAL);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

// Writes up to nbytes of data into the ring. *bytes_written says how many
// went in (a multiple of MAXIMUM_ALIGNOF unless it is all of them).
shm_mq_result SendBytes(shm_mq_handle* mqh, Size nbytes, const char* data, bool nowait,
                        Size* bytes_written) {
  shm_mq* mq = mqh->queue;
  const uint64_t ring_size = mq->ring_size;
  Size sent = 0;
  while (sent < nbytes) {
    // Acquire: the receiver's reads of the space we are about to reuse are
    // done (pairs with the release in IncBytesRead).
    uint64_t rb = mq->bytes_read.load(std::memory_order_acquire);
    uint64_t wb = mq->bytes_written.load(std::memory_order_relaxed) + mqh->send_pending;
    if (wb < rb || wb - rb > ring_size) Corrupted(mq);
    Size available = static_cast<Size>(Min(ring_size - (wb - rb), nbytes - sent));

    if (mq->detached.load(std::memory_order_acquire)) {
      *bytes_written = sent;
      return SHM_MQ_DETACHED;
    }

    if (available == 0 && !mqh->counterparty_attached) {
      // The ring is full and the receiver is not known to be there: wait
      // for it to attach (it may drain the ring right away).
      if (nowait) {
        if (CounterpartyGone(mqh)) {
          *bytes_written = sent;
          return SHM_MQ_DETACHED;
        }
        if (mq->receiver.load(std::memory_order_seq_cst) == 0) {
          *bytes_written = sent;
          return SHM_MQ_WOULD_BLOCK;
        }
      } else if (!WaitForSide(mq, &mq->receiver, mqh->handle)) {
        mq->detached.store(1, std::memory_order_seq_cst);
        *bytes_written = sent;
        return SHM_MQ_DETACHED;
      }
      mqh->counterparty_attached = true;
    } else if (available == 0) {
      // Full: publish what we wrote, wake the receiver, wait for space.
      IncBytesWritten(mq, mqh->send_pending);
      mqh->send_pending = 0;
      WakeProc(mq->receiver.load(std::memory_order_relaxed));
      if (nowait) {
        *bytes_written = sent;
        return SHM_MQ_WOULD_BLOCK;
      }
      if (SpinForPeer(mq, false, mq->receiver.load(std::memory_order_relaxed), [&] {
            return mq->bytes_read.load(std::memory_order_relaxed) != rb ||
                   mq->detached.load(std::memory_order_relaxed) != 0;
          })) {
        continue;
      }
      // The latch is reset after the wait, not before the check: setting an
      // already-set latch is much cheaper than setting a reset one.
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 0, WAIT_EVENT_MQ_SEND);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    } else {
      Size offset = static_cast<Size>(wb % ring_size);
      Size now = Min(available, static_cast<Size>(ring_size) - offset);
      std::memcpy(Ring(mq) + offset, data + sent, now);
      sent += now;
      mqh->send_pending += MAXALIGN(now);
    }
  }
  *bytes_written = sent;
  return SHM_MQ_SUCCESS;
}

// Makes at least bytes_needed bytes readable, or as many as lie before the
// ring's end. On success *nbytesp contiguous bytes are at *datap.
shm_mq_result ReceiveBytes(shm_mq_handle* mqh, Size bytes_needed, bool nowait, Size* nbytesp,
                           char** datap) {
  shm_mq* mq = mqh->queue;
  const uint64_t ring_size = mq->ring_size;
  for (;;) {
    // Acquire: the ring bytes covered are visible (pairs with the release
    // in IncBytesWritten).
    uint64_t written = mq->bytes_written.load(std::memory_order_acquire);
    uint64_t read = mq->bytes_read.load(std::memory_order_relaxed) + mqh->consume_pending;
    if (written < read || written - read > ring_size) Corrupted(mq);
    uint64_t used = written - read;
    uint64_t offset = read % ring_size;
    if (used >= bytes_needed || offset + used >= ring_size) {
      *nbytesp = static_cast<Size>(Min(used, ring_size - offset));
      *datap = Ring(mq) + offset;
      return SHM_MQ_SUCCESS;
    }
    // Only now look at detached: what was sent before the sender left is
    // still delivered. A sender publishes its last bytes before it sets
    // detached, so re-read bytes_written once it is seen.
    if (mq->detached.load(std::memory_order_seq_cst)) {
      if (written != mq->bytes_written.load(std::memory_order_acquire)) continue;
      return SHM_MQ_DETACHED;
    }
    // Not enough: hand back what we consumed so the sender can go on.
    if (mqh->consume_pending > 0) {
      IncBytesRead(mq, mqh->consume_pending);
      mqh->consume_pending = 0;
    }
    if (nowait) return SHM_MQ_WOULD_BLOCK;
    if (SpinForPeer(mq, true, mq->sender.load(std::memory_order_relaxed), [&] {
          return mq->bytes_written.load(std::memory_order_relaxed) != written ||
                 mq->detached.load(std::memory_order_relaxed) != 0;
        })) {
      continue;
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 0, WAIT_EVENT_MQ_RECEIVE);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

void ResetSendState(shm_mq_handle* mqh) {
  mqh->partial_bytes = 0;
  mqh->length_word_complete = false;
}

Size NextPowerOf2(Size n) {
  Size p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

extern "C" {

const Size shm_mq_minimum_size = kRingOffset + MAXIMUM_ALIGNOF;

shm_mq* shm_mq_create(void* address, Size size) {
  if (address == nullptr || reinterpret_cast<uintptr_t>(address) % MAXIMUM_ALIGNOF != 0) {
    elog(ERROR, "shm_mq_create: address %p is not MAXALIGN'd", address);
  }
  size = MAXALIGN_DOWN(size);
  if (size < shm_mq_minimum_size) {
    ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
            errmsg("shared memory queue size %zu is too small", size),
            errdetail("A queue needs at least %zu bytes.", shm_mq_minimum_size));
  }
  auto* mq = new (address) shm_mq;
  mq->receiver.store(0, std::memory_order_relaxed);
  mq->sender.store(0, std::memory_order_relaxed);
  mq->detached.store(0, std::memory_order_relaxed);
  mq->bytes_read.store(0, std::memory_order_relaxed);
  mq->bytes_written.store(0, std::memory_order_relaxed);
  mq->sender_cpu.store(-1, std::memory_order_relaxed);
  mq->receiver_cpu.store(-1, std::memory_order_relaxed);
  mq->ring_size = size - kRingOffset;
  mq->magic = kMagic;
  return mq;
}

void shm_mq_set_receiver(shm_mq* mq, PGPROC* proc) { SetSide(mq, proc, true); }

void shm_mq_set_sender(shm_mq* mq, PGPROC* proc) { SetSide(mq, proc, false); }

PGPROC* shm_mq_get_receiver(shm_mq* mq) {
  return ProcOf(RequireQueue(mq, "shm_mq_get_receiver")->receiver.load(std::memory_order_seq_cst));
}

PGPROC* shm_mq_get_sender(shm_mq* mq) {
  return ProcOf(RequireQueue(mq, "shm_mq_get_sender")->sender.load(std::memory_order_seq_cst));
}

shm_mq_handle* shm_mq_attach(shm_mq* mq, dsm_segment* seg, BackgroundWorkerHandle* handle) {
  RequireQueue(mq, "shm_mq_attach");
  int32_t me = MyProcId();
  bool is_receiver = me != 0 && mq->receiver.load(std::memory_order_seq_cst) == me;
  bool is_sender = me != 0 && mq->sender.load(std::memory_order_seq_cst) == me;
  if (!is_receiver && !is_sender) {
    elog(ERROR, "shm_mq_attach: this process is neither the sender nor the receiver of the queue");
  }
  auto* mqh = static_cast<shm_mq_handle*>(palloc0(sizeof(shm_mq_handle)));
  mqh->queue = mq;
  mqh->segment = seg;
  mqh->handle = handle;
  mqh->is_sender = is_sender;
  mqh->is_receiver = is_receiver;
  mqh->context = CurrentMemoryContext;
  if (seg != nullptr) on_dsm_detach(seg, DetachCallback, PointerGetDatum(mq));
  return mqh;
}

void shm_mq_set_handle(shm_mq_handle* mqh, BackgroundWorkerHandle* handle) {
  if (mqh->handle != nullptr) elog(ERROR, "shm_mq_set_handle: the queue handle already has one");
  mqh->handle = handle;
}

void shm_mq_detach(shm_mq_handle* mqh) {
  shm_mq* mq = mqh->queue;
  // Whatever the receiver has not been told about yet is delivered.
  if (mqh->send_pending > 0) {
    IncBytesWritten(mq, mqh->send_pending);
    mqh->send_pending = 0;
  }
  DetachQueue(mq);
  if (mqh->segment != nullptr) {
    cancel_on_dsm_detach(mqh->segment, DetachCallback, PointerGetDatum(mq));
  }
  if (mqh->buffer != nullptr) pfree(mqh->buffer);
  pfree(mqh);
}

shm_mq* shm_mq_get_queue(shm_mq_handle* mqh) { return mqh->queue; }

shm_mq_result(shm_mq_send)(shm_mq_handle* mqh, Size nbytes, const void* data, bool nowait,
                           bool force_flush) {
  if (data == nullptr && nbytes > 0) elog(ERROR, "shm_mq_send: no data");
  shm_mq_iovec iov;
  iov.data = static_cast<const char*>(data);
  iov.len = nbytes;
  return (shm_mq_sendv)(mqh, &iov, 1, nowait, force_flush);
}

shm_mq_result(shm_mq_sendv)(shm_mq_handle* mqh, shm_mq_iovec* iov, int iovcnt, bool nowait,
                            bool force_flush) {
  shm_mq* mq = mqh->queue;
  if (!mqh->is_sender) elog(ERROR, "shm_mq_send: this process is not the queue's sender");
  if (iovcnt < 0 || (iovcnt > 0 && iov == nullptr)) {
    elog(ERROR, "shm_mq_sendv: invalid array of %d pieces", iovcnt);
  }
  Size nbytes = 0;
  bool too_large = false;
  for (int i = 0; i < iovcnt; i++) {
    if (iov[i].len > SIZE_MAX - nbytes) {
      nbytes = SIZE_MAX;
      too_large = true;
      break;
    }
    nbytes += iov[i].len;
  }
  if (too_large || nbytes > MaxAllocSize) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
            errmsg("cannot send a message of size %zu via shared memory queue", nbytes));
  }
  // PostgreSQL's contract: after SHM_MQ_WOULD_BLOCK the same message is
  // sent again. A different one would be spliced into the first; refuse.
  if ((mqh->length_word_complete || mqh->partial_bytes > 0) && nbytes != mqh->sending_total) {
    elog(ERROR,
         "shm_mq_send: a partially sent message of %zu bytes must be resumed with the same "
         "arguments, not a message of %zu bytes",
         mqh->sending_total, nbytes);
  }
  mqh->sending_total = nbytes;
  NoteMyCpu(mq, false);

  shm_mq_result res;
  Size written = 0;
  while (!mqh->length_word_complete) {
    res = SendBytes(mqh, sizeof(Size) - mqh->partial_bytes,
                    reinterpret_cast<const char*>(&nbytes) + mqh->partial_bytes, nowait, &written);
    if (res == SHM_MQ_DETACHED) {
      ResetSendState(mqh);
      return res;
    }
    mqh->partial_bytes += written;
    if (mqh->partial_bytes >= sizeof(Size)) {
      mqh->partial_bytes = 0;
      mqh->length_word_complete = true;
    }
    if (res != SHM_MQ_SUCCESS) return res;
  }

  while (mqh->partial_bytes < nbytes) {
    // Where the next byte to send lies.
    Size pos = mqh->partial_bytes;
    int which = 0;
    while (pos >= iov[which].len) {
      pos -= iov[which].len;
      which++;
    }
    Size left = iov[which].len - pos;
    const char* chunk;
    Size chunk_len;
    char gathered[MAXIMUM_ALIGNOF];
    if (mqh->partial_bytes + left == nbytes) {
      // The rest of the message: any length.
      chunk = iov[which].data + pos;
      chunk_len = left;
    } else if (left >= MAXIMUM_ALIGNOF) {
      // Not the last piece: whole alignment units only.
      chunk = iov[which].data + pos;
      chunk_len = MAXALIGN_DOWN(left);
    } else {
      // A short tail: gather one alignment unit across pieces.
      Size j = 0;
      int w = which;
      Size p = pos;
      while (j < MAXIMUM_ALIGNOF && mqh->partial_bytes + j < nbytes) {
        if (p < iov[w].len) {
          gathered[j++] = iov[w].data[p++];
        } else {
          w++;
          p = 0;
        }
      }
      chunk = gathered;
      chunk_len = j;
    }
    res = SendBytes(mqh, chunk_len, chunk, nowait, &written);
    if (res == SHM_MQ_DETACHED) {
      ResetSendState(mqh);
      return res;
    }
    mqh->partial_bytes += written;
    if (res != SHM_MQ_SUCCESS) return res;
  }
  ResetSendState(mqh);

  if (mq->detached.load(std::memory_order_seq_cst)) return SHM_MQ_DETACHED;
  int32_t receiver = mq->receiver.load(std::memory_order_seq_cst);
  if (receiver != 0) mqh->counterparty_attached = true;
  if (force_flush || mqh->send_pending > mq->ring_size / 4) {
    IncBytesWritten(mq, mqh->send_pending);
    mqh->send_pending = 0;
    WakeProc(receiver);
  }
  return SHM_MQ_SUCCESS;
}

shm_mq_result shm_mq_receive(shm_mq_handle* mqh, Size* nbytesp, void** datap, bool nowait) {
  shm_mq* mq = mqh->queue;
  if (!mqh->is_receiver) elog(ERROR, "shm_mq_receive: this process is not the queue's receiver");

  if (!mqh->counterparty_attached) {
    if (nowait) {
      // Gone first, then attached: a sender that attached and left at once
      // must not look like one that never came.
      bool gone = CounterpartyGone(mqh);
      if (mq->sender.load(std::memory_order_seq_cst) == 0) {
        return gone ? SHM_MQ_DETACHED : SHM_MQ_WOULD_BLOCK;
      }
    } else if (!WaitForSide(mq, &mq->sender, mqh->handle) &&
               mq->sender.load(std::memory_order_seq_cst) == 0) {
      mq->detached.store(1, std::memory_order_seq_cst);
      return SHM_MQ_DETACHED;
    }
    mqh->counterparty_attached = true;
  }
  NoteMyCpu(mq, true);

  // The previous message (returned by pointer) is consumed now.
  if (mqh->consume_pending > mq->ring_size / 4) {
    IncBytesRead(mq, mqh->consume_pending);
    mqh->consume_pending = 0;
  }

  shm_mq_result res;
  Size rb = 0;
  char* rawdata = nullptr;
  if (!mqh->length_word_complete) {
    res = ReceiveBytes(mqh, sizeof(Size), nowait, &rb, &rawdata);
    if (res != SHM_MQ_SUCCESS) return res;
    if (rb < sizeof(Size)) Corrupted(mq);
    Size nbytes;
    std::memcpy(&nbytes, rawdata, sizeof nbytes);
    if (nbytes > MaxAllocSize) {
      ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
              errmsg("invalid message size %zu in shared memory queue", nbytes));
    }
    Size needed = MAXALIGN(sizeof(Size)) + MAXALIGN(nbytes);
    if (rb >= needed) {
      // The whole message lies contiguously in the ring: no copy.
      mqh->consume_pending += needed;
      *nbytesp = nbytes;
      *datap = rawdata + MAXALIGN(sizeof(Size));
      return SHM_MQ_SUCCESS;
    }
    mqh->expected_bytes = nbytes;
    mqh->length_word_complete = true;
    mqh->consume_pending += MAXALIGN(sizeof(Size));
    rb = 0;
  }
  Size nbytes = mqh->expected_bytes;

  if (mqh->partial_bytes == 0) {
    res = ReceiveBytes(mqh, nbytes, nowait, &rb, &rawdata);
    if (res != SHM_MQ_SUCCESS) return res;
    if (rb >= nbytes) {
      mqh->length_word_complete = false;
      mqh->consume_pending += MAXALIGN(nbytes);
      *nbytesp = nbytes;
      *datap = rawdata;
      return SHM_MQ_SUCCESS;
    }
    // The message wraps around the ring's end: reassemble it.
    if (mqh->buflen < nbytes) {
      Size newlen = Min(NextPowerOf2(nbytes), static_cast<Size>(MaxAllocSize));
      if (mqh->buffer != nullptr) {
        pfree(mqh->buffer);
        mqh->buffer = nullptr;
        mqh->buflen = 0;
      }
      mqh->buffer = static_cast<char*>(MemoryContextAlloc(mqh->context, newlen));
      mqh->buflen = newlen;
    }
  }

  for (;;) {
    if (rb > 0) {
      std::memcpy(mqh->buffer + mqh->partial_bytes, rawdata, rb);
      mqh->partial_bytes += rb;
    }
    mqh->consume_pending += MAXALIGN(rb);
    if (mqh->partial_bytes >= nbytes) break;
    Size still_needed = nbytes - mqh->partial_bytes;
    res = ReceiveBytes(mqh, still_needed, nowait, &rb, &rawdata);
    if (res != SHM_MQ_SUCCESS) return res;
    if (rb > still_needed) rb = still_needed;
  }
  *nbytesp = nbytes;
  *datap = mqh->buffer;
  mqh->length_word_complete = false;
  mqh->partial_bytes = 0;
  return SHM_MQ_SUCCESS;
}

shm_mq_result shm_mq_wait_for_attach(shm_mq_handle* mqh) {
  shm_mq* mq = mqh->queue;
  std::atomic<int32_t>* other = mqh->is_receiver ? &mq->sender : &mq->receiver;
  return WaitForSide(mq, other, mqh->handle) ? SHM_MQ_SUCCESS : SHM_MQ_DETACHED;
}

}  // extern "C"
