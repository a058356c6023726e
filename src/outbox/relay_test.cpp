// The relay's logic against in-memory fakes of OutboxStore and ConfirmedPublisher: ordering,
// the bounded window, every failure path (nack, return, confirm timeout, connection loss, broker
// down, blocked, failed marks, a stuck publish), rows that become visible late, start/stop, and
// leadership by a fake RelayLease (stepping down in time, fenced marks, a new epoch).
//
// Time is a ManualClock: deadlines (confirm timeout, backoff, polls, sweeps, drain) pass only
// when a test moves it, either step by step while it waits for a condition (drive) or by a set
// amount. Nothing sleeps a fixed time and nothing asserts on wall-clock latency.

#include "outbox/relay.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/manual_clock.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;

/// Polls `done` (the relay runs on its own threads) for up to ten real seconds, fake time frozen.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 10000 && !done(); ++i) std::this_thread::sleep_for(1ms);
  return done();
}

/// Like eventually(), moving `clock` forward by `step` between polls: for conditions that need
/// deadlines to pass (backoff, recounts, timeouts). At most 20 000 steps.
bool drive(testing::ManualClock& clock, const std::function<bool()>& done,
           std::chrono::milliseconds step = 10ms) {
  for (int i = 0; i < 20000 && !done(); ++i) {
    clock.advance(step);
    std::this_thread::sleep_for(1ms);
  }
  return done();
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
        const std::int64_t id = r.id;
        rows_[id] = Row{std::move(r), std::nullopt};
      }
    }
    notify();
  }
  /// Gives `row` the next id without making it visible: a transaction that took its id from a
  /// sequence and has not committed yet (PostgreSQL). reveal() commits it.
  std::int64_t reserve(OutboxMessage row) {
    std::lock_guard lock(mutex_);
    row.id = ++lastId_;
    invisible_[row.id] = std::move(row);
    return lastId_;
  }
  void reveal(std::int64_t id) {
    {
      std::lock_guard lock(mutex_);
      rows_[id] = Row{std::move(invisible_.at(id)), std::nullopt};
      invisible_.erase(id);
    }
    notify();
  }
  /// While held, markPublished calls queue up without completing.
  void holdMarks(bool hold) {
    {
      std::lock_guard lock(mutex_);
      holdMarks_ = hold;
    }
    cv_.notify_all();
  }
  std::size_t queuedMarks() {
    std::lock_guard lock(mutex_);
    return jobs_.size();
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
    ++pendingIdCalls_;
    if (failPendingIds_ > 0) {
      --failPendingIds_;
      return Error{ErrorCode::kUnavailable, "index on fire"};
    }
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

  bool idsVisibleInCommitOrder() const override { return idsInCommitOrder_; }
  /// Before the relay starts: ids assigned in commit order, as SQLite does.
  void setIdsVisibleInCommitOrder() { idsInCommitOrder_ = true; }
  std::int64_t pendingIdCalls() {
    std::lock_guard lock(mutex_);
    return pendingIdCalls_;
  }

  void markPublished(std::vector<std::int64_t> ids, Timestamp at, std::int64_t epoch,
                     std::function<void(Status)> done) override {
    std::lock_guard lock(mutex_);
    jobs_.push_back([this, ids = std::move(ids), at, epoch, done = std::move(done)] {
      Status status = okStatus();
      {
        std::lock_guard lock(mutex_);
        markEpochs_.insert(epoch);
        if (fence_ && !fence_(epoch)) {
          status = Error{ErrorCode::kFenced, "epoch " + std::to_string(epoch) + " is not current"};
        } else if (failMarks_ > 0) {
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
  /// Marks are committed only for epochs `current` accepts (the lease check of a real store).
  void setFence(std::function<bool(std::int64_t)> current) {
    std::lock_guard lock(mutex_);
    fence_ = std::move(current);
  }
  std::set<std::int64_t> markEpochs() {
    std::lock_guard lock(mutex_);
    return markEpochs_;
  }
  void failNextFetches(int n) {
    std::lock_guard lock(mutex_);
    failFetches_ = n;
  }
  void failNextPendingIds(int n) {
    std::lock_guard lock(mutex_);
    failPendingIds_ = n;
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

  void notify() {
    std::lock_guard lock(listenerMutex_);
    if (listener_) listener_();
  }

  void work() {
    std::unique_lock lock(mutex_);
    while (true) {
      cv_.wait(lock, [&] { return closing_ || (!jobs_.empty() && !holdMarks_); });
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
  std::map<std::int64_t, OutboxMessage> invisible_;
  bool holdMarks_ = false;
  std::int64_t lastId_ = 0;
  std::deque<std::function<void()>> jobs_;
  bool closing_ = false;
  int failMarks_ = 0;
  std::function<bool(std::int64_t)> fence_;
  std::set<std::int64_t> markEpochs_;
  int failFetches_ = 0;
  int failPendingIds_ = 0;
  std::int64_t pendingIdCalls_ = 0;
  bool idsInCommitOrder_ = false;  // read by the relay thread; set before it starts
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
  bool holdLast = false;               // the newest message is confirmed only once another came
  std::vector<BrokerMessage> delivered;
  std::size_t maxPending = 0;
  int connects = 0;
  int closes = 0;
  int aborts = 0;
  int attempts = 0;              // factory calls, failed ones included
  int publishes = 0;             // publish() calls that were accepted
  const Clock* clock = nullptr;  // when set: publishTimes records each publish() on it
  std::vector<SteadyTime> publishTimes;
  int polls = 0;                 // poll() calls that returned
  int wakeups = 0;               // wakeup() calls
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
  int pollCount() {
    return get<int>([](FakeBroker& b) { return b.polls; });
  }
  int wakeupCount() {
    return get<int>([](FakeBroker& b) { return b.wakeups; });
  }
  /// How often `messageId` was delivered.
  std::size_t deliveries(const std::string& messageId) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(
        std::count_if(delivered.begin(), delivered.end(),
                      [&](const BrokerMessage& m) { return m.messageId == messageId; }));
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
    ++broker_.publishes;
    if (broker_.clock != nullptr) broker_.publishTimes.push_back(broker_.clock->steadyNow());
    pending_.push_back({tag, m});
    broker_.maxPending = std::max(broker_.maxPending, pending_.size());
    broker_.cv.notify_all();
    return tag;
  }

  PublisherEvents poll(std::chrono::milliseconds timeout) override {
    PublisherEvents ev;
    std::unique_lock lock(broker_.mutex);
    // Real time, like a socket's poll(2): the relay bounds it with timeouts from its clock.
    broker_.cv.wait_for(lock, timeout, [&] {
      return woken_ || dead(lock) || broker_.blocked != blockedSent_ ||
             (broker_.confirming && !broker_.blocked && confirmable() > 0);
    });
    ++broker_.polls;
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
    while (pending_.size() > (broker_.holdLast ? 1u : 0u)) {
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
      ++broker_.wakeups;
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
    if (pending_.size() <= (broker_.holdLast ? 1u : 0u)) return 0;
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
    ++attempts;
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

/// Fake-time options: deadlines far enough that a slow machine never reaches them by accident
/// while a test drives the clock; the tests about a deadline set their own.
RelayOptions fastOptions() {
  RelayOptions o;
  o.windowMessages = 64;
  o.fetchBatch = 16;
  o.confirmTimeout = 30s;
  o.fallbackPollInterval = 600s;  // commits must wake the relay, not the poll
  o.lateRowSweepInterval = 600s;
  o.backoffInitial = 5ms;
  o.backoffMax = 50ms;
  o.backoffSeed = 42;
  o.drainTimeout = 2s;
  o.statsInterval = 10ms;
  return o;
}

/// What the relay told its observer (RelayOptions::observer).
struct RecordingObserver final : RelayObserver {
  mutable std::mutex mutex;
  std::map<std::string, std::uint64_t> confirmedByType;
  std::uint64_t confirmedWithEventTime = 0;  // the row's timestamp came along (commit-to-confirm)
  std::map<PublishFailure, int> failures;
  std::uint64_t unconfirmed = 0;
  int firstConnections = 0;
  int reconnections = 0;
  std::vector<bool> blocked;

  void confirmed(std::span<const ConfirmedPublication> messages, Timestamp) override {
    std::lock_guard lock(mutex);
    for (const auto& m : messages) {
      ++confirmedByType[std::string(m.messageType)];
      if (m.eventTime.time_since_epoch().count() > 0) ++confirmedWithEventTime;
    }
  }
  void publishFailed(PublishFailure failure, std::uint64_t count) override {
    std::lock_guard lock(mutex);
    ++failures[failure];
    unconfirmed += count;
  }
  void connected(bool reconnect) override {
    std::lock_guard lock(mutex);
    ++(reconnect ? reconnections : firstConnections);
  }
  void blockedChanged(bool now) override {
    std::lock_guard lock(mutex);
    blocked.push_back(now);
  }
  int failuresOf(PublishFailure failure) const {
    std::lock_guard lock(mutex);
    auto it = failures.find(failure);
    return it == failures.end() ? 0 : it->second;
  }
  std::uint64_t confirmedTotal() const {
    std::lock_guard lock(mutex);
    std::uint64_t total = 0;
    for (const auto& [type, n] : confirmedByType) total += n;
    return total;
  }
};

/// The relay lease as a store would answer it, scripted: grants (a new epoch after anyone else
/// held it), refusals while "another instance" holds it, or a store that cannot answer.
class FakeLease final : public RelayLease {
 public:
  enum class Answer { kGrant, kRefuse, kUnavailable };

  Result<std::optional<LeaseGrant>> acquireOrRenew(const std::string& holder,
                                                   std::chrono::milliseconds ttl) override {
    std::lock_guard lock(mutex_);
    ++calls_;
    holder_ = holder;
    ttl_ = ttl;
    switch (answer_) {
      case Answer::kUnavailable:
        return Error{ErrorCode::kUnavailable, "database unreachable"};
      case Answer::kRefuse:
        return std::optional<LeaseGrant>();
      case Answer::kGrant:
        break;
    }
    if (!ours_) {
      ++epoch_;
      ours_ = true;
    }
    return std::optional<LeaseGrant>(LeaseGrant{epoch_});
  }

  Status release(const std::string& holder, std::int64_t epoch) override {
    std::lock_guard lock(mutex_);
    releases_.push_back(epoch);
    if (holder == holder_ && epoch == epoch_) ours_ = false;
    return okStatus();
  }

  void answer(Answer answer) {
    std::lock_guard lock(mutex_);
    answer_ = answer;
  }
  /// Another instance acquires (the next epoch) and holds it: we are refused from now on.
  void takenOver() {
    std::lock_guard lock(mutex_);
    ++epoch_;
    ours_ = false;
    answer_ = Answer::kRefuse;
  }
  /// The store's view for FakeStore::setFence: marks pass only for the epoch we hold.
  bool current(std::int64_t epoch) {
    std::lock_guard lock(mutex_);
    return ours_ && epoch == epoch_;
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<std::int64_t> releases() {
    std::lock_guard lock(mutex_);
    return releases_;
  }
  std::string holder() {
    std::lock_guard lock(mutex_);
    return holder_;
  }

 private:
  std::mutex mutex_;
  Answer answer_ = Answer::kGrant;
  std::int64_t epoch_ = 0;
  bool ours_ = false;
  int calls_ = 0;
  std::string holder_;
  std::chrono::milliseconds ttl_{0};
  std::vector<std::int64_t> releases_;
};

struct RelayTest : ::testing::Test {
  testing::ManualClock clock{Timestamp(std::chrono::milliseconds(1700000000000))};
  FakeStore store;
  FakeBroker broker;

  std::unique_ptr<Relay> makeRelay(const RelayOptions& options = fastOptions()) {
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

TEST(RelayMessage, ALaterMajorIsRoutedByAKeyOfItsOwnAndKeepsItsType) {
  OutboxMessage row;
  row.messageId = "msg-1";
  row.messageType = "OrderCreatedEvent";
  row.messageVersion = "2.0";
  row.partitionKey = "order-abc-123";
  row.sequence = 1;
  row.source = "OrderService";
  row.body = R"({"messageType":"OrderCreatedEvent"})";
  const BrokerMessage v2 = Relay::toBrokerMessage(row, "order.events");
  EXPECT_EQ(v2.routingKey, "OrderCreatedEvent.v2");
  EXPECT_EQ(v2.type, "OrderCreatedEvent");
  EXPECT_EQ(v2.headers[0], (MessageHeader{"messageVersion", std::string("2.0")}));
  row.messageVersion = "1.3";
  EXPECT_EQ(Relay::toBrokerMessage(row, "order.events").routingKey, "OrderCreatedEvent");
}

TEST(RelayMessage, CarriesTheEventsTraceContextAsHeaders) {
  OutboxMessage row;
  row.messageType = "OrderCreatedEvent";
  row.messageVersion = "1.0";
  row.partitionKey = "order-abc-123";
  row.sequence = 1;
  row.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";
  row.tracestate = "congo=t61rcWkgMzE";
  const std::vector<MessageHeader> base{{"messageVersion", std::string("1.0")},
                                        {"partitionKey", std::string("order-abc-123")},
                                        {"sequence", std::int64_t{1}}};
  auto expected = base;
  expected.push_back({"traceparent", row.traceparent});
  expected.push_back({"tracestate", row.tracestate});
  EXPECT_EQ(Relay::toBrokerMessage(row, "order.events").headers, expected);

  row.tracestate.clear();
  expected.pop_back();
  EXPECT_EQ(Relay::toBrokerMessage(row, "order.events").headers, expected);

  row.traceparent.clear();  // an untraced row (written before the trace columns existed)
  EXPECT_EQ(Relay::toBrokerMessage(row, "order.events").headers, base);
}

TEST_F(RelayTest, PublishesEveryRowInIdOrderAndMarksItAfterTheAck) {
  const auto rows = makeRows(20, 5);
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  const auto got = delivered();
  ASSERT_EQ(got.size(), rows.size()) << "no failure, so no duplicate";
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(got[i].messageId, rows[i].messageId);
  expectCompleteAndOrdered(got, rows);
  ASSERT_TRUE(eventually([&] { return relay->status().publishedCount == rows.size(); }));
  auto st = relay->status();
  EXPECT_EQ(st.state, RelayStatus::State::kConnected);
  EXPECT_TRUE(st.ready());
  EXPECT_EQ(st.connectCount, 1u);
  EXPECT_EQ(st.republishedCount, 0u);
  EXPECT_EQ(st.lateRowCount, 0u);
  EXPECT_TRUE(drive(clock, [&] { return relay->status().backlog == 0; })) << "recounted";
  relay->stop();
  EXPECT_EQ(relay->status().state, RelayStatus::State::kStopped);
  EXPECT_FALSE(store.hasListener());
  EXPECT_EQ(broker.get<int>([](FakeBroker& b) { return b.closes; }), 1);
}

TEST_F(RelayTest, ACommitWakesAnIdleRelayWithoutAnyTimePassing) {
  // The clock never moves here: no poll or sweep can come due, only the listener wakes it.
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(eventually([&] { return store.fetches() == 1; })) << "found nothing: idle";
  for (int i = 0; i < 5; ++i) {
    store.add(makeRows(1, 1, i));
    ASSERT_TRUE(
        eventually([&] { return broker.deliveredCount() == static_cast<std::size_t>(i + 1); }));
  }
  EXPECT_EQ(store.fetches(), 6) << "one fetch at start, then one per commit";
}

TEST_F(RelayTest, ACommitWhileMessagesAreInFlightLingersAndGoesOutAsOneBurst) {
  broker.set([](FakeBroker& b) { b.confirming = false; });
  auto options = fastOptions();
  options.linger = 5ms;
  auto relay = makeRelay(options);
  relay->start();
  // Idle first: a row added before the start's fetch would be found by that fetch, and its
  // commit's wake-up would then arrive with the row in flight (a linger).
  ASSERT_TRUE(eventually([&] { return store.fetches() == 1; })) << "found nothing: idle";
  store.add(makeRows(1, 1, 0));
  ASSERT_TRUE(eventually([&] { return relay->status().sentCount == 1; })) << "idle: at once";
  EXPECT_EQ(relay->status().burstCount, 1u);
  EXPECT_EQ(relay->status().lingerCount, 0u);
  // Two commits while the first message is unconfirmed: held, fake time frozen.
  store.add(makeRows(1, 1, 1));
  store.add(makeRows(1, 1, 2));
  ASSERT_TRUE(eventually([&] { return relay->status().lingerCount == 1; }));
  const int polls = broker.pollCount();
  ASSERT_TRUE(eventually([&] { return broker.pollCount() >= polls + 3; })) << "went round";
  EXPECT_EQ(relay->status().sentCount, 1u) << "lingering";
  clock.advance(5ms);
  ASSERT_TRUE(eventually([&] { return relay->status().sentCount == 3; }));
  EXPECT_EQ(relay->status().burstCount, 2u) << "both commits in one burst";
  broker.set([](FakeBroker& b) { b.confirming = true; });
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  expectCompleteAndOrdered(delivered(), makeRows(3, 1));
}

TEST_F(RelayTest, TheLingerEndsAsSoonAsEverythingInFlightIsConfirmed) {
  broker.set([](FakeBroker& b) { b.confirming = false; });
  auto options = fastOptions();
  options.linger = 1000ms;  // never reached: the clock does not move
  auto relay = makeRelay(options);
  relay->start();
  store.add(makeRows(1, 1, 0));
  ASSERT_TRUE(eventually([&] { return relay->status().sentCount == 1; }));
  store.add(makeRows(1, 1, 1));
  ASSERT_TRUE(eventually([&] { return relay->status().lingerCount == 1; }));
  EXPECT_EQ(relay->status().sentCount, 1u);
  broker.set([](FakeBroker& b) { b.confirming = true; });
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  EXPECT_EQ(relay->status().sentCount, 2u);
  // The first row's mark waited for the commit behind it: one store call for both.
  ASSERT_TRUE(eventually([&] { return relay->status().publishedCount == 2; }));
  EXPECT_EQ(relay->status().markCallCount, 1u);
  expectCompleteAndOrdered(delivered(), makeRows(2, 1));
}

TEST_F(RelayTest, WithoutLingerEveryCommitIsPublishedAtOnce) {
  broker.set([](FakeBroker& b) { b.confirming = false; });
  auto options = fastOptions();
  options.linger = 0ms;
  auto relay = makeRelay(options);
  relay->start();
  for (int i = 0; i < 3; ++i) {
    store.add(makeRows(1, 1, i));
    ASSERT_TRUE(
        eventually([&] { return relay->status().sentCount == static_cast<std::uint64_t>(i + 1); }));
  }
  EXPECT_EQ(relay->status().burstCount, 3u);
  EXPECT_EQ(relay->status().lingerCount, 0u);
  broker.set([](FakeBroker& b) { b.confirming = true; });
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
}

TEST_F(RelayTest, MarksOfABusyRelayWaitAtMostMarkDelay) {
  // Confirms keep arriving while commits keep waiting: the marks still go out by markDelay.
  auto options = fastOptions();
  options.linger = 0ms;
  options.markDelay = 50ms;
  auto relay = makeRelay(options);
  relay->start();
  for (int i = 0; i < 20; ++i) {
    store.add(makeRows(1, 1, i));
    clock.advance(10ms);
  }
  // The store marks the rows before the relay counts them (in the mark's completion): wait for
  // both, or a busy machine shows the gap between them.
  ASSERT_TRUE(
      drive(clock, [&] { return store.pending() == 0 && relay->status().publishedCount == 20u; }));
  EXPECT_EQ(relay->status().publishedCount, 20u);
  EXPECT_LE(relay->status().markCallCount, 20u);
}

TEST_F(RelayTest, KeepsAtMostTheWindowInFlightWhateverTheBacklog) {
  broker.set([](FakeBroker& b) { b.confirming = false; });
  const auto rows = makeRows(500, 4);
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(eventually([&] { return relay->status().inFlight == 64; }));
  const int polls = broker.pollCount();
  ASSERT_TRUE(eventually([&] { return broker.pollCount() >= polls + 2; })) << "waits, full";
  EXPECT_EQ(broker.get<std::size_t>([](FakeBroker& b) { return b.maxPending; }), 64u);
  EXPECT_LE(store.maxLimit(), 16u) << "never fetches more than a batch";
  broker.set([](FakeBroker& b) { b.confirming = true; });
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  EXPECT_EQ(broker.get<std::size_t>([](FakeBroker& b) { return b.maxPending; }), 64u);
  expectCompleteAndOrdered(delivered(), rows);
}

TEST_F(RelayTest, ANackRepublishesFromTheFirstUnconfirmedRow) {
  const auto rows = makeRows(30, 4);
  broker.set([&](FakeBroker& b) { b.nackOnce.insert(rows[50].messageId); });
  store.add(rows);
  RecordingObserver observer;
  auto options = fastOptions();
  options.observer = &observer;
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));  // through the backoff
  expectCompleteAndOrdered(delivered(), rows);
  EXPECT_EQ(observer.failuresOf(PublishFailure::kNack), 1);
  EXPECT_EQ(observer.firstConnections, 1);
  EXPECT_GE(observer.reconnections, 1);
  EXPECT_GE(observer.unconfirmed, 1u);
  EXPECT_GE(observer.confirmedTotal(), rows.size()) << "every row confirmed, repeats included";
  EXPECT_EQ(observer.confirmedWithEventTime, observer.confirmedTotal());
  EXPECT_GE(observer.confirmedByType["OrderCreatedEvent"], 30u);
  EXPECT_GE(observer.confirmedByType["OrderStatusChangedEvent"], 90u);
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
  RecordingObserver observer;
  auto options = fastOptions();
  options.observer = &observer;
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));
  EXPECT_EQ(observer.failuresOf(PublishFailure::kReturned), 1);
  EXPECT_EQ(observer.failuresOf(PublishFailure::kNack), 0);
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
  auto options = fastOptions();
  options.confirmTimeout = 300ms;
  RecordingObserver observer;
  options.observer = &observer;
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(eventually([&] { return broker.deliveredCount() == 12; })) << "up to the hole";
  EXPECT_EQ(relay->status().timeoutCount, 0u) << "no time has passed";
  ASSERT_TRUE(drive(clock, [&] { return relay->status().timeoutCount >= 1; }));
  auto st = relay->status();
  EXPECT_NE(st.lastError.find("no confirm within 300 ms for message " + rows[12].messageId),
            std::string::npos)
      << st.lastError;
  broker.set([&](FakeBroker& b) { b.neverConfirm.clear(); });
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));
  expectCompleteAndOrdered(delivered(), rows);
  EXPECT_TRUE(drive(clock, [&] { return relay->status().ready(); }));
  EXPECT_GE(observer.failuresOf(PublishFailure::kConfirmTimeout), 1);
}

TEST_F(RelayTest, ConnectionLossMidDrainLosesNothing) {
  const auto rows = makeRows(100, 5);
  broker.set([](FakeBroker& b) { b.killAfterDelivered = 137; });
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));
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
  ASSERT_TRUE(eventually([&] {
    auto st = relay->status();
    return st.state == RelayStatus::State::kDegraded && st.backlog == 50;
  }));
  auto st = relay->status();
  EXPECT_FALSE(st.ready());
  EXPECT_NE(st.reason.find("broker unreachable: cannot connect"), std::string::npos) << st.reason;
  EXPECT_TRUE(st.oldestPendingAt.has_value());
  broker.set([](FakeBroker& b) { b.up = true; });
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; })) << "after the backoff";
  expectCompleteAndOrdered(delivered(), rows);
  EXPECT_TRUE(
      drive(clock, [&] { return relay->status().ready() && relay->status().backlog == 0; }));
  EXPECT_TRUE(relay->status().reason.empty());
}

TEST_F(RelayTest, BacksOffExponentiallyInFakeTimeWhileTheBrokerIsDown) {
  broker.set([](FakeBroker& b) { b.up = false; });
  auto options = fastOptions();
  options.backoffInitial = 1s;
  options.backoffMax = 8s;
  auto relay = makeRelay(options);
  relay->start();
  // Each failed attempt stamps lastErrorAt with the fake wall time: the gaps between attempts
  // are the backoff delays (1, 2, 4, 8 s, each +-20 %), measured in fake time. Were the relay
  // waiting in real time, each gap would be ~10x longer (the clock moves 10 ms per real ms).
  std::vector<Timestamp> attempts;
  ASSERT_TRUE(drive(clock, [&] {
    const auto at = relay->status().lastErrorAt;
    if (at && (attempts.empty() || attempts.back() != *at)) attempts.push_back(*at);
    return attempts.size() == 5;
  }));
  const std::chrono::milliseconds base[] = {1s, 2s, 4s, 8s};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto gap = attempts[i + 1] - attempts[i];
    EXPECT_GE(gap, base[i] * 8 / 10) << "attempt " << i + 2;
    EXPECT_LE(gap, base[i] * 12 / 10 + 3s) << "attempt " << i + 2;
  }
  EXPECT_EQ(broker.get<int>([](FakeBroker& b) { return b.attempts; }), 5);
}

TEST_F(RelayTest, PausesWhileBlockedAndResumesWhenUnblocked) {
  auto options = fastOptions();
  options.confirmTimeout = 300ms;
  RecordingObserver observer;
  options.observer = &observer;
  auto relay = makeRelay(options);
  relay->start();
  store.add(makeRows(2, 1));
  ASSERT_TRUE(eventually([&] { return broker.deliveredCount() == 2; }));
  broker.set([](FakeBroker& b) { b.blocked = true; });
  ASSERT_TRUE(eventually([&] { return relay->status().state == RelayStatus::State::kBlocked; }));
  EXPECT_EQ(relay->status().reason, "blocked by the broker: low on memory");
  EXPECT_FALSE(relay->status().ready());
  const auto more = makeRows(3, 1, 10);
  store.add(more);
  clock.advance(2 * options.confirmTimeout);  // no timeout while blocked
  const int polls = broker.pollCount();
  ASSERT_TRUE(eventually([&] { return broker.pollCount() >= polls + 2; })) << "it saw the time";
  EXPECT_EQ(broker.deliveredCount(), 2u);
  EXPECT_EQ(relay->status().timeoutCount, 0u);
  EXPECT_EQ(relay->status().connectCount, 1u);
  broker.set([](FakeBroker& b) { b.blocked = false; });
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  EXPECT_TRUE(relay->status().ready());
  EXPECT_EQ(relay->status().timeoutCount, 0u) << "deadlines restarted at the unblock";
  std::lock_guard lock(observer.mutex);
  EXPECT_EQ(observer.blocked, (std::vector<bool>{true, false}));
  EXPECT_TRUE(observer.failures.empty());
}

TEST_F(RelayTest, AFailedMarkIsPublishedAgainNotForgotten) {
  store.failNextMarks(1);
  const auto rows = makeRows(10, 2);
  store.add(rows);
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));
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
  ASSERT_TRUE(eventually([&] {
    return relay->status().reason.find("outbox store unreadable: disk on fire") !=
           std::string::npos;
  }));
  const auto fetches = store.fetches();
  ASSERT_TRUE(drive(clock, [&] { return store.fetches() >= fetches + 3; })) << "polled again";
  store.failNextFetches(0);
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));
  EXPECT_TRUE(eventually([&] { return relay->status().ready(); }));
}

