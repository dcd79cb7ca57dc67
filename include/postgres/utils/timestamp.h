/*
 * utils/timestamp.h: the current time and differences between timestamps,
 * PostgreSQL 13-15 compatible: what workers use to pace their loops
 * (GetCurrentTimestamp, TimestampDifferenceExceeds, ...). TimestampTz is
 * microseconds since 2000-01-01 00:00:00 UTC.
 */
#ifndef BGW_COMPAT_UTILS_TIMESTAMP_H
#define BGW_COMPAT_UTILS_TIMESTAMP_H

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "pgtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DatumGetTimestamp(X) ((Timestamp) DatumGetInt64(X))
#define TimestampGetDatum(X) Int64GetDatum(X)
#define PG_GETARG_TIMESTAMP(n) DatumGetTimestamp(PG_GETARG_DATUM(n))
#define PG_GETARG_TIMESTAMPTZ(n) DatumGetTimestampTz(PG_GETARG_DATUM(n))
#define PG_RETURN_TIMESTAMP(x) return TimestampGetDatum(x)
#define PG_RETURN_TIMESTAMPTZ(x) return TimestampTzGetDatum(x)

#define TimestampTzPlusMilliseconds(tz, ms) ((tz) + ((ms) * (int64) 1000))

/* Now, from the system clock (not the transaction's start). */
extern TimestampTz GetCurrentTimestamp(void);
/* stop_time - start_time as seconds and microseconds; 0 and 0 if not positive. */
extern void TimestampDifference(TimestampTz start_time, TimestampTz stop_time, long *secs,
								int *microsecs);
/* stop_time - start_time in milliseconds, rounded up; 0 if not positive. */
extern long TimestampDifferenceMilliseconds(TimestampTz start_time, TimestampTz stop_time);
/* Whether at least msec milliseconds separate the two. */
extern bool TimestampDifferenceExceeds(TimestampTz start_time, TimestampTz stop_time, int msec);
extern TimestampTz time_t_to_timestamptz(pg_time_t tm);
extern pg_time_t timestamptz_to_time_t(TimestampTz t);
/* "2026-01-02 03:04:05.123456+00" (UTC), in a static buffer. */
extern const char *timestamptz_to_str(TimestampTz t);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_UTILS_TIMESTAMP_H */
