/*
 * bgw_spi_test.c: background workers that connect to a database and run SQL
 * through SPI, for tests/test_spi.py. Written against PostgreSQL 15's API
 * only (postmaster/bgworker.h, access/xact.h, executor/spi.h), in the shape
 * of PostgreSQL's worker_spi.
 *
 * spi_launch(mode text, arg int4, conn text) int4 is SQL-callable: it
 * registers a dynamic worker running spi_test_main with
 * BGWORKER_BACKEND_DATABASE_CONNECTION (except mode "noflag"), waits for it
 * to start and returns its pid (0 if it already exited). conn is "db;user;flags": db "" = no
 * database, "#16384" = by OID; user "" = the bootstrap superuser; flags are
 * BGWORKER_BYPASS_* bits. Each mode logs what the test checks:
 *
 *   connect   connects and waits for SIGTERM (pg_stat_activity checks)
 *   noflag    registered without the flag: connecting is FATAL
 *   twice     connects twice: the second call is an ERROR (exit 1)
 *   nodb      connects to no database, then SPI fails with an ERROR
 *   crud      arg transactions of insert (with args), update (prepared,
 *             kept plan) and select, checking SPI's results; logs a summary
 *   errors    an ERROR caught with PG_TRY, abort, then more work; misuse
 *             codes; logs "errors: continued ..."
 *   uncaught  an ERROR nobody catches: exit 1
 *   counter   waits for row id 2 in counter, then arg transactions of
 *             UPDATE counter SET v = v + 1 WHERE id = 1 (retrying
 *             serialization failures)
 *   notify    NOTIFY spi_chan, 'payload <arg>' in a transaction
 *   listen    LISTEN spi_chan, then logs notifications until SIGTERM
 *   crash     commits a row 'committed', inserts 'uncommitted' and sleeps
 *             inside the transaction (for kill -9 and SIGTERM; arg 1 keeps
 *             the default SIGTERM handler bgworker_die)
 *   privileges  as the role it connected with, SELECT count(*) FROM secret
 *             and INSERT INTO secret, each in its own transaction; logs
 *             "privileges: select ok n=N" or "privileges: select denied
 *             SQLSTATE: message" (and the same for insert)
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PG_MODULE_MAGIC;

PGDLLEXPORT void spi_test_main(Datum main_arg);

/* BEGIN; SPI_connect, as worker_spi does. */
static void
begin_work(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
end_work(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

static void
exec_or_die(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "%s: got %s, expected %s", sql, SPI_result_code_string(rc),
			 SPI_result_code_string(expected));
}

static int64
select_int8(const char *sql)
{
	bool		isnull;
	Datum		d;

	exec_or_die(sql, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "%s: %llu rows", sql, (unsigned long long) SPI_processed);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "%s: null", sql);
	return DatumGetInt64(d);
}

static void
connect_from_extra(void)
{
	char		extra[BGW_EXTRALEN];
	char	   *mode_end;
	char	   *db;
	char	   *user;
	char	   *flags;

	memcpy(extra, MyBgworkerEntry->bgw_extra, BGW_EXTRALEN);
	extra[BGW_EXTRALEN - 1] = '\0';
	mode_end = strchr(extra, ';');
	db = mode_end + 1;
	user = strchr(db, ';');
	*user++ = '\0';
	flags = strchr(user, ';');
	*flags++ = '\0';
	if (db[0] == '#')
		BackgroundWorkerInitializeConnectionByOid((Oid) atoi(db + 1),
												  user[0] ? (Oid) atoi(user) : InvalidOid,
												  (uint32) atoi(flags));
	else
		BackgroundWorkerInitializeConnection(db[0] ? db : NULL, user[0] ? user : NULL,
											 (uint32) atoi(flags));
}

static void
wait_for_sigterm(bool process_notifies)
{
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (process_notifies)
			ProcessCompletedNotifies();
	}
}

