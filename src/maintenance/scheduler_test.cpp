// The maintenance scheduler in fake time (ManualClock: nothing here sleeps a fixed time), and the
// service's jobs against a real store.

#include "maintenance/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "maintenance/job_ownership.hpp"
#include "maintenance/jobs.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using testing::ManualClock;

/// Polls `done` (the scheduler runs on its own thread) for up to ten real seconds.
bool eventually(const std::function<bool()>& done) {
  return testing::waitFor(done, 10s);
}

/// A job that counts its runs and records the wall time it was given.
struct CountingJob {
  std::atomic<int> runs{0};
  std::atomic<bool> failing{false};
  std::mutex mutex;
  std::vector<Timestamp> times;

  MaintenanceJob job(std::string name, std::chrono::milliseconds interval) {
    return {std::move(name), interval, [this](Timestamp now) -> Result<std::int64_t> {
              {
                std::lock_guard lock(mutex);
                times.push_back(now);
              }
              ++runs;
              if (failing) return Error{ErrorCode::kUnavailable, "database locked"};
              return std::int64_t{2};
            }};
  }
};

class Owner final : public JobOwnership {
 public:
  bool owns(std::string_view job) override {
    std::lock_guard lock(mutex_);
    asked_.emplace_back(job);
    return owner_;
  }
  void set(bool owner) {
    std::lock_guard lock(mutex_);
    owner_ = owner;
  }
  std::size_t asked() {
    std::lock_guard lock(mutex_);
    return asked_.size();
  }

 private:
  std::mutex mutex_;
  bool owner_ = true;
  std::vector<std::string> asked_;
};

TEST(MaintenanceScheduler, RunsEveryJobAtStartThenEveryItsInterval) {
  ManualClock clock;
  AlwaysOwner owner;
  CountingJob hourly;
  CountingJob often;
  // `hourly` comes first: once `often` ran in a pass, that pass has looked at `hourly` too.
  MaintenanceScheduler scheduler(clock, owner, {hourly.job("hourly", 1h), often.job("often", 10s)});
  scheduler.start();
  ASSERT_TRUE(eventually([&] { return hourly.runs == 1 && often.runs == 1; }));
  EXPECT_EQ(hourly.times.at(0), clock.now()) << "the run gets the clock's wall time";

  for (int i = 2; i <= 5; ++i) {
    clock.advance(10s);
    ASSERT_TRUE(eventually([&] { return often.runs == i; })) << "run " << i;
    EXPECT_EQ(hourly.runs, 1) << "not due yet";
  }
  clock.advance(1h);
  ASSERT_TRUE(eventually([&] { return hourly.runs == 2; }));

  const auto status = scheduler.status();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].name, "hourly");
  EXPECT_EQ(status[0].runs, 2u);
  EXPECT_EQ(status[0].deletedTotal, 4);
  EXPECT_EQ(status[0].lastRunAt, clock.now());
  EXPECT_EQ(status[1].failures, 0u);

  scheduler.stop();
  const int runs = often.runs;
  clock.advance(24h);  // the thread is joined: nothing can run any more
  EXPECT_EQ(often.runs, runs);
  EXPECT_EQ(hourly.runs, 2);
}

TEST(MaintenanceScheduler, AFailedRunIsRetriedAtTheNextInterval) {
  ManualClock clock;
  AlwaysOwner owner;
  CountingJob job;
  job.failing = true;
  MaintenanceScheduler scheduler(clock, owner, {job.job("retention", 1min)});
  scheduler.start();
  ASSERT_TRUE(eventually([&] { return scheduler.status()[0].failures == 1; }));
  EXPECT_EQ(scheduler.status()[0].lastError, "database locked");
  EXPECT_EQ(scheduler.status()[0].deletedTotal, 0);

  clock.advance(1min);
  ASSERT_TRUE(eventually([&] { return scheduler.status()[0].failures == 2; }));
  job.failing = false;
  clock.advance(1min);
  ASSERT_TRUE(eventually([&] { return scheduler.status()[0].runs == 3; }));
  const auto status = scheduler.status()[0];
  EXPECT_EQ(status.failures, 2u);
  EXPECT_TRUE(status.lastError.empty()) << "a success clears the error";
  EXPECT_EQ(status.deletedTotal, 2);
}

TEST(MaintenanceScheduler, RunsNothingThisProcessDoesNotOwn) {
  ManualClock clock;
  Owner owner;
  owner.set(false);
  CountingJob job;
  MaintenanceScheduler scheduler(clock, owner, {job.job("retention", 1min)});
  scheduler.start();
  ASSERT_TRUE(eventually([&] { return scheduler.status()[0].skipped == 1; }));
  clock.advance(1min);
  ASSERT_TRUE(eventually([&] { return scheduler.status()[0].skipped == 2; }))
      << "asked again an interval later";
  EXPECT_EQ(job.runs, 0);

  owner.set(true);
  clock.advance(1min);
  ASSERT_TRUE(eventually([&] { return job.runs == 1; }));
  EXPECT_EQ(owner.asked(), 3u);
  EXPECT_EQ(scheduler.status()[0].runs, 1u);
}

