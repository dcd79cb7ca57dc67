/*
 * storage/latch.h: latches, PostgreSQL 13-15 compatible.
 *
 * A latch is a flag a process sleeps on and any process (or a signal
 * handler) sets. The contract: ResetLatch(), then check for work, then
 * WaitLatch(); a SetLatch() between the check and the wait is never lost.
 * SetLatch on a latch that is already set costs a memory read.
 *
 * Every process has MyLatch. Shared latches live in shared memory (a module
 * may embed one in its own struct: InitSharedLatch once, then OwnLatch in the
 * process that waits on it).
 *
 * How it works here: a waiter publishes maybe_sleeping and sleeps in epoll
 * on a signalfd for SIGURG (kept blocked); SetLatch sends SIGURG to the owner
 * only when the owner may be sleeping. Postmaster death wakes every waiter
 * through a pipe that reports EOF.
 */
#ifndef BGW_COMPAT_LATCH_H
#define BGW_COMPAT_LATCH_H

#include <signal.h>

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct Latch
{
	sig_atomic_t is_set;
	sig_atomic_t maybe_sleeping;
	bool		is_shared;
	int			owner_pid;
} Latch;

/* Events for WaitLatch() and WaitLatchOrSocket() */
#define WL_LATCH_SET		 (1 << 0)
#define WL_SOCKET_READABLE	 (1 << 1)
#define WL_SOCKET_WRITEABLE  (1 << 2)
#define WL_TIMEOUT			 (1 << 3)
#define WL_POSTMASTER_DEATH  (1 << 4)
#define WL_EXIT_ON_PM_DEATH	 (1 << 5)
#define WL_SOCKET_CONNECTED  WL_SOCKET_WRITEABLE
#define WL_SOCKET_CLOSED	 (1 << 7)
#define WL_SOCKET_MASK		(WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE | \
							 WL_SOCKET_CONNECTED | WL_SOCKET_CLOSED)

typedef int pgsocket;
#define PGINVALID_SOCKET (-1)

extern void InitializeLatchSupport(void);
extern void InitLatch(Latch *latch);
extern void InitSharedLatch(Latch *latch);
extern void OwnLatch(Latch *latch);
extern void DisownLatch(Latch *latch);
extern void SetLatch(Latch *latch);
extern void ResetLatch(Latch *latch);
extern int	WaitLatch(Latch *latch, int wakeEvents, long timeout, uint32 wait_event_info);
extern int	WaitLatchOrSocket(Latch *latch, int wakeEvents, pgsocket sock, long timeout,
							  uint32 wait_event_info);

/* SIGUSR1 handler that sets MyLatch (what the latch wake-ups rely on). */
extern void latch_sigusr1_handler(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_LATCH_H */
