#pragma once
// Time as a dependency: no component reads a clock or waits on its own, so tests can pin time and
// drive it (tests/support/manual_clock.hpp) instead of sleeping.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace orders {

/// Wall time, for what is recorded: event timestamps, x-failed-at, retention cutoffs.
using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;
/// Monotonic time, for what is waited for: deadlines, timeouts, backoff, intervals.
using SteadyTime = std::chrono::steady_clock::time_point;

/// Thread-safe: any thread may read it or wait on it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
  virtual SteadyTime steadyNow() const = 0;

  /// Like std::condition_variable::wait_until with steadyNow() as the clock: waits (with `lock`
  /// held on entry and on return) until `ready()` holds or `deadline` has passed, and returns
  /// ready(). A notify on `cv` wakes it as usual; a manual clock also wakes it when it is
  /// advanced past `deadline`.
  virtual bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         SteadyTime deadline, const std::function<bool()>& ready) const = 0;

  bool waitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::milliseconds timeout, const std::function<bool()>& ready) const {
    return waitUntil(lock, cv, steadyNow() + timeout, ready);
  }
  /// Waits until steadyNow() reaches `deadline` (nothing can wake it earlier).
  void sleepUntil(SteadyTime deadline) const;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
  SteadyTime steadyNow() const override { return std::chrono::steady_clock::now(); }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 SteadyTime deadline, const std::function<bool()>& ready) const override {
    return cv.wait_until(lock, deadline, ready);
  }
};

/// Milliseconds from `start` to the clock's steadyNow().
inline std::chrono::milliseconds elapsedSince(const Clock& clock, SteadyTime start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.steadyNow() - start);
}

/// ISO 8601 UTC with milliseconds and 'Z': 2023-11-21T12:34:56.789Z
std::string formatIso8601(Timestamp t);
/// Parses the format above (also accepts no fraction or 1-9 fraction digits, and a 'Z' or
/// +00:00 offset). Returns false on anything else.
bool parseIso8601(const std::string& text, Timestamp& out);

}  // namespace orders
