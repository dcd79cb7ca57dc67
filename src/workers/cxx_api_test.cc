// Tests of the C++ module API (include/bgworker/*.h) that need no running
// server: definition validation, Expected, the ERROR <-> C++ bridges, the
// latch view, and what registration answers outside a server. Registration,
// handles and waits against a real server are in tests/test_cxx_api.py.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bgworker/bgworker.h"
#include "compat/compat_testing.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/utils/memutils.h"

namespace {

using namespace std::chrono_literals;
using bgw::compat::testing::RunInChild;
using bgworker::Errc;
using bgworker::WorkerSpec;

WorkerSpec ValidSpec() {
  WorkerSpec spec;
  spec.name = "cxx test worker";
  spec.library = "cxx_test";
  spec.function = "cxx_test_main";
  return spec;
}

// Every test leaves the error machinery as it found it.
class CxxApiTest : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_EQ(PG_exception_stack, nullptr);
    EXPECT_EQ(error_context_stack, nullptr);
    EXPECT_EQ(CurrentMemoryContext, TopMemoryContext);
  }
};

TEST_F(CxxApiTest, SpecConvertsToBackgroundWorker) {
  WorkerSpec spec = ValidSpec();
  spec.access = bgworker::Access::kDatabase;
  spec.start = bgworker::StartTime::kConsistentState;
  spec.restart_delay = 7s;
  spec.main_arg = 0x1122334455667788ULL;
  struct Payload {
    int a;
    double b;
  };
  spec.SetExtraValue(Payload{42, 2.5});
  auto w = spec.ToBackgroundWorker();
  ASSERT_TRUE(w) << w.error().ToString();
  EXPECT_STREQ(w->bgw_name, "cxx test worker");
  EXPECT_STREQ(w->bgw_type, "cxx test worker");  // empty type takes the name
  EXPECT_STREQ(w->bgw_library_name, "cxx_test");
  EXPECT_STREQ(w->bgw_function_name, "cxx_test_main");
  EXPECT_EQ(w->bgw_flags, BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION);
  EXPECT_EQ(w->bgw_start_time, BgWorkerStart_ConsistentState);
  EXPECT_EQ(w->bgw_restart_time, 7);
  EXPECT_EQ(w->bgw_main_arg, static_cast<Datum>(0x1122334455667788ULL));
  EXPECT_EQ(w->bgw_notify_pid, MyProcPid);
  const Payload back = bgworker::ReadExtra<Payload>(*w);
  EXPECT_EQ(back.a, 42);
  EXPECT_EQ(back.b, 2.5);
  EXPECT_EQ(bgworker::FieldView(w->bgw_name), "cxx test worker");

  spec.restart_delay.reset();
  spec.notify_me = false;
  spec.type = "cxx type";
  spec.access = bgworker::Access::kNone;
  w = spec.ToBackgroundWorker();
  ASSERT_TRUE(w) << w.error().ToString();
  EXPECT_EQ(w->bgw_restart_time, BGW_NEVER_RESTART);
  EXPECT_EQ(w->bgw_notify_pid, 0);
  EXPECT_EQ(w->bgw_flags, 0);
  EXPECT_STREQ(w->bgw_type, "cxx type");
}

TEST_F(CxxApiTest, TooLongStringsAreErrorsNotTruncation) {
  WorkerSpec spec = ValidSpec();
  spec.name = std::string(bgworker::kMaxNameBytes, 'n');  // exactly fits
  auto fits = spec.ToBackgroundWorker();
  ASSERT_TRUE(fits) << fits.error().ToString();
  EXPECT_EQ(std::strlen(fits->bgw_name), bgworker::kMaxNameBytes);

  spec.name += "n";
  auto w = spec.ToBackgroundWorker();
  ASSERT_FALSE(w);
  EXPECT_EQ(w.code(), Errc::kInvalidSpec);
  EXPECT_NE(w.error().message.find("name is 96 bytes long; the limit is 95"), std::string::npos)
      << w.error().message;

  const char* fields[] = {"type", "library", "function"};
  for (const char* field : fields) {
    WorkerSpec s = ValidSpec();
    std::string too_long(BGW_MAXLEN, 'z');
    if (std::strcmp(field, "type") == 0) s.type = too_long;
    if (std::strcmp(field, "library") == 0) s.library = too_long;
    if (std::strcmp(field, "function") == 0) s.function = too_long;
    auto r = s.ToBackgroundWorker();
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.code(), Errc::kInvalidSpec);
    EXPECT_NE(r.error().message.find(std::string(field) + " is 96 bytes"), std::string::npos)
        << r.error().message;
  }
}

