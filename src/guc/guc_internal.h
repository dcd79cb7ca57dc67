// Private to src/guc: what the registry (guc.cc), the configuration file
// parser (config_file.cc) and the built-in settings (settings.cc) share.
//
// Errors travel inside the module as structured messages so they can be logged
// with their DETAIL/HINT fields intact; they become a Status only at the
// public boundary.
#pragma once

#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "guc/guc.h"

namespace bgw::guc::internal {

struct Error {
  std::string text;
  std::string detail;
  std::string hint;
  // Set where the error is made; a value the registry refuses (a range, a
  // check hook) is 22023 unless the hook says otherwise (guc_c.cc).
  std::string sqlstate = "22023";

  // "text[\nDETAIL: detail][\nHINT: hint]", the convention of guc.h.
  Status ToStatus() const;
  log::Message ToMessage(log::Level level) const;
};

// Writes a report to the server log (or to the sink installed for tests).
void Report(log::Level level, const Error& error);

// The whole parse of a configuration file: the items read before and after
// any errors, and every error (syntax errors are resynchronized at the next
// line, as PostgreSQL does, so one pass reports them all).
struct ParsedConfig {
  std::vector<ConfigItem> items;
  std::vector<Error> errors;
};
ParsedConfig ParseConfigFileAll(const std::string& path);

}  // namespace bgw::guc::internal
