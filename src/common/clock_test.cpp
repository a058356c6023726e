#include "common/clock.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace orders
