// Process titles as `ps` shows them ("bgw: backend alice postgres [local]").
//
// Children are forked from the postmaster without exec, so the title is set by
// overwriting the argv area (after moving environ out of the way), exactly the
// memory /proc/PID/cmdline reads. PR_SET_NAME sets the short comm name too.
#pragma once

#include <string_view>

namespace bgw::process_title {

// Call once, first thing in main(), before anything reads argv or environ.
// Returns the argv to use from then on (a copy; the original area is reused).
char** Init(int argc, char** argv);

// Sets the full title shown by ps. Truncated to the space argv had.
void Set(std::string_view title);
// Shows "<the last Set title> <activity>" (PostgreSQL's set_ps_display);
// an empty activity shows the title alone.
void SetActivity(std::string_view activity);

}  // namespace bgw::process_title
