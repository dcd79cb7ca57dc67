// Unit tests for ProcessStartupPacket: every answer PostgreSQL gives to the
// startup-packet family, checked on the bytes the client receives and on the
// server log (including the cases where both must stay silent). A last test
// drives the code with a real libpq client (psql) when one is installed.
#include "protocol/startup_packet.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "protocol/wire_testing.h"

namespace bgw::protocol {
namespace {

using namespace std::chrono_literals;
using test_util::Bytes;
using test_util::CodePacket;
using test_util::Concat;
using test_util::MakePipe;
using test_util::MakeSocketPair;
using test_util::ParseErrorFields;
using test_util::RawPacket;
using test_util::ReadN;
using test_util::ReadUntilEof;
using test_util::ServerMessage;
using test_util::SplitMessages;
using test_util::StartupPacket;
using test_util::WriteAll;
using Kind = StartupResult::Kind;

constexpr uint32_t kV30 = ProtocolVersion(3, 0);

Deadline In(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

// Sends the server log to a private file so each test can check what was
// logged, and that nothing was when PostgreSQL stays quiet.
class ProtocolStartup : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = log::CurrentOptions();
    char tmpl[] = "/tmp/bgw_startup_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    log::Options o = saved_;
    o.min_level = log::Level::kWarning;  // the default: LOG and FATAL are written
    o.to_stderr = false;
    o.file_path = dir_ + "/server.log";
    log::Configure(o);
  }
  void TearDown() override {
    log::Configure(saved_);
    unlink((dir_ + "/server.log").c_str());
    unlink((dir_ + "/psql.out").c_str());
    rmdir(dir_.c_str());
  }

  std::string ServerLog() const {
    std::ifstream in(dir_ + "/server.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  struct Outcome {
    StartupResult result;
    Bytes reply;  // everything the client received until the server closed
  };

  // Writes `input` from the client, optionally half-closes the client side,
  // runs ProcessStartupPacket, closes the server side and collects the reply.
  Outcome Run(const Bytes& input, bool client_closes = false, Deadline deadline = kNoDeadline) {
    auto sp = MakeSocketPair();
    WriteAll(sp.client.get(), input);
    if (client_closes) shutdown(sp.client.get(), SHUT_WR);
    Outcome out;
    {
      Connection conn(std::move(sp.server));
      out.result = ProcessStartupPacket(conn, {deadline});
      // Whatever a successful startup left queued goes out with the next flush.
      EXPECT_TRUE(conn.Flush(In(5s)).ok());
    }
    out.reply = ReadUntilEof(sp.client.get());
    return out;
  }

  // Like Run, but the client is a thread running `client(fd)` concurrently,
  // for exchanges where the client must wait for an answer.
  Outcome RunInteractive(const std::function<void(int)>& client, Deadline deadline = In(10s),
                         int death_fd = -1) {
    auto sp = MakeSocketPair();
    Outcome out;
    std::thread t([&] { client(sp.client.get()); });
    {
      Connection conn(std::move(sp.server), death_fd);
      out.result = ProcessStartupPacket(conn, {deadline});
    }
    t.join();
    out.reply = ReadUntilEof(sp.client.get());
    return out;
  }

  // The single FATAL ErrorResponse in `reply` (and nothing else).
  std::map<char, std::string> SingleFatal(const Bytes& reply) {
    std::vector<ServerMessage> msgs;
    EXPECT_TRUE(SplitMessages(reply, &msgs));
    EXPECT_EQ(msgs.size(), 1u);
    if (msgs.size() != 1 || msgs[0].type != 'E') return {};
    auto f = ParseErrorFields(msgs[0].body);
    EXPECT_EQ(f['S'], "FATAL");
    EXPECT_EQ(f['V'], "FATAL");
    return f;
  }

  log::Options saved_;
  std::string dir_;
};

// --- The normal case ------------------------------------------------------

TEST_F(ProtocolStartup, StartupMessageIsParsed) {
  auto o = Run(StartupPacket(kV30, {{"user", "alice"},
                                    {"database", "shop"},
                                    {"application_name", "psql"},
                                    {"options", "-c work_mem=64kB"},
                                    {"client_encoding", "UTF8"},
                                    {"DateStyle", "ISO"}}));
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.close_reason, CloseReason::kNone);
  EXPECT_EQ(o.result.requested_protocol, kV30);
  EXPECT_EQ(o.result.user, "alice");
  EXPECT_EQ(o.result.database, "shop");
  EXPECT_EQ(o.result.application_name, "psql");
  EXPECT_EQ(o.result.options, "-c work_mem=64kB");
  EXPECT_EQ(o.result.replication, ReplicationMode::kNone);
  std::map<std::string, std::string> want = {
      {"application_name", "psql"}, {"client_encoding", "UTF8"}, {"DateStyle", "ISO"}};
  EXPECT_EQ(o.result.params, want);
  EXPECT_TRUE(o.result.unrecognized_protocol_options.empty());
  EXPECT_TRUE(o.reply.empty());
  EXPECT_EQ(ServerLog(), "");
}

TEST_F(ProtocolStartup, DatabaseDefaultsToUser) {
  auto o = Run(StartupPacket(kV30, {{"user", "bob"}}));
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.database, "bob");
  o = Run(StartupPacket(kV30, {{"user", "bob"}, {"database", ""}}));
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.database, "bob");
}

