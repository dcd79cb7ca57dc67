// The startup process: the first child of every server generation (at start
// and after each crash reinitialization). It brings the data directory to a
// consistent state, records "in production" in the control file, and exits 0;
// the postmaster then enters the run state. Today the databases need no
// replay; the control file's state tells whether the last stop was clean and
// the log says so, as PostgreSQL's does.
#pragma once

#include <string>

namespace bgw {

[[noreturn]] void StartupProcessMain(const std::string& data_dir);

}  // namespace bgw
