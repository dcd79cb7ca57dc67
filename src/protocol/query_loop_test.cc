// Unit tests for the query cycle (session.h), driven over a socket pair
// against a scripted SQL engine, so the protocol's semantics are checked
// without SQLite: message order of simple and extended queries, errors and
// ignore-till-Sync, portals suspended by a row limit, binary result formats,
// the PostgreSQL error codes for misuse, protocol violations that end the
// connection, and interrupts seen while idle.
//
// The client's whole conversation is written before RunSession starts (it
// fits in the socket buffer), and RunSession returns at Terminate or at the
// end of input, so each test is deterministic and single-threaded.
#include "protocol/query_loop.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include "postgres/miscadmin.h"
#include "postgres/storage/latch.h"
#include "protocol/messages.h"
#include "protocol/wire_testing.h"

namespace bgw::protocol {
namespace {

using test_util::Bytes;
using test_util::ParseErrorFields;
using test_util::ServerMessage;

// --- A scripted engine ------------------------------------------------------
//
// Statements (case-sensitive, surrounding blanks and ';' ignored):
//   ROWS n      n rows of one text column "n": "1".."n"; tag "SELECT n"
//   ECHO        one row with the parameters as columns (declared types); tag "SELECT 1"
//   ERR         fails at Execute with 22012
//   BADPREP     fails at Prepare with 42601
//   DIE         fails at Execute with FATAL 57P01
//   BEGIN / COMMIT   change the transaction status; tags as named
//   SET         reports a setting change; tag "SET"
//   anything else: no rows, tag "OK"

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == ';' || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

class FakeStatement : public sql::Statement {
 public:
  FakeStatement(std::string sql, std::vector<uint32_t> types)
      : sql_(std::move(sql)), types_(std::move(types)) {}
  const std::string& sql() const override { return sql_; }
  bool empty() const override { return sql_.empty(); }
  const std::vector<uint32_t>& param_types() const override { return types_; }
  std::vector<sql::Column> DescribeColumns() const override {
    if (sql_.starts_with("ROWS")) return {sql::Column{"n"}};
    if (sql_ == "ECHO") {
      std::vector<sql::Column> cols;
      for (size_t i = 0; i < types_.size(); i++) {
        sql::Column c;
        c.name = "p" + std::to_string(i + 1);
        c.type_oid = types_[i];
        cols.push_back(c);
      }
      return cols;
    }
    return {};
  }

 private:
  std::string sql_;
  std::vector<uint32_t> types_;
};

class FakeSession;

class FakePortal : public sql::Portal {
 public:
  FakePortal(FakeSession& session, std::shared_ptr<sql::Statement> stmt,
             std::vector<sql::Value> values)
      : session_(session), stmt_(std::move(stmt)), values_(std::move(values)) {}
  Result<std::vector<sql::Column>> Describe() override { return stmt_->DescribeColumns(); }
  Result<sql::ExecuteResult> Execute(int64_t max_rows, sql::RowSink& sink) override;