TEST_F(ProtocolStartup, RepeatedParameterKeepsTheLastValue) {
  auto o = Run(StartupPacket(kV30, {{"user", "a"}, {"user", "b"}, {"x", "1"}, {"x", "2"}}));
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.user, "b");
  EXPECT_EQ(o.result.params.at("x"), "2");
}

TEST_F(ProtocolStartup, LongNamesAreCutTo63Bytes) {
  std::string long_name(100, 'u');
  auto o = Run(StartupPacket(kV30, {{"user", long_name}, {"database", std::string(64, 'd')}}));
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.user, std::string(63, 'u'));
  EXPECT_EQ(o.result.database, std::string(63, 'd'));
}

TEST_F(ProtocolStartup, ApplicationNameIsCleanedForTheLog) {
  auto o = Run(StartupPacket(kV30, {{"user", "a"}, {"application_name", "caf\xc3\xa9\tx"}}));
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.application_name, "caf???x");
  EXPECT_EQ(o.result.params.at("application_name"), "caf\xc3\xa9\tx");
}

TEST_F(ProtocolStartup, LongestPacketIsAccepted) {
  // Length word 10004 = 4 (itself) + 10000 (MAX_STARTUP_PACKET_LENGTH).
  // Body: version 4 + "user\0a\0" 7 + "p\0" 2 + value + NUL + final NUL.
  std::string value(10000 - 4 - 7 - 2 - 1 - 1, 'v');
  Bytes packet = StartupPacket(kV30, {{"user", "a"}, {"p", value}});
  ASSERT_EQ(packet.size(), 10004u);
  auto o = Run(packet);
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.params.at("p"), value);
}

// --- Framing errors: logged, nothing sent -----------------------------------

TEST_F(ProtocolStartup, EofAtOnceIsSilent) {
  auto o = Run({}, /*client_closes=*/true);
  EXPECT_EQ(o.result.kind, Kind::kClose);
  EXPECT_EQ(o.result.close_reason, CloseReason::kClientGone);
  EXPECT_TRUE(o.reply.empty());
  EXPECT_EQ(ServerLog(), "");
}

TEST_F(ProtocolStartup, PartialLengthWordIsLogged) {
  auto o = Run({0, 0}, /*client_closes=*/true);
  EXPECT_EQ(o.result.kind, Kind::kClose);
  EXPECT_EQ(o.result.close_reason, CloseReason::kClientGone);
  EXPECT_TRUE(o.reply.empty());
  EXPECT_NE(ServerLog().find("LOG:  incomplete startup packet"), std::string::npos);
}

TEST_F(ProtocolStartup, TruncatedBodyIsLogged) {
  Bytes packet = StartupPacket(kV30, {{"user", "alice"}});
  packet.resize(packet.size() - 3);
  auto o = Run(packet, /*client_closes=*/true);
  EXPECT_EQ(o.result.kind, Kind::kClose);
  EXPECT_EQ(o.result.close_reason, CloseReason::kClientGone);
  EXPECT_TRUE(o.reply.empty());
  EXPECT_NE(ServerLog().find("LOG:  incomplete startup packet"), std::string::npos);
}

