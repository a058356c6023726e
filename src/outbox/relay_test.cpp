// The relay's logic against in-memory fakes of OutboxStore and ConfirmedPublisher: ordering,
// the bounded window, every failure path (nack, return, confirm timeout, connection loss, broker
// down, blocked, failed marks, a stuck publish) and start/stop.

#include "outbox/relay.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/manual_clock.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

// ---------------------------------------------------------------------------------------------
// An in-memory outbox. markPublished completes on its own thread, like a real store.
class FakeStore final : public OutboxStore {
 public:
  FakeStore() : worker_([this] { work(); }) {}
  ~FakeStore() override {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  /// Appends rows (ids assigned here) and notifies the listener, like a commit.
  void add(std::vector<OutboxMessage> rows) {
    {
      std::lock_guard lock(mutex_);
      for (auto& r : rows) {
        r.id = ++lastId_;
        rows_[r.id] = Row{std::move(r), std::nullopt};
      }
    }
    std::lock_guard lock(listenerMutex_);
    if (listener_) listener_();
  }

  Result<std::vector<OutboxMessage>> fetchUnpublished(std::int64_t afterId,
                                                      std::size_t limit) override {
    std::lock_guard lock(mutex_);
    ++fetches_;
    maxLimit_ = std::max(maxLimit_, limit);
    if (failFetches_ > 0) {
      --failFetches_;
      return Error{ErrorCode::kUnavailable, "disk on fire"};
    }
    std::vector<OutboxMessage> out;
    for (auto it = rows_.upper_bound(afterId); it != rows_.end() && out.size() < limit; ++it) {
      if (!it->second.publishedAt) out.push_back(it->second.message);
    }
    return out;
  }

  Result<std::vector<std::int64_t>> pendingIds(std::int64_t afterId, std::int64_t upToId,
                                               std::size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<std::int64_t> ids;
    for (auto it = rows_.upper_bound(afterId);
         it != rows_.end() && it->first <= upToId && ids.size() < limit; ++it) {
      if (!it->second.publishedAt) ids.push_back(it->first);
    }
    return ids;
  }

  Result<std::vector<OutboxEvent>> listEvents(const OutboxEventQuery&) override {
    return Error{ErrorCode::kInternal, "not used by the relay"};
  }

  void markPublished(std::vector<std::int64_t> ids, Timestamp at,
                     std::function<void(Status)> done) override {
    std::lock_guard lock(mutex_);
    jobs_.push_back([this, ids = std::move(ids), at, done = std::move(done)] {
      Status status = okStatus();
      {
        std::lock_guard lock(mutex_);
        if (failMarks_ > 0) {
          --failMarks_;
          status = Error{ErrorCode::kUnavailable, "write failed"};
        } else {
          for (auto id : ids) rows_.at(id).publishedAt = at;
        }
      }
      done(status);
    });
    cv_.notify_all();
  }

  Result<OutboxStats> outboxStats() override {
    std::lock_guard lock(mutex_);
    OutboxStats stats;
    for (const auto& [id, row] : rows_) {
      if (row.publishedAt) {
        ++stats.published;
      } else {
        ++stats.pending;
        if (!stats.oldestPendingAt) stats.oldestPendingAt = row.message.timestamp;
      }
    }
    return stats;
  }

  Result<std::int64_t> deletePublishedBefore(Timestamp cutoff) override {
    std::lock_guard lock(mutex_);
    std::int64_t n = 0;
    for (auto it = rows_.begin(); it != rows_.end();) {
      if (it->second.publishedAt && *it->second.publishedAt < cutoff) {
        it = rows_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  void setOutboxListener(std::function<void()> listener) override {
    std::lock_guard lock(listenerMutex_);
    listener_ = std::move(listener);
  }

  std::int64_t pending() {
    std::lock_guard lock(mutex_);
    std::int64_t n = 0;
    for (const auto& [id, row] : rows_) n += row.publishedAt ? 0 : 1;
    return n;
  }
  bool hasListener() {
    std::lock_guard lock(listenerMutex_);
    return static_cast<bool>(listener_);
  }
  void failNextMarks(int n) {
    std::lock_guard lock(mutex_);
    failMarks_ = n;
  }
  void failNextFetches(int n) {
    std::lock_guard lock(mutex_);
    failFetches_ = n;
  }
  std::size_t maxLimit() {
    std::lock_guard lock(mutex_);
    return maxLimit_;
  }
  std::int64_t fetches() {
    std::lock_guard lock(mutex_);
    return fetches_;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return rows_.size();
  }

 private:
  struct Row {
    OutboxMessage message;
    std::optional<Timestamp> publishedAt;
  };

  void work() {
    std::unique_lock lock(mutex_);
    while (true) {
      cv_.wait(lock, [&] { return closing_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::int64_t, Row> rows_;
  std::int64_t lastId_ = 0;
  std::deque<std::function<void()>> jobs_;
  bool closing_ = false;
  int failMarks_ = 0;
  int failFetches_ = 0;
  std::size_t maxLimit_ = 0;
  std::int64_t fetches_ = 0;
  std::mutex listenerMutex_;
  std::function<void()> listener_;
  std::thread worker_;
};

// ---------------------------------------------------------------------------------------------
// A scriptable broker. Each publisher is one "connection"; accepted messages are appended to
// `delivered` (duplicates included), which is what a consumer queue would contain.
class FakeBroker {
 public:
  std::mutex mutex;
  std::condition_variable cv;
  bool up = true;
  bool confirming = true;              // false: hold confirms (they pile up)
  bool blocked = false;                // connection.blocked is announced on the next poll
  bool stuckPublish = false;           // publish() blocks until abort()
  std::set<std::string> nackOnce;      // messageIds to nack (once)
  std::set<std::string> returnOnce;    // messageIds to return (once)
  std::set<std::string> neverConfirm;  // messageIds whose confirm never comes (once per id)
  int killAfterDelivered = -1;         // drop the connection when `delivered` reaches this
  std::vector<BrokerMessage> delivered;
  std::size_t maxPending = 0;
  int connects = 0;
  int closes = 0;
  int aborts = 0;
  std::uint64_t generation = 0;  // bumped to kill every live connection

  PublisherFactory factory();

  void set(const std::function<void(FakeBroker&)>& change) {
    {
      std::lock_guard lock(mutex);
      change(*this);
    }
    cv.notify_all();
  }
  template <typename T>
  T get(const std::function<T(FakeBroker&)>& read) {
    std::lock_guard lock(mutex);
    return read(*this);
  }
  std::size_t deliveredCount() {
    std::lock_guard lock(mutex);
    return delivered.size();
  }
};

class FakePublisher final : public ConfirmedPublisher {
 public:
  FakePublisher(FakeBroker& broker, std::uint64_t generation)
      : broker_(broker), generation_(generation) {}
  ~FakePublisher() override = default;

  Result<std::uint64_t> publish(const BrokerMessage& m) override {
    std::unique_lock lock(broker_.mutex);
    if (dead(lock)) return Error{ErrorCode::kUnavailable, "connection lost"};
    if (broker_.stuckPublish) {
      broker_.cv.wait(lock, [&] { return aborted_ || !broker_.stuckPublish; });
      if (aborted_) return Error{ErrorCode::kUnavailable, "socket shut down"};
    }
    const std::uint64_t tag = nextTag_++;
    pending_.push_back({tag, m});
    broker_.maxPending = std::max(broker_.maxPending, pending_.size());
    broker_.cv.notify_all();
    return tag;
  }

  PublisherEvents poll(std::chrono::milliseconds timeout) override {
    PublisherEvents ev;
    std::unique_lock lock(broker_.mutex);
    broker_.cv.wait_for(lock, timeout, [&] {
      return woken_ || dead(lock) || broker_.blocked != blockedSent_ ||
             (broker_.confirming && !broker_.blocked && confirmable() > 0);
    });
    woken_ = false;
    if (dead(lock)) {
      ev.failure = Error{ErrorCode::kUnavailable, "connection reset by peer"};
      return ev;
    }
    if (broker_.blocked != blockedSent_) {
      blockedSent_ = broker_.blocked;
      ev.flow = blockedSent_ ? PublisherEvents::Flow::kBlocked : PublisherEvents::Flow::kUnblocked;
      ev.blockedReason = blockedSent_ ? "low on memory" : "";
    }
    if (!broker_.confirming || broker_.blocked) return ev;
    // Confirm everything pending, compressing runs of acks into one `multiple` ack.
    std::uint64_t lastAck = 0;
    while (!pending_.empty()) {
      auto& [tag, m] = pending_.front();
      if (broker_.neverConfirm.count(m.messageId) != 0) break;  // blocks everything after it
      if (broker_.nackOnce.erase(m.messageId) != 0) {
        if (lastAck != 0) ev.confirms.push_back({lastAck, true, true});
        lastAck = 0;
        ev.confirms.push_back({tag, false, false});
      } else if (broker_.returnOnce.erase(m.messageId) != 0) {
        ev.returns.push_back({m.messageId, 312, "NO_ROUTE", m.exchange, m.routingKey});
        lastAck = tag;
      } else {
        broker_.delivered.push_back(m);
        lastAck = tag;
        if (broker_.killAfterDelivered >= 0 &&
            broker_.delivered.size() >= static_cast<std::size_t>(broker_.killAfterDelivered)) {
          broker_.killAfterDelivered = -1;
          ++broker_.generation;  // connection drops before this confirm goes out
          pending_.clear();
          ev.failure = Error{ErrorCode::kUnavailable, "connection reset by peer"};
          return ev;
        }
      }
      pending_.pop_front();
    }
    if (lastAck != 0) ev.confirms.push_back({lastAck, ev.confirms.empty() || true, true});
    return ev;
  }

  void wakeup() override {
    {
      std::lock_guard lock(broker_.mutex);
      woken_ = true;
    }
    broker_.cv.notify_all();
  }

  void abort() override {
    {
      std::lock_guard lock(broker_.mutex);
      aborted_ = true;
      ++broker_.aborts;
    }
    broker_.cv.notify_all();
  }

  void close(std::chrono::milliseconds) override {
    std::lock_guard lock(broker_.mutex);
    ++broker_.closes;
  }

 private:
  bool dead(std::unique_lock<std::mutex>&) const {
    return aborted_ || generation_ != broker_.generation || !broker_.up;
  }
  std::size_t confirmable() const {
    if (pending_.empty()) return 0;
    return broker_.neverConfirm.count(pending_.front().second.messageId) != 0 ? 0 : 1;
  }

  FakeBroker& broker_;
  const std::uint64_t generation_;
  std::uint64_t nextTag_ = 1;
  std::deque<std::pair<std::uint64_t, BrokerMessage>> pending_;
  bool woken_ = false;
  bool aborted_ = false;
  bool blockedSent_ = false;
};

PublisherFactory FakeBroker::factory() {
  return [this]() -> Result<std::unique_ptr<ConfirmedPublisher>> {
    std::lock_guard lock(mutex);
    if (!up) return Error{ErrorCode::kUnavailable, "cannot connect: connection refused"};
    ++connects;
    return std::unique_ptr<ConfirmedPublisher>(std::make_unique<FakePublisher>(*this, generation));
  };
}

// ---------------------------------------------------------------------------------------------

/// `orders` orders with `perOrder` events each, interleaved as concurrent requests would be.
std::vector<OutboxMessage> makeRows(int orders, int perOrder, int firstOrder = 0) {
  std::vector<OutboxMessage> rows;
  for (int e = 0; e < perOrder; ++e) {
    for (int o = firstOrder; o < firstOrder + orders; ++o) {
      OutboxMessage m;
      m.messageId = "msg-" + std::to_string(o) + "-" + std::to_string(e + 1);
      m.messageType = e == 0 ? "OrderCreatedEvent" : "OrderStatusChangedEvent";
      m.messageVersion = "1.0";
      m.partitionKey = "order-" + std::to_string(o);
      m.sequence = e + 1;
      m.correlationId = o % 2 == 0 ? "corr-" + std::to_string(o) : "";
      m.source = "OrderService";
      m.timestamp = Timestamp(std::chrono::milliseconds(1700000000123LL + o));
      m.body = R"({"messageId":")" + m.messageId + R"(","payload":{}})";
      rows.push_back(std::move(m));
    }
  }
  return rows;
}

/// Every row arrived at least once.
void expectComplete(const std::vector<BrokerMessage>& delivered,
                    const std::vector<OutboxMessage>& rows) {
  std::set<std::string> seen;
  for (const auto& m : delivered) seen.insert(m.messageId);
  EXPECT_EQ(seen.size(), rows.size());
  for (const auto& r : rows) EXPECT_EQ(seen.count(r.messageId), 1u) << r.messageId << " lost";
}

/// Every row arrived at least once, and each order's events first arrived in sequence order.
void expectCompleteAndOrdered(const std::vector<BrokerMessage>& delivered,
                              const std::vector<OutboxMessage>& rows) {
  std::set<std::string> seen;
  std::map<std::string, std::int64_t> lastSequence;
  for (const auto& m : delivered) {
    if (!seen.insert(m.messageId).second) continue;  // a duplicate: consumers drop it
    std::string partition;
    std::int64_t sequence = 0;
    for (const auto& h : m.headers) {
      if (h.name == "partitionKey") partition = std::get<std::string>(h.value);
      if (h.name == "sequence") sequence = std::get<std::int64_t>(h.value);
    }
    EXPECT_EQ(sequence, lastSequence[partition] + 1) << m.messageId << " arrived out of order";
    lastSequence[partition] = sequence;
  }
  EXPECT_EQ(seen.size(), rows.size());
  for (const auto& r : rows) EXPECT_EQ(seen.count(r.messageId), 1u) << r.messageId << " lost";
}

RelayOptions fastOptions() {
  RelayOptions o;
  o.windowMessages = 64;
  o.fetchBatch = 16;
  o.confirmTimeout = 300ms;
  o.fallbackPollInterval = 10s;  // commits must wake the relay, not the poll
  o.backoffInitial = 5ms;
  o.backoffMax = 50ms;
  o.drainTimeout = 2s;
  o.statsInterval = 10ms;
  return o;
}

struct RelayTest : ::testing::Test {
  testing::ManualClock clock{Timestamp(std::chrono::milliseconds(1700000000000))};
  FakeStore store;
  FakeBroker broker;

  std::unique_ptr<Relay> makeRelay(RelayOptions options = fastOptions()) {
    return std::make_unique<Relay>(store, broker.factory(), clock, options);
  }
  std::vector<BrokerMessage> delivered() {
    std::lock_guard lock(broker.mutex);
    return broker.delivered;
  }
};

TEST(RelayMessage, CarriesEveryPropertyAndHeader) {
  OutboxMessage row;
  row.id = 7;
  row.messageId = "msg-f47ac10b-58cc-4372-a567-0e02b2c3d479";
  row.messageType = "OrderShippedEvent";
  row.messageVersion = "1.0";
  row.partitionKey = "order-abc-123";
  row.sequence = 4;
  row.correlationId = "corr-1";
  row.source = "OrderService";
  row.timestamp = Timestamp(std::chrono::milliseconds(1700000000789));
  row.body = R"({"messageType":"OrderShippedEvent"})";
  const BrokerMessage m = Relay::toBrokerMessage(row, "order.events");
  EXPECT_EQ(m.exchange, "order.events");
  EXPECT_EQ(m.routingKey, "OrderShippedEvent");
  EXPECT_EQ(m.body, row.body);
  EXPECT_TRUE(m.mandatory);
  EXPECT_TRUE(m.persistent);
  EXPECT_EQ(m.contentType, "application/json");
  EXPECT_EQ(m.messageId, row.messageId);
  EXPECT_EQ(m.type, "OrderShippedEvent");
  EXPECT_EQ(m.appId, "OrderService");
  EXPECT_EQ(m.correlationId, "corr-1");
  EXPECT_EQ(m.timestampSeconds, 1700000000);
  EXPECT_EQ(m.headers, (std::vector<MessageHeader>{{"messageVersion", std::string("1.0")},
                                                   {"partitionKey", std::string("order-abc-123")},
                                                   {"sequence", std::int64_t{4}}}));
  row.correlationId.clear();
  EXPECT_EQ(Relay::toBrokerMessage(row, "x").correlationId, "");
}

TEST_F(RelayTest, PublishesEveryRowInIdOrderAndMarksItAfterTheAck) {
  const auto rows = makeRows(20, 5);
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  const auto got = delivered();
  ASSERT_EQ(got.size(), rows.size()) << "no failure, so no duplicate";
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(got[i].messageId, rows[i].messageId);
  expectCompleteAndOrdered(got, rows);
  ASSERT_TRUE(waitUntil([&] { return relay->status().publishedCount == rows.size(); }));
  auto st = relay->status();
  EXPECT_EQ(st.state, RelayStatus::State::kConnected);
  EXPECT_TRUE(st.ready());
  EXPECT_EQ(st.connectCount, 1u);
  EXPECT_EQ(st.republishedCount, 0u);
  EXPECT_TRUE(waitUntil([&] { return relay->status().backlog == 0; }));
  relay->stop();
  EXPECT_EQ(relay->status().state, RelayStatus::State::kStopped);
  EXPECT_FALSE(store.hasListener());
  EXPECT_EQ(broker.get<int>([](FakeBroker& b) { return b.closes; }), 1);
}

TEST_F(RelayTest, ACommitWakesAnIdleRelayAtOnce) {
  auto relay = makeRelay();  // fallback poll every 10 s: only the listener can be this fast
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return relay->status().state == RelayStatus::State::kConnected; }));
  std::this_thread::sleep_for(50ms);  // let it go idle
  for (int i = 0; i < 5; ++i) {
    const auto before = std::chrono::steady_clock::now();
    store.add(makeRows(1, 1, i));
    ASSERT_TRUE(
        waitUntil([&] { return broker.deliveredCount() == static_cast<std::size_t>(i + 1); }, 2s));
    EXPECT_LT(std::chrono::steady_clock::now() - before, 200ms);
  }
}

TEST_F(RelayTest, KeepsAtMostTheWindowInFlightWhateverTheBacklog) {
  broker.set([](FakeBroker& b) { b.confirming = false; });
  const auto rows = makeRows(500, 4);
  store.add(rows);
  auto options = fastOptions();
  options.confirmTimeout = 10s;
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return relay->status().inFlight == 64; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(broker.get<std::size_t>([](FakeBroker& b) { return b.maxPending; }), 64u);
  EXPECT_LE(store.maxLimit(), 16u) << "never fetches more than a batch";
  broker.set([](FakeBroker& b) { b.confirming = true; });
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  EXPECT_EQ(broker.get<std::size_t>([](FakeBroker& b) { return b.maxPending; }), 64u);
  expectCompleteAndOrdered(delivered(), rows);
}

TEST_F(RelayTest, ANackRepublishesFromTheFirstUnconfirmedRow) {
  const auto rows = makeRows(30, 4);
  broker.set([&](FakeBroker& b) { b.nackOnce.insert(rows[50].messageId); });
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  expectCompleteAndOrdered(delivered(), rows);
  auto st = relay->status();
  EXPECT_EQ(st.nackCount, 1u);
  EXPECT_GE(st.connectCount, 2u) << "a nack reopens the channel";
  EXPECT_GE(st.republishedCount, 1u);
  EXPECT_NE(st.lastError.find("nacked message " + rows[50].messageId), std::string::npos)
      << st.lastError;
}

TEST_F(RelayTest, AReturnedMessageIsNotMarkedAndIsPublishedAgain) {
  const auto rows = makeRows(10, 2);
  broker.set([&](FakeBroker& b) { b.returnOnce.insert(rows[7].messageId); });
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  // Not an ordering check: the fake has one global stream, but a returned message reached no
  // queue at all, so no real queue saw the later event of that order before it.
  expectComplete(delivered(), rows);
  auto st = relay->status();
  EXPECT_EQ(st.returnCount, 1u);
  EXPECT_NE(st.lastError.find("returned by the broker: 312 NO_ROUTE"), std::string::npos)
      << st.lastError;
}

TEST_F(RelayTest, AMissingConfirmTimesOutAndIsRepublished) {
  const auto rows = makeRows(10, 3);
  broker.set([&](FakeBroker& b) { b.neverConfirm.insert(rows[12].messageId); });
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return relay->status().timeoutCount >= 1; }));
  auto st = relay->status();
  EXPECT_NE(st.lastError.find("no confirm within 300 ms for message " + rows[12].messageId),
            std::string::npos)
      << st.lastError;
  broker.set([&](FakeBroker& b) { b.neverConfirm.clear(); });
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  expectCompleteAndOrdered(delivered(), rows);
  EXPECT_TRUE(waitUntil([&] { return relay->status().ready(); }));
}

TEST_F(RelayTest, ConnectionLossMidDrainLosesNothing) {
  const auto rows = makeRows(100, 5);
  broker.set([](FakeBroker& b) { b.killAfterDelivered = 137; });
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  const auto got = delivered();
  EXPECT_GT(got.size(), rows.size()) << "the unconfirmed delivered message comes again";
  expectCompleteAndOrdered(got, rows);
  EXPECT_GE(relay->status().connectCount, 2u);
}

TEST_F(RelayTest, ReportsDegradedWithTheBacklogWhileTheBrokerIsDownThenDelivers) {
  broker.set([](FakeBroker& b) { b.up = false; });
  const auto rows = makeRows(25, 2);
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] {
    auto st = relay->status();
    return st.state == RelayStatus::State::kDegraded && st.backlog == 50;
  }));
  auto st = relay->status();
  EXPECT_FALSE(st.ready());
  EXPECT_NE(st.reason.find("broker unreachable: cannot connect"), std::string::npos) << st.reason;
  EXPECT_TRUE(st.oldestPendingAt.has_value());
  broker.set([](FakeBroker& b) { b.up = true; });
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  expectCompleteAndOrdered(delivered(), rows);
  EXPECT_TRUE(waitUntil([&] { return relay->status().ready() && relay->status().backlog == 0; }));
  EXPECT_TRUE(relay->status().reason.empty());
}

