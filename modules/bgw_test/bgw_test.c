/*
 * bgw_test.c: the background worker test module.
 *
 * Written like any PostgreSQL 13-15 module (only the PostgreSQL-compatible
 * headers, PostgreSQL's names), it drives the server's background worker
 * core from the inside for tests/test_bgworker*.py:
 *
 *   - _PG_init() defines its settings (bgw_test.*) and, when preloaded,
 *     registers the static workers that bgw_test.static_workers describes;
 *   - each worker entry point behaves in one well-defined way (exits with a
 *     given code, crashes, ignores SIGTERM, sleeps and reloads, ...) and
 *     logs a distinctive line when it starts;
 *   - launcher_main registers dynamic workers and follows them through their
 *     handles, logging "bgw_test RESULT <name>=<value>" lines the tests read.
 *
 * Every line a test greps for is written here once, in one format, so a
 * change of wording breaks the tests loudly rather than silently.
 *
 * bgw_test.static_workers is a comma-separated list of
 *
 *     function[:restart[:flags[:arg[:delay_ms]]]]
 *
 * item n (1-based) becomes the worker named "bgw_test <function> <n>" of
 * type "bgw_test <function>", in library "bgw_test".
 *   restart   bgw_restart_time in seconds (-1 = BGW_NEVER_RESTART); default -1
 *   flags     letters: s = BGWORKER_SHMEM_ACCESS,
 *                      d = BGWORKER_BACKEND_DATABASE_CONNECTION,
 *                      p / c / r = start at PostmasterStart / ConsistentState
 *                                  / RecoveryFinished (the default),
 *                      n = set bgw_notify_pid (invalid for a static worker),
 *                      e = leave bgw_type empty (the server uses bgw_name),
 *                      P = bgw_library_name "postgres" (built-in entry points)
 *   arg       bgw_main_arg, a signed 64-bit integer passed by value
 *   delay_ms  for exit_code_main, segfault_main, abort_main: bgw_extra is
 *             "delay_ms=<delay_ms>"; sleep_main always gets a byte pattern
 *             in bgw_extra and checks it arrived intact.
 */
#include "postgres.h"

#include <signal.h>
#include <sys/mman.h>
#include <time.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

extern PGDLLEXPORT void _PG_init(void);

extern PGDLLEXPORT void exit_code_main(Datum main_arg);
extern PGDLLEXPORT void segfault_main(Datum main_arg);
extern PGDLLEXPORT void abort_main(Datum main_arg);
extern PGDLLEXPORT void ignore_sigterm_main(Datum main_arg);
extern PGDLLEXPORT void sleep_main(Datum main_arg);
extern PGDLLEXPORT void default_sigterm_main(Datum main_arg);
extern PGDLLEXPORT void no_shmem_main(Datum main_arg);
extern PGDLLEXPORT void busy_main(Datum main_arg);
extern PGDLLEXPORT void connect_main(Datum main_arg);
extern PGDLLEXPORT void launcher_main(Datum main_arg);

/* Settings. */
static int	bgw_test_naptime = 10000;	/* ms, sleep_main's WaitLatch timeout */
static char *bgw_test_static_workers = NULL;
static char *bgw_test_scenario = NULL;

#define BGW_TEST_LIBRARY "bgw_test"
#define MAX_SPEC_LEN 4096

/* ------------------------------------------------------------------------
 * Helpers shared by the workers.
 */

/* The byte pattern a registrant puts into bgw_extra for sleep_main. */
static void
fill_extra_pattern(char *extra)
{
	int			i;

	for (i = 0; i < BGW_EXTRALEN; i++)
		extra[i] = (char) (uint8) (i * 37 + 11);
	extra[5] = '\0';			/* binary data: a NUL must not end the copy */
	extra[BGW_EXTRALEN - 1] = (char) 0xff;
}

static bool
extra_pattern_intact(const char *extra)
{
	char		expected[BGW_EXTRALEN];

	fill_extra_pattern(expected);
	return memcmp(expected, extra, BGW_EXTRALEN) == 0;
}

/* bgw_extra as "delay_ms=N": N, or `fallback` when absent. */
static int
extra_delay_ms(int fallback)
{
	const char *extra = MyBgworkerEntry->bgw_extra;

	if (strncmp(extra, "delay_ms=", 9) == 0 && memchr(extra, '\0', BGW_EXTRALEN) != NULL)
		return atoi(extra + 9);
	return fallback;
}

