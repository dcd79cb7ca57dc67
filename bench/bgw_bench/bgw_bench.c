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
 *   burst_started      register bgw_bench.burst workers at once -> every
 *                      WaitForBackgroundWorkerStartup has returned
 *   burst_exited       the same burst -> every worker has exited
 *   restart_exit1      a worker exits 1 with bgw_restart_time = 0 -> its next
 *                      incarnation's entry function runs (worker clocks)
 *   latch_round_trip   driver SetLatch -> worker wakes, SetLatch back ->
 *                      driver wakes
 *   shm_mq_8k_msg      us per 8 KiB message through a 64 KiB shm_mq to one
 *                      worker (send loop start -> receiver has exited)
 *   shm_mq_100b_msg    the same with 100-byte messages
 *   lwlock_pair        uncontended LWLockAcquire(EXCLUSIVE) + LWLockRelease
 *   dbconn_round_trip  register -> the worker connects to database postgres,
 *                      runs SELECT 1 through SPI in a transaction, exits ->
 *                      WaitForBackgroundWorkerShutdown returns
 *
 * Then it logs "bgw_bench DONE" and exits 0.
 *
 * With bgw_bench.mode = 'idle' there is no driver: bgw_bench.idle_workers
 * static workers sleep on their latches (bench/run measures what an idle
 * server costs: context switches, CPU, memory).
 *
 * bgw_bench.only (default empty = all) limits the driver to a comma list of
 * groups: launch, restart, latch, mq, lwlock, dbconn, burst.
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

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procsignal.h"
#include "storage/shm_mq.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

PG_MODULE_MAGIC;

void		_PG_init(void);
PGDLLEXPORT void bgw_bench_driver(Datum arg);
PGDLLEXPORT void bgw_bench_target(Datum arg);

static int	bench_iterations = 200;
static int	bench_driver_cpu = -1;
static int	bench_burst = 200;
static int	bench_idle_workers = 8;
static char *bench_mode = NULL;
static char *bench_only = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;

/* What a target worker does: bgw_main_arg = mode << 32 | payload. */
#define MODE_EXIT		0		/* stamp entry_ns, return (exit 0) */
#define MODE_RESTART	1		/* first incarnation exits 1, the next returns */
#define MODE_PONG		2		/* answer every ping with a SetLatch */
#define MODE_MQ			3		/* receive from the shm_mq in DSM handle payload */
#define MODE_IDLE		4		/* sleep on the latch until terminated */
#define MODE_DBCONN		5		/* connect to "postgres", SELECT 1 via SPI, exit */

#define MQ_SIZE			65536

/*
 * Shared between the driver and its targets (in the main segment, mapped at
 * the same address in every process of both servers).
 *   entry_ns, exit_ns: written by a target, read by the driver after
 *     WaitForBackgroundWorkerShutdown (which orders them).
 *   incarnation: restart test; the target's fetch-add decides which
 *     incarnation it is.
 *   driver_latch, target_latch: published before the first SetLatch that
 *     could use them (driver: before launching; target: before the driver
 *     sees it, which polls for it).
 *   ping (driver writes), pong (target writes): read after the peer's
 *     SetLatch/ResetLatch, whose barriers order them.
 */
typedef struct BenchShared
{
	volatile int64 entry_ns;
	volatile int64 exit_ns;
	pg_atomic_uint32 incarnation;
	Latch	   *volatile driver_latch;
	Latch	   *volatile target_latch;
	volatile int64 ping;
	volatile int64 pong;
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
	{
		memset(shared, 0, sizeof(BenchShared));
		pg_atomic_init_u32(&shared->incarnation, 0);
	}
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
	elog(LOG, "bgw_bench RESULT metric=%s n=%d median_us=%.3f p99_us=%.3f min_us=%.3f",
		 metric, n, samples[n / 2] / 1000.0, samples[(n * 99) / 100] / 1000.0,
		 samples[0] / 1000.0);
}

static bool
launch_mode(BackgroundWorkerHandle **handle, int mode, uint32 payload, int restart_time)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	if (mode == MODE_DBCONN)
		worker.bgw_flags |= BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = restart_time;
	worker.bgw_main_arg = Int64GetDatum(((int64) mode << 32) | payload);
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_bench");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_bench_target");
	snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_bench target");
	snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_bench target");
	worker.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&worker, handle);
}