TEST_F(RelayTest, AStuckPublishIsAbortedByTheWatchdog) {
  auto options = fastOptions();
  options.confirmTimeout = 1s;
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(eventually([&] { return relay->status().ready(); }));
  broker.set([](FakeBroker& b) { b.stuckPublish = true; });
  const auto rows = makeRows(2, 1);
  store.add(rows);
  ASSERT_TRUE(
      drive(clock, [&] { return broker.get<int>([](FakeBroker& b) { return b.aborts; }) > 0; }));
  broker.set([](FakeBroker& b) { b.stuckPublish = false; });
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));
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
  ASSERT_TRUE(eventually([&] { return relay->status().inFlight == 10; }));
  const int wakeups = broker.wakeupCount();
  auto stopped = std::async(std::launch::async, [&] { relay->stop(); });
  // Confirm only once the relay has seen stop() (it wakes the publisher): with the clock standing
  // still the drain deadline never passes, so stop() returns because the confirms came.
  ASSERT_TRUE(eventually([&] { return broker.wakeupCount() > wakeups; }));
  broker.set([](FakeBroker& b) { b.confirming = true; });
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready) << "stop() hangs";
  EXPECT_EQ(store.pending(), 0) << "in-flight rows were confirmed and marked before stop returned";
  EXPECT_EQ(relay->status().state, RelayStatus::State::kStopped);
}

