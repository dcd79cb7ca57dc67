/*
 * Physical-limit probes for bench/run (plain C, no server involved):
 *
 *   fork_ready       fork -> child writes an eventfd -> parent's read returns
 *   fork_ready_exit  the same, then the child _exit(0)s -> waitpid returns
 *   fork_exit_wait   fork -> child _exit(0) at once -> waitpid returns
 *   futex_round_trip two processes ping-pong through futex wait/wake on a
 *                    shared word (the floor under any latch round trip)
 *   memcpy_8k        one 8 KiB memcpy between 4 MiB buffers (cache-cold-ish;
 *                    the floor under moving an 8 KiB message)
 *
 * Usage: fork_probe N. Prints one line per probe, in the server's format:
 *   RESULT metric=<name> n=<n> median_us=<x> p99_us=<y> min_us=<z>
 * CPU placement comes from the caller (taskset).
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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
	printf("RESULT metric=%s n=%d median_us=%.3f p99_us=%.3f min_us=%.3f\n", m, n,
		   s[n / 2] / 1000.0, s[(n * 99) / 100] / 1000.0, s[0] / 1000.0);
}

static void futex_wait(volatile uint32_t *w, uint32_t v)
{
	syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}

static void futex_wake(volatile uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Ping-pong: the parent stores 2i+1 and wakes, the child answers 2i+2. */
static int futex_probe(int n, int64_t *out)
{
	volatile uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
								MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	if (w == MAP_FAILED)
		return -1;
	*w = 0;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
	{
		for (uint32_t i = 0; i < (uint32_t) n; i++)
		{
			uint32_t want = 2 * i + 1;

			while (__atomic_load_n(w, __ATOMIC_ACQUIRE) != want)
				futex_wait(w, 2 * i);
			__atomic_store_n(w, want + 1, __ATOMIC_RELEASE);
			futex_wake(w);
		}
		_exit(0);
	}
	for (uint32_t i = 0; i < (uint32_t) n; i++)
	{
		int64_t t0 = now_ns();

		__atomic_store_n(w, 2 * i + 1, __ATOMIC_RELEASE);
		futex_wake(w);
		while (__atomic_load_n(w, __ATOMIC_ACQUIRE) != 2 * i + 2)
			futex_wait(w, 2 * i + 1);
		out[i] = now_ns() - t0;
	}
	waitpid(pid, NULL, 0);
	return 0;
}

static void memcpy_probe(int n, int64_t *out)
{
	size_t size = 4 << 20;
	char *a = malloc(size), *b = malloc(size);

	memset(a, 1, size);
	memset(b, 2, size);
	for (int i = 0; i < n; i++)
	{
		size_t off = ((size_t) i * 8192) % size;
		int64_t t0 = now_ns();

		/* 64 copies per sample: one copy is below the clock's resolution */
		for (int k = 0; k < 64; k++)
		{
			size_t o = (off + (size_t) k * 8192) % size;

			memcpy(b + o, a + o, 8192);
		}
		__asm__ volatile("" : : "r"(b) : "memory");
		out[i] = (now_ns() - t0) / 64;
	}
	free(a);
	free(b);
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
	{
		int fn = n * 10;
		int64_t *s = malloc(sizeof(int64_t) * fn);

		if (s == NULL || futex_probe(fn, s) != 0)
			return 1;
		report("futex_round_trip", s, fn);
		memcpy_probe(fn, s);
		report("memcpy_8k", s, fn);
		free(s);
	}
	return 0;
}
