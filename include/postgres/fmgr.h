/*
 * fmgr.h: the function-manager ABI a module is built against, PostgreSQL
 * 13-15 compatible subset: the module magic block, V1 function info, and
 * the call-info structure for SQL-callable C functions.
 *
 * PG_MODULE_MAGIC stamps a module with the ABI it was compiled for; the
 * server refuses to load a library whose block is missing or differs (a
 * module built against PostgreSQL's own headers is refused too: its layout
 * is PostgreSQL's, not ours).
 */
#ifndef BGW_COMPAT_FMGR_H
#define BGW_COMPAT_FMGR_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

/* API level the headers implement (PostgreSQL 15's) and our ABI stamp. */
#define BGW_MODULE_API_VERSION 1500
#define BGW_MODULE_ABI_MAGIC 0x42475731 /* "BGW1" */
#define FUNC_MAX_ARGS 100
#define INDEX_MAX_KEYS 32

typedef struct
{
	int			len;			/* sizeof(this struct) */
	int			version;		/* BGW_MODULE_API_VERSION */
	int			funcmaxargs;	/* FUNC_MAX_ARGS */
	int			indexmaxkeys;	/* INDEX_MAX_KEYS */
	int			namedatalen;	/* NAMEDATALEN */
	int			float8byval;	/* FLOAT8PASSBYVAL */
	int			abi_magic;		/* BGW_MODULE_ABI_MAGIC */
} Pg_magic_struct;

#define PG_MODULE_MAGIC_DATA \
{ \
	sizeof(Pg_magic_struct), \
	BGW_MODULE_API_VERSION, \
	FUNC_MAX_ARGS, \
	INDEX_MAX_KEYS, \
	NAMEDATALEN, \
	FLOAT8PASSBYVAL, \
	BGW_MODULE_ABI_MAGIC \
}

typedef const Pg_magic_struct *(*PGModuleMagicFunction) (void);
#define PG_MAGIC_FUNCTION_NAME Pg_magic_func
#define PG_MAGIC_FUNCTION_NAME_STRING "Pg_magic_func"

#define PG_MODULE_MAGIC \
extern PGDLLEXPORT const Pg_magic_struct *PG_MAGIC_FUNCTION_NAME(void); \
const Pg_magic_struct * \
PG_MAGIC_FUNCTION_NAME(void) \
{ \
	static const Pg_magic_struct Pg_magic_data = PG_MODULE_MAGIC_DATA; \
	return &Pg_magic_data; \
} \
extern int no_such_variable

/*
 * Variable-length values (text, bytea): a 4-byte header holding the total
 * size (header included) shifted left by two, then the bytes. Values this
 * server hands to functions are never compressed, toasted or short-header,
 * so the _ANY and _PP spellings are the plain ones.
 */
#ifndef VARHDRSZ
struct varlena
{
	char		vl_len_[4];
	char		vl_dat[FLEXIBLE_ARRAY_MEMBER];
};
typedef struct varlena text;
typedef struct varlena bytea;

#define VARHDRSZ ((int32) sizeof(int32))
#define VARSIZE(PTR) ((((const uint32 *) (PTR))[0] >> 2) & 0x3FFFFFFF)
#define SET_VARSIZE(PTR, len) (((uint32 *) (PTR))[0] = (((uint32) (len)) << 2))
#define VARDATA(PTR) (((struct varlena *) (PTR))->vl_dat)
#define VARSIZE_ANY(PTR) VARSIZE(PTR)
#define VARSIZE_ANY_EXHDR(PTR) (VARSIZE(PTR) - VARHDRSZ)
#define VARDATA_ANY(PTR) VARDATA(PTR)
#endif

/* Calling convention of SQL-callable C functions (version 1). */
typedef struct FunctionCallInfoBaseData *FunctionCallInfo;
typedef Datum (*PGFunction) (FunctionCallInfo fcinfo);

typedef struct FmgrInfo
{
	PGFunction	fn_addr;
	Oid			fn_oid;
	short		fn_nargs;
	bool		fn_strict;
	bool		fn_retset;
	unsigned char fn_stats;
	void	   *fn_extra;
	void	   *fn_mcxt;
	void	   *fn_expr;
} FmgrInfo;

