// The C GUC API (postgres/utils/guc.h) on top of the server's settings
// registry (src/guc/guc.h).
//
// Each DefineCustom*Variable registers the module's global with the
// registry and wraps the module's C hooks in registry hooks:
//   - check: the C hook runs on a private copy of the value with
//     GUC_check_err* cleared; on rejection their text becomes the
//     registry's detail. An ERROR raised by the hook is caught (PG_TRY) and
//     counts as a rejection: it must not longjmp through the registry's C++
//     frames.
//   - "extra": what a check hook returns in *extra is kept with the value it
//     was computed for and handed to the assign hook when that value is
//     installed; when the registry installs a value without checking it
//     (RESET), the check hook is rerun to compute it. Replaced extras are
//     free()d, as PostgreSQL does.
//   - assign: run under PG_TRY as well; a failure is logged as WARNING.
// Registry failures become ereport()s with PostgreSQL's SQLSTATEs; every
// registry call happens in an inner scope so no C++ object is alive when
// the ERROR jumps.
#include "guc/guc_c.h"

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "compat/pending_error.h"
#include "guc/guc.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/utils/guc.h"
#include "postgres/utils/memutils.h"

extern "C" {
char* ConfigFileName = nullptr;
char* GUC_check_errmsg_string = nullptr;
char* GUC_check_errdetail_string = nullptr;
char* GUC_check_errhint_string = nullptr;
}

