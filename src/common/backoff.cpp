#include "common/backoff.hpp"

#include <algorithm>

namespace orders {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
                 std::uint64_t seed)
    : initial_(initial), max_(std::max(max, initial)), jitter_(jitter), random_(seed) {}

std::chrono::milliseconds Backoff::next() {
  const double base = std::min(static_cast<double>(max_.count()),
                               static_cast<double>(initial_.count()) * double(1u << attempt_));
  if (attempt_ < 20) ++attempt_;  // 2^20 x initial is past any sensible max
  std::uniform_real_distribution<double> factor(1.0 - jitter_, 1.0 + jitter_);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * factor(random_)));
}

}  // namespace orders