/* The distinctive start line: every field of MyBgworkerEntry. */
static void
log_started(const char *function)
{
	BackgroundWorker *w = MyBgworkerEntry;

	elog(LOG,
		 "bgw_test: %s started pid=%d name=\"%s\" type=\"%s\" flags=%d start_time=%d "
		 "restart=%d library=\"%s\" function=\"%s\" arg=%lld notify=%d ppid=%d",
		 function, (int) MyProcPid, w->bgw_name, w->bgw_type, w->bgw_flags,
		 (int) w->bgw_start_time, w->bgw_restart_time, w->bgw_library_name,
		 w->bgw_function_name, (long long) (int64) w->bgw_main_arg,
		 (int) w->bgw_notify_pid, (int) getppid());
}

/*
 * Counts this process's mappings of the server's shared memory: the main
 * segment is an anonymous shared mapping ("/dev/zero (deleted)"), the
 * interlock a System V segment ("/SYSV...").
 */
static void
count_shared_mappings(int *main_segment, int *interlock)
{
	FILE	   *f = fopen("/proc/self/maps", "r");
	char		line[1024];

	*main_segment = 0;
	*interlock = 0;
	if (f == NULL)
	{
		*main_segment = -1;
		*interlock = -1;
		return;
	}
	while (fgets(line, sizeof line, f) != NULL)
	{
		if (strstr(line, "/dev/zero (deleted)") != NULL)
			(*main_segment)++;
		if (strstr(line, "/SYSV") != NULL)
			(*interlock)++;
	}
	fclose(f);
}

/* Sleeps `ms` on the latch; returns early only for postmaster death (exit). */
static void
latch_sleep_ms(long ms)
{
	struct timespec start,
				now;
	long		elapsed = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (elapsed < ms)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ms - elapsed, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
	}
}

static int64
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Counts incarnations of this worker in a file of the data directory (the
 * working directory of every server process); returns the new count.
 */
static int
bump_incarnation(void)
{
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH + 8];
	char		name[BGW_MAXLEN];
	int			count = 0;
	FILE	   *f;
	int			i;

	for (i = 0; i < BGW_MAXLEN - 1 && MyBgworkerEntry->bgw_name[i] != '\0'; i++)
	{
		char		c = MyBgworkerEntry->bgw_name[i];

		name[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			? c : '_';
	}
	name[i] = '\0';
	snprintf(path, sizeof path, "%s/bgw_test.%s.count", DataDir ? DataDir : ".", name);
	f = fopen(path, "r");
	if (f != NULL)
	{
		if (fscanf(f, "%d", &count) != 1)
			count = 0;
		fclose(f);
	}
	count++;
	/* Written aside and renamed in: a reader never sees a truncated file. */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f != NULL)
	{
		fprintf(f, "%d\n", count);
		fclose(f);
		rename(tmp, path);
	}
	return count;
}

/* ------------------------------------------------------------------------
 * Worker entry points.
 */

/* Exits with the code in bgw_main_arg after bgw_extra's delay. */
void
exit_code_main(Datum main_arg)
{
	int			code = (int) DatumGetInt64(main_arg);
	int			delay = extra_delay_ms(0);
	int			incarnation;

	BackgroundWorkerUnblockSignals();
	log_started("exit_code_main");
	incarnation = bump_incarnation();
	elog(LOG, "bgw_test: exit_code_main incarnation=%d name=\"%s\" will exit with code %d "
		 "after %d ms", incarnation, MyBgworkerEntry->bgw_name, code, delay);
	if (delay > 0)
		latch_sleep_ms(delay);
	proc_exit(code);
}

/*
 * Dies by SIGSEGV (a real invalid access) after bgw_extra's delay. The
 * default action is restored first: a sanitizer runtime's SEGV handler
 * would otherwise turn the crash into exit status 1.
 */
void
segfault_main(Datum main_arg)
{
	volatile int *guard_page;
	struct sigaction sa;

	(void) main_arg;
	BackgroundWorkerUnblockSignals();
	log_started("segfault_main");
	latch_sleep_ms(extra_delay_ms(200));
	elog(LOG, "bgw_test: segfault_main crashing now");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	/* A page without access rights: the store faults (no undefined behaviour). */
	guard_page = (volatile int *) mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((void *) guard_page == MAP_FAILED)
		raise(SIGSEGV);
	*guard_page = 42;
	elog(LOG, "bgw_test: segfault_main survived a write to a PROT_NONE page");
	proc_exit(3);
}

