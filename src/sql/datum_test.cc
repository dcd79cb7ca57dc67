// Value <-> Datum (sql/datum.h): the conversions C functions and SPI share,
// with PostgreSQL's input errors.
#include "sql/datum.h"

#include <gtest/gtest.h>

#include "postgres/fmgr.h"
#include "postgres/utils/builtins.h"

namespace bgw::sql {
namespace {

std::string TextOf(Datum d) {
  const auto* t = reinterpret_cast<const text*>(DatumGetPointer(d));
  return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

TEST(Datum, IntegersFromNumbersAndText) {
  EXPECT_EQ(DatumGetInt32(*ValueToDatum(Value::Int(42), oid::kInt4)), 42);
  EXPECT_EQ(DatumGetInt32(*ValueToDatum(Value::Real(2.6), oid::kInt4)), 3);
  EXPECT_EQ(DatumGetInt16(*ValueToDatum(Value::Text(" -7 "), oid::kInt2)), -7);
  EXPECT_EQ(DatumGetInt64(*ValueToDatum(Value::Int(INT64_MIN), oid::kInt8)), INT64_MIN);
  EXPECT_EQ(DatumGetObjectId(*ValueToDatum(Value::Int(4000000000), oid::kOid)), 4000000000u);
}

TEST(Datum, IntegerErrorsAreInputErrors) {
  auto big = ValueToDatum(Value::Int(40000), oid::kInt2);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().sqlstate, "22003");
  EXPECT_EQ(big.error().message, "smallint out of range");
  auto huge = ValueToDatum(Value::Real(1e300), oid::kInt8);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().message, "bigint out of range");
  auto word = ValueToDatum(Value::Text("twelve"), oid::kInt4);
  ASSERT_FALSE(word.ok());
  EXPECT_EQ(word.error().sqlstate, "22P02");
  EXPECT_EQ(word.error().message, "invalid input syntax for type integer: \"twelve\"");
}

TEST(Datum, BooleansAndFloats) {
  EXPECT_TRUE(DatumGetBool(*ValueToDatum(Value::Int(1), oid::kBool)));
  EXPECT_FALSE(DatumGetBool(*ValueToDatum(Value::Text("off"), oid::kBool)));
  auto maybe = ValueToDatum(Value::Text("maybe"), oid::kBool);
  ASSERT_FALSE(maybe.ok());
  EXPECT_EQ(maybe.error().sqlstate, "22P02");
  EXPECT_DOUBLE_EQ(DatumGetFloat8(*ValueToDatum(Value::Int(3), oid::kFloat8)), 3.0);
  EXPECT_FLOAT_EQ(DatumGetFloat4(*ValueToDatum(Value::Text("1.5"), oid::kFloat4)), 1.5f);
}

TEST(Datum, ByReferenceTypes) {
  EXPECT_EQ(TextOf(*ValueToDatum(Value::Text("héllo"), oid::kText)), "héllo");
  EXPECT_EQ(TextOf(*ValueToDatum(Value::Int(12), oid::kVarchar)), "12");
  std::string bytes("a\0b", 3);
  Datum b = *ValueToDatum(Value::Blob(bytes), oid::kBytea);
  EXPECT_EQ(TextOf(b), bytes);
  Datum n = *ValueToDatum(Value::Text("relname"), oid::kName);
  EXPECT_STREQ(DatumGetName(n)->data, "relname");
  // A type the C API does not exchange is handed out as its text.
  EXPECT_EQ(TextOf(*ValueToDatum(Value::Int(5), oid::kNumeric)), "5");
}

TEST(Datum, RoundTripsAndRefusals) {
  for (uint32_t type : {oid::kBool, oid::kInt2, oid::kInt4, oid::kInt8, oid::kOid}) {
    std::optional<Value> v = DatumToValue(*ValueToDatum(Value::Int(1), type), type);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->kind, Value::Kind::kInt);
    EXPECT_EQ(v->i, 1);
  }
  std::optional<Value> t = DatumToValue(*ValueToDatum(Value::Text("x"), oid::kText), oid::kText);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->s, "x");
  std::optional<Value> blob =
      DatumToValue(*ValueToDatum(Value::Blob("\x01\x02"), oid::kBytea), oid::kBytea);
  ASSERT_TRUE(blob.has_value());
  EXPECT_EQ(blob->kind, Value::Kind::kBlob);
  EXPECT_EQ(DatumToValue(PointerGetDatum(nullptr), oid::kText)->kind, Value::Kind::kNull);
  EXPECT_FALSE(DatumToValue(Int32GetDatum(1), oid::kNumeric).has_value());
}

}  // namespace
}  // namespace bgw::sql