TEST_F(ProtocolStartup, InvalidLengthsAreLoggedAndNothingIsSent) {
  for (uint32_t len : {0u, 4u, 7u, 10005u, 0x7fffffffu, 0x80000000u, 0xffffffffu}) {
    Bytes input = {static_cast<uint8_t>(len >> 24),
                   static_cast<uint8_t>(len >> 16),
                   static_cast<uint8_t>(len >> 8),
                   static_cast<uint8_t>(len),
                   0,
                   3,
                   0,
                   0};
    auto o = Run(input);
    EXPECT_EQ(o.result.kind, Kind::kClose) << len;
    EXPECT_EQ(o.result.close_reason, CloseReason::kBadPacket) << len;
    EXPECT_TRUE(o.reply.empty()) << len;
  }
  std::string log = ServerLog();
  size_t count = 0;
  for (size_t at = 0; (at = log.find("LOG:  invalid length of startup packet", at)) != log.npos;
       at++) {
    count++;
  }
  EXPECT_EQ(count, 7u);
}

// --- Cancel -----------------------------------------------------------------

TEST_F(ProtocolStartup, CancelRequestIsParsedAndNotAnswered) {
  auto o = Run(CodePacket(kCancelRequestCode, {4242, static_cast<int32_t>(0xdeadbeef)}));
  ASSERT_EQ(o.result.kind, Kind::kCancel);
  EXPECT_EQ(o.result.cancel_pid, 4242u);
  EXPECT_EQ(o.result.cancel_key, 0xdeadbeefu);
  EXPECT_TRUE(o.reply.empty());
  EXPECT_EQ(ServerLog(), "");
}

TEST_F(ProtocolStartup, CancelRequestOfTheWrongLengthIsRefused) {
  for (const auto& extra : {std::vector<int32_t>{1}, std::vector<int32_t>{1, 2, 3}}) {
    auto o = Run(CodePacket(kCancelRequestCode, extra));
    EXPECT_EQ(o.result.kind, Kind::kClose);
    EXPECT_EQ(o.result.close_reason, CloseReason::kBadPacket);
    EXPECT_TRUE(o.reply.empty());
  }
  EXPECT_NE(ServerLog().find("invalid length of startup packet"), std::string::npos);
}

// --- SSL and GSS ------------------------------------------------------------

// A client that sends each request and reads its one-byte answer (except
// for the last `unanswered` requests), then sends `next`. The answers it got
// are appended to *answers; anything else stays for the test to read.
std::function<void(int)> NegotiatingClient(const std::vector<uint32_t>& requests, const Bytes& next,
                                           std::string* answers, size_t unanswered = 0) {
  return [requests, next, answers, unanswered](int fd) {
    for (size_t i = 0; i < requests.size(); i++) {
      WriteAll(fd, CodePacket(requests[i]));
      if (i + unanswered >= requests.size()) continue;
      Bytes b = ReadN(fd, 1);
      if (b.size() == 1) answers->push_back(static_cast<char>(b[0]));
    }
    if (!next.empty()) WriteAll(fd, next);
  };
}

TEST_F(ProtocolStartup, SslRequestIsRefusedThenStartupProceeds) {
  std::string answers;
  auto o = RunInteractive(
      NegotiatingClient({kSslRequestCode}, StartupPacket(kV30, {{"user", "alice"}}), &answers));
  EXPECT_EQ(answers, "N");
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.user, "alice");
  EXPECT_TRUE(o.reply.empty());
  EXPECT_EQ(ServerLog(), "");
}

TEST_F(ProtocolStartup, GssRequestIsRefusedThenStartupProceeds) {
  std::string answers;
  auto o = RunInteractive(
      NegotiatingClient({kGssEncRequestCode}, StartupPacket(kV30, {{"user", "alice"}}), &answers));
  EXPECT_EQ(answers, "N");
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.user, "alice");
}

TEST_F(ProtocolStartup, SslAndGssMayBothBeTriedInEitherOrder) {
  for (const auto& order : {std::vector<uint32_t>{kSslRequestCode, kGssEncRequestCode},
                            std::vector<uint32_t>{kGssEncRequestCode, kSslRequestCode}}) {
    std::string answers;
    auto o =
        RunInteractive(NegotiatingClient(order, StartupPacket(kV30, {{"user", "u"}}), &answers));
    EXPECT_EQ(answers, "NN");
    ASSERT_EQ(o.result.kind, Kind::kStartup);
  }
}