/* Dies by SIGABRT after bgw_extra's delay. */
void
abort_main(Datum main_arg)
{
	(void) main_arg;
	BackgroundWorkerUnblockSignals();
	log_started("abort_main");
	latch_sleep_ms(extra_delay_ms(200));
	elog(LOG, "bgw_test: abort_main aborting now");
	abort();
}

/* Ignores SIGTERM; only SIGQUIT, SIGKILL or postmaster death end it. */
void
ignore_sigterm_main(Datum main_arg)
{
	(void) main_arg;
	pqsignal(SIGTERM, SIG_IGN);
	BackgroundWorkerUnblockSignals();
	log_started("ignore_sigterm_main");
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * A well-behaved worker: die on SIGTERM, reload on SIGHUP, naps
 * bgw_test.naptime ms, notices postmaster death itself.
 */
void
sleep_main(Datum main_arg)
{
	int			main_segment,
				interlock;

	(void) main_arg;
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	log_started("sleep_main");
	elog(LOG, "bgw_test: sleep_main extra=%s name=\"%s\"",
		 extra_pattern_intact(MyBgworkerEntry->bgw_extra) ? "ok" : "mismatch",
		 MyBgworkerEntry->bgw_name);
	count_shared_mappings(&main_segment, &interlock);
	elog(LOG, "bgw_test: sleep_main maps pid=%d main_segment=%d interlock=%d",
		 (int) MyProcPid, main_segment, interlock);
	elog(LOG, "bgw_test: sleep_main naptime=%d name=\"%s\"", bgw_test_naptime,
		 MyBgworkerEntry->bgw_name);

	for (;;)
	{
		int			rc;

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
					   (long) bgw_test_naptime, PG_WAIT_EXTENSION);
		if (rc & WL_POSTMASTER_DEATH)
		{
			elog(LOG, "bgw_test: postmaster died pid=%d name=\"%s\"", (int) MyProcPid,
				 MyBgworkerEntry->bgw_name);
			proc_exit(1);
		}
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			elog(LOG, "bgw_test: sleep_main reloaded naptime=%d name=\"%s\"", bgw_test_naptime,
				 MyBgworkerEntry->bgw_name);
		}
	}
}

