/*
 * port/atomics.h: atomic operations and memory barriers, PostgreSQL 13-15
 * compatible.
 *
 * Everything is a static inline function over the compiler's __atomic
 * builtins, so the header works unchanged from C99, C11 and C++ and needs no
 * library support. The types are plain structs holding one volatile integer:
 * trivially copyable, position independent, safe to embed in any shared
 * memory struct (main segment, DSM).
 *
 * Barrier semantics, as PostgreSQL documents them (src/backend/storage/lmgr/
 * README.barrier and port/atomics.h):
 *   - pg_atomic_init_*, pg_atomic_read_*, pg_atomic_write_*,
 *     pg_atomic_unlocked_write_*: no barrier at all. The read and write are
 *     single, untorn accesses (a 64-bit value is never seen half-written),
 *     but they order nothing around them.
 *   - pg_atomic_exchange_*, pg_atomic_compare_exchange_*, and every
 *     pg_atomic_fetch_* / *_fetch operation: full memory barrier (nothing
 *     before or after moves across them, loads or stores).
 *   - pg_atomic_test_set_flag: acquire (here: full) barrier when it
 *     succeeds; pg_atomic_clear_flag: release barrier.
 *   - pg_memory_barrier(): full fence. pg_read_barrier(): loads before it
 *     are ordered before loads after it. pg_write_barrier(): stores before
 *     it are ordered before stores after it. pg_compiler_barrier(): stops
 *     only the compiler from reordering.
 *
 * pg_atomic_compare_exchange_*(ptr, &expected, newval): if *ptr equals
 * expected, stores newval and returns true; otherwise returns false and
 * writes the current value into expected. It never fails spuriously.
 */
#ifndef BGW_COMPAT_PORT_ATOMICS_H
#define BGW_COMPAT_PORT_ATOMICS_H

#include "c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- barriers ---------------------------------------------------------- */

#define pg_compiler_barrier() __asm__ __volatile__("" ::: "memory")
#define pg_memory_barrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define pg_read_barrier() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define pg_write_barrier() __atomic_thread_fence(__ATOMIC_RELEASE)

/* One iteration of a busy-wait loop: tells the CPU we are spinning. */
static inline void
pg_spin_delay(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__(" rep; nop \n");
#elif defined(__aarch64__)
	__asm__ __volatile__(" isb \n");
#else
	pg_compiler_barrier();
#endif
}

/* ---- types -------------------------------------------------------------- */

typedef struct pg_atomic_flag
{
	volatile char value;
} pg_atomic_flag;

typedef struct pg_atomic_uint32
{
	volatile uint32 value;
} pg_atomic_uint32;

typedef struct pg_atomic_uint64
{
	volatile uint64 value __attribute__((aligned(8)));
} pg_atomic_uint64;

#define PG_HAVE_ATOMIC_U32_SUPPORT
#define PG_HAVE_ATOMIC_U64_SUPPORT
#define PG_HAVE_8BYTE_SINGLE_COPY_ATOMICITY

/* ---- flag --------------------------------------------------------------- */

static inline void
pg_atomic_init_flag(volatile pg_atomic_flag *ptr)
{
	__atomic_store_n(&ptr->value, 0, __ATOMIC_RELAXED);
}

/* True if the flag was clear and is now set by us. */
static inline bool
pg_atomic_test_set_flag(volatile pg_atomic_flag *ptr)
{
	return __atomic_exchange_n(&ptr->value, 1, __ATOMIC_SEQ_CST) == 0;
}

/* True if the flag is currently clear (no barrier). */
static inline bool
pg_atomic_unlocked_test_flag(volatile pg_atomic_flag *ptr)
{
	return __atomic_load_n(&ptr->value, __ATOMIC_RELAXED) == 0;
}

static inline void
pg_atomic_clear_flag(volatile pg_atomic_flag *ptr)
{
	__atomic_store_n(&ptr->value, 0, __ATOMIC_RELEASE);
}

/* ---- 32 bit ------------------------------------------------------------- */

static inline void
pg_atomic_init_u32(volatile pg_atomic_uint32 *ptr, uint32 val)
{
	__atomic_store_n(&ptr->value, val, __ATOMIC_RELAXED);
}

static inline uint32
pg_atomic_read_u32(volatile pg_atomic_uint32 *ptr)
{
	return __atomic_load_n(&ptr->value, __ATOMIC_RELAXED);
}

static inline void
pg_atomic_write_u32(volatile pg_atomic_uint32 *ptr, uint32 val)
{
	__atomic_store_n(&ptr->value, val, __ATOMIC_RELAXED);
}

/* A plain store; only for values no other process can be changing. */
static inline void
pg_atomic_unlocked_write_u32(volatile pg_atomic_uint32 *ptr, uint32 val)
{
	ptr->value = val;
}