TEST_F(ProtocolStartup, CancelAfterSslRefusal) {
  std::string answers;
  auto o = RunInteractive(
      NegotiatingClient({kSslRequestCode}, CodePacket(kCancelRequestCode, {7, 8}), &answers));
  EXPECT_EQ(answers, "N");
  ASSERT_EQ(o.result.kind, Kind::kCancel);
  EXPECT_EQ(o.result.cancel_pid, 7u);
  EXPECT_EQ(o.result.cancel_key, 8u);
}

// PostgreSQL does not special-case a repeated request: its code is then read
// as a protocol version (1234.5679), which is refused as unsupported.
TEST_F(ProtocolStartup, SecondSslRequestIsRefused) {
  std::string answers;
  auto o = RunInteractive(NegotiatingClient({kSslRequestCode, kSslRequestCode}, {}, &answers, 1));
  EXPECT_EQ(answers, "N");  // the second request gets no 'N'
  EXPECT_EQ(o.result.kind, Kind::kClose);
  EXPECT_EQ(o.result.close_reason, CloseReason::kRejected);
  auto f = SingleFatal(o.reply);
  EXPECT_EQ(f['C'], "0A000");
  EXPECT_EQ(f['M'], "unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0");
  EXPECT_NE(ServerLog().find("FATAL:  unsupported frontend protocol 1234.5679"), std::string::npos);
}

TEST_F(ProtocolStartup, SecondGssRequestIsRefused) {
  std::string answers;
  auto o = RunInteractive(NegotiatingClient(
      {kGssEncRequestCode, kSslRequestCode, kGssEncRequestCode}, {}, &answers, 1));
  EXPECT_EQ(answers, "NN");
  EXPECT_EQ(o.result.kind, Kind::kClose);
  auto f = SingleFatal(o.reply);
  EXPECT_EQ(f['C'], "0A000");
  EXPECT_EQ(f['M'], "unsupported frontend protocol 1234.5680: server supports 3.0 to 3.0");
}

TEST_F(ProtocolStartup, DataSentBeforeTheSslAnswerIsRefused) {
  // The startup packet rides along with the SSLRequest instead of waiting
  // for the answer: it could have been injected, so the server refuses it.
  auto o = Run(Concat({CodePacket(kSslRequestCode), StartupPacket(kV30, {{"user", "a"}})}));
  EXPECT_EQ(o.result.kind, Kind::kClose);
  EXPECT_EQ(o.result.close_reason, CloseReason::kRejected);
  ASSERT_FALSE(o.reply.empty());
  EXPECT_EQ(o.reply[0], 'N');
  auto f = SingleFatal(Bytes(o.reply.begin() + 1, o.reply.end()));
  EXPECT_EQ(f['C'], "08P01");
  EXPECT_EQ(f['M'], "received unencrypted data after SSL request");
  EXPECT_FALSE(f['D'].empty());
}

TEST_F(ProtocolStartup, DataSentBeforeTheGssAnswerIsRefused) {
  auto o = Run(Concat({CodePacket(kGssEncRequestCode), StartupPacket(kV30, {{"user", "a"}})}));
  EXPECT_EQ(o.result.kind, Kind::kClose);
  ASSERT_FALSE(o.reply.empty());
  EXPECT_EQ(o.reply[0], 'N');
  auto f = SingleFatal(Bytes(o.reply.begin() + 1, o.reply.end()));
  EXPECT_EQ(f['M'], "received unencrypted data after GSSAPI encryption request");
}

TEST_F(ProtocolStartup, PartialPacketAfterTheSslAnswerIsNotLogged) {
  auto o = RunInteractive([](int fd) {
    WriteAll(fd, CodePacket(kSslRequestCode));
    ReadN(fd, 1);
    WriteAll(fd, Bytes{0, 0});  // a partial length word, then gone
    shutdown(fd, SHUT_WR);
  });
  EXPECT_EQ(o.result.kind, Kind::kClose);
  EXPECT_EQ(o.result.close_reason, CloseReason::kClientGone);
  EXPECT_TRUE(o.reply.empty());  // the client consumed the 'N' itself
  // PostgreSQL does not complain about a partial length word after an
  // encryption answer (the client may just have disliked the answer).
  EXPECT_EQ(ServerLog(), "");
}

