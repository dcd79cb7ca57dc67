/*
 * bad_magic.c: a module whose magic block is wrong on purpose.
 *
 * It defines Pg_magic_func by hand (instead of PG_MODULE_MAGIC) and reports
 * the API version of another server release, as a module built against the
 * wrong headers would. The server must refuse to load it ("incompatible
 * library") and must never call its _PG_init, which would otherwise leave a
 * distinctive line in the log for the tests to find.
 */
#include "postgres.h"

#include "fmgr.h"

extern PGDLLEXPORT const Pg_magic_struct *Pg_magic_func(void);
extern PGDLLEXPORT void _PG_init(void);

const Pg_magic_struct *
Pg_magic_func(void)
{
	static const Pg_magic_struct bad_magic_data = {
		sizeof(Pg_magic_struct),
		BGW_MODULE_API_VERSION - 200,	/* "built for version 13" */
		FUNC_MAX_ARGS,
		INDEX_MAX_KEYS,
		NAMEDATALEN,
		FLOAT8PASSBYVAL,
		BGW_MODULE_ABI_MAGIC
	};

	return &bad_magic_data;
}

void
_PG_init(void)
{
	elog(LOG, "bad_magic: _PG_init was called although the magic block is wrong");
}
