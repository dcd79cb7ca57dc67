/*
 * bgw_shm_mq_test.c: PostgreSQL's test_shm_mq, run from a launcher worker,
 * and dynamic shared memory scenarios.
 *
 * Written like a PostgreSQL 13-15 module (PostgreSQL's headers and names
 * only). Two ways to drive it: the SQL functions test_shm_mq() and
 * test_shm_mq_pipelined() (PostgreSQL's, see below), and a static
 * "launcher" worker, registered when the library is preloaded, that reads
 * what to do from its settings and logs one line per result;
 * tests/test_shm_mq.py and tests/test_dsm.py use both.
 *
 * bgw_shm_mq_test.cases: a comma-separated list of
 *
 *     queue_size:message_size:loops:workers[:flag[+flag...]]
 *
 *   message_size  N bytes, or MIN-MAX: each message gets a random length in
 *                 that range; contents are random bytes (zeros included)
 *   flags         pipelined  non-blocking sends interleaved with receives
 *                            (test_shm_mq_pipelined); default synchronous
 *                            (send, then receive the relayed message)
 *                 badworker  worker 1's function does not exist, and the
 *                            launcher does not wait for the workers to be
 *                            ready: the queue's worker handle must turn the
 *                            failure into SHM_MQ_DETACHED
 *                 badmiddle  worker 2's function does not exist (needs 3+
 *                            workers): the readiness wait must notice
 *
 * For each case the launcher creates a DSM segment laid out with a shm_toc
 * (a header and workers + 1 queues), registers the workers (bgw_main_arg =
 * the segment's handle, bgw_extra = the worker's number), and relays
 * `loops` messages around the ring launcher -> worker 1 -> ... -> worker N
 * -> launcher, checking that every message comes back byte-identical. It
 * logs
 *
 *     bgw_shm_mq_test RESULT case=<n> spec="<spec>" ok=<true|false> messages=<m>
 *         bytes=<b> ms=<elapsed>[ error="<message: detail>"]
 *
 * bgw_shm_mq_test.dsm_tests: a comma-separated list of
 *   pin     a worker creates and pins a segment and exits; another worker
 *           attaches it by handle, checks its contents and unpins it; then
 *           the segment is gone (dsm_attach returns NULL)
 *   detach  the launcher creates a segment, a worker attaches it, the
 *           launcher detaches: the worker still sees the contents; after
 *           the worker's detach the segment is gone
 *   errors  misuse of dsm, shm_toc and shm_mq raises the expected ERRORs;
 *           a worker without BGWORKER_SHMEM_ACCESS gets a clear ERROR
 *   hold    (last) the launcher holds an unpinned and a pinned segment, a
 *           worker holds the unpinned one too, and both wait forever
 * logging "bgw_shm_mq_test CHECK name=<name> ok=<true|false> detail=..." per
 * check, "bgw_shm_mq_test DSM HOLDING ..." for hold, and at the end
 * "bgw_shm_mq_test DONE cases=<n> failed=<n> checks_failed=<n>".
 */
#include "postgres.h"

#include <signal.h>
#include <time.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PG_MODULE_MAGIC;

#define MODULE_NAME "bgw_shm_mq_test"
#define PG_TEST_SHM_MQ_MAGIC 0x79fb2447
#define MAX_WORKERS 16
#define MAX_SPEC 256
#define ERROR_TEXT_LEN 512

extern PGDLLEXPORT void _PG_init(void);
extern PGDLLEXPORT void bgw_shm_mq_test_launcher_main(Datum main_arg);
extern PGDLLEXPORT void bgw_shm_mq_test_worker_main(Datum main_arg);
extern PGDLLEXPORT void bgw_shm_mq_test_dsm_worker_main(Datum main_arg);

static char *cases_setting = NULL;
static char *dsm_tests_setting = NULL;

/* Key 0 of the case's TOC; queues are keys 1 .. workers + 1. */
typedef struct
{
	slock_t		mutex;
	int			workers_total;
	int			workers_attached;
	int			workers_ready;
	pid_t		launcher_pid;
} test_shm_mq_header;

typedef struct
{
	char		spec[MAX_SPEC];
	int64		queue_size;
	int64		min_len;
	int64		max_len;
	int			loops;
	int			nworkers;
	bool		pipelined;
	bool		badworker;
	bool		badmiddle;
	const char *message;		/* SQL cases: this message every time; NULL =
								 * random lengths and bytes from the seed */
} test_case;

/*
 * The case being run. Static, so it survives the siglongjmp of an ERROR
 * and the cleanup after PG_CATCH sees what was set up.
 */
typedef struct
{
	dsm_segment *seg;
	shm_mq_handle *outqh;
	shm_mq_handle *inqh;
	int			nregistered;
	BackgroundWorkerHandle *handles[MAX_WORKERS];
	bool		cleanup_registered;
	uint64		messages;
	uint64		bytes;
} case_state;

static case_state cs;
static int	checks_failed = 0;

/* ------------------------------------------------------------------------
 * Messages: deterministic random lengths and contents.
 */

