#pragma once
// Per-client request rate limits (OWASP API4): a token bucket per client, refilled at a steady
// rate up to a burst, on the injected clock. Memory is bounded: a client idle long enough for its
// bucket to be full again is forgotten (a new bucket would be the same), and beyond `maxClients`
// the least recently seen client is forgotten first.

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"

namespace orders::http {

struct RateLimitOptions {
  double requestsPerSecond = 100;  // the sustained rate per client; 0 turns limiting off
  double burst = 200;              // requests a client may send at once after being idle
  std::size_t maxClients = 100'000;
  bool enabled() const { return requestsPerSecond > 0; }
};

/// Thread-safe: any thread may call admit(). `clock` must outlive the limiter.
class ClientRateLimiter {
 public:
  ClientRateLimiter(RateLimitOptions options, const Clock& clock);

  struct Decision {
    bool allowed = true;
    /// When refused: whole seconds until the client has a token again (at least 1).
    std::chrono::seconds retryAfter{0};
  };
  /// Takes one token from `client`'s bucket (a new client starts with a full one).
  Decision admit(const std::string& client);

  const RateLimitOptions& options() const { return options_; }
  /// How many clients are remembered now (for tests of the memory bound).
  std::size_t trackedClients() const;

 private:
  struct Bucket {
    std::string client;
    double tokens = 0;
    SteadyTime refilledAt{};
  };
  /// Forgets, from the least recently seen end, the clients whose bucket is full again, and any
  /// beyond maxClients.
  void evict(SteadyTime now);

  RateLimitOptions options_;
  const Clock& clock_;
  std::chrono::nanoseconds refillTime_;  // empty to full
  mutable std::mutex mutex_;
  std::list<Bucket> recent_;  // most recently seen first
  std::unordered_map<std::string, std::list<Bucket>::iterator> byClient_;
};

}  // namespace orders::http
