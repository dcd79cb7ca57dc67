// PostgreSQL's text and binary formats for the values the engine exchanges
// with clients (see value.h). Messages and SQLSTATEs follow PostgreSQL's
// input functions, because drivers and users match on them.
#include "sql/value.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <vector>

#include "common/strutil.h"
#include "postgres/datatype/timestamp.h"
#include "sql/system.h"

namespace bgw::sql {
namespace {

ErrorReport InvalidSyntax(uint32_t type, std::string_view text) {
  return MakeError("22P02",
                   StringPrintf("invalid input syntax for type %s: \"%.*s\"", TypeDisplayName(type),
                                static_cast<int>(text.size()), text.data()));
}

ErrorReport OutOfRange(uint32_t type, std::string_view text) {
  return MakeError("22003",
                   StringPrintf("value \"%.*s\" is out of range for type %s",
                                static_cast<int>(text.size()), text.data(), TypeDisplayName(type)));
}

// Shortest round-trip digits in PostgreSQL's layout: plain notation for
// decimal exponents in [-4, digits_limit), else d.ddde+XX.
std::string FormatFloat(double d, bool single) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  char buf[64];
  std::to_chars_result r =
      single ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(d),
                             std::chars_format::scientific)
             : std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  size_t e = sci.find('e');
  int exponent = std::atoi(sci.c_str() + e + 1);
  const int limit = single ? 6 : 15;
  if (exponent < -4 || exponent >= limit) return sci;
  bool negative = sci[0] == '-';
  std::string digits;
  for (size_t k = negative ? 1 : 0; k < e; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  std::string out = negative ? "-" : "";
  const int n = static_cast<int>(digits.size());
  if (exponent < 0) {
    out += "0.";
    out += std::string(static_cast<size_t>(-exponent - 1), '0');
    out += digits;
  } else if (exponent + 1 >= n) {
    out += digits;
    out += std::string(static_cast<size_t>(exponent + 1 - n), '0');
  } else {
    out += digits.substr(0, static_cast<size_t>(exponent + 1));
    out += '.';
    out += digits.substr(static_cast<size_t>(exponent + 1));
  }
  return out;
}

// numeric's text form of a double: shortest digits, never an exponent.
std::string FormatNumericFromDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  size_t e = sci.find('e');
  int exponent = std::atoi(sci.c_str() + e + 1);
  bool negative = sci[0] == '-';
  std::string digits;
  for (size_t k = negative ? 1 : 0; k < e; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  const int n = static_cast<int>(digits.size());
  std::string out = negative ? "-" : "";
  if (exponent < 0) {
    out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else if (exponent + 1 >= n) {
    out += digits + std::string(static_cast<size_t>(exponent + 1 - n), '0');
  } else {
    out += digits.substr(0, static_cast<size_t>(exponent + 1)) + "." +
           digits.substr(static_cast<size_t>(exponent + 1));
  }
  if (out == "0" || out == "-0") return "0";
  return out;
}

bool ParseBoolText(std::string_view raw, bool* out) {
  std::string s = AsciiLower(Trim(raw));
  if (s.empty()) return false;
  auto prefix_of = [&](const char* word, size_t min_len) {
    return s.size() >= min_len && std::string_view(word).substr(0, s.size()) == s &&
           s.size() <= std::strlen(word);
  };
  if (prefix_of("true", 1) || prefix_of("yes", 1) || s == "on" || s == "1") {
    *out = true;
    return true;
  }
  if (prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0") {
    *out = false;
    return true;
  }
  return false;
}

Result<Value> ParseInteger(std::string_view text, uint32_t type) {
  std::string_view s = Trim(text);
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
  if (type == oid::kInt2) {
    min = -32768;
    max = 32767;
  } else if (type == oid::kInt4) {
    min = std::numeric_limits<int32_t>::min();
    max = std::numeric_limits<int32_t>::max();
  }
  if (s.empty()) return InvalidSyntax(type, text);
  size_t i = 0;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return InvalidSyntax(type, text);
  // Accumulate as a negative number so INT64_MIN is representable.
  int64_t acc = 0;
  bool overflow = false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return InvalidSyntax(type, text);
    int digit = s[i] - '0';
    if (acc < (std::numeric_limits<int64_t>::min() + digit) / 10) {
      overflow = true;
    } else {
      acc = acc * 10 - digit;
    }
  }
  if (!negative) {
    if (acc == std::numeric_limits<int64_t>::min()) {
      overflow = true;
    } else {
      acc = -acc;
    }
  }
  if (overflow || acc < min || acc > max) return OutOfRange(type, text);
  return Value::Int(acc);
}

Result<Value> ParseOid(std::string_view text) {
  std::string s(Trim(text));
  if (s.empty()) return InvalidSyntax(oid::kOid, text);
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || end == s.c_str()) return InvalidSyntax(oid::kOid, text);
  if (errno == ERANGE || v > 4294967295LL || v < -2147483648LL) return OutOfRange(oid::kOid, text);
  return Value::Int(v < 0 ? v + 4294967296LL : v);
}

