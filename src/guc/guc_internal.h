// Private to src/guc: what the registry (guc.cc), the configuration file
// parser (config_file.cc) and the built-in settings (settings.cc) share.
//
// Errors are ErrorReports (common/status.h) from where they are made, so the
// DETAIL/HINT fields and the SQLSTATE reach the log, a client or ereport
// intact.
#pragma once

#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "guc/guc.h"

namespace bgw::guc::internal {

// A refusal of the settings code: 22023 (invalid_parameter_value) unless the
// caller knows a better code (42704 unknown name, 55P02 cannot change now...).
inline ErrorReport GucError(std::string message, std::string detail = {}, std::string hint = {},
                            std::string sqlstate = "22023") {
  return MakeError(std::move(sqlstate), std::move(message), std::move(detail), std::move(hint));
}

// Writes a report to the server log (or to the sink installed for tests).
void Report(log::Level level, const ErrorReport& error);

// The whole parse of a configuration file: the items read before and after
// any errors, and every error (syntax errors are resynchronized at the next
// line, as PostgreSQL does, so one pass reports them all).
struct ParsedConfig {
  std::vector<ConfigItem> items;
  std::vector<ErrorReport> errors;
};
ParsedConfig ParseConfigFileAll(const std::string& path);

}  // namespace bgw::guc::internal