/* Keeps the server's default SIGTERM handling (administrator command). */
void
default_sigterm_main(Datum main_arg)
{
	(void) main_arg;
	BackgroundWorkerUnblockSignals();
	log_started("default_sigterm_main");
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Registered without BGWORKER_SHMEM_ACCESS: must see no shared segment. */
void
no_shmem_main(Datum main_arg)
{
	int			main_segment,
				interlock;

	(void) main_arg;
	BackgroundWorkerUnblockSignals();
	log_started("no_shmem_main");
	count_shared_mappings(&main_segment, &interlock);
	elog(LOG, "bgw_test: no_shmem_main maps pid=%d main_segment=%d interlock=%d",
		 (int) MyProcPid, main_segment, interlock);
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Never looks at its latch, signals or the postmaster: only the server's
 * own safety nets (SIGQUIT, SIGKILL, the postmaster-death kill) end it.
 */
void
busy_main(Datum main_arg)
{
	(void) main_arg;
	log_started("busy_main");
	for (;;)
	{
		struct timespec ts = {0, 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
}

/*
 * Asks for a database connection (no database, bootstrap superuser): a
 * FATAL unless the worker was registered with
 * BGWORKER_BACKEND_DATABASE_CONNECTION.
 */
void
connect_main(Datum main_arg)
{
	(void) main_arg;
	BackgroundWorkerUnblockSignals();
	log_started("connect_main");
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	elog(LOG, "bgw_test: connect_main connected name=\"%s\"", MyBgworkerEntry->bgw_name);
	proc_exit(0);
}

/* ------------------------------------------------------------------------
 * Registration.
 */

static void
init_worker(BackgroundWorker *w, const char *function, const char *name, int restart,
			int flags, BgWorkerStartTime start_time, Datum arg, int delay_ms)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(w->bgw_type, BGW_MAXLEN, "bgw_test %s", function);
	w->bgw_flags = flags;
	w->bgw_start_time = start_time;
	w->bgw_restart_time = restart;
	snprintf(w->bgw_library_name, BGW_MAXLEN, "%s", BGW_TEST_LIBRARY);
	snprintf(w->bgw_function_name, BGW_MAXLEN, "%s", function);
	w->bgw_main_arg = arg;
	if (strcmp(function, "sleep_main") == 0)
		fill_extra_pattern(w->bgw_extra);
	else if (delay_ms >= 0)
		snprintf(w->bgw_extra, BGW_EXTRALEN, "delay_ms=%d", delay_ms);
	w->bgw_notify_pid = 0;
}

/* Splits off the next ':' field of *cursor (NULL when exhausted). */
static char *
next_field(char **cursor)
{
	char	   *start = *cursor;
	char	   *colon;

	if (start == NULL)
		return NULL;
	colon = strchr(start, ':');
	if (colon != NULL)
	{
		*colon = '\0';
		*cursor = colon + 1;
	}
	else
		*cursor = NULL;
	return start;
}

static char *
trim(char *s)
{
	char	   *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static void
register_static_workers(const char *spec)
{
	char		buf[MAX_SPEC_LEN];
	char	   *item_save = NULL;
	char	   *item;
	int			n = 0;

	if (spec == NULL || spec[0] == '\0')
		return;
	if (strlen(spec) >= sizeof buf)
	{
		elog(WARNING, "bgw_test: bgw_test.static_workers is too long");
		return;
	}
	snprintf(buf, sizeof buf, "%s", spec);

	for (item = strtok_r(buf, ",", &item_save); item != NULL;
		 item = strtok_r(NULL, ",", &item_save))
	{
		BackgroundWorker worker;
		char	   *cursor = item;
		char	   *function = trim(next_field(&cursor));
		char	   *field;
		int			restart = BGW_NEVER_RESTART;
		int			flags = 0;
		BgWorkerStartTime start_time = BgWorkerStart_RecoveryFinished;
		bool		notify = false;
		bool		empty_type = false;
		bool		core_library = false;
		int64		arg = 0;
		int			delay_ms = -1;
		char		name[BGW_MAXLEN];
		const char *f;

		n++;
		if (function[0] == '\0')
		{
			elog(WARNING, "bgw_test: empty item %d in bgw_test.static_workers", n);
			continue;
		}
		if ((field = next_field(&cursor)) != NULL && trim(field)[0] != '\0')
			restart = (int) strtol(trim(field), NULL, 10);
		if ((field = next_field(&cursor)) != NULL)
		{
			for (f = trim(field); *f != '\0'; f++)
			{
				switch (*f)
				{
					case 's':
						flags |= BGWORKER_SHMEM_ACCESS;
						break;
					case 'd':
						flags |= BGWORKER_BACKEND_DATABASE_CONNECTION;
						break;
					case 'p':
						start_time = BgWorkerStart_PostmasterStart;
						break;
					case 'c':
						start_time = BgWorkerStart_ConsistentState;
						break;
					case 'r':
						start_time = BgWorkerStart_RecoveryFinished;
						break;
					case 'n':
						notify = true;
						break;
					case 'e':
						empty_type = true;
						break;
					case 'P':
						core_library = true;
						break;
					default:
						elog(WARNING, "bgw_test: unknown flag '%c' in item %d", *f, n);
						break;
				}
			}
		}
		if ((field = next_field(&cursor)) != NULL && trim(field)[0] != '\0')
			arg = (int64) strtoll(trim(field), NULL, 10);
		if ((field = next_field(&cursor)) != NULL && trim(field)[0] != '\0')
			delay_ms = (int) strtol(trim(field), NULL, 10);

		snprintf(name, sizeof name, "bgw_test %s %d", function, n);
		init_worker(&worker, function, name, restart, flags, start_time,
					Int64GetDatum(arg), delay_ms);
		if (notify)
			worker.bgw_notify_pid = getpid();
		if (empty_type)
			memset(worker.bgw_type, 0, BGW_MAXLEN);
		if (core_library)
			snprintf(worker.bgw_library_name, BGW_MAXLEN, "postgres");
		RegisterBackgroundWorker(&worker);
	}
}

void
_PG_init(void)
{
	DefineCustomIntVariable("bgw_test.naptime",
							"Milliseconds sleep_main waits between wake-ups.",
							NULL,
							&bgw_test_naptime,
							10000, 1, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_test.scenario",
							   "Comma-separated launcher_main scenarios, run in order.",
							   NULL,
							   &bgw_test_scenario,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("bgw_test.static_workers",
							   "Static workers to register: function:restart:flags:arg:delay_ms,...",
							   NULL,
							   &bgw_test_static_workers,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("bgw_test");

	if (!process_shared_preload_libraries_in_progress)
		return;
	register_static_workers(bgw_test_static_workers);
}

/* ------------------------------------------------------------------------
 * launcher_main: dynamic registration scenarios.
 */

static const char *
status_name(BgwHandleStatus status)
{
	switch (status)
	{
		case BGWH_STARTED:
			return "BGWH_STARTED";
		case BGWH_NOT_YET_STARTED:
			return "BGWH_NOT_YET_STARTED";
		case BGWH_STOPPED:
			return "BGWH_STOPPED";
		case BGWH_POSTMASTER_DIED:
			return "BGWH_POSTMASTER_DIED";
	}
	return "BGWH_unknown";
}

#define RESULT(...) elog(LOG, "bgw_test RESULT " __VA_ARGS__)

/* A dynamic worker of this library that notifies the launcher. */
static void
init_dynamic(BackgroundWorker *w, const char *function, const char *tag, int restart,
			 Datum arg, int delay_ms)
{
	char		name[BGW_MAXLEN];

	snprintf(name, sizeof name, "bgw_test dyn %s", tag);
	init_worker(w, function, name, restart, BGWORKER_SHMEM_ACCESS,
				BgWorkerStart_RecoveryFinished, arg, delay_ms);
	w->bgw_notify_pid = MyProcPid;
}

/* The 64-bit by-value argument the basic scenario passes (and checks). */
#define BASIC_MAIN_ARG INT64CONST(0x1122334455)

static void
scenario_basic(void)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle = NULL;
	pid_t		pid = 0;
	pid_t		pid2 = 0;
	pid_t		pid3 = 0;
	BgwHandleStatus st;

	init_dynamic(&w, "sleep_main", "basic", BGW_NEVER_RESTART, Int64GetDatum(BASIC_MAIN_ARG), -1);
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		RESULT("basic_registered=0");
		return;
	}
	RESULT("basic_registered=1");
	st = WaitForBackgroundWorkerStartup(handle, &pid);
	RESULT("basic_startup=%s basic_pid=%d", status_name(st), (int) pid);
	st = GetBackgroundWorkerPid(handle, &pid2);
	RESULT("basic_getpid=%s basic_getpid_pid=%d", status_name(st), (int) pid2);
	{
		const char *type = GetBackgroundWorkerTypeByPid(pid);

		RESULT("basic_type=\"%s\"", type ? type : "(null)");
	}
	TerminateBackgroundWorker(handle);
	st = WaitForBackgroundWorkerShutdown(handle);
	RESULT("basic_shutdown=%s", status_name(st));
	st = GetBackgroundWorkerPid(handle, &pid3);
	RESULT("basic_after=%s", status_name(st));
}

#define MAX_HANDLES 1024

static void
scenario_slots(void)
{
	static BackgroundWorkerHandle *handles[MAX_HANDLES];
	BackgroundWorker w;
	BackgroundWorkerHandle *reuse = NULL;
	BackgroundWorkerHandle *extra = NULL;
	int			registered = 0;
	int			started = 0;
	int			i;
	pid_t		pid = 0;
	pid_t		reuse_pid = 0;
	pid_t		after_pid = 0;
	BgwHandleStatus st;
	char		tag[32];

	for (;;)
	{
		snprintf(tag, sizeof tag, "slot %d", registered + 1);
		init_dynamic(&w, "sleep_main", tag, BGW_NEVER_RESTART, Int64GetDatum(registered + 1), -1);
		if (registered == MAX_HANDLES || !RegisterDynamicBackgroundWorker(&w, &handles[registered]))
			break;
		registered++;
	}
	RESULT("slots_registered=%d slots_max=%d", registered, max_worker_processes);
	for (i = 0; i < registered; i++)
	{
		st = WaitForBackgroundWorkerStartup(handles[i], &pid);
		if (st == BGWH_STARTED)
			started++;
	}
	RESULT("slots_started=%d", started);
	if (registered < 2)
		return;

	/* Free one slot: a registration succeeds again, in the freed slot. */
	TerminateBackgroundWorker(handles[0]);
	st = WaitForBackgroundWorkerShutdown(handles[0]);
	RESULT("slots_first_shutdown=%s", status_name(st));
	init_dynamic(&w, "sleep_main", "slot reuse", BGW_NEVER_RESTART, Int64GetDatum(1000), -1);
	if (!RegisterDynamicBackgroundWorker(&w, &reuse))
	{
		RESULT("slots_reuse=0");
		return;
	}
	st = WaitForBackgroundWorkerStartup(reuse, &reuse_pid);
	RESULT("slots_reuse=1 slots_reuse_startup=%s slots_reuse_pid=%d", status_name(st),
		   (int) reuse_pid);

	/* Full again. */
	init_dynamic(&w, "sleep_main", "slot overflow", BGW_NEVER_RESTART, Int64GetDatum(1001), -1);
	RESULT("slots_full_again=%d", RegisterDynamicBackgroundWorker(&w, &extra) ? 0 : 1);

	/* The old handle is stale: STOPPED, and terminating through it is a no-op. */
	pid = 0;
	st = GetBackgroundWorkerPid(handles[0], &pid);
	RESULT("slots_stale=%s", status_name(st));
	TerminateBackgroundWorker(handles[0]);

	/*
	 * Terminate a second worker through a valid handle and wait for it: the
	 * postmaster has absorbed every request made before it (including
	 * anything the stale terminate might wrongly have done) by then.
	 */
	TerminateBackgroundWorker(handles[1]);
	st = WaitForBackgroundWorkerShutdown(handles[1]);
	RESULT("slots_second_shutdown=%s", status_name(st));
	st = GetBackgroundWorkerPid(reuse, &after_pid);
	RESULT("slots_reuse_after=%s slots_reuse_after_pid=%d", status_name(st), (int) after_pid);
}

static void
scenario_fail(void)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle = NULL;
	pid_t		pid = 0;
	BgwHandleStatus st;

	init_dynamic(&w, "sleep_main", "fail", BGW_NEVER_RESTART, Int64GetDatum(0), -1);
	snprintf(w.bgw_library_name, BGW_MAXLEN, "bgw_test_no_such_library");
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		RESULT("fail_registered=0");
		return;
	}
	st = WaitForBackgroundWorkerStartup(handle, &pid);
	RESULT("fail_startup=%s fail_pid=%d", status_name(st), (int) pid);
	st = WaitForBackgroundWorkerShutdown(handle);
	RESULT("fail_shutdown=%s", status_name(st));
}

static void
scenario_restart(void)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle = NULL;
	pid_t		first = 0;
	pid_t		pid = 0;
	BgwHandleStatus st;
	int64		stopped_at = 0;
	int64		deadline;
	bool		seen_stopped = false;

	init_dynamic(&w, "exit_code_main", "restart", 1, Int64GetDatum(1), 300);
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		RESULT("restart_registered=0");
		return;
	}
	st = WaitForBackgroundWorkerStartup(handle, &first);
	RESULT("restart_startup=%s restart_pid1=%d", status_name(st), (int) first);

	/* Follow the same handle through the exit and the restart. */
	deadline = monotonic_ms() + 30000;
	for (;;)
	{
		int			rc;

		pid = 0;
		st = GetBackgroundWorkerPid(handle, &pid);
		if (st != BGWH_STARTED && !seen_stopped)
		{
			seen_stopped = true;
			stopped_at = monotonic_ms();
		}
		if (st == BGWH_STARTED && pid != first)
			break;
		if (monotonic_ms() > deadline)
			break;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH, 20L,
					   PG_WAIT_EXTENSION);
		if (rc & WL_POSTMASTER_DEATH)
			proc_exit(1);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	RESULT("restart_status=%s restart_pid2=%d restart_seen_stopped=%d restart_gap_ms=%lld",
		   status_name(st), (int) pid, seen_stopped ? 1 : 0,
		   seen_stopped ? (long long) (monotonic_ms() - stopped_at) : -1LL);
	if (st != BGWH_STARTED)
		return;

	/*
	 * The second incarnation exits (code 1) on its own: the wait returns at
	 * that first STOPPED although the worker would be restarted.
	 */
	st = WaitForBackgroundWorkerShutdown(handle);
	RESULT("restart_shutdown=%s", status_name(st));

	/* Between restarts, terminating unregisters it for good. */
	TerminateBackgroundWorker(handle);
	latch_sleep_ms(1500);
	pid = 0;
	st = GetBackgroundWorkerPid(handle, &pid);
	RESULT("restart_after_terminate=%s", status_name(st));
}

