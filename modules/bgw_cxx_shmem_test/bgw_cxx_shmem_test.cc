// bgw_cxx_shmem_test: the C++ shared-memory toolkit (include/bgworker/
// shmem.h) in real server processes; tests/test_cxx_shmem.py reads its
// "bgw_cxx_shmem RESULT key=value ..." lines.
//
// With shared_preload_libraries = 'bgw_cxx_shmem_test', _PG_init() requests
// the space of a CounterState (SharedStruct<CounterState>::Request), installs
// a shmem_startup_hook that creates and initializes it (SharedStruct::Attach
// with an init function), and registers one static worker, the launcher,
// which in turn:
//
//   counter   starts 3 dynamic workers that each add 1 to a counter under the
//             struct's LWLock (ExclusiveLock guard) and to another under its
//             spinlock (SpinLockGuard), bgw_cxx_shmem_test.iterations times;
//             then reads both totals (exactly 3 * iterations expected);
//   errors    attaching a struct whose space was never requested (out of
//             shared memory) or with a too-long name: error values;
//   locks     TryLock on a lock it holds (busy), a conflicting acquire of a
//             lock it holds (an ERROR returned as kPgError), TryLock on the
//             free lock; the interrupt holdoff count stays consistent;
//   echo      lays out a DSM segment with a shm_toc holding two queues, and
//             exchanges bgw_cxx_shmem_test.records Record messages with an
//             echo worker through Channel<Record> (each must come back
//             intact); then a message of the wrong size (kInvalidSpec on
//             both sides), and a detach (kStopped on both sides);
//   noshmem   starts a worker registered without BGWORKER_SHMEM_ACCESS whose
//             SharedStruct::Attach returns an error value (logged), not a
//             crash.
//
// The ERROR rule (bgworker/error.h): every C call that can raise ERROR runs
// inside CatchPgErrors (or a shmem.h wrapper that does); entry functions are
// only an ExceptionBoundary around the C++ body.
#include "postgres.h"

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "bgworker/bgworker.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/shm_toc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void bgw_cxx_shmem_test_launcher(Datum main_arg);
PGDLLEXPORT void bgw_cxx_shmem_test_incrementer(Datum main_arg);
PGDLLEXPORT void bgw_cxx_shmem_test_echo(Datum main_arg);
PGDLLEXPORT void bgw_cxx_shmem_test_noshmem(Datum main_arg);
}

