/*
 * utils/palloc.h: memory allocation in memory contexts, PostgreSQL 13-15
 * compatible.
 *
 * Why memory contexts: module code allocates with palloc() and rarely
 * frees; memory is released wholesale by resetting or deleting the context
 * it was allocated in (a per-iteration context reset in a worker's main
 * loop, ErrorContext after an error). ereport(ERROR) jumps over frames
 * without running cleanup, so owning memory through a context is what
 * keeps error paths leak-free.
 *
 * Contracts:
 *   - palloc() and friends allocate in CurrentMemoryContext, never return
 *     NULL (failure raises ERROR: "out of memory", ERRCODE_OUT_OF_MEMORY),
 *     and refuse requests above MaxAllocSize (1 GB - 1) unless
 *     MCXT_ALLOC_HUGE is given ("invalid memory alloc request size").
 *   - Every chunk remembers its context: pfree() and repalloc() work on a
 *     chunk of any context, and repalloc() keeps the chunk's context.
 *   - pfree(NULL) and repalloc(NULL, n) raise ERROR (PostgreSQL crashes).
 *   - Chunks are MAXALIGN'd (16-byte aligned in fact).
 * Contexts themselves are created and destroyed with utils/memutils.h.
 */
#ifndef BGW_COMPAT_PALLOC_H
#define BGW_COMPAT_PALLOC_H

#include <stdarg.h>

#include "c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handle of a memory context. */
typedef struct MemoryContextData* MemoryContext;

/*
 * A reset callback runs once, when its context is next reset or deleted;
 * the struct is usually allocated in that very context.
 */
typedef void (*MemoryContextCallbackFunction)(void* arg);

typedef struct MemoryContextCallback {
  MemoryContextCallbackFunction func;
  void* arg;
  struct MemoryContextCallback* next;
} MemoryContextCallback;

/* Where palloc() allocates; exists from process start (TopMemoryContext). */
extern PGDLLIMPORT MemoryContext CurrentMemoryContext;

/* Flags of the *_extended allocators. */
#define MCXT_ALLOC_HUGE 0x01   /* allow requests above MaxAllocSize */
#define MCXT_ALLOC_NO_OOM 0x02 /* return NULL instead of ERROR when out of memory */
#define MCXT_ALLOC_ZERO 0x04   /* zero the chunk */

extern void* MemoryContextAlloc(MemoryContext context, Size size);
extern void* MemoryContextAllocZero(MemoryContext context, Size size);
extern void* MemoryContextAllocZeroAligned(MemoryContext context, Size size);
extern void* MemoryContextAllocExtended(MemoryContext context, Size size, int flags);
extern void* MemoryContextAllocHuge(MemoryContext context, Size size);

extern void* palloc(Size size);
extern void* palloc0(Size size);
extern void* palloc_extended(Size size, int flags);
/* Resizes a chunk in its own context; the contents are kept. */
extern void* repalloc(void* pointer, Size size);
extern void* repalloc_huge(void* pointer, Size size);
extern void pfree(void* pointer);

/* Makes `context` current; returns the previous one to switch back to. */
static inline MemoryContext MemoryContextSwitchTo(MemoryContext context) {
  MemoryContext old = CurrentMemoryContext;

  CurrentMemoryContext = context;
  return old;
}

/* Registers `cb` to run when `context` is next reset or deleted. */
extern void MemoryContextRegisterResetCallback(MemoryContext context, MemoryContextCallback* cb);

extern char* MemoryContextStrdup(MemoryContext context, const char* string);
extern char* pstrdup(const char* in);
/* Copies at most len bytes (stopping at a NUL) and terminates the copy. */
extern char* pnstrdup(const char* in, Size len);
/* pstrdup without trailing newlines. */
extern char* pchomp(const char* in);
/* sprintf into a fresh palloc'd string. */
extern char* psprintf(const char* fmt, ...) pg_attribute_printf(1, 2);
/*
 * vsnprintf into buf[len]: returns the string length when it fit, otherwise
 * the buffer size needed (> len) with buf's contents unspecified. Raises
 * ERROR when the result would exceed MaxAllocSize.
 */
extern size_t pvsnprintf(char* buf, size_t len, const char* fmt, va_list args)
    pg_attribute_printf(3, 0);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PALLOC_H */
