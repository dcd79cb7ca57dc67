/*
 * bgw_worker_spi: workers that live inside a database, in the manner of
 * PostgreSQL's contrib worker_spi, written against PostgreSQL 15's API
 * (BackgroundWorkerInitializeConnection, transactions, snapshots, SPI).
 *
 * Each worker owns a counter table, bgw_worker_spi_<index>, in
 * bgw_worker_spi.database: one row of type 'total' and any number of rows
 * of type 'delta' that clients insert. Every bgw_worker_spi.naptime
 * seconds (reloadable) the worker folds the deltas into the total in one
 * transaction and logs the new total.
 *
 * Workers come from two places: bgw_worker_spi.total_workers static workers
 * when the library is in shared_preload_libraries, and dynamic ones started
 * from SQL with bgw_worker_spi_launch(index, dboid, roleoid, flags). SQLite
 * has no arrays, so the flags are one text, e.g. 'ALLOWCONN,ROLELOGINCHECK'.
 *
 * Error handling is deliberately the two kinds a database worker chooses
 * between: a failed round (say a client dropped the table) is caught with
 * PG_TRY/PG_CATCH, reported, its transaction aborted, and the worker goes on
 * to the next round; anything raised outside that (the connection itself
 * failing) is left uncaught and ends the worker with exit code 1, after
 * which the server restarts it per bgw_restart_time.
 */
#include "postgres.h"

#include <stdlib.h>
#include <string.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bgw_worker_spi_launch);

PGDLLEXPORT void bgw_worker_spi_main(Datum main_arg);
void _PG_init(void);

static int	worker_spi_naptime = 10;
static int	worker_spi_total_workers = 2;
static char *worker_spi_database = NULL;

/*
 * What a dynamic worker is told about its connection, by value in
 * bgw_extra (the launching session's memory is not the worker's). Static
 * workers have all zeros: connect to bgw_worker_spi.database as the
 * bootstrap superuser.
 */
typedef struct WorkerSpiConnection
{
	Oid			dboid;			/* InvalidOid: use bgw_worker_spi.database */
	Oid			roleoid;		/* InvalidOid: the bootstrap superuser */
	uint32		flags;			/* BGWORKER_BYPASS_* */
} WorkerSpiConnection;

StaticAssertDecl(sizeof(WorkerSpiConnection) <= BGW_EXTRALEN,
				 "WorkerSpiConnection must fit in bgw_extra");

/*
 * Runs `sql` through SPI, expecting result code `expected`; anything else
 * is a broken assumption about the table, raised as ERROR (SQL errors
 * themselves arrive as ERROR from SPI_execute).
 */
static void
execute_expecting(const char *sql, bool read_only, int expected)
{
	int			ret;

	pgstat_report_activity(STATE_RUNNING, sql);
	ret = SPI_execute(sql, read_only, 0);
	if (ret != expected)
		elog(ERROR, "bgw_worker_spi: \"%s\" returned %s, expected %s", sql,
			 SPI_result_code_string(ret), SPI_result_code_string(expected));
}

/* The single int8 value the last SELECT returned. */
static int64
single_int8_result(const char *what)
{
	bool		isnull;
	Datum		value;

	if (SPI_processed != 1 || SPI_tuptable->tupdesc->natts != 1)
		elog(ERROR, "bgw_worker_spi: %s returned " UINT64_FORMAT " rows", what, SPI_processed);
	if (SPI_gettypeid(SPI_tuptable->tupdesc, 1) != INT8OID)
		elog(ERROR, "bgw_worker_spi: %s is of type %s, not int8", what,
			 SPI_gettype(SPI_tuptable->tupdesc, 1));
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "bgw_worker_spi: %s is null", what);
	return DatumGetInt64(value);
}

/*
 * Opens a transaction with SPI connected and a snapshot pushed; end_work
 * undoes all three and commits. Between them CurrentMemoryContext is SPI's,
 * which SPI_finish (or, after an error, AbortCurrentTransaction) deletes.
 */
