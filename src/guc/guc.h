// Configuration variables ("GUCs"), with PostgreSQL's semantics.
//
// A process-local registry of named settings. Each setting is bound to
// storage owned by its definer (a C global, as in PostgreSQL, so C modules
// can later share this registry through a compatibility header), and carries
// the PostgreSQL metadata that decides who may change it and when: a Context
// (when it may change), the Source of its current value (which source wins),
// a reset value, and optional check/assign hooks.
//
// Shape and why:
//   - Every process owns a private copy of the registry (children inherit the
//     postmaster's through fork and re-read the configuration file on SIGHUP
//     themselves), so there is no locking: the registry is NOT thread-safe and
//     must only be used from a process's main thread.
//   - Failures are values: every setter returns a Status carrying
//     PostgreSQL's message, detail, hint and SQLSTATE as separate fields.
//   - Names are case-insensitive. Unknown names containing a dot
//     ("module.setting") become string placeholders until a module defines
//     them (PostgreSQL's custom-variable behaviour).
//
// The enum values below equal PostgreSQL's (GucContext, GucSource,
// GUC_UNIT_*, GUC_* flags) so the C compatibility headers can reuse them.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/status.h"

namespace bgw::guc {

// When a setting may change (PostgreSQL's GucContext, PGC_INTERNAL..PGC_USERSET).
// As a *caller* context it says who is asking: kPostmaster = server startup,
// kSighup = configuration reload, kBackend/kSuBackend = connection start by a
// regular user / superuser, kUserset/kSuset = SET by a regular user / superuser.
enum class Context : int {
  kInternal = 0,
  kPostmaster,
  kSighup,
  kSuBackend,
  kBackend,
  kSuset,
  kUserset,
};

// Where the current value came from (PostgreSQL's GucSource, PGC_S_*), in
// increasing priority: a value from a source never overrides a value that came
// from a higher one.
enum class Source : int {
  kDefault = 0,
  kDynamicDefault,
  kEnvVar,
  kFile,
  kArgv,
  kGlobal,
  kDatabase,
  kUser,
  kDatabaseUser,
  kClient,
  kOverride,
  kInteractive,
  kTest,
  kSession,
};

enum class VarType { kBool, kInt, kReal, kString, kEnum };

// Flags (PostgreSQL's GUC_* values).
inline constexpr int kListInput = 0x0001;          // value is a comma-separated list
inline constexpr int kListQuote = 0x0002;          // list elements may be double-quoted
inline constexpr int kNoShowAll = 0x0004;          // hidden from AllVariables()
inline constexpr int kNotInSample = 0x0020;        // not listed by SampleConfigFile()
inline constexpr int kCustomPlaceholder = 0x0080;  // set internally on placeholders
inline constexpr int kSuperuserOnly = 0x0100;      // value visible to superusers only

// Units of int and real settings: the unit the stored number is counted in.
inline constexpr int kUnitKB = 0x01000;
inline constexpr int kUnitBlocks = 0x02000;   // 8kB pages
inline constexpr int kUnitXBlocks = 0x03000;  // 8kB WAL pages
inline constexpr int kUnitMB = 0x04000;
inline constexpr int kUnitByte = 0x08000;
inline constexpr int kUnitMemory = 0x0F000;  // mask
inline constexpr int kUnitMs = 0x10000;
inline constexpr int kUnitS = 0x20000;
inline constexpr int kUnitMin = 0x30000;
inline constexpr int kUnitTime = 0x70000;  // mask
inline constexpr int kUnit = kUnitMemory | kUnitTime;

// One option of an enum setting; a table of these ends with {nullptr, 0, false}
// (the layout of PostgreSQL's config_enum_entry). Hidden options are accepted
// but not listed in hints or by AllVariables().
struct EnumOption {
  const char* name;
  int value;
  bool hidden;
};

// Check hooks validate (and may canonicalize) a proposed value before it is
// installed; returning false rejects it with
// `invalid value for parameter "x": ...`, and the detail, hint and sqlstate
// the hook set in *why (sqlstate empty = 22023 invalid_parameter_value).
// Assign hooks run just before the new value is stored; they must not fail.
// Neither hook may call back into this registry.
using BoolCheck = std::function<bool(bool& newval, ErrorReport* why)>;
using IntCheck = std::function<bool(int& newval, ErrorReport* why)>;
using RealCheck = std::function<bool(double& newval, ErrorReport* why)>;
using StringCheck = std::function<bool(std::string& newval, ErrorReport* why)>;
using EnumCheck = std::function<bool(int& newval, ErrorReport* why)>;
using BoolAssign = std::function<void(const bool& newval)>;
using IntAssign = std::function<void(const int& newval)>;
using RealAssign = std::function<void(const double& newval)>;
using StringAssign = std::function<void(const char* newval)>;  // may be nullptr
using EnumAssign = std::function<void(const int& newval)>;

// ---------------------------------------------------------------------------
// Definition.
//
// Each Define* registers a setting bound to *addr and sets *addr to the boot
// value -- or, when a placeholder of that name was set earlier (from the file,
// the command line or SET), to the placeholder's value, validated now; an
// invalid placeholder value is logged as a WARNING and the boot value kept.
//
// Preconditions: addr (and options) stay valid until ResetForTesting() or
// process exit. Names are identifiers, optionally dot-separated
// ("max_connections", "my_module.naptime"). String settings: the registry owns
// *addr from now on (malloc'd; replaced values are freed; the previous content
// of *addr is overwritten, not freed); never assign *addr yourself. A nullptr
// string boot value is allowed (the check hook is not run on it).
//
// Fails (nothing registered) when the name is invalid or already defined
// (`attempt to redefine parameter "%s"`), the boot value is outside [min, max]
// or not an option, or the check hook rejects the boot value.
Status DefineBool(const char* name, const char* short_desc, bool* addr, bool boot, Context ctx,
                  int flags = 0, BoolCheck check = {}, BoolAssign assign = {});
Status DefineInt(const char* name, const char* short_desc, int* addr, int boot, int min, int max,
                 Context ctx, int flags = 0, IntCheck check = {}, IntAssign assign = {});
Status DefineReal(const char* name, const char* short_desc, double* addr, double boot, double min,
                  double max, Context ctx, int flags = 0, RealCheck check = {},
                  RealAssign assign = {});
Status DefineString(const char* name, const char* short_desc, char** addr, const char* boot,
                    Context ctx, int flags = 0, StringCheck check = {}, StringAssign assign = {});
Status DefineEnum(const char* name, const char* short_desc, int* addr, int boot,
                  const EnumOption* options, Context ctx, int flags = 0, EnumCheck check = {},
                  EnumAssign assign = {});

// Reserves "prefix." for a module's own settings: undefined placeholders under
// it are removed with a WARNING, and setting an undefined "prefix.x" later
// fails (`invalid configuration parameter name "prefix.x"`).
void MarkPrefixReserved(std::string_view prefix);

// True when `name` is a defined setting (placeholders do not count).
bool IsDefined(std::string_view name);

// ---------------------------------------------------------------------------
// Setting and reading.

// Sets `name` to `value` (text, parsed per the setting's type and unit) as
// `caller_context` asking with priority `source`. Returns OK also when the
// value was valid but not applied because a higher-priority source set it.
// Errors (nothing changed): unrecognized/invalid name, invalid value, out of
// range, or not changeable in this context, with PostgreSQL's messages.
Status SetOption(std::string_view name, std::string_view value, Context caller_context,
                 Source source);

// RESET: back to the reset value, i.e. the value from the highest-priority
// non-session source (file, command line...), or the boot value.
Status ResetOption(std::string_view name, Context caller_context = Context::kSuset);

// The current value as SHOW prints it ("on", "64MB", "10s", "warning",
// strings as-is). Unknown names give an empty string; use GetConfigOption to
// tell them apart.
std::string ShowValue(std::string_view name);
// Increases whenever any setting's value is installed (SET, RESET, reload,
// definition): equal counts mean no value changed in between.
uint64_t ChangeCount();
// Like ShowValue, but an unknown name is an error
// (`unrecognized configuration parameter "%s"`).
Result<std::string> GetConfigOption(std::string_view name);

// Applies one "name=value" command-line assignment (-c name=value) with
// Source::kArgv at server startup. A '-' in the name counts as '_'. Errors read
// `invalid command-line argument "-c name=value": <reason>`.
Status SetFromCommandLine(std::string_view assignment);

// ---------------------------------------------------------------------------
// Configuration file (postgresql.conf grammar); see config_file.cc.

struct ConfigItem {
  std::string name;
  std::string value;  // quotes and escapes already removed
  std::string file;   // the path the item was read from
  int line = 0;
};

// Reads `path` and its includes (include, include_if_exists, include_dir;
// relative paths are relative to the including file's directory, nesting
// depth at most 10). Returns the items in file order; include directives are
// expanded, not returned. Fails on the first syntax error
// (`syntax error in file "%s" line %d, near token "%s"` / `near end of line`)
// or unreadable file. Missing include_if_exists files are logged at LOG.
Result<std::vector<ConfigItem>> ParseConfigFile(const std::string& path);

enum class Phase { kStartup, kReload };

// Reads the configuration file and applies it with Source::kFile.
//
// kStartup (postmaster, before anything depends on settings): every problem
// is logged at LOG and the first one is returned, as
//   `configuration file "%s" line %d: <message>` (+ DETAIL/HINT lines),
// or the parser's own message for syntax and include errors. The caller
// should refuse to start.
//
// kReload (SIGHUP, any process): problems are logged and never fatal. A
// syntax error or unrecognized name applies nothing; other bad lines are
// skipped and the rest applied. Changes are logged (`parameter "%s" changed to
// "%s"`), as are postmaster-context settings whose new value cannot take
// effect, and settings removed from the file (reset to their default). The
// returned Status is the summary line that was already logged, for callers
// that want to know; it needs no further reporting.
//
// Settings from the command line are never overridden by the file. When a
// setting appears twice, the later line wins.
Status ProcessConfigFile(const std::string& path, Phase phase,
                         log::Level report_level = log::Level::kLog);

// The text of a fresh bgw.conf: every built-in setting, grouped by section,
// commented out with its default. Defines the built-in settings if needed.
std::string SampleConfigFile();

// ---------------------------------------------------------------------------
// Introspection (backs SHOW ALL / pg_settings).

struct VariableInfo {
  std::string name;
  VarType type = VarType::kString;
  std::string setting;  // pg_settings.setting: base-unit number, no unit
  std::string shown;    // SHOW output, with the largest exact unit
  std::string unit;     // "kB", "8kB", "ms", "s", ... or empty
  Context context = Context::kUserset;
  Source source = Source::kDefault;
  std::string short_desc;
  std::string min_val, max_val;          // int and real only
  std::vector<std::string> enum_values;  // visible options, enums only
  std::string boot_val, reset_val;       // like `setting`
  std::string boot_shown;                // boot value as SHOW would print it
  std::string source_file;               // set when the value came from a file
  int source_line = 0;
  bool pending_restart = false;  // the file asks for a value a restart would apply
  int flags = 0;
};

// Every defined setting, sorted by name; placeholders and kNoShowAll settings
// are left out.
std::vector<VariableInfo> AllVariables();

const char* ContextName(Context context);  // "postmaster", "sighup", ... (pg_settings)
const char* SourceName(Source source);     // "default", "configuration file", ...

// ---------------------------------------------------------------------------
// Testing.

// Forgets every setting, placeholder and reserved prefix, freeing the strings
// the registry owns (string storage is set to nullptr).
void ResetForTesting();

// Redirects the registry's own log output (WARNINGs, reload reports) to
// `sink` instead of the server log; an empty function restores the log.
void SetReportSinkForTesting(std::function<void(const log::Message&)> sink);

}  // namespace bgw::guc