static void
run_crud(int n)
{
	SPIPlanPtr	update_plan;
	Oid			insert_types[3] = {INT4OID, TEXTOID, FLOAT8OID};
	Oid			update_types[2] = {INT8OID, INT4OID};
	int			i;
	int64		sum;
	uint64		rows;
	char	   *name;
	bool		isnull;

	begin_work();
	exec_or_die("CREATE TABLE IF NOT EXISTS items (id int4 PRIMARY KEY, name text, "
				"score float8, hits int8 NOT NULL DEFAULT 0, ok bool DEFAULT true)",
				SPI_OK_UTILITY);
	update_plan = SPI_prepare("UPDATE items SET hits = hits + $1 WHERE id = $2", 2,
							  update_types);
	if (update_plan == NULL || SPI_keepplan(update_plan) != 0)
		elog(ERROR, "SPI_prepare/SPI_keepplan failed");
	end_work();

	for (i = 1; i <= n; i++)
	{
		Datum		values[3];
		char		nulls[3] = {' ', ' ', ' '};
		Datum		upd[2];
		char		label[32];

		begin_work();
		snprintf(label, sizeof label, "item %d", i);
		values[0] = Int32GetDatum(i);
		values[1] = CStringGetTextDatum(label);
		values[2] = Float8GetDatum(i / 2.0);
		if (i % 5 == 0)
			nulls[2] = 'n';
		if (SPI_execute_with_args("INSERT INTO items (id, name, score) VALUES ($1, $2, $3)", 3,
								  insert_types, values, nulls, false, 0) != SPI_OK_INSERT ||
			SPI_processed != 1)
			elog(ERROR, "insert %d failed", i);
		upd[0] = Int64GetDatum(10);
		upd[1] = Int32GetDatum(i);
		if (SPI_execute_plan(update_plan, upd, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_processed != 1)
			elog(ERROR, "update %d failed", i);
		end_work();
	}

	begin_work();
	sum = select_int8("SELECT sum(hits)::int8 FROM items");
	exec_or_die("SELECT id, name, score, ok FROM items WHERE id = 2", SPI_OK_SELECT);
	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
						SPI_fnumber(SPI_tuptable->tupdesc, "name"));
	if (DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3,
									 &isnull)) != 1.0 || isnull)
		elog(ERROR, "score of item 2 wrong");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull)))
		elog(ERROR, "ok of item 2 wrong");
	elog(LOG, "crud: row 2 name=%s type1=%s fname3=%s nattr=%d", name,
		 SPI_gettype(SPI_tuptable->tupdesc, 1), SPI_fname(SPI_tuptable->tupdesc, 3),
		 SPI_fnumber(SPI_tuptable->tupdesc, "nope"));
	{
		Oid			t[1] = {TEXTOID};
		Datum		v[1];

		v[0] = CStringGetTextDatum("item 3");
		if (SPI_execute_with_args("DELETE FROM items WHERE name = $1 RETURNING id", 1, t, v,
								  NULL, false, 0) != SPI_OK_DELETE_RETURNING ||
			SPI_processed != 1)
			elog(ERROR, "delete returning failed");
		elog(LOG, "crud: deleted id %d",
			 DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										 &isnull)));
	}
	exec_or_die("SELECT id FROM items ORDER BY id", SPI_OK_SELECT);
	rows = SPI_processed;
	elog(LOG, "crud: done n=%d sum=%lld rows=%llu nulls=%lld", n, (long long) sum,
		 (unsigned long long) rows,
		 (long long) select_int8("SELECT count(*)::int8 FROM items WHERE score IS NULL"));
	end_work();
	SPI_freeplan(update_plan);
}

