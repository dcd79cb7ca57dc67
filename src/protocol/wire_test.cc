// Unit tests for wire.h: exact bytes of the messages we build, a reader that
// refuses to run past the end, and a Connection over a socketpair that honours
// deadlines, the postmaster-death fd, EINTR and a vanished peer.
#include "protocol/wire.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "protocol/wire_testing.h"

namespace bgw::protocol {
namespace {

using namespace std::chrono_literals;
using test_util::Bytes;
using test_util::MakePipe;
using test_util::MakeSocketPair;
using test_util::ParseErrorFields;
using test_util::ReadN;
using test_util::ServerMessage;
using test_util::SplitMessages;
using test_util::WriteAll;

Bytes BufferOf(const MessageWriter& w) { return Bytes(w.Buffer().begin(), w.Buffer().end()); }

Deadline In(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

// --- MessageWriter --------------------------------------------------------

TEST(ProtocolWireWriter, AuthenticationOkBytes) {
  MessageWriter w;
  w.AuthenticationOk();
  EXPECT_EQ(BufferOf(w), (Bytes{'R', 0, 0, 0, 8, 0, 0, 0, 0}));
}

TEST(ProtocolWireWriter, ReadyForQueryBytes) {
  MessageWriter w;
  w.ReadyForQuery('I');
  EXPECT_EQ(BufferOf(w), (Bytes{'Z', 0, 0, 0, 5, 'I'}));
}

TEST(ProtocolWireWriter, ParameterStatusBytes) {
  MessageWriter w;
  w.ParameterStatus("a", "bc");
  EXPECT_EQ(BufferOf(w), (Bytes{'S', 0, 0, 0, 9, 'a', 0, 'b', 'c', 0}));
}

TEST(ProtocolWireWriter, BackendKeyDataIsBigEndian) {
  MessageWriter w;
  w.BackendKeyData(0x01020304, 0xfffffffe);
  EXPECT_EQ(BufferOf(w), (Bytes{'K', 0, 0, 0, 12, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfe}));
}

TEST(ProtocolWireWriter, IntegersAndBytes) {
  MessageWriter w;
  w.Begin('x');
  w.Int8(0xab);
  w.Int16(-2);
  w.Int32(-0x12345678);
  const uint8_t raw[] = {9, 8};
  w.Bytes(raw);
  w.End();
  EXPECT_EQ(BufferOf(w), (Bytes{'x', 0, 0, 0, 4 + 1 + 2 + 4 + 2, 0xab, 0xff, 0xfe, 0xed, 0xcb, 0xa9,
                                0x88, 9, 8}));
}

TEST(ProtocolWireWriter, SeveralMessagesAndRawBytesShareTheBuffer) {
  MessageWriter w;
  w.Int8('N');  // outside any message, as the answer to an SSLRequest
  w.ReadyForQuery('T');
  w.ReadyForQuery('E');
  EXPECT_EQ(BufferOf(w), (Bytes{'N', 'Z', 0, 0, 0, 5, 'T', 'Z', 0, 0, 0, 5, 'E'}));
  w.Clear();
  EXPECT_TRUE(w.empty());
}

TEST(ProtocolWireWriter, UntypedMessageCountsOnlyItsLengthWord) {
  MessageWriter w;
  w.BeginUntyped();
  w.Int32(196608);
  w.End();
  EXPECT_EQ(BufferOf(w), (Bytes{0, 0, 0, 8, 0, 3, 0, 0}));
}

TEST(ProtocolWireWriter, StringCutAtEmbeddedNulKeepsFraming) {
  MessageWriter w;
  w.ParameterStatus(std::string_view("a\0b", 3), "c");
  EXPECT_EQ(BufferOf(w), (Bytes{'S', 0, 0, 0, 8, 'a', 0, 'c', 0}));
}

TEST(ProtocolWireWriter, ErrorResponseFields) {
  MessageWriter w;
  w.ErrorResponse({"FATAL", "28000", "no user", "some detail", "a hint"});
  std::vector<ServerMessage> msgs;
  ASSERT_TRUE(SplitMessages(BufferOf(w), &msgs));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 'E');
  auto f = ParseErrorFields(msgs[0].body);
  EXPECT_EQ(f['S'], "FATAL");
  EXPECT_EQ(f['V'], "FATAL");
  EXPECT_EQ(f['C'], "28000");
  EXPECT_EQ(f['M'], "no user");
  EXPECT_EQ(f['D'], "some detail");
  EXPECT_EQ(f['H'], "a hint");
  EXPECT_EQ(f.size(), 6u);
}

TEST(ProtocolWireWriter, NoticeOmitsEmptyDetailAndHint) {
  MessageWriter w;
  w.NoticeResponse({"NOTICE", "00000", "hello", "", ""});
  std::vector<ServerMessage> msgs;
  ASSERT_TRUE(SplitMessages(BufferOf(w), &msgs));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 'N');
  auto f = ParseErrorFields(msgs[0].body);
  EXPECT_EQ(f.size(), 4u);
  EXPECT_EQ(f.count('D'), 0u);
  EXPECT_EQ(f.count('H'), 0u);
  EXPECT_EQ(f['M'], "hello");
}

TEST(ProtocolWireWriter, NegotiateProtocolVersion) {
  MessageWriter w;
  std::vector<std::string> opts = {"_pq_.a", "_pq_.b"};
  w.NegotiateProtocolVersion(196608, opts);
  std::vector<ServerMessage> msgs;
  ASSERT_TRUE(SplitMessages(BufferOf(w), &msgs));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 'v');
  MessageReader r(msgs[0].body);
  EXPECT_EQ(*r.Int32(), 196608);
  EXPECT_EQ(*r.Int32(), 2);
  EXPECT_EQ(*r.String(), "_pq_.a");
  EXPECT_EQ(*r.String(), "_pq_.b");
  EXPECT_TRUE(r.ExpectEnd().ok());
}

