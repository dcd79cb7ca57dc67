// Tests of utils/elog.h: ereport/elog levels, PG_TRY and friends, the error
// stack, hooks, and how FATAL/PANIC end a process.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "compat/compat_testing.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"

namespace {

using bgw::compat::testing::CatchError;
using bgw::compat::testing::CaughtError;
using bgw::compat::testing::RunInChild;

// Checks that every test leaves the error machinery as it found it.
class CompatElogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_options_ = bgw::log::CurrentOptions();
    bgw::log::Options options = saved_options_;
    options.min_level = bgw::log::Level::kWarning;
    bgw::log::Configure(options);
  }
  void TearDown() override {
    bgw::log::Configure(saved_options_);
    EXPECT_EQ(PG_exception_stack, nullptr);
    EXPECT_EQ(error_context_stack, nullptr);
    EXPECT_EQ(CurrentMemoryContext, TopMemoryContext);
    emit_log_hook = nullptr;
    bgw_set_client_error_sink(nullptr);
  }
  bgw::log::Options saved_options_;
};

// Messages seen by emit_log_hook (which also keeps them out of the log).
struct Seen {
  int elevel;
  std::string sqlstate;
  std::string message;
  std::string detail;
  std::string context;
};
std::vector<Seen>* seen = nullptr;

void CapturingHook(ErrorData* edata) {
  if (seen != nullptr) {
    seen->push_back(Seen{edata->elevel, unpack_sql_state(edata->sqlerrcode),
                         edata->message != nullptr ? edata->message : "",
                         edata->detail != nullptr ? edata->detail : "",
                         edata->context != nullptr ? edata->context : ""});
  }
  edata->output_to_server = false;
}

[[gnu::noinline]] void RaiseNewStyle() {
  ereport(ERROR, errcode(ERRCODE_DIVISION_BY_ZERO), errmsg("division by zero in %s", "f"),
          errdetail("The divisor was %d.", 0), errhint("Do not divide by zero."));
}

[[gnu::noinline]] void RaiseOldStyle() {
  ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value %d out of range", 7),
                  errdetail_log("log-only detail")));
}

[[gnu::noinline]] void RaiseWithErrno() {
  errno = ENOENT;
  ereport(ERROR, errcode_for_file_access(),
          errmsg("could not open file \"%s\": %m", "/nonexistent"));
}

TEST_F(CompatElogTest, ErrorIsCaughtWithCodeMessageDetailHint) {
  CaughtError e = CatchError([] { RaiseNewStyle(); });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.elevel, ERROR);
  EXPECT_EQ(e.sqlerrcode, ERRCODE_DIVISION_BY_ZERO);
  EXPECT_EQ(e.sqlstate, "22012");
  EXPECT_EQ(e.message, "division by zero in f");
  EXPECT_EQ(e.detail, "The divisor was 0.");
  EXPECT_EQ(e.hint, "Do not divide by zero.");
}

TEST_F(CompatElogTest, OldParenthesizedFormWorks) {
  CaughtError e = CatchError([] { RaiseOldStyle(); });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.sqlstate, "22003");
  EXPECT_EQ(e.message, "value 7 out of range");
  EXPECT_EQ(e.detail_log, "log-only detail");
  EXPECT_EQ(e.detail, "");
}

TEST_F(CompatElogTest, PercentMExpandsSavedErrno) {
  CaughtError e = CatchError([] { RaiseWithErrno(); });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.message, "could not open file \"/nonexistent\": No such file or directory");
  EXPECT_EQ(e.sqlerrcode, ERRCODE_UNDEFINED_FILE);
  EXPECT_EQ(e.saved_errno, ENOENT);
}

TEST_F(CompatElogTest, PercentMKeepsOtherConversionsAndPercents) {
  CaughtError e = CatchError([] {
    errno = EACCES;
    elog(ERROR, "100%% %s %m %d %m", "x", 5);
  });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.message, "100% x Permission denied 5 Permission denied");
  EXPECT_EQ(e.sqlerrcode, ERRCODE_INTERNAL_ERROR);  // elog's default for ERROR
}

TEST_F(CompatElogTest, PluralFormsPickByCount) {
  CaughtError one = CatchError([] {
    ereport(ERROR, errmsg_plural("%lu file", "%lu files", 1UL, 1UL),
            errdetail_plural("%d row", "%d rows", 1UL, 1));
  });
  CaughtError many =
      CatchError([] { ereport(ERROR, errmsg_plural("%lu file", "%lu files", 3UL, 3UL)); });
  EXPECT_EQ(one.message, "1 file");
  EXPECT_EQ(one.detail, "1 row");
  EXPECT_EQ(many.message, "3 files");
}