static uint64
splitmix64(uint64 *state)
{
	uint64		z = (*state += UINT64CONST(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static Size
message_length(const test_case *tc, uint64 seed, int i)
{
	uint64		s = seed ^ ((uint64) i * UINT64CONST(0x2545F4914F6CDD1D));

	if (tc->min_len == tc->max_len || tc->message != NULL)
		return (Size) tc->min_len;
	return (Size) (tc->min_len +
				   (int64) (splitmix64(&s) % (uint64) (tc->max_len - tc->min_len + 1)));
}

static void
fill_message(const test_case *tc, char *buf, Size len, uint64 seed, int i)
{
	uint64		s = seed * 31 + (uint64) i;
	Size		off = 0;
	uint64		v;

	if (tc->message != NULL)
	{
		memcpy(buf, tc->message, len);
		return;
	}
	while (off + sizeof(v) <= len)
	{
		v = splitmix64(&s);
		memcpy(buf + off, &v, sizeof(v));
		off += sizeof(v);
	}
	if (off < len)
	{
		v = splitmix64(&s);
		memcpy(buf + off, &v, len - off);
	}
}

static void
verify_message(int i, Size origlen, const char *origdata, Size newlen, const char *newdata)
{
	Size		k;

	if (origlen != newlen)
		ereport(ERROR,
				(errmsg("message corrupted"),
				 errdetail("Message %d was %zu bytes but %zu bytes came back.",
						   i, origlen, newlen)));
	if (memcmp(origdata, newdata, origlen) != 0)
	{
		for (k = 0; k < origlen && origdata[k] == newdata[k]; k++)
			;
		ereport(ERROR,
				(errmsg("message corrupted"),
				 errdetail("Message %d differs at byte %zu of %zu.", i, k, origlen)));
	}
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}

static const char *
result_name(shm_mq_result res)
{
	switch (res)
	{
		case SHM_MQ_SUCCESS:
			return "SHM_MQ_SUCCESS";
		case SHM_MQ_WOULD_BLOCK:
			return "SHM_MQ_WOULD_BLOCK";
		case SHM_MQ_DETACHED:
			return "SHM_MQ_DETACHED";
	}
	return "?";
}

/* ------------------------------------------------------------------------
 * Parsing.
 */

static bool
parse_int64(const char *s, int64 *out)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return false;
	*out = (int64) v;
	return true;
}

static bool
parse_case(const char *spec, test_case *tc, char *err, size_t errlen)
{
	char		buf[MAX_SPEC];
	char	   *fields[6];
	int			nfields = 0;
	char	   *save = NULL;
	char	   *tok;
	char	   *dash;
	int64		v;

	memset(tc, 0, sizeof(*tc));
	snprintf(tc->spec, sizeof(tc->spec), "%s", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ":", &save); tok != NULL && nfields < 6;
		 tok = strtok_r(NULL, ":", &save))
		fields[nfields++] = tok;
	if (nfields < 4 || nfields > 5)
	{
		snprintf(err, errlen, "expected queue_size:message_size:loops:workers[:flags]");
		return false;
	}
	if (!parse_int64(fields[0], &tc->queue_size) || tc->queue_size < (int64) shm_mq_minimum_size)
	{
		snprintf(err, errlen, "queue size must be at least %zu bytes", shm_mq_minimum_size);
		return false;
	}
	dash = strchr(fields[1], '-');
	if (dash != NULL)
	{
		*dash = '\0';
		if (!parse_int64(fields[1], &tc->min_len) || !parse_int64(dash + 1, &tc->max_len))
		{
			snprintf(err, errlen, "bad message size range");
			return false;
		}
	}
	else
	{
		if (!parse_int64(fields[1], &tc->min_len))
		{
			snprintf(err, errlen, "bad message size");
			return false;
		}
		tc->max_len = tc->min_len;
	}
	if (tc->min_len < 0 || tc->max_len < tc->min_len || tc->max_len > (int64) MaxAllocSize)
	{
		snprintf(err, errlen, "message size out of range");
		return false;
	}
	if (!parse_int64(fields[2], &v) || v < 1 || v > INT_MAX)
	{
		snprintf(err, errlen, "repeat count must be positive");
		return false;
	}
	tc->loops = (int) v;
	if (!parse_int64(fields[3], &v) || v < 1 || v > MAX_WORKERS)
	{
		snprintf(err, errlen, "number of workers must be between 1 and %d", MAX_WORKERS);
		return false;
	}
	tc->nworkers = (int) v;
	if (nfields == 5)
	{
		char	   *fsave = NULL;
		char	   *flag;

		for (flag = strtok_r(fields[4], "+", &fsave); flag != NULL;
			 flag = strtok_r(NULL, "+", &fsave))
		{
			if (strcmp(flag, "pipelined") == 0)
				tc->pipelined = true;
			else if (strcmp(flag, "badworker") == 0)
				tc->badworker = true;
			else if (strcmp(flag, "badmiddle") == 0)
				tc->badmiddle = true;
			else
			{
				snprintf(err, errlen, "unknown flag \"%s\"", flag);
				return false;
			}
		}
	}
	if (tc->badmiddle && tc->nworkers < 3)
	{
		snprintf(err, errlen, "badmiddle needs at least 3 workers");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------------
 * The relay workers (PostgreSQL's test_shm_mq worker).
 */

void
bgw_shm_mq_test_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	shm_toc    *toc;
	test_shm_mq_header *hdr;
	shm_mq	   *inq;
	shm_mq	   *outq;
	shm_mq_handle *inqh;
	shm_mq_handle *outqh;
	int			myworkernumber;
	pid_t		launcher;

	memcpy(&myworkernumber, MyBgworkerEntry->bgw_extra, sizeof(myworkernumber));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("unable to map dynamic shared memory segment")));
	toc = shm_toc_attach(PG_TEST_SHM_MQ_MAGIC, dsm_segment_address(seg));
	if (toc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bad magic number in dynamic shared memory segment")));
	hdr = shm_toc_lookup(toc, 0, false);
	SpinLockAcquire(&hdr->mutex);
	++hdr->workers_attached;
	SpinLockRelease(&hdr->mutex);
	if (myworkernumber < 1 || myworkernumber > hdr->workers_total)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bad worker number %d", myworkernumber)));

	inq = shm_toc_lookup(toc, myworkernumber, false);
	shm_mq_set_receiver(inq, MyProc);
	inqh = shm_mq_attach(inq, seg, NULL);
	outq = shm_toc_lookup(toc, myworkernumber + 1, false);
	shm_mq_set_sender(outq, MyProc);
	outqh = shm_mq_attach(outq, seg, NULL);

	/*
	 * Ready: from now on our on_dsm_detach callbacks (the queues') run before
	 * we exit. The launcher's SIGUSR1 handler sets its latch.
	 */
	SpinLockAcquire(&hdr->mutex);
	++hdr->workers_ready;
	launcher = hdr->launcher_pid;
	SpinLockRelease(&hdr->mutex);
	kill(launcher, SIGUSR1);

	for (;;)
	{
		Size		len;
		void	   *data;
		shm_mq_result res;

		CHECK_FOR_INTERRUPTS();
		res = shm_mq_receive(inqh, &len, &data, false);
		if (res != SHM_MQ_SUCCESS)
			break;
		res = shm_mq_send(outqh, len, data, false, true);
		if (res != SHM_MQ_SUCCESS)
			break;
	}

	dsm_detach(seg);
	proc_exit(1);
}

/* ------------------------------------------------------------------------
 * The launcher's side of a case (PostgreSQL's setup.c and test.c).
 */

static void
cleanup_background_workers(dsm_segment *seg, Datum arg)
{
	int			i;

	(void) seg;
	(void) arg;
	for (i = 0; i < cs.nregistered; i++)
		TerminateBackgroundWorker(cs.handles[i]);
}

static BackgroundWorkerHandle *
register_relay_worker(dsm_handle h, int number, bool bad)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, MODULE_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN,
			 bad ? "bgw_shm_mq_test_no_such_function" : "bgw_shm_mq_test_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, MODULE_NAME " worker %d", number);
	snprintf(worker.bgw_type, BGW_MAXLEN, MODULE_NAME " worker");
	worker.bgw_main_arg = UInt32GetDatum(h);
	memcpy(worker.bgw_extra, &number, sizeof(number));
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background process"),
				 errhint("You may need to increase max_worker_processes.")));
	return handle;
}

