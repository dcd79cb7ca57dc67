/*
 * utils/memutils.h: creating, resetting and deleting memory contexts,
 * PostgreSQL 13-15 compatible.
 *
 * Contexts form a tree: deleting or resetting a context deletes its
 * children. Every process starts with TopMemoryContext (the root, never
 * deleted) and ErrorContext (its child, used by error reporting), and with
 * CurrentMemoryContext = TopMemoryContext. The other well-known contexts are
 * NULL until the code that owns them creates them.
 *
 * Here every context allocates each chunk separately from the C heap with a
 * small header (its context, its size, list links), so the AllocSet, Slab
 * and Generation flavours share one implementation and their size
 * parameters are accepted but only advisory. Deleting or resetting a context
 * frees every chunk it holds.
 */
#ifndef BGW_COMPAT_MEMUTILS_H
#define BGW_COMPAT_MEMUTILS_H

#include "utils/palloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest ordinary request (1 GB - 1), and the limit with MCXT_ALLOC_HUGE. */
#define MaxAllocSize ((Size)0x3fffffff)
#define AllocSizeIsValid(size) ((Size)(size) <= MaxAllocSize)
#define MaxAllocHugeSize (SIZE_MAX / 2)
#define AllocHugeSizeIsValid(size) ((Size)(size) <= MaxAllocHugeSize)

/* Standard contexts. */
extern PGDLLIMPORT MemoryContext TopMemoryContext;
extern PGDLLIMPORT MemoryContext ErrorContext;
extern PGDLLIMPORT MemoryContext PostmasterContext;
extern PGDLLIMPORT MemoryContext CacheMemoryContext;
extern PGDLLIMPORT MemoryContext MessageContext;
extern PGDLLIMPORT MemoryContext TopTransactionContext;
extern PGDLLIMPORT MemoryContext CurTransactionContext;
extern PGDLLIMPORT MemoryContext PortalContext;

/* Idempotent: the standard contexts already exist at process start. */
extern void MemoryContextInit(void);

/* Deletes the children and frees every chunk of the context itself. */
extern void MemoryContextReset(MemoryContext context);
/* Frees the context's own chunks; children are left alone. */
extern void MemoryContextResetOnly(MemoryContext context);
/* Resets every descendant (not the context itself); none is deleted. */
extern void MemoryContextResetChildren(MemoryContext context);
/* Deletes the context, its children and all their chunks. */
extern void MemoryContextDelete(MemoryContext context);
extern void MemoryContextDeleteChildren(MemoryContext context);
/* PostgreSQL <= 15 spelling of MemoryContextReset. */
#define MemoryContextResetAndDeleteChildren(ctx) MemoryContextReset(ctx)
extern void MemoryContextSetIdentifier(MemoryContext context, const char* id);
/* Moves the context under new_parent (NULL: make it a root). */
extern void MemoryContextSetParent(MemoryContext context, MemoryContext new_parent);
extern MemoryContext MemoryContextGetParent(MemoryContext context);
extern bool MemoryContextIsEmpty(MemoryContext context);
/* Bytes currently obtained from the heap, optionally with descendants. */
extern Size MemoryContextMemAllocated(MemoryContext context, bool recurse);
/* Writes a one-line-per-context summary to stderr. */
extern void MemoryContextStats(MemoryContext context);
extern void MemoryContextAllowInCriticalSection(MemoryContext context, bool allow);
/* True when `pointer` is a live chunk of `context`. */
extern bool MemoryContextContains(MemoryContext context, void* pointer);
/* True when `context` is a live memory context (NULL is not). */
extern bool MemoryContextIsValid(MemoryContext context);

/* The context a palloc'd chunk belongs to. */
extern MemoryContext GetMemoryChunkContext(void* pointer);
/* Heap space taken by a chunk, header included. */
extern Size GetMemoryChunkSpace(void* pointer);

/*
 * Context creation. `name` must be a string that outlives the context (a
 * literal, as PostgreSQL requires). parent NULL creates a root context.
 */
extern MemoryContext AllocSetContextCreateInternal(MemoryContext parent, const char* name,
                                                   Size minContextSize, Size initBlockSize,
                                                   Size maxBlockSize);
#define AllocSetContextCreate AllocSetContextCreateInternal
extern MemoryContext SlabContextCreate(MemoryContext parent, const char* name, Size blockSize,
                                       Size chunkSize);
extern MemoryContext GenerationContextCreate(MemoryContext parent, const char* name,
                                             Size minContextSize, Size initBlockSize,
                                             Size maxBlockSize);

/* Size presets of AllocSetContextCreate (PostgreSQL's values). */
#define ALLOCSET_DEFAULT_MINSIZE 0
#define ALLOCSET_DEFAULT_INITSIZE (8 * 1024)
#define ALLOCSET_DEFAULT_MAXSIZE (8 * 1024 * 1024)
#define ALLOCSET_DEFAULT_SIZES \
  ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE, ALLOCSET_DEFAULT_MAXSIZE

#define ALLOCSET_SMALL_MINSIZE 0
#define ALLOCSET_SMALL_INITSIZE (1 * 1024)
#define ALLOCSET_SMALL_MAXSIZE (8 * 1024)
#define ALLOCSET_SMALL_SIZES ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE, ALLOCSET_SMALL_MAXSIZE

#define ALLOCSET_START_SMALL_SIZES \
  ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE, ALLOCSET_DEFAULT_MAXSIZE

#define ALLOCSET_SEPARATE_THRESHOLD 8192

#define SLAB_DEFAULT_BLOCK_SIZE (8 * 1024)
#define SLAB_LARGE_BLOCK_SIZE (8 * 1024 * 1024)

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_MEMUTILS_H */