 private:
  FakeSession& session_;
  std::shared_ptr<sql::Statement> stmt_;
  std::vector<sql::Value> values_;
  int64_t sent_ = 0;
};

class FakeSession : public sql::Session {
 public:
  Result<std::shared_ptr<sql::Statement>> Prepare(std::string_view text,
                                                  std::span<const uint32_t> declared) override {
    std::string s = Trim(text);
    calls.push_back("Prepare " + s);
    if (s == "BADPREP") return MakeError("42601", "syntax error at or near \"BADPREP\"");
    std::vector<uint32_t> types(declared.begin(), declared.end());
    for (uint32_t& t : types) {
      if (t == 0) t = sql::oid::kText;
    }
    return std::shared_ptr<sql::Statement>(std::make_shared<FakeStatement>(s, types));
  }
  Result<std::unique_ptr<sql::Portal>> Bind(std::shared_ptr<sql::Statement> stmt,
                                            std::vector<sql::Value> values) override {
    calls.push_back("Bind");
    return std::unique_ptr<sql::Portal>(
        std::make_unique<FakePortal>(*this, std::move(stmt), std::move(values)));
  }
  void AfterError() override {
    calls.push_back("AfterError");
    if (status == 'T') status = 'E';
  }
  Status Sync() override {
    calls.push_back("Sync");
    return Status::Ok();
  }
  char TransactionStatus() const override { return status; }
  std::vector<std::pair<std::string, std::string>> TakeReportedSettings() override {
    return std::exchange(reported, {});
  }
  std::vector<std::pair<std::string, std::string>> InitialReportedSettings() const override {
    return {};
  }
  std::vector<sql::Notification> TakeNotifications() override {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(notifications, {});
  }
  void ReportQueryStart(std::string_view q) override { calls.push_back("Start " + std::string(q)); }
  void ReportIdle() override { idle_reports++; }
  const sql::SessionInfo& info() const override { return info_; }

  char status = 'I';
  std::vector<std::string> calls;
  std::vector<std::pair<std::string, std::string>> reported;
  std::mutex mu;  // guards notifications (a test thread adds some)
  std::vector<sql::Notification> notifications;
  int idle_reports = 0;

 private:
  sql::SessionInfo info_;
};

Result<sql::ExecuteResult> FakePortal::Execute(int64_t max_rows, sql::RowSink& sink) {
  const std::string& s = stmt_->sql();
  if (s == "ERR") return MakeError("22012", "division by zero");
  if (s == "DIE") {
    ErrorReport e = MakeError("57P01", "terminating connection due to administrator command");
    e.severity = "FATAL";
    return e;
  }
  if (s == "BEGIN") {
    session_.status = 'T';
    return sql::ExecuteResult{"BEGIN", false};
  }
  if (s == "COMMIT") {
    session_.status = 'I';
    return sql::ExecuteResult{"COMMIT", false};
  }
  if (s == "SET") {
    session_.reported.emplace_back("application_name", "changed");
    return sql::ExecuteResult{"SET", false};
  }
  if (s == "ECHO") {
    if (Status st = sink.Row(values_); !st.ok()) return st.error();
    return sql::ExecuteResult{"SELECT 1", false};
  }
  if (s.starts_with("ROWS ")) {
    int64_t n = std::stoll(s.substr(5));
    int64_t this_call = 0;
    while (sent_ < n) {
      if (max_rows > 0 && this_call++ == max_rows) return sql::ExecuteResult{"", true};
      sql::Value v = sql::Value::Text(std::to_string(++sent_));
      if (Status st = sink.Row(std::span(&v, 1)); !st.ok()) return st.error();
    }
    return sql::ExecuteResult{"SELECT " + std::to_string(n), false};
  }
  return sql::ExecuteResult{"OK", false};
}

// --- Client side -------------------------------------------------------------

class Client {
 public:
  void Query(std::string_view q) {
    w_.Begin('Q');
    w_.String(q);
    w_.End();
  }
  void Parse(std::string_view name, std::string_view q, const std::vector<uint32_t>& types = {}) {
    w_.Begin('P');
    w_.String(name);
    w_.String(q);
    w_.Int16(static_cast<int16_t>(types.size()));
    for (uint32_t t : types) w_.Int32(static_cast<int32_t>(t));
    w_.End();
  }
  void Bind(std::string_view portal, std::string_view stmt,
            const std::vector<std::optional<std::string>>& params = {},
            const std::vector<int16_t>& result_formats = {}) {
    w_.Begin('B');
    w_.String(portal);
    w_.String(stmt);
    w_.Int16(0);
    w_.Int16(static_cast<int16_t>(params.size()));
    for (const auto& p : params) {
      if (!p) {
        w_.Int32(-1);
        continue;
      }
      w_.Int32(static_cast<int32_t>(p->size()));
      w_.Bytes(std::span(reinterpret_cast<const uint8_t*>(p->data()), p->size()));
    }
    w_.Int16(static_cast<int16_t>(result_formats.size()));
    for (int16_t f : result_formats) w_.Int16(f);
    w_.End();
  }
  void Describe(char kind, std::string_view name) {
    w_.Begin('D');
    w_.Int8(static_cast<uint8_t>(kind));
    w_.String(name);
    w_.End();
  }
  void Execute(std::string_view portal, int32_t max_rows = 0) {
    w_.Begin('E');
    w_.String(portal);
    w_.Int32(max_rows);
    w_.End();
  }
  void Close(char kind, std::string_view name) {
    w_.Begin('C');
    w_.Int8(static_cast<uint8_t>(kind));
    w_.String(name);
    w_.End();
  }
  void Simple(char type) {
    w_.Begin(type);
    w_.End();
  }
  void Raw(const Bytes& b) { w_.Bytes(b); }
  void Terminate() { Simple('X'); }

