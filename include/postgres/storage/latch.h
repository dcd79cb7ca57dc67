/*
 * storage/latch.h: latches and wait event sets, PostgreSQL 13-15 compatible.
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
 * How it works here (Linux): the owner publishes in maybe_sleeping how it
 * may be sleeping, then re-checks is_set.
 *  - WaitLatch() (no socket) sleeps with FUTEX_WAIT on futex_word
 *    (maybe_sleeping = 2); SetLatch bumps futex_word and FUTEX_WAKEs it.
 *  - A wait that includes sockets sleeps in epoll over a signalfd for
 *    SIGURG (kept blocked) (maybe_sleeping = 1); SetLatch sends SIGURG.
 * Postmaster death ends either kind of sleep promptly (the death pipe in
 * epoll; PR_SET_PDEATHSIG's handler bumps futex_word).
 *
 * A WaitEventSet keeps sockets, a latch and postmaster death registered
 * across waits (one epoll set, created once), so a loop that waits on the
 * same socket again and again makes one system call per wait.
 */
#ifndef BGW_COMPAT_LATCH_H
#define BGW_COMPAT_LATCH_H

#include <signal.h>

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Fields after owner_pid are ours (PostgreSQL's Latch ends there); modules
 * compile against this header, so embedding a Latch in a shared struct
 * stays correct. Who writes what is documented in src/ipc/latch.cc.
 */
typedef struct Latch
{
	sig_atomic_t is_set;
	sig_atomic_t maybe_sleeping;	/* 0 awake, 1 epoll (SIGURG), 2 futex */
	bool		is_shared;
	int			owner_pid;
	uint32		futex_word;		/* changed by every wake-up of a futex sleeper */
} Latch;

/* Events for WaitLatch(), WaitLatchOrSocket() and wait event sets */
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

/* One event of a wait event set, as registered or as reported. */
typedef struct WaitEvent
{
	int			pos;			/* position in the set (AddWaitEventToSet's result) */
	uint32		events;			/* registered, or triggered (WaitEventSetWait) */
	pgsocket	fd;				/* the socket, or PGINVALID_SOCKET */
	void	   *user_data;		/* as given to AddWaitEventToSet */
} WaitEvent;

typedef struct WaitEventSet WaitEventSet;

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

/*
 * Wait event sets (PostgreSQL 15 semantics). A set belongs to the process
 * that created it (a forked child must not use an inherited one) and holds
 * at most nevents events: at most one latch (owned by this process, event
 * exactly WL_LATCH_SET), sockets (WL_SOCKET_*), and WL_POSTMASTER_DEATH or
 * WL_EXIT_ON_PM_DEATH (ignored outside a postmaster child). Misuse raises
 * ERROR. The set is allocated in `context`; FreeWaitEventSet releases it
 * and its descriptor.
 */
extern WaitEventSet *CreateWaitEventSet(MemoryContext context, int nevents);
extern void FreeWaitEventSet(WaitEventSet *set);
/* Returns the event's position. */
extern int	AddWaitEventToSet(WaitEventSet *set, uint32 events, pgsocket fd, Latch *latch,
							  void *user_data);
/*
 * Changes a socket event's events, or a latch event's latch (NULL: ignore
 * latches until set again). The postmaster death event cannot be modified.
 */
extern void ModifyWaitEvent(WaitEventSet *set, int pos, uint32 events, Latch *latch);
/*
 * Waits until at least one event fires or `timeout` ms pass (-1: no
 * timeout). Fills up to nevents occurred_events; returns how many (0 on
 * timeout). A latch that is already set is reported without a system call.
 */
extern int	WaitEventSetWait(WaitEventSet *set, long timeout, WaitEvent *occurred_events,
							 int nevents, uint32 wait_event_info);
extern int	GetNumRegisteredWaitEvents(WaitEventSet *set);
extern bool WaitEventSetCanReportClosed(void);

/* SIGUSR1 handler that sets MyLatch (what the latch wake-ups rely on). */
extern void latch_sigusr1_handler(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_LATCH_H */
