// Tests for PostgreSQL's text and binary value formats (value.h).
#include "sql/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace bgw::sql {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(SqlValueTest, TypeNames) {
  EXPECT_EQ(TypeOidFromName("INTEGER"), oid::kInt4);
  EXPECT_EQ(TypeOidFromName("int"), oid::kInt4);
  EXPECT_EQ(TypeOidFromName("bigint"), oid::kInt8);
  EXPECT_EQ(TypeOidFromName("varchar(20)"), oid::kVarchar);
  EXPECT_EQ(TypeOidFromName("character  varying(3)"), oid::kVarchar);
  EXPECT_EQ(TypeOidFromName("Double Precision"), oid::kFloat8);
  EXPECT_EQ(TypeOidFromName("numeric(10,2)"), oid::kNumeric);
  EXPECT_EQ(TypeOidFromName("boolean"), oid::kBool);
  EXPECT_EQ(TypeOidFromName("timestamp with time zone"), oid::kTimestamptz);
  EXPECT_EQ(TypeOidFromName("pg_catalog.int4"), oid::kInt4);
  EXPECT_EQ(TypeOidFromName("nosuchtype"), 0u);
  EXPECT_STREQ(TypeName(oid::kInt8), "int8");
  EXPECT_STREQ(TypeName(99999), "unknown");
  EXPECT_EQ(TypeLength(oid::kInt4), 4);
  EXPECT_EQ(TypeLength(oid::kText), -1);
}

TEST(SqlValueTest, TextOutput) {
  EXPECT_EQ(FormatText(Value::Int(1), oid::kBool), "t");
  EXPECT_EQ(FormatText(Value::Int(0), oid::kBool), "f");
  EXPECT_EQ(FormatText(Value::Int(-42), oid::kInt8), "-42");
  EXPECT_EQ(FormatText(Value::Real(0.1), oid::kFloat8), "0.1");
  EXPECT_EQ(FormatText(Value::Real(1.0 / 3), oid::kFloat8), "0.3333333333333333");
  EXPECT_EQ(FormatText(Value::Real(1e15), oid::kFloat8), "1e+15");
  EXPECT_EQ(FormatText(Value::Real(123456789012345.0), oid::kFloat8), "123456789012345");
  EXPECT_EQ(FormatText(Value::Real(0.0001), oid::kFloat8), "0.0001");
  EXPECT_EQ(FormatText(Value::Real(0.00001), oid::kFloat8), "1e-05");
  EXPECT_EQ(FormatText(Value::Real(2.5), oid::kFloat8), "2.5");
  EXPECT_EQ(FormatText(Value::Real(100), oid::kFloat8), "100");
  EXPECT_EQ(FormatText(Value::Real(std::numeric_limits<double>::infinity()), oid::kFloat8),
            "Infinity");
  EXPECT_EQ(FormatText(Value::Real(-std::numeric_limits<double>::infinity()), oid::kFloat8),
            "-Infinity");
  EXPECT_EQ(FormatText(Value::Real(std::nan("")), oid::kFloat8), "NaN");
  EXPECT_EQ(FormatText(Value::Int(3), oid::kFloat8), "3");
  EXPECT_EQ(FormatText(Value::Real(0.1f), oid::kFloat4), "0.1");
  EXPECT_EQ(FormatText(Value::Real(1.5), oid::kNumeric), "1.5");
  EXPECT_EQ(FormatText(Value::Real(1e20), oid::kNumeric), "100000000000000000000");
  EXPECT_EQ(FormatText(Value::Blob(Bytes({0xde, 0xad, 0x00})), oid::kBytea), "\\xdead00");
  EXPECT_EQ(FormatText(Value::Text("hi"), oid::kText), "hi");
  EXPECT_EQ(FormatText(Value::Real(2.0), oid::kText), "2");
}

