// Value <-> Datum; see datum.h.
#include "sql/datum.h"

#include <cmath>
#include <cstring>
#include <string>

#include "postgres/fmgr.h"
#include "postgres/utils/builtins.h"

namespace bgw::sql {
namespace {

ErrorReport IntegerOutOfRange(uint32_t type) {
  return MakeError("22003", type == oid::kInt2   ? "smallint out of range"
                            : type == oid::kInt8 ? "bigint out of range"
                                                 : "integer out of range");
}

// An integer of `type` from a number or its text, range-checked.
Result<int64_t> ToInteger(const Value& v, uint32_t type) {
  int64_t x = 0;
  switch (v.kind) {
    case Value::Kind::kInt:
      x = v.i;
      break;
    case Value::Kind::kReal: {
      const double d = std::nearbyint(v.d);
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
        return IntegerOutOfRange(type);
      }
      x = static_cast<int64_t>(d);
      break;
    }
    default: {
      Result<Value> parsed = ParseText(v.s, type);
      if (!parsed.ok()) return parsed.error();
      return parsed->i;  // ParseText checked the range
    }
  }
  if (type == oid::kInt2 && (x < INT16_MIN || x > INT16_MAX)) return IntegerOutOfRange(type);
  if (type == oid::kInt4 && (x < INT32_MIN || x > INT32_MAX)) return IntegerOutOfRange(type);
  if (type == oid::kOid && (x < 0 || x > UINT32_MAX)) {
    return MakeError("22003", "value \"" + std::to_string(x) + "\" is out of range for type oid");
  }
  return x;
}

// The bytes of a text-like or bytea value: a string's own, else its text.
std::string Bytes(const Value& v) {
  if (v.kind == Value::Kind::kText || v.kind == Value::Kind::kBlob) return v.s;
  return FormatText(v, oid::kText);
}

}  // namespace

Result<Datum> ValueToDatum(const Value& v, uint32_t type) {
  switch (type) {
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
    case oid::kOid: {
      Result<int64_t> x = ToInteger(v, type);
      if (!x.ok()) return x.error();
      if (type == oid::kInt2) return Int16GetDatum(static_cast<int16>(*x));
      if (type == oid::kInt4) return Int32GetDatum(static_cast<int32>(*x));
      if (type == oid::kOid) return ObjectIdGetDatum(static_cast<Oid>(*x));
      return Int64GetDatum(*x);
    }
    case oid::kBool: {
      if (v.kind == Value::Kind::kInt) return BoolGetDatum(v.i != 0);
      if (v.kind == Value::Kind::kReal) return BoolGetDatum(v.d != 0);
      Result<Value> parsed = ParseText(v.s, type);
      if (!parsed.ok()) return parsed.error();
      return BoolGetDatum(parsed->i != 0);
    }
    case oid::kFloat4:
    case oid::kFloat8: {
      double d = 0;
      if (v.kind == Value::Kind::kInt) {
        d = static_cast<double>(v.i);
      } else if (v.kind == Value::Kind::kReal) {
        d = v.d;
      } else {
        Result<Value> parsed = ParseText(v.s, type);
        if (!parsed.ok()) return parsed.error();
        d = parsed->d;
      }
      if (type == oid::kFloat4) return Float4GetDatum(static_cast<float4>(d));
      return Float8GetDatum(d);
    }
    case oid::kName: {
      auto* name = static_cast<NameData*>(palloc0(sizeof(NameData)));
      std::string s = Bytes(v);
      std::strncpy(name->data, s.c_str(), NAMEDATALEN - 1);
      return PointerGetDatum(name);
    }
    case oid::kBytea: {
      std::string s = Bytes(v);
      auto* b = static_cast<bytea*>(palloc(VARHDRSZ + s.size()));
      SET_VARSIZE(b, VARHDRSZ + s.size());
      if (!s.empty()) std::memcpy(VARDATA(b), s.data(), s.size());
      return PointerGetDatum(b);
    }
    default: {  // text, varchar, and every type handed out as its text
      std::string s =
          v.kind == Value::Kind::kText || v.kind == Value::Kind::kBlob ? v.s : FormatText(v, type);
      return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
    }
  }
}

std::optional<Value> DatumToValue(Datum d, uint32_t type) {
  switch (type) {
    case oid::kBool:
      return Value::Int(DatumGetBool(d) ? 1 : 0);
    case oid::kInt2:
      return Value::Int(DatumGetInt16(d));
    case oid::kInt4:
      return Value::Int(DatumGetInt32(d));
    case oid::kInt8:
      return Value::Int(DatumGetInt64(d));
    case oid::kOid:
      return Value::Int(DatumGetObjectId(d));
    case oid::kFloat4:
      return Value::Real(DatumGetFloat4(d));
    case oid::kFloat8:
      return Value::Real(DatumGetFloat8(d));
    case oid::kName:
      if (DatumGetPointer(d) == nullptr) return Value::Null();
      return Value::Text(DatumGetName(d)->data);
    case oid::kBytea: {
      const auto* b = reinterpret_cast<const bytea*>(DatumGetPointer(d));
      if (b == nullptr) return Value::Null();
      return Value::Blob(std::string(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)));
    }
    case oid::kText:
    case oid::kVarchar:
    case oid::kUnknown: {
      const auto* t = reinterpret_cast<const text*>(DatumGetPointer(d));
      if (t == nullptr) return Value::Null();
      return Value::Text(std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
    }
    default:
      return std::nullopt;
  }
}

}  // namespace bgw::sql