// --- StartupMessage errors ---------------------------------------------------

TEST_F(ProtocolStartup, MissingUserIsFatal) {
  for (const auto& params : {std::vector<std::pair<std::string, std::string>>{{"database", "d"}},
                             std::vector<std::pair<std::string, std::string>>{{"user", ""}}}) {
    auto o = Run(StartupPacket(kV30, params));
    EXPECT_EQ(o.result.kind, Kind::kClose);
    EXPECT_EQ(o.result.close_reason, CloseReason::kRejected);
    auto f = SingleFatal(o.reply);
    EXPECT_EQ(f['C'], "28000");
    EXPECT_EQ(f['M'], "no PostgreSQL user name specified in startup packet");
  }
  EXPECT_NE(ServerLog().find("FATAL:  no PostgreSQL user name specified in startup packet"),
            std::string::npos);
}

TEST_F(ProtocolStartup, LayoutErrorsAreFatal) {
  const std::string kLayout = "invalid startup packet layout: expected terminator as last byte";
  const std::vector<std::string> bodies = {
      std::string("user\0alice\0", 11),        // no final terminator
      std::string("user\0alice", 10),          // value not terminated
      std::string("user\0", 5),                // name without value
      std::string("user", 4),                  // name not terminated
      std::string("user\0alice\0\0junk", 16),  // bytes after the terminator
      std::string("user\0alice\0\0\0", 13),    // two terminators
      std::string(""),                         // nothing after the version
  };
  for (const std::string& body : bodies) {
    auto o = Run(RawPacket(kV30, body));
    EXPECT_EQ(o.result.kind, Kind::kClose);
    EXPECT_EQ(o.result.close_reason, CloseReason::kRejected);
    auto f = SingleFatal(o.reply);
    EXPECT_EQ(f['C'], "08P01");
    EXPECT_EQ(f['M'], kLayout) << ::testing::PrintToString(body);
  }
}

TEST_F(ProtocolStartup, UnsupportedMajorVersionIsFatal) {
  auto o = Run(StartupPacket(ProtocolVersion(4, 0), {{"user", "a"}}));
  EXPECT_EQ(o.result.kind, Kind::kClose);
  auto f = SingleFatal(o.reply);
  EXPECT_EQ(f['C'], "0A000");
  EXPECT_EQ(f['M'], "unsupported frontend protocol 4.0: server supports 3.0 to 3.0");
}

TEST_F(ProtocolStartup, OldProtocolClientGetsAnOldStyleError) {
  // Protocol 2.0 has no length word in messages: 'E', then one string.
  auto o = Run(StartupPacket(ProtocolVersion(2, 0), {{"user", "a"}}));
  EXPECT_EQ(o.result.kind, Kind::kClose);
  std::string want =
      std::string("EFATAL:  unsupported frontend protocol 2.0: server supports 3.0 to 3.0\n") +
      '\0';
  EXPECT_EQ(std::string(o.reply.begin(), o.reply.end()), want);
}

TEST_F(ProtocolStartup, NewerMinorVersionIsNegotiatedDown) {
  auto o = Run(StartupPacket(ProtocolVersion(3, 2), {{"user", "a"}}));
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.requested_protocol, ProtocolVersion(3, 2));
  std::vector<ServerMessage> msgs;
  ASSERT_TRUE(SplitMessages(o.reply, &msgs));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 'v');
  MessageReader r(msgs[0].body);
  EXPECT_EQ(*r.Int32(), static_cast<int32_t>(kV30));
  EXPECT_EQ(*r.Int32(), 0);
  EXPECT_TRUE(r.ExpectEnd().ok());
}

TEST_F(ProtocolStartup, ProtocolOptionsAreReportedAsUnrecognized) {
  auto o = Run(StartupPacket(kV30, {{"user", "a"}, {"_pq_.magic", "1"}, {"_pq_.other", "x"}}));
  ASSERT_EQ(o.result.kind, Kind::kStartup);
  EXPECT_EQ(o.result.params.count("_pq_.magic"), 0u);
  EXPECT_EQ(o.result.unrecognized_protocol_options,
            (std::vector<std::string>{"_pq_.magic", "_pq_.other"}));
  std::vector<ServerMessage> msgs;
  ASSERT_TRUE(SplitMessages(o.reply, &msgs));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 'v');
  MessageReader r(msgs[0].body);
  EXPECT_EQ(*r.Int32(), static_cast<int32_t>(kV30));
  EXPECT_EQ(*r.Int32(), 2);
  EXPECT_EQ(*r.String(), "_pq_.magic");
  EXPECT_EQ(*r.String(), "_pq_.other");
}

