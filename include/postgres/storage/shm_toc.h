/*
 * storage/shm_toc.h: a table of contents for a chunk of shared memory,
 * PostgreSQL 13-15 compatible.
 *
 * The creator of a dynamic shared memory segment lays it out with a TOC:
 * shm_toc_create() at the start of the space, then shm_toc_allocate() for
 * each chunk (BUFFERALIGN'd, carved from the end of the space) and
 * shm_toc_insert() to publish it under a 64-bit key. Other processes map the
 * segment, shm_toc_attach() with the same magic number, and find the chunks
 * with shm_toc_lookup(). The TOC stores offsets, so it works wherever each
 * process maps the segment.
 *
 * Sizing: shm_toc_initialize_estimator(), then shm_toc_estimate_chunk() per
 * chunk and shm_toc_estimate_keys() for the number of keys, then
 * shm_toc_estimate() gives the segment size to create.
 *
 * Concurrency: allocation and insertion take the TOC's own lock; lookups
 * take none (an entry is complete before the entry count that exposes it is
 * published). Running out of space raises ERROR "out of shared memory".
 */
#ifndef BGW_COMPAT_SHM_TOC_H
#define BGW_COMPAT_SHM_TOC_H

#include "postgres.h"
#include "storage/shmem.h"			/* for add_size() */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct shm_toc shm_toc;

/*
 * address must be BUFFERALIGN'd (a DSM segment's address is) and nbytes at
 * least the size of an empty TOC; otherwise ERROR.
 */
extern shm_toc *shm_toc_create(uint64 magic, void *address, Size nbytes);
/* NULL if the space at address was not created with this magic number. */
extern shm_toc *shm_toc_attach(uint64 magic, void *address);
extern void *shm_toc_allocate(shm_toc *toc, Size nbytes);
extern Size shm_toc_freespace(shm_toc *toc);
/* address must lie inside the TOC's space. */
extern void shm_toc_insert(shm_toc *toc, uint64 key, void *address);
/* NULL (noError) or ERROR when the key is absent. */
extern void *shm_toc_lookup(shm_toc *toc, uint64 key, bool noError);

typedef struct
{
	Size		space_for_chunks;
	Size		number_of_keys;
} shm_toc_estimator;

#define shm_toc_initialize_estimator(e) \
	((e)->space_for_chunks = 0, (e)->number_of_keys = 0)
#define shm_toc_estimate_chunk(e, sz) \
	((e)->space_for_chunks = add_size((e)->space_for_chunks, BUFFERALIGN(sz)))
#define shm_toc_estimate_keys(e, cnt) \
	((e)->number_of_keys = add_size((e)->number_of_keys, (cnt)))

extern Size shm_toc_estimate(shm_toc_estimator *e);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_SHM_TOC_H */
