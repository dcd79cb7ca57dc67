// The built-in settings table and the sample configuration file made from it.
//
// One table drives both registration and bgw.conf generation, so a new
// setting cannot be forgotten in the sample: add a row and it appears, in its
// group, with its default and whether a reload or a restart applies it.
#include "guc/settings.h"

#include "common/internal_error.h"

#include "postgres/miscadmin.h"
#include "postgres/pg_config.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.h"
#include "common/strutil.h"
#include "guc/guc.h"

namespace bgw::guc {

int port = 5432;
char* listen_addresses = nullptr;
char* unix_socket_directories = nullptr;
int max_connections = 100;
int authentication_timeout = 60;
// --- AUTHENTICATION (see settings.h) ---
int password_encryption = static_cast<int>(PasswordEncryption::kScramSha256);
// --- end AUTHENTICATION ---
int max_worker_processes = 8;
char* shared_preload_libraries = nullptr;
char* dynamic_library_path = nullptr;
int log_min_messages = static_cast<int>(log::Level::kWarning);
char* log_line_prefix = nullptr;
char* log_destination = nullptr;
char* log_directory = nullptr;
char* log_filename = nullptr;
char* cluster_name = nullptr;
bool restart_after_crash = true;
int session_memory_limit = 1024 * 1024;
int temp_file_limit = 4 * 1024 * 1024;

int statement_timeout = 0;
int lock_timeout = 0;
int idle_in_transaction_session_timeout = 0;
int idle_session_timeout = 0;
char* client_encoding = nullptr;
char* datestyle = nullptr;
char* timezone_setting = nullptr;
char* intervalstyle = nullptr;
char* application_name = nullptr;
char* search_path = nullptr;
int extra_float_digits = 1;
int client_min_messages = static_cast<int>(log::Level::kNotice);
bool standard_conforming_strings = true;
bool default_transaction_read_only = false;
char* default_transaction_isolation = nullptr;
bool integer_datetimes = true;
char* server_version = nullptr;
int server_version_num = PG_VERSION_NUM;
char* server_encoding = nullptr;
bool in_hot_standby = false;
char* transaction_isolation = nullptr;
bool is_superuser = false;
char* session_authorization = nullptr;
char* role_setting = nullptr;

namespace {

// PostgreSQL's server_message_level_options; "debug" is a hidden alias.
constexpr EnumOption kMessageLevelOptions[] = {
    {"debug5", static_cast<int>(log::Level::kDebug5), false},
    {"debug4", static_cast<int>(log::Level::kDebug4), false},
    {"debug3", static_cast<int>(log::Level::kDebug3), false},
    {"debug2", static_cast<int>(log::Level::kDebug2), false},
    {"debug1", static_cast<int>(log::Level::kDebug1), false},
    {"info", static_cast<int>(log::Level::kInfo), false},
    {"notice", static_cast<int>(log::Level::kNotice), false},
    {"warning", static_cast<int>(log::Level::kWarning), false},
    {"error", static_cast<int>(log::Level::kError), false},
    {"log", static_cast<int>(log::Level::kLog), false},
    {"fatal", static_cast<int>(log::Level::kFatal), false},
    {"panic", static_cast<int>(log::Level::kPanic), false},
    {"debug", static_cast<int>(log::Level::kDebug2), true},
    {nullptr, 0, false},
};

// --- AUTHENTICATION: password_encryption's values (PostgreSQL 15's) ---
constexpr EnumOption kPasswordEncryptionOptions[] = {
    {"md5", static_cast<int>(PasswordEncryption::kMd5), false},
    {"scram-sha-256", static_cast<int>(PasswordEncryption::kScramSha256), false},
    {nullptr, 0, false},
};
// --- end AUTHENTICATION ---

// log_destination: a comma-separated list of "stderr" and "file".
bool CheckLogDestination(std::string& value, ErrorReport* why) {
  if (Trim(value).empty()) return true;
  for (const std::string& word : SplitTrimmed(value, ',')) {
    if (word.empty()) {
      why->detail = "List syntax is invalid.";
      return false;
    }
    if (!EqualsIgnoreCase(word, "stderr") && !EqualsIgnoreCase(word, "file")) {
      why->detail = StringPrintf("Unrecognized key word: \"%s\".", word.c_str());
      return false;
    }
  }
  return true;
}

struct Builtin {
  const char* group;  // section of the sample file
  const char* name;
  const char* desc;
  VarType type;
  Context context;
  int flags = 0;
  bool* bool_addr = nullptr;
  int* int_addr = nullptr;  // int and enum
  char** string_addr = nullptr;
  bool bool_boot = false;
  int int_boot = 0, int_min = 0, int_max = 0;
  const char* string_boot = nullptr;
  const EnumOption* options = nullptr;
  bool (*string_check)(std::string&, ErrorReport*) = nullptr;
};

// In sample-file order. Descriptions carry no trailing period: the sample
// appends the reload/restart note after a semicolon.
const Builtin kBuiltins[] = {
    {.group = "CONNECTIONS",
     .name = "listen_addresses",
     .desc = "Comma-separated host names or IP addresses to listen on; '*' for all",
     .type = VarType::kString,
     .context = Context::kPostmaster,
     .flags = kListInput,
     .string_addr = &listen_addresses,
     .string_boot = "localhost"},
    {.group = "CONNECTIONS",
     .name = "port",
     .desc = "Port the server listens on",
     .type = VarType::kInt,
     .context = Context::kPostmaster,
     .int_addr = &port,
     .int_boot = 5432,
     .int_min = 1,
     .int_max = 65535},
    {.group = "CONNECTIONS",
     .name = "max_connections",
     .desc = "Maximum number of concurrent client connections",
     .type = VarType::kInt,
     .context = Context::kPostmaster,
     .int_addr = &max_connections,
     .int_boot = 100,
     .int_min = 1,
     .int_max = 262143},
    {.group = "CONNECTIONS",
     .name = "unix_socket_directories",
     .desc = "Comma-separated directories for Unix-domain sockets; empty for none",
     .type = VarType::kString,
     .context = Context::kPostmaster,
     .flags = kListInput,
     .string_addr = &unix_socket_directories,
     .string_boot = "/tmp"},
    {.group = "CONNECTIONS",
     .name = "authentication_timeout",
     .desc = "Maximum time to complete client authentication",
     .type = VarType::kInt,
     .context = Context::kSighup,
     .flags = kUnitS,
     .int_addr = &authentication_timeout,
     .int_boot = 60,
     .int_min = 1,
     .int_max = 600},
    // --- AUTHENTICATION ---
    {.group = "CONNECTIONS",
     .name = "password_encryption",
     .desc = "Algorithm used to store passwords set with CREATE/ALTER ROLE",
     .type = VarType::kEnum,
     .context = Context::kUserset,
     .int_addr = &password_encryption,
     .int_boot = static_cast<int>(PasswordEncryption::kScramSha256),
     .options = kPasswordEncryptionOptions},
    // --- end AUTHENTICATION ---
    {.group = "RESOURCES",
     .name = "max_worker_processes",
     .desc = "Maximum number of concurrent background worker processes",
     .type = VarType::kInt,
     .context = Context::kPostmaster,
     .int_addr = &max_worker_processes,
     .int_boot = 8,
     .int_min = 0,
     .int_max = 262143},
    {.group = "RESOURCES",
     .name = "max_parallel_workers",
     .desc = "Maximum number of parallel-class background workers active at once",
     .type = VarType::kInt,
     .context = Context::kUserset,
     .int_addr = &::max_parallel_workers,
     .int_boot = 8,
     .int_min = 0,
     .int_max = 1024},
    {.group = "RESOURCES",
     .name = "session_memory_limit",
     .desc = "Most memory one session's SQL engine may allocate (53200 beyond); -1 for no limit",
     .type = VarType::kInt,
     .context = Context::kSuset,
     .flags = kUnitKB,
     .int_addr = &session_memory_limit,
     .int_boot = 1024 * 1024,
     .int_min = -1,
     .int_max = 2147483647},
    {.group = "RESOURCES",
     .name = "temp_file_limit",
     .desc = "Most temporary file space one session may use (53400 beyond); -1 for no limit",
     .type = VarType::kInt,
     .context = Context::kSuset,
     .flags = kUnitKB,
     .int_addr = &temp_file_limit,
     .int_boot = 4 * 1024 * 1024,
     .int_min = -1,
     .int_max = 2147483647},
    {.group = "MODULES",
     .name = "shared_preload_libraries",
     .desc = "Comma-separated libraries to load into the server at start",
     .type = VarType::kString,
     .context = Context::kPostmaster,
     .flags = kListInput,
     .string_addr = &shared_preload_libraries,
     .string_boot = ""},
    {.group = "MODULES",
     .name = "dynamic_library_path",
     .desc = "Colon-separated directories searched for loadable modules",
     .type = VarType::kString,
     .context = Context::kSighup,
     .string_addr = &dynamic_library_path,
     .string_boot = "$libdir:$datadir/modules"},
    {.group = "LOGGING",
     .name = "log_destination",
     .desc = "Where to log: stderr, file, or both (comma-separated)",
     .type = VarType::kString,
     .context = Context::kSighup,
     .flags = kListInput,
     .string_addr = &log_destination,
     .string_boot = "stderr,file",
     .string_check = CheckLogDestination},
    {.group = "LOGGING",
     .name = "log_directory",
     .desc = "Directory of the log file, absolute or relative to the data directory",
     .type = VarType::kString,
     .context = Context::kSighup,
     .string_addr = &log_directory,
     .string_boot = "log"},
    {.group = "LOGGING",
     .name = "log_filename",
     .desc = "Name of the log file in log_directory",
     .type = VarType::kString,
     .context = Context::kSighup,
     .string_addr = &log_filename,
     .string_boot = "bgw.log"},
    {.group = "LOGGING",
     .name = "log_min_messages",
     .desc = "Least severe message level written to the server log",
     .type = VarType::kEnum,
     .context = Context::kSuset,
     .int_addr = &log_min_messages,
     .int_boot = static_cast<int>(log::Level::kWarning),
     .options = kMessageLevelOptions},
    {.group = "LOGGING",
     .name = "log_line_prefix",
     .desc = "printf-style prefix of each log line: %m time, %p pid, %b process type, %% percent",
     .type = VarType::kString,
     .context = Context::kSighup,
     .string_addr = &log_line_prefix,
     .string_boot = "%m [%p] %b "},
    {.group = "LOGGING",
     .name = "cluster_name",
     .desc = "Name shown in process titles to tell servers apart",
     .type = VarType::kString,
     .context = Context::kPostmaster,
     .string_addr = &cluster_name,
     .string_boot = ""},
    {.group = "ERROR HANDLING",
     .name = "restart_after_crash",
     .desc = "Reinitialize the server after a child process crashes",
     .type = VarType::kBool,
     .context = Context::kSighup,
     .bool_addr = &restart_after_crash,
     .bool_boot = true},
};

Status DefineOne(const Builtin& b) {
  switch (b.type) {
    case VarType::kBool:
      return DefineBool(b.name, b.desc, b.bool_addr, b.bool_boot, b.context, b.flags);
    case VarType::kInt:
      return DefineInt(b.name, b.desc, b.int_addr, b.int_boot, b.int_min, b.int_max, b.context,
                       b.flags);
    case VarType::kString: {
      StringCheck check;
      if (b.string_check != nullptr) check = b.string_check;
      return DefineString(b.name, b.desc, b.string_addr, b.string_boot, b.context, b.flags,
                          std::move(check));
    }
    case VarType::kEnum:
      return DefineEnum(b.name, b.desc, b.int_addr, b.int_boot, b.options, b.context, b.flags);
    case VarType::kReal:
      break;
  }
  return Status::Error(StringPrintf("built-in parameter \"%s\" has an unsupported type", b.name));
}

// A value as it must be written in the file to read back the same.
std::string QuoteForFile(const VariableInfo& info) {
  if (info.type != VarType::kString) return info.boot_shown;
  std::string out = "'";
  for (char c : info.boot_shown) {
    if (c == '\'') {
      out += "''";
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

void DefineBuiltinSettings() {
  for (const Builtin& b : kBuiltins) {
    if (IsDefined(b.name)) continue;
    if (Status s = DefineOne(b); !s.ok()) {
      BGW_INTERNAL_ERROR("cannot define built-in parameter \"%s\": %s", b.name,
                         s.message().c_str());
    }
  }
  // Session settings too: bgw.conf and -c may set their defaults
  // (statement_timeout, TimeZone, ...), and bgw init lists them.
  DefineSessionSettings();
}

// ---------------------------------------------------------------------------
// SESSION settings (the SQL engine's). Kept apart from kBuiltins: they are
// per-connection, never belong in bgw.conf's sample, and several are
// read-only values reported to clients.

namespace {

// client_encoding: we store and send UTF-8 only. SQL_ASCII is what libpq's
// "auto" picks in the C locale; it is a subset, so it is accepted as is.
bool CheckClientEncoding(std::string& value, ErrorReport* why) {
  std::string v;
  for (char c : value) {
    if (c != '-' && c != '_') v += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (v == "UTF8" || v == "UNICODE") {
    value = "UTF8";
    return true;
  }
  if (v == "SQLASCII") {
    value = "SQL_ASCII";
    return true;
  }
  why->detail = "Only UTF8 is supported.";
  return false;
}

// DateStyle: "<output style>, <field order>"; only the canonical form is
// kept, since output is always ISO.
bool CheckDateStyle(std::string& value, ErrorReport* why) {
  std::string style = "ISO", order = "MDY";
  for (const std::string& word : SplitTrimmed(value, ',')) {
    if (EqualsIgnoreCase(word, "ISO")) {
      style = "ISO";
    } else if (EqualsIgnoreCase(word, "MDY") || EqualsIgnoreCase(word, "US") ||
               EqualsIgnoreCase(word, "NONEUROPEAN")) {
      order = "MDY";
    } else if (EqualsIgnoreCase(word, "DMY") || EqualsIgnoreCase(word, "EUROPEAN")) {
      order = "DMY";
    } else if (EqualsIgnoreCase(word, "YMD")) {
      order = "YMD";
    } else {
      why->detail = StringPrintf("Unrecognized key word: \"%s\".", word.c_str());
      return false;
    }
  }
  value = style + ", " + order;
  return true;
}

bool CheckNonEmpty(std::string& value, ErrorReport* why) {
  if (!Trim(value).empty()) return true;
  why->detail = "The value must not be empty.";
  return false;
}

void DefineOrDie(const char* name, const Status& s) {
  if (!s.ok()) {
    BGW_INTERNAL_ERROR("cannot define session parameter \"%s\": %s", name, s.message().c_str());
  }
}

}  // namespace

void DefineSessionSettings() {
  constexpr int kHidden = kNotInSample;
  auto def_int = [](const char* name, const char* desc, int* addr, int boot, int min, int max,
                    Context ctx, int flags) {
    if (!IsDefined(name)) {
      DefineOrDie(name, DefineInt(name, desc, addr, boot, min, max, ctx, flags | kNotInSample));
    }
  };
  auto def_bool = [](const char* name, const char* desc, bool* addr, bool boot, Context ctx,
                     BoolCheck check = {}) {
    if (!IsDefined(name)) {
      DefineOrDie(name, DefineBool(name, desc, addr, boot, ctx, kNotInSample, std::move(check)));
    }
  };
  auto def_string = [](const char* name, const char* desc, char** addr, const char* boot,
                       Context ctx, StringCheck check = {}) {
    if (!IsDefined(name)) {
      DefineOrDie(name, DefineString(name, desc, addr, boot, ctx, kNotInSample, std::move(check)));
    }
  };
  def_int("statement_timeout", "Maximum allowed duration of any statement", &statement_timeout, 0,
          0, 2147483647, Context::kUserset, kUnitMs | kHidden);
  def_int("lock_timeout", "Maximum allowed duration of any wait for a lock (not enforced)",
          &lock_timeout, 0, 0, 2147483647, Context::kUserset, kUnitMs | kHidden);
  def_int("idle_in_transaction_session_timeout",
          "Maximum allowed idle time inside a transaction (25P03, the session ends)",
          &idle_in_transaction_session_timeout, 0, 0, 2147483647, Context::kUserset,
          kUnitMs | kHidden);
  def_int("idle_session_timeout", "Maximum allowed idle time outside a transaction (57P05)",
          &idle_session_timeout, 0, 0, 2147483647, Context::kUserset, kUnitMs | kHidden);
  def_int("extra_float_digits", "Extra digits for floating-point output", &extra_float_digits, 1,
          -15, 3, Context::kUserset, kHidden);
  if (!IsDefined("client_min_messages")) {
    static constexpr EnumOption kLevels[] = {
        {"debug5", static_cast<int>(log::Level::kDebug5), false},
        {"debug4", static_cast<int>(log::Level::kDebug4), false},
        {"debug3", static_cast<int>(log::Level::kDebug3), false},
        {"debug2", static_cast<int>(log::Level::kDebug2), false},
        {"debug1", static_cast<int>(log::Level::kDebug1), false},
        {"log", static_cast<int>(log::Level::kLog), false},
        {"notice", static_cast<int>(log::Level::kNotice), false},
        {"warning", static_cast<int>(log::Level::kWarning), false},
        {"error", static_cast<int>(log::Level::kError), false},
        {"debug", static_cast<int>(log::Level::kDebug2), true},
        {nullptr, 0, false},
    };
    DefineOrDie("client_min_messages",
                DefineEnum("client_min_messages", "Least severe message level sent to the client",
                           &client_min_messages, static_cast<int>(log::Level::kNotice), kLevels,
                           Context::kUserset, kNotInSample));
  }
  def_string("client_encoding", "The client's character set encoding", &client_encoding, "UTF8",
             Context::kUserset, CheckClientEncoding);
  def_string("DateStyle", "Display format for date and time values", &datestyle, "ISO, MDY",
             Context::kUserset, CheckDateStyle);
  def_string("TimeZone", "Time zone for displaying and interpreting time stamps", &timezone_setting,
             "UTC", Context::kUserset, CheckNonEmpty);
  def_string("IntervalStyle", "Display format for interval values", &intervalstyle, "postgres",
             Context::kUserset);
  def_string("application_name", "Name of the application, as pg_stat_activity shows it",
             &application_name, "", Context::kUserset);
  def_string("search_path", "Schema search order (accepted; there is one schema)", &search_path,
             "\"$user\", public", Context::kUserset);
  def_bool("standard_conforming_strings", "'...' strings treat backslashes literally (always on)",
           &standard_conforming_strings, true, Context::kUserset, [](bool& v, ErrorReport* why) {
             if (v) return true;
             why->detail = "Only on is supported.";
             return false;
           });
  def_bool("default_transaction_read_only", "Default read-only status of new transactions",
           &default_transaction_read_only, false, Context::kUserset);
  def_string("default_transaction_isolation", "Default isolation level (SQLite is serializable)",
             &default_transaction_isolation, "serializable", Context::kUserset);
  def_bool("integer_datetimes", "Datetimes are integer based", &integer_datetimes, true,
           Context::kInternal);
  // The version of PostgreSQL's API we implement (pg_config.h), as clients
  // and modules test for it.
  def_string("server_version", "The server version", &server_version, PG_VERSION " (bgworker)",
             Context::kInternal);
  def_int("server_version_num", "The server version as an integer", &server_version_num,
          PG_VERSION_NUM, PG_VERSION_NUM, PG_VERSION_NUM, Context::kInternal, 0);
  def_string("server_encoding", "The server's character set encoding", &server_encoding, "UTF8",
             Context::kInternal);
  def_bool("in_hot_standby", "Whether the server is a hot standby (never)", &in_hot_standby, false,
           Context::kInternal);
  def_string("transaction_isolation", "The current transaction's isolation level",
             &transaction_isolation, "serializable", Context::kInternal);
  def_bool("is_superuser", "Whether the session user is a superuser", &is_superuser, false,
           Context::kInternal);
  def_string("session_authorization", "The session user name", &session_authorization, "",
             Context::kInternal);
  def_string("role", "The current role (SET ROLE), or none", &role_setting, "none",
             Context::kInternal);
}

std::string SampleConfigFile() {
  DefineBuiltinSettings();
  std::string out =
      "# bgw server configuration file\n"
      "# ==============================\n"
      "#\n"
      "# One setting per line, in the form\n"
      "#\n"
      "#   name = value\n"
      "#\n"
      "# (the \"=\" is optional). \"#\" starts a comment. Strings are single-quoted\n"
      "# ('' or \\' for a quote). Booleans: on, off, true, false, yes, no, 1, 0.\n"
      "# Memory units: B, kB, MB, GB, TB. Time units: us, ms, s, min, h, d.\n"
      "#\n"
      "# Lines below show each setting commented out with its default value.\n"
      "# Changes take effect on reload (bgw reload, or SIGHUP to the server),\n"
      "# except those marked \"change requires restart\". Command-line -c options\n"
      "# override this file.\n"
      "#\n"
      "# Other files can be read in place with:\n"
      "#\n"
      "#   include 'file'             (error if missing)\n"
      "#   include_if_exists 'file'   (skipped if missing)\n"
      "#   include_dir 'directory'    (every *.conf in it, sorted by name)\n"
      "#\n"
      "# Relative paths are relative to the directory of the including file.\n";

  std::vector<VariableInfo> all = AllVariables();
  const char* group = nullptr;
  for (const Builtin& b : kBuiltins) {
    if (group == nullptr || std::string(group) != b.group) {
      group = b.group;
      out +=
          "\n\n#" + std::string(78, '-') + "\n# " + group + "\n#" + std::string(78, '-') + "\n\n";
    }
    const VariableInfo* info = nullptr;
    for (const VariableInfo& v : all) {
      if (v.name == b.name) info = &v;
    }
    if (info == nullptr || (info->flags & kNotInSample)) continue;
    std::string assignment = "#" + info->name + " = " + QuoteForFile(*info);
    std::string comment = info->short_desc;
    if (!info->enum_values.empty()) {
      std::string values;
      for (const std::string& e : info->enum_values) values += (values.empty() ? "" : ", ") + e;
      comment += " (" + values + ")";
    }
    comment += info->context <= Context::kPostmaster ? "; change requires restart"
                                                     : "; takes effect on reload";
    // Tabs align the comments at column 40 (tab stops every 8), as in
    // PostgreSQL's sample file.
    out += assignment;
    size_t column = assignment.size();
    do {
      out += '\t';
      column = (column / 8 + 1) * 8;
    } while (column < 40);
    out += "# " + comment + "\n";
  }
  return out;
}

}  // namespace bgw::guc