TEST_F(ProtocolStartup, NegotiationPrecedesAMissingUserError) {
  auto o = Run(StartupPacket(ProtocolVersion(3, 1), {{"database", "d"}}));
  EXPECT_EQ(o.result.kind, Kind::kClose);
  std::vector<ServerMessage> msgs;
  ASSERT_TRUE(SplitMessages(o.reply, &msgs));
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, 'v');
  EXPECT_EQ(msgs[1].type, 'E');
}

TEST_F(ProtocolStartup, ReplicationParameter) {
  struct Case {
    const char* value;
    ReplicationMode mode;
    const char* database;
  };
  for (const Case& c :
       {Case{"database", ReplicationMode::kLogical, "db"},
        Case{"true", ReplicationMode::kPhysical, ""}, Case{"on", ReplicationMode::kPhysical, ""},
        Case{"1", ReplicationMode::kPhysical, ""}, Case{"YES", ReplicationMode::kPhysical, ""},
        Case{"t", ReplicationMode::kPhysical, ""}, Case{"false", ReplicationMode::kNone, "db"},
        Case{"off", ReplicationMode::kNone, "db"}, Case{"of", ReplicationMode::kNone, "db"},
        Case{"0", ReplicationMode::kNone, "db"}, Case{"n", ReplicationMode::kNone, "db"}}) {
    auto o =
        Run(StartupPacket(kV30, {{"user", "u"}, {"database", "db"}, {"replication", c.value}}));
    ASSERT_EQ(o.result.kind, Kind::kStartup) << c.value;
    EXPECT_EQ(o.result.replication, c.mode) << c.value;
    EXPECT_EQ(o.result.database, c.database) << c.value;
    EXPECT_EQ(o.result.params.count("replication"), 0u);
  }
}

TEST_F(ProtocolStartup, InvalidReplicationValueIsFatal) {
  for (const char* bad : {"bogus", "o", "", "truee", "10", "Database"}) {
    auto o = Run(StartupPacket(kV30, {{"user", "u"}, {"replication", bad}}));
    EXPECT_EQ(o.result.kind, Kind::kClose) << bad;
    auto f = SingleFatal(o.reply);
    EXPECT_EQ(f['C'], "22023");
    EXPECT_EQ(f['M'], std::string("invalid value for parameter \"replication\": \"") + bad + "\"");
    EXPECT_FALSE(f['H'].empty());
  }
}

TEST_F(ProtocolStartup, InvalidReplicationValueWinsOverLayoutError) {
  auto o = Run(RawPacket(kV30, std::string("replication\0bogus", 17)));
  auto f = SingleFatal(o.reply);
  EXPECT_EQ(f['C'], "22023");
}

// --- Deadline and postmaster death ------------------------------------------

TEST_F(ProtocolStartup, TimeoutClosesSilently) {
  auto start = std::chrono::steady_clock::now();
  auto o = Run({}, /*client_closes=*/false, In(150ms));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.result.kind, Kind::kClose);
  EXPECT_EQ(o.result.close_reason, CloseReason::kTimeout);
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_TRUE(o.reply.empty());
  EXPECT_EQ(ServerLog(), "");
}

TEST_F(ProtocolStartup, TimeoutInTheMiddleOfAPacket) {
  Bytes packet = StartupPacket(kV30, {{"user", "alice"}});
  packet.resize(6);
  auto o = Run(packet, /*client_closes=*/false, In(100ms));
  EXPECT_EQ(o.result.close_reason, CloseReason::kTimeout);
  EXPECT_TRUE(o.reply.empty());
  EXPECT_EQ(ServerLog(), "");
}