static void
run_errors(void)
{
	volatile int caught = 0;
	int			rc;

	begin_work();
	exec_or_die("CREATE TABLE IF NOT EXISTS errs (id int4 PRIMARY KEY)", SPI_OK_UTILITY);
	exec_or_die("INSERT INTO errs VALUES (1)", SPI_OK_INSERT);
	end_work();

	/* A constraint violation, caught; the transaction is then aborted. */
	PG_TRY();
	{
		begin_work();
		exec_or_die("INSERT INTO errs VALUES (2)", SPI_OK_INSERT);
		exec_or_die("INSERT INTO errs VALUES (1)", SPI_OK_INSERT);
		end_work();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		FlushErrorState();
		elog(LOG, "errors: caught %s: %s", unpack_sql_state(edata->sqlerrcode), edata->message);
		FreeErrorData(edata);
		AbortCurrentTransaction();
		caught++;
	}
	PG_END_TRY();

	/* Inside an aborted transaction every statement fails with 25P02. */
	PG_TRY();
	{
		begin_work();
		PG_TRY(2);
		{
			exec_or_die("SELECT nosuchcolumn FROM errs", SPI_OK_SELECT);
		}
		PG_CATCH(2);
		{
			FlushErrorState();
			exec_or_die("SELECT 1", SPI_OK_SELECT);
		}
		PG_END_TRY(2);
		end_work();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		FlushErrorState();
		elog(LOG, "errors: then %s", unpack_sql_state(edata->sqlerrcode));
		AbortCurrentTransaction();
		caught++;
	}
	PG_END_TRY();

	begin_work();
	rc = SPI_execute("COMMIT", false, 0);
	elog(LOG, "errors: COMMIT in SPI gives %s", SPI_result_code_string(rc));
	elog(LOG, "errors: NULL query gives %s",
		 SPI_result_code_string(SPI_execute(NULL, false, 0)));
	exec_or_die("INSERT INTO errs VALUES (3)", SPI_OK_INSERT);
	end_work();
	elog(LOG, "errors: unconnected finish gives %s", SPI_result_code_string(SPI_finish()));

	begin_work();
	elog(LOG, "errors: continued caught=%d rows=%lld", caught,
		 (long long) select_int8("SELECT count(*)::int8 FROM errs"));
	end_work();
}

static void
run_counter(int n)
{
	volatile int i;
	volatile int retries = 0;

	/* Both workers start together: wait for the test's "go" row (id 2). */
	for (;;)
	{
		int64		ready;

		begin_work();
		ready = select_int8("SELECT count(*)::int8 FROM counter WHERE id = 2");
		end_work();
		if (ready > 0)
			break;
		pg_usleep(10000L);
		CHECK_FOR_INTERRUPTS();
	}

	for (i = 0; i < n; i++)
	{
		for (;;)
		{
			volatile bool ok = true;

			PG_TRY();
			{
				begin_work();
				exec_or_die("UPDATE counter SET v = v + 1 WHERE id = 1", SPI_OK_UPDATE);
				if (SPI_processed != 1)
					elog(ERROR, "counter row missing");
				end_work();
			}
			PG_CATCH();
			{
				MemoryContextSwitchTo(TopMemoryContext);
				if (geterrcode() != ERRCODE_T_R_SERIALIZATION_FAILURE)
					PG_RE_THROW();
				FlushErrorState();
				AbortCurrentTransaction();
				ok = false;
			}
			PG_END_TRY();
			if (ok)
				break;
			retries++;
		}
	}
	elog(LOG, "counter: done n=%d retries=%d", n, retries);
}

