// Where this installation keeps what modules are built against and loaded
// from: the one answer shared by `bgw config` / `pg_config` (what a module's
// build is told), the dynamic loader ($libdir) and CREATE EXTENSION (the
// share directory), so that what pg_config prints is where the server looks.
//
// Two layouts, told apart by the running executable: in a build tree (a
// CMakeCache.txt beside the binary) headers come from the source tree and
// modules and extension files live in the build directory (<build>/modules,
// <build>/share); an installed binary uses the directories configured at
// build time (CMake's GNUInstallDirs, PostgreSQL's names for them).
#pragma once

#include <string>

namespace bgw {

struct InstallLayout {
  bool build_tree = false;
  std::string bindir;
  std::string includedir;         // the public include root (bgworker/*.h)
  std::string includedir_server;  // PostgreSQL's server headers (postgres.h, ...)
  std::string libdir;
  std::string pkglibdir;  // $libdir: modules
  std::string sharedir;   // extension/*.control and scripts live below it
  std::string pgxs;       // pgxs.mk, for `pg_config --pgxs`
  std::string cmakedir;   // BgwModule.cmake
};

// The layout of the running executable, computed once.
const InstallLayout& Layout();

}  // namespace bgw