static bool
launch(BackgroundWorkerHandle **handle)
{
	return launch_mode(handle, MODE_EXIT, 0, BGW_NEVER_RESTART);
}

static void
target_pong(void)
{
	shared->target_latch = MyLatch;
	for (;;)
	{
		int64		p;

		ResetLatch(MyLatch);
		p = shared->ping;
		if (p < 0)
			break;
		if (p != shared->pong)
		{
			shared->pong = p;
			SetLatch(shared->driver_latch);
			continue;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 0, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
}

static void
target_mq(dsm_handle h)
{
	dsm_segment *seg = dsm_attach(h);
	shm_mq	   *mq;
	shm_mq_handle *mqh;

	if (seg == NULL)
		elog(ERROR, "bgw_bench: could not attach to the queue's segment");
	mq = dsm_segment_address(seg);
	shm_mq_set_receiver(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	for (;;)
	{
		Size		len;
		void	   *data;

		if (shm_mq_receive(mqh, &len, &data, false) != SHM_MQ_SUCCESS || len == 0)
			break;
	}
	dsm_detach(seg);
}

void
bgw_bench_target(Datum arg)
{
	int64		a = DatumGetInt64(arg);
	int			mode = (int) (a >> 32);
	uint32		payload = (uint32) (a & 0xffffffff);

	attach_shared();
	switch (mode)
	{
		case MODE_EXIT:
			shared->entry_ns = now_ns();
			break;
		case MODE_RESTART:
			if (pg_atomic_fetch_add_u32(&shared->incarnation, 1) == 0)
			{
				shared->exit_ns = now_ns();
				proc_exit(1);
			}
			shared->entry_ns = now_ns();
			SetLatch(shared->driver_latch);
			break;
		case MODE_PONG:
			BackgroundWorkerUnblockSignals();
			target_pong();
			break;
		case MODE_MQ:
			BackgroundWorkerUnblockSignals();
			target_mq((dsm_handle) payload);
			break;
		case MODE_DBCONN:
			BackgroundWorkerUnblockSignals();
			BackgroundWorkerInitializeConnection("postgres", NULL, 0);
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			SPI_connect();
			PushActiveSnapshot(GetTransactionSnapshot());
			if (SPI_execute("SELECT 1", true, 0) != SPI_OK_SELECT || SPI_processed != 1)
				elog(ERROR, "bgw_bench: SELECT 1 failed");
			SPI_finish();
			PopActiveSnapshot();
			CommitTransactionCommand();
			break;
		case MODE_IDLE:
			BackgroundWorkerUnblockSignals();
			for (;;)
			{
				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 0,
								 PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
				CHECK_FOR_INTERRUPTS();
			}
			break;
	}
	/* Returning exits 0: unregistered. */
}

/* Rounds for the costlier metrics: a fraction of bgw_bench.iterations. */
static int
rounds(int divisor)
{
	int			r = bench_iterations / divisor;

	return r < 3 ? 3 : r;
}

static void
measure_burst(void)
{
	int			n = rounds(50);
	int64	   *started = palloc(sizeof(int64) * n);
	int64	   *exited = palloc(sizeof(int64) * n);
	BackgroundWorkerHandle **h = palloc(sizeof(BackgroundWorkerHandle *) * bench_burst);

	for (int r = 0; r < n; r++)
	{
		int64		t0 = now_ns();
		pid_t		pid;

		for (int i = 0; i < bench_burst; i++)
			if (!launch(&h[i]))
				elog(ERROR, "bgw_bench: could not register burst worker %d (max_worker_processes?)", i);
		for (int i = 0; i < bench_burst; i++)
			(void) WaitForBackgroundWorkerStartup(h[i], &pid);
		started[r] = now_ns() - t0;
		for (int i = 0; i < bench_burst; i++)
		{
			if (WaitForBackgroundWorkerShutdown(h[i]) != BGWH_STOPPED)
				elog(ERROR, "bgw_bench: postmaster died");
			pfree(h[i]);
		}
		exited[r] = now_ns() - t0;
	}
	report("burst_started", started, n);
	report("burst_exited", exited, n);
}

static void
measure_restart(void)
{
	int			n = rounds(10);
	int64	   *samples = palloc(sizeof(int64) * n);
	int			k = 0;

	shared->driver_latch = MyLatch;
	for (int r = 0; r < n; r++)
	{
		BackgroundWorkerHandle *h;
		int			waits = 0;

		pg_atomic_write_u32(&shared->incarnation, 0);
		shared->entry_ns = shared->exit_ns = 0;
		if (!launch_mode(&h, MODE_RESTART, 0, 0))
			elog(ERROR, "bgw_bench: could not register a worker");

		/*
		 * WaitForBackgroundWorkerShutdown returns as soon as the first
		 * incarnation exits (both servers report a restartable worker's exit
		 * as BGWH_STOPPED), so wait for the second incarnation's entry, then
		 * for its exit. Otherwise the next round's registration races with
		 * the restart and the postmaster forks both in one go.
		 */
		for (;;)
		{
			ResetLatch(MyLatch);
			if (shared->entry_ns != 0)
				break;
			if (++waits > 100)
				elog(ERROR, "bgw_bench: the restarted worker did not run within 10 s");
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
							 PG_WAIT_EXTENSION);
			CHECK_FOR_INTERRUPTS();
		}
		if (WaitForBackgroundWorkerShutdown(h) != BGWH_STOPPED)
			elog(ERROR, "bgw_bench: postmaster died");
		samples[k++] = shared->entry_ns - shared->exit_ns;
		pfree(h);
	}
	report("restart_exit1", samples, k);
}

static void
measure_latch(void)
{
	int			n = bench_iterations * 5;
	int64	   *samples = palloc(sizeof(int64) * n);
	BackgroundWorkerHandle *h;
	pid_t		pid;

	shared->ping = shared->pong = 0;
	shared->target_latch = NULL;
	shared->driver_latch = MyLatch;
	if (!launch_mode(&h, MODE_PONG, 0, BGW_NEVER_RESTART))
		elog(ERROR, "bgw_bench: could not register a worker");
	if (WaitForBackgroundWorkerStartup(h, &pid) != BGWH_STARTED)
		elog(ERROR, "bgw_bench: the latch worker did not start");
	while (shared->target_latch == NULL)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	for (int i = 0; i < n; i++)
	{
		int64		t0 = now_ns();

		shared->ping = i + 1;
		SetLatch(shared->target_latch);
		for (;;)
		{
			ResetLatch(MyLatch);
			if (shared->pong == i + 1)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 0, PG_WAIT_EXTENSION);
		}
		samples[i] = now_ns() - t0;
	}
	shared->ping = -1;
	SetLatch(shared->target_latch);
	if (WaitForBackgroundWorkerShutdown(h) != BGWH_STOPPED)
		elog(ERROR, "bgw_bench: postmaster died");
	pfree(h);
	report("latch_round_trip", samples, n);
}

static void
measure_mq(const char *metric, Size msg_size, int msgs_per_round)
{
	int			n = rounds(40);
	int64	   *samples = palloc(sizeof(int64) * n);
	char	   *buf = palloc(msg_size);

	memset(buf, 'x', msg_size);
	for (int r = 0; r < n; r++)
	{
		dsm_segment *seg = dsm_create(MQ_SIZE, 0);
		shm_mq	   *mq = shm_mq_create(dsm_segment_address(seg), MQ_SIZE);
		BackgroundWorkerHandle *h;
		shm_mq_handle *mqh;
		int64		t0;

		shm_mq_set_sender(mq, MyProc);
		if (!launch_mode(&h, MODE_MQ, dsm_segment_handle(seg), BGW_NEVER_RESTART))
			elog(ERROR, "bgw_bench: could not register a worker");
		mqh = shm_mq_attach(mq, seg, h);
		t0 = now_ns();
		for (int i = 0; i < msgs_per_round; i++)
			if (shm_mq_send(mqh, msg_size, buf, false, true) != SHM_MQ_SUCCESS)
				elog(ERROR, "bgw_bench: the receiver went away");
		if (shm_mq_send(mqh, 0, buf, false, true) != SHM_MQ_SUCCESS)
			elog(ERROR, "bgw_bench: the receiver went away");
		if (WaitForBackgroundWorkerShutdown(h) != BGWH_STOPPED)
			elog(ERROR, "bgw_bench: postmaster died");
		samples[r] = (now_ns() - t0) / msgs_per_round;
		dsm_detach(seg);
		pfree(h);
	}
	report(metric, samples, n);
}

static void
measure_dbconn(void)
{
	int			n = rounds(4);
	int64	   *samples = palloc(sizeof(int64) * n);

	for (int r = 0; r < n; r++)
	{
		BackgroundWorkerHandle *h;
		int64		t0 = now_ns();

		if (!launch_mode(&h, MODE_DBCONN, 0, BGW_NEVER_RESTART))
			elog(ERROR, "bgw_bench: could not register a worker");
		if (WaitForBackgroundWorkerShutdown(h) != BGWH_STOPPED)
			elog(ERROR, "bgw_bench: postmaster died");
		samples[r] = now_ns() - t0;
		pfree(h);
	}
	report("dbconn_round_trip", samples, n);
}

static void
measure_lwlock(void)
{
	int			n = rounds(20);
	int			pairs = 100000;
	int64	   *samples = palloc(sizeof(int64) * n);
	LWLock	   *lock = &GetNamedLWLockTranche("bgw_bench")[0].lock;

	for (int r = 0; r < n; r++)
	{
		int64		t0 = now_ns();

		for (int i = 0; i < pairs; i++)
		{
			LWLockAcquire(lock, LW_EXCLUSIVE);
			LWLockRelease(lock);
		}
		/* in ns per pair, reported in us with three decimals */
		samples[r] = (now_ns() - t0) / pairs;
	}
	report("lwlock_pair", samples, n);
}

/* True when bgw_bench.only is empty or names this group (comma list). */
static bool
wanted(const char *group)
{
	size_t		len = strlen(group);
	const char *p = bench_only;

	if (p == NULL || *p == '\0')
		return true;
	while (*p)
	{
		const char *end = strchr(p, ',');
		size_t		n = end ? (size_t) (end - p) : strlen(p);

		if (n == len && strncmp(p, group, len) == 0)
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
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

	for (int i = 0; i < n && wanted("launch"); i++)
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
	if (wanted("launch"))
	{
		report("launch_to_started", started, ns);
		report("launch_to_running", running, nr);
		report("round_trip", round, nt);
	}
	if (wanted("restart"))
		measure_restart();
	if (wanted("latch"))
		measure_latch();
	if (wanted("mq"))
	{
		measure_mq("shm_mq_8k_msg", 8192, 2000);
		measure_mq("shm_mq_100b_msg", 100, 20000);
	}
	if (wanted("lwlock"))
		measure_lwlock();
	if (wanted("dbconn"))
		measure_dbconn();
	if (bench_burst > 0 && wanted("burst"))
		measure_burst();
	elog(LOG, "bgw_bench DONE");
}

/* PostgreSQL 15 accepts shared memory requests only from this hook. */
static void
bench_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(BenchShared)));
	RequestNamedLWLockTranche("bgw_bench", 1);
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
	DefineCustomIntVariable("bgw_bench.burst", "Workers per burst (0: skip the burst).",
							NULL, &bench_burst, 200, 0, 10000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("bgw_bench.idle_workers", "Idle workers in idle mode.",
							NULL, &bench_idle_workers, 8, 0, 1000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_bench.mode", "measure (default) or idle.", NULL,
							   &bench_mode, "measure", PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_bench.only",
							   "Comma list of measurement groups to run (empty: all): "
							   "launch, restart, latch, mq, lwlock, dbconn, burst.",
							   NULL, &bench_only, "", PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = bench_shmem_request;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_bench");
	if (strcmp(bench_mode, "idle") == 0)
	{
		/* Restartable, so bench/run's kill -9 measure sees them come back. */
		worker.bgw_restart_time = 1;
		worker.bgw_main_arg = Int64GetDatum((int64) MODE_IDLE << 32);
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_bench_target");
		snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_bench idle");
		for (int i = 0; i < bench_idle_workers; i++)
		{
			snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_bench idle %d", i);
			RegisterBackgroundWorker(&worker);
		}
		return;
	}
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_bench_driver");
	snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_bench driver");
	snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_bench driver");
	RegisterBackgroundWorker(&worker);
}
