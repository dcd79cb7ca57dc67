/*
 * Physical-limit probes for bench/run (plain C, no server involved):
 *
 *   fork_ready       fork -> child writes an eventfd -> parent's read returns
 *   fork_ready_exit  the same, then the child _exit(0)s -> waitpid returns
 *   fork_exit_wait   fork -> child _exit(0) at once -> waitpid returns
 *
 * Usage: fork_probe N. Prints one line per probe, in the server's format:
 *   RESULT metric=<name> n=<n> median_us=<x> p99_us=<y> min_us=<z>
 * CPU placement comes from the caller (taskset).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

static void report(const char *m, int64_t *s, int n)
{
	qsort(s, n, sizeof(*s), cmp);
	printf("RESULT metric=%s n=%d median_us=%.1f p99_us=%.1f min_us=%.1f\n", m, n,
		   s[n / 2] / 1000.0, s[(n * 99) / 100] / 1000.0, s[0] / 1000.0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int64_t *ready = malloc(sizeof(int64_t) * n);
	int64_t *ready_exit = malloc(sizeof(int64_t) * n);
	int64_t *exit_wait = malloc(sizeof(int64_t) * n);
	int efd = eventfd(0, EFD_CLOEXEC);

	if (n < 1 || !ready || !ready_exit || !exit_wait || efd < 0)
		return 1;
	for (int i = 0; i < n; i++)
	{
		uint64_t v = 1;
		int64_t t0 = now_ns();
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
		{
			if (write(efd, &v, sizeof(v)) != sizeof(v))
				_exit(1);
			_exit(0);
		}
		if (read(efd, &v, sizeof(v)) != sizeof(v))
			return 1;
		ready[i] = now_ns() - t0;
		waitpid(pid, NULL, 0);
		ready_exit[i] = now_ns() - t0;
	}
	for (int i = 0; i < n; i++)
	{
		int64_t t0 = now_ns();
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
		exit_wait[i] = now_ns() - t0;
	}
	report("fork_ready", ready, n);
	report("fork_ready_exit", ready_exit, n);
	report("fork_exit_wait", exit_wait, n);
	return 0;
}
