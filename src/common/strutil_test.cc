// Tests of the string helpers: printf formatting on both sides of the
// internal 256-byte buffer, trimming, splitting and ASCII case folding.
#include "common/strutil.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bgw {
namespace {

TEST(StrutilTest, StringPrintfFormatsShortStrings) {
  EXPECT_EQ(StringPrintf("%s-%d-%05.1f", "a", 42, 3.14159), "a-42-003.1");
  EXPECT_EQ(StringPrintf("%s", ""), "");
  EXPECT_EQ(StringPrintf("100%%"), "100%");
}

// 255 characters fit the stack buffer with its NUL; 256 and more take the
// second formatting pass, which must produce the same text.
TEST(StrutilTest, StringPrintfAroundTheStackBufferSize) {
  for (size_t n : {size_t{254}, size_t{255}, size_t{256}, size_t{257}, size_t{5000}}) {
    std::string arg(n, 'x');
    arg[0] = 'A';
    arg[n - 1] = 'Z';
    std::string out = StringPrintf("<%s>", arg.c_str());
    ASSERT_EQ(out.size(), n + 2) << "n=" << n;
    EXPECT_EQ(out, "<" + arg + ">") << "n=" << n;
  }
}

TEST(StrutilTest, StringPrintfKeepsEmbeddedNulFromPercentC) {
  std::string out = StringPrintf("a%cb", '\0');
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1], '\0');
  EXPECT_EQ(out[2], 'b');
}

TEST(StrutilTest, TrimRemovesAllAsciiWhitespaceOnBothEnds) {
  EXPECT_EQ(Trim("  a b  "), "a b");
  EXPECT_EQ(Trim("\t\r\n\f\vx\t\r\n\f\v"), "x");
  EXPECT_EQ(Trim("x"), "x");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim(" \t\n "), "");
  EXPECT_EQ(Trim("a  "), "a");
  EXPECT_EQ(Trim("  a"), "a");
}

TEST(StrutilTest, SplitTrimmedTrimsPiecesAndKeepsEmptyOnes) {
  EXPECT_EQ(SplitTrimmed(" a , b ,,c ", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(SplitTrimmed("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(SplitTrimmed(",", ','), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(SplitTrimmed("one", ','), (std::vector<std::string>{"one"}));
  EXPECT_EQ(SplitTrimmed("a:b", ','), (std::vector<std::string>{"a:b"}));
  EXPECT_EQ(SplitTrimmed("a:b:", ':'), (std::vector<std::string>{"a", "b", ""}));
}

TEST(StrutilTest, StartsWith) {
  EXPECT_TRUE(StartsWith("bgw: postmaster", "bgw: "));
  EXPECT_TRUE(StartsWith("abc", ""));
  EXPECT_TRUE(StartsWith("abc", "abc"));
  EXPECT_FALSE(StartsWith("ab", "abc"));
  EXPECT_FALSE(StartsWith("abc", "abd"));
  EXPECT_FALSE(StartsWith("", "a"));
}

TEST(StrutilTest, EqualsIgnoreCaseFoldsAsciiOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("Warning", "wARNING"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_TRUE(EqualsIgnoreCase("a1_Z", "A1_z"));
  EXPECT_FALSE(EqualsIgnoreCase("log", "logs"));
  EXPECT_FALSE(EqualsIgnoreCase("logs", "log"));
  EXPECT_FALSE(EqualsIgnoreCase("log", "lug"));
  // '[' and '{' are 0x20 apart like letters, but are not letters.
  EXPECT_FALSE(EqualsIgnoreCase("[", "{"));
  // Bytes outside ASCII compare exactly.
  EXPECT_FALSE(EqualsIgnoreCase("\xc3\xa9", "\xc3\x89"));
  EXPECT_TRUE(EqualsIgnoreCase("\xc3\xa9", "\xc3\xa9"));
}

}  // namespace
}  // namespace bgw