TEST_F(CxxApiTest, InvalidDefinitionsAreRefused) {
  auto refused = [](const WorkerSpec& s, const char* needle) {
    auto r = s.ToBackgroundWorker();
    ASSERT_FALSE(r) << needle;
    EXPECT_EQ(r.code(), Errc::kInvalidSpec);
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  WorkerSpec s = ValidSpec();
  s.name.clear();
  refused(s, "name is required");
  s = ValidSpec();
  s.library.clear();
  refused(s, "library is required");
  s = ValidSpec();
  s.function.clear();
  refused(s, "function is required");
  s = ValidSpec();
  s.name = std::string("a\0b", 3);
  refused(s, "NUL byte");
  s = ValidSpec();
  s.restart_delay = -1s;
  refused(s, "out of range");
  s.restart_delay = std::chrono::seconds(86400LL * 1000 + 1);
  refused(s, "out of range");
  s.restart_delay = std::chrono::seconds(86400LL * 1000);
  EXPECT_TRUE(s.ToBackgroundWorker());
  s.restart_delay = 0s;
  EXPECT_TRUE(s.ToBackgroundWorker());
  // The server's own checks (bgworker::ValidateWorker).
  s = ValidSpec();
  s.access = bgworker::Access::kDatabase;
  s.start = bgworker::StartTime::kPostmasterStart;
  refused(s, "cannot request database access if starting at postmaster start");
  s = ValidSpec();
  s.access = static_cast<bgworker::Access>(BGWORKER_BACKEND_DATABASE_CONNECTION);
  refused(s, "invalid access");
  s = ValidSpec();
  s.start = static_cast<bgworker::StartTime>(17);
  refused(s, "invalid start time 17");
}

TEST_F(CxxApiTest, ExtraBytes) {
  WorkerSpec s = ValidSpec();
  std::vector<std::byte> bytes(bgworker::kExtraBytes, std::byte{0x5a});
  ASSERT_TRUE(s.SetExtra(bytes));
  EXPECT_EQ(s.extra.back(), std::byte{0x5a});
  bytes.push_back(std::byte{1});
  auto r = s.SetExtra(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), Errc::kInvalidSpec);
  const std::byte two[] = {std::byte{1}, std::byte{2}};
  ASSERT_TRUE(s.SetExtra(two));
  EXPECT_EQ(s.extra[1], std::byte{2});
  EXPECT_EQ(s.extra[2], std::byte{0});  // the rest is cleared
}

TEST_F(CxxApiTest, RegisteringOutsideAServer) {
  ASSERT_FALSE(IsUnderPostmaster);
  auto h = bgworker::WorkerHandle::Register(ValidSpec());
  ASSERT_FALSE(h);
  EXPECT_EQ(h.code(), Errc::kNotUnderPostmaster);
  // A bad definition is reported as such wherever it is registered.
  WorkerSpec bad = ValidSpec();
  bad.name = std::string(200, 'x');
  auto b = bgworker::WorkerHandle::Register(bad);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.code(), Errc::kInvalidSpec);

  ASSERT_FALSE(process_shared_preload_libraries_in_progress);
  auto s = bgworker::RegisterStatic(ValidSpec());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), Errc::kNotUnderPostmaster);
  process_shared_preload_libraries_in_progress = true;
  auto sb = bgworker::RegisterStatic(bad);
  process_shared_preload_libraries_in_progress = false;
  ASSERT_FALSE(sb);
  EXPECT_EQ(sb.code(), Errc::kInvalidSpec);
}