Result<Value> ParseFloat(std::string_view text, uint32_t type) {
  std::string s(Trim(text));
  std::string l = AsciiLower(s);
  if (l == "nan") return Value::Real(std::nan(""));
  if (l == "infinity" || l == "+infinity" || l == "inf" || l == "+inf") {
    return Value::Real(std::numeric_limits<double>::infinity());
  }
  if (l == "-infinity" || l == "-inf") return Value::Real(-std::numeric_limits<double>::infinity());
  if (s.empty()) return InvalidSyntax(type, text);
  // strtod accepts hex floats and "infinity" spellings we handled; reject
  // hex to stay with PostgreSQL's grammar.
  if (l.find('x') != std::string::npos) return InvalidSyntax(type, text);
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (*end != '\0' || end == s.c_str()) return InvalidSyntax(type, text);
  if (errno == ERANGE && (std::isinf(d) || d == 0)) {
    return MakeError("22003", StringPrintf("\"%s\" is out of range for type %s", s.c_str(),
                                           TypeDisplayName(type)));
  }
  if (type == oid::kFloat4) {
    float f = static_cast<float>(d);
    if (std::isinf(f) || (f == 0 && d != 0)) {
      return MakeError("22003", StringPrintf("\"%s\" is out of range for type real", s.c_str()));
    }
    d = f;
  }
  return Value::Real(d);
}

Result<Value> ParseNumeric(std::string_view text) {
  std::string s(Trim(text));
  std::string l = AsciiLower(s);
  if (l == "nan") return Value::Real(std::nan(""));
  if (l == "infinity" || l == "+infinity" || l == "inf") {
    return Value::Real(std::numeric_limits<double>::infinity());
  }
  if (l == "-infinity" || l == "-inf") return Value::Real(-std::numeric_limits<double>::infinity());
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  bool dot = false, exp = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (c == '.' && !dot && !exp) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits > 0 && !exp) {
      exp = true;
      if (i + 1 < s.size() && (s[i + 1] == '+' || s[i + 1] == '-')) ++i;
      if (i + 1 >= s.size()) return InvalidSyntax(oid::kNumeric, text);
    } else {
      return InvalidSyntax(oid::kNumeric, text);
    }
  }
  if (digits == 0) return InvalidSyntax(oid::kNumeric, text);
  if (!dot && !exp) {
    Result<Value> as_int = ParseInteger(s, oid::kInt8);
    if (as_int.ok()) return as_int;
  }
  return Value::Real(std::strtod(s.c_str(), nullptr));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Value> ParseBytea(std::string_view text) {
  std::string out;
  if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
    size_t i = 2;
    while (i < text.size()) {
      if (std::isspace(static_cast<unsigned char>(text[i]))) {
        ++i;
        continue;
      }
      int hi = HexDigit(text[i]);
      if (hi < 0) {
        return MakeError("22P02", StringPrintf("invalid hexadecimal digit: \"%c\"", text[i]));
      }
      if (i + 1 >= text.size() || HexDigit(text[i + 1]) < 0) {
        return MakeError("22P02", "invalid hexadecimal data: odd number of digits");
      }
      out += static_cast<char>(hi * 16 + HexDigit(text[i + 1]));
      i += 2;
    }
    return Value::Blob(std::move(out));
  }
  // Escape format: \\ and \ooo.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else if (i + 3 < text.size() + 0 && text[i + 1] >= '0' && text[i + 1] <= '3' &&
               text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' &&
               text[i + 3] <= '7') {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                               (text[i + 3] - '0'));
      i += 3;
    } else {
      return MakeError("22P02", "invalid input syntax for type bytea");
    }
  }
  return Value::Blob(std::move(out));
}

