// Built-in SQL functions and interrupt checks (see functions.h).
#include "sql/functions.h"

#include <regex.h>
#include <sqlite3.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "common/strutil.h"
#include "guc/guc.h"
#include "postgres/miscadmin.h"
#include "postgres/pg_config.h"
#include "postgres/storage/latch.h"
#include "postgres/utils/wait_event.h"
#include "sql/array_text.h"
#include "sql/session_internal.h"
#include "sql/system.h"
#include "sql/value.h"

namespace bgw::sql::functions {

Value ArgValue(sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
      return Value::Int(sqlite3_value_int64(v));
    case SQLITE_FLOAT:
      return Value::Real(sqlite3_value_double(v));
    case SQLITE_TEXT:
      return Value::Text(std::string(reinterpret_cast<const char*>(sqlite3_value_text(v)),
                                     static_cast<size_t>(sqlite3_value_bytes(v))));
    case SQLITE_BLOB: {
      const void* p = sqlite3_value_blob(v);
      int n = sqlite3_value_bytes(v);
      return Value::Blob(n > 0 ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
                               : std::string());
    }
    default:
      return Value::Null();
  }
}

void ResultValue(sqlite3_context* c, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      sqlite3_result_null(c);
      break;
    case Value::Kind::kInt:
      sqlite3_result_int64(c, v.i);
      break;
    case Value::Kind::kReal:
      sqlite3_result_double(c, v.d);
      break;
    case Value::Kind::kText:
      sqlite3_result_text(c, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT);
      break;
    case Value::Kind::kBlob:
      sqlite3_result_blob(c, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT);
      break;
  }
}