TEST_F(CompatElogTest, NestedTryRethrowReachesOuterHandler) {
  volatile int inner_catches = 0;
  volatile bool after_inner_ran = false;
  CaughtError e = CatchError([&] {
    PG_TRY();
    { RaiseNewStyle(); }
    PG_CATCH();
    {
      inner_catches = inner_catches + 1;
      PG_RE_THROW();
    }
    PG_END_TRY();
    after_inner_ran = true;
  });
  EXPECT_EQ(inner_catches, 1);
  EXPECT_FALSE(after_inner_ran);
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.message, "division by zero in f");
}

TEST_F(CompatElogTest, NamedNestedTryBlocks) {
  volatile int path = 0;
  CaughtError e = CatchError([&] {
    PG_TRY(outer);
    {
      PG_TRY(inner);
      { RaiseOldStyle(); }
      PG_CATCH(inner);
      {
        path = path * 10 + 1;
        PG_RE_THROW();
      }
      PG_END_TRY(inner);
    }
    PG_CATCH(outer);
    {
      path = path * 10 + 2;
      PG_RE_THROW();
    }
    PG_END_TRY(outer);
  });
  EXPECT_EQ(path, 12);
  EXPECT_EQ(e.message, "value 7 out of range");
}

TEST_F(CompatElogTest, ErrorHandledInCatchDoesNotPropagate) {
  volatile bool caught = false;
  CaughtError e = CatchError([&] {
    MemoryContext old = CurrentMemoryContext;
    PG_TRY();
    { RaiseNewStyle(); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(old);
      FlushErrorState();
      caught = true;
    }
    PG_END_TRY();
  });
  EXPECT_TRUE(caught);
  EXPECT_FALSE(e.raised);
}

TEST_F(CompatElogTest, FinallyRunsOnSuccessAndOnError) {
  volatile int finally_runs = 0;
  CaughtError ok = CatchError([&] {
    PG_TRY();
    {
      // no error
    }
    PG_FINALLY();
    { finally_runs = finally_runs + 1; }
    PG_END_TRY();
  });
  EXPECT_FALSE(ok.raised);
  EXPECT_EQ(finally_runs, 1);

  volatile bool after_finally_block = false;
  CaughtError failed = CatchError([&] {
    PG_TRY();
    { RaiseNewStyle(); }
    PG_FINALLY();
    { finally_runs = finally_runs + 1; }
    PG_END_TRY();
    after_finally_block = true;
  });
  EXPECT_EQ(finally_runs, 2);
  EXPECT_FALSE(after_finally_block);  // the error was rethrown after the block
  ASSERT_TRUE(failed.raised);
  EXPECT_EQ(failed.sqlerrcode, ERRCODE_DIVISION_BY_ZERO);
}

TEST_F(CompatElogTest, CatchRestoresExceptionAndContextStacks) {
  ErrorContextCallback frame;
  frame.callback = [](void*) {};
  frame.arg = nullptr;
  frame.previous = nullptr;
  sigjmp_buf* volatile outer_stack = nullptr;
  CatchError([&] {
    outer_stack = PG_exception_stack;
    PG_TRY();
    {
      error_context_stack = &frame;  // left pushed by the failing code
      RaiseNewStyle();
    }
    PG_CATCH();
    {
      EXPECT_EQ(PG_exception_stack, outer_stack);
      EXPECT_EQ(error_context_stack, nullptr);
      PG_RE_THROW();
    }
    PG_END_TRY();
  });
  EXPECT_NE(outer_stack, nullptr);
}

int callback_sqlerrcode = 0;

void ContextCallback(void* arg) {
  callback_sqlerrcode = geterrcode();
  errcontext("processing item %d", *static_cast<int*>(arg));
}

void OuterContextCallback(void*) { errcontext("in the outer frame"); }

TEST_F(CompatElogTest, ContextCallbacksAddLinesInnermostFirst) {
  int item = 42;
  ErrorContextCallback outer{nullptr, OuterContextCallback, nullptr};
  ErrorContextCallback inner{&outer, ContextCallback, &item};
  callback_sqlerrcode = 0;
  CaughtError e = CatchError([&] {
    error_context_stack = &inner;
    RaiseNewStyle();
  });
  error_context_stack = nullptr;
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.context, "processing item 42\nin the outer frame");
  EXPECT_EQ(callback_sqlerrcode, ERRCODE_DIVISION_BY_ZERO);
}

void FailingContextCallback(void*) { elog(ERROR, "error inside the context callback"); }

TEST_F(CompatElogTest, ErrorInsideContextCallbackDoesNotRecurseForever) {
  ErrorContextCallback bad{nullptr, FailingContextCallback, nullptr};
  CaughtError e = CatchError([&] {
    error_context_stack = &bad;
    RaiseNewStyle();
  });
  error_context_stack = nullptr;
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.message, "error inside the context callback");
  EXPECT_FALSE(in_error_recursion_trouble());  // FlushErrorState reset it
}

