/*
 * utils/guc.h: configuration variables ("GUCs") for modules, PostgreSQL
 * 13-15 compatible (PostgreSQL 15's argument lists).
 *
 * A module defines its settings in _PG_init() with DefineCustom*Variable,
 * binding each to one of its globals; the server's settings registry
 * (src/guc) then owns the value: it parses the configuration file, the
 * command line and SET, checks ranges, runs the module's hooks and stores
 * the result in the global. Names are "prefix.name"; values set before the
 * module defined the name (placeholders) are applied when it does.
 *
 * Enum, context, source, flag and unit values are PostgreSQL's.
 *
 * Hooks:
 *   - check hooks validate (and may replace) a proposed value. To reject,
 *     return false, optionally after GUC_check_errdetail("...") /
 *     GUC_check_errhint("...") / GUC_check_errmsg("..."): that text
 *     becomes the error's detail (errmsg text is used as the detail when no
 *     errdetail is given) and hint. A check hook may allocate an "extra"
 *     with malloc() and store it in *extra; the assign hook receives it and
 *     the registry frees it with free() when it is no longer current. An
 *     ERROR raised inside a check hook counts as a rejection.
 *   - assign hooks run just before the value is stored; they must not fail.
 *   - show hooks format the value for GetConfigOptionByName().
 * Hooks must not define, set or read GUCs themselves.
 *
 * Limitations (the registry's): long_desc is accepted and ignored; show
 * hooks are not used by SHOW/pg_settings; a check hook is told the source
 * PGC_S_DEFAULT for the boot value, the source given to SetConfigOption(),
 * PGC_S_FILE while ProcessConfigFile() runs, and PGC_S_FILE otherwise.
 */
#ifndef BGW_COMPAT_GUC_H
#define BGW_COMPAT_GUC_H

#include "c.h"
/* PostgreSQL's guc.h reaches fmgr.h (through utils/array.h); modules rely on it. */
#include "fmgr.h"
#include "utils/elog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* When a setting may change (and, for callers, who is asking). */
typedef enum {
  PGC_INTERNAL,
  PGC_POSTMASTER,
  PGC_SIGHUP,
  PGC_SU_BACKEND,
  PGC_BACKEND,
  PGC_SUSET,
  PGC_USERSET
} GucContext;

/* Where a value came from, lowest priority first. */
typedef enum {
  PGC_S_DEFAULT,
  PGC_S_DYNAMIC_DEFAULT,
  PGC_S_ENV_VAR,
  PGC_S_FILE,
  PGC_S_ARGV,
  PGC_S_GLOBAL,
  PGC_S_DATABASE,
  PGC_S_USER,
  PGC_S_DATABASE_USER,
  PGC_S_CLIENT,
  PGC_S_OVERRIDE,
  PGC_S_INTERACTIVE,
  PGC_S_TEST,
  PGC_S_SESSION
} GucSource;

/* One option of an enum setting; a table ends with { NULL, 0, false }. */
struct config_enum_entry {
  const char* name;
  int val;
  bool hidden; /* accepted, but not listed */
};

typedef bool (*GucBoolCheckHook)(bool* newval, void** extra, GucSource source);
typedef bool (*GucIntCheckHook)(int* newval, void** extra, GucSource source);
typedef bool (*GucRealCheckHook)(double* newval, void** extra, GucSource source);
typedef bool (*GucStringCheckHook)(char** newval, void** extra, GucSource source);
typedef bool (*GucEnumCheckHook)(int* newval, void** extra, GucSource source);

typedef void (*GucBoolAssignHook)(bool newval, void* extra);
typedef void (*GucIntAssignHook)(int newval, void* extra);
typedef void (*GucRealAssignHook)(double newval, void* extra);
typedef void (*GucStringAssignHook)(const char* newval, void* extra);
typedef void (*GucEnumAssignHook)(int newval, void* extra);

typedef const char* (*GucShowHook)(void);

#define GUC_QUALIFIER_SEPARATOR '.'
#define MAX_KILOBYTES INT_MAX

/* Flags. */
#define GUC_LIST_INPUT 0x0001
#define GUC_LIST_QUOTE 0x0002
#define GUC_NO_SHOW_ALL 0x0004
#define GUC_NO_RESET_ALL 0x0008
#define GUC_REPORT 0x0010
#define GUC_NOT_IN_SAMPLE 0x0020
#define GUC_DISALLOW_IN_FILE 0x0040
#define GUC_CUSTOM_PLACEHOLDER 0x0080
#define GUC_SUPERUSER_ONLY 0x0100
#define GUC_IS_NAME 0x0200
#define GUC_NOT_WHILE_SEC_REST 0x0400
#define GUC_DISALLOW_IN_AUTO_FILE 0x0800

/* Units of int and real settings: what the stored number counts. */
#define GUC_UNIT_KB 0x1000
#define GUC_UNIT_BLOCKS 0x2000
#define GUC_UNIT_XBLOCKS 0x3000
#define GUC_UNIT_MB 0x4000
#define GUC_UNIT_BYTE 0x8000
#define GUC_UNIT_MEMORY 0xF000
#define GUC_UNIT_MS 0x10000
#define GUC_UNIT_S 0x20000
#define GUC_UNIT_MIN 0x30000
#define GUC_UNIT_TIME 0xF0000
#define GUC_UNIT (GUC_UNIT_MEMORY | GUC_UNIT_TIME)

