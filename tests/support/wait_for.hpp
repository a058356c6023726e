#pragma once
// Waiting for a condition in tests that run against real threads, processes or servers (a
// broker, a child process): poll it instead of sleeping a fixed time. Header-only: include it as
// "support/wait_for.hpp". Code that waits on a Clock is driven with ManualClock
// (support/manual_clock.hpp) instead.

#include <chrono>
#include <functional>
#include <thread>

namespace orders::testing {

/// Polls `condition` every 10 ms until it holds or `timeout` passes; returns its last value.
inline bool waitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace orders::testing