void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int k = bytes - 1; k >= 0; --k) out->push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}

uint64_t GetBE(std::span<const uint8_t> b) {
  uint64_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return v;
}

// Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch).
constexpr int64_t kPgEpochOffsetUs =
    static_cast<int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

// Parses "YYYY-MM-DD[ T]HH:MM:SS[.ffffff][+HH[:MM]|Z]" into Unix microseconds.
bool ParseTimestampUs(std::string_view text, int64_t* out) {
  int y, mo, d, h = 0, mi = 0, s = 0;
  std::string str(Trim(text));
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3) return false;
  size_t pos = static_cast<size_t>(consumed);
  int64_t frac = 0;
  int offset_s = 0;
  if (pos < str.size() && (str[pos] == ' ' || str[pos] == 'T')) {
    int c2 = 0;
    if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d:%2d%n", &h, &mi, &s, &c2) != 3) return false;
    pos += 1 + static_cast<size_t>(c2);
    if (pos < str.size() && str[pos] == '.') {
      ++pos;
      int64_t scale = 100000;
      while (pos < str.size() && std::isdigit(static_cast<unsigned char>(str[pos]))) {
        frac += (str[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
    }
    if (pos < str.size() && (str[pos] == '+' || str[pos] == '-')) {
      int sign = str[pos] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d", &oh, &om) < 1) return false;
      offset_s = sign * (oh * 3600 + om * 60);
    }
  }
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  time_t t = timegm(&tm);
  *out = (static_cast<int64_t>(t) - offset_s) * 1000000 + frac;
  return true;
}

// Types whose binary form is their text (PostgreSQL's textsend and kin);
// unknown OIDs are treated as text, as clients sending them expect.
bool BinaryIsText(uint32_t type) {
  switch (type) {
    case oid::kDate:
    case oid::kTime:
    case oid::kTimestamp:
    case oid::kInterval:
    case oid::kUuid:
    case oid::kRegclass:
    case oid::kVoid:
      return false;
    default:
      return true;
  }
}

// numeric's binary form: ndigits, weight, sign, dscale (int16 each), then
// base-10000 digits, most significant first.
Result<std::string> NumericSend(const Value& v) {
  std::string text;
  if (v.kind == Value::Kind::kInt) {
    text = std::to_string(v.i);
  } else if (v.kind == Value::Kind::kReal) {
    text = FormatNumericFromDouble(v.d);
  } else {
    Result<Value> parsed = ParseNumeric(v.s);
    if (!parsed.ok()) {
      ErrorReport e = parsed.error();
      e.sqlstate = "22P03";
      return e;
    }
    std::string t(Trim(v.s));
    text = parsed->kind == Value::Kind::kInt                ? std::to_string(parsed->i)
           : t.find_first_of("eEnNiI") != std::string::npos ? FormatNumericFromDouble(parsed->d)
                                                            : t;
  }
  std::string out;
  auto put16 = [&](int x) { PutBE(&out, static_cast<uint16_t>(x), 2); };
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
    put16(0);
    put16(0);
    put16(text == "NaN" ? 0xC000 : text == "Infinity" ? 0xD000 : 0xF000);
    put16(0);
    return out;
  }
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text = text.substr(1);
  }
  size_t dot = text.find('.');
  std::string ip = text.substr(0, dot);
  std::string fp = dot == std::string::npos ? "" : text.substr(dot + 1);
  const int dscale = static_cast<int>(fp.size());
  while (ip.size() % 4 != 0) ip.insert(ip.begin(), '0');
  while (fp.size() % 4 != 0) fp.push_back('0');
  std::vector<int> groups;
  for (size_t k = 0; k < ip.size(); k += 4) groups.push_back(std::stoi(ip.substr(k, 4)));
  for (size_t k = 0; k < fp.size(); k += 4) groups.push_back(std::stoi(fp.substr(k, 4)));
  int weight = static_cast<int>(ip.size() / 4) - 1;
  size_t first = 0;
  while (first < groups.size() && groups[first] == 0) {
    ++first;
    --weight;
  }
  size_t last = groups.size();
  while (last > first && groups[last - 1] == 0) --last;
  if (first == last) {
    weight = 0;
    negative = false;
  }
  put16(static_cast<int>(last - first));
  put16(weight);
  put16(negative ? 0x4000 : 0);
  put16(dscale);
  for (size_t k = first; k < last; ++k) put16(groups[k]);
  return out;
}

}  // namespace

