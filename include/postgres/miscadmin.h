/*
 * miscadmin.h: process-wide globals and interrupt handling, PostgreSQL
 * 13-15 compatible.
 *
 * Signal handlers only set the *Pending flags (and the latch);
 * CHECK_FOR_INTERRUPTS() acts on them at a safe point: a pending die ends
 * the process with FATAL (exit 1), a pending cancel raises ERROR.
 */
#ifndef BGW_COMPAT_MISCADMIN_H
#define BGW_COMPAT_MISCADMIN_H

#include <signal.h>

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

extern PGDLLIMPORT volatile sig_atomic_t InterruptPending;
extern PGDLLIMPORT volatile sig_atomic_t QueryCancelPending;
extern PGDLLIMPORT volatile sig_atomic_t ProcDiePending;
extern PGDLLIMPORT volatile sig_atomic_t ConfigReloadPending;
extern PGDLLIMPORT volatile uint32 InterruptHoldoffCount;
extern PGDLLIMPORT volatile uint32 QueryCancelHoldoffCount;
extern PGDLLIMPORT volatile uint32 CritSectionCount;

extern void ProcessInterrupts(void);

#define INTERRUPTS_PENDING_CONDITION() (unlikely(InterruptPending))
#define CHECK_FOR_INTERRUPTS() \
	do { \
		if (INTERRUPTS_PENDING_CONDITION()) \
			ProcessInterrupts(); \
	} while (0)
#define INTERRUPTS_CAN_BE_PROCESSED() \
	(InterruptHoldoffCount == 0 && CritSectionCount == 0 && QueryCancelHoldoffCount == 0)
/* Written as assignments: C++20 deprecates ++ on volatile objects. */
#define HOLD_INTERRUPTS() (InterruptHoldoffCount = InterruptHoldoffCount + 1)
#define RESUME_INTERRUPTS() \
	do { \
		Assert(InterruptHoldoffCount > 0); \
		InterruptHoldoffCount = InterruptHoldoffCount - 1; \
	} while (0)
#define HOLD_CANCEL_INTERRUPTS() (QueryCancelHoldoffCount = QueryCancelHoldoffCount + 1)
#define RESUME_CANCEL_INTERRUPTS() \
	do { \
		Assert(QueryCancelHoldoffCount > 0); \
		QueryCancelHoldoffCount = QueryCancelHoldoffCount - 1; \
	} while (0)
#define START_CRIT_SECTION() (CritSectionCount = CritSectionCount + 1)
#define END_CRIT_SECTION() \
	do { \
		Assert(CritSectionCount > 0); \
		CritSectionCount = CritSectionCount - 1; \
	} while (0)

extern PGDLLIMPORT pid_t PostmasterPid;
extern PGDLLIMPORT bool IsPostmasterEnvironment;
extern PGDLLIMPORT bool IsUnderPostmaster;
extern PGDLLIMPORT bool IsBackgroundWorker;
extern PGDLLIMPORT bool IsBinaryUpgrade;
extern PGDLLIMPORT int MyProcPid;
extern PGDLLIMPORT int64 MyStartTime;
extern PGDLLIMPORT struct Latch *MyLatch;
extern PGDLLIMPORT char *DataDir;
extern PGDLLIMPORT Oid MyDatabaseId;
extern PGDLLIMPORT int MaxConnections;
extern PGDLLIMPORT int max_worker_processes;
extern PGDLLIMPORT int max_parallel_workers;
extern PGDLLIMPORT int MaxBackends;
extern PGDLLIMPORT char my_exec_path[];
extern PGDLLIMPORT char pkglib_path[];

/* PostgreSQL 15: modules request shared memory and LWLocks in this hook. */
#ifndef BGW_SHMEM_REQUEST_HOOK_DECLARED
#define BGW_SHMEM_REQUEST_HOOK_DECLARED
typedef void (*shmem_request_hook_type) (void);
extern PGDLLIMPORT shmem_request_hook_type shmem_request_hook;
extern PGDLLIMPORT bool process_shmem_requests_in_progress;
#endif

/* True while _PG_init() of shared_preload_libraries runs in the postmaster. */
extern PGDLLIMPORT bool process_shared_preload_libraries_in_progress;
extern PGDLLIMPORT bool process_shared_preload_libraries_done;

/* Backend kinds (pg_stat_activity.backend_type). */
typedef enum BackendType
{
	B_INVALID = 0,
	B_AUTOVAC_LAUNCHER,
	B_AUTOVAC_WORKER,
	B_BACKEND,
	B_BG_WORKER,
	B_BG_WRITER,
	B_CHECKPOINTER,
	B_STARTUP,
	B_WAL_RECEIVER,
	B_WAL_SENDER,
	B_WAL_WRITER,
	B_ARCHIVER,
	B_LOGGER,
} BackendType;

extern PGDLLIMPORT BackendType MyBackendType;
extern const char *GetBackendTypeDesc(BackendType backendType);

extern void pg_usleep(long microsec);

/*
 * The roles of this process's SQL session (a client's, or a worker's after
 * BackgroundWorkerInitializeConnection): the current role (SET ROLE), the
 * session user (SET SESSION AUTHORIZATION) and the role that logged in.
 * InvalidOid before a session exists.
 */
extern Oid	GetUserId(void);
extern Oid	GetOuterUserId(void);
extern Oid	GetSessionUserId(void);
extern Oid	GetAuthenticatedUserId(void);
/* The role's name, palloc'd; NULL if noerr and there is none, else ERROR 42704. */
extern char *GetUserNameFromId(Oid roleid, bool noerr);
/* Whether the current role, or the given one, is a superuser. */
extern bool superuser(void);
extern bool superuser_arg(Oid roleid);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_MISCADMIN_H */
