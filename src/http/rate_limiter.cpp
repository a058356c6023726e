#include "http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace orders::http {

ClientRateLimiter::ClientRateLimiter(RateLimitOptions options, const Clock& clock)
    : options_(options),
      clock_(clock),
      refillTime_(options.requestsPerSecond > 0
                      ? std::chrono::nanoseconds(static_cast<std::int64_t>(
                            options.burst / options.requestsPerSecond * 1e9))
                      : std::chrono::nanoseconds(0)) {}

ClientRateLimiter::Decision ClientRateLimiter::admit(const std::string& client) {
  if (!options_.enabled()) return {};
  const SteadyTime now = clock_.steadyNow();
  std::lock_guard lock(mutex_);
  auto found = byClient_.find(client);
  if (found == byClient_.end()) {
    recent_.push_front(Bucket{client, options_.burst, now});
    found = byClient_.emplace(client, recent_.begin()).first;
  } else {
    recent_.splice(recent_.begin(), recent_, found->second);
  }
  Bucket& bucket = *found->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.refilledAt).count();
  bucket.tokens = std::min(options_.burst, bucket.tokens + elapsed * options_.requestsPerSecond);
  bucket.refilledAt = now;
  Decision decision;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
  } else {
    decision.allowed = false;
    const double wait = (1 - bucket.tokens) / options_.requestsPerSecond;
    decision.retryAfter =
        std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait))));
  }
  evict(now);
  return decision;
}

void ClientRateLimiter::evict(SteadyTime now) {
  // The least recently seen bucket is the fullest-to-be: once it is full again, forgetting it
  // changes nothing. Stops at the first that is not, so each call does O(evicted) work.
  while (recent_.size() > 1 &&
         (recent_.size() > options_.maxClients || now - recent_.back().refilledAt >= refillTime_)) {
    byClient_.erase(recent_.back().client);
    recent_.pop_back();
  }
}

std::size_t ClientRateLimiter::trackedClients() const {
  std::lock_guard lock(mutex_);
  return recent_.size();
}

}  // namespace orders::http