int16_t TypeLength(uint32_t type_oid) {
  switch (type_oid) {
    case oid::kBool:
      return 1;
    case oid::kInt2:
      return 2;
    case oid::kInt4:
    case oid::kOid:
    case oid::kFloat4:
    case oid::kDate:
      return 4;
    case oid::kInt8:
    case oid::kFloat8:
    case oid::kTimestamptz:
    case oid::kTimestamp:
    case oid::kTime:
      return 8;
    case oid::kName:
      return 64;
    case oid::kUuid:
      return 16;
    case oid::kInterval:
      return 16;
    case oid::kVoid:
      return 4;
    default:
      return -1;
  }
}

const char* TypeDisplayName(uint32_t type_oid) {
  switch (type_oid) {
    case oid::kBool:
      return "boolean";
    case oid::kInt2:
      return "smallint";
    case oid::kInt4:
      return "integer";
    case oid::kInt8:
      return "bigint";
    case oid::kOid:
      return "oid";
    case oid::kFloat4:
      return "real";
    case oid::kFloat8:
      return "double precision";
    case oid::kNumeric:
      return "numeric";
    case oid::kBytea:
      return "bytea";
    case oid::kText:
      return "text";
    case oid::kVarchar:
      return "character varying";
    case oid::kTimestamptz:
      return "timestamp with time zone";
    default:
      return TypeName(type_oid);
  }
}

const char* TypeName(uint32_t type_oid) {
  switch (type_oid) {
    case oid::kBool:
      return "bool";
    case oid::kBytea:
      return "bytea";
    case oid::kName:
      return "name";
    case oid::kInt8:
      return "int8";
    case oid::kInt2:
      return "int2";
    case oid::kInt4:
      return "int4";
    case oid::kText:
      return "text";
    case oid::kOid:
      return "oid";
    case oid::kFloat4:
      return "float4";
    case oid::kFloat8:
      return "float8";
    case oid::kUnknown:
      return "unknown";
    case oid::kVarchar:
      return "varchar";
    case oid::kTimestamptz:
      return "timestamptz";
    case oid::kNumeric:
      return "numeric";
    case oid::kJson:
      return "json";
    case oid::kBpchar:
      return "bpchar";
    case oid::kDate:
      return "date";
    case oid::kTime:
      return "time";
    case oid::kTimestamp:
      return "timestamp";
    case oid::kInterval:
      return "interval";
    case oid::kVoid:
      return "void";
    case oid::kUuid:
      return "uuid";
    case oid::kJsonb:
      return "jsonb";
    case oid::kRegclass:
      return "regclass";
    default:
      return "unknown";
  }
}