TEST_F(RelayTest, StopGivesUpAfterTheDrainTimeoutAndTheNextStartRepublishes) {
  broker.set([](FakeBroker& b) { b.confirming = false; });
  const auto rows = makeRows(5, 1);
  store.add(rows);
  auto options = fastOptions();
  options.drainTimeout = 100ms;
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(eventually([&] { return relay->status().inFlight == 5; }));
  auto stopped = std::async(std::launch::async, [&] { relay->stop(); });
  ASSERT_TRUE(drive(clock, [&] {
    return stopped.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  })) << "stop() returns once the drain timeout passed in fake time";
  EXPECT_EQ(store.pending(), 5);
  broker.set([](FakeBroker& b) { b.confirming = true; });
  relay->start();
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
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
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  EXPECT_LE(broker.get<std::size_t>([](FakeBroker& b) { return b.maxPending; }), 1000u);
  EXPECT_LE(store.maxLimit(), 500u);
  expectCompleteAndOrdered(delivered(), rows);
}

TEST_F(RelayTest, ARowVisibleLateBelowTheCursorIsPublishedWithinOneSweepUnderSteadyLoad) {
  auto options = fastOptions();
  options.lateRowSweepInterval = 1s;
  options.fallbackPollInterval = 2s;
  // Each commit is published at once: with a linger the relay would wait for fake time that
  // this test moves only between commits (the linger has tests of its own).
  options.linger = 0ms;
  // The newest message stays unconfirmed until the next one is published: the window is never
  // empty, and mark batches are held, so the sweep always meets rows the relay holds itself.
  broker.set([](FakeBroker& b) { b.holdLast = true; });
  store.add(makeRows(4, 1));
  const std::int64_t late = store.reserve(makeRows(1, 1, 100).at(0));  // msg-100-1
  store.add(makeRows(4, 1, 10));
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(eventually([&] { return broker.deliveredCount() == 7; })) << "all but the newest";
  store.reveal(late);  // committed now, below the relay's cursor

  // Steady load: a commit every 100 ms of fake time, each published before the next one, so
  // the relay is never idle and its fallback poll never comes due.
  int lateAfter = -1;
  store.holdMarks(true);
  for (int i = 0; i < 25; ++i) {
    if (i == 15) store.holdMarks(false);
    store.add(makeRows(1, 1, 200 + i));
    clock.advance(100ms);
    const std::size_t expected = 8u + static_cast<std::size_t>(i) + (lateAfter >= 0 ? 1u : 0u);
    ASSERT_TRUE(eventually([&] { return broker.deliveredCount() >= expected; })) << i;
    if (lateAfter < 0 && broker.deliveries("msg-100-1") > 0) lateAfter = i;
  }
  EXPECT_GE(lateAfter, 0) << "the late row was never published";
  EXPECT_LE(lateAfter, 10) << "published within one sweep interval (1 s = 10 commits)";
  EXPECT_GT(relay->status().inFlight, 0) << "the window never emptied";
  EXPECT_EQ(relay->status().lateRowCount, 1u);

  broker.set([](FakeBroker& b) { b.holdLast = false; });
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  const auto got = delivered();
  std::map<std::string, int> times;
  for (const auto& m : got) ++times[m.messageId];
  EXPECT_EQ(times.size(), 4u + 1u + 4u + 25u);
  for (const auto& [id, n] : times) EXPECT_EQ(n, 1) << id << " was published more than once";
  EXPECT_EQ(relay->status().republishedCount, 0u);
}

