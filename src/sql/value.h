// Values crossing the SQL engine's boundary, PostgreSQL type OIDs, and the
// text and binary wire formats of the types clients exchange with us.
//
// A Value is what SQLite stores (null, integer, real, text, blob); the type
// OID chosen for a result column (or declared for a parameter) says how it is
// presented. Conversions follow PostgreSQL's output functions, so drivers
// parse our rows exactly as they parse PostgreSQL's: bool "t"/"f", float8
// shortest round-trip digits with "Infinity"/"-Infinity"/"NaN", bytea "\x"
// hex, binary integers big-endian, binary floats IEEE big-endian.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "postgres/catalog/pg_type_d.h"

namespace bgw::sql {

// The type OIDs the engine names, PostgreSQL's numbers as the module
// headers list them (one list: catalog/pg_type_d.h).
namespace oid {
inline constexpr uint32_t kBool = BOOLOID;
inline constexpr uint32_t kBytea = BYTEAOID;
inline constexpr uint32_t kName = NAMEOID;
inline constexpr uint32_t kInt8 = INT8OID;
inline constexpr uint32_t kInt2 = INT2OID;
inline constexpr uint32_t kInt4 = INT4OID;
inline constexpr uint32_t kText = TEXTOID;
inline constexpr uint32_t kOid = OIDOID;
inline constexpr uint32_t kFloat4 = FLOAT4OID;
inline constexpr uint32_t kFloat8 = FLOAT8OID;
inline constexpr uint32_t kUnknown = UNKNOWNOID;
inline constexpr uint32_t kVarchar = VARCHAROID;
inline constexpr uint32_t kTimestamptz = TIMESTAMPTZOID;
inline constexpr uint32_t kVoid = VOIDOID;
inline constexpr uint32_t kNumeric = NUMERICOID;
// Recognised by name and presented as text.
inline constexpr uint32_t kJson = JSONOID;
inline constexpr uint32_t kBpchar = BPCHAROID;
inline constexpr uint32_t kDate = DATEOID;
inline constexpr uint32_t kTime = TIMEOID;
inline constexpr uint32_t kTimestamp = TIMESTAMPOID;
inline constexpr uint32_t kInterval = INTERVALOID;
inline constexpr uint32_t kUuid = UUIDOID;
inline constexpr uint32_t kJsonb = JSONBOID;
inline constexpr uint32_t kRegclass = REGCLASSOID;
}  // namespace oid

struct Value {
  enum class Kind { kNull, kInt, kReal, kText, kBlob };
  Kind kind = Kind::kNull;
  int64_t i = 0;  // kInt
  double d = 0;   // kReal
  std::string s;  // kText (UTF-8) or kBlob (raw bytes)

  static Value Null() { return Value{}; }
  static Value Int(int64_t v) {
    Value x;
    x.kind = Kind::kInt;
    x.i = v;
    return x;
  }
  static Value Real(double v) {
    Value x;
    x.kind = Kind::kReal;
    x.d = v;
    return x;
  }
  static Value Text(std::string v) {
    Value x;
    x.kind = Kind::kText;
    x.s = std::move(v);
    return x;
  }
  static Value Blob(std::string v) {
    Value x;
    x.kind = Kind::kBlob;
    x.s = std::move(v);
    return x;
  }
  bool is_null() const { return kind == Kind::kNull; }
};

// pg_type.typlen: 1, 2, 4, 8 for fixed-size types, -1 for variable length.
int16_t TypeLength(uint32_t type_oid);
// "int8", "text", ... ; "unknown" for an OID we do not know.
const char* TypeName(uint32_t type_oid);
// The name PostgreSQL uses in messages and signatures ("integer", "double
// precision", "character varying"); TypeName's for the others.
const char* TypeDisplayName(uint32_t type_oid);
// The OID for a type name as written in SQL (int, integer, int4, bigint,
// text, varchar(n), bool, boolean, float8, double precision, real, bytea,
// numeric(p,s), timestamptz, ...), or 0 if unknown. Case-insensitive.
uint32_t TypeOidFromName(std::string_view name);

// Output: the text form of `v` presented as `type_oid` (PostgreSQL's output
// function). Not called for nulls.
std::string FormatText(const Value& v, uint32_t type_oid);
// Output: the binary form (PostgreSQL's send function). Fails with 22P03 or
// 22003 when v cannot be presented as type_oid in binary (e.g. text "abc" as
// int4), never silently truncating.
Result<std::string> FormatBinary(const Value& v, uint32_t type_oid);

// Input: a parameter in text format declared as `type_oid` (0/unknown/text:
// kept as text). Bad input fails like PostgreSQL's input functions, e.g.
// 22P02 invalid input syntax for type integer: "abc"; 22003 out of range.
Result<Value> ParseText(std::string_view text, uint32_t type_oid);
// Input: a parameter in binary format (wrong length = 22P03 "incorrect
// binary data format in bind parameter 1" style error; the caller adds
// the parameter number).
Result<Value> ParseBinary(std::span<const uint8_t> bytes, uint32_t type_oid);

}  // namespace bgw::sql
