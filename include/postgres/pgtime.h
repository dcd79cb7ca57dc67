/*
 * pgtime.h: PostgreSQL's time_t (seconds since the Unix epoch), 13-15
 * compatible subset.
 */
#ifndef BGW_COMPAT_PGTIME_H
#define BGW_COMPAT_PGTIME_H

#include "c.h"

typedef int64 pg_time_t;

#endif /* BGW_COMPAT_PGTIME_H */