/* Registers `w`; logs the ERROR it raises (expected) or that it did not. */
static void
register_expecting_error(const char *label, BackgroundWorker *w)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	BackgroundWorkerHandle *handle = NULL;
	volatile bool raised = false;
	volatile bool registered = false;

	PG_TRY();
	{
		registered = RegisterDynamicBackgroundWorker(w, &handle);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		raised = true;
		RESULT("%s_error=\"%s\"", label, edata->message ? edata->message : "");
		FreeErrorData(edata);
	}
	PG_END_TRY();
	if (!raised)
		RESULT("%s_error=none registered=%d", label, registered ? 1 : 0);
}

static void
scenario_invalid(void)
{
	BackgroundWorker w;

	init_dynamic(&w, "sleep_main", "invalid dbconn", BGW_NEVER_RESTART, Int64GetDatum(0), -1);
	w.bgw_flags = BGWORKER_BACKEND_DATABASE_CONNECTION;
	register_expecting_error("invalid_dbconn", &w);

	init_dynamic(&w, "sleep_main", "invalid restart", -5, Int64GetDatum(0), -1);
	register_expecting_error("invalid_restart", &w);

	init_dynamic(&w, "sleep_main", "invalid parallel", 1, Int64GetDatum(0), -1);
	w.bgw_flags |= BGWORKER_CLASS_PARALLEL;
	register_expecting_error("invalid_parallel", &w);

	/* Still alive and able to register after the errors. */
	{
		BackgroundWorkerHandle *handle = NULL;
		pid_t		pid = 0;
		BgwHandleStatus st;

		init_dynamic(&w, "sleep_main", "after invalid", BGW_NEVER_RESTART, Int64GetDatum(0), -1);
		if (!RegisterDynamicBackgroundWorker(&w, &handle))
		{
			RESULT("invalid_then_valid=0");
			return;
		}
		st = WaitForBackgroundWorkerStartup(handle, &pid);
		RESULT("invalid_then_valid=1 invalid_then_valid_startup=%s", status_name(st));
		TerminateBackgroundWorker(handle);
		(void) WaitForBackgroundWorkerShutdown(handle);
	}
}