typedef struct FunctionCallInfoBaseData
{
	FmgrInfo   *flinfo;
	void	   *context;
	void	   *resultinfo;
	Oid			fncollation;
	bool		isnull;
	short		nargs;
	NullableDatum args[FLEXIBLE_ARRAY_MEMBER];
} FunctionCallInfoBaseData;

typedef struct
{
	int			api_version;
} Pg_finfo_record;

typedef const Pg_finfo_record *(*PGFInfoFunction) (void);

#define PG_FUNCTION_INFO_V1(funcname) \
extern PGDLLEXPORT Datum funcname(PG_FUNCTION_ARGS); \
extern PGDLLEXPORT const Pg_finfo_record * CppConcat(pg_finfo_,funcname)(void); \
const Pg_finfo_record * \
CppConcat(pg_finfo_,funcname) (void) \
{ \
	static const Pg_finfo_record my_finfo = { 1 }; \
	return &my_finfo; \
} \
extern int no_such_variable

#define PG_FUNCTION_ARGS FunctionCallInfo fcinfo
#define PG_NARGS() (fcinfo->nargs)
#define PG_ARGISNULL(n) (fcinfo->args[n].isnull)
#define PG_GETARG_DATUM(n) (fcinfo->args[n].value)
#define PG_GETARG_INT32(n) DatumGetInt32(PG_GETARG_DATUM(n))
#define PG_GETARG_UINT32(n) DatumGetUInt32(PG_GETARG_DATUM(n))
#define PG_GETARG_INT16(n) DatumGetInt16(PG_GETARG_DATUM(n))
#define PG_GETARG_INT64(n) DatumGetInt64(PG_GETARG_DATUM(n))
#define PG_GETARG_BOOL(n) DatumGetBool(PG_GETARG_DATUM(n))
#define PG_GETARG_OID(n) DatumGetObjectId(PG_GETARG_DATUM(n))
#define PG_GETARG_FLOAT8(n) DatumGetFloat8(PG_GETARG_DATUM(n))
#define PG_GETARG_POINTER(n) DatumGetPointer(PG_GETARG_DATUM(n))
#define PG_GETARG_CSTRING(n) DatumGetCString(PG_GETARG_DATUM(n))
#define PG_GETARG_FLOAT4(n) DatumGetFloat4(PG_GETARG_DATUM(n))
#define PG_GETARG_VARLENA_P(n) ((struct varlena *) PG_GETARG_POINTER(n))
#define PG_GETARG_TEXT_P(n) ((text *) PG_GETARG_POINTER(n))
#define PG_GETARG_TEXT_PP(n) ((text *) PG_GETARG_POINTER(n))
#define PG_GETARG_BYTEA_P(n) ((bytea *) PG_GETARG_POINTER(n))
#define PG_GETARG_BYTEA_PP(n) ((bytea *) PG_GETARG_POINTER(n))
#define PG_RETURN_DATUM(x) return (x)
#define PG_RETURN_NULL() \
	do { fcinfo->isnull = true; return (Datum) 0; } while (0)
#define PG_RETURN_VOID() return (Datum) 0
#define PG_RETURN_INT32(x) return Int32GetDatum(x)
#define PG_RETURN_UINT32(x) return UInt32GetDatum(x)
#define PG_RETURN_INT16(x) return Int16GetDatum(x)
#define PG_RETURN_INT64(x) return Int64GetDatum(x)
#define PG_RETURN_BOOL(x) return BoolGetDatum(x)
#define PG_RETURN_OID(x) return ObjectIdGetDatum(x)
#define PG_RETURN_FLOAT8(x) return Float8GetDatum(x)
#define PG_RETURN_POINTER(x) return PointerGetDatum(x)
#define PG_RETURN_CSTRING(x) return CStringGetDatum(x)
#define PG_RETURN_FLOAT4(x) return Float4GetDatum(x)
#define PG_RETURN_TEXT_P(x) PG_RETURN_POINTER(x)
#define PG_RETURN_BYTEA_P(x) PG_RETURN_POINTER(x)

/* Called once when the library is loaded into a process. */
extern PGDLLEXPORT void _PG_init(void);

/* Loading a library and finding a function in it (the dynamic loader). */
extern void *load_external_function(const char *filename, const char *funcname,
									bool signalNotFound, void **filehandle);
extern void load_file(const char *filename, bool restricted);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_FMGR_H */
