/*
 * postmaster/interrupt.h: ready-made signal handlers for workers,
 * PostgreSQL 13-15 compatible. Install them with pqsignal() before
 * BackgroundWorkerUnblockSignals().
 */
#ifndef BGW_COMPAT_INTERRUPT_H
#define BGW_COMPAT_INTERRUPT_H

#include <signal.h>

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

extern PGDLLIMPORT volatile sig_atomic_t ConfigReloadPending;
extern PGDLLIMPORT volatile sig_atomic_t ShutdownRequestPending;

/* Handles ConfigReloadPending and ShutdownRequestPending (exit 0). */
extern void HandleMainLoopInterrupts(void);
/* SIGHUP: ConfigReloadPending = true; SetLatch(MyLatch). */
extern void SignalHandlerForConfigReload(int postgres_signal_arg);
/* SIGQUIT: _exit(2) at once, no cleanup. */
extern void SignalHandlerForCrashExit(int postgres_signal_arg);
/* SIGTERM/SIGINT: ShutdownRequestPending = true; SetLatch(MyLatch). */
extern void SignalHandlerForShutdownRequest(int postgres_signal_arg);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_INTERRUPT_H */