/* Runs sql in its own transaction; logs ok (with the count) or the error. */
static void
try_statement(const char *what, const char *sql)
{
	MemoryContext oldcontext = CurrentMemoryContext;

	PG_TRY();
	{
		uint64		processed;

		begin_work();
		if (SPI_execute(sql, false, 0) < 0)
			elog(ERROR, "SPI_execute failed");
		processed = SPI_processed;
		end_work();
		/* Logged once committed: the test reads the table when it sees this. */
		elog(LOG, "privileges: %s ok n=%llu", what, (unsigned long long) processed);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		elog(LOG, "privileges: %s denied %s: %s", what, unpack_sql_state(edata->sqlerrcode),
			 edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

void
spi_test_main(Datum main_arg)
{
	int			arg = DatumGetInt32(main_arg);
	char		mode[BGW_EXTRALEN];
	char	   *semi;

	memcpy(mode, MyBgworkerEntry->bgw_extra, BGW_EXTRALEN);
	mode[BGW_EXTRALEN - 1] = '\0';
	semi = strchr(mode, ';');
	if (semi != NULL)
		*semi = '\0';

	/* "crash" with arg 1 keeps the default SIGTERM handler, bgworker_die. */
	if (!(strcmp(mode, "crash") == 0 && arg == 1))
		pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	connect_from_extra();
	elog(LOG, "spi_test %s: connected to database %u", mode, MyDatabaseId);

	if (strcmp(mode, "connect") == 0 || strcmp(mode, "noflag") == 0)
		wait_for_sigterm(false);
	else if (strcmp(mode, "twice") == 0)
		connect_from_extra();
	else if (strcmp(mode, "nodb") == 0)
	{
		begin_work();
		exec_or_die("SELECT 1", SPI_OK_SELECT);
		end_work();
	}
	else if (strcmp(mode, "crud") == 0)
		run_crud(arg);
	else if (strcmp(mode, "errors") == 0)
		run_errors();
	else if (strcmp(mode, "uncaught") == 0)
	{
		begin_work();
		exec_or_die("SELECT * FROM no_such_table", SPI_OK_SELECT);
		end_work();
		elog(LOG, "uncaught: not reached");
	}
	else if (strcmp(mode, "counter") == 0)
		run_counter(arg);
	else if (strcmp(mode, "notify") == 0)
	{
		char		sql[64];

		snprintf(sql, sizeof sql, "NOTIFY spi_chan, 'payload %d'", arg);
		begin_work();
		exec_or_die(sql, SPI_OK_UTILITY);
		end_work();
		elog(LOG, "notify: sent");
	}
	else if (strcmp(mode, "listen") == 0)
	{
		begin_work();
		exec_or_die("LISTEN spi_chan", SPI_OK_UTILITY);
		end_work();
		elog(LOG, "listen: listening");
		wait_for_sigterm(true);
	}
	else if (strcmp(mode, "privileges") == 0)
	{
		try_statement("select", "SELECT count(*) FROM secret");
		try_statement("insert", "INSERT INTO secret VALUES (100, 'from a worker')");
	}
	else if (strcmp(mode, "crash") == 0)
	{
		begin_work();
		exec_or_die("CREATE TABLE IF NOT EXISTS crash (v text)", SPI_OK_UTILITY);
		exec_or_die("INSERT INTO crash VALUES ('committed')", SPI_OK_INSERT);
		end_work();
		begin_work();
		exec_or_die("INSERT INTO crash VALUES ('uncommitted')", SPI_OK_INSERT);
		elog(LOG, "crash: in transaction");
		for (;;)
		{
			pg_usleep(100000L);
			CHECK_FOR_INTERRUPTS();
		}
	}
	else
		elog(ERROR, "unknown mode \"%s\"", mode);
	proc_exit(0);
}

PG_FUNCTION_INFO_V1(spi_launch);
Datum
spi_launch(PG_FUNCTION_ARGS)
{
	char	   *mode = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		arg = PG_GETARG_INT32(1);
	char	   *conn = text_to_cstring(PG_GETARG_TEXT_PP(2));
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid = 0;

	memset(&worker, 0, sizeof(worker));
	snprintf(worker.bgw_name, BGW_MAXLEN, "spi_test %s", mode);
	snprintf(worker.bgw_type, BGW_MAXLEN, "spi_test");
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_spi_test");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "spi_test_main");
	snprintf(worker.bgw_extra, BGW_EXTRALEN, "%s;%s", mode, conn);
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	if (strcmp(mode, "noflag") != 0)
		worker.bgw_flags |= BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	worker.bgw_main_arg = Int32GetDatum(arg);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background worker")));
	/* A worker that fails at once may already be gone: 0 then. */
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
		pid = 0;
	PG_RETURN_INT32(pid);
}