TEST(MaintenanceScheduler, StopWaitsForTheRunningJobAndCanStartAgain) {
  ManualClock clock;
  AlwaysOwner owner;
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> runs{0};
  MaintenanceScheduler scheduler(clock, owner,
                                 {{"slow", 1min, [&](Timestamp) -> Result<std::int64_t> {
                                     if (++runs == 1) {
                                       entered.set_value();
                                       released.wait();
                                     }
                                     return std::int64_t{0};
                                   }}});
  scheduler.start();
  entered.get_future().wait();
  auto stopped = std::async(std::launch::async, [&] { scheduler.stop(); });
  release.set_value();
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready) << "stop() hangs";
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(scheduler.status()[0].runs, 1u) << "the running job finished";

  scheduler.start();
  ASSERT_TRUE(eventually([&] { return runs == 2; })) << "a new start runs the job at once";
}

TEST(MaintenanceJobs, DeleteWhatIsOlderThanTheirMaximumAgeInTheStore) {
  ManualClock clock;
  testing::TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db"), {}, &clock).value();
  WriteSet writes;
  writes.idempotency = IdempotencyRecord{"key-1", "fp", "response"};
  writes.inboxMessage = InboxKey{"payments", "msg-1"};
  std::promise<Result<WriteOutcome>> written;
  store->write(writes, [&](Result<WriteOutcome> r) { written.set_value(std::move(r)); });
  ASSERT_EQ(written.get_future().get().value(), WriteOutcome::kCommitted);

  const auto idempotency = idempotencyExpiryJob(*store);
  const auto inbox = inboxRetentionJob(*store, 30 * 24h);
  const auto outbox = outboxRetentionJob(*store);
  EXPECT_EQ(idempotency.name, "idempotency-expiry");
  EXPECT_EQ(idempotency.interval, 10min);
  EXPECT_EQ(outbox.name, "outbox-retention");
  EXPECT_EQ(outbox.interval, 1h);

  clock.advance(23h);
  EXPECT_EQ(idempotency.run(clock.now()).value(), 0);
  clock.advance(2h);
  EXPECT_EQ(idempotency.run(clock.now()).value(), 1) << "older than 24 h";
  EXPECT_FALSE(store->findIdempotencyRecord("key-1")->has_value());
  EXPECT_EQ(inbox.run(clock.now()).value(), 0);
  clock.advance(30 * 24h);
  EXPECT_EQ(inbox.run(clock.now()).value(), 1);
  EXPECT_FALSE(store->contains({"payments", "msg-1"}).value());
  EXPECT_EQ(outbox.run(clock.now()).value(), 0) << "nothing was published";
}

/// A broker that is never there: the relay leads (or not) without publishing anything.
PublisherFactory unreachableBroker() {
  return []() -> Result<std::unique_ptr<ConfirmedPublisher>> {
    return Error{ErrorCode::kUnavailable, "cannot connect: connection refused"};
  };
}

TEST(RelayLeaderOwnership, JobsRunOnTheRelayLeaderOnlyAndMoveWithTheLease) {
  // Two instances' relays on one SQLite database (its relay lease), in fake time.
  ManualClock clock;
  testing::TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db"), {}, &clock).value();
  RelayOptions options;
  options.lease = store.get();
  options.leaseTtl = 3s;
  options.leaseSafetyMargin = 600ms;
  options.backoffSeed = 1;
  options.leaseHolder = "host-a/1/aaaa";
  Relay first(*store, unreachableBroker(), clock, options);
  options.leaseHolder = "host-b/2/bbbb";
  Relay second(*store, unreachableBroker(), clock, options);
  RelayLeaderOwnership firstOwner(&first);
  RelayLeaderOwnership secondOwner(&second);
  RelayLeaderOwnership noRelay(nullptr);

  EXPECT_FALSE(firstOwner.owns("outbox-retention")) << "not started: not leading";
  first.start();
  ASSERT_TRUE(eventually([&] { return firstOwner.owns("outbox-retention"); }));
  second.start();
  ASSERT_TRUE(eventually([&] { return second.status().state == RelayStatus::State::kStandby; }));
  EXPECT_FALSE(secondOwner.owns("outbox-retention"));
  EXPECT_FALSE(noRelay.owns("outbox-retention")) << "--no-relay owns no job";

  // The leader stops cleanly (releases the lease): the other takes over at its next attempt.
  first.stop();
  EXPECT_FALSE(firstOwner.owns("outbox-retention"));
  ASSERT_TRUE(eventually([&] {
    clock.advance(100ms);
    return secondOwner.owns("outbox-retention");
  }));
  EXPECT_EQ(second.status().epoch, 2);
  second.stop();
  store->close();
}

}  // namespace
}  // namespace orders
