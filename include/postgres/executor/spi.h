/*
 * executor/spi.h: the Server Programming Interface, PostgreSQL 13-15
 * compatible subset, for background workers connected to a database.
 *
 * Inside a transaction (access/xact.h) a worker connects, runs SQL, reads
 * the rows and disconnects:
 *
 *     SPI_connect();
 *     ret = SPI_execute("SELECT v FROM t", true, 0);
 *     if (ret == SPI_OK_SELECT && SPI_processed > 0)
 *         v = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
 *                                         SPI_tuptable->tupdesc, 1, &isnull));
 *     SPI_finish();
 *
 * Semantics follow PostgreSQL's documentation:
 *   - SQL errors (syntax, constraint violations, 40001 serialization
 *     failures, ...) are raised with ereport(ERROR) carrying the SQLSTATE,
 *     message, detail and hint, so PG_TRY/PG_CATCH catches them; the
 *     transaction is then aborted (later statements fail with 25P02) until
 *     AbortCurrentTransaction(). Misuse is answered with a negative result
 *     code instead (SPI_ERROR_UNCONNECTED, SPI_ERROR_ARGUMENT,
 *     SPI_ERROR_TRANSACTION for BEGIN/COMMIT/... inside SPI).
 *   - A query string may hold several statements (SPI_execute); the result
 *     is that of the last one.
 *   - SPI_connect switches CurrentMemoryContext to a context that
 *     SPI_finish deletes: SPI_tuptable, SPI_getvalue's strings and the
 *     Datums of by-reference columns are freed by SPI_finish (copy what you
 *     keep with SPI_palloc, which allocates in the caller's context).
 *   - Plans from SPI_prepare are freed at SPI_finish unless SPI_keepplan.
 *
 * Datums of result columns (SPI_getbinval): bool, int2, int4, int8, oid,
 * float4 and float8 by value; name as a NameData pointer; bytea and text as
 * varlena; every other type (numeric, timestamptz, ...) as a text varlena of
 * its output form. Parameters: bool, int2, int4, int8, oid, float4,
 * float8, text, varchar, name, bytea; other types are an ERROR (0A000).
 *
 * Not thread-safe: one thread per process, as in PostgreSQL.
 */
#ifndef BGW_COMPAT_SPI_H
#define BGW_COMPAT_SPI_H

#include "postgres.h"
#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/palloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct SPITupleTable
{
	TupleDesc	tupdesc;		/* the row type */
	HeapTuple  *vals;			/* the rows */
	uint64		numvals;		/* number of rows in vals */
	uint64		alloced;		/* allocated length of vals */
	MemoryContext tuptabcxt;	/* where all of this lives */
} SPITupleTable;

typedef struct _SPI_plan *SPIPlanPtr;

#define SPI_ERROR_CONNECT		(-1)
#define SPI_ERROR_COPY			(-2)
#define SPI_ERROR_OPUNKNOWN		(-3)
#define SPI_ERROR_UNCONNECTED	(-4)
#define SPI_ERROR_CURSOR		(-5)	/* not used anymore */
#define SPI_ERROR_ARGUMENT		(-6)
#define SPI_ERROR_PARAM			(-7)
#define SPI_ERROR_TRANSACTION	(-8)
#define SPI_ERROR_NOATTRIBUTE	(-9)
#define SPI_ERROR_NOOUTFUNC		(-10)
#define SPI_ERROR_TYPUNKNOWN	(-11)
#define SPI_ERROR_REL_DUPLICATE (-12)
#define SPI_ERROR_REL_NOT_FOUND (-13)

#define SPI_OK_CONNECT			1
#define SPI_OK_FINISH			2
#define SPI_OK_FETCH			3
#define SPI_OK_UTILITY			4
#define SPI_OK_SELECT			5
#define SPI_OK_SELINTO			6
#define SPI_OK_INSERT			7
#define SPI_OK_DELETE			8
#define SPI_OK_UPDATE			9
#define SPI_OK_CURSOR			10
#define SPI_OK_INSERT_RETURNING 11
#define SPI_OK_DELETE_RETURNING 12
#define SPI_OK_UPDATE_RETURNING 13
#define SPI_OK_REWRITTEN		14
#define SPI_OK_REL_REGISTER		15
#define SPI_OK_REL_UNREGISTER	16
#define SPI_OK_TD_REGISTER		17
#define SPI_OK_MERGE			18

#define SPI_OPT_NONATOMIC		(1 << 0)

/* Results of the last SPI_execute*: rows processed, and the rows returned. */
extern PGDLLIMPORT uint64 SPI_processed;
extern PGDLLIMPORT SPITupleTable *SPI_tuptable;
/* Set by the functions that return NULL or a Datum on failure. */
extern PGDLLIMPORT int SPI_result;

/* SPI_OK_CONNECT; ERROR (25000) outside a transaction. */
extern int	SPI_connect(void);
extern int	SPI_connect_ext(int options);
/* SPI_OK_FINISH, or SPI_ERROR_UNCONNECTED. */
extern int	SPI_finish(void);

/*
 * Runs src. count > 0 stops after that many rows. read_only refuses
 * commands other than SELECT/VALUES/TABLE/SHOW/EXPLAIN/WITH with ERROR
 * 0A000. Returns an SPI_OK_* code, or SPI_ERROR_ARGUMENT (NULL src or
 * negative count), SPI_ERROR_UNCONNECTED, SPI_ERROR_TRANSACTION.
 */
extern int	SPI_execute(const char *src, bool read_only, long count);
extern int	SPI_exec(const char *src, long count);
/* Values[i] of type argtypes[i] is $i+1; Nulls[i] == 'n' marks NULL (Nulls may be NULL). */
extern int	SPI_execute_with_args(const char *src, int nargs, Oid *argtypes, Datum *Values,
								  const char *Nulls, bool read_only, long count);

/* NULL with SPI_result set on misuse; ERROR on SQL errors. */
extern SPIPlanPtr SPI_prepare(const char *src, int nargs, Oid *argtypes);
extern int	SPI_execute_plan(SPIPlanPtr plan, Datum *Values, const char *Nulls, bool read_only,
							 long count);
extern int	SPI_execp(SPIPlanPtr plan, Datum *Values, const char *Nulls, long count);
/* Keeps the plan past SPI_finish and the transaction; 0 or SPI_ERROR_ARGUMENT. */
extern int	SPI_keepplan(SPIPlanPtr plan);
extern int	SPI_freeplan(SPIPlanPtr plan);
extern int	SPI_getargcount(SPIPlanPtr plan);
extern Oid	SPI_getargtypeid(SPIPlanPtr plan, int argIndex);

/* Column access; fnumber is 1-based. */
extern char *SPI_getvalue(HeapTuple tuple, TupleDesc tupdesc, int fnumber);
extern Datum SPI_getbinval(HeapTuple tuple, TupleDesc tupdesc, int fnumber, bool *isnull);
extern int	SPI_fnumber(TupleDesc tupdesc, const char *fname);
extern char *SPI_fname(TupleDesc tupdesc, int fnumber);
extern char *SPI_gettype(TupleDesc tupdesc, int fnumber);
extern Oid	SPI_gettypeid(TupleDesc tupdesc, int fnumber);

extern void SPI_freetuptable(SPITupleTable *tuptable);
/* Allocation in the context that was current at SPI_connect. */
extern void *SPI_palloc(Size size);
extern void *SPI_repalloc(void *pointer, Size size);
extern void SPI_pfree(void *pointer);

/* "SPI_OK_SELECT", "SPI_ERROR_ARGUMENT", ... */
extern const char *SPI_result_code_string(int code);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_SPI_H */
