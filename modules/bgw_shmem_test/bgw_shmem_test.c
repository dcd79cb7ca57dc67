/*
 * bgw_shmem_test.c: the shared-memory toolkit test module
 * (tests/test_shmem.py).
 *
 * Written like a PostgreSQL 13-15 module, against the PostgreSQL-compatible
 * headers only, it exercises RequestAddinShmemSpace, shmem_request_hook,
 * shmem_startup_hook, AddinShmemInitLock, ShmemInitStruct, named LWLock
 * tranches, embedded LWLocks with LWLockNewTrancheId, spinlocks and atomics
 * across real server processes:
 *
 *   _PG_init (preloaded)  requests its struct's space and a named tranche of
 *                         two LWLocks, either from a shmem_request_hook
 *                         (bgw_shmem_test.request_mode = 'hook', PostgreSQL
 *                         15 style) or directly ('init', PostgreSQL 13/14
 *                         style; 'none' requests nothing), installs
 *                         shmem_startup_hook and registers the static
 *                         workers listed in bgw_shmem_test.workers.
 *   shmem_startup_hook    runs in the postmaster, once per shared memory
 *                         generation: under AddinShmemInitLock it creates
 *                         the struct (logging found=...) and initializes it.
 *
 * bgw_shmem_test.workers is a comma-separated list of function[:arg]; item n
 * becomes worker "bgw_shmem_test <function> <n>":
 *
 *   counter      bgw_shmem_test.iterations times: +1 on a plain counter
 *                under the named tranche's LWLock (exclusive), on a second
 *                one under an LWLock embedded in the struct, on a third under
 *                a spinlock, and an atomic fetch_add. The last counter worker
 *                of a generation to finish logs the totals, which must all be
 *                K * iterations. Restart time 1 s (so it is restarted after
 *                a crash); exits 0 when done. In generation 1 of a server
 *                with a killer it first waits until the killer holds the lock.
 *   killer[:how] takes the named LWLock, holds it 300 ms while counters
 *                queue up, then dies holding it: how = 0 SIGKILL, 1 abort().
 *                BGW_NEVER_RESTART, and only in generation 1.
 *   holder[:how] takes the named tranche's second LWLock and, once a waiter
 *                sleeps on it, leaves holding it: how = 0 returns (exit 0),
 *                1 proc_exit(1), 2 ERROR, 3 FATAL.
 *   waiter       waits for the holder, then LWLockAcquire()s the lock the
 *                holder dies with, and logs that it got it.
 *   noshmem      registered WITHOUT BGWORKER_SHMEM_ACCESS: calls
 *                ShmemInitStruct and LWLockAcquire(AddinShmemInitLock) and
 *                logs the errors it catches.
 *   late_request asks for shared memory and LWLocks after startup and logs
 *                the errors.
 *   overalloc    attaches, asks for 1 MB more than was requested, logs the
 *                error and checks its struct is intact.
 *
 * Every line a test greps for starts with "bgw_shmem_test: ".
 */
#include "postgres.h"

#include <signal.h>
#include <time.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

extern PGDLLEXPORT void _PG_init(void);
extern PGDLLEXPORT void counter_main(Datum main_arg);
extern PGDLLEXPORT void killer_main(Datum main_arg);
extern PGDLLEXPORT void holder_main(Datum main_arg);
extern PGDLLEXPORT void waiter_main(Datum main_arg);
extern PGDLLEXPORT void noshmem_main(Datum main_arg);
extern PGDLLEXPORT void late_request_main(Datum main_arg);
extern PGDLLEXPORT void overalloc_main(Datum main_arg);

#define LIBRARY "bgw_shmem_test"
#define TRANCHE "bgw_shmem_test"
#define STATE_NAME "bgw_shmem_test state"
#define STATE_MAGIC UINT64CONST(0x5348454d54455354)
#define MAX_SPEC_LEN 4096

/*
 * The module's shared struct. Created by the postmaster in
 * shmem_startup_hook; the fields below `lock2` are written by workers under
 * the lock named in their comment.
 */
typedef struct BgwShmemTestState
{
	uint64		magic;			/* set at creation, read-only after */
	int			generation;		/* set at creation, read-only after */
	int			embedded_tranche;	/* set at creation, read-only after */
	LWLock		lock2;			/* the embedded lock */
	slock_t		mutex;
	int64		counter;		/* named tranche lock 0 */
	int64		counter2;		/* lock2 */
	int64		spin_counter;	/* mutex */
	pg_atomic_uint64 atomic_counter;
	int			finished;		/* named tranche lock 0 */
	pg_atomic_uint32 killer_holding;
	pg_atomic_uint32 holder_holding;
	pg_atomic_uint32 waiter_waiting;
} BgwShmemTestState;