int evaluations = 0;
int Evaluate() { return ++evaluations; }

TEST_F(CompatElogTest, ArgumentsNotEvaluatedBelowLogLevel) {
  seen = nullptr;
  evaluations = 0;
  EXPECT_FALSE(errstart(DEBUG1, nullptr));
  EXPECT_FALSE(message_level_is_interesting(DEBUG1));
  ereport(DEBUG1, errmsg("value %d", Evaluate()));
  elog(DEBUG5, "value %d", Evaluate());
  ereport(INFO, errmsg("value %d", Evaluate()));  // no client: nowhere to go
  EXPECT_EQ(evaluations, 0);

  std::vector<Seen> messages;
  seen = &messages;
  emit_log_hook = CapturingHook;
  ereport(WARNING, errmsg("value %d", Evaluate()));
  ereport(LOG, errmsg("value %d", Evaluate()));  // LOG outranks WARNING in the log
  EXPECT_EQ(evaluations, 2);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].elevel, WARNING);
  EXPECT_EQ(messages[0].sqlstate, "01000");
  EXPECT_EQ(messages[1].elevel, LOG);
  EXPECT_EQ(messages[1].sqlstate, "00000");
  seen = nullptr;
}

TEST_F(CompatElogTest, ErrorAlwaysEvaluatedEvenWhenNotLogged) {
  bgw::log::Options options = bgw::log::CurrentOptions();
  options.min_level = bgw::log::Level::kPanic;
  bgw::log::Configure(options);
  evaluations = 0;
  CaughtError e = CatchError([] { ereport(ERROR, errmsg("value %d", Evaluate())); });
  EXPECT_EQ(evaluations, 1);
  EXPECT_EQ(e.message, "value 1");
}

TEST_F(CompatElogTest, EmitLogHookSeesMessagesBeforeTheyAreWritten) {
  std::vector<Seen> messages;
  seen = &messages;
  emit_log_hook = CapturingHook;
  ereport(WARNING, errcode(ERRCODE_WARNING_DEPRECATED_FEATURE), errmsg("old %s", "api"),
          errdetail("Use the new one."));
  seen = nullptr;
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].sqlstate, "01P01");
  EXPECT_EQ(messages[0].message, "old api");
  EXPECT_EQ(messages[0].detail, "Use the new one.");
}

TEST_F(CompatElogTest, EmitErrorReportInCatchUsesHook) {
  std::vector<Seen> messages;
  seen = &messages;
  emit_log_hook = CapturingHook;
  CatchError([] {
    PG_TRY();
    { RaiseNewStyle(); }
    PG_CATCH();
    {
      EmitErrorReport();
      PG_RE_THROW();
    }
    PG_END_TRY();
  });
  seen = nullptr;
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].elevel, ERROR);
  EXPECT_EQ(messages[0].message, "division by zero in f");
}

std::vector<int>* client_levels = nullptr;
void ClientSink(const ErrorData* edata) { client_levels->push_back(edata->elevel); }

TEST_F(CompatElogTest, ClientSinkGetsNoticeAndAboveButNotLog) {
  std::vector<int> levels;
  client_levels = &levels;
  bgw_set_client_error_sink(ClientSink);
  emit_log_hook = CapturingHook;  // keep the server log quiet
  ereport(NOTICE, errmsg("notice"));
  ereport(INFO, errmsg("info"));
  ereport(LOG, errmsg("log"));
  ereport(LOG_SERVER_ONLY, errmsg("server only"));
  ereport(WARNING_CLIENT_ONLY, errmsg("client only"));
  ereport(DEBUG1, errmsg("debug"));
  bgw_set_client_error_sink(nullptr);
  client_levels = nullptr;
  EXPECT_EQ(levels, (std::vector<int>{NOTICE, INFO, WARNING_CLIENT_ONLY}));
}

TEST_F(CompatElogTest, ReThrowErrorRaisesASavedError) {
  MemoryContext context = AllocSetContextCreate(TopMemoryContext, "saved", ALLOCSET_SMALL_SIZES);
  ErrorData* volatile saved = nullptr;
  CatchError([&] {
    PG_TRY();
    { RaiseNewStyle(); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(context);
      saved = CopyErrorData();
      FlushErrorState();
    }
    PG_END_TRY();
  });
  MemoryContextSwitchTo(TopMemoryContext);
  ASSERT_NE(saved, nullptr);
  EXPECT_EQ(GetMemoryChunkContext(saved), context);
  CaughtError e = CatchError([&] { ReThrowError(saved); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.message, "division by zero in f");
  EXPECT_EQ(e.hint, "Do not divide by zero.");
  FreeErrorData(saved);
  MemoryContextDelete(context);
}

TEST_F(CompatElogTest, ThrowErrorDataReportsAtItsLevel) {
  std::vector<Seen> messages;
  seen = &messages;
  emit_log_hook = CapturingHook;
  ErrorData edata;
  memset(&edata, 0, sizeof edata);
  edata.elevel = WARNING;
  edata.sqlerrcode = ERRCODE_LOCK_NOT_AVAILABLE;
  edata.message = const_cast<char*>("built by hand");
  ThrowErrorData(&edata);
  seen = nullptr;
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].sqlstate, "55P03");
  EXPECT_EQ(messages[0].message, "built by hand");

  edata.elevel = ERROR;
  CaughtError e = CatchError([&] { ThrowErrorData(&edata); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.sqlstate, "55P03");
}

