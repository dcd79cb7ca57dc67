/*
 * storage/lwlock.h: lightweight locks, PostgreSQL 13-15 compatible.
 *
 * An LWLock is a shared/exclusive lock living in shared memory (an LWLock
 * struct is trivially copyable and position independent: a 32-bit atomic
 * state word and a list of waiting processes linked by slot number).
 *
 *     LWLockAcquire(lock, LW_EXCLUSIVE);     or LW_SHARED
 *     ... touch the shared data ...
 *     LWLockRelease(lock);
 *
 * Contract (PostgreSQL's):
 *   - LWLockAcquire waits until the lock is granted. It returns true if it
 *     got the lock without sleeping, false if it had to wait. Interrupts
 *     (CHECK_FOR_INTERRUPTS) are held off while any LWLock is held.
 *   - A waiter first spins briefly, then sleeps on its process's semaphore
 *     (a futex word in its process slot, not its latch) until a releaser
 *     hands the lock over; wake-ups are never lost. While it sleeps, its
 *     wait event is PG_WAIT_LWLOCK | tranche id (pg_stat_activity shows the
 *     tranche name from GetLWLockIdentifier()).
 *   - LWLockConditionalAcquire never waits: false if the lock is busy.
 *   - LWLockAcquireOrWait(lock, mode): takes the lock if free and returns
 *     true; otherwise waits until it is released and returns false WITHOUT
 *     taking it.
 *   - A process holds at most MAX_SIMUL_LWLOCKS (200) locks at once; one
 *     more raises ERROR "too many LWLocks taken". Releasing a lock not held
 *     raises ERROR.
 *   - Unlike PostgreSQL (which hangs), acquiring a lock this process already
 *     holds in a conflicting mode raises ERROR instead of self-deadlocking.
 *     Taking a shared lock twice is allowed (two releases needed).
 *   - Locks are released by LWLockReleaseAll() on error recovery and always
 *     when the process exits through proc_exit() (exit 0 or 1, FATAL,
 *     uncaught ERROR). A process that dies any other way (signal, abort,
 *     exit code >= 2) is a crash: the postmaster stops every process and
 *     rebuilds shared memory, locks included, so nobody waits forever.
 *   - A process without shared memory access (a background worker
 *     registered without BGWORKER_SHMEM_ACCESS) gets ERROR "shared memory
 *     is not available in this process" from every acquire function.
 *
 * Tranches name groups of locks for wait events. A module either
 *   (a) asks for named locks while it is preloaded:
 *       RequestNamedLWLockTranche("my_module", n) in _PG_init (PostgreSQL
 *       13/14) or in its shmem_request_hook (PostgreSQL 15), then
 *       GetNamedLWLockTranche("my_module") returns the n LWLockPadded's in
 *       any process after startup; or
 *   (b) embeds LWLocks in its own struct: id = LWLockNewTrancheId() once (in
 *       shmem_startup_hook, stored in the struct), LWLockInitialize(&lock,
 *       id), and LWLockRegisterTranche(id, "my_module") in every process
 *       that wants the name shown (the registration is process-local).
 *
 * AddinShmemInitLock is a server lock that modules take exclusively around
 * ShmemInitStruct() in their shmem_startup_hook.
 */
#ifndef BGW_COMPAT_LWLOCK_H
#define BGW_COMPAT_LWLOCK_H

#include "c.h"
#include "port/atomics.h"
#include "storage/proclist_types.h"
#include "storage/s_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

struct PGPROC;

/*
 * The lock. state: exclusive bit, shared-holder count, has-waiters,
 * release-ok and wait-list-locked flags (see src/ipc/lwlock.cc); waiters:
 * the sleeping processes, guarded by the wait-list-locked flag.
 */
typedef struct LWLock
{
	uint16		tranche;		/* tranche ID */
	pg_atomic_uint32 state;		/* state of exclusive/nonexclusive lockers */
	proclist_head waiters;		/* list of waiting processes */
} LWLock;

/* Arrays of locks are padded to a cache line pair, as in PostgreSQL. */
#define LWLOCK_PADDED_SIZE 128
#define LWLOCK_MINIMAL_SIZE (sizeof(LWLock) <= 32 ? 32 : 64)

typedef union LWLockPadded
{
	LWLock		lock;
	char		pad[LWLOCK_PADDED_SIZE];
} LWLockPadded;

typedef union LWLockMinimallyPadded
{
	LWLock		lock;
	char		pad[LWLOCK_MINIMAL_SIZE];
} LWLockMinimallyPadded;

/* The server's locks, then every named tranche's (set up by the server). */
extern PGDLLIMPORT LWLockPadded *MainLWLockArray;

/* Individual server locks (slot 0 is unused, as in PostgreSQL). */
#define AddinShmemInitLock (&MainLWLockArray[1].lock)
#define DynamicSharedMemoryControlLock (&MainLWLockArray[2].lock)
#define NUM_INDIVIDUAL_LWLOCKS 3
#define NUM_FIXED_LWLOCKS NUM_INDIVIDUAL_LWLOCKS

/* Tranche ids below this are the server's; LWLockNewTrancheId starts here. */
typedef enum BuiltinTrancheIds
{
	LWTRANCHE_FIRST_USER_DEFINED = 64
} BuiltinTrancheIds;

typedef enum LWLockMode
{
	LW_EXCLUSIVE,
	LW_SHARED,
	LW_WAIT_UNTIL_FREE			/* only for internal waits (LWLockAcquireOrWait) */
} LWLockMode;

#define MAX_SIMUL_LWLOCKS 200

extern bool LWLockAcquire(LWLock *lock, LWLockMode mode);
extern bool LWLockConditionalAcquire(LWLock *lock, LWLockMode mode);
extern bool LWLockAcquireOrWait(LWLock *lock, LWLockMode mode);
extern void LWLockRelease(LWLock *lock);
extern void LWLockReleaseAll(void);
extern bool LWLockHeldByMe(LWLock *lock);
extern bool LWLockHeldByMeInMode(LWLock *lock, LWLockMode mode);

extern void LWLockInitialize(LWLock *lock, int tranche_id);
extern int	LWLockNewTrancheId(void);
extern void LWLockRegisterTranche(int tranche_id, const char *tranche_name);
/* The tranche name of wait event PG_WAIT_LWLOCK | eventId ("extension" if unknown). */
extern const char *GetLWLockIdentifier(uint32 classId, uint16 eventId);

/* Only while preloading (_PG_init) or in shmem_request_hook. */
extern void RequestNamedLWLockTranche(const char *tranche_name, int num_lwlocks);
/* ERROR if no such tranche was requested. */
extern LWLockPadded *GetNamedLWLockTranche(const char *tranche_name);

/*
 * PostgreSQL 15 declares these in miscadmin.h; they are repeated here (and
 * in storage/shmem.h) so PostgreSQL 15 modules find them with the headers
 * they already include.
 */
#ifndef BGW_SHMEM_REQUEST_HOOK_DECLARED
#define BGW_SHMEM_REQUEST_HOOK_DECLARED
typedef void (*shmem_request_hook_type) (void);
extern PGDLLIMPORT shmem_request_hook_type shmem_request_hook;
extern PGDLLIMPORT bool process_shmem_requests_in_progress;
#endif

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_LWLOCK_H */