namespace {

namespace guc = bgw::guc;

// The C values are the registry's (both are PostgreSQL's).
static_assert(static_cast<int>(guc::Context::kInternal) == PGC_INTERNAL);
static_assert(static_cast<int>(guc::Context::kSighup) == PGC_SIGHUP);
static_assert(static_cast<int>(guc::Context::kUserset) == PGC_USERSET);
static_assert(static_cast<int>(guc::Source::kFile) == PGC_S_FILE);
static_assert(static_cast<int>(guc::Source::kOverride) == PGC_S_OVERRIDE);
static_assert(static_cast<int>(guc::Source::kSession) == PGC_S_SESSION);
static_assert(guc::kListInput == GUC_LIST_INPUT && guc::kNoShowAll == GUC_NO_SHOW_ALL);
static_assert(guc::kNotInSample == GUC_NOT_IN_SAMPLE);
static_assert(guc::kCustomPlaceholder == GUC_CUSTOM_PLACEHOLDER);
static_assert(guc::kSuperuserOnly == GUC_SUPERUSER_ONLY);
static_assert(guc::kUnitKB == GUC_UNIT_KB && guc::kUnitBlocks == GUC_UNIT_BLOCKS);
static_assert(guc::kUnitXBlocks == GUC_UNIT_XBLOCKS && guc::kUnitMB == GUC_UNIT_MB);
static_assert(guc::kUnitByte == GUC_UNIT_BYTE && guc::kUnitMs == GUC_UNIT_MS);
static_assert(guc::kUnitS == GUC_UNIT_S && guc::kUnitMin == GUC_UNIT_MIN);
// config_enum_entry tables are handed to the registry as they are.
static_assert(sizeof(config_enum_entry) == sizeof(guc::EnumOption));
static_assert(offsetof(config_enum_entry, name) == offsetof(guc::EnumOption, name));
static_assert(offsetof(config_enum_entry, val) == offsetof(guc::EnumOption, value));
static_assert(offsetof(config_enum_entry, hidden) == offsetof(guc::EnumOption, hidden));

guc::Context ToContext(GucContext c) { return static_cast<guc::Context>(static_cast<int>(c)); }
guc::Source ToSource(GucSource s) { return static_cast<guc::Source>(static_cast<int>(s)); }

// What check hooks are told; see guc_c.h.
GucSource check_source = PGC_S_FILE;
// Set while DefineCustom* runs: the first check is of the boot value.
bool boot_check_pending = false;
// GUC_check_errcode() of the running hook.
int check_errcode = ERRCODE_INVALID_PARAMETER_VALUE;

struct HookInfo {
  GucBoolCheckHook bool_check = nullptr;
  GucIntCheckHook int_check = nullptr;
  GucRealCheckHook real_check = nullptr;
  GucStringCheckHook string_check = nullptr;
  GucEnumCheckHook enum_check = nullptr;
  GucBoolAssignHook bool_assign = nullptr;
  GucIntAssignHook int_assign = nullptr;
  GucRealAssignHook real_assign = nullptr;
  GucStringAssignHook string_assign = nullptr;
  GucEnumAssignHook enum_assign = nullptr;
  GucShowHook show = nullptr;
  // Stable addresses for the hook calls made under PG_TRY.
  void* scratch_extra = nullptr;
  char* scratch_string = nullptr;
  // The extra of the last successful check, and of the installed value,
  // each with the value it belongs to.
  bool has_pending = false;
  std::string pending_key;
  void* pending_extra = nullptr;
  bool has_current = false;
  std::string current_key;
  void* current_extra = nullptr;
};

std::string Lower(const char* s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Hooks of defined settings by lower-case name. Never destroyed: the
// registry's hook closures point into it until process exit.
std::map<std::string, HookInfo*>& Hooks() {
  static auto* hooks = new std::map<std::string, HookInfo*>();
  return *hooks;
}

void FreeExtra(HookInfo* info, void* extra) {
  if (extra != nullptr && extra != info->current_extra && extra != info->pending_extra) free(extra);
}

void DiscardPending(HookInfo* info) {
  void* extra = info->pending_extra;
  info->has_pending = false;
  info->pending_extra = nullptr;
  FreeExtra(info, extra);
}

// --------------------------------------------------------------------------
// Running C hooks safely.

// Clears the GUC_check_err* strings (they live in ErrorContext, which may
// have been reset since: never freed from here unless just set).
void ClearCheckStrings() {
  GUC_check_errmsg_string = nullptr;
  GUC_check_errdetail_string = nullptr;
  GUC_check_errhint_string = nullptr;
}

void FreeCheckStrings() {
  for (char* s : {GUC_check_errmsg_string, GUC_check_errdetail_string, GUC_check_errhint_string}) {
    if (s != nullptr) pfree(s);
  }
  ClearCheckStrings();
}

// Calls the C check hook on *value. Returns whether it accepted; on
// rejection *why gets the hook's explanation and SQLSTATE. The hook's extra is left
// in info->scratch_extra (accepted) or freed (rejected).
template <typename T, typename Hook>
bool RunCheckHook(HookInfo* info, Hook hook, T* value, bgw::ErrorReport* why) {
  ClearCheckStrings();
  check_errcode = ERRCODE_INVALID_PARAMETER_VALUE;
  info->scratch_extra = nullptr;
  const GucSource source = boot_check_pending ? PGC_S_DEFAULT : check_source;
  boot_check_pending = false;

  volatile bool accepted = false;
  char* volatile raised = nullptr;  // message of an ERROR raised by the hook
  MemoryContext volatile saved_context = CurrentMemoryContext;
  PG_TRY();
  { accepted = hook(value, &info->scratch_extra, source); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(saved_context);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();  // also discards the GUC_check_err* strings
    ClearCheckStrings();
    raised = pstrdup(edata->message != nullptr ? edata->message : "check hook failed");
    FreeErrorData(edata);
    accepted = false;
  }
  PG_END_TRY();

  if (!accepted) {
    std::string text;
    if (raised != nullptr) {
      text = raised;
    } else {
      // The registry's own message stays primary: errmsg text goes first.
      if (GUC_check_errmsg_string != nullptr) text = GUC_check_errmsg_string;
      if (GUC_check_errdetail_string != nullptr) {
        if (!text.empty()) text += "\n";
        text += GUC_check_errdetail_string;
      }
      if (GUC_check_errhint_string != nullptr) why->hint = GUC_check_errhint_string;
    }
    why->detail = text;
    why->sqlstate = unpack_sql_state(check_errcode);
    if (info->scratch_extra != nullptr) free(info->scratch_extra);
    info->scratch_extra = nullptr;
  }
  if (raised != nullptr) pfree(raised);
  FreeCheckStrings();
  return accepted;
}

// Calls a C assign hook; an ERROR it raises is logged as a WARNING.
template <typename Hook, typename V>
void RunAssignHook(Hook hook, V value, void* extra) {
  char* volatile raised = nullptr;
  MemoryContext volatile saved_context = CurrentMemoryContext;
  PG_TRY();
  { hook(value, extra); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(saved_context);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    raised = pstrdup(edata->message != nullptr ? edata->message : "assign hook failed");
    FreeErrorData(edata);
  }
  PG_END_TRY();
  if (raised != nullptr) {
    ereport(WARNING, errmsg_internal("assign hook failed: %s", raised));
    pfree(raised);
  }
}

// The extra for the value being installed (key), taken from the last
// check of that value, or recomputed; becomes the current extra.
template <typename Recompute>
void* ExtraForInstall(HookInfo* info, const std::string& key, Recompute recompute) {
  void* extra;
  if (info->has_pending && info->pending_key == key) {
    extra = info->pending_extra;
    info->pending_extra = nullptr;
    info->has_pending = false;
  } else if (info->has_current && info->current_key == key) {
    extra = info->current_extra;
  } else {
    extra = recompute();
  }
  void* old = info->current_extra;
  info->current_extra = extra;
  info->current_key = key;
  info->has_current = true;
  if (old != extra) FreeExtra(info, old);
  DiscardPending(info);
  return extra;
}

void KeepPending(HookInfo* info, std::string key) {
  DiscardPending(info);
  info->pending_extra = info->scratch_extra;
  info->scratch_extra = nullptr;
  info->pending_key = std::move(key);
  info->has_pending = true;
}

std::string KeyOf(bool v) { return v ? "1" : "0"; }
std::string KeyOf(int v) { return std::to_string(v); }
std::string KeyOf(double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
std::string KeyOf(const char* v) { return v != nullptr ? std::string("s") + v : std::string("n"); }

// --------------------------------------------------------------------------
// Registry hook closures.

template <typename T, typename CheckHook>
std::function<bool(T&, bgw::ErrorReport*)> MakeCheck(HookInfo* info, CheckHook hook) {
  if (hook == nullptr) return {};
  return [info, hook](T& newval, bgw::ErrorReport* why) {
    DiscardPending(info);
    T value = newval;
    if (!RunCheckHook(info, hook, &value, why)) return false;
    newval = value;
    KeepPending(info, KeyOf(value));
    return true;
  };
}

template <typename T, typename CheckHook, typename AssignHook>
std::function<void(const T&)> MakeAssign(HookInfo* info, CheckHook check, AssignHook assign) {
  if (check == nullptr && assign == nullptr) return {};
  return [info, check, assign](const T& newval) {
    void* extra = nullptr;
    if (check != nullptr) {
      extra = ExtraForInstall(info, KeyOf(newval), [&]() -> void* {
        T value = newval;
        bgw::ErrorReport ignored;
        if (!RunCheckHook(info, check, &value, &ignored)) return nullptr;
        void* computed = info->scratch_extra;
        info->scratch_extra = nullptr;
        return computed;
      });
    }
    if (assign != nullptr) RunAssignHook(assign, newval, extra);
  };
}

guc::StringCheck MakeStringCheck(HookInfo* info, GucStringCheckHook hook) {
  if (hook == nullptr) return {};
  return [info, hook](std::string& newval, bgw::ErrorReport* why) {
    DiscardPending(info);
    // PostgreSQL hands string hooks a malloc'd copy they may replace.
    info->scratch_string = strdup(newval.c_str());
    if (info->scratch_string == nullptr) {
      why->detail = "out of memory";
      why->sqlstate = "53200";
      return false;
    }
    const bool ok = RunCheckHook(info, hook, &info->scratch_string, why);
    if (ok) newval = info->scratch_string != nullptr ? info->scratch_string : "";
    free(info->scratch_string);
    info->scratch_string = nullptr;
    if (ok) KeepPending(info, KeyOf(newval.c_str()));
    return ok;
  };
}

guc::StringAssign MakeStringAssign(HookInfo* info, GucStringCheckHook check,
                                   GucStringAssignHook assign) {
  if (check == nullptr && assign == nullptr) return {};
  return [info, check, assign](const char* newval) {
    void* extra = nullptr;
    if (check != nullptr) {
      extra = ExtraForInstall(info, KeyOf(newval), [&]() -> void* {
        if (newval == nullptr) return nullptr;
        info->scratch_string = strdup(newval);
        if (info->scratch_string == nullptr) return nullptr;
        bgw::ErrorReport ignored;
        const bool ok = RunCheckHook(info, check, &info->scratch_string, &ignored);
        free(info->scratch_string);
        info->scratch_string = nullptr;
        if (!ok) return nullptr;
        void* computed = info->scratch_extra;
        info->scratch_extra = nullptr;
        return computed;
      });
    }
    if (assign != nullptr) RunAssignHook(assign, newval, extra);
  };
}

// --------------------------------------------------------------------------
// Registry errors reach the caller as ereports through a PendingError
// (compat/pending_error.h): the Status dies before ereport() jumps.

using bgw::PendingError;

// --------------------------------------------------------------------------
// Definition.

// PostgreSQL's rule for custom names: two or more dot-separated words,
// each a letter, '_' or high-bit byte followed by those, digits or '$'.
bool ValidCustomName(const char* name) {
  bool saw_dot = false;
  bool word_start = true;
  for (const char* p = name; *p != '\0'; p++) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == GUC_QUALIFIER_SEPARATOR) {
      if (word_start) return false;
      saw_dot = true;
      word_start = true;
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80) {
      word_start = false;
    } else if (!word_start && ((c >= '0' && c <= '9') || c == '$')) {
      // fine after the first character
    } else {
      return false;
    }
  }
  return !word_start && saw_dot;
}

void CheckDefinition(const char* name, GucContext context, int flags) {
  if (name == nullptr || !ValidCustomName(name)) {
    ereport(ERROR, errcode(ERRCODE_INVALID_NAME),
            errmsg("invalid configuration parameter name \"%s\"", name != nullptr ? name : ""),
            errdetail("Custom parameter names must be two or more simple identifiers separated "
                      "by dots."));
  }
  if ((flags & GUC_LIST_QUOTE) != 0) {
    elog(FATAL, "extensions cannot define GUC_LIST_QUOTE variables");
  }
  if (context == PGC_POSTMASTER && !process_shared_preload_libraries_in_progress) {
    elog(FATAL, "cannot create PGC_POSTMASTER variables after startup");
  }
}

// Runs the registry's Define* (in `define`), then files the hooks or
// raises the registry's error.
template <typename Define>
void FinishDefine(const char* name, HookInfo* info, Define define) {
  PendingError error;
  {
    boot_check_pending = true;
    bgw::Status status = define();
    boot_check_pending = false;
    if (status.ok()) {
      HookInfo*& slot = Hooks()[Lower(name)];
      // A previous definition's closures are gone (the registry was reset
      // for tests); otherwise Define would have failed.
      if (slot != nullptr) {
        free(slot->current_extra);
        free(slot->pending_extra);
        delete slot;
      }
      slot = info;
    } else {
      bgw::Capture(status, ERROR, &error);
    }
  }
  if (error.pending()) {
    free(info->pending_extra);
    free(info->current_extra);
    delete info;
    bgw::RaiseIfSet(error);
  }
}

// Lower-case name -> canonical name, for GetConfigOptionByName's varname.
const char* InternName(const std::string& name) {
  static auto* names = new std::set<std::string>();
  return names->insert(name).first->c_str();
}

// A handful of recently returned strings, so that callers may hold on to
// one GetConfigOption() result while asking for another.
const char* KeepResult(const std::string& text) {
  static char* ring[8];
  static int next = 0;
  char*& slot = ring[next];
  next = (next + 1) % 8;
  free(slot);
  slot = strdup(text.c_str());
  return slot != nullptr ? slot : "";
}

// The registry's description of a defined setting (placeholders and
// GUC_NO_SHOW_ALL ones have none).
bool FindVariable(const char* name, guc::VariableInfo* out) {
  const std::string key = Lower(name);
  for (guc::VariableInfo& v : guc::AllVariables()) {
    if (Lower(v.name.c_str()) == key) {
      *out = std::move(v);
      return true;
    }
  }
  return false;
}

[[noreturn]] void Unrecognized(const char* name) {
  ereport(ERROR, errcode(ERRCODE_UNDEFINED_OBJECT),
          errmsg("unrecognized configuration parameter \"%s\"", name));
  pg_unreachable();
}

}  // namespace