static void
setup_case(const test_case *tc)
{
	shm_toc_estimator e;
	Size		segsize;
	shm_toc    *toc;
	test_shm_mq_header *hdr;
	shm_mq	   *outq = NULL;
	shm_mq	   *inq = NULL;
	int			i;

	shm_toc_initialize_estimator(&e);
	for (i = 0; i <= tc->nworkers; ++i)
		shm_toc_estimate_chunk(&e, (Size) tc->queue_size);
	shm_toc_estimate_chunk(&e, sizeof(test_shm_mq_header));
	shm_toc_estimate_keys(&e, 2 + tc->nworkers);
	segsize = shm_toc_estimate(&e);

	cs.seg = dsm_create(segsize, 0);
	toc = shm_toc_create(PG_TEST_SHM_MQ_MAGIC, dsm_segment_address(cs.seg), segsize);
	hdr = shm_toc_allocate(toc, sizeof(test_shm_mq_header));
	SpinLockInit(&hdr->mutex);
	hdr->workers_total = tc->nworkers;
	hdr->workers_attached = 0;
	hdr->workers_ready = 0;
	hdr->launcher_pid = MyProcPid;
	shm_toc_insert(toc, 0, hdr);

	for (i = 0; i <= tc->nworkers; ++i)
	{
		shm_mq	   *mq;

		mq = shm_mq_create(shm_toc_allocate(toc, (Size) tc->queue_size), (Size) tc->queue_size);
		shm_toc_insert(toc, i + 1, mq);
		if (i == 0)
		{
			shm_mq_set_sender(mq, MyProc);
			outq = mq;
		}
		if (i == tc->nworkers)
		{
			shm_mq_set_receiver(mq, MyProc);
			inq = mq;
		}
	}

	/* Until every worker is ready, detaching the segment terminates them. */
	on_dsm_detach(cs.seg, cleanup_background_workers, (Datum) 0);
	cs.cleanup_registered = true;
	for (i = 0; i < tc->nworkers; ++i)
	{
		bool		bad = (tc->badworker && i == 0) || (tc->badmiddle && i == 1);

		cs.handles[i] = register_relay_worker(dsm_segment_handle(cs.seg), i + 1, bad);
		cs.nregistered++;
	}

	cs.outqh = shm_mq_attach(outq, cs.seg, cs.handles[0]);
	cs.inqh = shm_mq_attach(inq, cs.seg, cs.handles[tc->nworkers - 1]);

	if (tc->badworker)
		return;					/* the queues' handles must catch it */

	for (;;)
	{
		int			ready;

		SpinLockAcquire(&hdr->mutex);
		ready = hdr->workers_ready;
		SpinLockRelease(&hdr->mutex);
		if (ready >= tc->nworkers)
			break;
		for (i = 0; i < cs.nregistered; i++)
		{
			pid_t		pid;
			BgwHandleStatus status = GetBackgroundWorkerPid(cs.handles[i], &pid);

			if (status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
						 errmsg("one or more background workers failed to start")));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 0, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	cancel_on_dsm_detach(cs.seg, cleanup_background_workers, (Datum) 0);
	cs.cleanup_registered = false;
}

static void
run_synchronous(const test_case *tc, uint64 seed)
{
	char	   *message = palloc((Size) tc->max_len + 1);
	int			i;

	for (i = 0; i < tc->loops; i++)
	{
		Size		len = message_length(tc, seed, i);
		Size		rlen;
		void	   *rdata;
		shm_mq_result res;

		fill_message(tc, message, len, seed, i);
		/* The PostgreSQL 13/14 spelling: every message is flushed. */
		res = shm_mq_send(cs.outqh, len, message, false);
		if (res != SHM_MQ_SUCCESS)
			ereport(ERROR,
					(errmsg("could not send message"),
					 errdetail("shm_mq_send returned %s for message %d.", result_name(res), i)));
		res = shm_mq_receive(cs.inqh, &rlen, &rdata, false);
		if (res != SHM_MQ_SUCCESS)
			ereport(ERROR,
					(errmsg("could not receive message"),
					 errdetail("shm_mq_receive returned %s for message %d.", result_name(res), i)));
		verify_message(i, len, message, rlen, rdata);
		cs.messages++;
		cs.bytes += len;
	}
}

static void
run_pipelined(const test_case *tc, uint64 seed)
{
	char	   *outgoing = palloc((Size) tc->max_len + 1);
	char	   *expected = palloc((Size) tc->max_len + 1);
	int			send_count = 0;
	int			receive_count = 0;
	bool		have_outgoing = false;
	Size		outgoing_len = 0;

	for (;;)
	{
		bool		wait = true;
		shm_mq_result res;

		if (send_count < tc->loops)
		{
			/* After WOULD_BLOCK the same message is offered again. */
			if (!have_outgoing)
			{
				outgoing_len = message_length(tc, seed, send_count);
				fill_message(tc, outgoing, outgoing_len, seed, send_count);
				have_outgoing = true;
			}
			res = shm_mq_send(cs.outqh, outgoing_len, outgoing, true, true);
			if (res == SHM_MQ_SUCCESS)
			{
				++send_count;
				have_outgoing = false;
				wait = false;
			}
			else if (res == SHM_MQ_DETACHED)
				ereport(ERROR,
						(errmsg("could not send message"),
						 errdetail("shm_mq_send returned %s for message %d.",
								   result_name(res), send_count)));
		}

		if (receive_count < tc->loops)
		{
			Size		len;
			void	   *data;

			res = shm_mq_receive(cs.inqh, &len, &data, true);
			if (res == SHM_MQ_SUCCESS)
			{
				Size		elen = message_length(tc, seed, receive_count);

				fill_message(tc, expected, elen, seed, receive_count);
				verify_message(receive_count, elen, expected, len, data);
				++receive_count;
				cs.messages++;
				cs.bytes += len;
				wait = false;
			}
			else if (res == SHM_MQ_DETACHED)
				ereport(ERROR,
						(errmsg("could not receive message"),
						 errdetail("shm_mq_receive returned %s for message %d.",
								   result_name(res), receive_count)));
		}
		else
		{
			if (send_count != receive_count)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("message sent %d times, but received %d times",
								send_count, receive_count)));
			break;
		}

		if (wait)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 0, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
}