TEST_F(CxxApiTest, EmptyHandle) {
  bgworker::WorkerHandle h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.State(), bgworker::WorkerState::kStopped);
  auto started = h.WaitForStartup(10ms);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.code(), Errc::kStopped);
  auto stopped = h.WaitForShutdown();
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.code(), Errc::kStopped);
  h.Terminate();  // no-op
  bgworker::WorkerHandle moved(std::move(h));
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(moved.release(), nullptr);
}

TEST_F(CxxApiTest, Expected) {
  bgworker::Expected<int> ok = 5;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(ok.value(), 5);
  bgworker::Expected<int> bad = bgworker::Unexpected(Errc::kTimeout, "too slow");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.code(), Errc::kTimeout);
  EXPECT_EQ(bad.value_or(7), 7);
  EXPECT_EQ(bad.error().ToString(), "kTimeout: too slow");
  try {
    (void)bad.value();
    FAIL() << "value() of an error did not throw";
  } catch (const bgworker::Error& e) {
    EXPECT_EQ(e.code(), Errc::kTimeout);
    EXPECT_STREQ(e.what(), "kTimeout: too slow");
  }
  bgworker::Expected<void> done;
  EXPECT_TRUE(done);
  EXPECT_NO_THROW(done.value());
  bgworker::Expected<void> failed = bgworker::Unexpected(Errc::kStopped, "gone");
  EXPECT_THROW(failed.value(), bgworker::Error);
  EXPECT_EQ(bgworker::ErrcName(Errc::kNoFreeSlot), "kNoFreeSlot");
}

TEST_F(CxxApiTest, CatchPgErrorsReturnsValueOrError) {
  auto value = bgworker::CatchPgErrors([] { return 41 + 1; });
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, 42);

  auto error = bgworker::CatchPgErrors([] {
    ereport(ERROR, errcode(ERRCODE_DIVISION_BY_ZERO), errmsg("divided by %d", 0),
            errdetail("some detail"), errhint("some hint"));
  });
  ASSERT_FALSE(error);
  EXPECT_EQ(error.code(), Errc::kPgError);
  EXPECT_EQ(error.error().message, "divided by 0");
  EXPECT_EQ(error.error().sqlstate, "22012");
  EXPECT_EQ(error.error().detail, "some detail");
  EXPECT_EQ(error.error().hint, "some hint");

  // An error raised with another memory context current: the caller's
  // context is restored.
  MemoryContext scratch =
      AllocSetContextCreate(TopMemoryContext, "cxx test", ALLOCSET_DEFAULT_SIZES);
  auto in_other = bgworker::CatchPgErrors([&] {
    MemoryContextSwitchTo(scratch);
    elog(ERROR, "from another context");
  });
  EXPECT_FALSE(in_other);
  EXPECT_EQ(CurrentMemoryContext, TopMemoryContext);
  MemoryContextDelete(scratch);

  // Nested: the inner one catches, the outer sees a value.
  auto outer = bgworker::CatchPgErrors([] {
    auto inner = bgworker::CatchPgErrors([] { elog(ERROR, "inner"); });
    return inner ? std::string("none") : inner.error().message;
  });
  ASSERT_TRUE(outer);
  EXPECT_EQ(*outer, "inner");
}

TEST_F(CxxApiTest, CatchPgErrorsLetsCxxExceptionsThrough) {
  EXPECT_THROW((void)bgworker::CatchPgErrors([]() -> int { throw std::runtime_error("cxx"); }),
               std::runtime_error);
  // The PG_TRY was left properly: a later ERROR is still caught.
  auto later = bgworker::CatchPgErrors([] { elog(ERROR, "later"); });
  EXPECT_FALSE(later);

  try {
    bgworker::ThrowOnPgError([] { elog(ERROR, "as exception"); });
    FAIL() << "ThrowOnPgError did not throw";
  } catch (const bgworker::Error& e) {
    EXPECT_EQ(e.code(), Errc::kPgError);
    EXPECT_EQ(e.info().message, "as exception");
    EXPECT_EQ(e.info().sqlstate, "XX000");
  }
  EXPECT_EQ(bgworker::ThrowOnPgError([] { return 3; }), 3);
}

