#pragma once
// The one exponential backoff with jitter (relay reconnects, consumer reconnects, channel
// recovery): initial, 2x, 4x ... capped at max, each multiplied by a random factor in
// [1 - jitter, 1 + jitter] so that many clients do not retry in lockstep. The randomness is
// seeded by the caller, so tests get a fixed sequence.

#include <chrono>
#include <cstdint>
#include <random>

namespace orders {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter = 0.2,
          std::uint64_t seed = std::random_device{}());

  /// The next delay; each call doubles the base until it reaches max.
  std::chrono::milliseconds next();
  /// After a success: the next delay is `initial` again.
  void reset() { attempt_ = 0; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  double jitter_;
  unsigned attempt_ = 0;
  std::mt19937_64 random_;
};

}  // namespace orders
