/*
 * pg_config.h: the version of PostgreSQL's module API these headers
 * implement, with PostgreSQL's macro names, so that a module's
 * "#if PG_VERSION_NUM >= 150000" picks the branch written for that API.
 * c.h includes it, as PostgreSQL's does. The server reports the same
 * version (server_version, pg_config --version); the bgworker release
 * itself is BGW_VERSION.
 */
#ifndef BGW_COMPAT_PG_CONFIG_H
#define BGW_COMPAT_PG_CONFIG_H

#define PG_MAJORVERSION "15"
#define PG_MAJORVERSION_NUM 15
#define PG_MINORVERSION_NUM 0
#define PG_VERSION "15.0"
#define PG_VERSION_NUM 150000
#define PG_VERSION_STR "PostgreSQL 15.0 (bgworker) on x86_64-pc-linux-gnu, compiled by gcc, 64-bit"

/* Fixed build-time facts PostgreSQL's configure would record. */
#define BLCKSZ 8192
#define XLOG_BLCKSZ 8192
#define MAXIMUM_ALIGNOF 8
#define ALIGNOF_DOUBLE 8
#define ALIGNOF_INT 4
#define ALIGNOF_LONG 8
#define ALIGNOF_SHORT 2
#define SIZEOF_LONG 8
#define SIZEOF_SIZE_T 8
#define SIZEOF_VOID_P 8
#define SIZEOF_BOOL 1
#define HAVE_LONG_INT_64 1
#define USE_FLOAT8_BYVAL 1
#define DEF_PGPORT 5432
#define DEF_PGPORT_STR "5432"

#endif /* BGW_COMPAT_PG_CONFIG_H */