TEST(ProtocolWireWriterDeathTest, EndWithoutBeginAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MessageWriter w;
  EXPECT_DEATH(w.End(), "End without Begin");
}

TEST(ProtocolWireWriterDeathTest, NestedBeginAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MessageWriter w;
  w.Begin('a');
  EXPECT_DEATH(w.Begin('b'), "inside an open message");
}

// --- MessageReader --------------------------------------------------------

TEST(ProtocolWireReader, ReadsEveryType) {
  const Bytes body = {0x7f, 0xff, 0xfe, 0x80, 0, 0, 1, 'h', 'i', 0, 5, 6};
  MessageReader r(body);
  EXPECT_EQ(*r.Int8(), 0x7f);
  EXPECT_EQ(*r.Int16(), -2);
  EXPECT_EQ(*r.Int32(), static_cast<int32_t>(0x80000001));
  EXPECT_EQ(*r.String(), "hi");
  auto b = r.Bytes(2);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Bytes(b->begin(), b->end()), (Bytes{5, 6}));
  EXPECT_EQ(r.Remaining(), 0u);
  EXPECT_TRUE(r.ExpectEnd().ok());
}

TEST(ProtocolWireReader, RefusesToReadPastTheEnd) {
  const Bytes body = {1, 2, 3};
  MessageReader r(body);
  auto i32 = r.Int32();
  ASSERT_FALSE(i32.ok());
  EXPECT_EQ(i32.status().message(), "insufficient data left in message");
  EXPECT_EQ(r.Remaining(), 3u);  // a failed read consumes nothing
  EXPECT_FALSE(r.Bytes(4).ok());
  EXPECT_EQ(r.Remaining(), 3u);
  EXPECT_EQ(*r.Int16(), 0x0102);
  EXPECT_FALSE(r.Int16().ok());
  EXPECT_EQ(*r.Int8(), 3);
  EXPECT_FALSE(r.Int8().ok());
  EXPECT_FALSE(r.Int16().ok());
  EXPECT_FALSE(r.Int32().ok());
  EXPECT_FALSE(r.String().ok());
  EXPECT_FALSE(r.Bytes(1).ok());
  EXPECT_TRUE(r.Bytes(0).ok());
  EXPECT_TRUE(r.ExpectEnd().ok());
}