TEST_F(CompatElogTest, UnpackSqlStateRoundTrips) {
  EXPECT_STREQ(unpack_sql_state(ERRCODE_QUERY_CANCELED), "57014");
  EXPECT_STREQ(unpack_sql_state(ERRCODE_ADMIN_SHUTDOWN), "57P01");
  EXPECT_STREQ(unpack_sql_state(ERRCODE_IN_FAILED_SQL_TRANSACTION), "25P02");
  EXPECT_STREQ(unpack_sql_state(ERRCODE_CONFIG_FILE_ERROR), "F0000");
  EXPECT_STREQ(unpack_sql_state(ERRCODE_DATA_CORRUPTED), "XX001");
  EXPECT_STREQ(unpack_sql_state(ERRCODE_UNDEFINED_TABLE), "42P01");
  EXPECT_EQ(ERRCODE_TO_CATEGORY(ERRCODE_DIVISION_BY_ZERO), ERRCODE_DATA_EXCEPTION);
  EXPECT_STREQ(error_severity(LOG_SERVER_ONLY), "LOG");
  EXPECT_STREQ(error_severity(PANIC), "PANIC");
}

TEST_F(CompatElogTest, ErrorCodeForFileAndSocketErrors) {
  struct Case {
    int err;
    int code;
  };
  for (Case c : {Case{EACCES, ERRCODE_INSUFFICIENT_PRIVILEGE}, Case{EEXIST, ERRCODE_DUPLICATE_FILE},
                 Case{ENOSPC, ERRCODE_DISK_FULL}, Case{EIO, ERRCODE_IO_ERROR},
                 Case{EINVAL, ERRCODE_INTERNAL_ERROR}}) {
    CaughtError e = CatchError([&] {
      errno = c.err;
      ereport(ERROR, errcode_for_file_access(), errmsg("x"));
    });
    EXPECT_EQ(e.sqlerrcode, c.code) << c.err;
  }
  CaughtError e = CatchError([] {
    errno = ECONNRESET;
    ereport(ERROR, errcode_for_socket_access(), errmsg("x"));
  });
  EXPECT_EQ(e.sqlerrcode, ERRCODE_CONNECTION_FAILURE);
}

TEST_F(CompatElogTest, FatalExitsWithStatusOne) {
  int status = RunInChild([] { ereport(FATAL, errcode(ERRCODE_ADMIN_SHUTDOWN), errmsg("bye")); });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

TEST_F(CompatElogTest, ErrorWithoutHandlerBecomesFatal) {
  int status = RunInChild([] { elog(ERROR, "nobody catches this"); });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

TEST_F(CompatElogTest, RethrowFromOutermostTryBecomesFatal) {
  int status = RunInChild([] {
    PG_TRY();
    { elog(ERROR, "caught, then rethrown to nobody"); }
    PG_CATCH();
    { PG_RE_THROW(); }
    PG_END_TRY();
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

TEST_F(CompatElogTest, PanicAborts) {
  int status = RunInChild([] { elog(PANIC, "the end"); });
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
}

TEST_F(CompatElogTest, ErrorInCriticalSectionPanics) {
  int status = RunInChild([] {
    PG_TRY();
    {
      CritSectionCount = CritSectionCount + 1;
      elog(ERROR, "inside a critical section");
    }
    PG_CATCH();
    {
      _exit(98);  // must not get here
    }
    PG_END_TRY();
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
}

// Errors raised while handling errors, never flushed: the bounded stack
// ends it with PANIC instead of growing without limit.
int nesting_limit = 100;

void RaiseNested(int depth) {
  if (depth >= nesting_limit) return;  // the stack never overflowed: child exits 99
  PG_TRY();
  { elog(ERROR, "level %d", depth); }
  PG_CATCH();
  { RaiseNested(depth + 1); }
  PG_END_TRY();
}

TEST_F(CompatElogTest, ErrorDataStackOverflowPanics) {
  int status = RunInChild([] { RaiseNested(0); });
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
}

}  // namespace
