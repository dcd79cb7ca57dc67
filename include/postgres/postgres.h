/*
 * postgres.h: the first include of every module, PostgreSQL 13-15
 * compatible: basic types (c.h), Oid, Datum and its conversions, error
 * reporting (utils/elog.h) and memory allocation (utils/palloc.h).
 */
#ifndef BGW_COMPAT_POSTGRES_H
#define BGW_COMPAT_POSTGRES_H

#include "c.h"
#include "postgres_ext.h"
#include "utils/elog.h"
#include "utils/palloc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OidIsValid(objectId) ((bool) ((objectId) != InvalidOid))

/*
 * Datum: a pass-by-value word that holds any by-value type or a pointer to a
 * by-reference one.
 */
typedef uintptr_t Datum;
#define SIZEOF_DATUM 8
#define FLOAT8PASSBYVAL true

typedef struct NullableDatum
{
	Datum		value;
	bool		isnull;
} NullableDatum;

static inline bool DatumGetBool(Datum X) { return X != 0; }
static inline Datum BoolGetDatum(bool X) { return (Datum) (X ? 1 : 0); }
static inline char DatumGetChar(Datum X) { return (char) X; }
static inline Datum CharGetDatum(char X) { return (Datum) X; }
static inline int16 DatumGetInt16(Datum X) { return (int16) X; }
static inline Datum Int16GetDatum(int16 X) { return (Datum) X; }
static inline uint16 DatumGetUInt16(Datum X) { return (uint16) X; }
static inline Datum UInt16GetDatum(uint16 X) { return (Datum) X; }
static inline int32 DatumGetInt32(Datum X) { return (int32) X; }
static inline Datum Int32GetDatum(int32 X) { return (Datum) X; }
static inline uint32 DatumGetUInt32(Datum X) { return (uint32) X; }
static inline Datum UInt32GetDatum(uint32 X) { return (Datum) X; }
static inline int64 DatumGetInt64(Datum X) { return (int64) X; }
static inline Datum Int64GetDatum(int64 X) { return (Datum) X; }
static inline uint64 DatumGetUInt64(Datum X) { return (uint64) X; }
static inline Datum UInt64GetDatum(uint64 X) { return (Datum) X; }
static inline Oid DatumGetObjectId(Datum X) { return (Oid) X; }
static inline Datum ObjectIdGetDatum(Oid X) { return (Datum) X; }
static inline Pointer DatumGetPointer(Datum X) { return (Pointer) X; }
static inline Datum PointerGetDatum(const void *X) { return (Datum) X; }
static inline char *DatumGetCString(Datum X) { return (char *) DatumGetPointer(X); }
static inline Datum CStringGetDatum(const char *X) { return PointerGetDatum(X); }
static inline Name DatumGetName(Datum X) { return (Name) DatumGetPointer(X); }
static inline Datum NameGetDatum(const NameData *X) { return CStringGetDatum(NameStr(*X)); }
static inline TransactionId DatumGetTransactionId(Datum X) { return (TransactionId) X; }
static inline Datum TransactionIdGetDatum(TransactionId X) { return (Datum) X; }
/* Floats travel as their bit patterns. */
static inline float4 DatumGetFloat4(Datum X)
{
	uint32 bits = (uint32) X;
	float4 f;
	memcpy(&f, &bits, sizeof f);
	return f;
}
static inline Datum Float4GetDatum(float4 X)
{
	uint32 bits;
	memcpy(&bits, &X, sizeof bits);
	return (Datum) bits;
}
static inline float8 DatumGetFloat8(Datum X)
{
	uint64 bits = (uint64) X;
	float8 f;
	memcpy(&f, &bits, sizeof f);
	return f;
}
static inline Datum Float8GetDatum(float8 X)
{
	uint64 bits;
	memcpy(&bits, &X, sizeof bits);
	return (Datum) bits;
}
#define DatumGetTimestampTz(X) ((TimestampTz) DatumGetInt64(X))
#define TimestampTzGetDatum(X) Int64GetDatum(X)

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_POSTGRES_H */