uint32_t TypeOidFromName(std::string_view name) {
  // Normalize: lower case, modifiers "(...)" dropped, single spaces.
  std::string n;
  int depth = 0;
  for (char c : AsciiLower(Trim(name))) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (depth == 0) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        if (!n.empty() && n.back() != ' ') n += ' ';
      } else {
        n += c;
      }
    }
  }
  while (!n.empty() && n.back() == ' ') n.pop_back();
  if (n.size() > 2 && n.substr(n.size() - 2) == "[]") return 0;  // arrays: not supported
  if (n.rfind("pg_catalog.", 0) == 0) n = n.substr(11);
  struct Entry {
    const char* name;
    uint32_t oid;
  };
  static const Entry kNames[] = {
      {"bool", oid::kBool},
      {"boolean", oid::kBool},
      {"bytea", oid::kBytea},
      {"blob", oid::kBytea},
      {"name", oid::kName},
      {"int8", oid::kInt8},
      {"bigint", oid::kInt8},
      {"bigserial", oid::kInt8},
      {"serial8", oid::kInt8},
      {"int2", oid::kInt2},
      {"smallint", oid::kInt2},
      {"smallserial", oid::kInt2},
      {"int4", oid::kInt4},
      {"int", oid::kInt4},
      {"integer", oid::kInt4},
      {"serial", oid::kInt4},
      {"serial4", oid::kInt4},
      {"text", oid::kText},
      {"oid", oid::kOid},
      {"float4", oid::kFloat4},
      {"real", oid::kFloat4},
      {"float8", oid::kFloat8},
      {"double precision", oid::kFloat8},
      {"float", oid::kFloat8},
      {"double", oid::kFloat8},
      {"unknown", oid::kUnknown},
      {"varchar", oid::kVarchar},
      {"character varying", oid::kVarchar},
      {"timestamptz", oid::kTimestamptz},
      {"timestamp with time zone", oid::kTimestamptz},
      {"numeric", oid::kNumeric},
      {"decimal", oid::kNumeric},
      {"json", oid::kJson},
      {"jsonb", oid::kJsonb},
      {"char", oid::kBpchar},
      {"character", oid::kBpchar},
      {"bpchar", oid::kBpchar},
      {"date", oid::kDate},
      {"time", oid::kTime},
      {"time without time zone", oid::kTime},
      {"timestamp", oid::kTimestamp},
      {"timestamp without time zone", oid::kTimestamp},
      {"interval", oid::kInterval},
      {"uuid", oid::kUuid},
      {"regclass", oid::kRegclass},
      {"void", oid::kVoid},
  };
  for (const Entry& e : kNames) {
    if (n == e.name) return e.oid;
  }
  return 0;
}

std::string FormatText(const Value& v, uint32_t type_oid) {
  switch (type_oid) {
    case oid::kBool:
      if (v.kind == Value::Kind::kInt) return v.i != 0 ? "t" : "f";
      if (v.kind == Value::Kind::kReal) return v.d != 0 ? "t" : "f";
      if (v.kind == Value::Kind::kText) {
        bool b;
        if (ParseBoolText(v.s, &b)) return b ? "t" : "f";
      }
      return v.s;
    case oid::kFloat4:
    case oid::kFloat8:
      if (v.kind == Value::Kind::kReal) return FormatFloat(v.d, type_oid == oid::kFloat4);
      if (v.kind == Value::Kind::kInt) {
        return FormatFloat(static_cast<double>(v.i), type_oid == oid::kFloat4);
      }
      return v.s;
    case oid::kNumeric:
      if (v.kind == Value::Kind::kInt) return std::to_string(v.i);
      if (v.kind == Value::Kind::kReal) return FormatNumericFromDouble(v.d);
      return v.s;
    case oid::kBytea: {
      if (v.kind != Value::Kind::kText && v.kind != Value::Kind::kBlob) {
        return FormatText(v, oid::kText);
      }
      static const char kHex[] = "0123456789abcdef";
      std::string out = "\\x";
      out.reserve(2 + 2 * v.s.size());
      for (unsigned char c : v.s) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out;
    }
    default:
      break;
  }
  switch (v.kind) {
    case Value::Kind::kNull:
      return "";
    case Value::Kind::kInt:
      return std::to_string(v.i);
    case Value::Kind::kReal:
      if ((type_oid == oid::kInt2 || type_oid == oid::kInt4 || type_oid == oid::kInt8) &&
          std::nearbyint(v.d) == v.d && std::fabs(v.d) < 9.2e18) {
        return std::to_string(static_cast<int64_t>(v.d));
      }
      return FormatFloat(v.d, false);
    case Value::Kind::kText:
    case Value::Kind::kBlob:
      return v.s;
  }
  return v.s;
}