  const MessageWriter& bytes() const { return w_; }

 private:
  MessageWriter w_;
};

struct Outcome {
  SessionEnd end;
  std::vector<ServerMessage> messages;
  std::string Types() const {
    std::string t;
    for (const auto& m : messages) t.push_back(m.type);
    return t;
  }
  std::map<char, std::string> Error(size_t nth = 0) const {
    for (const auto& m : messages) {
      if (m.type == 'E' && nth-- == 0) return ParseErrorFields(m.body);
    }
    return {};
  }
};

class ProtocolSession : public ::testing::Test {
 protected:
  void SetUp() override {
    InitializeLatchSupport();
    InterruptPending = false;
    ProcDiePending = false;
    QueryCancelPending = false;
  }
  void TearDown() override {
    InterruptPending = false;
    ProcDiePending = false;
    QueryCancelPending = false;
  }

  // Sends the client's bytes, then (unless keep_open) half-closes, runs
  // the session to its end and returns everything it answered.
  Outcome Run(const Client& client, bool close_input = true) {
    auto pair = test_util::MakeSocketPair();
    test_util::WriteAll(pair.client.get(), client.bytes().Buffer());
    if (close_input) shutdown(pair.client.get(), SHUT_WR);
    Outcome out;
    {
      Connection conn(std::move(pair.server));
      out.end = RunSession(conn, session_);
    }  // closes the server end: the read below ends at EOF
    Bytes got = test_util::ReadUntilEof(pair.client.get());
    EXPECT_TRUE(test_util::SplitMessages(got, &out.messages)) << "answer does not frame";
    return out;
  }

  FakeSession session_;
};

std::string TextOf(const Bytes& b) { return std::string(b.begin(), b.end()); }

// The value of column `col` of a DataRow body (nullopt = NULL).
std::optional<std::string> DataRowValue(const Bytes& body, int col) {
  MessageReader r(body);
  auto n = r.Int16();
  if (!n.ok() || col >= *n) return std::string("<no such column>");
  for (int i = 0;; i++) {
    auto len = r.Int32();
    if (!len.ok()) return std::string("<bad row>");
    if (*len == -1) {
      if (i == col) return std::nullopt;
      continue;
    }
    auto bytes = r.Bytes(static_cast<size_t>(*len));
    if (!bytes.ok()) return std::string("<bad row>");
    if (i == col) return std::string(bytes->begin(), bytes->end());
  }
}

TEST_F(ProtocolSession, FirstReadyForQueryThenTerminate) {
  Client c;
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kTerminate);
  EXPECT_EQ(o.Types(), "Z");
  EXPECT_EQ(TextOf(o.messages[0].body), "I");
  EXPECT_GE(session_.idle_reports, 1);
}

TEST_F(ProtocolSession, EofAtAMessageBoundaryEndsQuietly) {
  Client c;
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kClientGone);
  EXPECT_EQ(o.Types(), "Z");
}

