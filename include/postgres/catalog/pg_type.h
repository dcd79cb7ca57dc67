/*
 * catalog/pg_type.h: the built-in types. As in PostgreSQL, the OID macros
 * come from catalog/pg_type_d.h.
 */
#ifndef BGW_COMPAT_PG_TYPE_H
#define BGW_COMPAT_PG_TYPE_H

#include "catalog/pg_type_d.h"

#endif /* BGW_COMPAT_PG_TYPE_H */
