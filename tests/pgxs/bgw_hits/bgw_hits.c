/*
 * bgw_hits: named counters in a shared hash table, the way PostgreSQL
 * modules that keep statistics in shared memory are written (the shape of
 * pg_stat_statements' storage): memory and an LWLock requested at preload,
 * the table made in shmem_startup_hook under AddinShmemInitLock, hits
 * counted under the module's own lock.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"

PG_MODULE_MAGIC;

#define HITS_NAME_LEN 64

typedef struct HitsEntry
{
	char		name[HITS_NAME_LEN];	/* the hash key */
	int64		hits;
} HitsEntry;

typedef struct HitsShared
{
	LWLock	   *lock;			/* protects the table */
} HitsShared;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(bgw_hits_hit);
PG_FUNCTION_INFO_V1(bgw_hits_count);
PG_FUNCTION_INFO_V1(bgw_hits_entries);
PG_FUNCTION_INFO_V1(bgw_hits_reset);

static int	hits_max = 8;
static HitsShared *hits_shared = NULL;
static HTAB *hits_table = NULL;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif

static Size
hits_memsize(void)
{
	return add_size(MAXALIGN(sizeof(HitsShared)),
					hash_estimate_size(hits_max, sizeof(HitsEntry)));
}

static void
hits_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(hits_memsize());
	RequestNamedLWLockTranche("bgw_hits", 1);
}

static void
hits_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	hits_shared = ShmemInitStruct("bgw_hits", sizeof(HitsShared), &found);
	if (!found)
		hits_shared->lock = &(GetNamedLWLockTranche("bgw_hits"))->lock;
	memset(&info, 0, sizeof(info));
	info.keysize = HITS_NAME_LEN;
	info.entrysize = sizeof(HitsEntry);
	hits_table = ShmemInitHash("bgw_hits hash", hits_max, hits_max, &info,
							   HASH_ELEM | HASH_STRINGS);
	LWLockRelease(AddinShmemInitLock);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("bgw_hits.max",
							"How many names bgw_hits counts.",
							NULL,
							&hits_max,
							8, 1, 100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("bgw_hits");

#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = hits_request;
#else
	hits_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = hits_startup;
}

static void
hits_check(void)
{
	if (hits_shared == NULL || hits_table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bgw_hits must be loaded via shared_preload_libraries")));
}

/* The key as the table stores it: at most HITS_NAME_LEN - 1 bytes. */
static void
hits_key(text *name, char *key)
{
	memset(key, 0, HITS_NAME_LEN);
	text_to_cstring_buffer(name, key, HITS_NAME_LEN);
}

Datum
bgw_hits_hit(PG_FUNCTION_ARGS)
{
	char		key[HITS_NAME_LEN];
	HitsEntry  *entry;
	bool		found;
	int64		hits;

	hits_check();
	hits_key(PG_GETARG_TEXT_PP(0), key);
	LWLockAcquire(hits_shared->lock, LW_EXCLUSIVE);
	entry = (HitsEntry *) hash_search(hits_table, key, HASH_ENTER_NULL, &found);
	if (entry == NULL)
	{
		LWLockRelease(hits_shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bgw_hits: no room for \"%s\"", key),
				 errhint("Increase bgw_hits.max (now %d).", hits_max)));
	}
	if (!found)
		entry->hits = 0;
	hits = ++entry->hits;
	LWLockRelease(hits_shared->lock);
	PG_RETURN_INT64(hits);
}

Datum
bgw_hits_count(PG_FUNCTION_ARGS)
{
	char		key[HITS_NAME_LEN];
	HitsEntry  *entry;
	int64		hits = 0;

	hits_check();
	hits_key(PG_GETARG_TEXT_PP(0), key);
	LWLockAcquire(hits_shared->lock, LW_SHARED);
	entry = (HitsEntry *) hash_search(hits_table, key, HASH_FIND, NULL);
	if (entry != NULL)
		hits = entry->hits;
	LWLockRelease(hits_shared->lock);
	PG_RETURN_INT64(hits);
}

Datum
bgw_hits_entries(PG_FUNCTION_ARGS)
{
	long		n;

	hits_check();
	LWLockAcquire(hits_shared->lock, LW_SHARED);
	n = hash_get_num_entries(hits_table);
	LWLockRelease(hits_shared->lock);
	PG_RETURN_INT64(n);
}

Datum
bgw_hits_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS scan;
	HitsEntry  *entry;

	hits_check();
	LWLockAcquire(hits_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&scan, hits_table);
	while ((entry = (HitsEntry *) hash_seq_search(&scan)) != NULL)
		hash_search(hits_table, entry->name, HASH_REMOVE, NULL);
	LWLockRelease(hits_shared->lock);
	PG_RETURN_VOID();
}