TEST_F(ProtocolSession, SimpleQueryWithRows) {
  Client c;
  c.Query("ROWS 2");
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kTerminate);
  ASSERT_EQ(o.Types(), "ZTDDCZ");
  EXPECT_EQ(DataRowValue(o.messages[2].body, 0), "1");
  EXPECT_EQ(DataRowValue(o.messages[3].body, 0), "2");
  EXPECT_EQ(TextOf(o.messages[4].body), std::string("SELECT 2") + '\0');
  EXPECT_EQ(session_.calls.front(), "Start ROWS 2");
  EXPECT_EQ(session_.calls.back(), "Sync");
}

TEST_F(ProtocolSession, EmptyQuery) {
  Client c;
  c.Query("");
  c.Terminate();
  EXPECT_EQ(Run(c).Types(), "ZIZ");
}

TEST_F(ProtocolSession, SimpleQueryErrorStopsTheRest) {
  // The session splits a simple query with the SQL engine's splitter: if
  // that stops splitting, this test must fail, not pass unchecked.
  ASSERT_EQ(sql::Session::SplitStatements("ROWS 1; ERR; ROWS 1").size(), 3u);
  Client c;
  c.Query("ROWS 1; ERR; ROWS 1");
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "ZTDCEZ");
  EXPECT_EQ(o.Error()['C'], "22012");
  EXPECT_EQ(o.Error()['S'], "ERROR");
  EXPECT_NE(std::find(session_.calls.begin(), session_.calls.end(), "AfterError"),
            session_.calls.end());
}

TEST_F(ProtocolSession, PrepareErrorInSimpleQuery) {
  Client c;
  c.Query("BADPREP");
  c.Query("ROWS 1");  // the session goes on
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "ZEZTDCZ");
  EXPECT_EQ(o.Error()['C'], "42601");
}

TEST_F(ProtocolSession, TransactionStatusInReadyForQuery) {
  Client c;
  c.Query("BEGIN");
  c.Query("ERR");
  c.Query("COMMIT");
  c.Terminate();
  Outcome o = Run(c);
  ASSERT_EQ(o.Types(), "ZCZEZCZ");
  EXPECT_EQ(TextOf(o.messages[2].body), "T");
  EXPECT_EQ(TextOf(o.messages[4].body), "E");
  EXPECT_EQ(TextOf(o.messages[6].body), "I");
}

TEST_F(ProtocolSession, ParameterStatusAfterTheStatementThatChangedIt) {
  Client c;
  c.Query("SET");
  c.Terminate();
  Outcome o = Run(c);
  ASSERT_EQ(o.Types(), "ZCSZ");
  EXPECT_EQ(TextOf(o.messages[2].body), std::string("application_name\0changed\0", 25));
}

TEST_F(ProtocolSession, ExtendedQueryRoundTrip) {
  Client c;
  c.Parse("", "ROWS 2");
  c.Bind("", "");
  c.Describe('P', "");
  c.Execute("");
  c.Simple('S');
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "Z12TDDCZ");
}

TEST_F(ProtocolSession, ParametersAndBinaryResults) {
  Client c;
  c.Parse("echo", "ECHO", {sql::oid::kText, 0});
  c.Describe('S', "echo");
  c.Bind("", "echo", {std::string("hello"), std::nullopt}, {1});
  c.Execute("");
  c.Simple('S');
  c.Terminate();
  Outcome o = Run(c);
  ASSERT_EQ(o.Types(), "Z1tT2DCZ");
  // ParameterDescription: two text parameters.
  EXPECT_EQ(o.messages[2].body, (Bytes{0, 2, 0, 0, 0, 25, 0, 0, 0, 25}));
  EXPECT_EQ(DataRowValue(o.messages[5].body, 0), "hello");
  EXPECT_EQ(DataRowValue(o.messages[5].body, 1), std::nullopt);
}

