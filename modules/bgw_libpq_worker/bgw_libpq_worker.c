/*
 * bgw_libpq_worker: a background worker that is an ordinary client of its
 * own server, speaking the protocol through libpq.
 *
 * Why a worker would do this: a worker that connects over libpq needs no
 * in-server database API at all (no transactions, snapshots or SPI), it runs
 * exactly the SQL a client would, under a role's privileges, and the same
 * code could talk to any other server. The price is a socket round trip per
 * statement, and the worker must find its server the way a client does.
 *
 * Finding the server: the conninfo is built from the server's own settings,
 * read with GetConfigOption: host = the first entry of
 * unix_socket_directories (the Unix socket needs no TCP listener and gets
 * local trust authentication), port = port, plus the module's
 * bgw_libpq_worker.database and bgw_libpq_worker.user (empty = libpq's
 * default, the OS user). bgw_libpq_worker.conninfo, when not empty, replaces
 * all of that. Every setting but .workers is reloadable; a reload that
 * changes the conninfo drops the connection so the next round uses it.
 *
 * Each round (every bgw_libpq_worker.naptime seconds) creates the table
 * bgw_libpq_worker_rounds if missing (once per connection), inserts a row with PQexecParams-style
 * parameters, counts the rows and sends the count with pg_notify() on
 * bgw_libpq_worker.channel. Any failure is logged with PQerrorMessage, the
 * connection is dropped, and the next round reconnects: the server is never
 * crashed by a bad conninfo or a server restart.
 *
 * libpq is used asynchronously (PQconnectStart/PQconnectPoll,
 * PQsendQueryParams/PQconsumeInput) and every wait goes through
 * WaitLatchOrSocket, so SIGTERM (die) and postmaster death end the worker
 * promptly even while a connection attempt or a query is in flight; a
 * blocking PQexec would sit in poll() with the interrupt pending.
 */
#include "postgres.h"

#include <string.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void bgw_libpq_worker_main(Datum main_arg);
void _PG_init(void);

/* How long one connection attempt or one query may take before we give up. */
#define LIBPQ_WORKER_IO_TIMEOUT_MS 30000L

static int	libpq_worker_naptime = 10;
static int	libpq_worker_workers = 1;
static char *libpq_worker_database = NULL;
static char *libpq_worker_user = NULL;
static char *libpq_worker_conninfo = NULL;
static char *libpq_worker_channel = NULL;

/* The worker's connection; NULL between a failure and the next round. */
static PGconn *worker_conn = NULL;
/* A connection being opened (so that exiting mid-attempt closes it too). */
static PGconn *pending_conn = NULL;
/* The conninfo worker_conn was opened with, to notice reloads that change it. */
static char *worker_conn_conninfo = NULL;
/*
 * Whether the table was created (or found) on worker_conn. Checked once per
 * connection, not every round: CREATE TABLE IF NOT EXISTS takes the
 * database's write lock even when the table exists. A failure drops the
 * connection, so a table dropped by someone is created again next round.
 */
static bool table_ready = false;

/* Appends "key='value' " with libpq's quoting (backslash before ' and \). */
static void
append_conninfo_param(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, "%s='", key);
	for (const char *p = value; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoString(buf, "' ");
}

/*
 * The first directory of unix_socket_directories (a comma-separated list,
 * entries may be double-quoted), palloc'd; NULL when the list is empty,
 * i.e. the server listens on TCP only.
 */
static char *
first_socket_directory(void)
{
	const char *dirs = GetConfigOption("unix_socket_directories", true, false);
	const char *start;
	const char *end;

	if (dirs == NULL)
		return NULL;
	start = dirs;
	while (*start == ' ' || *start == '\t')
		start++;
	if (*start == '"')
	{
		start++;
		end = strchr(start, '"');
		if (end == NULL)
			end = start + strlen(start);
	}
	else
	{
		end = strchr(start, ',');
		if (end == NULL)
			end = start + strlen(start);
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
	}
	if (end == start)
		return NULL;
	return pnstrdup(start, end - start);
}