Result<std::string> FormatBinary(const Value& v, uint32_t type_oid) {
  std::string out;
  switch (type_oid) {
    case oid::kBool: {
      bool b;
      if (v.kind == Value::Kind::kInt) {
        b = v.i != 0;
      } else if (v.kind == Value::Kind::kReal) {
        b = v.d != 0;
      } else if (!ParseBoolText(v.s, &b)) {
        return MakeError(
            "22P03", StringPrintf("invalid input syntax for type boolean: \"%s\"", v.s.c_str()));
      }
      out.push_back(b ? 1 : 0);
      return out;
    }
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
    case oid::kOid: {
      int64_t i;
      if (v.kind == Value::Kind::kInt) {
        i = v.i;
      } else if (v.kind == Value::Kind::kReal && std::nearbyint(v.d) == v.d &&
                 std::fabs(v.d) < 9.2e18) {
        i = static_cast<int64_t>(v.d);
      } else {
        Result<Value> parsed =
            ParseText(v.kind == Value::Kind::kReal ? FormatFloat(v.d, false) : v.s, type_oid);
        if (!parsed.ok()) {
          ErrorReport e = parsed.error();
          if (e.sqlstate == "22P02") e.sqlstate = "22P03";
          return e;
        }
        i = parsed->i;
      }
      int bytes = type_oid == oid::kInt2 ? 2 : type_oid == oid::kInt8 ? 8 : 4;
      if (type_oid == oid::kInt2 && (i < -32768 || i > 32767)) {
        return MakeError("22003", "smallint out of range");
      }
      if (type_oid == oid::kInt4 &&
          (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max())) {
        return MakeError("22003", "integer out of range");
      }
      if (type_oid == oid::kOid && (i < 0 || i > 4294967295LL)) {
        return MakeError("22003", "OID out of range");
      }
      PutBE(&out, static_cast<uint64_t>(i), bytes);
      return out;
    }
    case oid::kFloat4:
    case oid::kFloat8: {
      double d;
      if (v.kind == Value::Kind::kReal) {
        d = v.d;
      } else if (v.kind == Value::Kind::kInt) {
        d = static_cast<double>(v.i);
      } else {
        Result<Value> parsed = ParseFloat(v.s, type_oid);
        if (!parsed.ok()) {
          ErrorReport e = parsed.error();
          if (e.sqlstate == "22P02") e.sqlstate = "22P03";
          return e;
        }
        d = parsed->d;
      }
      if (type_oid == oid::kFloat4) {
        float f = static_cast<float>(d);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        PutBE(&out, bits, 4);
      } else {
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        PutBE(&out, bits, 8);
      }
      return out;
    }
    case oid::kBytea:
      if (v.kind == Value::Kind::kText || v.kind == Value::Kind::kBlob) return v.s;
      return FormatText(v, oid::kText);
    case oid::kTimestamptz: {
      int64_t us;
      if (v.kind == Value::Kind::kText && ParseTimestampUs(v.s, &us)) {
        PutBE(&out, static_cast<uint64_t>(us - kPgEpochOffsetUs), 8);
        return out;
      }
      return MakeError("22P03", StringPrintf("cannot send \"%s\" as timestamp with time zone",
                                             FormatText(v, oid::kText).c_str()));
    }
    case oid::kNumeric:
      return NumericSend(v);
    case oid::kJsonb:
      return "\x01" + FormatText(v, oid::kText);  // version 1, then the text
    default:
      if (!BinaryIsText(type_oid)) {
        return MakeError(
            "0A000", StringPrintf("binary output of type %s is not supported", TypeName(type_oid)));
      }
      return FormatText(v, type_oid);
  }
}

Result<Value> ParseText(std::string_view text, uint32_t type_oid) {
  switch (type_oid) {
    case oid::kBool: {
      bool b;
      if (!ParseBoolText(text, &b)) return InvalidSyntax(oid::kBool, text);
      return Value::Int(b ? 1 : 0);
    }
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
      return ParseInteger(text, type_oid);
    case oid::kOid:
      return ParseOid(text);
    case oid::kFloat4:
    case oid::kFloat8:
      return ParseFloat(text, type_oid);
    case oid::kNumeric:
      return ParseNumeric(text);
    case oid::kBytea:
      return ParseBytea(text);
    default:
      return Value::Text(std::string(text));
  }
}

