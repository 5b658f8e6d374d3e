// Unit tests of src/net/retry_after: the Retry-After header parser
// (delay-seconds and HTTP dates). Pure logic: no sockets, no sleeping.
#include "src/net/retry_after.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

using SysTp = std::chrono::system_clock::time_point;

SysTp utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(mo) / std::chrono::day(d)) +
         std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s);
}

TEST(ParseRetryAfter, DelaySeconds) {
  const SysTp now = utc(2024, 6, 1, 12, 0, 0);
  EXPECT_EQ(parse_retry_after("120", now), 120000ms);
  EXPECT_EQ(parse_retry_after("0", now), 0ms);
  EXPECT_EQ(parse_retry_after("007", now), 7000ms);
  EXPECT_EQ(parse_retry_after(" \t5 ", now), 5000ms);
  const auto huge = parse_retry_after("99999999999999999999999999", now);
  ASSERT_TRUE(huge);
  EXPECT_GT(*huge, std::chrono::hours(24 * 365 * 1000));  // saturated, not wrapped
  for (const char* bad : {"", "   ", "-1", "+5", "1.5", "12a", "a12", "1 2", "0x10", "1e3", "5s"})
    EXPECT_FALSE(parse_retry_after(bad, now)) << '"' << bad << '"';
}

TEST(ParseRetryAfter, ImfFixdate) {
  const SysTp now = utc(1994, 11, 6, 8, 49, 0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 37000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 09:49:00 GMT", now), 3600000ms);
  EXPECT_EQ(parse_retry_after("Mon, 07 Nov 1994 08:49:00 GMT", now), milliseconds(86400000));
  EXPECT_EQ(parse_retry_after("  Sun, 06 Nov 1994 08:49:37 GMT\t", now), 37000ms);
  // In the past or now: retry at once.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), 0ms);
  EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), 0ms);
  // Sub-millisecond clocks round the wait up.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:01 GMT", now + std::chrono::microseconds(1500)), 999ms);
  // The leap second and the end of February in a leap year.
  EXPECT_EQ(parse_retry_after("Sat, 31 Dec 2016 23:59:60 GMT", utc(2016, 12, 31, 23, 59, 0)), 60000ms);
  EXPECT_EQ(parse_retry_after("Thu, 29 Feb 2024 00:00:10 GMT", utc(2024, 2, 29, 0, 0, 0)), 10000ms);
  // Every month name.
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned m = 1; m <= 12; ++m) {
    const std::string v = std::string("Mon, 01 ") + months[m - 1] + " 2030 00:00:05 GMT";
    EXPECT_EQ(parse_retry_after(v, utc(2030, m, 1, 0, 0, 0)), 5000ms) << v;
  }
}

TEST(ParseRetryAfter, ObsoleteDateForms) {
  const SysTp now = utc(1994, 11, 6, 8, 49, 0);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), 37000ms);
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), 37000ms);
  EXPECT_EQ(parse_retry_after("Wed Nov 16 08:49:37 1994", now), milliseconds((10 * 86400 + 37) * 1000LL));
  // RFC 850 two-digit years: more than 50 years ahead means the last century.
  const SysTp y2024 = utc(2024, 6, 1, 0, 0, 0);
  EXPECT_EQ(parse_retry_after("Monday, 01-Jan-74 00:00:00 GMT", y2024),
            std::chrono::ceil<milliseconds>(utc(2074, 1, 1, 0, 0, 0) - y2024));
  EXPECT_EQ(parse_retry_after("Wednesday, 01-Jan-75 00:00:00 GMT", y2024), 0ms);  // 1975: past
  EXPECT_EQ(parse_retry_after("Saturday, 01-Jun-24 00:00:30 GMT", y2024), 30000ms);
}

TEST(ParseRetryAfter, RejectsMalformedDates) {
  const SysTp now = utc(1994, 11, 6, 8, 49, 0);
  for (const char* bad : {
           "Sun, 31 Feb 1994 08:49:37 GMT",   // no such day
           "Sun, 06 Nov 1994 24:00:00 GMT",   // hour
           "Sun, 06 Nov 1994 08:60:00 GMT",   // minute
           "Sun, 06 Nov 1994 08:49:61 GMT",   // second
           "Sun, 06 Nov 1994 08:49:37 UTC",   // zone must be GMT
           "Sun, 06 Nov 1994 08:49:37",       // no zone
           "Sun, 06 Nov 1994 08:49:37 GMT x", // trailing junk
           "Sun, 6 Nov 1994 08:49:37 GMT",    // one-digit day
           "Sun, 06 nov 1994 08:49:37 GMT",   // month is case-sensitive
           "Sun, 06 November 1994 08:49:37 GMT",
           "Sun, 06 Nov 94 08:49:37 GMT",     // two-digit year in IMF-fixdate
           "Sunday, 06 Nov 1994 08:49:37 GMT",  // long day name with the IMF layout
           "Sun, 06-Nov-94 08:49:37 GMT",     // short day name with the RFC 850 layout
           "Xyz, 06 Nov 1994 08:49:37 GMT",
           "Sun,06 Nov 1994 08:49:37 GMT",
           "Sun Nov 6 08:49:37 1994",         // asctime pads the day with a space
           "Sun Nov  6 08:49:37 94",
           "Sun Nov  6 08:49:37 1994 GMT",
           "Sun, 06 Nov 1994 8:49:37 GMT",
           "Sun, 06 Nov 1994 08:49 GMT",
           "tomorrow",
       })
    EXPECT_FALSE(parse_retry_after(bad, now)) << '"' << bad << '"';
}

// Regression (fuzz_retry_after, issue 11): dates outside system_clock's
// nanosecond range (before 1678, after 2262) overflowed a signed integer when
// compared with `now`; they are plain past / future dates.
TEST(ParseRetryAfter, DatesOutsideTheNanosecondRange) {
  const SysTp now = utc(2026, 1, 1, 0, 0, 0);
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1013 00:00:10 GMT", now), 0ms);  // the crashing input
  const auto far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now);
  ASSERT_TRUE(far);
  EXPECT_GT(*far, std::chrono::hours(24 * 365 * 7000));
  // Sub-millisecond "now" still rounds the wait up.
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 2026 00:00:01 GMT", now + std::chrono::microseconds(500)), 1000ms);
}

}  // namespace
}  // namespace reelbatch
