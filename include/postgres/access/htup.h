/*
 * access/htup.h, access/htup_details.h: PostgreSQL 13-15 compatible subset:
 * a row returned by SPI (SPI_tuptable->vals[i]).
 *
 * PostgreSQL's tuple header layout is not reproduced: t_data points at this
 * server's own deformed row (one Datum and one null flag per column). Read
 * columns with SPI_getbinval / SPI_getvalue or heap_getattr, as portable
 * modules do; never through t_data.
 */
#ifndef BGW_COMPAT_HTUP_H
#define BGW_COMPAT_HTUP_H

#include "postgres.h"
#include "access/tupdesc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct HeapTupleHeaderData HeapTupleHeaderData;
typedef HeapTupleHeaderData *HeapTupleHeader;

typedef struct HeapTupleData
{
	uint32		t_len;			/* bytes allocated for t_data */
	Oid			t_tableOid;		/* 0: not tracked */
	HeapTupleHeader t_data;
} HeapTupleData;

typedef HeapTupleData *HeapTuple;

#define HeapTupleIsValid(tuple) ((tuple) != NULL)

/* Column attnum (1-based) of tup; *isnull set. ERROR for a bad attnum. */
extern Datum bgw_heap_getattr(HeapTuple tup, int attnum, TupleDesc tupleDesc, bool *isnull);
#define heap_getattr(tup, attnum, tupleDesc, isnull) \
	bgw_heap_getattr((tup), (attnum), (tupleDesc), (isnull))

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_HTUP_H */