/* Registers a restartable worker and exits, leaving it behind. */
static void
scenario_orphan(void)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle = NULL;
	pid_t		pid = 0;
	BgwHandleStatus st;

	init_dynamic(&w, "sleep_main", "orphan", 1, Int64GetDatum(7), -1);
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		RESULT("orphan_registered=0");
		return;
	}
	st = WaitForBackgroundWorkerStartup(handle, &pid);
	RESULT("orphan_startup=%s orphan_pid=%d launcher_pid=%d", status_name(st), (int) pid,
		   (int) MyProcPid);
	RESULT("done=orphan");
	proc_exit(0);
}

/* Polls `handle` (no notification to wait on) until `done` or 10 s. */
static BgwHandleStatus
poll_status(BackgroundWorkerHandle *handle, BgwHandleStatus done, pid_t *pid)
{
	int64		deadline = monotonic_ms() + 10000;
	BgwHandleStatus st;

	for (;;)
	{
		int			rc;

		st = GetBackgroundWorkerPid(handle, pid);
		if (st == done || monotonic_ms() > deadline)
			return st;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH, 10L,
					   PG_WAIT_EXTENSION);
		if (rc & WL_POSTMASTER_DEATH)
			return BGWH_POSTMASTER_DIED;
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * bgw_notify_pid naming a process that is not a child of the postmaster
 * (init): the registration is accepted, the notify pid dropped.
 */
static void
scenario_badnotify(void)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle = NULL;
	pid_t		pid = 0;
	BgwHandleStatus st;

	init_dynamic(&w, "sleep_main", "badnotify", BGW_NEVER_RESTART, Int64GetDatum(0), -1);
	w.bgw_notify_pid = 1;
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		RESULT("badnotify_registered=0");
		return;
	}
	st = poll_status(handle, BGWH_STARTED, &pid);
	RESULT("badnotify_registered=1 badnotify_status=%s badnotify_pid=%d", status_name(st),
		   (int) pid);
	TerminateBackgroundWorker(handle);
	st = poll_status(handle, BGWH_STOPPED, &pid);
	RESULT("badnotify_shutdown=%s", status_name(st));
}

