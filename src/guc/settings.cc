// The built-in settings table and the sample configuration file made from it.
//
// One table drives both registration and bgw.conf generation, so a new
// setting cannot be forgotten in the sample: add a row and it appears, in its
// group, with its default and whether a reload or a restart applies it.
#include "guc/settings.h"

#include "common/internal_error.h"

#include "postgres/miscadmin.h"

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
bool CheckLogDestination(std::string& value, std::string* detail) {
  if (Trim(value).empty()) return true;
  for (const std::string& word : SplitTrimmed(value, ',')) {
    if (word.empty()) {
      *detail = "List syntax is invalid.";
      return false;
    }
    if (!EqualsIgnoreCase(word, "stderr") && !EqualsIgnoreCase(word, "file")) {
      *detail = StringPrintf("Unrecognized key word: \"%s\".", word.c_str());
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
  bool (*string_check)(std::string&, std::string*) = nullptr;
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