TEST(ProtocolWireReader, HugeByteCountDoesNotOverflow) {
  const Bytes body = {1, 2};
  MessageReader r(body);
  ASSERT_TRUE(r.Int8().ok());
  EXPECT_FALSE(r.Bytes(SIZE_MAX).ok());
  EXPECT_FALSE(r.Bytes(SIZE_MAX - 1).ok());
  EXPECT_EQ(r.Remaining(), 1u);
}

TEST(ProtocolWireReader, StringWithoutTerminatorIsAnError) {
  const Bytes body = {'a', 'b', 'c'};
  MessageReader r(body);
  auto s = r.String();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "invalid string in message");
  EXPECT_EQ(r.Remaining(), 3u);
}

TEST(ProtocolWireReader, EmptyBody) {
  MessageReader r(std::span<const uint8_t>{});
  EXPECT_FALSE(r.Int8().ok());
  EXPECT_FALSE(r.String().ok());
  EXPECT_TRUE(r.ExpectEnd().ok());
}

TEST(ProtocolWireReader, ExpectEndReportsTrailingBytes) {
  const Bytes body = {0, 0};
  MessageReader r(body);
  ASSERT_TRUE(r.String().ok());  // the empty string
  Status st = r.ExpectEnd();
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "invalid message format");
}

// --- Connection -----------------------------------------------------------

TEST(ProtocolWireConnection, ReadExactAssemblesSeveralSends) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  std::thread client([fd = sp.client.get()] {
    for (uint8_t b = 1; b <= 6; b++) {
      WriteAll(fd, Bytes{b});
      std::this_thread::sleep_for(5ms);
    }
  });
  uint8_t buf[6] = {};
  Status st = conn.ReadExact(buf, sizeof buf, In(5s));
  client.join();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(Bytes(buf, buf + 6), (Bytes{1, 2, 3, 4, 5, 6}));
}

TEST(ProtocolWireConnection, BuffersBeyondTheCurrentRead) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  WriteAll(sp.client.get(), Bytes{1, 2, 3, 4, 5});
  uint8_t buf[2];
  ASSERT_TRUE(conn.ReadExact(buf, 2, kNoDeadline).ok());
  EXPECT_EQ(conn.BufferedInput(), 3u);
  uint8_t rest[3];
  ASSERT_TRUE(conn.ReadExact(rest, 3, kNoDeadline).ok());
  EXPECT_EQ(rest[2], 5);
  EXPECT_EQ(conn.BufferedInput(), 0u);
}

TEST(ProtocolWireConnection, ReadLargerThanTheBuffer) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  Bytes data(100000);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 7);
  std::thread client([&] { WriteAll(sp.client.get(), data); });
  Bytes got(data.size());
  Status st = conn.ReadExact(got.data(), got.size(), In(10s));
  client.join();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(got, data);
}

TEST(ProtocolWireConnection, EofIsReported) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  WriteAll(sp.client.get(), Bytes{1});
  sp.client.reset();
  uint8_t buf[2];
  Status st = conn.ReadExact(buf, 2, In(5s));
  EXPECT_EQ(IoCodeOf(st), IoCode::kEof);
}

TEST(ProtocolWireConnection, DeadlineEndsAWait) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  auto start = std::chrono::steady_clock::now();
  uint8_t buf[1];
  Status st = conn.ReadExact(buf, 1, In(100ms));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(IoCodeOf(st), IoCode::kTimeout);
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(ProtocolWireConnection, PastDeadlineStillReturnsDataAlreadyThere) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  WriteAll(sp.client.get(), Bytes{42});
  uint8_t b = 0;
  Status st = conn.ReadExact(&b, 1, std::chrono::steady_clock::now() - 1s);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(b, 42);
  EXPECT_EQ(IoCodeOf(conn.ReadExact(&b, 1, std::chrono::steady_clock::now() - 1s)),
            IoCode::kTimeout);
}

