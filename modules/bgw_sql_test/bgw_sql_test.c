/*
 * bgw_sql_test.c: SQL-callable C functions for tests of CREATE FUNCTION ...
 * LANGUAGE C (tests/test_sql_control.py).
 *
 * Written like a PostgreSQL 15 extension's C file: PG_MODULE_MAGIC,
 * PG_FUNCTION_INFO_V1 and the fmgr.h argument/result macros. Each function
 * does one small, checkable thing:
 *
 *   add_one(int4) int4              strict
 *   add_one_int8(int8) int8
 *   concat_text(text, text) text    text in and out (varlena)
 *   is_null_arg(int4) bool          declare it CALLED ON NULL INPUT
 *   half(float8) float8
 *   raise_error(text) void          ERROR with SQLSTATE P0001, DETAIL, HINT
 *   launch_idle_worker() int4       registers the built-in idle worker,
 *                                   waits for it to start, returns its pid
 *   no_info(int4) int4              deliberately lacks PG_FUNCTION_INFO_V1
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/builtins.h"
#include "utils/elog.h"

#include <string.h>

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(add_one);
Datum
add_one(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_INT32(0) + 1);
}

PG_FUNCTION_INFO_V1(add_one_int8);
Datum
add_one_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_INT64(0) + 1);
}

PG_FUNCTION_INFO_V1(concat_text);
Datum
concat_text(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	int			alen = VARSIZE_ANY_EXHDR(a);
	int			blen = VARSIZE_ANY_EXHDR(b);
	text	   *result = (text *) palloc(VARHDRSZ + alen + blen);

	SET_VARSIZE(result, VARHDRSZ + alen + blen);
	memcpy(VARDATA(result), VARDATA_ANY(a), alen);
	memcpy(VARDATA(result) + alen, VARDATA_ANY(b), blen);
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(is_null_arg);
Datum
is_null_arg(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_ARGISNULL(0));
}

PG_FUNCTION_INFO_V1(half);
Datum
half(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(PG_GETARG_FLOAT8(0) / 2.0);
}

PG_FUNCTION_INFO_V1(raise_error);
Datum
raise_error(PG_FUNCTION_ARGS)
{
	char	   *message = text_to_cstring(PG_GETARG_TEXT_PP(0));

	ereport(ERROR,
			(errcode(MAKE_SQLSTATE('P', '0', '0', '0', '1')),
			 errmsg("raise_error: %s", message),
			 errdetail("raised by bgw_sql_test"),
			 errhint("this is a test")));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(launch_idle_worker);
Datum
launch_idle_worker(PG_FUNCTION_ARGS)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid = 0;

	(void) fcinfo;
	memset(&worker, 0, sizeof(worker));
	snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_sql_test idle");
	snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_sql_test idle");
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "postgres");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "IdleWorkerMain");
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background worker")));
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("background worker did not start")));
	PG_RETURN_INT32(pid);
}

/* No PG_FUNCTION_INFO_V1: CREATE FUNCTION must refuse it. */
extern PGDLLEXPORT Datum no_info(PG_FUNCTION_ARGS);
Datum
no_info(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_INT32(0));
}
