// STUB (replaced by the value conversions).
#include "sql/value.h"
namespace bgw::sql {
int16_t TypeLength(uint32_t) { return -1; }
const char* TypeName(uint32_t) { return "unknown"; }
uint32_t TypeOidFromName(std::string_view) { return 0; }
std::string FormatText(const Value& v, uint32_t) { return v.s; }
SqlResult<std::string> FormatBinary(const Value& v, uint32_t) { return v.s; }
SqlResult<Value> ParseText(std::string_view text, uint32_t) { return Value::Text(std::string(text)); }
SqlResult<Value> ParseBinary(std::span<const uint8_t> b, uint32_t) {
  return Value::Blob(std::string(b.begin(), b.end()));
}
}  // namespace bgw::sql
