// Tests of lib/stringinfo.h: growth, binary data, and the size limit.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "compat/compat_testing.h"
#include "postgres/lib/stringinfo.h"
#include "postgres/postgres.h"
#include "postgres/utils/memutils.h"

namespace {

using bgw::compat::testing::CatchError;
using bgw::compat::testing::CaughtError;

class CompatStringInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = AllocSetContextCreate(TopMemoryContext, "stringinfo", ALLOCSET_DEFAULT_SIZES);
    old_ = MemoryContextSwitchTo(context_);
  }
  void TearDown() override {
    MemoryContextSwitchTo(old_);
    MemoryContextDelete(context_);
  }
  MemoryContext context_ = nullptr;
  MemoryContext old_ = nullptr;
};

TEST_F(CompatStringInfoTest, GrowsAndStaysInItsContext) {
  StringInfoData buf;
  initStringInfo(&buf);
  EXPECT_EQ(buf.len, 0);
  EXPECT_STREQ(buf.data, "");
  const int initial = buf.maxlen;
  MemoryContextSwitchTo(TopMemoryContext);  // growth must not move the buffer
  std::string expected;
  for (int i = 0; i < 5000; i++) {
    appendStringInfo(&buf, "%d,", i);
    expected += std::to_string(i) + ",";
  }
  MemoryContextSwitchTo(context_);
  EXPECT_EQ(buf.len, static_cast<int>(expected.size()));
  EXPECT_EQ(std::string(buf.data), expected);
  EXPECT_GT(buf.maxlen, initial);
  EXPECT_GT(buf.maxlen, buf.len);
  EXPECT_EQ(GetMemoryChunkContext(buf.data), context_);
}

TEST_F(CompatStringInfoTest, OneLongFormattedAppend) {
  StringInfo str = makeStringInfo();
  std::string big(10000, 'q');
  appendStringInfo(str, "<%s>", big.c_str());
  EXPECT_EQ(str->len, 10002);
  EXPECT_EQ(std::string(str->data), "<" + big + ">");
  errno = ENOENT;
  resetStringInfo(str);
  appendStringInfo(str, "%m");
  EXPECT_STREQ(str->data, "No such file or directory");
}

TEST_F(CompatStringInfoTest, CharsSpacesAndBinary) {
  StringInfoData buf;
  initStringInfo(&buf);
  appendStringInfoChar(&buf, 'a');
  appendStringInfoCharMacro(&buf, 'b');
  appendStringInfoSpaces(&buf, 3);
  appendStringInfoString(&buf, "c");
  EXPECT_STREQ(buf.data, "ab   c");
  appendBinaryStringInfo(&buf, "x\0y", 3);
  EXPECT_EQ(buf.len, 9);
  EXPECT_EQ(memcmp(buf.data + 6, "x\0y", 3), 0);
  EXPECT_EQ(buf.data[9], '\0');
  buf.data[9] = '!';
  appendBinaryStringInfoNT(&buf, "zz", 2);
  EXPECT_EQ(buf.len, 11);
  for (int i = 0; i < 3000; i++) appendStringInfoCharMacro(&buf, 'm');
  EXPECT_EQ(buf.len, 3011);
  EXPECT_EQ(buf.data[buf.len], '\0');
  buf.cursor = 5;
  resetStringInfo(&buf);
  EXPECT_EQ(buf.len, 0);
  EXPECT_EQ(buf.cursor, 0);
  EXPECT_STREQ(buf.data, "");
}

TEST_F(CompatStringInfoTest, EnlargingPastTheLimitIsAnError) {
  StringInfoData buf;
  initStringInfo(&buf);
  appendStringInfoString(&buf, "abc");
  CaughtError e = CatchError([&] { enlargeStringInfo(&buf, static_cast<int>(MaxAllocSize)); });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.sqlerrcode, ERRCODE_PROGRAM_LIMIT_EXCEEDED);
  EXPECT_EQ(e.message, "out of memory");
  EXPECT_EQ(e.detail, "Cannot enlarge string buffer containing 3 bytes by 1073741823 more bytes.");
  e = CatchError([&] { enlargeStringInfo(&buf, -1); });
  EXPECT_TRUE(e.raised);
  EXPECT_STREQ(buf.data, "abc");  // untouched
}

}  // namespace
