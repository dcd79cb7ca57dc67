/*
 * storage/shmem.h: shared memory for modules, PostgreSQL 13-15 compatible.
 *
 * The life of a module's shared struct:
 *
 *   1. Reserve: while the library is preloaded (shared_preload_libraries),
 *      call RequestAddinShmemSpace(size) -- from _PG_init (PostgreSQL
 *      13/14 style) or from a shmem_request_hook (PostgreSQL 15 style; the
 *      postmaster calls the hook once, after every library's _PG_init).
 *      Anywhere else the request is refused: ERROR "cannot request
 *      additional shared memory outside shmem_request_hook" in a server
 *      child, a LOG line (and no effect) in the postmaster.
 *   2. Create: in shmem_startup_hook (storage/ipc.h), under
 *      AddinShmemInitLock (storage/lwlock.h) taken exclusively,
 *      ShmemInitStruct(name, size, &found): found = false the first time,
 *      with zeroed memory to initialize. The hook runs in the postmaster
 *      when shared memory is created, and again after every crash
 *      reinitialization (a brand-new segment: found is false again).
 *   3. Attach: any process with shared memory access calls
 *      ShmemInitStruct(name, size, &found) again and gets the same memory
 *      with found = true.
 *
 * Accounting: modules draw from their own budget, the sum of their
 * RequestAddinShmemSpace() calls, kept apart from the server's own space.
 * ShmemInitStruct and ShmemAlloc charge exactly the bytes asked for
 * (alignment padding is not charged); asking for more than what is left
 * raises ERROR "out of shared memory" naming the struct, the size and the
 * calling library, with a hint to request the space -- it never takes
 * memory reserved for the server or overlaps another struct. Module struct
 * names live in their own index (at most 127 bytes, 256 structs).
 *
 * Errors (all ERROR, so PG_TRY can catch them):
 *   - no shared memory in this process (a background worker registered
 *     without BGWORKER_SHMEM_ACCESS): "shared memory is not available in
 *     this process", with a hint about BGWORKER_SHMEM_ACCESS;
 *   - size 0, or an existing struct of another size;
 *   - add_size/mul_size overflow: "requested shared memory size overflows
 *     size_t".
 */
#ifndef BGW_COMPAT_SHMEM_H
#define BGW_COMPAT_SHMEM_H

#include "c.h"
#include "storage/spin.h"
#include "utils/hsearch.h"

#ifdef __cplusplus
extern "C" {
#endif

extern void *ShmemInitStruct(const char *name, Size size, bool *foundPtr);
/* Anonymous allocation from the module budget; ERROR when it is exhausted. */
extern void *ShmemAlloc(Size size);
/* The same, but NULL instead of ERROR when the budget is exhausted. */
extern void *ShmemAllocNoError(Size size);
/*
 * A hash table (utils/hsearch.h) in module shared memory, made like
 * ShmemInitStruct: the first call (in shmem_startup_hook, under
 * AddinShmemInitLock) creates it, later ones attach. It holds at most
 * max_size entries, all reserved up front: request
 * hash_estimate_size(max_size, entrysize). init_size is accepted and unused.
 */
extern HTAB *ShmemInitHash(const char *name, long init_size, long max_size, HASHCTL *infoP,
						   int hash_flags);
/* True if addr points into the main shared memory segment. */
extern bool ShmemAddrIsValid(const void *addr);

extern Size add_size(Size s1, Size s2);
extern Size mul_size(Size s1, Size s2);

extern void RequestAddinShmemSpace(Size size);

/* Max length of a ShmemInitStruct name, NUL included. */
#define SHMEM_INDEX_KEYSIZE (128)

/* PostgreSQL 15 declares these in miscadmin.h (see storage/lwlock.h). */
#ifndef BGW_SHMEM_REQUEST_HOOK_DECLARED
#define BGW_SHMEM_REQUEST_HOOK_DECLARED
typedef void (*shmem_request_hook_type) (void);
extern PGDLLIMPORT shmem_request_hook_type shmem_request_hook;
extern PGDLLIMPORT bool process_shmem_requests_in_progress;
#endif

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_SHMEM_H */