TEST_F(RelayTest, AStoreWithIdsInCommitOrderIsNeverSearchedForLateRows) {
  auto options = fastOptions();
  options.lateRowSweepInterval = 1s;
  options.linger = 0ms;
  store.setIdsVisibleInCommitOrder();
  auto relay = makeRelay(options);
  relay->start();
  // Commits under way across several sweep intervals, with rows in flight and being marked.
  for (int i = 0; i < 5; ++i) {
    store.add(makeRows(3, 1, 300 + 3 * i));
    clock.advance(600ms);
    ASSERT_TRUE(eventually([&] { return store.pending() == 0; })) << i;
  }
  EXPECT_EQ(store.pendingIdCalls(), 0) << "neither the search after a fetch nor the sweep ran";
  EXPECT_EQ(broker.deliveredCount(), 15u);

  // The same relay on a store whose ids may be late does both (the control of this case).
  FakeStore lateIdStore;
  auto control = std::make_unique<Relay>(lateIdStore, broker.factory(), clock, options);
  control->start();
  for (int i = 0; i < 5; ++i) {
    lateIdStore.add(makeRows(3, 1, 400 + 3 * i));
    clock.advance(600ms);
    ASSERT_TRUE(eventually([&] { return lateIdStore.pending() == 0; })) << i;
  }
  EXPECT_GT(lateIdStore.pendingIdCalls(), 0);
}