namespace bgw::compat {

GucSource SetGucCheckSource(GucSource source) {
  const GucSource old = check_source;
  check_source = source;
  return old;
}

}  // namespace bgw::compat

extern "C" {

void DefineCustomBoolVariable(const char* name, const char* short_desc, const char*,
                              bool* valueAddr, bool bootValue, GucContext context, int flags,
                              GucBoolCheckHook check_hook, GucBoolAssignHook assign_hook,
                              GucShowHook show_hook) {
  CheckDefinition(name, context, flags);
  auto* info = new HookInfo();
  info->bool_check = check_hook;
  info->bool_assign = assign_hook;
  info->show = show_hook;
  FinishDefine(name, info, [&] {
    return guc::DefineBool(name, short_desc, valueAddr, bootValue, ToContext(context), flags,
                           MakeCheck<bool>(info, check_hook),
                           MakeAssign<bool>(info, check_hook, assign_hook));
  });
}

void DefineCustomIntVariable(const char* name, const char* short_desc, const char*, int* valueAddr,
                             int bootValue, int minValue, int maxValue, GucContext context,
                             int flags, GucIntCheckHook check_hook, GucIntAssignHook assign_hook,
                             GucShowHook show_hook) {
  CheckDefinition(name, context, flags);
  auto* info = new HookInfo();
  info->int_check = check_hook;
  info->int_assign = assign_hook;
  info->show = show_hook;
  FinishDefine(name, info, [&] {
    return guc::DefineInt(name, short_desc, valueAddr, bootValue, minValue, maxValue,
                          ToContext(context), flags, MakeCheck<int>(info, check_hook),
                          MakeAssign<int>(info, check_hook, assign_hook));
  });
}

void DefineCustomRealVariable(const char* name, const char* short_desc, const char*,
                              double* valueAddr, double bootValue, double minValue, double maxValue,
                              GucContext context, int flags, GucRealCheckHook check_hook,
                              GucRealAssignHook assign_hook, GucShowHook show_hook) {
  CheckDefinition(name, context, flags);
  auto* info = new HookInfo();
  info->real_check = check_hook;
  info->real_assign = assign_hook;
  info->show = show_hook;
  FinishDefine(name, info, [&] {
    return guc::DefineReal(name, short_desc, valueAddr, bootValue, minValue, maxValue,
                           ToContext(context), flags, MakeCheck<double>(info, check_hook),
                           MakeAssign<double>(info, check_hook, assign_hook));
  });
}

void DefineCustomStringVariable(const char* name, const char* short_desc, const char*,
                                char** valueAddr, const char* bootValue, GucContext context,
                                int flags, GucStringCheckHook check_hook,
                                GucStringAssignHook assign_hook, GucShowHook show_hook) {
  CheckDefinition(name, context, flags);
  auto* info = new HookInfo();
  info->string_check = check_hook;
  info->string_assign = assign_hook;
  info->show = show_hook;
  FinishDefine(name, info, [&] {
    return guc::DefineString(name, short_desc, valueAddr, bootValue, ToContext(context), flags,
                             MakeStringCheck(info, check_hook),
                             MakeStringAssign(info, check_hook, assign_hook));
  });
}

void DefineCustomEnumVariable(const char* name, const char* short_desc, const char*, int* valueAddr,
                              int bootValue, const struct config_enum_entry* options,
                              GucContext context, int flags, GucEnumCheckHook check_hook,
                              GucEnumAssignHook assign_hook, GucShowHook show_hook) {
  CheckDefinition(name, context, flags);
  auto* info = new HookInfo();
  info->enum_check = check_hook;
  info->enum_assign = assign_hook;
  info->show = show_hook;
  FinishDefine(name, info, [&] {
    return guc::DefineEnum(name, short_desc, valueAddr, bootValue,
                           reinterpret_cast<const guc::EnumOption*>(options), ToContext(context),
                           flags, MakeCheck<int>(info, check_hook),
                           MakeAssign<int>(info, check_hook, assign_hook));
  });
}

void MarkGUCPrefixReserved(const char* className) { guc::MarkPrefixReserved(className); }

const char* GetConfigOption(const char* name, bool missing_ok, bool) {
  const char* result = nullptr;
  {
    bgw::Result<std::string> value = guc::GetConfigOption(name);
    if (value.ok()) {
      // The registry shows units ("64MB"); PostgreSQL's GetConfigOption
      // gives the bare number in the setting's own unit.
      const std::string& shown = *value;
      guc::VariableInfo info;
      const bool may_have_unit = !shown.empty() &&
                                 ((shown[0] >= '0' && shown[0] <= '9') || shown[0] == '-') &&
                                 (shown.back() < '0' || shown.back() > '9');
      if (may_have_unit && FindVariable(name, &info) && !info.unit.empty()) {
        result = KeepResult(info.setting);
      } else {
        result = KeepResult(shown);
      }
    }
  }
  if (result == nullptr && !missing_ok) Unrecognized(name);
  return result;
}

const char* GetConfigOptionResetString(const char* name) {
  const char* result = nullptr;
  {
    guc::VariableInfo info;
    if (FindVariable(name, &info)) {
      result = KeepResult(info.reset_val);
    } else {
      // Placeholders and hidden settings: the registry only knows the
      // current value.
      bgw::Result<std::string> value = guc::GetConfigOption(name);
      if (value.ok()) result = KeepResult(*value);
    }
  }
  if (result == nullptr) Unrecognized(name);
  return result;
}

int GetConfigOptionFlags(const char* name, bool missing_ok) {
  int flags = -1;
  {
    guc::VariableInfo info;
    if (FindVariable(name, &info)) {
      flags = info.flags;
    } else if (guc::GetConfigOption(name).ok()) {
      flags = guc::IsDefined(name) ? GUC_NO_SHOW_ALL
                                   : GUC_CUSTOM_PLACEHOLDER | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE;
    }
  }
  if (flags < 0) {
    if (missing_ok) return 0;
    Unrecognized(name);
  }
  return flags;
}

char* GetConfigOptionByName(const char* name, const char** varname, bool missing_ok) {
  GucShowHook show = nullptr;
  char* result = nullptr;
  const char* canonical = nullptr;
  {
    bgw::Result<std::string> value = guc::GetConfigOption(name);
    if (value.ok()) {
      auto it = Hooks().find(Lower(name));
      if (it != Hooks().end() && guc::IsDefined(name)) show = it->second->show;
      if (show == nullptr) result = pstrdup(value->c_str());
      guc::VariableInfo info;
      canonical = InternName(FindVariable(name, &info) ? info.name : std::string(name));
    }
  }
  if (canonical == nullptr) {
    if (varname != nullptr) *varname = nullptr;
    if (missing_ok) return nullptr;
    Unrecognized(name);
  }
  if (show != nullptr) {
    const char* shown = show();
    result = pstrdup(shown != nullptr ? shown : "");
  }
  if (varname != nullptr) *varname = canonical;
  return result;
}

void SetConfigOption(const char* name, const char* value, GucContext context, GucSource source) {
  PendingError error;
  const GucSource saved_source = check_source;
  check_source = source;
  {
    bgw::Status status = value != nullptr
                             ? guc::SetOption(name, value, ToContext(context), ToSource(source))
                             : guc::ResetOption(name, ToContext(context));
    bgw::Capture(status, ERROR, &error);
  }
  check_source = saved_source;
  if (!error.pending()) return;
  // PostgreSQL's choice of level for set_config_option(elevel = 0).
  int elevel = ERROR;
  if (source == PGC_S_DEFAULT || source == PGC_S_FILE) {
    elevel = IsUnderPostmaster ? DEBUG3 : LOG;
  } else if (source == PGC_S_GLOBAL || source == PGC_S_DATABASE || source == PGC_S_USER ||
             source == PGC_S_DATABASE_USER) {
    elevel = WARNING;
  }
  error.elevel = elevel;
  bgw::RaiseIfSet(error);
}

void ProcessConfigFile(GucContext context) {
  if (ConfigFileName == nullptr) {
    elog(LOG, "configuration file not set, nothing to reload");
    return;
  }
  PendingError error;
  const GucSource saved_source = check_source;
  check_source = PGC_S_FILE;
  {
    // Children report at DEBUG2: the postmaster already logs each reload.
    const bgw::log::Level level =
        IsUnderPostmaster ? bgw::log::Level::kDebug2 : bgw::log::Level::kLog;
    const guc::Phase phase = context == PGC_POSTMASTER ? guc::Phase::kStartup : guc::Phase::kReload;
    bgw::Status status = guc::ProcessConfigFile(ConfigFileName, phase, level);
    if (phase == guc::Phase::kStartup) bgw::Capture(status, ERROR, &error);
  }
  check_source = saved_source;
  if (error.pending()) {
    error.sqlerrcode = ERRCODE_CONFIG_FILE_ERROR;
    bgw::RaiseIfSet(error);
  }
}

void GUC_check_errcode(int sqlerrcode) { check_errcode = sqlerrcode; }

}  // extern "C"