TEST(SqlValueTest, TextInput) {
  EXPECT_EQ(ParseText(" 42 ", oid::kInt4)->i, 42);
  EXPECT_EQ(ParseText("-9223372036854775808", oid::kInt8)->i, std::numeric_limits<int64_t>::min());
  Result<Value> bad = ParseText("abc", oid::kInt4);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().sqlstate, "22P02");
  EXPECT_EQ(bad.error().message, "invalid input syntax for type integer: \"abc\"");
  Result<Value> big = ParseText("2147483648", oid::kInt4);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().sqlstate, "22003");
  EXPECT_EQ(big.error().message, "value \"2147483648\" is out of range for type integer");
  EXPECT_FALSE(ParseText("99999", oid::kInt2).ok());
  EXPECT_FALSE(ParseText("9223372036854775808", oid::kInt8).ok());
  EXPECT_FALSE(ParseText("", oid::kInt8).ok());
  EXPECT_FALSE(ParseText("1.5", oid::kInt4).ok());

  EXPECT_EQ(ParseText("yes", oid::kBool)->i, 1);
  EXPECT_EQ(ParseText("OFF", oid::kBool)->i, 0);
  EXPECT_EQ(ParseText("t", oid::kBool)->i, 1);
  EXPECT_EQ(ParseText("maybe", oid::kBool).error().message,
            "invalid input syntax for type boolean: \"maybe\"");
  EXPECT_FALSE(ParseText("o", oid::kBool).ok());

  EXPECT_DOUBLE_EQ(ParseText("1.5", oid::kFloat8)->d, 1.5);
  EXPECT_TRUE(std::isinf(ParseText("-Infinity", oid::kFloat8)->d));
  EXPECT_TRUE(std::isnan(ParseText("NaN", oid::kFloat8)->d));
  EXPECT_EQ(ParseText("x", oid::kFloat8).error().message,
            "invalid input syntax for type double precision: \"x\"");
  EXPECT_EQ(ParseText("1e999", oid::kFloat8).error().sqlstate, "22003");

  EXPECT_EQ(ParseText("12", oid::kNumeric)->kind, Value::Kind::kInt);
  EXPECT_DOUBLE_EQ(ParseText("-1.25e2", oid::kNumeric)->d, -125);
  EXPECT_EQ(ParseText("1.2.3", oid::kNumeric).error().sqlstate, "22P02");

  EXPECT_EQ(ParseText("\\x4142", oid::kBytea)->s, "AB");
  EXPECT_EQ(ParseText("a\\\\b\\001", oid::kBytea)->s, Bytes({'a', '\\', 'b', 1}));
  EXPECT_FALSE(ParseText("\\x414", oid::kBytea).ok());
  EXPECT_EQ(ParseText("4294967295", oid::kOid)->i, 4294967295LL);
  EXPECT_EQ(ParseText("abc", oid::kText)->s, "abc");
  EXPECT_EQ(ParseText("abc", 0)->kind, Value::Kind::kText);
}

TEST(SqlValueTest, BinaryRoundTrips) {
  EXPECT_EQ(*FormatBinary(Value::Int(1), oid::kInt4), Bytes({0, 0, 0, 1}));
  EXPECT_EQ(*FormatBinary(Value::Int(-2), oid::kInt2), Bytes({0xff, 0xfe}));
  EXPECT_EQ(*FormatBinary(Value::Int(1), oid::kBool), Bytes({1}));
  EXPECT_EQ(*FormatBinary(Value::Text("abc"), oid::kText), "abc");
  EXPECT_EQ(*FormatBinary(Value::Blob("\x01\x02"), oid::kBytea), "\x01\x02");
  EXPECT_EQ(ParseBinary(Span(Bytes({0, 0, 0, 0, 0, 0, 1, 0})), oid::kInt8)->i, 256);
  EXPECT_EQ(ParseBinary(Span(Bytes({0xff, 0xff, 0xff, 0xff})), oid::kInt4)->i, -1);
  EXPECT_EQ(ParseBinary(Span(Bytes({0xff, 0xff, 0xff, 0xff})), oid::kOid)->i, 4294967295LL);
  for (double d : {0.0, 1.5, -2.25e300, 1e-300}) {
    std::string b = *FormatBinary(Value::Real(d), oid::kFloat8);
    EXPECT_EQ(ParseBinary(Span(b), oid::kFloat8)->d, d);
  }
  std::string f4 = *FormatBinary(Value::Real(0.5), oid::kFloat4);
  EXPECT_EQ(f4, Bytes({0x3f, 0x00, 0x00, 0x00}));
  EXPECT_EQ(ParseBinary(Span(f4), oid::kFloat4)->d, 0.5);
  // Text values that are numbers in disguise are converted, not truncated.
  EXPECT_EQ(*FormatBinary(Value::Text("7"), oid::kInt8), Bytes({0, 0, 0, 0, 0, 0, 0, 7}));
  // Timestamps: microseconds since 2000-01-01.
  EXPECT_EQ(*FormatBinary(Value::Text("2000-01-01 00:00:01+00"), oid::kTimestamptz),
            Bytes({0, 0, 0, 0, 0, 0x0f, 0x42, 0x40}));
  EXPECT_EQ(ParseBinary(Span(Bytes({0, 0, 0, 0, 0, 0x0f, 0x42, 0x40})), oid::kTimestamptz)->s,
            "2000-01-01 00:00:01+00");
}

