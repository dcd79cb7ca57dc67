// libpq/pqformat.h: what is sent reads back the same, in network byte
// order, and reading past the end or a string without its NUL is 08P01.
#include <gtest/gtest.h>

#include <cstring>

#include "compat/compat_testing.h"
// After gtest: c.h's Max/Min macros would break its headers.
#include "postgres/libpq/pqformat.h"

namespace {

using bgw::compat::testing::CatchError;
using bgw::compat::testing::CaughtError;

TEST(PqFormatTest, RoundTripsInNetworkOrder) {
  StringInfoData buf;
  pq_beginmessage(&buf, 'D');
  EXPECT_EQ(buf.cursor, 'D');
  pq_sendint32(&buf, 0x01020304);
  EXPECT_EQ(std::memcmp(buf.data, "\x01\x02\x03\x04", 4), 0);
  pq_sendint16(&buf, 0xBEEF);
  pq_sendbyte(&buf, 7);
  pq_sendint64(&buf, 0x0102030405060708ULL);
  pq_sendstring(&buf, "hello");
  pq_sendfloat8(&buf, 2.5);
  pq_sendfloat4(&buf, -1.25f);
  pq_sendcountedtext(&buf, "abc", 3, false);
  pq_send_ascii_string(&buf, "caf\xc3\xa9");
  buf.cursor = 0;
  EXPECT_EQ(pq_getmsgint(&buf, 4), 0x01020304u);
  EXPECT_EQ(pq_getmsgint(&buf, 2), 0xBEEFu);
  EXPECT_EQ(pq_getmsgbyte(&buf), 7);
  EXPECT_EQ(pq_getmsgint64(&buf), 0x0102030405060708LL);
  EXPECT_STREQ(pq_getmsgstring(&buf), "hello");
  EXPECT_EQ(pq_getmsgfloat8(&buf), 2.5);
  EXPECT_EQ(pq_getmsgfloat4(&buf), -1.25f);
  int n = 0;
  ASSERT_EQ(pq_getmsgint(&buf, 4), 3u);
  EXPECT_STREQ(pq_getmsgtext(&buf, 3, &n), "abc");
  EXPECT_EQ(n, 3);
  EXPECT_STREQ(pq_getmsgrawstring(&buf), "caf??");
  pq_getmsgend(&buf);
}

TEST(PqFormatTest, TypsendMakesABytea) {
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendint32(&buf, 42);
  bytea* b = pq_endtypsend(&buf);
  EXPECT_EQ(VARSIZE(b), static_cast<uint32>(VARHDRSZ + 4));
}

TEST(PqFormatTest, ShortOrMalformedMessagesAreProtocolViolations) {
  StringInfoData buf;
  pq_beginmessage(&buf, 'X');
  pq_sendint16(&buf, 1);
  pq_sendbytes(&buf, "no-nul", 6);
  buf.cursor = 2;  // six bytes left
  CaughtError e = CatchError([&] { pq_getmsgint64(&buf); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.sqlstate, "08P01");
  EXPECT_EQ(e.message, "insufficient data left in message");
  buf.cursor = 2;
  e = CatchError([&] { pq_getmsgstring(&buf); });
  EXPECT_EQ(e.message, "invalid string in message");
  buf.cursor = 0;
  e = CatchError([&] { pq_getmsgend(&buf); });
  EXPECT_EQ(e.message, "invalid message format");
}

}  // namespace