/* The conninfo the current settings describe, palloc'd. */
static char *
build_conninfo(int index)
{
	StringInfoData buf;
	char	   *socket_dir;
	const char *port;
	char		appname[BGW_MAXLEN + 16];

	if (libpq_worker_conninfo != NULL && libpq_worker_conninfo[0] != '\0')
		return pstrdup(libpq_worker_conninfo);

	initStringInfo(&buf);
	socket_dir = first_socket_directory();
	/* No Unix socket: fall back on TCP to this machine. */
	append_conninfo_param(&buf, "host", socket_dir ? socket_dir : "localhost");
	port = GetConfigOption("port", true, false);
	if (port != NULL)
		append_conninfo_param(&buf, "port", port);
	append_conninfo_param(&buf, "dbname", libpq_worker_database ? libpq_worker_database : "postgres");
	if (libpq_worker_user != NULL && libpq_worker_user[0] != '\0')
		append_conninfo_param(&buf, "user", libpq_worker_user);
	snprintf(appname, sizeof(appname), "bgw_libpq_worker %d", index);
	append_conninfo_param(&buf, "application_name", appname);
	if (socket_dir)
		pfree(socket_dir);
	if (buf.len > 0 && buf.data[buf.len - 1] == ' ')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

/*
 * The conninfo as it may appear in the log: parsed by libpq and rebuilt
 * without the password (the override setting may carry one). palloc'd.
 */
static char *
loggable_conninfo(const char *conninfo)
{
	PQconninfoOption *options = PQconninfoParse(conninfo, NULL);
	StringInfoData buf;

	if (options == NULL)
		return pstrdup("(unparsable)");
	initStringInfo(&buf);
	for (PQconninfoOption *opt = options; opt->keyword != NULL; opt++)
	{
		if (opt->val == NULL)
			continue;
		append_conninfo_param(&buf, opt->keyword,
							  strcmp(opt->keyword, "password") == 0 ? "********" : opt->val);
	}
	PQconninfoFree(options);
	if (buf.len > 0 && buf.data[buf.len - 1] == ' ')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

/* PQerrorMessage without its trailing newline, palloc'd (for one-line logs). */
static char *
conn_error(PGconn *conn)
{
	char	   *msg = pstrdup(conn ? PQerrorMessage(conn) : "out of memory");
	size_t		len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	return msg;
}

static void
drop_connection(void)
{
	table_ready = false;
	if (worker_conn != NULL)
	{
		PQfinish(worker_conn);
		worker_conn = NULL;
	}
	if (worker_conn_conninfo != NULL)
	{
		pfree(worker_conn_conninfo);
		worker_conn_conninfo = NULL;
	}
}

/* on_proc_exit callback: say goodbye to the server instead of vanishing. */
static void
drop_connection_at_exit(int code, Datum arg)
{
	(void) code;
	(void) arg;
	if (pending_conn != NULL)
	{
		PQfinish(pending_conn);
		pending_conn = NULL;
	}
	drop_connection();
}

/*
 * Waits until the connection's socket is ready for `io` (WL_SOCKET_READABLE
 * or WL_SOCKET_WRITEABLE), serving interrupts meanwhile. Returns false on
 * timeout.
 */
static bool
wait_for_socket(PGconn *conn, int io)
{
	int			rc;

	for (;;)
	{
		rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH | io,
							   PQsocket(conn), LIBPQ_WORKER_IO_TIMEOUT_MS, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			/* SIGTERM: die() set the latch; FATAL here, the exit callback closes the connection. */
			CHECK_FOR_INTERRUPTS();
		}
		if (rc & io)
			return true;
		if (rc & WL_TIMEOUT)
			return false;
		/* A latch wake-up (e.g. SIGHUP): the reload is handled between rounds. */
	}
}

/* Opens worker_conn for `conninfo`; on failure logs why and returns false. */
static bool
open_connection(int index, char *conninfo)
{
	PGconn	   *conn = PQconnectStart(conninfo);
	PostgresPollingStatusType poll = PGRES_POLLING_WRITING;

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
	{
		ereport(LOG,
				(errmsg("bgw_libpq_worker %d: could not connect: %s", index, conn_error(conn)),
				 errdetail("conninfo: %s", loggable_conninfo(conninfo))));
		if (conn)
			PQfinish(conn);
		pfree(conninfo);
		return false;
	}
	pending_conn = conn;
	while (poll != PGRES_POLLING_OK)
	{
		if (poll == PGRES_POLLING_FAILED)
			break;
		if (!wait_for_socket(conn, poll == PGRES_POLLING_READING ? WL_SOCKET_READABLE
												: WL_SOCKET_WRITEABLE))
		{
			ereport(LOG, (errmsg("bgw_libpq_worker %d: could not connect: timed out", index),
						  errdetail("conninfo: %s", loggable_conninfo(conninfo))));
			pending_conn = NULL;
			PQfinish(conn);
			pfree(conninfo);
			return false;
		}
		poll = PQconnectPoll(conn);
	}
	pending_conn = NULL;
	if (PQstatus(conn) != CONNECTION_OK)
	{
		ereport(LOG,
				(errmsg("bgw_libpq_worker %d: could not connect: %s", index, conn_error(conn)),
				 errdetail("conninfo: %s", loggable_conninfo(conninfo))));
		PQfinish(conn);
		pfree(conninfo);
		return false;
	}
	worker_conn = conn;
	/* Outlives the round's memory: compared at every reload. */
	worker_conn_conninfo = MemoryContextStrdup(TopMemoryContext, conninfo);
	pfree(conninfo);
	ereport(LOG, (errmsg("bgw_libpq_worker %d: connected to database \"%s\" as \"%s\"", index,
						 PQdb(conn), PQuser(conn))));
	return true;
}

/*
 * Runs one statement with text parameters on worker_conn, the way PQexecParams
 * would but without blocking interrupts. Returns the last result (the caller
 * PQclears it) if it succeeded; NULL after logging the error otherwise.
 */
static PGresult *
run_statement(int index, const char *sql, int nparams, const char *const *values)
{
	PGresult   *last = NULL;
	PGresult   *res;
	char	   *error = NULL;

	if (!PQsendQueryParams(worker_conn, sql, nparams, NULL, values, NULL, NULL, 0))
	{
		ereport(LOG, (errmsg("bgw_libpq_worker %d: could not send query: %s", index,
							 conn_error(worker_conn))));
		return NULL;
	}
	/* The query is small enough for PQsendQueryParams to have written it all. */
	while (PQisBusy(worker_conn))
	{
		if (!wait_for_socket(worker_conn, WL_SOCKET_READABLE))
		{
			error = pstrdup("timed out waiting for the result");
			break;
		}
		if (!PQconsumeInput(worker_conn))
		{
			error = conn_error(worker_conn);
			break;
		}
	}
	if (error != NULL)
	{
		ereport(LOG, (errmsg("bgw_libpq_worker %d: query failed: %s", index, error),
					  errdetail("query: %s", sql)));
		return NULL;
	}
	/* Drain every result so the connection is idle for the next statement. */
	while ((res = PQgetResult(worker_conn)) != NULL)
	{
		ExecStatusType status = PQresultStatus(res);

		if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && error == NULL)
			error = pstrdup(PQresultErrorMessage(res));
		if (last)
			PQclear(last);
		last = res;
	}
	if (error != NULL || last == NULL)
	{
		size_t		len;

		if (error == NULL)
			error = conn_error(worker_conn);
		len = strlen(error);
		while (len > 0 && error[len - 1] == '\n')
			error[--len] = '\0';
		ereport(LOG, (errmsg("bgw_libpq_worker %d: query failed: %s", index, error),
					  errdetail("query: %s", sql)));
		if (last)
			PQclear(last);
		return NULL;
	}
	return last;
}

