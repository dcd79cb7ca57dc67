/*
 * utils/hsearch.h: hash tables ("dynahash"), PostgreSQL 13-15 compatible:
 * in local memory (hash_create) and in shared memory (ShmemInitHash in
 * storage/shmem.h), with PostgreSQL's flags, actions and sequential scans.
 *
 * Contract, as PostgreSQL's:
 *   - HASH_ELEM is required (keysize, entrysize), and one of HASH_STRINGS
 *     (NUL-terminated keys of at most keysize - 1 bytes), HASH_BLOBS
 *     (keysize raw bytes) or HASH_FUNCTION (your hash; HASH_COMPARE and
 *     HASH_KEYCOPY optional). The key is the first keysize bytes of each
 *     entry.
 *   - hash_search(HASH_ENTER) returns the entry with the key copied in and
 *     *found saying whether it was there; the rest of a new entry is the
 *     caller's to initialize. HASH_ENTER_NULL returns NULL instead of raising
 *     "out of memory"; HASH_REMOVE returns the removed entry (valid until the
 *     next insertion) or NULL.
 *   - Entries never move while they are in the table.
 *   - hash_seq_search may be followed by removing the entry just returned;
 *     a scan abandoned before its end must call hash_seq_term.
 *   - Shared tables hold at most max_size entries (their space is reserved
 *     up front: request hash_estimate_size(max_size, entrysize)); entering
 *     more raises ERROR "out of shared memory". Locking them is the caller's
 *     business, as in PostgreSQL (an LWLock, or partition locks chosen by
 *     get_hash_value).
 *   - Hash values are not PostgreSQL's (its hash_bytes); nothing here
 *     depends on them matching.
 */
#ifndef BGW_COMPAT_HSEARCH_H
#define BGW_COMPAT_HSEARCH_H

#include "postgres.h"
#include "utils/palloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32 (*HashValueFunc) (const void *key, Size keysize);
typedef int (*HashCompareFunc) (const void *key1, const void *key2, Size keysize);
typedef void *(*HashCopyFunc) (void *dest, const void *src, Size keysize);
typedef void *(*HashAllocFunc) (Size request);

typedef struct HASHELEMENT
{
	struct HASHELEMENT *link;	/* next entry in the same bucket */
	uint32		hashvalue;
} HASHELEMENT;

typedef struct HASHHDR HASHHDR;
typedef struct HTAB HTAB;

typedef struct HASHCTL
{
	long		num_partitions; /* HASH_PARTITION */
	long		ssize;			/* HASH_SEGMENT (accepted, not needed here) */
	long		dsize;			/* HASH_DIRSIZE (accepted, not needed here) */
	long		max_dsize;
	Size		keysize;		/* HASH_ELEM */
	Size		entrysize;
	HashValueFunc hash;			/* HASH_FUNCTION */
	HashCompareFunc match;		/* HASH_COMPARE */
	HashCopyFunc keycopy;		/* HASH_KEYCOPY */
	HashAllocFunc alloc;		/* HASH_ALLOC (accepted; tables allocate their own) */
	MemoryContext hcxt;			/* HASH_CONTEXT */
	HASHHDR    *hctl;			/* HASH_SHARED_MEM: set by ShmemInitHash */
} HASHCTL;

#define HASH_PARTITION 0x0001
#define HASH_SEGMENT 0x0002
#define HASH_DIRSIZE 0x0004
#define HASH_ELEM 0x0008
#define HASH_STRINGS 0x0010
#define HASH_BLOBS 0x0020
#define HASH_FUNCTION 0x0040
#define HASH_COMPARE 0x0080
#define HASH_KEYCOPY 0x0100
#define HASH_ALLOC 0x0200
#define HASH_CONTEXT 0x0400
#define HASH_SHARED_MEM 0x0800
#define HASH_ATTACH 0x1000
#define HASH_FIXED_SIZE 0x2000

#define NO_MAX_DSIZE (-1)

typedef enum
{
	HASH_FIND,
	HASH_ENTER,
	HASH_REMOVE,
	HASH_ENTER_NULL
} HASHACTION;

typedef struct
{
	HTAB	   *hashp;
	uint32		curBucket;		/* the bucket curEntry is in */
	HASHELEMENT *curEntry;		/* the next element to return, or NULL */
} HASH_SEQ_STATUS;

extern HTAB *hash_create(const char *tabname, long nelem, const HASHCTL *info, int flags);
extern void hash_destroy(HTAB *hashp);
extern void hash_stats(const char *where, HTAB *hashp);
extern void *hash_search(HTAB *hashp, const void *keyPtr, HASHACTION action, bool *foundPtr);
extern uint32 get_hash_value(HTAB *hashp, const void *keyPtr);
extern void *hash_search_with_hash_value(HTAB *hashp, const void *keyPtr, uint32 hashvalue,
										 HASHACTION action, bool *foundPtr);
extern bool hash_update_hash_key(HTAB *hashp, void *existingEntry, const void *newKeyPtr);
extern long hash_get_num_entries(HTAB *hashp);
extern void hash_seq_init(HASH_SEQ_STATUS *status, HTAB *hashp);
extern void *hash_seq_search(HASH_SEQ_STATUS *status);
extern void hash_seq_term(HASH_SEQ_STATUS *status);
extern void hash_freeze(HTAB *hashp);
/* Shared memory a table of num_entries entries takes (for RequestAddinShmemSpace). */
extern Size hash_estimate_size(long num_entries, Size entrysize);
extern long hash_select_dirsize(long num_entries);
extern Size hash_get_shared_size(HASHCTL *info, int flags);

/* The hash functions HASH_STRINGS and HASH_BLOBS use, for HASH_FUNCTION callers. */
extern uint32 string_hash(const void *key, Size keysize);
extern uint32 tag_hash(const void *key, Size keysize);
extern uint32 uint32_hash(const void *key, Size keysize);
#define oid_hash uint32_hash

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_HSEARCH_H */