/* Settings. */
static char *workers_spec = NULL;
static char *request_mode = NULL;
static int	iterations = 10000;

/* Postmaster-private, inherited by every worker across fork. */
static int	num_counters = 0;
static bool has_killer = false;
static int	generation = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static BgwShmemTestState *state = NULL;

/* ------------------------------------------------------------------------
 * Shared memory.
 */

static void
request_shmem(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(BgwShmemTestState)));
	RequestNamedLWLockTranche(TRANCHE, 2);
}

static void
bgw_shmem_test_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	request_shmem();
}

static void
bgw_shmem_test_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	generation++;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	state = (BgwShmemTestState *) ShmemInitStruct(STATE_NAME, sizeof(BgwShmemTestState), &found);
	if (!found)
	{
		state->magic = STATE_MAGIC;
		state->generation = generation;
		state->embedded_tranche = LWLockNewTrancheId();
		LWLockInitialize(&state->lock2, state->embedded_tranche);
		SpinLockInit(&state->mutex);
		pg_atomic_init_u64(&state->atomic_counter, 0);
		pg_atomic_init_u32(&state->killer_holding, 0);
		pg_atomic_init_u32(&state->holder_holding, 0);
		pg_atomic_init_u32(&state->waiter_waiting, 0);
	}
	LWLockRelease(AddinShmemInitLock);
	LWLockRegisterTranche(state->embedded_tranche, "bgw_shmem_test embedded");
	elog(LOG, "bgw_shmem_test: shmem_startup generation=%d found=%s", generation,
		 found ? "true" : "false");
}

/* Every shared-memory worker: find the struct as any process would. */
static void
attach(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	state = (BgwShmemTestState *) ShmemInitStruct(STATE_NAME, sizeof(BgwShmemTestState), &found);
	LWLockRelease(AddinShmemInitLock);
	if (!found || state->magic != STATE_MAGIC)
		elog(ERROR, "bgw_shmem_test: state not initialized by shmem_startup_hook");
	LWLockRegisterTranche(state->embedded_tranche, "bgw_shmem_test embedded");
}

static LWLock *
named_lock(int i)
{
	return &GetNamedLWLockTranche(TRANCHE)[i].lock;
}

/* ------------------------------------------------------------------------
 * Helpers.
 */

static void
start_worker(const char *function)
{
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	elog(LOG, "bgw_shmem_test: %s started pid=%d name=\"%s\" generation=%d", function,
		 (int) MyProcPid, MyBgworkerEntry->bgw_name, generation);
}

static void
nap_ms(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Naps until *flag is set; ERROR after 60 s. */
static void
wait_for_flag(pg_atomic_uint32 *flag, const char *what)
{
	int			i;

	for (i = 0; i < 6000; i++)
	{
		if (pg_atomic_read_u32(flag) != 0)
			return;
		nap_ms(10);
	}
	elog(ERROR, "bgw_shmem_test: timed out waiting for %s", what);
}

/* Logs a caught error's message and hint; leaves the error state clean. */
static void
log_caught_error(const char *what, MemoryContext context)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(context);
	edata = CopyErrorData();
	FlushErrorState();
	elog(LOG, "bgw_shmem_test: %s error: %s hint: %s", what,
		 edata->message ? edata->message : "", edata->hint ? edata->hint : "");
	if (edata->detail)
		elog(LOG, "bgw_shmem_test: %s detail: %s", what, edata->detail);
	FreeErrorData(edata);
}

/* ------------------------------------------------------------------------
 * Workers.
 */