/* Runs a statement whose result is not needed. */
static bool
run_command(int index, const char *sql, int nparams, const char *const *values)
{
	PGresult   *res = run_statement(index, sql, nparams, values);

	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}

/* One round of work; false after a failure (already logged). */
static bool
do_round(int index, int round)
{
	PGresult   *res;
	char		index_text[16];
	char		round_text[16];
	char	   *count;
	const char *insert_params[2];
	const char *notify_params[2];

	if (!table_ready)
	{
		if (!run_command(index,
						 "CREATE TABLE IF NOT EXISTS bgw_libpq_worker_rounds ("
						 "worker int4 NOT NULL, round int4 NOT NULL, "
						 "inserted_at timestamptz DEFAULT now())",
						 0, NULL))
			return false;
		table_ready = true;
	}

	snprintf(index_text, sizeof(index_text), "%d", index);
	snprintf(round_text, sizeof(round_text), "%d", round);
	insert_params[0] = index_text;
	insert_params[1] = round_text;
	if (!run_command(index, "INSERT INTO bgw_libpq_worker_rounds (worker, round) VALUES ($1, $2)",
					 2, insert_params))
		return false;

	res = run_statement(index, "SELECT count(*) FROM bgw_libpq_worker_rounds", 0, NULL);
	if (res == NULL)
		return false;
	if (PQntuples(res) != 1 || PQnfields(res) != 1)
	{
		ereport(LOG, (errmsg("bgw_libpq_worker %d: count(*) returned %d rows of %d columns", index,
							 PQntuples(res), PQnfields(res))));
		PQclear(res);
		return false;
	}
	count = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);

	notify_params[0] = libpq_worker_channel;
	notify_params[1] = count;
	if (!run_command(index, "SELECT pg_notify($1, $2)", 2, notify_params))
		return false;

	ereport(LOG, (errmsg("bgw_libpq_worker %d: round %d: %s rows in bgw_libpq_worker_rounds, "
						 "notified channel \"%s\"",
						 index, round, count, libpq_worker_channel)));
	pfree(count);
	return true;
}