TEST_F(RelayTest, PausesWhileBlockedAndResumesWhenUnblocked) {
  auto relay = makeRelay();
  relay->start();
  store.add(makeRows(2, 1));
  ASSERT_TRUE(waitUntil([&] { return broker.deliveredCount() == 2; }));
  broker.set([](FakeBroker& b) { b.blocked = true; });
  ASSERT_TRUE(waitUntil([&] { return relay->status().state == RelayStatus::State::kBlocked; }));
  EXPECT_EQ(relay->status().reason, "blocked by the broker: low on memory");
  EXPECT_FALSE(relay->status().ready());
  const auto more = makeRows(3, 1, 10);
  store.add(more);
  std::this_thread::sleep_for(400ms);  // longer than confirmTimeout: no timeout while blocked
  EXPECT_EQ(broker.deliveredCount(), 2u);
  EXPECT_EQ(relay->status().timeoutCount, 0u);
  EXPECT_EQ(relay->status().connectCount, 1u);
  broker.set([](FakeBroker& b) { b.blocked = false; });
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  EXPECT_TRUE(relay->status().ready());
}

TEST_F(RelayTest, AFailedMarkIsPublishedAgainNotForgotten) {
  store.failNextMarks(1);
  const auto rows = makeRows(10, 2);
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  EXPECT_GT(broker.deliveredCount(), rows.size());
  expectCompleteAndOrdered(delivered(), rows);
  EXPECT_NE(relay->status().lastError.find("marking rows published failed"), std::string::npos);
}

