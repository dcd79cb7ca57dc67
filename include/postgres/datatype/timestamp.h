/*
 * datatype/timestamp.h: timestamp representation, PostgreSQL 13-15
 * compatible: int64 microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's
 * epoch), with its constants and infinity markers.
 */
#ifndef BGW_COMPAT_DATATYPE_TIMESTAMP_H
#define BGW_COMPAT_DATATYPE_TIMESTAMP_H

#include "c.h"

typedef int64 Timestamp;
typedef int32 fsec_t;

#define DAYS_PER_YEAR 365.25
#define MONTHS_PER_YEAR 12
#define DAYS_PER_MONTH 30
#define HOURS_PER_DAY 24
#define SECS_PER_YEAR (36525 * 864)
#define SECS_PER_DAY 86400
#define SECS_PER_HOUR 3600
#define SECS_PER_MINUTE 60
#define MINS_PER_HOUR 60
#define USECS_PER_DAY INT64CONST(86400000000)
#define USECS_PER_HOUR INT64CONST(3600000000)
#define USECS_PER_MINUTE INT64CONST(60000000)
#define USECS_PER_SEC INT64CONST(1000000)

#define DT_NOBEGIN PG_INT64_MIN
#define DT_NOEND PG_INT64_MAX
#define TIMESTAMP_NOBEGIN(j) do { (j) = DT_NOBEGIN; } while (0)
#define TIMESTAMP_IS_NOBEGIN(j) ((j) == DT_NOBEGIN)
#define TIMESTAMP_NOEND(j) do { (j) = DT_NOEND; } while (0)
#define TIMESTAMP_IS_NOEND(j) ((j) == DT_NOEND)
#define TIMESTAMP_NOT_FINITE(j) (TIMESTAMP_IS_NOBEGIN(j) || TIMESTAMP_IS_NOEND(j))

/* Julian dates of the Unix and PostgreSQL epochs. */
#define UNIX_EPOCH_JDATE 2440588
#define POSTGRES_EPOCH_JDATE 2451545

#endif /* BGW_COMPAT_DATATYPE_TIMESTAMP_H */
