/*
 * all_headers.c: a module-style C file that includes every compatibility
 * header owned by src/compat (and those of src/spi) and uses their macros the way PostgreSQL
 * 13-15 modules do. It is only compiled, never linked: compat_headers_test
 * builds it with gcc -std=c99 and -std=c11 (and as C++) with
 * -Wall -Wextra -Werror, which is the check that C modules compile
 * unmodified against our headers.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "datatype/timestamp.h"
#include "pgtime.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/nodes.h"
#include "nodes/pg_list.h"
#include "port.h"
#include "storage/shmem.h"
#include "utils/elog.h"
#include "utils/errcodes.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/palloc.h"
#include "utils/ps_status.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

static int naptime = 10;
static char *database_name = NULL;
static bool enabled = true;
static double ratio = 0.5;
static int mode = 1;

static const struct config_enum_entry mode_options[] = {
	{"off", 0, false},
	{"on", 1, false},
	{"auto", 2, true},
	{NULL, 0, false}};

static bool
check_naptime(int *newval, void **extra, GucSource source)
{
	(void) extra;
	if (source != PGC_S_DEFAULT && *newval % 2 != 0)
	{
		GUC_check_errdetail("naptime must be even, not %d.", *newval);
		GUC_check_errhint("Try %d.", *newval + 1);
		return false;
	}
	return true;
}

static void
assign_naptime(int newval, void *extra)
{
	(void) extra;
	naptime = newval;
}

static const char *
show_naptime(void)
{
	return "naptime";
}

static void
context_callback(void *arg)
{
	errcontext("while processing item %d", *(int *) arg);
}

static int
may_fail(int x)
{
	if (x < 0)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("negative value %d", x),
				errdetail("Values must be >= 0."),
				errhint("Pass a positive number."));
	if (x == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DIVISION_BY_ZERO),
				 errmsg("division by zero")));
	if (x > 1000)
		elog(ERROR, "too big: %d", x);
	return 100 / x;
}

/* A function with a return value that ends in ereport(ERROR): no warning. */
static int
always_fails(void)
{
	ereport(ERROR, errmsg("always"));
}

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("demo.naptime", "Naptime.", NULL, &naptime, 10, 1, 3600, PGC_SIGHUP,
							GUC_UNIT_S, check_naptime, assign_naptime, show_naptime);
	DefineCustomStringVariable("demo.database", "Database.", NULL, &database_name, "postgres",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("demo.enabled", "Enabled.", NULL, &enabled, true, PGC_SUSET, 0, NULL,
							 NULL, NULL);
	DefineCustomRealVariable("demo.ratio", "Ratio.", NULL, &ratio, 0.5, 0.0, 1.0, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("demo.mode", "Mode.", NULL, &mode, 1, mode_options, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("demo");
	EmitWarningsOnPlaceholders("demo");
}

int			demo_entry(int arg);
int			list_demo(void);
void		owner_demo(void);

/* A worker's own resource owner, as PostgreSQL workers make one. */
void
owner_demo(void)
{
	ResourceOwner owner = ResourceOwnerCreate(NULL, "demo worker");

	CurrentResourceOwner = owner;
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_BEFORE_LOCKS, false, true);
	CurrentResourceOwner = NULL;
	ResourceOwnerDelete(owner);
}
long		hash_demo(void);

typedef struct DemoEntry
{
	char		name[NAMEDATALEN];
	int64		calls;
} DemoEntry;

/* A local table the way modules build one; a shared one is ShmemInitHash. */
long
hash_demo(void)
{
	HASHCTL		ctl;
	HTAB	   *table;
	HASH_SEQ_STATUS scan;
	DemoEntry  *entry;
	bool		found;
	long		total = 0;
	HTAB	   *(*shared) (const char *, long, long, HASHCTL *, int) = ShmemInitHash;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(DemoEntry);
	table = hash_create("demo", 16, &ctl, HASH_ELEM | HASH_STRINGS);
	entry = (DemoEntry *) hash_search(table, "x", HASH_ENTER, &found);
	if (!found)
		entry->calls = 0;
	entry->calls++;
	hash_seq_init(&scan, table);
	while ((entry = (DemoEntry *) hash_seq_search(&scan)) != NULL)
		total += entry->calls;
	total += hash_get_num_entries(table) + (long) hash_estimate_size(10, sizeof(DemoEntry));
	hash_destroy(table);
	return total + (shared != NULL ? 0 : 1);
}

/* Lists the way modules walk and prune them. */
int
list_demo(void)
{
	List	   *names = NIL;
	List	   *ids = list_make2_int(1, 2);
	ListCell   *lc;
	ListCell   *lc2;
	int			sum = 0;

	names = lappend(names, pstrdup("a"));
	names = lcons(pstrdup("b"), names);
	foreach(lc, names)
	{
		char	   *name = (char *) lfirst(lc);

		if (strcmp(name, "a") == 0)
			names = foreach_delete_current(names, lc);
	}
	forboth(lc, names, lc2, ids)
		sum += lfirst_int(lc2) + foreach_current_index(lc);
	list_sort(ids, list_int_cmp);
	sum += list_length(names) + linitial_int(ids) + (list_member_int(ids, 2) ? 1 : 0);
	list_free_deep(names);
	list_free(ids);
	return sum + (IsA(ids, IntList) ? 0 : 0);
}

int
demo_entry(int arg)
{
	volatile int result = 0;
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "demo", ALLOCSET_DEFAULT_SIZES);
	MemoryContext small = AllocSetContextCreate(cxt, "small", ALLOCSET_SMALL_SIZES);
	MemoryContext start_small = AllocSetContextCreate(cxt, "ss", ALLOCSET_START_SMALL_SIZES);
	ErrorContextCallback callback;
	StringInfoData buf;
	char		path[MAXPGPATH];
	char	   *copy;
	int			item = arg;

	(void) small;
	(void) start_small;
	callback.callback = context_callback;
	callback.arg = &item;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	MemoryContextSwitchTo(cxt);
	initStringInfo(&buf);
	appendStringInfo(&buf, "arg=%d", arg);
	appendStringInfoChar(&buf, ' ');
	appendStringInfoCharMacro(&buf, 'x');
	appendStringInfoString(&buf, "y");
	appendStringInfoSpaces(&buf, 2);
	appendBinaryStringInfo(&buf, "ab", 2);
	copy = psprintf("%s/%d", buf.data, arg);
	copy = (char *) repalloc(copy, 200);
	pfree(copy);
	copy = (char *) palloc0(16);
	pfree(copy);
	copy = (char *) palloc_extended(16, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (copy != NULL)
		pfree(copy);
	if (!AllocSizeIsValid(buf.len))
		elog(WARNING, "impossible");

	PG_TRY();
	{
		result = may_fail(arg);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(LOG, errmsg("caught: %s (%s)", edata->message, unpack_sql_state(edata->sqlerrcode)));
		FreeErrorData(edata);
		result = -1;
	}
	PG_END_TRY();

	PG_TRY();
	{
		PG_TRY(inner);
		{
			result = result + may_fail(arg + 1);
		}
		PG_CATCH(inner);
		{
			PG_RE_THROW();
		}
		PG_END_TRY(inner);
	}
	PG_FINALLY();
	{
		error_context_stack = callback.previous;
	}
	PG_END_TRY();

	if (arg == 42)
		result = result + always_fails();

	errno = ENOENT;
	ereport(DEBUG1, errmsg_internal("debug %m"));
	ereport(NOTICE, errmsg_plural("%d item", "%d items", (unsigned long) arg, arg));
	elog(LOG, "result %d, naptime %d, database %s, enabled %d, ratio %g, mode %d", result, naptime,
		 database_name, (int) enabled, ratio, mode);
	if (GetConfigOption("demo.naptime", true, false) == NULL)
		SetConfigOption("demo.naptime", "20", PGC_SIGHUP, PGC_S_FILE);

	join_path_components(path, "/tmp", "x");
	canonicalize_path(path);
	if (is_absolute_path(path) && pg_strcasecmp(path, "/TMP/X") == 0)
		strlcpy(path, "ok", sizeof(path));
	pqsignal(SIGHUP, SIG_IGN);
	pg_usleep(1L);
	CHECK_FOR_INTERRUPTS();

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return result;
}

/* SPI in a transaction, as worker_spi does (src/spi). */
int64		demo_spi(int32 id);

int64
demo_spi(int32 id)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1];
	bool		isnull = true;
	int64		result = -1;
	SPIPlanPtr	plan;

	values[0] = Int32GetDatum(id);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	plan = SPI_prepare("SELECT v FROM t WHERE id = $1", 1, argtypes);
	if (plan != NULL && SPI_execute_plan(plan, values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed > 0)
	{
		HeapTuple	tuple = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		result = DatumGetInt64(heap_getattr(tuple, 1, desc, &isnull));
		if (TupleDescAttr(desc, 0)->atttypid != INT8OID || SPI_getvalue(tuple, desc, 1) == NULL)
			result = -2;
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	ProcessCompletedNotifies();
	return isnull ? -1 : result;
}
