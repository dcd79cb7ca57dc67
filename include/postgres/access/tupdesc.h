/*
 * access/tupdesc.h: PostgreSQL 13-15 compatible subset: the description of
 * a row (SPI_tuptable->tupdesc).
 *
 * Only the fields modules read are kept: natts, and per attribute its name,
 * type OID, length, typmod and whether it is passed by value. Use
 * TupleDescAttr(desc, i) (0-based) as in PostgreSQL.
 */
#ifndef BGW_COMPAT_TUPDESC_H
#define BGW_COMPAT_TUPDESC_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct FormData_pg_attribute
{
	Oid			attrelid;		/* table the column comes from, 0 if none */
	NameData	attname;
	Oid			atttypid;
	int16		attlen;			/* 1, 2, 4, 8, or -1 for variable length */
	int16		attnum;			/* 1-based */
	int32		atttypmod;
	bool		attbyval;
	bool		attisdropped;	/* always false */
	bool		attnotnull;		/* always false: not tracked */
} FormData_pg_attribute;

typedef FormData_pg_attribute *Form_pg_attribute;

typedef struct TupleDescData
{
	int			natts;
	Oid			tdtypeid;		/* RECORDOID-like: 0 here */
	int32		tdtypmod;
	int			tdrefcount;		/* -1: not reference counted */
	FormData_pg_attribute attrs[FLEXIBLE_ARRAY_MEMBER];
} TupleDescData;

typedef struct TupleDescData *TupleDesc;

#define TupleDescAttr(tupdesc, i) (&(tupdesc)->attrs[(i)])

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_TUPDESC_H */
