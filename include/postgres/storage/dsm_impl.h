/*
 * storage/dsm_impl.h: dynamic shared memory implementation constants,
 * PostgreSQL 13-15 compatible.
 *
 * bgw has one implementation, POSIX shared memory (shm_open + mmap
 * MAP_SHARED), which is PostgreSQL's default on Linux: a segment is a file
 * in /dev/shm named after the server's data directory and the segment's
 * handle, removed when its last reference goes away and, whatever happened
 * to the processes, by the postmaster at startup, after a crash and at
 * shutdown. The settings below are read-only here.
 */
#ifndef BGW_COMPAT_DSM_IMPL_H
#define BGW_COMPAT_DSM_IMPL_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values of dynamic_shared_memory_type. */
#define DSM_IMPL_POSIX 1
#define DSM_IMPL_SYSV 2
#define DSM_IMPL_WINDOWS 3
#define DSM_IMPL_MMAP 4

#define DEFAULT_DYNAMIC_SHARED_MEMORY_TYPE DSM_IMPL_POSIX
#define USE_DSM_POSIX

/* Where PostgreSQL keeps mmap-type segments (unused by bgw; names only). */
#define PG_DYNSHMEM_DIR "pg_dynshmem"
#define PG_DYNSHMEM_MMAP_FILE_PREFIX "mmap."

/* Always DSM_IMPL_POSIX; 0 (no preallocated segment space). */
extern PGDLLIMPORT int dynamic_shared_memory_type;
extern PGDLLIMPORT int min_dynamic_shared_memory;

/*
 * A segment's name among all processes of the server: a 32-bit value, so it
 * fits in bgw_main_arg (pass it with UInt32GetDatum / DatumGetUInt32).
 */
typedef uint32 dsm_handle;

/* The operations of PostgreSQL's dsm_impl_op (for code that names them). */
typedef enum
{
	DSM_OP_CREATE,
	DSM_OP_ATTACH,
	DSM_OP_DETACH,
	DSM_OP_DESTROY
} dsm_op;

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_DSM_IMPL_H */