/// The late-create cases' rows: two committed rows; order-100's create (seq 1) with its id taken
/// but not committed; two committed rows with higher ids. order-100's next write (seq 2) can
/// commit only after the create did (the version check).
struct LateCreate {
  std::vector<OutboxMessage> all;  // every row, for expectCompleteAndOrdered
  std::int64_t createId = 0;       // store.reveal() commits it
  OutboxMessage nextWrite;         // store.add() after the reveal
};

LateCreate addRowsAroundALateCreate(FakeStore& store) {
  const auto before = makeRows(2, 1);
  const auto order = makeRows(1, 2, 100);
  const auto after = makeRows(2, 1, 10);
  store.add(before);
  LateCreate rows;
  rows.createId = store.reserve(order.at(0));
  store.add(after);
  rows.nextWrite = order.at(1);
  rows.all = before;
  rows.all.insert(rows.all.end(), order.begin(), order.end());
  rows.all.insert(rows.all.end(), after.begin(), after.end());
  return rows;
}

TEST_F(RelayTest, AnOrdersNextEventNeverOvertakesItsWriteThatCommittedLate) {
  auto options = fastOptions();
  // No periodic sweep in this test's time: only the search after a fetch can find the late row.
  options.lateRowSweepInterval = 600s;
  options.linger = 0ms;
  const LateCreate rows = addRowsAroundALateCreate(store);
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(eventually([&] { return broker.deliveredCount() == 4; }));
  // The create commits below the relay's cursor; then the order's next write, with a higher id,
  // which the relay's next fetch returns above its cursor.
  store.reveal(rows.createId);
  store.add({rows.nextWrite});
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; })) << "the late row never went out";
  expectCompleteAndOrdered(delivered(), rows.all);
  EXPECT_EQ(relay->status().lateRowCount, 1u);
}