/*
 * BGWORKER_CLASS_PARALLEL workers count against max_parallel_workers
 * (registered minus terminated); other workers do not.
 */
static void
scenario_parallel(void)
{
	static BackgroundWorkerHandle *handles[MAX_HANDLES];
	BackgroundWorker w;
	BackgroundWorkerHandle *other = NULL;
	BackgroundWorkerHandle *again = NULL;
	int			registered = 0;
	int			i;
	pid_t		pid = 0;
	BgwHandleStatus st;
	char		tag[32];

	for (;;)
	{
		snprintf(tag, sizeof tag, "parallel %d", registered + 1);
		init_dynamic(&w, "sleep_main", tag, BGW_NEVER_RESTART, Int64GetDatum(registered + 1), -1);
		w.bgw_flags |= BGWORKER_CLASS_PARALLEL;
		if (registered == MAX_HANDLES || !RegisterDynamicBackgroundWorker(&w, &handles[registered]))
			break;
		registered++;
	}
	RESULT("parallel_registered=%d parallel_max=%d", registered, max_parallel_workers);
	for (i = 0; i < registered; i++)
		(void) WaitForBackgroundWorkerStartup(handles[i], &pid);

	init_dynamic(&w, "sleep_main", "parallel other", BGW_NEVER_RESTART, Int64GetDatum(0), -1);
	RESULT("parallel_other_registered=%d",
		   RegisterDynamicBackgroundWorker(&w, &other) ? 1 : 0);
	if (registered == 0)
		return;

	/* A terminated parallel worker gives its quota back. */
	TerminateBackgroundWorker(handles[0]);
	st = WaitForBackgroundWorkerShutdown(handles[0]);
	RESULT("parallel_first_shutdown=%s", status_name(st));
	init_dynamic(&w, "sleep_main", "parallel again", BGW_NEVER_RESTART, Int64GetDatum(0), -1);
	w.bgw_flags |= BGWORKER_CLASS_PARALLEL;
	RESULT("parallel_again_registered=%d",
		   RegisterDynamicBackgroundWorker(&w, &again) ? 1 : 0);
}