TEST_F(ProtocolSession, RowLimitSuspendsThePortal) {
  Client c;
  c.Parse("", "ROWS 3");
  c.Bind("", "");
  c.Execute("", 2);
  c.Execute("", 2);
  c.Simple('S');
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "Z12DDsDCZ");
}

TEST_F(ProtocolSession, ErrorSkipsUntilSync) {
  Client c;
  c.Parse("", "ROWS 1");
  c.Bind("", "");
  c.Execute("");  // fine
  c.Parse("", "BADPREP");
  c.Bind("", "");  // skipped
  c.Execute("");   // skipped
  c.Simple('S');
  c.Query("ROWS 1");  // processed normally afterwards
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "Z12DCEZTDCZ");
  EXPECT_EQ(o.Error()['C'], "42601");
}

TEST_F(ProtocolSession, NamedStatementRules) {
  Client c;
  c.Parse("s", "ROWS 1");
  c.Parse("s", "ROWS 1");  // 42P05
  c.Simple('S');
  c.Bind("", "nope");  // 26000
  c.Simple('S');
  c.Describe('P', "nope");  // 34000
  c.Simple('S');
  c.Close('S', "s");
  c.Close('S', "never-existed");  // not an error
  c.Bind("", "s");                // 26000: closed
  c.Simple('S');
  c.Parse("", "ROWS 1");
  c.Parse("", "ROWS 2");  // the unnamed statement is replaced, no error
  c.Simple('S');
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "Z1EZEZEZ33EZ11Z");
  EXPECT_EQ(o.Error(0)['C'], "42P05");
  EXPECT_EQ(o.Error(0)['M'], "prepared statement \"s\" already exists");
  EXPECT_EQ(o.Error(1)['C'], "26000");
  EXPECT_EQ(o.Error(2)['C'], "34000");
  EXPECT_EQ(o.Error(3)['C'], "26000");
}

TEST_F(ProtocolSession, NamedPortalExistsAndPortalsEndWithTheTransaction) {
  Client c;
  c.Parse("s", "ROWS 3");
  c.Bind("p", "s");
  c.Bind("p", "s");  // 42P03
  c.Simple('S');
  c.Bind("p", "s");  // the transaction ended at Sync: "p" is gone, so this works
  c.Execute("p", 1);
  c.Simple('S');
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "Z12EZ2DsZ");
  EXPECT_EQ(o.Error()['C'], "42P03");
}

TEST_F(ProtocolSession, BindParameterCountMismatch) {
  Client c;
  c.Parse("", "ECHO", {25});
  c.Bind("", "", {});
  c.Simple('S');
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "Z1EZ");
  EXPECT_EQ(o.Error()['C'], "08P01");
  EXPECT_EQ(o.Error()['M'],
            "bind message supplies 0 parameters, but prepared statement \"\" requires 1");
}

TEST_F(ProtocolSession, MalformedBodyIsAnErrorNotTheEnd) {
  Client c;
  c.Raw(Bytes{'B', 0, 0, 0, 6, 'x', 0});  // Bind body cut short
  c.Simple('S');
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kTerminate);
  EXPECT_EQ(o.Types(), "ZEZ");
  EXPECT_EQ(o.Error()['C'], "08P01");
}

TEST_F(ProtocolSession, UnknownMessageTypeIsFatal) {
  Client c;
  c.Raw(Bytes{'z', 0, 0, 0, 4});
  c.Query("ROWS 1");  // never run
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kFatal);
  EXPECT_EQ(o.Types(), "ZE");
  EXPECT_EQ(o.Error()['S'], "FATAL");
  EXPECT_EQ(o.Error()['C'], "08P01");
  EXPECT_EQ(o.Error()['M'], "invalid frontend message type 122");
}