TEST_F(RelayTest, FetchedRowsWaitWhileTheSearchForLateRowsBelowThemFails) {
  auto options = fastOptions();
  options.lateRowSweepInterval = 600s;
  options.fallbackPollInterval = 1s;
  options.linger = 0ms;
  const LateCreate rows = addRowsAroundALateCreate(store);
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(eventually([&] { return broker.deliveredCount() == 4; }));
  store.failNextPendingIds(1);
  store.reveal(rows.createId);
  store.add({rows.nextWrite});
  // The search after the fetch of order-100's next write fails: that write is not published
  // then (it could go out before the late create); the relay says why and reads again at its
  // next wake-up or poll, whose search finds the create.
  ASSERT_TRUE(
      eventually([&] { return relay->status().lastError.find("late rows") != std::string::npos; }));
  clock.advance(1s);
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  expectCompleteAndOrdered(delivered(), rows.all);
}

TEST_F(RelayTest, TheSweepLeavesRowsBeingMarkedAlone) {
  auto options = fastOptions();
  options.lateRowSweepInterval = 100ms;
  store.holdMarks(true);  // every confirmed row stays unpublished in the store
  const auto rows = makeRows(10, 2);
  store.add(rows);
  auto relay = makeRelay(options);
  relay->start();
  ASSERT_TRUE(eventually([&] { return broker.deliveredCount() == rows.size(); }));
  ASSERT_TRUE(eventually([&] { return store.queuedMarks() > 0; }));
  for (int i = 0; i < 10; ++i) {
    clock.advance(100ms);
    store.add({});  // wakes the relay: a sweep per wake-up
    const int polls = broker.pollCount();
    ASSERT_TRUE(eventually([&] { return broker.pollCount() > polls; }));
  }
  EXPECT_EQ(broker.deliveredCount(), rows.size()) << "nothing published twice";
  EXPECT_EQ(relay->status().lateRowCount, 0u);
  store.holdMarks(false);
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
}

