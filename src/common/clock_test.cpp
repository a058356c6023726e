#include "common/clock.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>

namespace orders {
namespace {

TEST(Clock, FormatsAndParsesIso8601Milliseconds) {
  const Timestamp t(std::chrono::milliseconds(1700656512487));
  EXPECT_EQ(formatIso8601(t), "2023-11-22T12:35:12.487Z");
  Timestamp parsed;
  ASSERT_TRUE(parseIso8601("2023-11-22T12:35:12.487Z", parsed));
  EXPECT_EQ(parsed, t);
  ASSERT_TRUE(parseIso8601("2023-11-22T12:35:12Z", parsed));
  EXPECT_FALSE(parseIso8601("2023-11-22 12:35:12Z", parsed));
  EXPECT_FALSE(parseIso8601("2023-13-22T12:35:12Z", parsed));
  EXPECT_FALSE(parseIso8601("2023-11-22T12:35:12.487+02:00", parsed));
}

// The text gmtime_r and snprintf give, which formatIso8601 wrote before it wrote digits itself.
std::string libcIso8601(std::int64_t ms) {
  std::int64_t seconds = ms / 1000;
  std::int64_t millis = ms % 1000;
  if (millis < 0) millis += 1000, seconds -= 1;
  const auto time = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&time, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

TEST(Clock, FormatsIso8601AsTheCLibraryDoes) {
  const std::int64_t edges[] = {0,
                                -1,
                                999,
                                1000,
                                -1000,
                                951'782'400'000,       // 2000-02-29T00:00:00.000Z
                                4'107'542'399'999,     // 2100-02-28T23:59:59.999Z
                                253'402'300'799'999,   // 9999-12-31T23:59:59.999Z
                                253'402'300'800'000,   // year 10000: five digits
                                -62'167'219'200'000,   // 0000-01-01T00:00:00.000Z
                                -62'167'219'200'001};  // year -1
  for (const auto ms : edges) {
    EXPECT_EQ(formatIso8601(Timestamp(std::chrono::milliseconds(ms))), libcIso8601(ms)) << ms;
  }
  std::mt19937_64 random(20261202);
  std::uniform_int_distribution<std::int64_t> anyMillis(-62'167'219'200'000, 253'402'300'799'999);
  for (int i = 0; i < 20'000; ++i) {
    const auto ms = anyMillis(random);
    ASSERT_EQ(formatIso8601(Timestamp(std::chrono::milliseconds(ms))), libcIso8601(ms)) << ms;
  }
}

}  // namespace
}  // namespace orders
