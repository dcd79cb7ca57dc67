/*
 * postmaster/bgworker.h: the background worker API, PostgreSQL 13-15
 * compatible (same names, sizes, constants and semantics).
 *
 * A module registers workers with RegisterBackgroundWorker() from _PG_init()
 * while it is preloaded (shared_preload_libraries), or at any time from a
 * backend or another worker with RegisterDynamicBackgroundWorker(). The
 * server forks each worker, loads bgw_library_name in it and calls
 * bgw_function_name(bgw_main_arg) with signals blocked.
 *
 * Exit status decides what happens next: 0 = unregister; 1 = restart after
 * bgw_restart_time seconds (never for BGW_NEVER_RESTART); anything else, or a
 * death by signal of a worker attached to shared memory = crash: every server
 * process is stopped and shared memory reinitialized.
 */
#ifndef BGW_COMPAT_BGWORKER_H
#define BGW_COMPAT_BGWORKER_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capability flags (bgw_flags). */
#define BGWORKER_SHMEM_ACCESS 0x0001
#define BGWORKER_BACKEND_DATABASE_CONNECTION 0x0002
#define BGWORKER_CLASS_PARALLEL 0x0010

typedef void (*bgworker_main_type)(Datum main_arg);

/* When the worker may start (bgw_start_time). */
typedef enum
{
	BgWorkerStart_PostmasterStart,
	BgWorkerStart_ConsistentState,
	BgWorkerStart_RecoveryFinished
} BgWorkerStartTime;

#define BGW_DEFAULT_RESTART_INTERVAL 60
#define BGW_NEVER_RESTART -1
#define BGW_MAXLEN 96
#define BGW_EXTRALEN 128

typedef struct BackgroundWorker
{
	char		bgw_name[BGW_MAXLEN];
	char		bgw_type[BGW_MAXLEN];
	int			bgw_flags;
	BgWorkerStartTime bgw_start_time;
	int			bgw_restart_time;	/* seconds before a restart after exit 1 */
	char		bgw_library_name[BGW_MAXLEN];
	char		bgw_function_name[BGW_MAXLEN];
	Datum		bgw_main_arg;
	char		bgw_extra[BGW_EXTRALEN];
	pid_t		bgw_notify_pid; /* registrant to wake on start and exit, or 0 */
} BackgroundWorker;

typedef enum BgwHandleStatus
{
	BGWH_STARTED,				/* forked and running; the pid is known */
	BGWH_NOT_YET_STARTED,		/* registered, not forked yet */
	BGWH_STOPPED,				/* exited, unregistered, or a stale handle */
	BGWH_POSTMASTER_DIED		/* the server is gone; nothing is known */
} BgwHandleStatus;

struct BackgroundWorkerHandle;
typedef struct BackgroundWorkerHandle BackgroundWorkerHandle;

/* Static registration: only from _PG_init() of a preloaded library. */
extern void RegisterBackgroundWorker(BackgroundWorker *worker);

/* Dynamic registration: from a backend or a worker; false if no slot. */
extern bool RegisterDynamicBackgroundWorker(BackgroundWorker *worker,
											BackgroundWorkerHandle **handle);

/* Status of a dynamically registered worker, and waits on it. */
extern BgwHandleStatus GetBackgroundWorkerPid(BackgroundWorkerHandle *handle,
											  pid_t *pidp);
extern BgwHandleStatus WaitForBackgroundWorkerStartup(BackgroundWorkerHandle *handle,
													  pid_t *pid);
extern BgwHandleStatus WaitForBackgroundWorkerShutdown(BackgroundWorkerHandle *handle);
extern const char *GetBackgroundWorkerTypeByPid(pid_t pid);

/* Ask for a worker to be stopped (SIGTERM) and unregistered. */
extern void TerminateBackgroundWorker(BackgroundWorkerHandle *handle);

/* The running worker's private copy of its registration. */
extern PGDLLIMPORT BackgroundWorker *MyBgworkerEntry;

/*
 * Connect to the specified database, as the specified user.  Only a worker
 * that passed BGWORKER_BACKEND_DATABASE_CONNECTION during registration may
 * call this.  A NULL dbname (InvalidOid) connects to no database; a NULL
 * username (InvalidOid) runs as the superuser created by bgw init.
 */
extern void BackgroundWorkerInitializeConnection(const char *dbname, const char *username,
												 uint32 flags);
extern void BackgroundWorkerInitializeConnectionByOid(Oid dboid, Oid useroid, uint32 flags);

/* flags for BackgroundWorkerInitializeConnection*() */
#define BGWORKER_BYPASS_ALLOWCONN 1
#define BGWORKER_BYPASS_ROLELOGINCHECK 2

/* Workers start with signals blocked; these change that. */
extern void BackgroundWorkerBlockSignals(void);
extern void BackgroundWorkerUnblockSignals(void);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_BGWORKER_H */