TEST(ProtocolWireConnection, DeathPipeHangupAbortsABlockedRead) {
  auto sp = MakeSocketPair();
  auto death = MakePipe();
  Connection conn(std::move(sp.server), death.read.get());
  std::thread postmaster([&] {
    std::this_thread::sleep_for(100ms);
    death.write.reset();  // the postmaster exits: its write end closes
  });
  auto start = std::chrono::steady_clock::now();
  uint8_t buf[1];
  Status st = conn.ReadExact(buf, 1, In(10s));
  postmaster.join();
  EXPECT_EQ(IoCodeOf(st), IoCode::kPostmasterDied);
  EXPECT_EQ(st.message(), "postmaster died");
  EXPECT_FALSE(st.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(ProtocolWireConnection, DeathPipeReadableAbortsABlockedRead) {
  auto sp = MakeSocketPair();
  auto death = MakePipe();
  Connection conn(std::move(sp.server), death.read.get());
  std::thread postmaster([&] {
    std::this_thread::sleep_for(50ms);
    char c = 'x';
    ASSERT_EQ(write(death.write.get(), &c, 1), 1);
  });
  uint8_t buf[1];
  Status st = conn.ReadExact(buf, 1, kNoDeadline);
  postmaster.join();
  EXPECT_EQ(IoCodeOf(st), IoCode::kPostmasterDied);
}

TEST(ProtocolWireConnection, DataAlreadyReceivedWinsOverDeath) {
  auto sp = MakeSocketPair();
  auto death = MakePipe();
  death.write.reset();
  Connection conn(std::move(sp.server), death.read.get());
  WriteAll(sp.client.get(), Bytes{7});
  uint8_t b = 0;
  ASSERT_TRUE(conn.ReadExact(&b, 1, kNoDeadline).ok());
  EXPECT_EQ(b, 7);
  EXPECT_EQ(IoCodeOf(conn.ReadExact(&b, 1, kNoDeadline)), IoCode::kPostmasterDied);
}

std::atomic<int> g_signals{0};
void CountSignal(int) { g_signals.fetch_add(1); }

TEST(ProtocolWireConnection, SignalsDuringAWaitAreRetried) {
  struct sigaction sa = {}, old = {};
  sa.sa_handler = CountSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: ppoll fails with EINTR
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  g_signals = 0;

  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  pthread_t reader = pthread_self();
  std::thread client([&] {
    for (int i = 0; i < 3; i++) {
      std::this_thread::sleep_for(30ms);
      pthread_kill(reader, SIGUSR2);
    }
    std::this_thread::sleep_for(30ms);
    WriteAll(sp.client.get(), Bytes{1, 2});
  });
  uint8_t buf[2];
  Status st = conn.ReadExact(buf, 2, In(10s));
  client.join();
  sigaction(SIGUSR2, &old, nullptr);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(g_signals.load(), 3);
}

TEST(ProtocolWireConnection, SignalsDoNotExtendADeadline) {
  struct sigaction sa = {}, old = {};
  sa.sa_handler = CountSignal;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  pthread_t reader = pthread_self();
  std::atomic<bool> stop{false};
  std::thread pest([&] {
    while (!stop) {
      pthread_kill(reader, SIGUSR2);
      std::this_thread::sleep_for(10ms);
    }
  });
  auto start = std::chrono::steady_clock::now();
  uint8_t b;
  Status st = conn.ReadExact(&b, 1, In(150ms));
  auto elapsed = std::chrono::steady_clock::now() - start;
  stop = true;
  pest.join();
  sigaction(SIGUSR2, &old, nullptr);
  EXPECT_EQ(IoCodeOf(st), IoCode::kTimeout);
  EXPECT_LT(elapsed, 2s);
}

TEST(ProtocolWireConnection, FlushSendsEverythingAndEmptiesTheBuffer) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  // Far more than a socket buffer holds: Flush must wait for the reader.
  Bytes payload(2 << 20);
  for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<uint8_t>(i % 251);
  conn.Out().Begin('d');
  conn.Out().Bytes(payload);
  conn.Out().End();
  Bytes got;
  std::thread client([&] { got = ReadN(sp.client.get(), payload.size() + 5); });
  Status st = conn.Flush(In(20s));
  client.join();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(conn.Out().empty());
  ASSERT_EQ(got.size(), payload.size() + 5);
  EXPECT_EQ(got[0], 'd');
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), got.begin() + 5));
}