namespace {

FunctionContext* Ctx(sqlite3_context* c) {
  return static_cast<FunctionContext*>(sqlite3_user_data(c));
}

void ResultText(sqlite3_context* c, const std::string& s) {
  sqlite3_result_text(c, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

// Fails the current call with a PostgreSQL error the session reports as is.
void Fail(sqlite3_context* c, ErrorReport error) {
  std::string message = error.message;
  Ctx(c)->error = std::move(error);
  sqlite3_result_error(c, message.c_str(), -1);
}

const char* RangeMessage(uint32_t type) {
  switch (type) {
    case oid::kInt2:
      return "smallint out of range";
    case oid::kInt4:
      return "integer out of range";
    case oid::kOid:
      return "OID out of range";
    default:
      return "bigint out of range";
  }
}

bool InRange(int64_t v, uint32_t type) {
  switch (type) {
    case oid::kInt2:
      return v >= -32768 && v <= 32767;
    case oid::kInt4:
      return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    case oid::kOid:
      return v >= 0 && v <= 4294967295LL;
    default:
      return true;
  }
}

// bgw_cast(value, type_oid): PostgreSQL's cast semantics for the types
// SQLite's CAST gets wrong (text 'abc' to integer is an error, not 0).
void CastFunc(sqlite3_context* c, int, sqlite3_value** argv) {
  Value v = ArgValue(argv[0]);
  auto type = static_cast<uint32_t>(sqlite3_value_int64(argv[1]));
  if (v.is_null()) {
    sqlite3_result_null(c);
    return;
  }
  if (v.kind == Value::Kind::kBlob && type != oid::kBytea) {
    Fail(c, MakeError("42846", StringPrintf("cannot cast type bytea to %s", TypeName(type))));
    return;
  }
  switch (type) {
    case oid::kBool:
      if (v.kind == Value::Kind::kInt) {
        sqlite3_result_int(c, v.i != 0);
        return;
      }
      if (v.kind == Value::Kind::kReal) {
        Fail(c, MakeError("42846", "cannot cast type double precision to boolean"));
        return;
      }
      break;
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
    case oid::kOid:
      if (v.kind == Value::Kind::kInt) {
        if (!InRange(v.i, type)) return Fail(c, MakeError("22003", RangeMessage(type)));
        sqlite3_result_int64(c, v.i);
        return;
      }
      if (v.kind == Value::Kind::kReal) {
        double r = std::nearbyint(v.d);  // PostgreSQL rounds half to even
        if (std::isnan(r) || r < -9.2233720368547758e18 || r >= 9.2233720368547758e18 ||
            !InRange(static_cast<int64_t>(r), type)) {
          return Fail(c, MakeError("22003", RangeMessage(type)));
        }
        sqlite3_result_int64(c, static_cast<int64_t>(r));
        return;
      }
      break;
    case oid::kFloat4:
    case oid::kFloat8:
      if (v.kind == Value::Kind::kInt) {
        sqlite3_result_double(c, static_cast<double>(v.i));
        return;
      }
      if (v.kind == Value::Kind::kReal) {
        sqlite3_result_double(c, type == oid::kFloat4 ? static_cast<float>(v.d) : v.d);
        return;
      }
      break;
    case oid::kNumeric:
      if (v.kind != Value::Kind::kText) {
        ResultValue(c, v);
        return;
      }
      break;
    default:
      ResultValue(c, v);
      return;
  }
  Result<Value> parsed = ParseText(v.s, type);
  if (!parsed.ok()) return Fail(c, parsed.error());
  ResultValue(c, *parsed);
}

void VersionFunc(sqlite3_context* c, int, sqlite3_value**) {
  // PostgreSQL's API version (pg_config.h), then ours: clients parse the first.
  ResultText(c, StringPrintf("PostgreSQL %s (bgworker) on x86_64-pc-linux-gnu, bgworker %s",
                             PG_VERSION, BGW_VERSION_STRING));
}

void CurrentDatabaseFunc(sqlite3_context* c, int, sqlite3_value**) {
  ResultText(c, Ctx(c)->info->database_name);
}

void CurrentUserFunc(sqlite3_context* c, int, sqlite3_value**) {
  ResultText(c, Ctx(c)->info->role_name);
}

void SessionUserFunc(sqlite3_context* c, int, sqlite3_value**) {
  const SessionInfo* info = Ctx(c)->info;
  ResultText(c, info->session_role_name.empty() ? info->role_name : info->session_role_name);
}

void CurrentSchemaFunc(sqlite3_context* c, int, sqlite3_value**) { ResultText(c, "public"); }

void NowFunc(sqlite3_context* c, int, sqlite3_value**) {
  FunctionContext* ctx = Ctx(c);
  int64_t t = ctx->transaction_start_us != 0 ? ctx->transaction_start_us : NowMicros();
  ResultText(c, system::FormatTimestamp(t));
}

void StatementTimestampFunc(sqlite3_context* c, int, sqlite3_value**) {
  FunctionContext* ctx = Ctx(c);
  int64_t t = ctx->statement_start_us != 0 ? ctx->statement_start_us : NowMicros();
  ResultText(c, system::FormatTimestamp(t));
}

void ClockTimestampFunc(sqlite3_context* c, int, sqlite3_value**) {
  ResultText(c, system::FormatTimestamp(NowMicros()));
}

void BackendPidFunc(sqlite3_context* c, int, sqlite3_value**) {
  sqlite3_result_int64(c, static_cast<int64_t>(getpid()));
}

void FalseFunc(sqlite3_context* c, int, sqlite3_value**) { sqlite3_result_int(c, 0); }

void SleepFunc(sqlite3_context* c, int, sqlite3_value** argv) {
  FunctionContext* ctx = Ctx(c);
  Value v = ArgValue(argv[0]);
  double seconds = 0;
  if (v.kind == Value::Kind::kInt) {
    seconds = static_cast<double>(v.i);
  } else if (v.kind == Value::Kind::kReal) {
    seconds = v.d;
  } else if (v.kind == Value::Kind::kText) {
    Result<Value> parsed = ParseText(v.s, oid::kFloat8);
    if (!parsed.ok()) return Fail(c, parsed.error());
    seconds = parsed->d;
  }
  if (MyLatch == nullptr) InitializeLatchSupport();
  const int64_t end = NowMicros() + static_cast<int64_t>(std::max(0.0, seconds) * 1e6);
  while (true) {
    if (CheckInterrupts(ctx) != Interrupt::kNone) {
      sqlite3_result_error(c, "interrupted", -1);
      return;
    }
    int64_t now = NowMicros();
    int64_t wake = end;
    if (ctx->deadline_us != 0) wake = std::min(wake, ctx->deadline_us);
    if (now >= end) break;
    // Round up so we never wake just before the deadline and spin.
    long timeout_ms = static_cast<long>((std::max<int64_t>(wake - now, 0) + 999) / 1000);
    WaitLatch(MyLatch, WL_TIMEOUT | WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, std::max(timeout_ms, 1L),
              WAIT_EVENT_PG_SLEEP);
    ResetLatch(MyLatch);
  }
  sqlite3_result_null(c);
}

void CurrentSettingFunc(sqlite3_context* c, int argc, sqlite3_value** argv) {
  const char* name = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  if (name == nullptr) return sqlite3_result_null(c);
  Result<std::string> value = guc::GetConfigOption(name);
  if (!value.ok()) {
    if (argc > 1 && sqlite3_value_int(argv[1]) != 0) return sqlite3_result_null(c);
    return Fail(c, MakeError("42704", value.status().message()));
  }
  ResultText(c, *value);
}

// set_config(name, value, is_local): SET from SQL. The change is not undone
// by a rollback (unlike SET); is_local is accepted and ignored.
void SetConfigFunc(sqlite3_context* c, int, sqlite3_value** argv) {
  const char* name = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const char* value = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  if (name == nullptr) {
    return Fail(c, MakeError("22004", "SET requires parameter name"));
  }
  const bool superuser = Ctx(c)->info != nullptr && Ctx(c)->info->superuser;
  Status s =
      value == nullptr
          ? guc::ResetOption(name, superuser ? guc::Context::kSuset : guc::Context::kUserset)
          : guc::SetOption(name, value, superuser ? guc::Context::kSuset : guc::Context::kUserset,
                           guc::Source::kSession);
  if (!s.ok()) return Fail(c, internal::SettingsError(s));
  ResultText(c, guc::ShowValue(name));
}

// string_agg(value, delimiter): PostgreSQL's spelling of group_concat, with
// NULL values skipped and NULL for no rows.
void StringAggStep(sqlite3_context* c, int, sqlite3_value** argv) {
  auto** acc = static_cast<std::string**>(sqlite3_aggregate_context(c, sizeof(std::string*)));
  if (acc == nullptr) return sqlite3_result_error_nomem(c);
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int n = sqlite3_value_bytes(argv[0]);
  if (*acc == nullptr) {
    *acc = new std::string();
  } else if (sqlite3_value_type(argv[1]) != SQLITE_NULL) {
    const auto* d = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
    (*acc)->append(d, static_cast<size_t>(sqlite3_value_bytes(argv[1])));
  }
  (*acc)->append(text != nullptr ? text : "", static_cast<size_t>(n));
}

void StringAggFinal(sqlite3_context* c) {
  auto** acc = static_cast<std::string**>(sqlite3_aggregate_context(c, 0));
  if (acc == nullptr || *acc == nullptr) return sqlite3_result_null(c);
  ResultText(c, **acc);
  delete *acc;
  *acc = nullptr;
}

// greatest(...)/least(...): PostgreSQL ignores NULL arguments (SQLite's
// multi-argument max/min return NULL if any is NULL).
template <bool kGreatest>
void ExtremeFunc(sqlite3_context* c, int argc, sqlite3_value** argv) {
  sqlite3_value* best = nullptr;
  for (int k = 0; k < argc; ++k) {
    sqlite3_value* v = argv[k];
    if (sqlite3_value_type(v) == SQLITE_NULL) continue;
    if (best == nullptr) {
      best = v;
      continue;
    }
    const int tb = sqlite3_value_numeric_type(best), tv = sqlite3_value_numeric_type(v);
    int cmp;
    const bool nb = tb == SQLITE_INTEGER || tb == SQLITE_FLOAT;
    const bool nv = tv == SQLITE_INTEGER || tv == SQLITE_FLOAT;
    if (nb && nv) {
      if (tb == SQLITE_INTEGER && tv == SQLITE_INTEGER) {
        const int64_t a = sqlite3_value_int64(v), b = sqlite3_value_int64(best);
        cmp = a < b ? -1 : a > b ? 1 : 0;
      } else {
        const double a = sqlite3_value_double(v), b = sqlite3_value_double(best);
        cmp = a < b ? -1 : a > b ? 1 : 0;
      }
    } else if (nb != nv) {
      cmp = nv ? -1 : 1;  // numbers sort before text, as in SQLite
    } else {
      const std::string a(reinterpret_cast<const char*>(sqlite3_value_text(v)),
                          static_cast<size_t>(sqlite3_value_bytes(v)));
      const std::string b(reinterpret_cast<const char*>(sqlite3_value_text(best)),
                          static_cast<size_t>(sqlite3_value_bytes(best)));
      cmp = a.compare(b);
    }
    if (kGreatest ? cmp > 0 : cmp < 0) best = v;
  }
  if (best == nullptr) return sqlite3_result_null(c);
  sqlite3_result_value(c, best);
}

int Progress(void* arg) {
  return CheckInterrupts(static_cast<FunctionContext*>(arg)) != Interrupt::kNone ? 1 : 0;
}

}  // namespace

int64_t NowMicros() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

Interrupt CheckInterrupts(FunctionContext* ctx) {
  if (ctx->interrupt != Interrupt::kNone) return ctx->interrupt;
  if (ProcDiePending) {
    ProcDiePending = 0;
    ctx->interrupt = Interrupt::kDie;
  } else if (QueryCancelPending) {
    QueryCancelPending = 0;
    ctx->interrupt = Interrupt::kCancel;
  } else if (ctx->deadline_us != 0 && NowMicros() >= ctx->deadline_us) {
    ctx->interrupt = Interrupt::kTimeout;
  }
  if (ctx->interrupt != Interrupt::kNone && !ProcDiePending && !QueryCancelPending) {
    InterruptPending = 0;
  }
  return ctx->interrupt;
}

ErrorReport InterruptError(Interrupt reason) {
  switch (reason) {
    case Interrupt::kDie: {
      ErrorReport e = MakeError("57P01", "terminating connection due to administrator command");
      e.severity = "FATAL";
      return e;
    }
    case Interrupt::kTimeout:
      return MakeError("57014", "canceling statement due to statement timeout");
    default:
      return MakeError("57014", "canceling statement due to user request");
  }
}

namespace {

// ---- regular expressions (the ~ operators; lexer.h rewrites them) ----------

// A compiled pattern, kept by SQLite with the statement's constant
// argument (sqlite3_set_auxdata) so a scan compiles it once.
struct Compiled {
  regex_t re;
};

void FreeCompiled(void* p) {
  auto* c = static_cast<Compiled*>(p);
  regfree(&c->re);
  delete c;
}

// regexp(pattern, value) for `value REGEXP pattern` (PostgreSQL's ~), and
// match() for ~*, case-insensitive. POSIX extended expressions: the common
// part of PostgreSQL's advanced ones (anchors, classes, groups, |, ?, +, *,
// {m,n}, bracket expressions).
template <bool kIgnoreCase>
void RegexpFunc(sqlite3_context* c, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(c);
    return;
  }
  auto* compiled = static_cast<Compiled*>(sqlite3_get_auxdata(c, 0));
  if (compiled == nullptr) {
    const std::string pattern(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])),
                              static_cast<size_t>(sqlite3_value_bytes(argv[0])));
    auto* fresh = new Compiled{};
    const int rc = regcomp(&fresh->re, pattern.c_str(),
                           REG_EXTENDED | REG_NOSUB | (kIgnoreCase ? REG_ICASE : 0));
    if (rc != 0) {
      char why[256];
      regerror(rc, &fresh->re, why, sizeof why);
      delete fresh;
      Fail(c, MakeError("2201B", StringPrintf("invalid regular expression: %s", why)));
      return;
    }
    sqlite3_set_auxdata(c, 0, fresh, FreeCompiled);
    compiled = static_cast<Compiled*>(sqlite3_get_auxdata(c, 0));
    if (compiled == nullptr) {  // SQLite could not keep it: use it once
      compiled = new Compiled{};
      (void)regcomp(&compiled->re, pattern.c_str(),
                    REG_EXTENDED | REG_NOSUB | (kIgnoreCase ? REG_ICASE : 0));
      std::unique_ptr<Compiled, void (*)(void*)> once(compiled, FreeCompiled);
      const std::string value(reinterpret_cast<const char*>(sqlite3_value_text(argv[1])),
                              static_cast<size_t>(sqlite3_value_bytes(argv[1])));
      sqlite3_result_int(c, regexec(&compiled->re, value.c_str(), 0, nullptr, 0) == 0 ? 1 : 0);
      return;
    }
  }
  const std::string value(reinterpret_cast<const char*>(sqlite3_value_text(argv[1])),
                          static_cast<size_t>(sqlite3_value_bytes(argv[1])));
  sqlite3_result_int(c, regexec(&compiled->re, value.c_str(), 0, nullptr, 0) == 0 ? 1 : 0);
}

