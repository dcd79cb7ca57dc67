/*
 * bgw_bench: background worker latency measurements, written only against
 * PostgreSQL's module API so that one source measures both servers.
 *
 * With shared_preload_libraries = 'bgw_bench', a static "bgw_bench driver"
 * worker runs bgw_bench.iterations rounds of each measurement and logs one
 * line per metric:
 *
 *   bgw_bench RESULT metric=<name> n=<n> median_us=<x> p99_us=<y> min_us=<z>
 *
 * Metrics:
 *   launch_to_started  RegisterDynamicBackgroundWorker ->
 *                      WaitForBackgroundWorkerStartup returns
 *   launch_to_running  register -> the worker's entry function runs
 *                      (timestamp written by the worker into shared memory)
 *   round_trip         register -> the worker returns at once ->
 *                      WaitForBackgroundWorkerShutdown returns
 *
 * Then it logs "bgw_bench DONE" and exits 0.
 *
 * bgw_bench.driver_cpu (default -1 = leave alone) pins the driver worker to
 * that CPU with sched_setaffinity before it measures. With the server itself
 * started under "taskset -c 0" and driver_cpu=1, the driver runs on CPU 1
 * while the postmaster and every target worker run on CPU 0: bench/run's
 * "split" variant, where each notification crosses vCPUs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* CPU_SET, sched_setaffinity */
#endif
#include "postgres.h"

#include <sched.h>
#include <time.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/procsignal.h"
#include "storage/shmem.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);
PGDLLEXPORT void bgw_bench_driver(Datum arg);
PGDLLEXPORT void bgw_bench_target(Datum arg);

static int	bench_iterations = 200;
static int	bench_driver_cpu = -1;
static shmem_request_hook_type prev_shmem_request_hook = NULL;

/* Shared: the target's entry timestamp (written by the target, read by the
 * driver after WaitForBackgroundWorkerShutdown, which orders it). */
typedef struct BenchShared
{
	volatile int64 entry_ns;
} BenchShared;

static BenchShared *shared;

static int64
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
attach_shared(void)
{
	bool		found;

	shared = ShmemInitStruct("bgw_bench", sizeof(BenchShared), &found);
	if (!found)
		shared->entry_ns = 0;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

static void
report(const char *metric, int64 *samples, int n)
{
	if (n == 0)
	{
		elog(LOG, "bgw_bench RESULT metric=%s n=0", metric);
		return;
	}
	qsort(samples, n, sizeof(int64), cmp_int64);
	elog(LOG, "bgw_bench RESULT metric=%s n=%d median_us=%.1f p99_us=%.1f min_us=%.1f",
		 metric, n, samples[n / 2] / 1000.0, samples[(n * 99) / 100] / 1000.0,
		 samples[0] / 1000.0);
}

static bool
launch(BackgroundWorkerHandle **handle)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_bench");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_bench_target");
	snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_bench target");
	snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_bench target");
	worker.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&worker, handle);
}

void
bgw_bench_target(Datum arg)
{
	(void) arg;
	attach_shared();
	shared->entry_ns = now_ns();
	/* Returning exits 0: unregistered. */
}

void
bgw_bench_driver(Datum arg)
{
	int			n = bench_iterations;
	int64	   *started = palloc(sizeof(int64) * n);
	int64	   *running = palloc(sizeof(int64) * n);
	int64	   *round = palloc(sizeof(int64) * n);
	int			ns = 0,
				nr = 0,
				nt = 0;

	(void) arg;
	/* Wake-ups from the postmaster (bgw_notify_pid) arrive as SIGUSR1;
	 * PostgreSQL 14+ ignores it in workers unless this handler is set. */
	pqsignal(SIGUSR1, procsignal_sigusr1_handler);
	BackgroundWorkerUnblockSignals();
	attach_shared();

	if (bench_driver_cpu >= 0)
	{
		cpu_set_t	set;

		CPU_ZERO(&set);
		CPU_SET(bench_driver_cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			elog(LOG, "bgw_bench: could not pin the driver to CPU %d: %m",
				 bench_driver_cpu);
		else
			elog(LOG, "bgw_bench: driver pinned to CPU %d", bench_driver_cpu);
	}

	for (int i = 0; i < n; i++)
	{
		BackgroundWorkerHandle *h;
		pid_t		pid;
		int64		t0;

		shared->entry_ns = 0;
		t0 = now_ns();
		if (!launch(&h))
			elog(ERROR, "bgw_bench: could not register a worker");
		if (WaitForBackgroundWorkerStartup(h, &pid) == BGWH_STARTED)
			started[ns++] = now_ns() - t0;
		if (WaitForBackgroundWorkerShutdown(h) != BGWH_STOPPED)
			elog(ERROR, "bgw_bench: postmaster died");
		round[nt++] = now_ns() - t0;
		if (shared->entry_ns != 0)
			running[nr++] = shared->entry_ns - t0;
		pfree(h);
	}
	report("launch_to_started", started, ns);
	report("launch_to_running", running, nr);
	report("round_trip", round, nt);
	elog(LOG, "bgw_bench DONE");
}

/* PostgreSQL 15 accepts shared memory requests only from this hook. */
static void
bench_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(BenchShared)));
}

void
_PG_init(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("bgw_bench.iterations", "Rounds per measurement.", NULL,
							&bench_iterations, 200, 1, 100000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("bgw_bench.driver_cpu",
							"CPU to pin the driver worker to (-1: none).", NULL,
							&bench_driver_cpu, -1, -1, 1023, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = bench_shmem_request;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_bench");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_bench_driver");
	snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_bench driver");
	snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_bench driver");
	RegisterBackgroundWorker(&worker);
}
