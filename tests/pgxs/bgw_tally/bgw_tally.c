/*
 * bgw_tally: dynamic background workers that count with SPI, written the
 * way PostgreSQL 13-15 modules are (worker_spi's shape): a SQL-callable
 * launcher, workers that connect to a database and run each step in its
 * own transaction, a custom GUC, and #if PG_VERSION_NUM branches.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/ps_status.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bgw_tally_launch);
PG_FUNCTION_INFO_V1(bgw_tally_api);
PG_FUNCTION_INFO_V1(bgw_tally_session);
PG_FUNCTION_INFO_V1(bgw_tally_add);

PGDLLEXPORT void bgw_tally_main(Datum main_arg);

void		_PG_init(void);

/* How much each transaction adds. */
static int	tally_step = 1;

void
_PG_init(void)
{
	DefineCustomIntVariable("bgw_tally.step",
							"How much each transaction adds to a worker's count.",
							NULL,
							&tally_step,
							1, 1, 1000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("bgw_tally");
#else
	EmitWarningsOnPlaceholders("bgw_tally");
#endif
}

void
bgw_tally_main(Datum main_arg)
{
	int			worker = DatumGetInt32(main_arg);
	char		database[BGW_EXTRALEN];
	int			steps;
	int			step;
	int			i;
	StringInfoData buf;

	/* bgw_extra: "database steps step" */
	if (sscanf(MyBgworkerEntry->bgw_extra, "%63s %d %d", database, &steps, &step) != 3)
		elog(ERROR, "bgw_tally: malformed bgw_extra \"%s\"", MyBgworkerEntry->bgw_extra);

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(database, NULL, 0);

	initStringInfo(&buf);
	for (i = 0; i < steps; i++)
	{
		TimestampTz started = GetCurrentTimestamp();

		CHECK_FOR_INTERRUPTS();
		resetStringInfo(&buf);
		appendStringInfo(&buf,
						 "INSERT INTO bgw_tally_counts VALUES (%d, %d) "
						 "ON CONFLICT (worker) DO UPDATE SET n = bgw_tally_counts.n + %d",
						 worker, step, step);

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		debug_query_string = buf.data;
		pgstat_report_activity(STATE_RUNNING, buf.data);
		set_ps_display("counting");

		if (SPI_execute(buf.data, false, 0) != SPI_OK_INSERT)
			elog(FATAL, "bgw_tally: cannot count: %s", buf.data);

		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		debug_query_string = NULL;
		pgstat_report_stat(true);
		pgstat_report_activity(STATE_IDLE, NULL);
		set_ps_display("");

		/* Paced as workers pace themselves: at most one step a millisecond. */
		while (!TimestampDifferenceExceeds(started, GetCurrentTimestamp(), 1))
			pg_usleep(100L);
	}
	elog(LOG, "bgw_tally worker %d: counted %d steps of %d", worker, steps, step);
	proc_exit(0);
}

/*
 * bgw_tally_launch(worker, steps): starts a worker that adds bgw_tally.step
 * to its row `steps` times, waits for it to finish, and returns its count.
 */
Datum
bgw_tally_launch(PG_FUNCTION_ARGS)
{
	int32		worker = PG_GETARG_INT32(0);
	int32		steps = PG_GETARG_INT32(1);
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "bgw_tally");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "bgw_tally_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "bgw_tally worker %d", worker);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "bgw_tally");
	snprintf(bgw.bgw_extra, BGW_EXTRALEN, "%s %d %d",
			 get_database_name(MyDatabaseId), steps, tally_step);
	bgw.bgw_main_arg = Int32GetDatum(worker);
	bgw.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background process"),
				 errhint("You may need to increase max_worker_processes.")));
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start background process")));
	if (WaitForBackgroundWorkerShutdown(handle) != BGWH_STOPPED)
		ereport(ERROR,
				(errmsg("background process did not stop")));
	PG_RETURN_INT32(steps * tally_step);
}

/* The PostgreSQL major version this module was compiled for. */
Datum
bgw_tally_api(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_VERSION_NUM / 10000);
}

/*
 * bgw_tally_session(): who and where the calling session is, as module code
 * sees it, built in the transaction's memory.
 */
Datum
bgw_tally_session(PG_FUNCTION_ARGS)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	char	   *who = psprintf("%s %s in %s",
							   GetUserNameFromId(GetUserId(), false),
							   superuser() ? "superuser" : "ordinary",
							   get_database_name(MyDatabaseId));

	MemoryContextSwitchTo(old);
	PG_RETURN_TEXT_P(cstring_to_text(who));
}

/* bgw_tally_add(a, b DEFAULT 10, c DEFAULT NULL): a + b (+ c unless NULL). */
Datum
bgw_tally_add(PG_FUNCTION_ARGS)
{
	int32		sum;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	sum = PG_GETARG_INT32(0) + PG_GETARG_INT32(1);
	if (!PG_ARGISNULL(2))
		sum += PG_GETARG_INT32(2);
	PG_RETURN_INT32(sum);
}