// ---- arrays in text form (array_text.h) --------------------------------------

// bgw_array_agg(v): ARRAY(subquery)'s rows as {a,b}; '{}' for none.
void ArrayAggStep(sqlite3_context* c, int, sqlite3_value** argv) {
  auto** acc = static_cast<TextArray**>(sqlite3_aggregate_context(c, sizeof(TextArray*)));
  if (acc == nullptr) return;
  if (*acc == nullptr) *acc = new TextArray();
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    (*acc)->emplace_back(std::nullopt);
  } else {
    (*acc)->emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])),
                                     static_cast<size_t>(sqlite3_value_bytes(argv[0]))));
  }
}

void ArrayAggFinal(sqlite3_context* c) {
  auto** acc = static_cast<TextArray**>(sqlite3_aggregate_context(c, 0));
  const std::string out = FormatTextArray(acc != nullptr && *acc != nullptr ? **acc : TextArray{});
  if (acc != nullptr) delete *acc;
  ResultText(c, out);
}

// bgw_array_json(array text): the elements as a JSON array for json_each
// (= ANY (array)); integers stay numbers so they compare with integers.
void ArrayJsonFunc(sqlite3_context* c, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(c);
    return;
  }
  const std::string text(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])),
                         static_cast<size_t>(sqlite3_value_bytes(argv[0])));
  std::optional<TextArray> elements = ParseTextArray(text);
  if (!elements) {
    Fail(c, MakeError("22P02", StringPrintf("malformed array literal: \"%s\"", text.c_str())));
    return;
  }
  std::string out = "[";
  for (size_t i = 0; i < elements->size(); i++) {
    if (i > 0) out += ',';
    const std::optional<std::string>& e = (*elements)[i];
    if (!e) {
      out += "null";
      continue;
    }
    const bool integer = !e->empty() && e->size() < 19 &&
                         std::all_of(e->begin() + (e->front() == '-' ? 1 : 0), e->end(),
                                     [](char ch) { return ch >= '0' && ch <= '9'; }) &&
                         *e != "-";
    if (integer) {
      out += *e;
      continue;
    }
    out += '"';
    for (char ch : *e) {
      if (ch == '"' || ch == '\\') {
        out += '\\';
        out += ch;
      } else if (static_cast<unsigned char>(ch) < 0x20) {
        out += StringPrintf("\\u%04x", ch);
      } else {
        out += ch;
      }
    }
    out += '"';
  }
  ResultText(c, out + "]");
}