TEST(ProtocolWireConnection, FlushToAVanishedClientIsAnErrorNotSigpipe) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  sp.client.reset();
  conn.Out().ReadyForQuery('I');
  Status st = conn.Flush();
  EXPECT_EQ(IoCodeOf(st), IoCode::kError);
  EXPECT_EQ(st.sys_errno(), EPIPE);
  EXPECT_NE(st.message().find("could not send data to client"), std::string::npos);
  EXPECT_TRUE(conn.Out().empty());
}

TEST(ProtocolWireConnection, FlushHonoursItsDeadline) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  conn.Out().Bytes(Bytes(4 << 20));  // nobody reads: the socket fills up
  Status st = conn.Flush(In(100ms));
  EXPECT_EQ(IoCodeOf(st), IoCode::kTimeout);
  EXPECT_TRUE(conn.Out().empty());
}

TEST(ProtocolWireConnection, FlushBlockedOnAFullSocketNoticesDeath) {
  auto sp = MakeSocketPair();
  auto death = MakePipe();
  Connection conn(std::move(sp.server), death.read.get());
  conn.Out().Bytes(Bytes(4 << 20));
  std::thread postmaster([&] {
    std::this_thread::sleep_for(50ms);
    death.write.reset();
  });
  Status st = conn.Flush();
  postmaster.join();
  EXPECT_EQ(IoCodeOf(st), IoCode::kPostmasterDied);
}

Bytes TypedMessage(char type, uint32_t length_word, Bytes body) {
  MessageWriter w;
  w.Int8(static_cast<uint8_t>(type));
  w.Int32(static_cast<int32_t>(length_word));
  w.Bytes(body);
  return BufferOf(w);
}

TEST(ProtocolWireConnection, ReadMessage) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  WriteAll(sp.client.get(),
           test_util::Concat({TypedMessage('Q', 4 + 3, {'a', 'b', 0}), TypedMessage('S', 4, {})}));
  FrontendMessage m;
  ASSERT_TRUE(conn.ReadMessage(&m, 100, In(5s)).ok());
  EXPECT_EQ(m.type, 'Q');
  EXPECT_EQ(m.body, (Bytes{'a', 'b', 0}));
  ASSERT_TRUE(conn.ReadMessage(&m, 100, In(5s)).ok());
  EXPECT_EQ(m.type, 'S');
  EXPECT_TRUE(m.body.empty());
}

TEST(ProtocolWireConnection, ReadMessageRejectsBadLengths) {
  for (uint32_t bad : {0u, 3u, 4u + 101u, 0xffffffffu}) {
    auto sp = MakeSocketPair();
    Connection conn(std::move(sp.server));
    WriteAll(sp.client.get(), TypedMessage('Q', bad, {}));
    FrontendMessage m;
    Status st = conn.ReadMessage(&m, 100, In(5s));
    EXPECT_EQ(IoCodeOf(st), IoCode::kProtocolViolation) << bad;
    EXPECT_EQ(st.message(), "invalid message length");
  }
}

TEST(ProtocolWireConnection, ReadMessageTruncated) {
  {
    auto sp = MakeSocketPair();
    Connection conn(std::move(sp.server));
    WriteAll(sp.client.get(), Bytes{'Q', 0, 0});
    sp.client.reset();
    FrontendMessage m;
    Status st = conn.ReadMessage(&m, 100, In(5s));
    EXPECT_EQ(IoCodeOf(st), IoCode::kEof);
    EXPECT_EQ(st.message(), "unexpected EOF within message length word");
  }
  {
    auto sp = MakeSocketPair();
    Connection conn(std::move(sp.server));
    WriteAll(sp.client.get(), TypedMessage('Q', 10, {'a'}));
    sp.client.reset();
    FrontendMessage m;
    Status st = conn.ReadMessage(&m, 100, In(5s));
    EXPECT_EQ(IoCodeOf(st), IoCode::kEof);
    EXPECT_EQ(st.message(), "incomplete message from client");
  }
}

