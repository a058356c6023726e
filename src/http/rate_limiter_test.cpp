// The per-client token bucket on a ManualClock: burst, steady refill, Retry-After, clients kept
// apart, and the memory bound (idle clients forgotten, at most maxClients remembered). Plus the
// pipeline step that keys on the principal, else on the address.

#include "http/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <future>

#include "http/middlewares.hpp"
#include "support/manual_clock.hpp"

namespace orders::http {
namespace {

using namespace std::chrono_literals;

TEST(ClientRateLimiter, AllowsABurstThenTheSteadyRate) {
  testing::ManualClock clock;
  ClientRateLimiter limiter({.requestsPerSecond = 2, .burst = 4, .maxClients = 10}, clock);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.admit("a").allowed) << i;
  const auto refused = limiter.admit("a");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retryAfter, 1s);  // one token comes back after 0.5 s: rounded up
  clock.advance(499ms);
  EXPECT_FALSE(limiter.admit("a").allowed);
  clock.advance(1ms);
  EXPECT_TRUE(limiter.admit("a").allowed);  // 500 ms at 2/s: one token
  EXPECT_FALSE(limiter.admit("a").allowed);
  // Another client has its own bucket.
  EXPECT_TRUE(limiter.admit("b").allowed);
  // Never more than the burst, however long the client was idle.
  clock.advance(1h);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.admit("a").allowed) << i;
  EXPECT_FALSE(limiter.admit("a").allowed);
}

TEST(ClientRateLimiter, RetryAfterSaysWhenATokenIsBack) {
  testing::ManualClock clock;
  ClientRateLimiter limiter({.requestsPerSecond = 0.1, .burst = 1, .maxClients = 10}, clock);
  EXPECT_TRUE(limiter.admit("slow").allowed);
  const auto refused = limiter.admit("slow");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retryAfter, 10s);
  clock.advance(refused.retryAfter);
  EXPECT_TRUE(limiter.admit("slow").allowed);
}

TEST(ClientRateLimiter, ForgetsIdleClientsAndKeepsAtMostMaxClients) {
  testing::ManualClock clock;
  ClientRateLimiter limiter({.requestsPerSecond = 10, .burst = 10, .maxClients = 100}, clock);
  for (int i = 0; i < 1000; ++i) limiter.admit("client-" + std::to_string(i));
  EXPECT_EQ(limiter.trackedClients(), 100u);  // the least recently seen went first
  // A bucket refills from empty to full in 1 s: after that, every client is forgotten by the
  // next admission, which changes nothing for them (a new bucket is a full one).
  for (int i = 0; i < 10; ++i) limiter.admit("busy");
  EXPECT_FALSE(limiter.admit("busy").allowed);
  clock.advance(1s);
  limiter.admit("newcomer");
  EXPECT_EQ(limiter.trackedClients(), 1u);
}

TEST(ClientRateLimiter, ZeroRateIsOff) {
  testing::ManualClock clock;
  ClientRateLimiter limiter({.requestsPerSecond = 0, .burst = 0, .maxClients = 1}, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.admit("a").allowed);
  EXPECT_EQ(limiter.trackedClients(), 0u);
}

TEST(RateLimitStep, KeysOnThePrincipalElseOnTheAddressAndAnswers429WithRetryAfter) {
  testing::ManualClock clock;
  ClientRateLimiter limiter({.requestsPerSecond = 1, .burst = 1, .maxClients = 10}, clock);
  RateLimitStep step(limiter);
  Route limited{"GET", "/v1/orders", RouteOptions{"orders:list"}, {}, {}};
  Route probe{"GET", "/healthz", RouteOptions{""}, {}, {}};
  auto scopeFor = [&](const std::string& subject) {
    RequestScope scope;
    scope.route = &limited;
    scope.principal.subject = subject;
    return scope;
  };
  Request fromA;
  fromA.remoteAddress = "10.0.0.1";
  Request fromB = fromA;
  fromB.remoteAddress = "10.0.0.2";

  auto anonymousA = scopeFor("");
  EXPECT_FALSE(step.onRequest(fromA, anonymousA));
  const auto refused = step.onRequest(fromA, anonymousA);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->contentType, "application/problem+json");
  EXPECT_NE(refused->body.find("--rate-limit"), std::string::npos) << refused->body;
  bool retryAfter = false;
  for (const auto& [name, value] : refused->headers)
    retryAfter |= name == "Retry-After" && value == "1";
  EXPECT_TRUE(retryAfter);
  // Another address, and principals (whatever address they come from), have their own buckets.
  EXPECT_FALSE(step.onRequest(fromB, anonymousA));
  auto alice = scopeFor("alice");
  EXPECT_FALSE(step.onRequest(fromA, alice));
  EXPECT_TRUE(step.onRequest(fromB, alice));  // alice again, from elsewhere: same bucket
  auto bob = scopeFor("bob");
  EXPECT_FALSE(step.onRequest(fromA, bob));
  // Probes are never limited.
  RequestScope probeScope;
  probeScope.route = &probe;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(step.onRequest(fromA, probeScope));
}

}  // namespace
}  // namespace orders::http