#define GUC_EXPLAIN 0x100000
#define GUC_RUNTIME_COMPUTED 0x200000

/*
 * Definition. Each sets *valueAddr to bootValue (or to the value already
 * given to a placeholder of that name) and keeps it current from then on.
 * String settings: the registry owns *valueAddr (malloc'd); never assign it.
 * Raises ERROR when the name is invalid or already defined, the boot value
 * is out of range or rejected by check_hook. PGC_POSTMASTER settings may
 * only be defined while shared_preload_libraries load (FATAL otherwise),
 * and GUC_LIST_QUOTE is refused (FATAL), as in PostgreSQL.
 */
extern void DefineCustomBoolVariable(const char* name, const char* short_desc,
                                     const char* long_desc, bool* valueAddr, bool bootValue,
                                     GucContext context, int flags, GucBoolCheckHook check_hook,
                                     GucBoolAssignHook assign_hook, GucShowHook show_hook);
extern void DefineCustomIntVariable(const char* name, const char* short_desc, const char* long_desc,
                                    int* valueAddr, int bootValue, int minValue, int maxValue,
                                    GucContext context, int flags, GucIntCheckHook check_hook,
                                    GucIntAssignHook assign_hook, GucShowHook show_hook);
extern void DefineCustomRealVariable(const char* name, const char* short_desc,
                                     const char* long_desc, double* valueAddr, double bootValue,
                                     double minValue, double maxValue, GucContext context,
                                     int flags, GucRealCheckHook check_hook,
                                     GucRealAssignHook assign_hook, GucShowHook show_hook);
extern void DefineCustomStringVariable(const char* name, const char* short_desc,
                                       const char* long_desc, char** valueAddr,
                                       const char* bootValue, GucContext context, int flags,
                                       GucStringCheckHook check_hook,
                                       GucStringAssignHook assign_hook, GucShowHook show_hook);
extern void DefineCustomEnumVariable(const char* name, const char* short_desc,
                                     const char* long_desc, int* valueAddr, int bootValue,
                                     const struct config_enum_entry* options, GucContext context,
                                     int flags, GucEnumCheckHook check_hook,
                                     GucEnumAssignHook assign_hook, GucShowHook show_hook);

/*
 * Reserves "className." for the calling module: placeholders under it are
 * removed with a WARNING, and later attempts to set an undefined
 * "className.x" fail. Call after defining the module's settings.
 */
extern void MarkGUCPrefixReserved(const char* className);
/* PostgreSQL <= 14 name of the same call. */
#define EmitWarningsOnPlaceholders(className) MarkGUCPrefixReserved(className)

/*
 * The current value as text (ints and reals without unit, in the setting's
 * own unit; bools "on"/"off"; enums by name). Unknown name: NULL when
 * missing_ok, else ERROR. The string is valid until a later call of this
 * function (a few calls later; copy it to keep it). restrict_privileged is
 * accepted; there is no privilege check.
 */
extern const char* GetConfigOption(const char* name, bool missing_ok, bool restrict_privileged);
/* The value RESET would restore, formatted like GetConfigOption; ERROR if unknown. */
extern const char* GetConfigOptionResetString(const char* name);
/* The setting's GUC_* flags; 0 when unknown and missing_ok, else ERROR. */
extern int GetConfigOptionFlags(const char* name, bool missing_ok);
/*
 * The value as SHOW prints it (units, show hook), palloc'd; *varname (if
 * varname is not NULL) gets the setting's canonical name. Unknown name:
 * NULL when missing_ok, else ERROR.
 */
extern char* GetConfigOptionByName(const char* name, const char** varname, bool missing_ok);
/*
 * Sets name to value (NULL: reset it) as `context` with priority `source`.
 * On failure, PostgreSQL's rule picks the level: LOG (DEBUG3 in children)
 * for PGC_S_DEFAULT and PGC_S_FILE, WARNING for the per-database/per-user
 * sources, ERROR otherwise.
 */
extern void SetConfigOption(const char* name, const char* value, GucContext context,
                            GucSource source);

/* The configuration file's path (set by the server; NULL until then). */
extern PGDLLIMPORT char* ConfigFileName;
/*
 * Re-reads ConfigFileName in this process. PGC_SIGHUP (the SIGHUP reload):
 * problems are logged, never raised. PGC_POSTMASTER: the first problem
 * raises ERROR.
 */
extern void ProcessConfigFile(GucContext context);

/*
 * Rejection messages from check hooks: GUC_check_errdetail("fmt", ...) and
 * friends, like errdetail() (%m included).
 */
extern PGDLLIMPORT char* GUC_check_errmsg_string;
extern PGDLLIMPORT char* GUC_check_errdetail_string;
extern PGDLLIMPORT char* GUC_check_errhint_string;
extern void GUC_check_errcode(int sqlerrcode);

#define GUC_check_errmsg \
  pre_format_elog_string(errno, TEXTDOMAIN), GUC_check_errmsg_string = format_elog_string
#define GUC_check_errdetail \
  pre_format_elog_string(errno, TEXTDOMAIN), GUC_check_errdetail_string = format_elog_string
#define GUC_check_errhint \
  pre_format_elog_string(errno, TEXTDOMAIN), GUC_check_errhint_string = format_elog_string

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_GUC_H */
