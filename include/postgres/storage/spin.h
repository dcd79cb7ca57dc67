/*
 * storage/spin.h: spinlocks, PostgreSQL 13-15 compatible.
 *
 *     slock_t mutex;               (in a shared memory struct)
 *     SpinLockInit(&s->mutex);     once, before anyone else can see it
 *     SpinLockAcquire(&s->mutex);  full barrier; waits (spin, then sleep)
 *     ... a few instructions ...
 *     SpinLockRelease(&s->mutex);  release barrier
 *     SpinLockFree(&s->mutex)      true if nobody holds it (a snapshot)
 *
 * Both SpinLockAcquire and SpinLockRelease are compiler barriers too, so
 * fields protected by the lock need no volatile qualifier to be re-read.
 * A lock that stays busy for the stuck timeout ends the waiter with PANIC
 * "stuck spinlock detected at ..." (see storage/s_lock.h, which also
 * documents the BGW_STUCK_SPINLOCK_TIMEOUT_MS override for tests).
 *
 * Nothing is released on error: never raise an error, wait, or take an
 * LWLock while holding a spinlock.
 */
#ifndef BGW_COMPAT_SPIN_H
#define BGW_COMPAT_SPIN_H

#include "storage/s_lock.h"

#define SpinLockInit(lock) S_INIT_LOCK(lock)
#define SpinLockAcquire(lock) S_LOCK(lock)
#define SpinLockRelease(lock) S_UNLOCK(lock)
#define SpinLockFree(lock) S_LOCK_FREE(lock)

#endif /* BGW_COMPAT_SPIN_H */