TEST_F(CxxApiTest, ExceptionBoundaryRaisesAnError) {
  auto plain = bgworker::CatchPgErrors(
      [] { bgworker::ExceptionBoundary([] { throw std::runtime_error("boom"); }); });
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().message, "unhandled C++ exception: boom");
  EXPECT_EQ(plain.error().sqlstate, "XX000");

  auto typed = bgworker::CatchPgErrors([] {
    bgworker::ExceptionBoundary([] {
      bgworker::ErrorInfo info = bgworker::Unexpected(Errc::kTimeout, "slow");
      info.sqlstate = "57014";
      throw bgworker::Error(info);
    });
  });
  ASSERT_FALSE(typed);
  EXPECT_EQ(typed.error().message, "slow");
  EXPECT_EQ(typed.error().sqlstate, "57014");
  EXPECT_EQ(typed.error().detail, "bgworker::Errc::kTimeout");

  int ran = 0;
  auto quiet = bgworker::CatchPgErrors([&] { bgworker::ExceptionBoundary([&] { ran++; }); });
  EXPECT_TRUE(quiet);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(bgworker::internal::PackSqlState("22012"), ERRCODE_DIVISION_BY_ZERO);
  EXPECT_EQ(bgworker::internal::PackSqlState("bad"), 0);
  EXPECT_EQ(bgworker::internal::PackSqlState("2201a"), 0);
}

TEST_F(CxxApiTest, CheckForInterruptsReturnsCancelAsValue) {
  EXPECT_TRUE(bgworker::CheckForInterrupts());
  QueryCancelPending = true;
  InterruptPending = true;
  auto r = bgworker::CheckForInterrupts();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), Errc::kPgError);
  EXPECT_EQ(r.error().sqlstate, "57014");
  EXPECT_FALSE(QueryCancelPending);
  InterruptPending = false;
}

TEST_F(CxxApiTest, LatchWaits) {
  InitializeLatchSupport();
  bgworker::Latch latch;
  ASSERT_EQ(latch.get(), MyLatch);
  latch.Reset();
  EXPECT_FALSE(latch.IsSet());
  latch.Set();
  EXPECT_TRUE(latch.IsSet());
  auto r = latch.Wait(std::nullopt);
  EXPECT_TRUE(r.latch_set);
  EXPECT_FALSE(r.timeout);
  latch.Reset();

  const auto t0 = std::chrono::steady_clock::now();
  r = latch.Wait(30ms);
  EXPECT_TRUE(r.timeout);
  EXPECT_FALSE(r.latch_set);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  r = latch.Wait(-5ms);  // counts as 0
  EXPECT_TRUE(r.timeout);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto idle = latch.WaitOrSocket(fds[0], bgworker::SocketEvents::kReadable, 10ms);
  ASSERT_TRUE(idle) << idle.error().ToString();
  EXPECT_TRUE(idle->timeout);
  EXPECT_FALSE(idle->socket_readable);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  auto readable = latch.WaitOrSocket(fds[0], bgworker::SocketEvents::kReadable, 10s);
  ASSERT_TRUE(readable) << readable.error().ToString();
  EXPECT_TRUE(readable->socket_readable);
  close(fds[0]);
  close(fds[1]);

  // The C API raises ERROR for a descriptor it cannot watch: a value here.
  auto bad = latch.WaitOrSocket(fds[0], bgworker::SocketEvents::kReadable, 10ms);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.code(), Errc::kPgError);
  EXPECT_NE(bad.error().message.find("epoll_ctl"), std::string::npos) << bad.error().message;

  // A shared latch, viewed explicitly.
  ::Latch shared;
  InitSharedLatch(&shared);
  bgworker::Latch view(&shared);
  view.Set();
  EXPECT_TRUE(view.IsSet());
  EXPECT_EQ(view.get(), &shared);
}

TEST_F(CxxApiTest, CurrentWorkerOutsideAWorkerIsFatal) {
  const int status = RunInChild([] { (void)bgworker::CurrentWorker(); });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