void
bgw_libpq_worker_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	int			round = 0;
	MemoryContext round_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	on_proc_exit(drop_connection_at_exit, (Datum) 0);

	ereport(LOG, (errmsg("bgw_libpq_worker %d started", index)));

	/*
	 * Everything a round allocates (conninfo strings, error messages) lives
	 * here and is freed after the round, so a worker retrying a bad conninfo
	 * every second for months does not grow.
	 */
	round_context = AllocSetContextCreate(TopMemoryContext, "bgw_libpq_worker round",
										  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(round_context);

	for (;;)
	{
		int			rc;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			char	   *conninfo;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			conninfo = build_conninfo(index);
			if (worker_conn_conninfo != NULL && strcmp(conninfo, worker_conn_conninfo) != 0)
			{
				ereport(LOG, (errmsg("bgw_libpq_worker %d: connection settings changed, "
									 "reconnecting", index)));
				drop_connection();
			}
			pfree(conninfo);
		}

		round++;
		if (worker_conn == NULL && !open_connection(index, build_conninfo(index)))
			ereport(LOG, (errmsg("bgw_libpq_worker %d: will retry in %d s", index,
								 libpq_worker_naptime)));
		else if (!do_round(index, round))
		{
			/* The connection may be broken or mid-transaction: start afresh. */
			ereport(LOG, (errmsg("bgw_libpq_worker %d: dropping the connection, will retry in %d s",
								 index, libpq_worker_naptime)));
			drop_connection();
		}

		MemoryContextReset(round_context);

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   libpq_worker_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		/*
		 * Woken before the timeout: serve interrupts; a reload ends the nap
		 * so that new settings (naptime, conninfo) apply at once; any other
		 * wake-up goes back to sleep.
		 */
		while (!(rc & WL_TIMEOUT))
		{
			CHECK_FOR_INTERRUPTS();
			if (ConfigReloadPending)
				break;
			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						   libpq_worker_naptime * 1000L, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}

void
_PG_init(void)
{
	DefineCustomIntVariable("bgw_libpq_worker.naptime",
							"Seconds between two rounds of queries.",
							NULL, &libpq_worker_naptime, 10, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_libpq_worker.database",
							   "Database the workers connect to.",
							   NULL, &libpq_worker_database, "postgres",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_libpq_worker.user",
							   "Role the workers connect as (empty: libpq's default).",
							   NULL, &libpq_worker_user, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_libpq_worker.conninfo",
							   "Connection string used instead of the server's own "
							   "socket directory, port, database and user.",
							   NULL, &libpq_worker_conninfo, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_libpq_worker.channel",
							   "NOTIFY channel that receives the row count.",
							   NULL, &libpq_worker_channel, "bgw_libpq_worker",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("bgw_libpq_worker.workers",
							"Number of libpq client workers.",
							NULL, &libpq_worker_workers, 1, 1, 16,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("bgw_libpq_worker");

	for (int i = 1; i <= libpq_worker_workers; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		/*
		 * The worker touches no shared memory, but PostgreSQL 15 refuses
		 * workers without BGWORKER_SHMEM_ACCESS; keep the module portable.
		 */
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
		/* Start once the server accepts connections: we are one of its clients. */
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 5;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_libpq_worker");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_libpq_worker_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_libpq_worker %d", i);
		snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_libpq_worker");
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
}
