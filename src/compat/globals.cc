// Process-wide globals of the PostgreSQL-compatible API (miscadmin.h,
// postmaster/interrupt.h), defined in one place.
//
// Each process owns its copy: a forked child inherits the postmaster's
// values and the child's entry code overwrites the ones that differ
// (MyProcPid, MyStartTime, IsUnderPostmaster, MyBackendType...). Signal
// handlers write the *Pending flags, hence volatile sig_atomic_t.
//
// Not here: MyLatch (src/ipc/latch.cc) and max_worker_processes (the
// server setting).
#include <time.h>
#include <unistd.h>

#include "postgres/miscadmin.h"
#include "postgres/postmaster/interrupt.h"
#include "postgres/tcop/tcopprot.h"

extern "C" {

volatile sig_atomic_t InterruptPending = false;
volatile sig_atomic_t QueryCancelPending = false;
volatile sig_atomic_t ProcDiePending = false;
volatile sig_atomic_t ConfigReloadPending = false;
volatile sig_atomic_t ShutdownRequestPending = false;
volatile uint32 InterruptHoldoffCount = 0;
volatile uint32 QueryCancelHoldoffCount = 0;
volatile uint32 CritSectionCount = 0;

pid_t PostmasterPid = 0;
bool IsPostmasterEnvironment = false;
bool IsUnderPostmaster = false;
bool IsBackgroundWorker = false;
bool IsBinaryUpgrade = false;
// Right for the process that starts; children set their own after fork.
int MyProcPid = static_cast<int>(getpid());
int64 MyStartTime = static_cast<int64>(time(nullptr));
char* DataDir = nullptr;
Oid MyDatabaseId = InvalidOid;
const char* debug_query_string = nullptr;
int MaxConnections = 100;
int max_parallel_workers = 8;
int MaxBackends = 0;
char my_exec_path[MAXPGPATH];
char pkglib_path[MAXPGPATH];

bool process_shared_preload_libraries_in_progress = false;
bool process_shared_preload_libraries_done = false;

BackendType MyBackendType = B_INVALID;

const char* GetBackendTypeDesc(BackendType backendType) {
  switch (backendType) {
    case B_INVALID:
      return "not initialized";
    case B_AUTOVAC_LAUNCHER:
      return "autovacuum launcher";
    case B_AUTOVAC_WORKER:
      return "autovacuum worker";
    case B_BACKEND:
      return "client backend";
    case B_BG_WORKER:
      return "background worker";
    case B_BG_WRITER:
      return "background writer";
    case B_CHECKPOINTER:
      return "checkpointer";
    case B_STARTUP:
      return "startup";
    case B_WAL_RECEIVER:
      return "walreceiver";
    case B_WAL_SENDER:
      return "walsender";
    case B_WAL_WRITER:
      return "walwriter";
    case B_ARCHIVER:
      return "archiver";
    case B_LOGGER:
      return "logger";
  }
  return "unknown process type";
}

}  // extern "C"