/*
 * Leaves a restartable and a BGW_NEVER_RESTART worker running and waits
 * (while the test crashes the server): after the reinitialization only the
 * restartable one may come back.
 */
static void
scenario_survivors(void)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *survivor = NULL;
	BackgroundWorkerHandle *mortal = NULL;
	pid_t		pid1 = 0;
	pid_t		pid2 = 0;
	BgwHandleStatus st1,
				st2;

	init_dynamic(&w, "sleep_main", "survivor", 60, Int64GetDatum(60), -1);
	if (!RegisterDynamicBackgroundWorker(&w, &survivor))
	{
		RESULT("survivors_registered=0");
		return;
	}
	init_dynamic(&w, "sleep_main", "mortal", BGW_NEVER_RESTART, Int64GetDatum(-1), -1);
	if (!RegisterDynamicBackgroundWorker(&w, &mortal))
	{
		RESULT("survivors_registered=1");
		return;
	}
	st1 = WaitForBackgroundWorkerStartup(survivor, &pid1);
	st2 = WaitForBackgroundWorkerStartup(mortal, &pid2);
	RESULT("survivors_started=%s,%s survivor_pid=%d mortal_pid=%d", status_name(st1),
		   status_name(st2), (int) pid1, (int) pid2);
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Waits for a worker's shutdown while the test SIGKILLs the postmaster. */
static void
scenario_pmdeath(void)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle = NULL;
	pid_t		pid = 0;
	BgwHandleStatus st;

	init_dynamic(&w, "sleep_main", "pmdeath", BGW_NEVER_RESTART, Int64GetDatum(0), -1);
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		RESULT("pmdeath_registered=0");
		return;
	}
	st = WaitForBackgroundWorkerStartup(handle, &pid);
	RESULT("pmdeath_startup=%s pmdeath_pid=%d", status_name(st), (int) pid);
	RESULT("pmdeath_waiting=1");
	st = WaitForBackgroundWorkerShutdown(handle);
	RESULT("pmdeath_shutdown=%s", status_name(st));
	proc_exit(1);
}

void
launcher_main(Datum main_arg)
{
	char		buf[MAX_SPEC_LEN];
	char	   *save = NULL;
	char	   *item;

	(void) main_arg;
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	log_started("launcher_main");

	snprintf(buf, sizeof buf, "%s", bgw_test_scenario ? bgw_test_scenario : "");
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save))
	{
		const char *name = trim(item);

		elog(LOG, "bgw_test: launcher_main running scenario \"%s\"", name);
		if (strcmp(name, "basic") == 0)
			scenario_basic();
		else if (strcmp(name, "slots") == 0)
			scenario_slots();
		else if (strcmp(name, "fail") == 0)
			scenario_fail();
		else if (strcmp(name, "restart") == 0)
			scenario_restart();
		else if (strcmp(name, "invalid") == 0)
			scenario_invalid();
		else if (strcmp(name, "orphan") == 0)
			scenario_orphan();
		else if (strcmp(name, "pmdeath") == 0)
			scenario_pmdeath();
		else if (strcmp(name, "survivors") == 0)
			scenario_survivors();
		else if (strcmp(name, "badnotify") == 0)
			scenario_badnotify();
		else if (strcmp(name, "parallel") == 0)
			scenario_parallel();
		else
			RESULT("unknown_scenario=\"%s\"", name);
		RESULT("done=%s", name);
		CHECK_FOR_INTERRUPTS();
	}
	RESULT("all_done=1");
	proc_exit(0);
}