void
counter_main(Datum main_arg)
{
	int			i;
	int			k;

	(void) main_arg;
	start_worker("counter");
	attach();
	if (has_killer && generation == 1)
		wait_for_flag(&state->killer_holding, "the killer");

	for (i = 0; i < iterations; i++)
	{
		int64		v;

		LWLockAcquire(named_lock(0), LW_EXCLUSIVE);
		v = state->counter;
		/* A window for lost updates, were the lock not exclusive. */
		for (k = 0; k < 20; k++)
			pg_spin_delay();
		state->counter = v + 1;
		LWLockRelease(named_lock(0));

		LWLockAcquire(&state->lock2, LW_EXCLUSIVE);
		state->counter2 = state->counter2 + 1;
		LWLockRelease(&state->lock2);

		SpinLockAcquire(&state->mutex);
		state->spin_counter = state->spin_counter + 1;
		SpinLockRelease(&state->mutex);

		pg_atomic_fetch_add_u64(&state->atomic_counter, 1);
		if (i % 1000 == 0)
			CHECK_FOR_INTERRUPTS();
	}

	LWLockAcquire(named_lock(0), LW_EXCLUSIVE);
	state->finished++;
	elog(LOG, "bgw_shmem_test: counter done name=\"%s\" finished=%d of %d", MyBgworkerEntry->bgw_name,
		 state->finished, num_counters);
	if (state->finished == num_counters)
	{
		int64		c2;
		int64		sc;

		LWLockAcquire(&state->lock2, LW_SHARED);
		c2 = state->counter2;
		LWLockRelease(&state->lock2);
		SpinLockAcquire(&state->mutex);
		sc = state->spin_counter;
		SpinLockRelease(&state->mutex);
		elog(LOG, "bgw_shmem_test: total generation=%d counter=%lld counter2=%lld spin=%lld "
			 "atomic=%llu expected=%lld",
			 generation, (long long) state->counter, (long long) c2, (long long) sc,
			 (unsigned long long) pg_atomic_read_u64(&state->atomic_counter),
			 (long long) num_counters * iterations);
	}
	LWLockRelease(named_lock(0));
	proc_exit(0);
}

void
killer_main(Datum main_arg)
{
	int			how = (int) DatumGetInt64(main_arg);

	start_worker("killer");
	attach();
	LWLockAcquire(named_lock(0), LW_EXCLUSIVE);
	pg_atomic_write_u32(&state->killer_holding, 1);
	elog(LOG, "bgw_shmem_test: killer holding the lock");
	pg_usleep(300 * 1000L);
	elog(LOG, "bgw_shmem_test: killer dies holding the lock how=%s", how == 1 ? "abort" : "SIGKILL");
	if (how == 1)
		abort();
	kill(getpid(), SIGKILL);
	pg_usleep(10 * 1000 * 1000L);
	proc_exit(3);
}

void
holder_main(Datum main_arg)
{
	int			how = (int) DatumGetInt64(main_arg);

	start_worker("holder");
	attach();
	LWLockAcquire(named_lock(1), LW_EXCLUSIVE);
	pg_atomic_write_u32(&state->holder_holding, 1);
	wait_for_flag(&state->waiter_waiting, "the waiter");
	/* Give the waiter ample time to go to sleep on the lock. */
	pg_usleep(1000 * 1000L);
	elog(LOG, "bgw_shmem_test: holder exits holding the lock how=%d", how);
	switch (how)
	{
		case 0:
			return;				/* exit 0 */
		case 1:
			proc_exit(1);
		case 2:
			elog(ERROR, "bgw_shmem_test: holder raises ERROR holding the lock");
			break;
		default:
			elog(FATAL, "bgw_shmem_test: holder raises FATAL holding the lock");
			break;
	}
}

void
waiter_main(Datum main_arg)
{
	bool		immediately;

	(void) main_arg;
	start_worker("waiter");
	attach();
	wait_for_flag(&state->holder_holding, "the holder");
	pg_atomic_write_u32(&state->waiter_waiting, 1);
	immediately = LWLockAcquire(named_lock(1), LW_EXCLUSIVE);
	elog(LOG, "bgw_shmem_test: waiter acquired the lock waited=%s",
		 immediately ? "false" : "true");
	LWLockRelease(named_lock(1));
	proc_exit(0);
}

void
noshmem_main(Datum main_arg)
{
	MemoryContext context = CurrentMemoryContext;

	(void) main_arg;
	start_worker("noshmem");
	PG_TRY();
	{
		bool		found;

		(void) ShmemInitStruct(STATE_NAME, sizeof(BgwShmemTestState), &found);
		elog(LOG, "bgw_shmem_test: noshmem ShmemInitStruct succeeded");
	}
	PG_CATCH();
	{
		log_caught_error("noshmem ShmemInitStruct", context);
	}
	PG_END_TRY();
	PG_TRY();
	{
		LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
		elog(LOG, "bgw_shmem_test: noshmem LWLockAcquire succeeded");
	}
	PG_CATCH();
	{
		log_caught_error("noshmem LWLockAcquire", context);
	}
	PG_END_TRY();
	elog(LOG, "bgw_shmem_test: noshmem done");
	proc_exit(0);
}