TEST_F(RelayTest, AnUnreadableStoreDegradesAndRecovers) {
  auto options = fastOptions();
  options.fallbackPollInterval = 20ms;
  auto relay = makeRelay(options);
  store.failNextFetches(1000000);
  store.add(makeRows(3, 1));
  relay->start();
  ASSERT_TRUE(waitUntil([&] {
    return relay->status().reason.find("outbox store unreadable: disk on fire") !=
           std::string::npos;
  }));
  store.failNextFetches(0);
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  EXPECT_TRUE(waitUntil([&] { return relay->status().ready(); }));
}

TEST_F(RelayTest, AStuckPublishIsAbortedByTheWatchdog) {
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return relay->status().ready(); }));
  broker.set([](FakeBroker& b) { b.stuckPublish = true; });
  const auto rows = makeRows(2, 1);
  store.add(rows);
  ASSERT_TRUE(
      waitUntil([&] { return broker.get<int>([](FakeBroker& b) { return b.aborts; }) > 0; }));
  broker.set([](FakeBroker& b) { b.stuckPublish = false; });
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  expectCompleteAndOrdered(delivered(), rows);
  EXPECT_NE(relay->status().lastError.find("publish failed"), std::string::npos)
      << relay->status().lastError;
}

TEST_F(RelayTest, StopWaitsForInFlightConfirmsAndMarks) {
  broker.set([](FakeBroker& b) { b.confirming = false; });
  const auto rows = makeRows(10, 1);
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return relay->status().inFlight == 10; }));
  std::thread confirmLater([&] {
    std::this_thread::sleep_for(100ms);
    broker.set([](FakeBroker& b) { b.confirming = true; });
  });
  relay->stop();
  confirmLater.join();
  EXPECT_EQ(store.pending(), 0) << "in-flight rows were confirmed and marked before stop returned";
  EXPECT_EQ(relay->status().state, RelayStatus::State::kStopped);
}

TEST_F(RelayTest, StopGivesUpAfterTheDrainTimeoutAndTheNextStartRepublishes) {
  broker.set([](FakeBroker& b) { b.confirming = false; });
  const auto rows = makeRows(5, 1);
  store.add(rows);
  auto options = fastOptions();
  options.drainTimeout = 100ms;
  options.confirmTimeout = 10s;
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return relay->status().inFlight == 5; }));
  const auto before = std::chrono::steady_clock::now();
  relay->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  EXPECT_EQ(store.pending(), 5);
  broker.set([](FakeBroker& b) { b.confirming = true; });
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }));
  relay->stop();
  relay->stop();  // idempotent
}

TEST_F(RelayTest, DrainsALargeBacklogWithBoundedFetches) {
  const auto rows = makeRows(2000, 5);
  store.add(rows);
  auto options = fastOptions();
  options.windowMessages = 1000;
  options.fetchBatch = 500;
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(waitUntil([&] { return store.pending() == 0; }, 30s));
  EXPECT_LE(broker.get<std::size_t>([](FakeBroker& b) { return b.maxPending; }), 1000u);
  EXPECT_LE(store.maxLimit(), 500u);
  expectCompleteAndOrdered(delivered(), rows);
}

}  // namespace
}  // namespace orders
