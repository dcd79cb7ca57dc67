/*
 * storage/s_lock.h: the spinlock implementation behind storage/spin.h,
 * PostgreSQL 13-15 compatible.
 *
 * A spinlock is one byte (slock_t) in shared memory: 0 = free, 1 = held.
 * S_LOCK() tries one test-and-set (a full barrier, so everything after the
 * acquisition stays after it); when the lock is busy it calls s_lock(),
 * which waits in three stages so no waiter burns a CPU for long:
 *
 *   1. spin: re-read the byte with a CPU pause instruction (pg_spin_delay)
 *      between reads, up to spins_per_delay times (adapted per process
 *      between 10 and 1000: it grows while spinning pays off);
 *   2. back off: sleep, starting at 1 ms and growing by a random 0-100%
 *      each time up to 1 s (then back to 1 ms), spinning again after each
 *      sleep;
 *   3. give up: once the lock has stayed busy for the stuck timeout, PANIC
 *      with "stuck spinlock detected at FUNC, FILE:LINE". The process
 *      aborts; the postmaster treats that as a crash and rebuilds shared
 *      memory, so a holder that died with the lock cannot hang the server.
 *
 * The stuck timeout is 120 s (PostgreSQL's NUM_DELAYS x back-off comes to
 * "about 2 minutes"). Tests may shorten it with the environment variable
 * BGW_STUCK_SPINLOCK_TIMEOUT_MS (milliseconds, > 0), read each time a
 * waiter starts sleeping; it is not a setting and not meant for production.
 *
 * S_UNLOCK() is a release store: everything before it is visible to the
 * next holder. Spinlocks are for a few instructions of work: never call
 * anything that can raise an error, sleep or take another lock while
 * holding one, and never hold one in the postmaster while children run.
 */
#ifndef BGW_COMPAT_S_LOCK_H
#define BGW_COMPAT_S_LOCK_H

#include "c.h"
#include "port/atomics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned char slock_t;

#define HAS_TEST_AND_SET

/* Returns 0 when the lock was free and is now ours, nonzero when busy. */
static inline int
tas(volatile slock_t *lock)
{
	return (int) __atomic_exchange_n(lock, (slock_t) 1, __ATOMIC_SEQ_CST);
}

#define TAS(lock) tas(lock)
/* A read before the locked instruction keeps a busy cache line shared. */
#define TAS_SPIN(lock) (*(lock) ? 1 : TAS(lock))
#define S_UNLOCK(lock) __atomic_store_n((lock), (slock_t) 0, __ATOMIC_RELEASE)
#define S_INIT_LOCK(lock) S_UNLOCK(lock)
#define S_LOCK_FREE(lock) (__atomic_load_n((lock), __ATOMIC_RELAXED) == 0)
#define SPIN_DELAY() pg_spin_delay()

#define S_LOCK(lock) \
	(TAS(lock) ? s_lock((lock), __FILE__, __LINE__, __func__) : 0)

/* Waits until the lock is ours; returns the number of sleeps it took. */
extern int	s_lock(volatile slock_t *lock, const char *file, int line, const char *func);

/*
 * Back-off state of one wait, for code that spins on something other than
 * an slock_t (PostgreSQL's perform_spin_delay protocol):
 *
 *     SpinDelayStatus delay;
 *     init_local_spin_delay(&delay);
 *     while (!condition)
 *         perform_spin_delay(&delay);
 *     finish_spin_delay(&delay);
 *
 * perform_spin_delay PANICs with "stuck spinlock" after the stuck timeout.
 */
typedef struct
{
	int			spins;
	int			delays;
	int			cur_delay;		/* microseconds; 0 until the first sleep */
	const char *file;
	int			line;
	const char *func;
	int64		start_us;		/* monotonic time of the first sleep */
	int64		timeout_us;
} SpinDelayStatus;

#define DEFAULT_SPINS_PER_DELAY 100

static inline void
init_spin_delay(SpinDelayStatus *status, const char *file, int line, const char *func)
{
	status->spins = 0;
	status->delays = 0;
	status->cur_delay = 0;
	status->file = file;
	status->line = line;
	status->func = func;
	status->start_us = 0;
	status->timeout_us = 0;
}

#define init_local_spin_delay(status) init_spin_delay(status, __FILE__, __LINE__, __func__)
extern void perform_spin_delay(SpinDelayStatus *status);
extern void finish_spin_delay(SpinDelayStatus *status);
extern void set_spins_per_delay(int shared_spins_per_delay);
extern int	update_spins_per_delay(int shared_spins_per_delay);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_S_LOCK_H */
