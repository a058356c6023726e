// The rate limit of the outbox counts, in fake time.

#include "outbox/outbox_stats_sampler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/manual_clock.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;

/// Counts outboxStats() calls; each takes `cost` of fake time, and can fail.
class CountingStore final : public OutboxStore {
 public:
  explicit CountingStore(testing::ManualClock& clock) : clock_(clock) {}

  Result<OutboxStats> outboxStats() override {
    ++counts;
    clock_.advance(cost);
    if (failing) return Error{ErrorCode::kUnavailable, "disk on fire"};
    OutboxStats stats;
    stats.pending = counts;
    return stats;
  }
  Result<std::vector<OutboxMessage>> fetchUnpublished(std::int64_t, std::size_t) override {
    return std::vector<OutboxMessage>{};
  }
  Result<std::vector<std::int64_t>> pendingIds(std::int64_t, std::int64_t, std::size_t) override {
    return std::vector<std::int64_t>{};
  }
  Result<std::vector<OutboxEvent>> listEvents(const OutboxEventQuery&) override {
    return std::vector<OutboxEvent>{};
  }
  void markPublished(std::vector<std::int64_t>, Timestamp, std::int64_t,
                     std::function<void(Status)> done) override {
    done(okStatus());
  }
  Result<std::int64_t> deletePublishedBefore(Timestamp) override { return std::int64_t{0}; }
  void setOutboxListener(std::function<void()>) override {}

  std::atomic<int> counts{0};
  std::chrono::milliseconds cost{0};
  std::atomic<bool> failing{false};

 private:
  testing::ManualClock& clock_;
};

TEST(OutboxStatsSampler, CountsAtMostOncePerIntervalHoweverOftenItIsAsked) {
  testing::ManualClock clock;
  CountingStore store(clock);
  OutboxStatsSampler sampler(store, clock, 1s);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sampler.sample().stats->pending, 1);
  EXPECT_EQ(store.counts, 1);
  clock.advance(999ms);
  EXPECT_EQ(sampler.sample().stats->pending, 1);
  clock.advance(1ms);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sampler.sample().stats->pending, 2);
  EXPECT_EQ(store.counts, 2);
}

TEST(OutboxStatsSampler, AnExpensiveCountIsSpacedByTwentyTimesItsCost) {
  testing::ManualClock clock;
  CountingStore store(clock);
  store.cost = 200ms;  // a large backlog
  OutboxStatsSampler sampler(store, clock, 1s);
  const auto first = sampler.sample();
  clock.advance(1s);
  EXPECT_EQ(sampler.sample().countedAt, first.countedAt) << "not before 20 x 200 ms";
  clock.advance(3s);
  EXPECT_NE(sampler.sample().countedAt, first.countedAt);
  EXPECT_EQ(store.counts, 2);
}

TEST(OutboxStatsSampler, AFailedCountIsKeptUntilTheNextOneIsDue) {
  testing::ManualClock clock;
  CountingStore store(clock);
  store.failing = true;
  OutboxStatsSampler sampler(store, clock, 1s);
  EXPECT_EQ(sampler.sample().stats.error().code, ErrorCode::kUnavailable);
  store.failing = false;
  EXPECT_FALSE(sampler.sample().stats.ok()) << "within the interval";
  clock.advance(1s);
  EXPECT_TRUE(sampler.sample().stats.ok());
  EXPECT_EQ(store.counts, 2);
}

TEST(OutboxStatsSampler, ConcurrentCallersShareOneCount) {
  testing::ManualClock clock;
  CountingStore store(clock);
  OutboxStatsSampler sampler(store, clock, 1s);
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) EXPECT_TRUE(sampler.sample().stats.ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store.counts, 1);
}

}  // namespace
}  // namespace orders