TEST_F(ProtocolSession, OversizedLengthIsFatal) {
  Client c;
  c.Raw(Bytes{'Q', 0x7f, 0xff, 0xff, 0xff});  // 2 GB promised
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kFatal);
  EXPECT_EQ(o.Types(), "ZE");
  EXPECT_EQ(o.Error()['M'], "invalid message length");
  // Small message types have a small limit.
  Client c2;
  c2.Raw(Bytes{'S', 0, 0, 0x40, 0});
  Outcome o2 = Run(c2);
  EXPECT_EQ(o2.Types(), "ZE");
  EXPECT_EQ(o2.Error()['C'], "08P01");
}

TEST_F(ProtocolSession, LengthBelowFourIsFatal) {
  Client c;
  c.Raw(Bytes{'Q', 0, 0, 0, 3});
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kFatal);
  EXPECT_EQ(o.Error()['M'], "invalid message length");
}

TEST_F(ProtocolSession, TruncatedMessageIsReported) {
  Client c;
  c.Raw(Bytes{'Q', 0, 0, 0, 100, 'S', 'E'});
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kClientGone);
  EXPECT_EQ(o.Types(), "ZE");
  EXPECT_EQ(o.Error()['C'], "08P01");
}

TEST_F(ProtocolSession, EngineFatalEndsTheSession) {
  Client c;
  c.Query("DIE");
  c.Query("ROWS 1");
  Outcome o = Run(c);
  EXPECT_EQ(o.end, SessionEnd::kFatal);
  EXPECT_EQ(o.Types(), "ZE");
  EXPECT_EQ(o.Error()['C'], "57P01");
}

TEST_F(ProtocolSession, TerminationRequestWhileIdle) {
  ProcDiePending = true;
  InterruptPending = true;
  Client c;
  Outcome o = Run(c, /*close_input=*/false);
  EXPECT_EQ(o.end, SessionEnd::kFatal);
  EXPECT_EQ(o.Types(), "ZE");
  EXPECT_EQ(o.Error()['S'], "FATAL");
  EXPECT_EQ(o.Error()['C'], "57P01");
  EXPECT_EQ(o.Error()['M'], "terminating connection due to administrator command");
}

TEST_F(ProtocolSession, CancelWhileIdleIsIgnored) {
  QueryCancelPending = true;
  InterruptPending = true;
  Client c;
  c.Query("ROWS 1");
  c.Terminate();
  Outcome o = Run(c);
  EXPECT_EQ(o.Types(), "ZTDCZ");
  EXPECT_FALSE(QueryCancelPending);
}

TEST_F(ProtocolSession, NotificationsBeforeReadyForQuery) {
  session_.notifications.push_back({42, "chan", "payload"});
  Client c;
  c.Terminate();
  Outcome o = Run(c);
  ASSERT_EQ(o.Types(), "AZ");
  Bytes want = {0, 0, 0, 42};
  for (char ch : std::string("chan\0payload\0", 13)) want.push_back(static_cast<uint8_t>(ch));
  EXPECT_EQ(o.messages[0].body, want);
}

TEST_F(ProtocolSession, CopyMessagesOutsideCopyAreIgnored) {
  Client c;
  c.Raw(Bytes{'d', 0, 0, 0, 5, 'x'});
  c.Simple('c');
  c.Query("ROWS 1");
  c.Terminate();
  EXPECT_EQ(Run(c).Types(), "ZTDCZ");
}

