// The clocks' waits: the system clock's deadline, and the manual clock that tests drive.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/clock.hpp"
#include "support/manual_clock.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;

TEST(ManualClock, AWaitReturnsWhenTheClockPassesItsDeadline) {
  testing::ManualClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  std::atomic<bool> returned{false};
  const SteadyTime deadline = clock.steadyNow() + 10s;  // fixed before the waiter starts
  std::thread waiter([&] {
    std::unique_lock lock(mutex);
    const bool ready = clock.waitUntil(lock, cv, deadline, [] { return false; });
    EXPECT_FALSE(ready);
    returned = true;
  });
  clock.advance(5s);
  // Fake time has not reached the deadline: the waiter is still waiting (checked a few times).
  for (int i = 0; i < 20; ++i) {
    std::this_thread::yield();
    EXPECT_FALSE(returned);
  }
  clock.advance(5s);
  waiter.join();
  EXPECT_TRUE(returned);
}

TEST(ManualClock, ANotifyWakesAWaiterWhoseConditionHolds) {
  testing::ManualClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  bool flag = false;
  std::thread waiter([&] {
    std::unique_lock lock(mutex);
    EXPECT_TRUE(clock.waitFor(lock, cv, std::chrono::hours(1), [&] { return flag; }));
  });
  {
    std::lock_guard lock(mutex);
    flag = true;
  }
  cv.notify_all();
  waiter.join();
}

TEST(ManualClock, WallAndSteadyMoveTogether) {
  testing::ManualClock clock(Timestamp(std::chrono::milliseconds(1000)));
  const auto steady = clock.steadyNow();
  clock.advance(250ms);
  EXPECT_EQ(clock.now(), Timestamp(std::chrono::milliseconds(1250)));
  EXPECT_EQ(elapsedSince(clock, steady), 250ms);
  clock.set(Timestamp(std::chrono::milliseconds(5)));
  EXPECT_EQ(elapsedSince(clock, steady), 250ms);  // the steady clock never goes back
}

TEST(SystemClock, WaitUntilHonoursTheDeadlineAndTheCondition) {
  SystemClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  std::unique_lock lock(mutex);
  EXPECT_FALSE(clock.waitFor(lock, cv, 1ms, [] { return false; }));
  EXPECT_TRUE(clock.waitFor(lock, cv, 1h, [] { return true; }));
}

}  // namespace
}  // namespace orders