static void
begin_work(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
end_work(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Creates the counter table and its total row, if missing. */
static void
initialize_table(const char *table)
{
	StringInfoData sql;

	begin_work();
	/* Allocated in SPI's context: SPI_finish (or an abort) frees it. */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TABLE IF NOT EXISTS %s ("
					 "type text NOT NULL CHECK (type IN ('total', 'delta')), "
					 "value int8 NOT NULL)",
					 table);
	execute_expecting(sql.data, false, SPI_OK_UTILITY);

	/* At most one total row, as PostgreSQL's worker_spi guarantees too. */
	resetStringInfo(&sql);
	appendStringInfo(&sql, "CREATE UNIQUE INDEX IF NOT EXISTS %s_total ON %s (type) "
					 "WHERE type = 'total'", table, table);
	execute_expecting(sql.data, false, SPI_OK_UTILITY);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s (type, value) SELECT 'total', 0 "
					 "WHERE NOT EXISTS (SELECT 1 FROM %s WHERE type = 'total')",
					 table, table);
	execute_expecting(sql.data, false, SPI_OK_INSERT);
	end_work();
}

/*
 * Folds the deltas into the total, in one transaction. The UPDATE runs
 * first, with the sum as a subquery, rather than a SELECT of the sum
 * followed by the writes: bgw's transactions take SQLite's write lock at
 * their first writing statement, so a transaction that reads first could
 * fail with 40001 when a client inserted a delta in between, whereas one
 * that writes first sees every committed delta and holds off new ones
 * until it commits, so the DELETE removes exactly the rows summed.
 */
static void
fold_deltas(int index, const char *table)
{
	StringInfoData sql;
	uint64		folded;
	int64		total;

	begin_work();
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %s SET value = value + "
					 "(SELECT coalesce(sum(value), 0) FROM %s WHERE type = 'delta') "
					 "WHERE type = 'total'",
					 table, table);
	execute_expecting(sql.data, false, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		elog(ERROR, "bgw_worker_spi: table %s has " UINT64_FORMAT " total rows", table,
			 SPI_processed);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "DELETE FROM %s WHERE type = 'delta'", table);
	execute_expecting(sql.data, false, SPI_OK_DELETE);
	folded = SPI_processed;

	resetStringInfo(&sql);
	appendStringInfo(&sql, "SELECT value::int8 FROM %s WHERE type = 'total'", table);
	execute_expecting(sql.data, true, SPI_OK_SELECT);
	total = single_int8_result("the total");
	end_work();

	if (folded > 0)
		ereport(LOG, (errmsg("bgw_worker_spi worker %d: folded " UINT64_FORMAT
							 " deltas, total is now " INT64_FORMAT,
							 index, folded, total)));
	else
		elog(DEBUG1, "bgw_worker_spi worker %d: no deltas, total is " INT64_FORMAT, index, total);
}

/*
 * fold_deltas, but a failure ends only this round: the error is logged, the
 * transaction (and SPI, and the snapshot) unwound by AbortCurrentTransaction,
 * and the worker lives on to try again next round.
 */
static void
fold_deltas_guarded(int index, const char *table)
{
	MemoryContext loop_context = CurrentMemoryContext;

	PG_TRY();
	{
		fold_deltas(index, table);
	}
	PG_CATCH();
	{
		/* Log it while the error data exists, then unwind and forget it. */
		EmitErrorReport();
		AbortCurrentTransaction();
		FlushErrorState();
		MemoryContextSwitchTo(loop_context);
		pgstat_report_activity(STATE_IDLE, NULL);
		ereport(LOG, (errmsg("bgw_worker_spi worker %d: round failed, retrying in %d s", index,
							 worker_spi_naptime)));
	}
	PG_END_TRY();
}

void
bgw_worker_spi_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	WorkerSpiConnection conn;
	char		table_name[NAMEDATALEN];
	const char *table;

	memcpy(&conn, MyBgworkerEntry->bgw_extra, sizeof(conn));

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* Once, before any transaction; an ERROR here ends the worker (exit 1). */
	if (OidIsValid(conn.dboid))
		BackgroundWorkerInitializeConnectionByOid(conn.dboid, conn.roleoid, conn.flags);
	else
		BackgroundWorkerInitializeConnection(worker_spi_database, NULL, conn.flags);

	snprintf(table_name, sizeof(table_name), "bgw_worker_spi_%d", index);
	table = quote_identifier(table_name);
	initialize_table(table);
	ereport(LOG, (errmsg("%s initialized with table %s", MyBgworkerEntry->bgw_name, table)));

	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 worker_spi_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		/* A reload also ends the nap, so a shorter naptime applies at once. */
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			ereport(LOG, (errmsg("bgw_worker_spi worker %d: naptime is now %d s", index,
								 worker_spi_naptime)));
		}

		fold_deltas_guarded(index, table);
	}
}