namespace {

using namespace std::chrono_literals;
using bgworker::Channel;
using bgworker::ErrcName;
using bgworker::LockMode;
using bgworker::SharedStruct;
using bgworker::WorkerHandle;
using bgworker::WorkerSpec;

constexpr const char* kLibrary = "bgw_cxx_shmem_test";
constexpr const char* kStructName = "bgw_cxx_shmem_test";
constexpr int kIncrementers = 3;
constexpr uint64 kTocMagic = 0x62787368;  // "bxsh"
constexpr Size kQueueSize = 16384;

// Settings (the server owns the values; see _PG_init).
int iterations = 20000;
int records = 200;

// The module's shared struct (plain bytes: SharedStruct checks it).
struct CounterState {
  // Initialized once per shared memory generation by InitState (under
  // AddinShmemInitLock, before anyone else can see the struct).
  LWLock lock;
  int32 init_count;  // how many times InitState ran on this memory
  // Written by incrementers under `lock` (exclusive); read under it.
  uint64 counter;
  int32 workers_done;
  // Guards spin_counter (written by incrementers, read by the launcher).
  slock_t mutex;
  uint64 spin_counter;
};

// Never requested: attaching it must fail with "out of shared memory".
struct Unrequested {
  char bytes[1 << 20];
};

// One message of the echo channel: no padding, compared with memcmp.
struct Record {
  uint32 seq;
  uint32 check;
  int64 value;
  char text[48];
};

void InitState(CounterState& s) {
  LWLockInitialize(&s.lock, LWLockNewTrancheId());
  SpinLockInit(&s.mutex);
  s.init_count++;
}

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

void Log(const std::string& line) {
  auto logged = bgworker::CatchPgErrors([&] { elog(LOG, "bgw_cxx_shmem %s", line.c_str()); });
  (void)logged;
}

void Result(const std::string& body) { Log("RESULT " + body); }

std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Name(bgworker::Errc code) { return std::string(ErrcName(code)); }

WorkerSpec Spec(const std::string& name, const char* function, uint64_t arg) {
  WorkerSpec spec;
  spec.name = "bgw_cxx_shmem_test " + name;
  spec.type = "bgw_cxx_shmem_test";
  spec.library = kLibrary;
  spec.function = function;
  spec.access = bgworker::Access::kSharedMemory;
  spec.restart_delay = std::nullopt;
  spec.main_arg = arg;
  return spec;
}

void StartSignals() {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
}

// --- launcher ---

void RunCounter(CounterState* s) {
  std::vector<WorkerHandle> workers;
  for (int i = 1; i <= kIncrementers; i++) {
    auto h = WorkerHandle::Register(
        Spec(Format("incrementer %d", i), "bgw_cxx_shmem_test_incrementer", i),
        bgworker::OnDestroy::kTerminate);
    if (!h) {
      Result("counter_register_failed=" + Quote(h.error().ToString()));
      return;
    }
    workers.push_back(std::move(*h));
  }
  int stopped = 0;
  for (WorkerHandle& w : workers) stopped += w.WaitForShutdown(300s) ? 1 : 0;

  uint64 counter = 0;
  uint64 spin_counter = 0;
  int done = 0;
  {
    auto guard = bgworker::SharedLock(&s->lock);
    counter = s->counter;
    done = s->workers_done;
  }
  {
    bgworker::SpinLockGuard guard(&s->mutex);
    spin_counter = s->spin_counter;
  }
  const uint64 expected = static_cast<uint64>(kIncrementers) * static_cast<uint64>(iterations);
  Result(Format(
      "counter=%llu spin_counter=%llu expected=%llu workers=%d workers_done=%d "
      "workers_stopped=%d iterations=%d",
      static_cast<unsigned long long>(counter), static_cast<unsigned long long>(spin_counter),
      static_cast<unsigned long long>(expected), kIncrementers, done, stopped, iterations));
}

void RunLocks(CounterState* s) {
  {
    auto held = bgworker::ExclusiveLock(&s->lock);
    auto busy = bgworker::TryLock(&s->lock, LockMode::kShared);
    auto conflict = bgworker::LWLockGuard::Acquire(&s->lock, LockMode::kShared);
    Result(Format("trylock_held=%s self_conflict=%s holdoff_while_held=%u",
                  busy ? "acquired" : "busy", conflict ? "acquired" : Name(conflict.code()).c_str(),
                  static_cast<unsigned>(InterruptHoldoffCount)));
  }
  auto free_lock = bgworker::TryLock(&s->lock, LockMode::kExclusive);
  const bool acquired = free_lock.has_value();
  free_lock.reset();
  Result(Format("trylock_free=%s holdoff_after=%u", acquired ? "acquired" : "busy",
                static_cast<unsigned>(InterruptHoldoffCount)));
}

Record MakeRecord(uint32 seq) {
  Record r{};
  r.seq = seq;
  r.value = static_cast<int64>(seq) * 1000003 - 7;
  std::snprintf(r.text, sizeof r.text, "record %u of bgw_cxx_shmem_test", seq);
  r.check = seq ^ 0x5a5a5a5au;
  return r;
}

// Exchanges records with an echo worker through a DSM segment; the
// channels are destroyed before the segment is detached.
void RunEcho(dsm_segment* segment, void* to_worker, void* from_worker) {
  using Role = Channel<Record>::Role;
  auto out_q = Channel<Record>::Create(to_worker, kQueueSize, Role::kSender);
  auto in_q = Channel<Record>::Create(from_worker, kQueueSize, Role::kReceiver);
  if (!out_q || !in_q) {
    Result("echo_create=" + Quote((out_q ? in_q.error() : out_q.error()).ToString()));
    return;
  }
  const dsm_handle handle = dsm_segment_handle(segment);
  auto worker = WorkerHandle::Register(Spec("echo", "bgw_cxx_shmem_test_echo", handle),
                                       bgworker::OnDestroy::kTerminate);
  if (!worker) {
    Result("echo_register=" + Quote(worker.error().ToString()));
    return;
  }
  {
    auto out = Channel<Record>::Attach(*out_q, segment, worker->get());
    auto in = Channel<Record>::Attach(*in_q, segment, worker->get());
    if (!out || !in) {
      Result("echo_attach=" + Quote((out ? in.error() : out.error()).ToString()));
      return;
    }
    // Nothing sent yet: a nowait receive would block.
    auto early = in->Receive(true);
    Result("early_receive=" + (early ? std::string("message") : Name(early.code())));

    int ok = 0;
    int bad = 0;
    for (int k = 0; k < records; k++) {
      const Record r = MakeRecord(static_cast<uint32>(k));
      auto sent = out->Send(r);
      if (!sent) {
        Result("echo_send_error=" + Quote(sent.error().ToString()));
        break;
      }
      auto back = in->Receive();
      if (!back) {
        Result("echo_receive_error=" + Quote(back.error().ToString()));
        break;
      }
      if (std::memcmp(&*back, &r, sizeof r) == 0) {
        ok++;
      } else {
        bad++;
      }
    }
    Result(Format("echo_sent=%d echo_ok=%d echo_bad=%d", records, ok, bad));

    // A message of the wrong size: the worker's typed Receive refuses it
    // and answers with 5 bytes, which ours refuses too.
    const char odd[3] = {'x', 'y', 'z'};
    auto sent_odd = out->SendBytes(std::as_bytes(std::span(odd)));
    auto reply = in->Receive();
    Result(Format("odd_sent=%s size_mismatch=%s size_mismatch_message=%s",
                  sent_odd ? "ok" : Name(sent_odd.code()).c_str(),
                  reply ? "accepted" : Name(reply.code()).c_str(),
                  Quote(reply ? "" : reply.error().message).c_str()));

    // Our detach ends the worker's loop (kStopped); it detaches in turn.
    out->Detach();
    auto end = in->Receive();
    auto send_after = out->Send(MakeRecord(0));
    Result("after_detach=" + (end ? std::string("message") : Name(end.code())) +
           " send_detached=" + (send_after ? std::string("sent") : Name(send_after.code())));
  }
  auto stopped = worker->WaitForShutdown(60s);
  Result("echo_worker=" + (stopped ? std::string("stopped") : Quote(stopped.error().ToString())));
}

void RunEchoScenario() {
  shm_toc_estimator e;
  shm_toc_initialize_estimator(&e);
  shm_toc_estimate_chunk(&e, kQueueSize);
  shm_toc_estimate_chunk(&e, kQueueSize);
  shm_toc_estimate_keys(&e, 2);
  const Size segsize = shm_toc_estimate(&e);
  auto segment = bgworker::CatchPgErrors([&] { return dsm_create(segsize, 0); });
  if (!segment) {
    Result("echo_dsm=" + Quote(segment.error().ToString()));
    return;
  }
  dsm_segment* seg = *segment;
  void* chunks[2] = {nullptr, nullptr};
  auto layout = bgworker::CatchPgErrors([&] {
    shm_toc* toc = shm_toc_create(kTocMagic, dsm_segment_address(seg), segsize);
    for (int i = 0; i < 2; i++) {
      chunks[i] = shm_toc_allocate(toc, kQueueSize);
      shm_toc_insert(toc, static_cast<uint64>(i + 1), chunks[i]);
    }
  });
  if (layout) {
    RunEcho(seg, chunks[0], chunks[1]);
  } else {
    Result("echo_toc=" + Quote(layout.error().ToString()));
  }
  auto detached = bgworker::CatchPgErrors([&] { dsm_detach(seg); });
  (void)detached;
}

void RunNoShmemScenario() {
  WorkerSpec spec = Spec("noshmem", "bgw_cxx_shmem_test_noshmem", 0);
  spec.access = bgworker::Access::kNone;
  auto h = WorkerHandle::Register(spec);
  if (!h) {
    Result("noshmem_register=" + Quote(h.error().ToString()));
    return;
  }
  auto stopped = h->WaitForShutdown(60s);
  Result("noshmem_worker=" +
         (stopped ? std::string("stopped") : Quote(stopped.error().ToString())));
}

void RunLauncher() {
  StartSignals();
  Result(Format("launcher_pid=%d iterations=%d records=%d", MyProcPid, iterations, records));
  auto state = SharedStruct<CounterState>::Attach(kStructName, InitState);
  if (!state) {
    Result("attach=" + Quote(state.error().ToString()));
    return;
  }
  Result(Format("attach=ok init_count=%d", static_cast<int>((*state)->init_count)));
  auto big = SharedStruct<Unrequested>::Attach("bgw_cxx_shmem_test unrequested");
  auto long_name = SharedStruct<CounterState>::Attach(std::string(200, 'n'));
  Result(Format("unrequested=%s unrequested_message=%s long_name=%s",
                big ? "attached" : Name(big.code()).c_str(),
                Quote(big ? "" : big.error().message).c_str(),
                long_name ? "attached" : Name(long_name.code()).c_str()));
  RunCounter(*state);
  RunLocks(*state);
  RunEchoScenario();
  RunNoShmemScenario();
  Result("done=1");
}

// --- dynamic workers ---

void RunIncrementer(int index) {
  StartSignals();
  CounterState* s = SharedStruct<CounterState>::Attach(kStructName, InitState).value();
  for (int i = 0; i < iterations; i++) {
    {
      auto guard = bgworker::ExclusiveLock(&s->lock);
      s->counter++;
    }
    {
      bgworker::SpinLockGuard guard(&s->mutex);
      s->spin_counter++;
    }
  }
  {
    auto guard = bgworker::ExclusiveLock(&s->lock);
    s->workers_done++;
  }
  Log(Format("incrementer %d done pid=%d", index, MyProcPid));
}

void RunEchoWorker(dsm_handle handle) {
  StartSignals();
  dsm_segment* seg = bgworker::ThrowOnPgError([&] { return dsm_attach(handle); });
  if (seg == nullptr) throw bgworker::Error(bgworker::Errc::kStopped, "echo: segment is gone");
  void* queues[2] = {nullptr, nullptr};
  bgworker::ThrowOnPgError([&] {
    shm_toc* toc = shm_toc_attach(kTocMagic, dsm_segment_address(seg));
    if (toc == nullptr) elog(ERROR, "bgw_cxx_shmem_test: bad magic number in the segment");
    queues[0] = shm_toc_lookup(toc, 1, false);
    queues[1] = shm_toc_lookup(toc, 2, false);
  });
  int echoed = 0;
  {
    // Roles inferred: the launcher took the other end of each queue.
    auto in = Channel<Record>::Attach(static_cast<shm_mq*>(queues[0]), seg, nullptr).value();
    auto out = Channel<Record>::Attach(static_cast<shm_mq*>(queues[1]), seg, nullptr).value();
    for (;;) {
      auto record = in.Receive();
      if (record) {
        out.Send(*record).value();
        echoed++;
        continue;
      }
      if (record.code() == bgworker::Errc::kInvalidSpec) {
        Result("echo_worker_mismatch=" + Name(record.code()));
        const char reply[5] = {'b', 'a', 'd', '!', '\0'};
        out.SendBytes(std::as_bytes(std::span(reply))).value();
        continue;
      }
      Result(Format("echo_worker_end=%s echoed=%d", Name(record.code()).c_str(), echoed));
      break;
    }
  }
  bgworker::ThrowOnPgError([&] { dsm_detach(seg); });
}

void RunNoShmemWorker() {
  StartSignals();
  auto state = SharedStruct<CounterState>::Attach(kStructName, InitState);
  if (state) {
    Result("noshmem=attached");
    return;
  }
  Result(Format("noshmem=%s noshmem_message=%s", Name(state.code()).c_str(),
                Quote(state.error().message).c_str()));
}

// --- shared memory setup ---

shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

void StartupHook() {
  if (prev_shmem_startup_hook != nullptr) prev_shmem_startup_hook();
  auto state = SharedStruct<CounterState>::Attach(kStructName, InitState);
  if (!state) Log("shmem_startup_hook: " + state.error().ToString());
}

}  // namespace