// ---------------------------------------------------------------------------------------------
// Leadership (RelayOptions::lease)

struct LeaderRelayTest : RelayTest {
  FakeLease lease;

  LeaderRelayTest() {
    store.setFence([this](std::int64_t epoch) { return lease.current(epoch); });
  }
  RelayOptions leaseOptions() {
    RelayOptions o = fastOptions();
    o.lease = &lease;
    o.leaseHolder = "host-a/4242/1a2b3c4d";
    o.leaseTtl = 3000ms;
    o.leaseSafetyMargin = 600ms;
    return o;
  }
  int publishes() {
    return broker.get<int>([](FakeBroker& b) { return b.publishes; });
  }
};

TEST_F(LeaderRelayTest, PublishesOnlyAfterAcquiringAndMarksWithItsEpoch) {
  lease.answer(FakeLease::Answer::kRefuse);
  const auto rows = makeRows(5, 2);
  store.add(rows);
  auto relay = makeRelay(leaseOptions());
  relay->start();
  ASSERT_TRUE(eventually([&] { return relay->status().state == RelayStatus::State::kStandby; }));
  // Followers never publish, however long they wait and whatever is committed.
  ASSERT_TRUE(drive(clock, [&] { return lease.calls() >= 10; }));
  store.add(makeRows(2, 1, 100));
  ASSERT_TRUE(drive(clock, [&] { return lease.calls() >= 15; }));
  EXPECT_EQ(publishes(), 0);
  EXPECT_EQ(broker.get<int>([](FakeBroker& b) { return b.attempts; }), 0) << "not even connected";
  auto st = relay->status();
  EXPECT_EQ(st.role, RelayStatus::Role::kFollower);
  EXPECT_TRUE(st.ready()) << "a follower is healthy: another instance publishes";
  EXPECT_EQ(st.reason, "another instance holds the relay lease");
  EXPECT_EQ(lease.holder(), "host-a/4242/1a2b3c4d");

  lease.answer(FakeLease::Answer::kGrant);
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));
  st = relay->status();
  EXPECT_EQ(st.role, RelayStatus::Role::kLeader);
  EXPECT_EQ(st.epoch, 1);
  EXPECT_EQ(st.state, RelayStatus::State::kConnected);
  EXPECT_EQ(store.markEpochs(), (std::set<std::int64_t>{1})) << "every mark carries the epoch";
  relay->stop();
  EXPECT_EQ(lease.releases(), (std::vector<std::int64_t>{1})) << "stop() gives the lease back";
  EXPECT_EQ(relay->status().role, RelayStatus::Role::kFollower);
}

