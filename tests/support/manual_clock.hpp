#pragma once
// The one fake clock of the tests: time stands still until the test moves it. Waits on it
// (Clock::waitUntil) return when the test advances it past their deadline, so code that waits
// for backoff, poll intervals or timeouts runs in fake time, without sleeping.

#include <atomic>
#include <chrono>
#include <functional>

#include "common/clock.hpp"

namespace orders::testing {

class ManualClock final : public Clock {
 public:
  /// Starts at `wall` (2024-05-01T10:00:00Z by default) and an arbitrary steady epoch.
  explicit ManualClock(Timestamp wall = Timestamp(std::chrono::milliseconds(1714557600000)))
      : wallMillis_(wall.time_since_epoch().count()) {}

  Timestamp now() const override {
    return Timestamp(std::chrono::milliseconds(wallMillis_.load()));
  }
  SteadyTime steadyNow() const override {
    return SteadyTime(std::chrono::milliseconds(steadyMillis_.load()));
  }

  /// Moves both clocks forward; waiters whose deadline has passed wake up within a millisecond.
  void advance(std::chrono::milliseconds step) {
    wallMillis_ += step.count();
    steadyMillis_ += step.count();
  }
  /// Sets the wall clock only (the steady clock never goes back).
  void set(Timestamp wall) { wallMillis_ = wall.time_since_epoch().count(); }

  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 SteadyTime deadline, const std::function<bool()>& ready) const override {
    // Re-checks every real millisecond rather than registering waiters: advance() then needs no
    // lock on the waiters' mutexes, and no wake-up can be lost.
    while (!ready()) {
      if (steadyNow() >= deadline) return ready();
      cv.wait_for(lock, std::chrono::milliseconds(1));
    }
    return true;
  }

 private:
  std::atomic<std::int64_t> wallMillis_;
  std::atomic<std::int64_t> steadyMillis_{1'000'000};
};

}  // namespace orders::testing