void bgw_cxx_shmem_test_launcher(Datum main_arg) {
  (void)main_arg;
  bgworker::ExceptionBoundary([] { RunLauncher(); });
}

void bgw_cxx_shmem_test_incrementer(Datum main_arg) {
  bgworker::ExceptionBoundary([&] { RunIncrementer(static_cast<int>(DatumGetInt64(main_arg))); });
}

void bgw_cxx_shmem_test_echo(Datum main_arg) {
  bgworker::ExceptionBoundary(
      [&] { RunEchoWorker(static_cast<dsm_handle>(DatumGetUInt32(main_arg))); });
}

void bgw_cxx_shmem_test_noshmem(Datum main_arg) {
  (void)main_arg;
  bgworker::ExceptionBoundary([] { RunNoShmemWorker(); });
}

void _PG_init(void) {
  DefineCustomIntVariable("bgw_cxx_shmem_test.iterations", "Increments per incrementer.", nullptr,
                          &iterations, 20000, 1, 10000000, PGC_POSTMASTER, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("bgw_cxx_shmem_test.records", "Records exchanged with the echo worker.",
                          nullptr, &records, 200, 1, 1000000, PGC_POSTMASTER, 0, nullptr, nullptr,
                          nullptr);
  MarkGUCPrefixReserved("bgw_cxx_shmem_test");
  if (!process_shared_preload_libraries_in_progress) return;

  SharedStruct<CounterState>::Request();
  prev_shmem_startup_hook = shmem_startup_hook;
  shmem_startup_hook = StartupHook;

  WorkerSpec launcher = Spec("launcher", "bgw_cxx_shmem_test_launcher", 0);
  if (auto registered = bgworker::RegisterStatic(launcher); !registered) {
    Log("launcher not registered: " + registered.error().ToString());
  }
}
