/*
 * c.h: basic types and macros of the PostgreSQL-compatible module API.
 *
 * Modules include "postgres.h" first, as with PostgreSQL; it includes this.
 * Type sizes and macro meanings follow PostgreSQL 13-15 on 64-bit Linux.
 */
#ifndef BGW_COMPAT_C_H
#define BGW_COMPAT_C_H

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#include "pg_config.h"

#define PGDLLIMPORT
#define PGDLLEXPORT __attribute__((visibility("default")))

#define pg_attribute_printf(f, a) __attribute__((format(printf, f, a)))
#define pg_attribute_noreturn() __attribute__((noreturn))
#define pg_attribute_unused() __attribute__((unused))
#define pg_attribute_always_inline __attribute__((always_inline)) inline
#define pg_noinline __attribute__((noinline))
#define pg_unreachable() __builtin_unreachable()
#ifdef __cplusplus
#define pg_noreturn [[noreturn]]
#else
#define pg_noreturn _Noreturn
#endif
#define likely(x) __builtin_expect((x) != 0, 1)
#define unlikely(x) __builtin_expect((x) != 0, 0)

typedef signed char int8;
typedef signed short int16;
typedef signed int int32;
typedef long int int64;
typedef unsigned char uint8;
typedef unsigned short uint16;
typedef unsigned int uint32;
typedef unsigned long int uint64;
typedef uint8 bits8;
typedef uint16 bits16;
typedef uint32 bits32;
typedef float float4;
typedef double float8;
typedef size_t Size;
typedef unsigned int Index;
typedef signed int Offset;
typedef char *Pointer;
typedef uint32 TransactionId;
typedef uint32 SubTransactionId;
typedef uint32 CommandId;
typedef int64 TimestampTz;
typedef int64 TimeOffset;

#define INT64CONST(x) (x##L)
#define UINT64CONST(x) (x##UL)
#define INT64_FORMAT "%ld"
#define UINT64_FORMAT "%lu"
#define PG_INT8_MIN (-0x7F - 1)
#define PG_INT8_MAX (0x7F)
#define PG_UINT8_MAX (0xFF)
#define PG_INT16_MIN (-0x7FFF - 1)
#define PG_INT16_MAX (0x7FFF)
#define PG_UINT16_MAX (0xFFFF)
#define PG_INT32_MIN (-0x7FFFFFFF - 1)
#define PG_INT32_MAX (0x7FFFFFFF)
#define PG_UINT32_MAX (0xFFFFFFFFU)
#define PG_INT64_MIN (-INT64CONST(0x7FFFFFFFFFFFFFFF) - 1)
#define PG_INT64_MAX INT64CONST(0x7FFFFFFFFFFFFFFF)
#define PG_UINT64_MAX UINT64CONST(0xFFFFFFFFFFFFFFFF)

#define FLEXIBLE_ARRAY_MEMBER /* empty */

/* Parameter list of a signal handler. */
#define SIGNAL_ARGS int postgres_signal_arg

#define NAMEDATALEN 64
#define MAXPGPATH 1024

typedef struct nameData
{
	char		data[NAMEDATALEN];
} NameData;
typedef NameData *Name;
#define NameStr(name) ((name).data)

#define PointerIsValid(pointer) ((const void *) (pointer) != NULL)
#define lengthof(array) (sizeof(array) / sizeof(((array)[0])))
#define Max(x, y) ((x) > (y) ? (x) : (y))
#define Min(x, y) ((x) < (y) ? (x) : (y))
#define Abs(x) ((x) >= 0 ? (x) : -(x))
#define CppAsString(identifier) #identifier
#define CppAsString2(x) CppAsString(x)
#define CppConcat(x, y) x##y

#define TYPEALIGN(ALIGNVAL, LEN) \
	(((uintptr_t) (LEN) + ((ALIGNVAL) - 1)) & ~((uintptr_t) ((ALIGNVAL) - 1)))
#define BUFFERALIGN(LEN) TYPEALIGN(64, (LEN))
#define MAXALIGN(LEN) TYPEALIGN(MAXIMUM_ALIGNOF, (LEN))
#define INTALIGN(LEN) TYPEALIGN(4, (LEN))
#define LONGALIGN(LEN) TYPEALIGN(8, (LEN))
#define CACHELINEALIGN(LEN) TYPEALIGN(64, (LEN))
#define MAXALIGN_DOWN(LEN) ((uintptr_t) (LEN) & ~((uintptr_t) (MAXIMUM_ALIGNOF - 1)))

#ifdef __cplusplus
#define StaticAssertDecl(condition, errmessage) static_assert(condition, errmessage)
#define StaticAssertStmt(condition, errmessage) static_assert(condition, errmessage)
#else
#define StaticAssertDecl(condition, errmessage) _Static_assert(condition, errmessage)
#define StaticAssertStmt(condition, errmessage) \
	do { _Static_assert(condition, errmessage); } while (0)
#endif
#define StaticAssertExpr(condition, errmessage) \
	((void) sizeof(struct { int static_assert_failure : (condition) ? 1 : -1; }))

#ifdef USE_ASSERT_CHECKING
#include <assert.h>
#define Assert(condition) assert(condition)
#else
#define Assert(condition) ((void) true)
#endif
#define AssertArg(condition) Assert(condition)
#define AssertState(condition) Assert(condition)
#define AssertPointerAlignment(ptr, bndr) ((void) true)

#define MemSet(start, val, len) memset((start), (val), (len))
#define MemSetAligned(start, val, len) memset((start), (val), (len))

#endif /* BGW_COMPAT_C_H */

/* As in PostgreSQL, c.h brings in the portability layer (pqsignal, ...). */
#include "port.h"