static inline uint32
pg_atomic_exchange_u32(volatile pg_atomic_uint32 *ptr, uint32 newval)
{
	return __atomic_exchange_n(&ptr->value, newval, __ATOMIC_SEQ_CST);
}

static inline bool
pg_atomic_compare_exchange_u32(volatile pg_atomic_uint32 *ptr, uint32 *expected, uint32 newval)
{
	return __atomic_compare_exchange_n(&ptr->value, expected, newval, false,
									   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline uint32
pg_atomic_fetch_add_u32(volatile pg_atomic_uint32 *ptr, int32 add_)
{
	return __atomic_fetch_add(&ptr->value, (uint32) add_, __ATOMIC_SEQ_CST);
}

static inline uint32
pg_atomic_fetch_sub_u32(volatile pg_atomic_uint32 *ptr, int32 sub_)
{
	return __atomic_fetch_sub(&ptr->value, (uint32) sub_, __ATOMIC_SEQ_CST);
}

static inline uint32
pg_atomic_fetch_and_u32(volatile pg_atomic_uint32 *ptr, uint32 and_)
{
	return __atomic_fetch_and(&ptr->value, and_, __ATOMIC_SEQ_CST);
}

static inline uint32
pg_atomic_fetch_or_u32(volatile pg_atomic_uint32 *ptr, uint32 or_)
{
	return __atomic_fetch_or(&ptr->value, or_, __ATOMIC_SEQ_CST);
}

static inline uint32
pg_atomic_add_fetch_u32(volatile pg_atomic_uint32 *ptr, int32 add_)
{
	return __atomic_add_fetch(&ptr->value, (uint32) add_, __ATOMIC_SEQ_CST);
}

static inline uint32
pg_atomic_sub_fetch_u32(volatile pg_atomic_uint32 *ptr, int32 sub_)
{
	return __atomic_sub_fetch(&ptr->value, (uint32) sub_, __ATOMIC_SEQ_CST);
}

/* ---- 64 bit ------------------------------------------------------------- */

static inline void
pg_atomic_init_u64(volatile pg_atomic_uint64 *ptr, uint64 val)
{
	__atomic_store_n(&ptr->value, val, __ATOMIC_RELAXED);
}

static inline uint64
pg_atomic_read_u64(volatile pg_atomic_uint64 *ptr)
{
	return __atomic_load_n(&ptr->value, __ATOMIC_RELAXED);
}

static inline void
pg_atomic_write_u64(volatile pg_atomic_uint64 *ptr, uint64 val)
{
	__atomic_store_n(&ptr->value, val, __ATOMIC_RELAXED);
}

static inline void
pg_atomic_unlocked_write_u64(volatile pg_atomic_uint64 *ptr, uint64 val)
{
	ptr->value = val;
}

static inline uint64
pg_atomic_exchange_u64(volatile pg_atomic_uint64 *ptr, uint64 newval)
{
	return __atomic_exchange_n(&ptr->value, newval, __ATOMIC_SEQ_CST);
}

static inline bool
pg_atomic_compare_exchange_u64(volatile pg_atomic_uint64 *ptr, uint64 *expected, uint64 newval)
{
	return __atomic_compare_exchange_n(&ptr->value, expected, newval, false,
									   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline uint64
pg_atomic_fetch_add_u64(volatile pg_atomic_uint64 *ptr, int64 add_)
{
	return __atomic_fetch_add(&ptr->value, (uint64) add_, __ATOMIC_SEQ_CST);
}

static inline uint64
pg_atomic_fetch_sub_u64(volatile pg_atomic_uint64 *ptr, int64 sub_)
{
	return __atomic_fetch_sub(&ptr->value, (uint64) sub_, __ATOMIC_SEQ_CST);
}

static inline uint64
pg_atomic_fetch_and_u64(volatile pg_atomic_uint64 *ptr, uint64 and_)
{
	return __atomic_fetch_and(&ptr->value, and_, __ATOMIC_SEQ_CST);
}

static inline uint64
pg_atomic_fetch_or_u64(volatile pg_atomic_uint64 *ptr, uint64 or_)
{
	return __atomic_fetch_or(&ptr->value, or_, __ATOMIC_SEQ_CST);
}

static inline uint64
pg_atomic_add_fetch_u64(volatile pg_atomic_uint64 *ptr, int64 add_)
{
	return __atomic_add_fetch(&ptr->value, (uint64) add_, __ATOMIC_SEQ_CST);
}

static inline uint64
pg_atomic_sub_fetch_u64(volatile pg_atomic_uint64 *ptr, int64 sub_)
{
	return __atomic_sub_fetch(&ptr->value, (uint64) sub_, __ATOMIC_SEQ_CST);
}

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PORT_ATOMICS_H */