TEST_F(LeaderRelayTest, StopsPublishingBeforeTheTtlWhenRenewalsFailThenTakesOverAgain) {
  broker.set([this](FakeBroker& b) {
    b.confirming = false;  // keep messages in flight
    b.clock = &clock;
  });
  auto relay = makeRelay(leaseOptions());
  relay->start();
  ASSERT_TRUE(eventually([&] { return relay->status().role == RelayStatus::Role::kLeader; }));
  store.add(makeRows(3, 1));
  ASSERT_TRUE(eventually([&] { return publishes() == 3; }));
  // Fake time has not moved since start: the one successful grant was requested at `renewed`,
  // and the next renewal is due a third of the ttl later. From now on the store cannot answer.
  lease.answer(FakeLease::Answer::kUnavailable);
  const int callsBefore = lease.calls();
  const SteadyTime renewed = clock.steadyNow();
  // Commits keep coming while fake time runs (1 ms per step, so the relay sees every instant).
  SteadyTime steppedDownAt{};
  int step = 0;
  ASSERT_TRUE(drive(
      clock,
      [&] {
        if (++step % 200 == 0) store.add(makeRows(1, 1, 1000 + step));
        if (relay->status().role != RelayStatus::Role::kFollower) return false;
        steppedDownAt = clock.steadyNow();
        return true;
      },
      1ms));
  // It stops at (last renewal requested + ttl - margin): before the store's ttl can run out, so no
  // other instance can be granted the lease while this one still publishes.
  EXPECT_GE(steppedDownAt - renewed, 3000ms - 600ms);
  EXPECT_LE(steppedDownAt - renewed, 3000ms - 600ms + 100ms);
  const auto times =
      broker.get<std::vector<SteadyTime>>([](FakeBroker& b) { return b.publishTimes; });
  EXPECT_GT(times.size(), 3u) << "it did publish the commits that came while the grant lasted";
  // (+ a few ms: the fake records the time just after the relay checked it, and time runs.)
  for (const SteadyTime t : times) EXPECT_LT(t - renewed, 3000ms - 600ms + 50ms) << "too late";
  EXPECT_GT(lease.calls(), callsBefore) << "it kept retrying";
  // It stopped at (last renewal sent + ttl - margin) at the latest, and so before the store's
  // ttl could end: no other instance can have been granted the lease while it published.
  EXPECT_LE(steppedDownAt - renewed, 3000ms - 600ms + 20ms);
  EXPECT_LT(steppedDownAt - renewed, 3000ms);
  auto st = relay->status();
  EXPECT_EQ(st.state, RelayStatus::State::kStandby);
  EXPECT_NE(st.reason.find("not renewed in time"), std::string::npos) << st.reason;
  EXPECT_EQ(st.inFlight, 0) << "the window was dropped";
  EXPECT_EQ(st.stepDownCount, 1u);
  EXPECT_EQ(store.pending(), static_cast<std::int64_t>(store.size())) << "nothing was marked";

  const int published = publishes();
  store.add(makeRows(2, 1, 10));
  ASSERT_TRUE(drive(clock, [&] { return lease.calls() >= callsBefore + 10; }));
  EXPECT_EQ(publishes(), published) << "a follower publishes nothing";

  // Meanwhile another instance took the lease and gave it up; we acquire the next epoch and
  // publish everything still pending again, from the oldest row.
  lease.takenOver();
  lease.answer(FakeLease::Answer::kGrant);
  broker.set([](FakeBroker& b) { b.confirming = true; });
  ASSERT_TRUE(drive(clock, [&] { return store.pending() == 0; }));
  st = relay->status();
  EXPECT_EQ(st.role, RelayStatus::Role::kLeader);
  EXPECT_EQ(st.epoch, 3) << "1 ours, 2 the other instance's, 3 ours again";
  EXPECT_EQ(st.leaderTerms, 2u);
  EXPECT_EQ(store.markEpochs(), (std::set<std::int64_t>{3}));
  EXPECT_GE(delivered().size(), store.size()) << "every row, after the new epoch took over";
}

TEST_F(LeaderRelayTest, AFencedMarkStopsItAtOnce) {
  store.holdMarks(true);
  auto relay = makeRelay(leaseOptions());
  relay->start();
  ASSERT_TRUE(eventually([&] { return relay->status().role == RelayStatus::Role::kLeader; }));
  store.add(makeRows(4, 1));
  ASSERT_TRUE(eventually([&] { return store.queuedMarks() >= 1; })) << "confirmed, being marked";
  // Another instance acquired in the meantime (say this one was paused): the store refuses the
  // marks of the old epoch, and the relay steps down without waiting for its next renewal.
  lease.takenOver();
  const int callsBefore = lease.calls();
  store.holdMarks(false);
  ASSERT_TRUE(eventually([&] { return relay->status().role == RelayStatus::Role::kFollower; }));
  EXPECT_EQ(store.pending(), 4) << "fenced: nothing marked";
  auto st = relay->status();
  EXPECT_EQ(st.state, RelayStatus::State::kStandby);
  // Fake time stood still: no renewal came due, the fenced mark did it (the reason may already be
  // the store's answer to the retry that followed, "another instance holds the relay lease").
  EXPECT_NE(st.lastError.find("fenced"), std::string::npos) << st.lastError;
  EXPECT_EQ(st.epoch, 1);
  ASSERT_TRUE(eventually([&] { return lease.calls() > callsBefore; }))
      << "asks the store again at once, fake time frozen";
  const int published = publishes();
  store.add(makeRows(1, 1, 50));
  ASSERT_TRUE(drive(clock, [&] { return lease.calls() >= callsBefore + 5; }));
  EXPECT_EQ(publishes(), published);
  relay->stop();
  EXPECT_EQ(lease.releases(), (std::vector<std::int64_t>{1})) << "harmless: not current";
}

TEST_F(LeaderRelayTest, RefusesAMarginThatLeavesNoTimeToRenew) {
  auto options = leaseOptions();
  options.leaseSafetyMargin = 2000ms;  // renewals every 1000 ms would never fit before 3000-2000
  EXPECT_THROW(makeRelay(options), std::invalid_argument);
  options = leaseOptions();
  options.leaseHolder.clear();
  EXPECT_THROW(makeRelay(options), std::invalid_argument);
}

TEST_F(RelayTest, WithoutALeaseItLeadsAtEpochZero) {
  store.add(makeRows(2, 1));
  auto relay = makeRelay();
  relay->start();
  ASSERT_TRUE(eventually([&] { return store.pending() == 0; }));
  const auto st = relay->status();
  EXPECT_EQ(st.role, RelayStatus::Role::kLeader);
  EXPECT_EQ(st.epoch, kNoLeaseEpoch);
  EXPECT_EQ(store.markEpochs(), (std::set<std::int64_t>{kNoLeaseEpoch}));
}

}  // namespace
}  // namespace orders