std::optional<size_t> SmallLimitForS(char type) {
  if (type == 'Q') return 100;
  if (type == 'S') return 0;
  return std::nullopt;
}

TEST(ProtocolWireConnection, ReadMessageWithPerTypeLimits) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  WriteAll(sp.client.get(), test_util::Concat({TypedMessage('Q', 4 + 3, {'a', 'b', 0}),
                                               TypedMessage('S', 4 + 1, {'x'})}));
  FrontendMessage m;
  ASSERT_TRUE(conn.ReadMessage(&m, SmallLimitForS, In(5s)).ok());
  EXPECT_EQ(m.type, 'Q');
  Status st = conn.ReadMessage(&m, SmallLimitForS, In(5s));
  EXPECT_EQ(IoCodeOf(st), IoCode::kProtocolViolation);
  EXPECT_EQ(st.message(), "invalid message length");
}

TEST(ProtocolWireConnection, ReadMessageRejectsUnknownTypeBeforeItsLength) {
  auto sp = MakeSocketPair();
  Connection conn(std::move(sp.server));
  // Only the type byte arrives: the verdict must not wait for the length.
  WriteAll(sp.client.get(), Bytes{'z'});
  FrontendMessage m;
  Status st = conn.ReadMessage(&m, SmallLimitForS, In(5s));
  EXPECT_EQ(IoCodeOf(st), IoCode::kProtocolViolation);
  EXPECT_EQ(st.message(), "invalid frontend message type 122");
  EXPECT_EQ(m.type, 'z');
}

TEST(ProtocolWireWriter, RowDescriptionBytes) {
  MessageWriter w;
  FieldDescription f;
  f.name = "ab";
  f.table_oid = 0x01020304;
  f.attnum = 2;
  f.type_oid = 23;
  f.type_len = 4;
  f.type_mod = -1;
  f.format = 1;
  w.RowDescription(std::span(&f, 1));
  EXPECT_EQ(BufferOf(w), (Bytes{'T', 0, 0, 0, 27, 0,  1, 'a', 'b',  0,    1,    2,    3, 4,
                                0,   2, 0, 0, 0,  23, 0, 4,   0xff, 0xff, 0xff, 0xff, 0, 1}));
}

TEST(ProtocolWireWriter, DataRowWithNullAndEmpty) {
  MessageWriter w;
  std::vector<std::optional<std::string>> row = {std::string("hi"), std::nullopt, std::string()};
  w.DataRow(row);
  EXPECT_EQ(BufferOf(w), (Bytes{'D', 0,   0,    0,    20,   0,    3, 0, 0, 0, 2,
                                'h', 'i', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}));
}

TEST(ProtocolWireWriter, QueryCycleMessages) {
  MessageWriter w;
  w.CommandComplete("SELECT 1");
  w.EmptyQueryResponse();
  w.ParseComplete();
  w.BindComplete();
  w.CloseComplete();
  w.NoData();
  w.PortalSuspended();
  Bytes want = {'C', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0};
  for (char t : {'I', '1', '2', '3', 'n', 's'}) {
    want.insert(want.end(), {static_cast<uint8_t>(t), 0, 0, 0, 4});
  }
  EXPECT_EQ(BufferOf(w), want);
}

TEST(ProtocolWireWriter, ParameterDescriptionAndNotification) {
  MessageWriter w;
  std::vector<uint32_t> types = {23, 25};
  w.ParameterDescription(types);
  w.NotificationResponse(7, "ch", "p");
  EXPECT_EQ(BufferOf(w), (Bytes{'t', 0, 0, 0, 14, 0, 2, 0, 0, 0,   23,  0, 0,   0, 25,  //
                                'A', 0, 0, 0, 13, 0, 0, 0, 7, 'c', 'h', 0, 'p', 0}));
}

}  // namespace
}  // namespace bgw::protocol
