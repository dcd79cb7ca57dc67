/*
 * commands/dbcommands.h: database names and OIDs, as PostgreSQL 13-15
 * declares them for modules (get_database_name is how a worker_spi-style
 * launcher tells its workers which database to connect to).
 */
#ifndef BGW_COMPAT_DBCOMMANDS_H
#define BGW_COMPAT_DBCOMMANDS_H

#include "postgres.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The database's name, palloc'd in the current memory context; NULL if none has that OID. */
extern char *get_database_name(Oid dbid);
/* The OID of the named database; InvalidOid if missing_ok, else ERROR 3D000. */
extern Oid	get_database_oid(const char *dbname, bool missing_ok);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_DBCOMMANDS_H */