/* Fills in a worker definition shared by static and dynamic workers. */
static void
init_worker(BackgroundWorker *worker, int index, const WorkerSpiConnection *conn)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "bgw_worker_spi");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "bgw_worker_spi_main");
	snprintf(worker->bgw_name, BGW_MAXLEN, "bgw_worker_spi worker %d", index);
	snprintf(worker->bgw_type, BGW_MAXLEN, "bgw_worker_spi");
	worker->bgw_main_arg = Int32GetDatum(index);
	memcpy(worker->bgw_extra, conn, sizeof(*conn));
}

/* 'ALLOWCONN,ROLELOGINCHECK' (any case, spaces allowed) as BGWORKER_BYPASS_* bits. */
static uint32
parse_flags(const char *text)
{
	uint32		flags = 0;
	char	   *copy = pstrdup(text);
	char	   *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
	{
		char	   *end;

		while (*tok == ' ')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (pg_strcasecmp(tok, "ALLOWCONN") == 0)
			flags |= BGWORKER_BYPASS_ALLOWCONN;
		else if (pg_strcasecmp(tok, "ROLELOGINCHECK") == 0)
			flags |= BGWORKER_BYPASS_ROLELOGINCHECK;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid flag value \"%s\"", tok),
					 errhint("Valid flags are ALLOWCONN and ROLELOGINCHECK, separated by commas.")));
	}
	pfree(copy);
	return flags;
}

/*
 * bgw_worker_spi_launch(index int4, dboid oid, roleoid oid, flags text)
 * returns int4: starts a dynamic worker and returns its pid once it runs.
 * NULL dboid/roleoid/flags mean 0/0/none. dboid 0 connects to
 * bgw_worker_spi.database as the bootstrap superuser, and roleoid is then
 * not used (a role goes with a database oid).
 */
Datum
bgw_worker_spi_launch(PG_FUNCTION_ARGS)
{
	int32		index;
	WorkerSpiConnection conn;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("worker index must not be null")));
	index = PG_GETARG_INT32(0);
	memset(&conn, 0, sizeof(conn));
	conn.dboid = PG_NARGS() > 1 && !PG_ARGISNULL(1) ? PG_GETARG_OID(1) : InvalidOid;
	conn.roleoid = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_OID(2) : InvalidOid;
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		conn.flags = parse_flags(text_to_cstring(PG_GETARG_TEXT_PP(3)));

	init_worker(&worker, index, &conn);
	/* A failed dynamic worker is the caller's to relaunch. */
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	/* So that the postmaster wakes us when it has started (or failed). */
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background process"),
				 errhint("You may need to increase max_worker_processes.")));

	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_STOPPED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start background process"),
				 errhint("More details may be available in the server log.")));
	if (status == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("cannot start background processes without postmaster"),
				 errhint("Kill all remaining database processes and restart the database.")));
	Assert(status == BGWH_STARTED);
	PG_RETURN_INT32((int32) pid);
}

void
_PG_init(void)
{
	/*
	 * Defined in every process that loads us, preloaded or not: dynamic
	 * workers read them too. So neither can be PGC_POSTMASTER, which may
	 * only be defined while preloading (FATAL otherwise, as in PostgreSQL).
	 * A worker reads the database once, when it connects; changing it
	 * affects workers started afterwards.
	 */
	DefineCustomIntVariable("bgw_worker_spi.naptime",
							"Seconds between two folds of the deltas.",
							NULL, &worker_spi_naptime, 10, 1, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_worker_spi.database",
							   "Database the workers connect to.",
							   NULL, &worker_spi_database, "postgres",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("bgw_worker_spi.total_workers",
							"Number of static workers.",
							NULL, &worker_spi_total_workers, 2, 0, 100,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("bgw_worker_spi");

	for (int i = 1; i <= worker_spi_total_workers; i++)
	{
		BackgroundWorker worker;
		WorkerSpiConnection conn;

		memset(&conn, 0, sizeof(conn));
		init_worker(&worker, i, &conn);
		worker.bgw_restart_time = 5;
		worker.bgw_notify_pid = 0;
		RegisterBackgroundWorker(&worker);
	}
}
