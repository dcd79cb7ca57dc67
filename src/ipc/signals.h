// Signal handling of server children that run module code (background
// workers today, backends later): PostgreSQL's masks, default handlers and
// interrupt processing. The C API lives in postgres/tcop/tcopprot.h,
// postgres/postmaster/interrupt.h, postgres/libpq/pqsignal.h and
// postgres/miscadmin.h; this header adds what the server itself calls.
//
// Handlers only set flags and the latch (saving errno), with one exception
// kept for PostgreSQL 13-15 compatibility: a worker's default SIGTERM handler
// (bgworker_die) reports FATAL and exits from the handler, as those versions
// do, so a worker that never checks for interrupts still stops.
#pragma once

#include "postgres/libpq/pqsignal.h"
#include "postgres/miscadmin.h"
#include "postgres/postmaster/interrupt.h"
#include "postgres/storage/procsignal.h"
#include "postgres/tcop/tcopprot.h"

namespace bgw::bgworker {

// Background worker defaults (PostgreSQL's BackgroundWorkerMain): SIGTERM =
// bgworker_die, SIGUSR1 = latch wake-up, SIGINT/SIGHUP/SIGPIPE/SIGUSR2
// ignored, then BlockSig in force.
void InstallWorkerSignalHandlers();

}  // namespace bgw::bgworker
