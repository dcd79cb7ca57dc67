// The settings registry: definition, parsing of values, source priority,
// placeholders, SHOW formatting, and applying a configuration file.
//
// Semantics follow PostgreSQL's guc.c (contexts, sources, reset values,
// unit conversion and the exact error texts) so that modules and users see
// the behaviour they know. The registry is process-local and single-threaded;
// see guc.h.
#include "guc/guc.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include "common/strutil.h"
#include "guc/guc_internal.h"

namespace bgw::guc {

namespace internal {

namespace {
std::function<void(const log::Message&)>& ReportSink() {
  static auto* sink = new std::function<void(const log::Message&)>();
  return *sink;
}
}  // namespace

void Report(log::Level level, const ErrorReport& error) {
  log::Message m = log::MessageFromStatus(level, Status(error));
  if (ReportSink()) {
    ReportSink()(m);
  } else {
    log::Emit(m);
  }
}

}  // namespace internal

using internal::GucError;
using internal::Report;

namespace {

// ---------------------------------------------------------------------------
// Names.

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         (static_cast<unsigned char>(c) & 0x80) != 0;
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '$'; }

// Identifiers separated by single dots; `need_dot` demands at least two parts
// (PostgreSQL's valid_custom_variable_name).
bool ValidName(std::string_view name, bool need_dot) {
  bool part_start = true;
  bool saw_dot = false;
  for (char c : name) {
    if (c == '.') {
      if (part_start) return false;
      saw_dot = true;
      part_start = true;
    } else if (part_start ? IsNameStart(c) : IsNameChar(c)) {
      part_start = false;
    } else {
      return false;
    }
  }
  if (part_start) return false;
  return saw_dot || !need_dot;
}

// ---------------------------------------------------------------------------
// Units.

struct UnitName {
  const char* name;
  double size;  // in bytes (memory) or microseconds (time)
};

// Largest first: display picks the first unit that divides the value exactly,
// parsing rounds fractions to the next smaller unit.
constexpr UnitName kMemoryUnits[] = {
    {"TB", 1024.0 * 1024 * 1024 * 1024},
    {"GB", 1024.0 * 1024 * 1024},
    {"MB", 1024.0 * 1024},
    {"kB", 1024.0},
    {"B", 1.0},
};
constexpr UnitName kTimeUnits[] = {
    {"d", 86400e6}, {"h", 3600e6}, {"min", 60e6}, {"s", 1e6}, {"ms", 1e3}, {"us", 1.0},
};

constexpr const char* kMemoryUnitsHint =
    "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".";
constexpr const char* kTimeUnitsHint =
    "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".";

// Size of one base unit of a setting, in the family's smallest measure.
double BaseUnitSize(int unit) {
  switch (unit) {
    case kUnitKB:
      return 1024.0;
    case kUnitBlocks:
    case kUnitXBlocks:
      return 8192.0;
    case kUnitMB:
      return 1024.0 * 1024;
    case kUnitByte:
      return 1.0;
    case kUnitMs:
      return 1e3;
    case kUnitS:
      return 1e6;
    case kUnitMin:
      return 60e6;
    default:
      return 1.0;
  }
}

const char* UnitLabel(int unit) {
  switch (unit) {
    case kUnitKB:
      return "kB";
    case kUnitBlocks:
    case kUnitXBlocks:
      return "8kB";
    case kUnitMB:
      return "MB";
    case kUnitByte:
      return "B";
    case kUnitMs:
      return "ms";
    case kUnitS:
      return "s";
    case kUnitMin:
      return "min";
    default:
      return nullptr;
  }
}

std::span<const UnitName> UnitTable(int unit) {
  if (unit & kUnitMemory) return kMemoryUnits;
  return kTimeUnits;
}

// `text` is the unit as written after the number (trailing blanks allowed).
bool ConvertToBaseUnit(double value, std::string_view text, int unit, double* base_value) {
  text = Trim(text);
  std::span<const UnitName> table = UnitTable(unit);
  const double base = BaseUnitSize(unit);
  for (size_t i = 0; i < table.size(); i++) {
    if (text != table[i].name) continue;
    double converted = value * (table[i].size / base);
    // "30.1GB": round to a whole number of the next smaller unit.
    if (i + 1 < table.size()) {
      double smaller = table[i + 1].size / base;
      converted = std::rint(converted / smaller) * smaller;
    }
    *base_value = converted;
    return true;
  }
  return false;
}

std::string FormatIntWithUnit(int64_t value, int unit) {
  if (value <= 0 || unit == 0) return std::to_string(value);
  const double base = BaseUnitSize(unit);
  for (const UnitName& u : UnitTable(unit)) {
    double ratio = u.size / base;
    if (ratio <= 1.0) {
      return std::to_string(static_cast<int64_t>(std::rint(static_cast<double>(value) / ratio))) +
             u.name;
    }
    auto whole = static_cast<int64_t>(ratio);
    if (value % whole == 0) return std::to_string(value / whole) + u.name;
  }
  return std::to_string(value);
}

std::string FormatReal(double value) { return StringPrintf("%g", value); }

std::string FormatRealWithUnit(double value, int unit) {
  if (!(value > 0) || unit == 0) return FormatReal(value);
  const double base = BaseUnitSize(unit);
  double shown = value;
  const char* name = "";
  for (const UnitName& u : UnitTable(unit)) {
    shown = value / (u.size / base);
    name = u.name;
    // Accept the first unit in which %g prints a whole number (allowing for
    // rounding noise); otherwise the smallest unit.
    if (shown > 0 && std::fabs(std::rint(shown) / shown - 1.0) <= 1e-8) break;
  }
  return FormatReal(shown) + name;
}

// ---------------------------------------------------------------------------
// Value parsing (PostgreSQL's parse_bool, parse_int, parse_real).

bool ParseBool(const std::string& text, bool* out) {
  const size_t len = text.size();
  // True when text is a case-insensitive prefix of `word`, at least min_len long.
  auto abbreviates = [&](const char* word, size_t min_len) {
    return len >= min_len && len <= std::strlen(word) &&
           EqualsIgnoreCase(text, std::string_view(word, len));
  };
  if (len == 0) return false;
  std::optional<bool> result;
  switch (text[0]) {
    case 't':
    case 'T':
      if (abbreviates("true", 1)) result = true;
      break;
    case 'f':
    case 'F':
      if (abbreviates("false", 1)) result = false;
      break;
    case 'y':
    case 'Y':
      if (abbreviates("yes", 1)) result = true;
      break;
    case 'n':
    case 'N':
      if (abbreviates("no", 1)) result = false;
      break;
    case 'o':
    case 'O':
      // A lone "o" could be either.
      if (abbreviates("on", 2)) {
        result = true;
      } else if (abbreviates("off", 2)) {
        result = false;
      }
      break;
    case '1':
      if (len == 1) result = true;
      break;
    case '0':
      if (len == 1) result = false;
      break;
    default:
      break;
  }
  if (!result.has_value()) return false;
  *out = *result;
  return true;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Decimal, octal or hex; a fraction or exponent is accepted and rounded; an
// optional unit converts to `unit`. *hint explains a bad unit or overflow.
bool ParseInt(const std::string& text, int unit, int* out, const char** hint) {
  const char* s = text.c_str();
  char* end = nullptr;
  errno = 0;
  double value = static_cast<double>(std::strtol(s, &end, 0));
  if (*end == '.' || *end == 'e' || *end == 'E' || errno == ERANGE) {
    errno = 0;
    value = std::strtod(s, &end);
  }
  if (end == s || errno == ERANGE || std::isnan(value)) return false;
  while (IsSpace(*end)) end++;
  if (*end != '\0') {
    if (unit == 0) return false;
    if (!ConvertToBaseUnit(value, end, unit, &value)) {
      *hint = (unit & kUnitMemory) ? kMemoryUnitsHint : kTimeUnitsHint;
      return false;
    }
  }
  value = std::rint(value);
  if (value > std::numeric_limits<int>::max() || value < std::numeric_limits<int>::min()) {
    *hint = "Value exceeds integer range.";
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

bool ParseReal(const std::string& text, int unit, double* out, const char** hint) {
  const char* s = text.c_str();
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(s, &end);
  if (end == s || errno == ERANGE || std::isnan(value)) return false;
  while (IsSpace(*end)) end++;
  if (*end != '\0') {
    if (unit == 0) return false;
    if (!ConvertToBaseUnit(value, end, unit, &value)) {
      *hint = (unit & kUnitMemory) ? kMemoryUnitsHint : kTimeUnitsHint;
      return false;
    }
  }
  *out = value;
  return true;
}

// ---------------------------------------------------------------------------
// The registry.

struct Value {
  bool b = false;
  int i = 0;
  double r = 0;
  std::optional<std::string> s;  // nullopt: a NULL string
  bool operator==(const Value&) const = default;
};

struct EnumEntry {
  std::string name;
  int value;
  bool hidden;
};

struct Variable {
  std::string name;
  std::string short_desc;
  VarType type = VarType::kString;
  Context context = Context::kUserset;
  int flags = 0;

  Source source = Source::kDefault;
  Context scontext = Context::kInternal;
  Source reset_source = Source::kDefault;
  Context reset_scontext = Context::kInternal;
  std::string source_file;
  int source_line = 0;
  bool in_file = false;  // named by the configuration file being applied
  bool pending_restart = false;

  bool* bool_addr = nullptr;
  int* int_addr = nullptr;  // int and enum
  double* real_addr = nullptr;
  char** string_addr = nullptr;
  char* placeholder_storage = nullptr;  // string_addr of a placeholder

  Value boot;
  Value reset;
  int int_min = 0, int_max = 0;
  double real_min = 0, real_max = 0;
  std::vector<EnumEntry> options;

  BoolCheck bool_check;
  IntCheck int_check;
  RealCheck real_check;
  StringCheck string_check;
  EnumCheck enum_check;
  BoolAssign bool_assign;
  IntAssign int_assign;
  RealAssign real_assign;
  StringAssign string_assign;
  EnumAssign enum_assign;

  int unit() const { return flags & kUnit; }
  bool is_placeholder() const { return (flags & kCustomPlaceholder) != 0; }
};

struct Registry {
  std::map<std::string, std::unique_ptr<Variable>> vars;  // key: lower-case name
  std::vector<std::string> reserved_prefixes;             // lower-case
};

Registry& Reg() {
  static auto* registry = new Registry();  // never destroyed: strings stay valid at exit
  return *registry;
}

Variable* Find(std::string_view name) {
  auto it = Reg().vars.find(Lower(name));
  return it == Reg().vars.end() ? nullptr : it->second.get();
}

void FreeStorage(Variable& v) {
  if (v.type == VarType::kString && v.string_addr != nullptr) {
    std::free(*v.string_addr);
    *v.string_addr = nullptr;
  }
}

Value Current(const Variable& v) {
  Value val;
  switch (v.type) {
    case VarType::kBool:
      val.b = *v.bool_addr;
      break;
    case VarType::kInt:
    case VarType::kEnum:
      val.i = *v.int_addr;
      break;
    case VarType::kReal:
      val.r = *v.real_addr;
      break;
    case VarType::kString:
      if (*v.string_addr != nullptr) val.s = *v.string_addr;
      break;
  }
  return val;
}

const char* EnumName(const Variable& v, int value) {
  for (const EnumEntry& e : v.options) {
    if (e.value == value) return e.name.c_str();
  }
  return nullptr;
}

std::string EnumList(const Variable& v) {
  std::string out;
  for (const EnumEntry& e : v.options) {
    if (e.hidden) continue;
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

std::string Format(const Variable& v, const Value& val, bool with_units) {
  switch (v.type) {
    case VarType::kBool:
      return val.b ? "on" : "off";
    case VarType::kInt:
      return with_units ? FormatIntWithUnit(val.i, v.unit()) : std::to_string(val.i);
    case VarType::kReal:
      return with_units ? FormatRealWithUnit(val.r, v.unit()) : FormatReal(val.r);
    case VarType::kString:
      return val.s.value_or("");
    case VarType::kEnum: {
      const char* name = EnumName(v, val.i);
      return name != nullptr ? name : std::to_string(val.i);
    }
  }
  return "";
}

ErrorReport InvalidValue(std::string_view name, const std::string& value) {
  return GucError(StringPrintf("invalid value for parameter \"%.*s\": \"%s\"",
                               static_cast<int>(name.size()), name.data(), value.c_str()),
                  "", "");
}

// Text -> typed value, with the range checks. `name` is as the caller spelt it.
bool Parse(const Variable& v, std::string_view name, const std::string& text, Value* out,
           ErrorReport* err) {
  const int n = static_cast<int>(name.size());
  const char* hint = nullptr;
  switch (v.type) {
    case VarType::kBool:
      if (!ParseBool(text, &out->b)) {
        *err = GucError(StringPrintf("parameter \"%.*s\" requires a Boolean value", n, name.data()),
                        "", "");
        return false;
      }
      return true;
    case VarType::kInt: {
      if (!ParseInt(text, v.unit(), &out->i, &hint)) {
        *err = InvalidValue(name, text);
        if (hint != nullptr) err->hint = hint;
        return false;
      }
      if (out->i < v.int_min || out->i > v.int_max) {
        const char* unit = UnitLabel(v.unit());
        *err =
            GucError(StringPrintf("%d%s%s is outside the valid range for parameter \"%.*s\" "
                                  "(%d .. %d)",
                                  out->i, unit != nullptr ? " " : "", unit != nullptr ? unit : "",
                                  n, name.data(), v.int_min, v.int_max),
                     "", "");
        return false;
      }
      return true;
    }
    case VarType::kReal: {
      if (!ParseReal(text, v.unit(), &out->r, &hint)) {
        *err = InvalidValue(name, text);
        if (hint != nullptr) err->hint = hint;
        return false;
      }
      if (out->r < v.real_min || out->r > v.real_max) {
        const char* unit = UnitLabel(v.unit());
        *err =
            GucError(StringPrintf("%g%s%s is outside the valid range for parameter \"%.*s\" "
                                  "(%g .. %g)",
                                  out->r, unit != nullptr ? " " : "", unit != nullptr ? unit : "",
                                  n, name.data(), v.real_min, v.real_max),
                     "", "");
        return false;
      }
      return true;
    }
    case VarType::kString:
      // A C string ends at the first NUL, as it will once stored in *addr.
      out->s = std::string(text.c_str());
      return true;
    case VarType::kEnum:
      for (const EnumEntry& e : v.options) {
        if (EqualsIgnoreCase(e.name, std::string_view(text.c_str()))) {
          out->i = e.value;
          return true;
        }
      }
      *err = InvalidValue(name, text);
      err->hint = "Available values: " + EnumList(v) + ".";
      return false;
  }
  return false;
}

// Runs the check hook, which may adjust the value.
bool Check(const Variable& v, std::string_view name, Value* val, ErrorReport* err) {
  ErrorReport why;
  bool ok = true;
  std::string shown;
  switch (v.type) {
    case VarType::kBool:
      if (v.bool_check) ok = v.bool_check(val->b, &why);
      shown = std::to_string(val->b ? 1 : 0);
      break;
    case VarType::kInt:
      if (v.int_check) ok = v.int_check(val->i, &why);
      shown = std::to_string(val->i);
      break;
    case VarType::kReal:
      if (v.real_check) ok = v.real_check(val->r, &why);
      shown = FormatReal(val->r);
      break;
    case VarType::kString:
      // NULL strings (a NULL boot value) are never checked.
      if (v.string_check && val->s.has_value()) {
        ok = v.string_check(*val->s, &why);
        if (ok) val->s = std::string(val->s->c_str());
      }
      shown = "\"" + val->s.value_or("") + "\"";
      break;
    case VarType::kEnum:
      if (v.enum_check) ok = v.enum_check(val->i, &why);
      shown = "\"" + Format(v, *val, false) + "\"";
      break;
  }
  if (ok) return true;
  *err = GucError(StringPrintf("invalid value for parameter \"%.*s\": %s",
                               static_cast<int>(name.size()), name.data(), shown.c_str()),
                  why.detail, why.hint, why.sqlstate.empty() ? "22023" : why.sqlstate);
  return false;
}

// Runs the assign hook and stores the value. Fails only when out of memory.
// Bumped by every Install: lets readers skip re-reading settings that
// cannot have changed (ChangeCount in guc.h).
uint64_t change_count = 0;

bool Install(Variable& v, const Value& val, ErrorReport* err) {
  change_count++;
  switch (v.type) {
    case VarType::kBool:
      if (v.bool_assign) v.bool_assign(val.b);
      *v.bool_addr = val.b;
      return true;
    case VarType::kInt:
      if (v.int_assign) v.int_assign(val.i);
      *v.int_addr = val.i;
      return true;
    case VarType::kEnum:
      if (v.enum_assign) v.enum_assign(val.i);
      *v.int_addr = val.i;
      return true;
    case VarType::kReal:
      if (v.real_assign) v.real_assign(val.r);
      *v.real_addr = val.r;
      return true;
    case VarType::kString: {
      char* copy = nullptr;
      if (val.s.has_value()) {
        copy = strdup(val.s->c_str());
        if (copy == nullptr) {
          *err = GucError("out of memory", "", "", "53200");
          return false;
        }
      }
      if (v.string_assign) v.string_assign(copy);
      char* old = *v.string_addr;
      *v.string_addr = copy;
      std::free(old);
      return true;
    }
  }
  return false;
}

Variable* CreatePlaceholder(std::string_view name, ErrorReport* err) {
  const int n = static_cast<int>(name.size());
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) {
    *err = GucError(StringPrintf("unrecognized configuration parameter \"%.*s\"", n, name.data()),
                    "", "", "42704");
    return nullptr;
  }
  if (!ValidName(name, /*need_dot=*/true)) {
    *err = GucError(StringPrintf("invalid configuration parameter name \"%.*s\"", n, name.data()),
                    "Custom parameter names must be two or more simple identifiers separated by "
                    "dots.",
                    "", "42602");
    return nullptr;
  }
  std::string prefix = Lower(name.substr(0, dot));
  for (const std::string& reserved : Reg().reserved_prefixes) {
    if (reserved == prefix) {
      *err = GucError(StringPrintf("invalid configuration parameter name \"%.*s\"", n, name.data()),
                      StringPrintf("\"%s\" is a reserved prefix.", reserved.c_str()), "", "42602");
      return nullptr;
    }
  }
  auto v = std::make_unique<Variable>();
  v->name = std::string(name);
  v->type = VarType::kString;
  v->context = Context::kUserset;
  v->flags = kCustomPlaceholder | kNoShowAll | kNotInSample;
  v->string_addr = &v->placeholder_storage;
  Variable* raw = v.get();
  Reg().vars[Lower(name)] = std::move(v);
  return raw;
}

enum class Outcome {
  kError,    // *err says why; nothing changed
  kIgnored,  // valid, but the current value stays (priority, context)
  kApplied,  // the value was installed (it may equal the old one)
};

// PostgreSQL's set_config_option. `value` nullptr means RESET (to the boot
// value when source is kDefault, else to the reset value).
Outcome SetInternal(std::string_view name, const std::string* value, Context ctx, Source source,
                    ErrorReport* err) {
  const int n = static_cast<int>(name.size());
  Variable* v = Find(name);
  if (v == nullptr) {
    v = CreatePlaceholder(name, err);
    if (v == nullptr) return Outcome::kError;
  }

  auto refuse = [&](const char* fmt, const char* sqlstate = "55P02") {
    *err = GucError(StringPrintf(fmt, n, name.data()), "", "", sqlstate);
    return Outcome::kError;
  };
  bool prohibit_change = false;
  switch (v->context) {
    case Context::kInternal:
      if (ctx != Context::kInternal) return refuse("parameter \"%.*s\" cannot be changed");
      break;
    case Context::kPostmaster:
      if (ctx == Context::kSighup) {
        // Re-read from the file: report a different value, but never apply it.
        prohibit_change = true;
      } else if (ctx != Context::kPostmaster) {
        return refuse("parameter \"%.*s\" cannot be changed without restarting the server");
      }
      break;
    case Context::kSighup:
      if (ctx != Context::kSighup && ctx != Context::kPostmaster) {
        return refuse("parameter \"%.*s\" cannot be changed now");
      }
      break;
    case Context::kSuBackend:
      if (ctx == Context::kBackend)
        return refuse("permission denied to set parameter \"%.*s\"", "42501");
      [[fallthrough]];
    case Context::kBackend:
      if (ctx != Context::kSighup && ctx != Context::kPostmaster && ctx != Context::kBackend &&
          ctx != Context::kSuBackend && source != Source::kClient) {
        return refuse("parameter \"%.*s\" cannot be set after connection start");
      }
      break;
    case Context::kSuset:
      if (ctx == Context::kUserset || ctx == Context::kBackend) {
        return refuse("permission denied to set parameter \"%.*s\"", "42501");
      }
      break;
    case Context::kUserset:
      break;
  }

  // Values from non-interactive sources also become the reset value.
  const bool make_default =
      source <= Source::kOverride && (value != nullptr || source == Source::kDefault);
  bool change_val = true;
  if (v->source > source) {
    if (!make_default) return Outcome::kIgnored;
    change_val = false;
  }

  Value newval;
  Source new_source = source;
  Context new_ctx = ctx;
  if (value != nullptr) {
    if (!Parse(*v, name, *value, &newval, err)) return Outcome::kError;
    if (!Check(*v, name, &newval, err)) return Outcome::kError;
  } else if (source == Source::kDefault) {
    newval = v->boot;
    if (!Check(*v, name, &newval, err)) return Outcome::kError;
  } else {
    newval = v->reset;
    new_source = v->reset_source;
    new_ctx = v->reset_scontext;
  }

  if (prohibit_change) {
    // A value from a higher-priority source (the command line) is in force:
    // the file's value was never going to apply, so there is nothing to say.
    if (!change_val) return Outcome::kIgnored;
    if (!(newval == Current(*v))) {
      v->pending_restart = true;
      return refuse("parameter \"%.*s\" cannot be changed without restarting the server");
    }
    v->pending_restart = false;
    return Outcome::kIgnored;
  }

  if (change_val) {
    if (!Install(*v, newval, err)) return Outcome::kError;
    v->source = new_source;
    v->scontext = new_ctx;
  }
  if (make_default && v->reset_source <= new_source) {
    v->reset = newval;
    v->reset_source = new_source;
    v->reset_scontext = new_ctx;
  }
  return change_val ? Outcome::kApplied : Outcome::kIgnored;
}

// Shared tail of the Define* functions: validates, initializes to the boot
// value, and takes over a placeholder of the same name.
Status Define(std::unique_ptr<Variable> v) {
  const std::string& name = v->name;
  if (!ValidName(name, /*need_dot=*/false)) {
    return Status::Error(StringPrintf("invalid configuration parameter name \"%s\"", name.c_str()),
                         "42602");
  }
  const std::string key = Lower(name);
  auto it = Reg().vars.find(key);
  if (it != Reg().vars.end() && !it->second->is_placeholder()) {
    return Status::Error(StringPrintf("attempt to redefine parameter \"%s\"", name.c_str()),
                         "XX000");
  }
  ErrorReport err;
  Value boot = v->boot;
  if (!Check(*v, name, &boot, &err)) {
    return Status::Error(
        StringPrintf("failed to initialize parameter \"%s\" to its boot value: ", name.c_str()) +
            Status(err).message(),
        err.sqlstate);
  }
  if (v->type == VarType::kString) *v->string_addr = nullptr;  // not ours to free
  if (!Install(*v, boot, &err)) return Status(err);
  v->reset = boot;

  std::unique_ptr<Variable> placeholder;
  if (it != Reg().vars.end()) placeholder = std::move(it->second);
  Reg().vars[key] = std::move(v);
  if (placeholder == nullptr) return Status::Ok();

  // Re-apply what was set while the name was a placeholder, validated now.
  // A bad value is not the definer's fault: warn and keep the default.
  const Variable& p = *placeholder;
  auto reapply = [&](const std::optional<std::string>& value, Context ctx, Source source) {
    if (!value.has_value()) return;
    ErrorReport e;
    if (SetInternal(name, &*value, ctx, source, &e) == Outcome::kError) {
      Report(log::Level::kWarning, e);
    }
  };
  reapply(p.reset.s, p.reset_scontext, p.reset_source);
  Value current = Current(p);
  if (!(current == p.reset) || p.source != p.reset_source || p.scontext != p.reset_scontext) {
    reapply(current.s, p.scontext, p.source);
  }
  Variable* defined = Find(name);
  if (!p.source_file.empty()) {
    defined->source_file = p.source_file;
    defined->source_line = p.source_line;
  }
  FreeStorage(*placeholder);
  return Status::Ok();
}

std::unique_ptr<Variable> NewVariable(const char* name, const char* short_desc, VarType type,
                                      Context ctx, int flags) {
  auto v = std::make_unique<Variable>();
  v->name = name != nullptr ? name : "";
  v->short_desc = short_desc != nullptr ? short_desc : "";
  v->type = type;
  v->context = ctx;
  v->flags = flags & ~kCustomPlaceholder;
  return v;
}

Status MissingStorage(const char* name) {
  return Status::Error(
      StringPrintf("parameter \"%s\" has no storage", name != nullptr ? name : ""));
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API.

Status DefineBool(const char* name, const char* short_desc, bool* addr, bool boot, Context ctx,
                  int flags, BoolCheck check, BoolAssign assign) {
  if (addr == nullptr) return MissingStorage(name);
  auto v = NewVariable(name, short_desc, VarType::kBool, ctx, flags);
  v->bool_addr = addr;
  v->boot.b = boot;
  v->bool_check = std::move(check);
  v->bool_assign = std::move(assign);
  return Define(std::move(v));
}

Status DefineInt(const char* name, const char* short_desc, int* addr, int boot, int min, int max,
                 Context ctx, int flags, IntCheck check, IntAssign assign) {
  if (addr == nullptr) return MissingStorage(name);
  if (boot < min || boot > max) {
    return Status::Error(StringPrintf("boot value %d of parameter \"%s\" is outside %d .. %d", boot,
                                      name != nullptr ? name : "", min, max));
  }
  auto v = NewVariable(name, short_desc, VarType::kInt, ctx, flags);
  v->int_addr = addr;
  v->boot.i = boot;
  v->int_min = min;
  v->int_max = max;
  v->int_check = std::move(check);
  v->int_assign = std::move(assign);
  return Define(std::move(v));
}

Status DefineReal(const char* name, const char* short_desc, double* addr, double boot, double min,
                  double max, Context ctx, int flags, RealCheck check, RealAssign assign) {
  if (addr == nullptr) return MissingStorage(name);
  if (!(boot >= min && boot <= max)) {
    return Status::Error(StringPrintf("boot value %g of parameter \"%s\" is outside %g .. %g", boot,
                                      name != nullptr ? name : "", min, max));
  }
  auto v = NewVariable(name, short_desc, VarType::kReal, ctx, flags);
  v->real_addr = addr;
  v->boot.r = boot;
  v->real_min = min;
  v->real_max = max;
  v->real_check = std::move(check);
  v->real_assign = std::move(assign);
  return Define(std::move(v));
}

Status DefineString(const char* name, const char* short_desc, char** addr, const char* boot,
                    Context ctx, int flags, StringCheck check, StringAssign assign) {
  if (addr == nullptr) return MissingStorage(name);
  auto v = NewVariable(name, short_desc, VarType::kString, ctx, flags);
  v->string_addr = addr;
  if (boot != nullptr) v->boot.s = boot;
  v->string_check = std::move(check);
  v->string_assign = std::move(assign);
  return Define(std::move(v));
}

Status DefineEnum(const char* name, const char* short_desc, int* addr, int boot,
                  const EnumOption* options, Context ctx, int flags, EnumCheck check,
                  EnumAssign assign) {
  if (addr == nullptr || options == nullptr) return MissingStorage(name);
  auto v = NewVariable(name, short_desc, VarType::kEnum, ctx, flags);
  for (const EnumOption* o = options; o->name != nullptr; o++) {
    v->options.push_back(EnumEntry{o->name, o->value, o->hidden});
  }
  if (EnumName(*v, boot) == nullptr) {
    return Status::Error(StringPrintf("boot value %d of parameter \"%s\" is not one of its options",
                                      boot, v->name.c_str()));
  }
  v->int_addr = addr;
  v->boot.i = boot;
  v->enum_check = std::move(check);
  v->enum_assign = std::move(assign);
  return Define(std::move(v));
}

void MarkPrefixReserved(std::string_view prefix) {
  const std::string lower = Lower(prefix);
  auto& vars = Reg().vars;
  for (auto it = vars.begin(); it != vars.end();) {
    Variable& v = *it->second;
    if (v.is_placeholder() && it->first.size() > lower.size() &&
        it->first.compare(0, lower.size(), lower) == 0 && it->first[lower.size()] == '.') {
      Report(log::Level::kWarning,
             GucError(StringPrintf("invalid configuration parameter name \"%s\", removing it",
                                   v.name.c_str()),
                      StringPrintf("\"%.*s\" is now a reserved prefix.",
                                   static_cast<int>(prefix.size()), prefix.data()),
                      ""));
      FreeStorage(v);
      it = vars.erase(it);
    } else {
      ++it;
    }
  }
  Reg().reserved_prefixes.push_back(lower);
}

bool IsDefined(std::string_view name) {
  const Variable* v = Find(name);
  return v != nullptr && !v->is_placeholder();
}

Status SetOption(std::string_view name, std::string_view value, Context caller_context,
                 Source source) {
  ErrorReport err;
  std::string text(value);
  if (SetInternal(name, &text, caller_context, source, &err) == Outcome::kError) {
    return Status(err);
  }
  return Status::Ok();
}

Status ResetOption(std::string_view name, Context caller_context) {
  ErrorReport err;
  if (SetInternal(name, nullptr, caller_context, Source::kSession, &err) == Outcome::kError) {
    return Status(err);
  }
  return Status::Ok();
}

Result<std::string> GetConfigOption(std::string_view name) {
  const Variable* v = Find(name);
  if (v == nullptr) {
    return Status::Error(StringPrintf("unrecognized configuration parameter \"%.*s\"",
                                      static_cast<int>(name.size()), name.data()),
                         "42704");
  }
  return Format(*v, Current(*v), true);
}

uint64_t ChangeCount() { return change_count; }

std::string ShowValue(std::string_view name) {
  Result<std::string> r = GetConfigOption(name);
  return r.ok() ? *r : std::string();
}

Status SetFromCommandLine(std::string_view assignment) {
  const std::string arg(assignment);
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    return Status::Error(
        StringPrintf("invalid command-line argument \"-c %s\": expected name=value", arg.c_str()));
  }
  std::string name(assignment.substr(0, eq));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  std::string value(assignment.substr(eq + 1));
  ErrorReport err;
  if (SetInternal(name, &value, Context::kPostmaster, Source::kArgv, &err) == Outcome::kError) {
    err.message =
        StringPrintf("invalid command-line argument \"-c %s\": ", arg.c_str()) + err.message;
    return Status(err);
  }
  return Status::Ok();
}

// PostgreSQL's ProcessConfigFileInternal, reduced to what a server without
// ALTER SYSTEM needs.
Status ProcessConfigFile(const std::string& path, Phase phase, log::Level report_level) {
  const bool startup = phase == Phase::kStartup;
  const Context ctx = startup ? Context::kPostmaster : Context::kSighup;
  auto no_changes = [&]() {
    ErrorReport summary =
        GucError(StringPrintf("configuration file \"%s\" contains errors; no changes were applied",
                              path.c_str()),
                 "", "", "F0000");
    Report(report_level, summary);
    return Status(summary);
  };

  internal::ParsedConfig parsed = internal::ParseConfigFileAll(path);
  if (!parsed.errors.empty()) {
    for (const ErrorReport& e : parsed.errors) Report(report_level, e);
    return startup ? Status(parsed.errors.front()) : no_changes();
  }
  std::vector<ConfigItem>& items = parsed.items;

  // The later of two lines for one setting wins; the earlier is never applied.
  std::vector<bool> superseded(items.size(), false);
  {
    std::unordered_map<std::string, size_t> last;
    for (size_t i = 0; i < items.size(); i++) {
      auto [pos, inserted] = last.try_emplace(Lower(items[i].name), i);
      if (!inserted) {
        superseded[pos->second] = true;
        pos->second = i;
      }
    }
  }

  auto item_error = [](const ConfigItem& item, const ErrorReport& e) {
    ErrorReport out = e;
    out.message =
        StringPrintf("configuration file \"%s\" line %d: ", item.file.c_str(), item.line) +
        e.message;
    return out;
  };
  std::optional<ErrorReport> first_error;
  auto fail = [&](const ErrorReport& e) {
    Report(report_level, e);
    if (!first_error) first_error = e;
  };

  // Unknown plain names are a quasi-syntax error: every process must agree on
  // whether the file is acceptable, so nothing is applied. Dotted names may
  // belong to modules not loaded yet and become placeholders.
  for (auto& [key, v] : Reg().vars) v->in_file = false;
  for (size_t i = 0; i < items.size(); i++) {
    if (superseded[i]) continue;
    if (Variable* v = Find(items[i].name); v != nullptr) {
      v->in_file = true;
    } else if (!ValidName(items[i].name, /*need_dot=*/true)) {
      fail(item_error(items[i], GucError(StringPrintf("unrecognized configuration parameter \"%s\"",
                                                      items[i].name.c_str()),
                                         "", "", "42704")));
    }
  }
  if (first_error) return startup ? Status(*first_error) : no_changes();

  // Settings that came from the file but are no longer in it go back to
  // their defaults (unless a higher source, like the command line, set them).
  std::vector<Variable*> removed;
  for (auto& [key, v] : Reg().vars) {
    if (v->reset_source == Source::kFile && !v->in_file) removed.push_back(v.get());
  }
  for (Variable* v : removed) {
    if (v->context < Context::kSighup && !startup) {
      v->pending_restart = true;
      fail(GucError(StringPrintf("parameter \"%s\" cannot be changed without restarting the server",
                                 v->name.c_str()),
                    "", ""));
      continue;
    }
    v->reset_source = Source::kDefault;
    if (v->source == Source::kFile) v->source = Source::kDefault;
    const std::string name = v->name;
    ErrorReport err;
    if (SetInternal(name, nullptr, ctx, Source::kDefault, &err) == Outcome::kApplied) {
      v->source_file.clear();
      v->source_line = 0;
      if (!startup) {
        Report(report_level,
               GucError(StringPrintf("parameter \"%s\" removed from configuration file, reset to "
                                     "default",
                                     name.c_str()),
                        "", ""));
      }
    } else if (!err.message.empty()) {
      fail(err);
    }
  }

  for (size_t i = 0; i < items.size(); i++) {
    if (superseded[i]) continue;
    const ConfigItem& item = items[i];
    std::string before = ShowValue(item.name);
    ErrorReport err;
    Outcome outcome = SetInternal(item.name, &item.value, ctx, Source::kFile, &err);
    if (outcome == Outcome::kError) {
      fail(item_error(item, err));
      continue;
    }
    Variable* v = Find(item.name);
    if (v != nullptr && v->reset_source <= Source::kFile) {
      v->source_file = item.file;
      v->source_line = item.line;
    }
    if (outcome == Outcome::kApplied && !startup && ShowValue(item.name) != before) {
      Report(report_level, GucError(StringPrintf("parameter \"%s\" changed to \"%s\"",
                                                 item.name.c_str(), item.value.c_str()),
                                    "", ""));
    }
  }

  if (!first_error) return Status::Ok();
  if (startup) return Status(*first_error);
  ErrorReport summary = GucError(
      StringPrintf("configuration file \"%s\" contains errors; unaffected changes were applied",
                   path.c_str()),
      "", "", "F0000");
  Report(report_level, summary);
  return Status(summary);
}

std::vector<VariableInfo> AllVariables() {
  std::vector<VariableInfo> out;
  for (const auto& [key, vp] : Reg().vars) {
    const Variable& v = *vp;
    if (v.flags & kNoShowAll) continue;
    VariableInfo info;
    info.name = v.name;
    info.type = v.type;
    Value current = Current(v);
    info.setting = Format(v, current, false);
    info.shown = Format(v, current, true);
    const char* unit = UnitLabel(v.unit());
    if (unit != nullptr && (v.type == VarType::kInt || v.type == VarType::kReal)) info.unit = unit;
    info.context = v.context;
    info.source = v.source;
    info.short_desc = v.short_desc;
    if (v.type == VarType::kInt) {
      info.min_val = std::to_string(v.int_min);
      info.max_val = std::to_string(v.int_max);
    } else if (v.type == VarType::kReal) {
      info.min_val = FormatReal(v.real_min);
      info.max_val = FormatReal(v.real_max);
    } else if (v.type == VarType::kEnum) {
      for (const EnumEntry& e : v.options) {
        if (!e.hidden) info.enum_values.push_back(e.name);
      }
    }
    info.boot_val = Format(v, v.boot, false);
    info.reset_val = Format(v, v.reset, false);
    info.boot_shown = Format(v, v.boot, true);
    info.source_file = v.source_file;
    info.source_line = v.source_line;
    info.pending_restart = v.pending_restart;
    info.flags = v.flags;
    out.push_back(std::move(info));
  }
  return out;
}

const char* ContextName(Context context) {
  switch (context) {
    case Context::kInternal:
      return "internal";
    case Context::kPostmaster:
      return "postmaster";
    case Context::kSighup:
      return "sighup";
    case Context::kSuBackend:
      return "superuser-backend";
    case Context::kBackend:
      return "backend";
    case Context::kSuset:
      return "superuser";
    case Context::kUserset:
      return "user";
  }
  return "???";
}

const char* SourceName(Source source) {
  switch (source) {
    case Source::kDefault:
    case Source::kDynamicDefault:
      return "default";
    case Source::kEnvVar:
      return "environment variable";
    case Source::kFile:
      return "configuration file";
    case Source::kArgv:
      return "command line";
    case Source::kGlobal:
      return "global";
    case Source::kDatabase:
      return "database";
    case Source::kUser:
      return "user";
    case Source::kDatabaseUser:
      return "database user";
    case Source::kClient:
      return "client";
    case Source::kOverride:
      return "override";
    case Source::kInteractive:
      return "interactive";
    case Source::kTest:
      return "test";
    case Source::kSession:
      return "session";
  }
  return "???";
}

void ResetForTesting() {
  for (auto& [key, v] : Reg().vars) FreeStorage(*v);
  Reg().vars.clear();
  Reg().reserved_prefixes.clear();
}

void SetReportSinkForTesting(std::function<void(const log::Message&)> sink) {
  internal::ReportSink() = std::move(sink);
}

}  // namespace bgw::guc