/* Detaches everything of the case and waits for its workers to be gone. */
static void
cleanup_case(bool ok)
{
	int			i;

	if (cs.seg != NULL && ok)
	{
		/* Explicit detaches (flush, then mark detached) on the happy path. */
		if (cs.outqh != NULL)
			shm_mq_detach(cs.outqh);
		if (cs.inqh != NULL)
			shm_mq_detach(cs.inqh);
	}
	cs.outqh = NULL;
	cs.inqh = NULL;
	if (cs.seg != NULL)
	{
		dsm_segment *seg = cs.seg;

		cs.seg = NULL;
		dsm_detach(seg);
	}
	for (i = 0; i < cs.nregistered; i++)
	{
		if (!ok)
			TerminateBackgroundWorker(cs.handles[i]);
		(void) WaitForBackgroundWorkerShutdown(cs.handles[i]);
	}
	cs.nregistered = 0;
	cs.cleanup_registered = false;
}

static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\n')
			*s = '\'';
}

static bool
run_case(int number, const char *spec)
{
	test_case	tc;
	char		error_text[ERROR_TEXT_LEN] = "";
	volatile bool ok = false;
	double		start = now_ms();
	MemoryContext casecxt;
	MemoryContext oldcxt;

	if (!parse_case(spec, &tc, error_text, sizeof(error_text)))
	{
		sanitize(error_text);
		elog(LOG, "bgw_shm_mq_test RESULT case=%d spec=\"%s\" ok=false messages=0 bytes=0 "
			 "ms=0.0 error=\"invalid case: %s\"", number, spec, error_text);
		return false;
	}

	memset(&cs, 0, sizeof(cs));
	casecxt = AllocSetContextCreate(TopMemoryContext, MODULE_NAME " case", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(casecxt);
	PG_TRY();
	{
		uint64		seed = (uint64) number * UINT64CONST(1000003) + (uint64) MyProcPid;

		setup_case(&tc);
		if (tc.pipelined)
			run_pipelined(&tc, seed);
		else
			run_synchronous(&tc, seed);
		ok = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(casecxt);
		edata = CopyErrorData();
		FlushErrorState();
		snprintf(error_text, sizeof(error_text), "%s%s%s", edata->message,
				 edata->detail ? ": " : "", edata->detail ? edata->detail : "");
		FreeErrorData(edata);
	}
	PG_END_TRY();
	cleanup_case(ok);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(casecxt);

	sanitize(error_text);
	elog(LOG, "bgw_shm_mq_test RESULT case=%d spec=\"%s\" ok=%s messages=" UINT64_FORMAT
		 " bytes=" UINT64_FORMAT " ms=%.1f%s%s%s",
		 number, spec, ok ? "true" : "false", cs.messages, cs.bytes, now_ms() - start,
		 ok ? "" : " error=\"", ok ? "" : error_text, ok ? "" : "\"");
	return ok;
}

/* ------------------------------------------------------------------------
 * SQL functions, as PostgreSQL's test_shm_mq extension declares them:
 *
 *   CREATE FUNCTION test_shm_mq(queue_size int8, message text,
 *       repeat_count int4, num_workers int4) RETURNS void
 *       AS 'bgw_shm_mq_test', 'test_shm_mq' LANGUAGE C;
 *   CREATE FUNCTION test_shm_mq_pipelined(...) the same, 'test_shm_mq_pipelined'
 *
 * They relay `message` repeat_count times around a ring of num_workers
 * relay workers started from the calling backend, and raise an ERROR if a
 * message comes back different or a worker fails to start.
 */

PG_FUNCTION_INFO_V1(test_shm_mq);
PG_FUNCTION_INFO_V1(test_shm_mq_pipelined);

static void
run_sql_case(FunctionCallInfo fcinfo, bool pipelined)
{
	int64		queue_size = PG_GETARG_INT64(0);
	text	   *message = PG_GETARG_TEXT_PP(1);
	int32		loops = PG_GETARG_INT32(2);
	int32		nworkers = PG_GETARG_INT32(3);
	test_case	tc;
	volatile bool ok = false;

	if (queue_size < 0 || (uint64) queue_size < shm_mq_minimum_size)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("queue size must be at least %zu bytes", shm_mq_minimum_size)));
	if (loops < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("repeat count size must be an integer value greater than or equal to zero")));
	if (nworkers <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of workers must be an integer value greater than zero")));
	if (nworkers > MAX_WORKERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of workers must be at most %d", MAX_WORKERS)));

	memset(&tc, 0, sizeof(tc));
	snprintf(tc.spec, sizeof(tc.spec), "sql");
	tc.queue_size = queue_size;
	tc.message = VARDATA_ANY(message);
	tc.min_len = tc.max_len = (int64) VARSIZE_ANY_EXHDR(message);
	tc.loops = loops;
	tc.nworkers = nworkers;
	tc.pipelined = pipelined;

	memset(&cs, 0, sizeof(cs));
	PG_TRY();
	{
		setup_case(&tc);
		if (pipelined)
			run_pipelined(&tc, 0);
		else
			run_synchronous(&tc, 0);
		ok = true;
	}
	PG_FINALLY();
	{
		cleanup_case(ok);
	}
	PG_END_TRY();
}

Datum
test_shm_mq(PG_FUNCTION_ARGS)
{
	run_sql_case(fcinfo, false);
	PG_RETURN_VOID();
}

Datum
test_shm_mq_pipelined(PG_FUNCTION_ARGS)
{
	run_sql_case(fcinfo, true);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Dynamic shared memory scenarios.
 */

#define DSM_PATTERN(i) ((char) (((i) * 131 + 17) & 0xff))

/* The launcher's mailbox segment, shared with one worker at a time. */
typedef struct
{
	slock_t		mutex;
	pid_t		launcher_pid;
	dsm_handle	target;			/* the segment the worker works on */
	bool		attached;		/* worker: attached to target */
	bool		go;				/* launcher: the worker may go on */
	bool		attach_ok;
	bool		pattern_ok;
	bool		pattern_ok_after;
	bool		gone_after;
	char		note[256];
} dsm_mailbox;

static void
report_check(const char *name, bool ok, const char *detail)
{
	char		text[ERROR_TEXT_LEN];

	if (!ok)
		checks_failed++;
	snprintf(text, sizeof(text), "%s", detail ? detail : "");
	sanitize(text);
	elog(LOG, "bgw_shm_mq_test CHECK name=%s ok=%s detail=\"%s\"", name,
		 ok ? "true" : "false", text);
}

static void
fill_pattern(char *p, Size len)
{
	Size		i;

	for (i = 0; i < len; i++)
		p[i] = DSM_PATTERN(i);
}

static bool
check_pattern(const char *p, Size len)
{
	Size		i;

	for (i = 0; i < len; i++)
		if (p[i] != DSM_PATTERN(i))
			return false;
	return true;
}

static void
notify_launcher(dsm_mailbox *mb)
{
	pid_t		launcher;

	SpinLockAcquire(&mb->mutex);
	launcher = mb->launcher_pid;
	SpinLockRelease(&mb->mutex);
	kill(launcher, SIGUSR1);
}

void
bgw_shm_mq_test_dsm_worker_main(Datum main_arg)
{
	char		role[32];
	dsm_segment *mseg;
	dsm_mailbox *mb;
	dsm_segment *seg;
	dsm_handle	target;

	memcpy(role, MyBgworkerEntry->bgw_extra, sizeof(role));
	role[sizeof(role) - 1] = '\0';
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (strcmp(role, "noshmem") == 0)
	{
		/* Registered without BGWORKER_SHMEM_ACCESS. */
		PG_TRY();
		{
			(void) dsm_create(1024, 0);
			elog(LOG, "bgw_shm_mq_test NOSHMEM error=\"none\"");
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(TopMemoryContext);
			edata = CopyErrorData();
			FlushErrorState();
			sanitize(edata->message);
			elog(LOG, "bgw_shm_mq_test NOSHMEM error=\"%s\"", edata->message);
		}
		PG_END_TRY();
		proc_exit(0);
	}

	mseg = dsm_attach(DatumGetUInt32(main_arg));
	if (mseg == NULL)
		elog(ERROR, "mailbox segment %u is gone", DatumGetUInt32(main_arg));
	mb = dsm_segment_address(mseg);
	SpinLockAcquire(&mb->mutex);
	target = mb->target;
	SpinLockRelease(&mb->mutex);

	if (strcmp(role, "pin_create") == 0)
	{
		seg = dsm_create(65536, 0);
		fill_pattern(dsm_segment_address(seg), 65536);
		dsm_pin_segment(seg);
		SpinLockAcquire(&mb->mutex);
		mb->target = dsm_segment_handle(seg);
		SpinLockRelease(&mb->mutex);
		dsm_detach(seg);
	}
	else if (strcmp(role, "pin_read") == 0)
	{
		seg = dsm_attach(target);
		if (seg != NULL)
		{
			bool		pattern_ok = dsm_segment_map_length(seg) == 65536 &&
				check_pattern(dsm_segment_address(seg), 65536);

			bool		gone_after;

			dsm_unpin_segment(target);
			dsm_detach(seg);
			gone_after = dsm_attach(target) == NULL;
			SpinLockAcquire(&mb->mutex);
			mb->attach_ok = true;
			mb->pattern_ok = pattern_ok;
			mb->gone_after = gone_after;
			SpinLockRelease(&mb->mutex);
		}
	}
	else if (strcmp(role, "hold_ref") == 0 || strcmp(role, "hold") == 0)
	{
		bool		hold = strcmp(role, "hold") == 0;
		bool		pattern_ok;

		seg = dsm_attach(target);
		pattern_ok = seg != NULL && check_pattern(dsm_segment_address(seg), 8192);
		SpinLockAcquire(&mb->mutex);
		mb->attach_ok = seg != NULL;
		mb->pattern_ok = pattern_ok;
		mb->attached = true;
		SpinLockRelease(&mb->mutex);
		notify_launcher(mb);
		for (;;)
		{
			bool		go;

			SpinLockAcquire(&mb->mutex);
			go = mb->go;
			SpinLockRelease(&mb->mutex);
			if (go && !hold)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (seg != NULL)
		{
			/* The creator has detached: our reference keeps the segment. */
			bool		after = check_pattern(dsm_segment_address(seg), 8192);
			bool		gone_after;

			dsm_detach(seg);
			gone_after = dsm_attach(target) == NULL;
			SpinLockAcquire(&mb->mutex);
			mb->pattern_ok_after = after;
			mb->gone_after = gone_after;
			SpinLockRelease(&mb->mutex);
		}
	}
	else
		elog(ERROR, "unknown role \"%s\"", role);

	dsm_detach(mseg);
	proc_exit(0);
}

static BackgroundWorkerHandle *
start_dsm_worker(const char *role, dsm_handle mailbox, bool shmem, pid_t *pid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = shmem ? BGWORKER_SHMEM_ACCESS : 0;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, MODULE_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_shm_mq_test_dsm_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, MODULE_NAME " dsm %s", role);
	snprintf(worker.bgw_type, BGW_MAXLEN, MODULE_NAME " dsm");
	worker.bgw_main_arg = UInt32GetDatum(mailbox);
	snprintf(worker.bgw_extra, 32, "%s", role);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		elog(ERROR, "could not register the %s worker", role);
	status = WaitForBackgroundWorkerStartup(handle, pid);
	if (status != BGWH_STARTED && status != BGWH_STOPPED)
		elog(ERROR, "the %s worker did not start", role);
	return handle;
}

static dsm_segment *
new_mailbox(dsm_mailbox **mbp)
{
	dsm_segment *seg = dsm_create(sizeof(dsm_mailbox), 0);
	dsm_mailbox *mb = dsm_segment_address(seg);

	memset(mb, 0, sizeof(*mb));
	SpinLockInit(&mb->mutex);
	mb->launcher_pid = MyProcPid;
	*mbp = mb;
	return seg;
}

/* Waits until the worker set mb->attached, or stopped. */
static bool
wait_attached(dsm_mailbox *mb, BackgroundWorkerHandle *handle)
{
	for (;;)
	{
		bool		attached;
		pid_t		pid;

		SpinLockAcquire(&mb->mutex);
		attached = mb->attached;
		SpinLockRelease(&mb->mutex);
		if (attached)
			return true;
		if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static void
run_pin_test(void)
{
	dsm_mailbox *mb;
	dsm_segment *mseg = new_mailbox(&mb);
	BackgroundWorkerHandle *h;
	dsm_handle	pinned;
	pid_t		pid;
	char		detail[256];

	h = start_dsm_worker("pin_create", dsm_segment_handle(mseg), true, &pid);
	(void) WaitForBackgroundWorkerShutdown(h);
	SpinLockAcquire(&mb->mutex);
	pinned = mb->target;
	SpinLockRelease(&mb->mutex);
	elog(LOG, "bgw_shm_mq_test DSM pinned handle=%u", pinned);
	report_check("pin_created", pinned != DSM_HANDLE_INVALID, "");

	h = start_dsm_worker("pin_read", dsm_segment_handle(mseg), true, &pid);
	(void) WaitForBackgroundWorkerShutdown(h);
	SpinLockAcquire(&mb->mutex);
	snprintf(detail, sizeof(detail), "attach_ok=%d pattern_ok=%d gone_after=%d",
			 mb->attach_ok, mb->pattern_ok, mb->gone_after);
	report_check("pin_survives_creator_exit", mb->attach_ok && mb->pattern_ok, detail);
	report_check("pin_gone_after_unpin_and_detach", mb->gone_after, detail);
	SpinLockRelease(&mb->mutex);
	report_check("pin_gone_for_launcher", dsm_attach(pinned) == NULL, "");
	dsm_detach(mseg);
}

static void
run_detach_test(void)
{
	dsm_mailbox *mb;
	dsm_segment *mseg = new_mailbox(&mb);
	dsm_segment *seg = dsm_create(8192, 0);
	dsm_handle	h = dsm_segment_handle(seg);
	BackgroundWorkerHandle *wh;
	pid_t		pid = 0;
	char		detail[256];
	bool		attached;

	fill_pattern(dsm_segment_address(seg), 8192);
	mb->target = h;
	wh = start_dsm_worker("hold_ref", dsm_segment_handle(mseg), true, &pid);
	attached = wait_attached(mb, wh);
	report_check("detach_worker_attached", attached, "");

	dsm_detach(seg);
	report_check("detach_unmapped_here", dsm_find_mapping(h) == NULL, "");
	SpinLockAcquire(&mb->mutex);
	mb->go = true;
	SpinLockRelease(&mb->mutex);
	if (pid > 0)
		kill(pid, SIGUSR1);
	(void) WaitForBackgroundWorkerShutdown(wh);

	SpinLockAcquire(&mb->mutex);
	snprintf(detail, sizeof(detail), "attach_ok=%d pattern_ok=%d pattern_ok_after=%d gone_after=%d",
			 mb->attach_ok, mb->pattern_ok, mb->pattern_ok_after, mb->gone_after);
	report_check("detach_shared_after_creator_detached",
				 mb->attach_ok && mb->pattern_ok && mb->pattern_ok_after, detail);
	report_check("detach_gone_after_last_detach", mb->gone_after, detail);
	SpinLockRelease(&mb->mutex);
	report_check("detach_gone_for_launcher", dsm_attach(h) == NULL, "");
	dsm_detach(mseg);
}

/* Runs fn(arg), which must raise an ERROR whose message contains `want`. */
typedef void (*error_fn) (void *arg);

static void
expect_error(const char *name, error_fn fn, void *arg, const char *want)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool raised = false;
	char		message[ERROR_TEXT_LEN] = "no error raised";

	PG_TRY();
	{
		fn(arg);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		raised = true;
		snprintf(message, sizeof(message), "%s", edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	report_check(name, raised && strstr(message, want) != NULL, message);
}

static void
e_create_zero(void *arg)
{
	(void) arg;
	(void) dsm_create(0, 0);
}

static void
e_create_huge(void *arg)
{
	(void) arg;
	(void) dsm_create(((Size) 1) << 52, 0);
}

static void
e_attach_twice(void *arg)
{
	(void) dsm_attach(*(dsm_handle *) arg);
}

static void
e_pin(void *arg)
{
	dsm_pin_segment((dsm_segment *) arg);
}

static void
e_unpin(void *arg)
{
	dsm_unpin_segment(*(dsm_handle *) arg);
}

static void
e_toc_allocate(void *arg)
{
	(void) shm_toc_allocate((shm_toc *) arg, 1 << 20);
}

static void
e_toc_lookup(void *arg)
{
	(void) shm_toc_lookup((shm_toc *) arg, 99, false);
}

static void
e_mq_too_small(void *arg)
{
	(void) shm_mq_create(arg, 16);
}

static void
e_mq_set_sender(void *arg)
{
	shm_mq_set_sender((shm_mq *) arg, MyProc);
}

static void
e_mq_set_receiver(void *arg)
{
	shm_mq_set_receiver((shm_mq *) arg, MyProc);
}

static void
e_mq_send_too_big(void *arg)
{
	(void) shm_mq_send((shm_mq_handle *) arg, MaxAllocSize + 1, "x", true, true);
}

static void
run_errors_test(void)
{
	dsm_segment *seg;
	dsm_handle	h;
	shm_toc    *toc;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	BackgroundWorkerHandle *wh;
	pid_t		pid;

	expect_error("dsm_create_zero", e_create_zero, NULL, "0 bytes");
	expect_error("dsm_create_huge", e_create_huge, NULL, "could not resize shared memory segment");
	report_check("dsm_attach_invalid_handle_is_null", dsm_attach(DSM_HANDLE_INVALID) == NULL, "");

	seg = dsm_create(65536, DSM_CREATE_NULL_IF_MAXSEGMENTS);
	report_check("dsm_create", seg != NULL && dsm_segment_map_length(seg) == 65536, "");
	h = dsm_segment_handle(seg);
	expect_error("dsm_attach_twice", e_attach_twice, &h, "more than once");
	expect_error("dsm_unpin_not_pinned", e_unpin, &h, "not pinned");
	dsm_pin_segment(seg);
	expect_error("dsm_pin_twice", e_pin, seg, "already pinned");
	dsm_unpin_segment(h);

	toc = shm_toc_create(PG_TEST_SHM_MQ_MAGIC, dsm_segment_address(seg), 65536);
	report_check("shm_toc_attach_wrong_magic",
				 shm_toc_attach(PG_TEST_SHM_MQ_MAGIC + 1, dsm_segment_address(seg)) == NULL, "");
	expect_error("shm_toc_out_of_space", e_toc_allocate, toc, "out of shared memory");
	expect_error("shm_toc_missing_key", e_toc_lookup, toc, "could not find key 99");
	mq = shm_mq_create(shm_toc_allocate(toc, 4096), 4096);
	expect_error("shm_mq_create_too_small", e_mq_too_small, shm_toc_allocate(toc, 64), "too small");
	shm_mq_set_sender(mq, MyProc);
	expect_error("shm_mq_sender_twice", e_mq_set_sender, mq, "queue already has a sender");
	shm_mq_set_receiver(mq, MyProc);
	expect_error("shm_mq_receiver_twice", e_mq_set_receiver, mq, "queue already has a receiver");
	report_check("shm_mq_get_sender", shm_mq_get_sender(mq) == MyProc, "");
	mqh = shm_mq_attach(mq, seg, NULL);
	expect_error("shm_mq_send_too_big", e_mq_send_too_big, mqh,
				 "cannot send a message of size");
	{
		/* Both sides in one process: a round trip through the ring. */
		Size		len;
		void	   *data;
		shm_mq_result r1 = shm_mq_send(mqh, 5, "hello", false, true);
		shm_mq_result r2 = shm_mq_receive(mqh, &len, &data, true);

		report_check("shm_mq_loopback",
					 r1 == SHM_MQ_SUCCESS && r2 == SHM_MQ_SUCCESS && len == 5 &&
					 memcmp(data, "hello", 5) == 0, "");
	}
	dsm_detach(seg);			/* also detaches the queue (on_dsm_detach) */
	report_check("dsm_attach_after_detach_is_null", dsm_attach(h) == NULL, "");

	wh = start_dsm_worker("noshmem", 0, false, &pid);
	(void) WaitForBackgroundWorkerShutdown(wh);
}

static void
run_hold(void)
{
	dsm_mailbox *mb;
	dsm_segment *mseg = new_mailbox(&mb);
	dsm_segment *unpinned = dsm_create(1 << 20, 0);
	dsm_segment *pinned = dsm_create(65536, 0);
	BackgroundWorkerHandle *wh;
	pid_t		pid = 0;

	fill_pattern(dsm_segment_address(unpinned), 8192);
	dsm_pin_segment(pinned);
	mb->target = dsm_segment_handle(unpinned);
	wh = start_dsm_worker("hold", dsm_segment_handle(mseg), true, &pid);
	if (!wait_attached(mb, wh))
		elog(ERROR, "the hold worker did not attach");
	elog(LOG, "bgw_shm_mq_test DSM HOLDING handles=%u,%u,%u launcher_pid=%d worker_pid=%d",
		 dsm_segment_handle(mseg), dsm_segment_handle(unpinned), dsm_segment_handle(pinned),
		 MyProcPid, (int) pid);
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* ------------------------------------------------------------------------
 * The launcher.
 */

void
bgw_shm_mq_test_launcher_main(Datum main_arg)
{
	char	   *list;
	char	   *save = NULL;
	char	   *item;
	int			ncases = 0;
	int			nfailed = 0;
	bool		hold = false;

	(void) main_arg;
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	list = pstrdup(cases_setting ? cases_setting : "");
	for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save))
	{
		while (*item == ' ')
			item++;
		if (*item == '\0')
			continue;
		ncases++;
		if (!run_case(ncases, item))
			nfailed++;
	}

	list = pstrdup(dsm_tests_setting ? dsm_tests_setting : "");
	for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save))
	{
		while (*item == ' ')
			item++;
		if (strcmp(item, "pin") == 0)
			run_pin_test();
		else if (strcmp(item, "detach") == 0)
			run_detach_test();
		else if (strcmp(item, "errors") == 0)
			run_errors_test();
		else if (strcmp(item, "hold") == 0)
			hold = true;
		else if (*item != '\0')
			report_check("unknown_dsm_test", false, item);
	}

	elog(LOG, "bgw_shm_mq_test DONE cases=%d failed=%d checks_failed=%d",
		 ncases, nfailed, checks_failed);
	if (hold)
		run_hold();
	proc_exit(0);
}

void
_PG_init(void)
{
	BackgroundWorker worker;

	/*
	 * Loaded by a backend for the SQL functions, or by a relay worker: no
	 * settings then (PGC_POSTMASTER settings may only be created while
	 * preloading; PostgreSQL makes that a FATAL error).
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable(MODULE_NAME ".cases",
							   "Message queue cases: queue_size:message_size:loops:workers[:flags],...",
							   NULL,
							   &cases_setting,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable(MODULE_NAME ".dsm_tests",
							   "Dynamic shared memory scenarios: pin, detach, errors, hold.",
							   NULL,
							   &dsm_tests_setting,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved(MODULE_NAME);

	if ((cases_setting == NULL || cases_setting[0] == '\0') &&
		(dsm_tests_setting == NULL || dsm_tests_setting[0] == '\0'))
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, MODULE_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_shm_mq_test_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, MODULE_NAME " launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, MODULE_NAME " launcher");
	RegisterBackgroundWorker(&worker);
}