void
late_request_main(Datum main_arg)
{
	MemoryContext context = CurrentMemoryContext;

	(void) main_arg;
	start_worker("late_request");
	PG_TRY();
	{
		RequestAddinShmemSpace(1024);
		elog(LOG, "bgw_shmem_test: late RequestAddinShmemSpace succeeded");
	}
	PG_CATCH();
	{
		log_caught_error("late RequestAddinShmemSpace", context);
	}
	PG_END_TRY();
	PG_TRY();
	{
		RequestNamedLWLockTranche("bgw_shmem_test late", 1);
		elog(LOG, "bgw_shmem_test: late RequestNamedLWLockTranche succeeded");
	}
	PG_CATCH();
	{
		log_caught_error("late RequestNamedLWLockTranche", context);
	}
	PG_END_TRY();
	elog(LOG, "bgw_shmem_test: late_request done");
	proc_exit(0);
}

void
overalloc_main(Datum main_arg)
{
	MemoryContext context = CurrentMemoryContext;

	(void) main_arg;
	start_worker("overalloc");
	attach();
	PG_TRY();
	{
		bool		found;

		(void) ShmemInitStruct("bgw_shmem_test overflow", 1024 * 1024, &found);
		elog(LOG, "bgw_shmem_test: overalloc succeeded");
	}
	PG_CATCH();
	{
		log_caught_error("overalloc", context);
	}
	PG_END_TRY();
	elog(LOG, "bgw_shmem_test: overalloc state %s",
		 state->magic == STATE_MAGIC ? "intact" : "CORRUPTED");
	proc_exit(0);
}

/* ------------------------------------------------------------------------
 * Registration.
 */

static void
register_worker(const char *function, int64 arg, int n)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof worker);
	worker.bgw_flags = strcmp(function, "noshmem") == 0 ? 0 : BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = strcmp(function, "counter") == 0 ? 1 : BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "%s", LIBRARY);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s_main", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s %s %d", LIBRARY, function, n);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s %s", LIBRARY, function);
	worker.bgw_main_arg = Int64GetDatum(arg);
	RegisterBackgroundWorker(&worker);
}

static void
register_workers(const char *spec)
{
	char		buf[MAX_SPEC_LEN];
	char	   *save = NULL;
	char	   *item;
	int			n = 0;

	if (spec == NULL || spec[0] == '\0')
		return;
	if (strlen(spec) >= sizeof buf)
		elog(ERROR, "bgw_shmem_test: bgw_shmem_test.workers is too long");
	snprintf(buf, sizeof buf, "%s", spec);
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save))
	{
		char	   *colon = strchr(item, ':');
		int64		arg = 0;

		while (*item == ' ')
			item++;
		if (colon != NULL)
		{
			*colon = '\0';
			arg = strtoll(colon + 1, NULL, 10);
		}
		n++;
		if (strcmp(item, "counter") == 0)
			num_counters++;
		else if (strcmp(item, "killer") == 0)
			has_killer = true;
		else if (strcmp(item, "holder") != 0 && strcmp(item, "waiter") != 0 &&
				 strcmp(item, "noshmem") != 0 && strcmp(item, "late_request") != 0 &&
				 strcmp(item, "overalloc") != 0)
			elog(ERROR, "bgw_shmem_test: unknown worker \"%s\"", item);
		register_worker(item, arg, n);
	}
}

void
_PG_init(void)
{
	DefineCustomStringVariable("bgw_shmem_test.workers",
							   "Static workers to register: function[:arg],...",
							   NULL, &workers_spec, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_shmem_test.request_mode",
							   "How shared memory is requested: hook, init or none.",
							   NULL, &request_mode, "hook", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("bgw_shmem_test.iterations",
							"Increments per counter worker.",
							NULL, &iterations, 10000, 1, 100000000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("bgw_shmem_test");

	if (!process_shared_preload_libraries_in_progress)
		return;

	if (strcmp(request_mode, "hook") == 0)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = bgw_shmem_test_shmem_request;
	}
	else if (strcmp(request_mode, "init") == 0)
		request_shmem();
	else
		elog(LOG, "bgw_shmem_test: requesting no shared memory");

	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = bgw_shmem_test_shmem_startup;
	register_workers(workers_spec);
}