TEST_F(ProtocolSession, LargeResultsAreFlushedAlongTheWay) {
  // ~200 KiB of rows: more than the flush threshold, and more than the
  // socket buffer, so the answer must be sent while the statement runs.
  Client c;
  c.Query("ROWS 30000");
  c.Terminate();
  auto pair = test_util::MakeSocketPair();
  test_util::WriteAll(pair.client.get(), c.bytes().Buffer());
  shutdown(pair.client.get(), SHUT_WR);
  Bytes got;
  std::thread reader([&] { got = test_util::ReadUntilEof(pair.client.get()); });
  {
    Connection conn(std::move(pair.server));
    EXPECT_EQ(RunSession(conn, session_), SessionEnd::kTerminate);
  }
  reader.join();
  std::vector<ServerMessage> msgs;
  ASSERT_TRUE(test_util::SplitMessages(got, &msgs));
  ASSERT_EQ(msgs.size(), 30000u + 4);
  EXPECT_EQ(msgs[msgs.size() - 2].type, 'C');
}

// While the session sleeps, something sets its latch (as a committing
// NOTIFY in another process does): the client hears at once, unprompted.
TEST_F(ProtocolSession, LatchWakesAnIdleSessionToDeliverNotifications) {
  auto pair = test_util::MakeSocketPair();
  Latch* latch = MyLatch;
  std::vector<ServerMessage> seen;
  // The idle session waits without a timeout, so without the latch's wake-up
  // the notification would come only with the client's next message; the
  // client gives up after kGiveUp. Taking more than half of that means the
  // wake-up was lost or came late from something else (it takes
  // milliseconds even on a loaded machine): the bound checks that it
  // happened, not how fast.
  constexpr auto kGiveUp = std::chrono::seconds(5);
  std::chrono::steady_clock::duration took{};
  std::thread client([&] {
    int fd = pair.client.get();
    Bytes first = test_util::ReadN(fd, 6);  // ReadyForQuery
    {
      std::lock_guard<std::mutex> lock(session_.mu);
      session_.notifications.push_back({7, "ch", "wake"});
    }
    auto set_at = std::chrono::steady_clock::now();
    SetLatch(latch);
    // NotificationResponse: type, length, pid, "ch\0", "wake\0".
    Bytes note = test_util::ReadN(fd, 1 + 4 + 4 + 3 + 5, kGiveUp);
    took = std::chrono::steady_clock::now() - set_at;
    test_util::SplitMessages(first, &seen);
    test_util::SplitMessages(note, &seen);
    MessageWriter x;
    x.Begin('X');
    x.End();
    test_util::WriteAll(fd, x.Buffer());
  });
  {
    Connection conn(std::move(pair.server));
    EXPECT_EQ(RunSession(conn, session_), SessionEnd::kTerminate);
  }
  client.join();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, 'Z');
  EXPECT_EQ(seen[1].type, 'A');
  const Bytes expected_body = {0, 0, 0, 7, 'c', 'h', 0, 'w', 'a', 'k', 'e', 0};
  EXPECT_EQ(seen[1].body, expected_body);
  EXPECT_LT(took, kGiveUp / 2) << "the notification came only after "
                               << std::chrono::duration<double>(took).count() << " s";
}

// pg_terminate_backend / fast shutdown while idle: die() sets the flags and
// the latch; the session answers FATAL 57P01 without any client traffic.
TEST_F(ProtocolSession, TerminationWakesAnIdleSession) {
  auto pair = test_util::MakeSocketPair();
  Latch* latch = MyLatch;
  Bytes got;
  std::thread client([&] {
    int fd = pair.client.get();
    Bytes first = test_util::ReadN(fd, 6);
    ProcDiePending = true;
    InterruptPending = true;
    SetLatch(latch);
    got = first;
    Bytes rest = test_util::ReadUntilEof(fd);
    got.insert(got.end(), rest.begin(), rest.end());
  });
  SessionEnd end;
  {
    Connection conn(std::move(pair.server));
    end = RunSession(conn, session_);
  }
  client.join();
  EXPECT_EQ(end, SessionEnd::kFatal);
  Outcome o;
  ASSERT_TRUE(test_util::SplitMessages(got, &o.messages));
  EXPECT_EQ(o.Types(), "ZE");
  EXPECT_EQ(o.Error()['C'], "57P01");
}

}  // namespace
}  // namespace bgw::protocol
