// utils/timestamp.h: PostgreSQL's epoch, differences as PostgreSQL computes
// them (never negative, milliseconds rounded up), conversions and text.
#include <gtest/gtest.h>
#include <time.h>

#include <cstdlib>
#include <string>

// After gtest: c.h's Max/Min macros would break its headers.
#include "postgres/utils/timestamp.h"

namespace {

TEST(TimestampTest, CountsFromPostgresEpoch) {
  EXPECT_EQ(time_t_to_timestamptz(946684800), 0);  // 2000-01-01 00:00:00 UTC
  EXPECT_EQ(timestamptz_to_time_t(0), 946684800);
  const TimestampTz now = GetCurrentTimestamp();
  const time_t wall = time(nullptr);
  EXPECT_LE(std::llabs(timestamptz_to_time_t(now) - static_cast<int64>(wall)), 2);
  EXPECT_STREQ(timestamptz_to_str(0), "2000-01-01 00:00:00.000000+00");
  EXPECT_STREQ(timestamptz_to_str(-1), "1999-12-31 23:59:59.999999+00");
  EXPECT_STREQ(timestamptz_to_str(DT_NOEND), "infinity");
  EXPECT_STREQ(timestamptz_to_str(DT_NOBEGIN), "-infinity");
}

TEST(TimestampTest, DifferencesAsPostgresComputesThem) {
  long secs = -1;
  int usecs = -1;
  TimestampDifference(1000, 1000 + 2 * USECS_PER_SEC + 5, &secs, &usecs);
  EXPECT_EQ(secs, 2);
  EXPECT_EQ(usecs, 5);
  TimestampDifference(5000, 1000, &secs, &usecs);  // stop before start
  EXPECT_EQ(secs, 0);
  EXPECT_EQ(usecs, 0);
  EXPECT_EQ(TimestampDifferenceMilliseconds(0, 1), 1);  // rounded up
  EXPECT_EQ(TimestampDifferenceMilliseconds(0, 2000), 2);
  EXPECT_EQ(TimestampDifferenceMilliseconds(10, 0), 0);
  EXPECT_TRUE(TimestampDifferenceExceeds(0, 1000, 1));
  EXPECT_FALSE(TimestampDifferenceExceeds(0, 999, 1));
  EXPECT_EQ(TimestampTzPlusMilliseconds(0, 1500), 1500000);
  EXPECT_TRUE(TIMESTAMP_NOT_FINITE(DT_NOEND));
  EXPECT_FALSE(TIMESTAMP_NOT_FINITE(0));
}

}  // namespace