Result<Value> ParseBinary(std::span<const uint8_t> bytes, uint32_t type_oid) {
  auto need = [&](size_t n) -> bool { return bytes.size() == n; };
  const ErrorReport bad = MakeError("22P03", "incorrect binary data format");
  switch (type_oid) {
    case oid::kBool:
      if (!need(1)) return bad;
      return Value::Int(bytes[0] != 0 ? 1 : 0);
    case oid::kInt2:
      if (!need(2)) return bad;
      return Value::Int(static_cast<int16_t>(GetBE(bytes)));
    case oid::kInt4:
      if (!need(4)) return bad;
      return Value::Int(static_cast<int32_t>(GetBE(bytes)));
    case oid::kOid:
      if (!need(4)) return bad;
      return Value::Int(static_cast<int64_t>(static_cast<uint32_t>(GetBE(bytes))));
    case oid::kInt8:
      if (!need(8)) return bad;
      return Value::Int(static_cast<int64_t>(GetBE(bytes)));
    case oid::kFloat4: {
      if (!need(4)) return bad;
      uint32_t bits = static_cast<uint32_t>(GetBE(bytes));
      float f;
      std::memcpy(&f, &bits, 4);
      return Value::Real(f);
    }
    case oid::kFloat8: {
      if (!need(8)) return bad;
      uint64_t bits = GetBE(bytes);
      double d;
      std::memcpy(&d, &bits, 8);
      return Value::Real(d);
    }
    case oid::kBytea:
      return Value::Blob(std::string(bytes.begin(), bytes.end()));
    case oid::kTimestamptz: {
      if (!need(8)) return bad;
      int64_t us = static_cast<int64_t>(GetBE(bytes)) + kPgEpochOffsetUs;
      return Value::Text(system::FormatTimestamp(us));
    }
    case oid::kNumeric: {
      // ndigits, weight, sign, dscale, then base-10000 digits (int16 each).
      if (bytes.size() < 8) return bad;
      auto u16 = [&](size_t at) { return static_cast<uint16_t>(GetBE(bytes.subspan(at, 2))); };
      int ndigits = u16(0);
      int weight = static_cast<int16_t>(u16(2));
      int sign = u16(4);
      int dscale = u16(6);
      if (bytes.size() != 8 + 2 * static_cast<size_t>(ndigits)) return bad;
      if (sign == 0xC000) return Value::Real(std::nan(""));
      if (sign == 0xD000) return Value::Real(std::numeric_limits<double>::infinity());
      if (sign == 0xF000) return Value::Real(-std::numeric_limits<double>::infinity());
      std::string text = sign == 0x4000 ? "-" : "";
      std::string intpart, fracpart;
      // Digit k has the power 10000^(weight - k).
      for (int p = std::max(weight, 0); p >= std::min(weight - ndigits + 1, 0); --p) {
        int k = weight - p;
        int d = k >= 0 && k < ndigits ? u16(8 + 2 * static_cast<size_t>(k)) : 0;
        if (p >= 0) {
          intpart += intpart.empty() ? std::to_string(d) : StringPrintf("%04d", d);
        } else {
          fracpart += StringPrintf("%04d", d);
        }
      }
      if (static_cast<int>(fracpart.size()) > dscale) fracpart.resize(static_cast<size_t>(dscale));
      while (static_cast<int>(fracpart.size()) < dscale) fracpart += '0';
      text += intpart;
      if (!fracpart.empty()) text += "." + fracpart;
      return ParseNumeric(text);
    }
    case oid::kJsonb:
      if (bytes.empty() || bytes[0] != 1)
        return MakeError("22P03", "unsupported jsonb version number");
      return Value::Text(std::string(bytes.begin() + 1, bytes.end()));
    default:
      if (!BinaryIsText(type_oid)) {
        return MakeError(
            "0A000", StringPrintf("binary input of type %s is not supported", TypeName(type_oid)));
      }
      return Value::Text(std::string(bytes.begin(), bytes.end()));
  }
}

}  // namespace bgw::sql
