// utils/timestamp.h: the clock and timestamp arithmetic modules use.
#include "postgres/utils/timestamp.h"

#include <time.h>

#include <cstdio>

namespace {

// Microseconds from the Unix epoch to PostgreSQL's.
constexpr int64 kEpochOffsetUs =
    static_cast<int64>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

}  // namespace

extern "C" {

TimestampTz GetCurrentTimestamp(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64>(ts.tv_sec) * USECS_PER_SEC + ts.tv_nsec / 1000 - kEpochOffsetUs;
}

void TimestampDifference(TimestampTz start_time, TimestampTz stop_time, long* secs,
                         int* microsecs) {
  const TimestampTz diff = stop_time - start_time;
  if (diff <= 0) {
    *secs = 0;
    *microsecs = 0;
    return;
  }
  *secs = static_cast<long>(diff / USECS_PER_SEC);
  *microsecs = static_cast<int>(diff % USECS_PER_SEC);
}

long TimestampDifferenceMilliseconds(TimestampTz start_time, TimestampTz stop_time) {
  const TimestampTz diff = stop_time - start_time;
  return diff <= 0 ? 0 : static_cast<long>((diff + 999) / 1000);
}

bool TimestampDifferenceExceeds(TimestampTz start_time, TimestampTz stop_time, int msec) {
  return stop_time - start_time >= static_cast<int64>(msec) * 1000;
}

TimestampTz time_t_to_timestamptz(pg_time_t tm) { return tm * USECS_PER_SEC - kEpochOffsetUs; }

pg_time_t timestamptz_to_time_t(TimestampTz t) { return (t + kEpochOffsetUs) / USECS_PER_SEC; }

const char* timestamptz_to_str(TimestampTz t) {
  static char buf[128];
  if (TIMESTAMP_IS_NOBEGIN(t)) return "-infinity";
  if (TIMESTAMP_IS_NOEND(t)) return "infinity";
  const int64 unix_us = t + kEpochOffsetUs;
  int64 secs = unix_us / USECS_PER_SEC;
  int64 usecs = unix_us % USECS_PER_SEC;
  if (usecs < 0) {
    usecs += USECS_PER_SEC;
    secs -= 1;
  }
  const time_t tt = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&tt, &tm);
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(usecs));
  return buf;
}

}  // extern "C"