TEST(SqlValueTest, BinaryErrors) {
  Result<std::string> r = FormatBinary(Value::Text("abc"), oid::kInt4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sqlstate, "22P03");
  EXPECT_EQ(FormatBinary(Value::Int(1LL << 40), oid::kInt4).error().sqlstate, "22003");
  EXPECT_EQ(FormatBinary(Value::Int(70000), oid::kInt2).error().sqlstate, "22003");
  EXPECT_EQ(ParseBinary(Span(Bytes({0, 1})), oid::kInt4).error().sqlstate, "22P03");
  EXPECT_EQ(ParseBinary(Span(Bytes({})), oid::kBool).error().sqlstate, "22P03");
  // Types we keep as text but whose binary form is not text.
  EXPECT_EQ(FormatBinary(Value::Text("2024-01-01"), TypeOidFromName("date")).error().sqlstate,
            "0A000");
  EXPECT_EQ(ParseBinary(Span(Bytes({1, 2, 3, 4})), TypeOidFromName("uuid")).error().sqlstate,
            "0A000");
  EXPECT_EQ(*FormatBinary(Value::Text("{}"), TypeOidFromName("jsonb")), "\x01{}");
  EXPECT_EQ(ParseBinary(Span(std::string("\x01[1]")), TypeOidFromName("jsonb"))->s, "[1]");
}

TEST(SqlValueTest, NumericBinaryOutput) {
  EXPECT_EQ(*FormatBinary(Value::Text("12345.678"), oid::kNumeric),
            Bytes({0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c}));
  EXPECT_EQ(*FormatBinary(Value::Int(-7), oid::kNumeric), Bytes({0, 1, 0, 0, 0x40, 0, 0, 0, 0, 7}));
  EXPECT_EQ(*FormatBinary(Value::Text("0.0001"), oid::kNumeric),
            Bytes({0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1}));
  EXPECT_EQ(*FormatBinary(Value::Int(0), oid::kNumeric), Bytes({0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(*FormatBinary(Value::Int(10000), oid::kNumeric), Bytes({0, 1, 0, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(FormatBinary(Value::Text("abc"), oid::kNumeric).error().sqlstate, "22P03");
  // Round trip through the binary input.
  for (const char* t : {"12345.678", "-0.5", "100000000", "3"}) {
    std::string b = *FormatBinary(Value::Text(t), oid::kNumeric);
    Result<Value> back = ParseBinary(Span(b), oid::kNumeric);
    ASSERT_TRUE(back.ok()) << t;
    EXPECT_EQ(FormatText(*back, oid::kNumeric), t);
  }
}

TEST(SqlValueTest, NumericBinaryInput) {
  // 12345.678: ndigits 3, weight 1, sign +, dscale 3: 1 2345 6780
  std::string b = Bytes({0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c});
  Result<Value> v = ParseBinary(Span(b), oid::kNumeric);
  ASSERT_TRUE(v.ok());
  EXPECT_DOUBLE_EQ(v->d, 12345.678);
  // 0.0001: ndigits 1, weight -1, dscale 4: 1
  b = Bytes({0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1});
  EXPECT_DOUBLE_EQ(ParseBinary(Span(b), oid::kNumeric)->d, 0.0001);
  // -7: weight 0, sign 0x4000
  b = Bytes({0, 1, 0, 0, 0x40, 0, 0, 0, 0, 7});
  EXPECT_EQ(ParseBinary(Span(b), oid::kNumeric)->i, -7);
}

}  // namespace
}  // namespace bgw::sql