// pg_get_expr(expression, relation): stored expressions are kept as SQL
// text already.
void GetExprFunc(sqlite3_context* c, int, sqlite3_value** argv) {
  sqlite3_result_value(c, argv[0]);
}

// Flags: SQLITE_INNOCUOUS for what may run inside a view, trigger, default
// or index expression someone else defined (with trusted_schema off nothing
// else may: sandbox.h); SQLITE_DIRECTONLY for what changes session state or
// waits, which only a statement the client sent may do.
constexpr int kPure = SQLITE_INNOCUOUS | SQLITE_DETERMINISTIC;
constexpr int kSafe = SQLITE_INNOCUOUS;
constexpr int kDirect = SQLITE_DIRECTONLY;

const builtins::Function kFunctions[] = {
    {"bgw_cast", 2, 0, kPure, CastFunc},
    {"version", 0, oid::kText, kPure, VersionFunc},
    {"current_database", 0, oid::kName, kSafe, CurrentDatabaseFunc},
    {"current_user", 0, oid::kName, kSafe, CurrentUserFunc},
    {"session_user", 0, oid::kName, kSafe, SessionUserFunc},
    {"user", 0, oid::kName, kSafe, CurrentUserFunc},
    {"current_role", 0, oid::kName, kSafe, CurrentUserFunc},
    {"current_schema", 0, oid::kName, kSafe, CurrentSchemaFunc},
    {"now", 0, oid::kTimestamptz, kSafe, NowFunc},
    {"transaction_timestamp", 0, oid::kTimestamptz, kSafe, NowFunc},
    {"statement_timestamp", 0, oid::kTimestamptz, kSafe, StatementTimestampFunc},
    {"clock_timestamp", 0, oid::kTimestamptz, kSafe, ClockTimestampFunc},
    {"pg_backend_pid", 0, oid::kInt4, kSafe, BackendPidFunc},
    {"pg_is_in_recovery", 0, oid::kBool, kPure, FalseFunc},
    {"pg_sleep", 1, oid::kVoid, kDirect, SleepFunc},
    {"current_setting", 1, oid::kText, kSafe, CurrentSettingFunc},
    {"current_setting", 2, oid::kText, kSafe, CurrentSettingFunc},
    {"set_config", 3, oid::kText, kDirect, SetConfigFunc},
    {"string_agg", 2, oid::kText, kSafe, nullptr, StringAggStep, StringAggFinal},
    {"greatest", -1, 0, kPure, ExtremeFunc<true>},
    {"least", -1, 0, kPure, ExtremeFunc<false>},
    {"regexp", 2, 0, kPure, RegexpFunc<false>},
    {"match", 2, 0, kPure, RegexpFunc<true>},
    {"bgw_array_agg", 1, 0, kSafe, nullptr, ArrayAggStep, ArrayAggFinal},
    {"bgw_array_json", 1, 0, kPure, ArrayJsonFunc},
    {"pg_get_expr", 2, oid::kText, kPure, GetExprFunc},
    {"pg_get_expr", 3, oid::kText, kPure, GetExprFunc},
};

}  // namespace

std::span<const builtins::Function> Functions() { return kFunctions; }

Status Register(sqlite3* db, FunctionContext* ctx) {
  if (Status s = builtins::Register(db, kFunctions, ctx); !s.ok()) return s;
  // Often enough to notice a cancel promptly, rarely enough to cost nothing.
  sqlite3_progress_handler(db, 1000, Progress, ctx);
  return Status::Ok();
}

}  // namespace bgw::sql::functions
