#include "outbox/retention.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "support/manual_clock.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;

class CutoffRecorder final : public OutboxStore {
 public:
  Result<std::vector<OutboxMessage>> fetchUnpublished(std::int64_t, std::size_t) override {
    return std::vector<OutboxMessage>{};
  }
  void markPublished(std::vector<std::int64_t>, Timestamp,
                     std::function<void(Status)> done) override {
    done(okStatus());
  }
  Result<std::vector<std::int64_t>> pendingIds(std::int64_t, std::int64_t, std::size_t) override {
    return std::vector<std::int64_t>{};
  }
  Result<std::vector<OutboxEvent>> listEvents(const OutboxEventQuery&) override {
    return std::vector<OutboxEvent>{};
  }
  Result<OutboxStats> outboxStats() override { return OutboxStats{}; }
  Result<std::int64_t> deletePublishedBefore(Timestamp cutoff) override {
    std::lock_guard lock(mutex);
    cutoffs.push_back(cutoff);
    if (fail) return Error{ErrorCode::kUnavailable, "locked"};
    return std::int64_t{3};
  }
  void setOutboxListener(std::function<void()>) override {}

  std::mutex mutex;
  std::vector<Timestamp> cutoffs;
  bool fail = false;
  std::size_t calls() {
    std::lock_guard lock(mutex);
    return cutoffs.size();
  }
};

TEST(Retention, DeletesRowsPublishedBeforeNowMinusMaxAge) {
  CutoffRecorder store;
  testing::ManualClock clock{Timestamp(std::chrono::milliseconds(10'000'000'000))};
  RetentionJob job(store, clock);  // default: 7 days
  auto deleted = job.runOnce();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 3);
  ASSERT_EQ(store.cutoffs.size(), 1u);
  EXPECT_EQ(clock.now() - store.cutoffs[0], std::chrono::hours(24 * 7));
  EXPECT_EQ(job.deletedTotal(), 3);
}

TEST(Retention, RunsAtStartAndThenPeriodicallyAndSurvivesFailures) {
  CutoffRecorder store;
  store.fail = true;
  testing::ManualClock clock{Timestamp(std::chrono::milliseconds(10'000'000'000))};
  RetentionJob job(store, clock, RetentionOptions{1h, 10ms});
  job.start();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (store.calls() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_GE(store.calls(), 3u) << "a failed run is retried at the next interval";
  job.stop();
  const auto calls = store.calls();
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(store.calls(), calls) << "stopped";
  EXPECT_EQ(clock.now() - store.cutoffs[0], std::chrono::hours(1));
}

}  // namespace
}  // namespace orders