TEST_F(ProtocolStartup, DeadlineCoversTheWholeExchange) {
  // The client answers promptly each time but never finishes: the deadline
  // is for the whole startup, not per read.
  auto start = std::chrono::steady_clock::now();
  std::string answers;
  auto o = RunInteractive(
      [&answers](int fd) {
        WriteAll(fd, CodePacket(kSslRequestCode));
        if (ReadN(fd, 1).size() == 1) answers += 'N';
        std::this_thread::sleep_for(100ms);
        WriteAll(fd, CodePacket(kGssEncRequestCode));
        if (ReadN(fd, 1).size() == 1) answers += 'N';
        ReadUntilEof(fd);  // then silence until the server gives up
      },
      In(300ms));
  EXPECT_EQ(answers, "NN");
  EXPECT_EQ(o.result.close_reason, CloseReason::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST_F(ProtocolStartup, PostmasterDeathAbortsTheWait) {
  auto death = MakePipe();
  std::thread postmaster([&] {
    std::this_thread::sleep_for(100ms);
    death.write.reset();
  });
  auto o = RunInteractive([](int) {}, In(20s), death.read.get());
  postmaster.join();
  EXPECT_EQ(o.result.kind, Kind::kClose);
  EXPECT_EQ(o.result.close_reason, CloseReason::kPostmasterDied);
  auto f = SingleFatal(o.reply);
  EXPECT_EQ(f['C'], "57P01");
  EXPECT_NE(ServerLog().find("unexpected postmaster exit"), std::string::npos);
}

// --- SendFatal --------------------------------------------------------------

TEST_F(ProtocolStartup, SendFatalSendsEveryField) {
  auto sp = MakeSocketPair();
  {
    Connection conn(std::move(sp.server));
    ASSERT_TRUE(SendFatal(conn, "57P03", "the database system is starting up", "d", "h").ok());
  }
  auto f = SingleFatal(ReadUntilEof(sp.client.get()));
  EXPECT_EQ(f['C'], "57P03");
  EXPECT_EQ(f['M'], "the database system is starting up");
  EXPECT_EQ(f['D'], "d");
  EXPECT_EQ(f['H'], "h");
}

TEST_F(ProtocolStartup, SendFatalToAGoneClientFails) {
  auto sp = MakeSocketPair();
  sp.client.reset();
  Connection conn(std::move(sp.server));
  EXPECT_FALSE(SendFatal(conn, "08P01", "x").ok());
}

// --- A real client ----------------------------------------------------------

TEST_F(ProtocolStartup, RealPsqlClient) {
  const char* psql = "/usr/bin/psql";
  if (access(psql, X_OK) != 0) GTEST_SKIP() << "psql not installed";

  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener.get(), 4), 0);
  socklen_t alen = sizeof addr;
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &alen), 0);
  int port = ntohs(addr.sin_port);

  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) +
                         " user=alice dbname=shop application_name=bgw_unit_test"
                         " options='-c work_mem=64kB' connect_timeout=10";
  std::string out_path = dir_ + "/psql.out";
  std::string home = "HOME=" + dir_;
  std::vector<std::string> args = {psql, "-X", "-w", "-d", conninfo, "-c", "select 1"};
  std::vector<std::string> envs = {"PATH=/usr/bin:/bin", home, "LC_ALL=C", "PGSSLMODE=prefer"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, psql, &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);

  pollfd p{listener.get(), POLLIN, 0};
  int ready = poll(&p, 1, 10000);
  UniqueFd accepted;
  if (ready == 1) accepted.reset(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  listener.reset();  // a retry by the client is refused, not left hanging
  StartupResult r;
  if (accepted.valid()) {
    Connection conn(std::move(accepted));
    r = ProcessStartupPacket(conn, {In(10s)});
    if (r.kind == Kind::kStartup) {
      EXPECT_TRUE(SendFatal(conn, "28000", "bgw unit test refuses \"alice\"").ok());
    }
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  std::ifstream in(out_path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string output = ss.str();

  ASSERT_EQ(ready, 1) << "psql never connected: " << output;
  ASSERT_EQ(r.kind, Kind::kStartup) << output;
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.database, "shop");
  EXPECT_EQ(r.application_name, "bgw_unit_test");
  EXPECT_EQ(r.options, "-c work_mem=64kB");
  EXPECT_NE(output.find("bgw unit test refuses \"alice\""), std::string::npos) << output;
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0);
}

}  // namespace
}  // namespace bgw::protocol
