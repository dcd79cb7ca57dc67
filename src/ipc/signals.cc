// Worker signal handling and interrupt processing; see signals.h.
#include "ipc/signals.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

#include "ipc/proc_exit.h"
#include "postgres/port.h"
#include "postgres/postmaster/bgworker.h"
#include "postgres/storage/ipc.h"
#include "postgres/storage/latch.h"
#include "postgres/utils/guc.h"

extern "C" {

sigset_t UnBlockSig;
sigset_t BlockSig;
sigset_t StartupBlockSig;

void pqinitmask(void) {
  // Latches consume SIGURG through a signalfd: it stays blocked everywhere.
  sigemptyset(&UnBlockSig);
  sigaddset(&UnBlockSig, SIGURG);
  sigfillset(&BlockSig);
  // Synchronous faults must never be blocked, and SIGQUIT is the immediate
  // exit every child honours at once; SIGPWR is the postmaster-death signal.
  for (int sig : {SIGTRAP, SIGABRT, SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGSYS, SIGQUIT, SIGPWR}) {
    sigdelset(&BlockSig, sig);
  }
  StartupBlockSig = BlockSig;
  for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigdelset(&StartupBlockSig, sig);
  }
}

// PostgreSQL 13-15's bgworker_die: FATAL from the handler (see signals.h).
static void bgworker_die(SIGNAL_ARGS) {
  (void)postgres_signal_arg;
  sigprocmask(SIG_SETMASK, &BlockSig, nullptr);
  ereport(FATAL, errcode(ERRCODE_ADMIN_SHUTDOWN),
          errmsg("terminating background worker \"%s\" due to administrator command",
                 MyBgworkerEntry ? MyBgworkerEntry->bgw_type : "?"));
}

void die(SIGNAL_ARGS) {
  (void)postgres_signal_arg;
  int saved = errno;
  if (!proc_exit_inprogress) {
    InterruptPending = true;
    ProcDiePending = true;
  }
  if (MyLatch != nullptr) SetLatch(MyLatch);
  errno = saved;
}

void StatementCancelHandler(SIGNAL_ARGS) {
  (void)postgres_signal_arg;
  int saved = errno;
  if (!proc_exit_inprogress) {
    InterruptPending = true;
    QueryCancelPending = true;
  }
  if (MyLatch != nullptr) SetLatch(MyLatch);
  errno = saved;
}

void FloatExceptionHandler(SIGNAL_ARGS) {
  (void)postgres_signal_arg;
  ereport(ERROR, errcode(ERRCODE_FLOATING_POINT_EXCEPTION), errmsg("floating-point exception"),
          errdetail("An invalid floating-point operation was signaled. This probably means an "
                    "out-of-range result or an invalid operation, such as division by zero."));
}

void procsignal_sigusr1_handler(SIGNAL_ARGS) {
  (void)postgres_signal_arg;
  int saved = errno;
  latch_sigusr1_handler();
  errno = saved;
}

void SignalHandlerForConfigReload(SIGNAL_ARGS) {
  (void)postgres_signal_arg;
  int saved = errno;
  ConfigReloadPending = true;
  if (MyLatch != nullptr) SetLatch(MyLatch);
  errno = saved;
}

void SignalHandlerForCrashExit(SIGNAL_ARGS) {
  (void)postgres_signal_arg;
  _exit(2);
}

void SignalHandlerForShutdownRequest(SIGNAL_ARGS) {
  (void)postgres_signal_arg;
  int saved = errno;
  ShutdownRequestPending = true;
  if (MyLatch != nullptr) SetLatch(MyLatch);
  errno = saved;
}

void HandleMainLoopInterrupts(void) {
  if (ProcDiePending || QueryCancelPending) ProcessInterrupts();
  if (ConfigReloadPending) {
    ConfigReloadPending = false;
    ProcessConfigFile(PGC_SIGHUP);
  }
  if (ShutdownRequestPending) proc_exit(0);
}

void ProcessInterrupts(void) {
  if (InterruptHoldoffCount != 0 || CritSectionCount != 0) return;
  InterruptPending = false;
  if (ProcDiePending) {
    ProcDiePending = false;
    QueryCancelPending = false;
    if (IsBackgroundWorker) {
      ereport(FATAL, errcode(ERRCODE_ADMIN_SHUTDOWN),
              errmsg("terminating background worker \"%s\" due to administrator command",
                     MyBgworkerEntry ? MyBgworkerEntry->bgw_type : "?"));
    }
    ereport(FATAL, errcode(ERRCODE_ADMIN_SHUTDOWN),
            errmsg("terminating connection due to administrator command"));
  }
  if (QueryCancelPending && QueryCancelHoldoffCount == 0) {
    QueryCancelPending = false;
    ereport(ERROR, errcode(ERRCODE_QUERY_CANCELED),
            errmsg("canceling statement due to user request"));
  }
}

void BackgroundWorkerBlockSignals(void) { sigprocmask(SIG_SETMASK, &BlockSig, nullptr); }

void BackgroundWorkerUnblockSignals(void) { sigprocmask(SIG_SETMASK, &UnBlockSig, nullptr); }

}  // extern "C"

namespace bgw::bgworker {

void InstallWorkerSignalHandlers() {
  pqinitmask();
  sigprocmask(SIG_SETMASK, &BlockSig, nullptr);
  pqsignal(SIGTERM, bgworker_die);
  pqsignal(SIGUSR1, procsignal_sigusr1_handler);
  pqsignal(SIGINT, SIG_IGN);
  pqsignal(SIGHUP, SIG_IGN);
  pqsignal(SIGPIPE, SIG_IGN);
  pqsignal(SIGUSR2, SIG_IGN);
  pqsignal(SIGCHLD, SIG_DFL);
}

}  // namespace bgw::bgworker
