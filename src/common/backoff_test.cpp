#include "common/backoff.hpp"

#include <gtest/gtest.h>

namespace orders {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesWithinTheJitterUpToTheCap) {
  Backoff backoff(milliseconds(100), milliseconds(1000), 0.2, /*seed=*/7);
  const double bases[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (double base : bases) {
    const auto delay = backoff.next().count();
    EXPECT_GE(delay, base * 0.8);
    EXPECT_LE(delay, base * 1.2);
  }
  backoff.reset();
  const auto again = backoff.next().count();
  EXPECT_GE(again, 80);
  EXPECT_LE(again, 120);
}

TEST(Backoff, TheSameSeedGivesTheSameSequence) {
  Backoff a(milliseconds(50), milliseconds(5000), 0.2, 42);
  Backoff b(milliseconds(50), milliseconds(5000), 0.2, 42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
}

TEST(Backoff, NoJitterIsExact) {
  Backoff backoff(milliseconds(10), milliseconds(35), 0.0, 1);
  EXPECT_EQ(backoff.next(), milliseconds(10));
  EXPECT_EQ(backoff.next(), milliseconds(20));
  EXPECT_EQ(backoff.next(), milliseconds(35));
}

}  // namespace
}  // namespace orders
