/*
 * bgw_example: a small, complete background worker module, written only
 * against the PostgreSQL-compatible headers (it builds for PostgreSQL's own
 * module API unchanged, apart from the magic block).
 *
 * With shared_preload_libraries = 'bgw_example' it registers
 * bgw_example.workers static workers. Each logs a heartbeat every
 * bgw_example.naptime seconds (reloadable: bgw reload). Worker 1 also acts
 * as a launcher: every bgw_example.task_every heartbeats it registers a
 * dynamic worker that counts the primes below a bound passed in
 * bgw_main_arg, waits for it to start and to finish, and logs the pid.
 *
 * Every worker follows the latch contract (ResetLatch, check for work,
 * WaitLatch) and exits promptly on SIGTERM (die) and on postmaster death.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void bgw_example_main(Datum main_arg);
PGDLLEXPORT void bgw_example_task_main(Datum main_arg);
void _PG_init(void);

static int example_naptime = 10;
static int example_workers = 2;
static int example_task_every = 3;

/* Registers and supervises one dynamic task worker. */
static void
run_task(int round)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_example");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_example_task_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_example task %d", round);
	snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_example task");
	worker.bgw_main_arg = Int32GetDatum(100000 * round);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(LOG,
				(errmsg("bgw_example: could not register task %d", round),
				 errhint("You may need to increase max_worker_processes.")));
		return;
	}
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status != BGWH_STARTED)
	{
		ereport(LOG, (errmsg("bgw_example: task %d did not start", round)));
		return;
	}
	ereport(LOG, (errmsg("bgw_example: task %d started as PID %d", round, (int) pid)));
	status = WaitForBackgroundWorkerShutdown(handle);
	if (status == BGWH_POSTMASTER_DIED)
		proc_exit(1);
	ereport(LOG, (errmsg("bgw_example: task %d finished", round)));
	pfree(handle);
}

void
bgw_example_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	int			beat = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	ereport(LOG, (errmsg("bgw_example worker %d started", index)));

	for (;;)
	{
		int			rc;

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   example_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			ereport(LOG, (errmsg("bgw_example worker %d: naptime is now %d s",
								 index, example_naptime)));
		}
		if (rc & WL_TIMEOUT)
		{
			beat++;
			ereport(LOG, (errmsg("bgw_example worker %d: heartbeat %d", index, beat)));
			if (index == 1 && example_task_every > 0 && beat % example_task_every == 0)
				run_task(beat / example_task_every);
		}
	}
}

void
bgw_example_task_main(Datum main_arg)
{
	int32		bound = DatumGetInt32(main_arg);
	int32		count = 0;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	for (int32 n = 2; n < bound; n++)
	{
		bool		prime = true;

		for (int32 d = 2; d * d <= n; d++)
		{
			if (n % d == 0)
			{
				prime = false;
				break;
			}
		}
		if (prime)
			count++;
		if ((n & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	ereport(LOG, (errmsg("%s: %d primes below %d", MyBgworkerEntry->bgw_name, count, bound)));
	/* Returning exits 0: the worker is unregistered, not restarted. */
}

void
_PG_init(void)
{
	DefineCustomIntVariable("bgw_example.naptime",
							"Seconds between heartbeats.",
							NULL, &example_naptime, 10, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("bgw_example.task_every",
							"Heartbeats between two task workers (0 = never).",
							NULL, &example_task_every, 3, 0, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("bgw_example.workers",
							"Number of heartbeat workers.",
							NULL, &example_workers, 2, 1, 16,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("bgw_example");

	for (int i = 1; i <= example_workers; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 5;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_example");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_example_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_example worker %d", i);
		snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_example");
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
}
