// Extensions as PostgreSQL packages them: a control file
// <sharedir>/extension/NAME.control and SQL scripts NAME--VERSION.sql (the
// install script of a version) and NAME--FROM--TO.sql (an update), where
// `make install` of a PGXS Makefile puts them (pg_config --sharedir).
//
// This file reads them; CREATE/ALTER/DROP EXTENSION (extension_commands.cc)
// run them. Scripts are prepared as PostgreSQL prepares them: lines
// starting with \echo are emptied (the "use CREATE EXTENSION to load this
// file" guard for psql), MODULE_PATHNAME becomes the control file's
// module_pathname, @extschema@ the schema and @extowner@ the installing role.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace bgw::sql::extension {

struct Control {
  std::string name;
  std::string directory;  // where the scripts are
  std::string comment;
  std::string default_version;
  std::string module_pathname;
  std::string schema;
  std::vector<std::string> required;  // "requires": extensions that must be installed first
  bool relocatable = false;
  bool superuser = true;
  bool trusted = false;
};

// PostgreSQL's rules for extension and version names (22023 otherwise):
// not empty, no "--", no leading or trailing "-", no directory separator.
// They are file name parts: without the checks a name such as
// "../../tmp/x" would run a control file and script from anywhere.
Status CheckExtensionName(const std::string& name);
Status CheckVersionName(const std::string& version);

// <sharedir>/extension, where control files are looked for.
std::string ControlDirectory();

// Reads NAME.control from `directory` (ControlDirectory() by default).
// Errors: 58P01 when the file is missing (PostgreSQL's "extension ... is
// not available"), 42601 with file:line for a line that is not
// "key = value" or names an unknown key.
Result<Control> ReadControl(const std::string& name, const std::string& directory = "");

// The scripts that take the extension to `version`: its install script if
// there is one, else the shortest chain of an install script and updates.
// With `from` set: the shortest chain of update scripts from that version.
// Errors: 22023 when no such path exists, naming the versions.
Result<std::vector<std::string>> ScriptPath(const Control& control, const std::string& version,
                                            const std::optional<std::string>& from = std::nullopt);

// A script's text, ready to run.
Result<std::string> ReadScript(const Control& control, const std::string& path,
                               const std::string& schema, const std::string& owner);

// Every NAME.control in ControlDirectory(), sorted (pg_available_extensions).
std::vector<Control> Available();

}  // namespace bgw::sql::extension
