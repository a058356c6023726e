// The runtime's threading and shutdown rules against a fake transport: per-key ordering across
// workers, counters after settlement, graceful stop, deliveries of a lost connection dropped.

#include "consumer/consumer.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "consumer/consumer_observer.hpp"
#include "consumer/testing/consumer_test_support.hpp"
#include "support/manual_clock.hpp"

namespace orders {
namespace {

using testing::waitFor;
using testing::widget;

class FakeTransport final : public ConsumerTransport {
 public:
  struct Settled {
    std::uint64_t generation;
    std::uint64_t tag;
    Settlement settlement;
  };

  Status start(Callbacks callbacks) override {
    std::lock_guard lock(mutex);
    if (startError) return *startError;
    callbacks_ = std::move(callbacks);
    callbacks_.onState(TransportState::kConnected, "");
    return okStatus();
  }
  void settle(std::uint64_t generation, std::uint64_t tag, Settlement settlement,
              std::function<void(Status)> done) override {
    {
      std::lock_guard lock(mutex);
      settled.push_back({generation, tag, std::move(settlement)});
      events.push_back("settle " + std::to_string(tag));
    }
    done(okStatus());
  }
  void cancel(std::chrono::milliseconds) override {
    std::lock_guard lock(mutex);
    events.push_back("cancel");
  }
  void close(std::chrono::milliseconds) override {
    std::lock_guard lock(mutex);
    events.push_back("close");
  }

  void deliver(std::uint64_t tag, const std::string& body, std::uint64_t generation = 1) {
    TransportDelivery d;
    d.generation = generation;
    d.deliveryTag = tag;
    d.exchange = "widgets";
    d.routingKey = "WidgetEvent";
    d.body = body;
    callbacks_.onDelivery(std::move(d));
  }
  void loseConnection(std::uint64_t generation) {
    callbacks_.onConnectionLost(generation);
    callbacks_.onState(TransportState::kReconnecting, "connection reset by peer");
  }
  std::size_t settledCount() {
    std::lock_guard lock(mutex);
    return settled.size();
  }

  std::mutex mutex;
  std::vector<Settled> settled;
  std::vector<std::string> events;
  std::optional<Error> startError;

 private:
  Callbacks callbacks_;
};

class ConsumerTest : public ::testing::Test {
 protected:
  ConsumerTest() {
    schemas_ = testing::loadTestSchemas(dir_.path());
    options_ = testing::widgetConsumer("svc.widgets", "widgets");
  }

  std::unique_ptr<Consumer> make(std::size_t workers, MessageHandler handler) {
    options_.workers = workers;
    auto transport = std::make_unique<FakeTransport>();
    transport_ = transport.get();
    auto consumer =
        std::make_unique<Consumer>(options_, *schemas_, std::move(transport), nullptr, &clock_);
    EXPECT_TRUE(consumer->on("WidgetEvent", 1, std::move(handler), Deduplication::kHandler).ok());
    return consumer;
  }

  testing::TempDir dir_;
  testing::ManualClock clock_;
  std::unique_ptr<SchemaRegistry> schemas_;
  ConsumerOptions options_;
  FakeTransport* transport_ = nullptr;
};

TEST_F(ConsumerTest, MessagesOfOneKeyStayInOrderAcrossWorkers) {
  std::mutex mutex;
  std::map<std::string, std::vector<int>> order;
  auto consumer = make(4, [&](const InboundMessage& m) -> HandlerResult {
    std::lock_guard lock(mutex);
    order[m.partitionKey].push_back(m.payload["n"].get<int>());
    return Handled::kApplied;
  });
  ASSERT_TRUE(consumer->start().ok());
  constexpr int kPerKey = 50;
  std::uint64_t tag = 0;
  for (int n = 0; n < kPerKey; ++n) {
    for (const char* key : {"a", "b", "c", "d", "e"}) {
      auto message = widget(testing::newMessageId(), key);
      message["payload"]["n"] = n;
      transport_->deliver(++tag, message.dump());
    }
  }
  ASSERT_TRUE(waitFor([&] { return consumer->status().applied == tag; }));
  std::lock_guard lock(mutex);
  ASSERT_EQ(order.size(), 5u);
  for (const auto& [key, seen] : order) {
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(kPerKey)) << key;
    for (int n = 0; n < kPerKey; ++n) EXPECT_EQ(seen[n], n) << key;
  }
  const auto status = consumer->status();
  EXPECT_EQ(status.received, tag);
  EXPECT_EQ(status.settled(), tag);
  EXPECT_EQ(status.state, ConsumerStatus::State::kConnected);
}

TEST_F(ConsumerTest, StopCancelsFinishesTheInFlightHandlerAndLeavesTheRestUnsettled) {
  std::mutex mutex;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  auto consumer = make(1, [&](const InboundMessage&) -> HandlerResult {
    std::unique_lock lock(mutex);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return Handled::kApplied;
  });
  ASSERT_TRUE(consumer->start().ok());
  transport_->deliver(1, widget(testing::newMessageId()).dump());
  transport_->deliver(2, widget(testing::newMessageId()).dump());
  transport_->deliver(3, widget(testing::newMessageId()).dump());
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return entered; });
  }
  std::thread stopper([&] { consumer->stop(); });
  // stop() cancels first, and waits for the handler that runs.
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard lock(transport_->mutex);
    return !transport_->events.empty() && transport_->events.front() == "cancel";
  }));
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  std::lock_guard lock(transport_->mutex);
  // Tag 1 (in flight) was settled before the close; 2 and 3 never started: the broker
  // requeues them when the channel closes.
  EXPECT_EQ(transport_->events, (std::vector<std::string>{"cancel", "settle 1", "close"}));
  EXPECT_EQ(consumer->status().state, ConsumerStatus::State::kStopped);
}

TEST_F(ConsumerTest, QueuedDeliveriesOfALostConnectionAreDropped) {
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  bool entered = false;
  std::atomic<int> handled{0};
  auto consumer = make(1, [&](const InboundMessage&) -> HandlerResult {
    std::unique_lock lock(mutex);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    ++handled;
    return Handled::kApplied;
  });
  ASSERT_TRUE(consumer->start().ok());
  for (std::uint64_t tag = 1; tag <= 5; ++tag)
    transport_->deliver(tag, widget(testing::newMessageId()).dump(), 1);
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return entered; });
  }
  clock_.advance(std::chrono::minutes(5));
  const Timestamp lostAt = clock_.now();
  transport_->loseConnection(1);
  transport_->deliver(1, widget(testing::newMessageId()).dump(), 2);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  // The one handler already running on generation 1 finishes; 2-5 are gone; the new one runs.
  ASSERT_TRUE(waitFor([&] { return transport_->settledCount() == 2; }));
  consumer->stop();
  EXPECT_EQ(handled.load(), 2);
  const auto status = consumer->status();
  EXPECT_EQ(status.lastError, "connection reset by peer");
  EXPECT_EQ(status.lastErrorAt, lostAt) << "read from the consumer's clock";
}

TEST_F(ConsumerTest, StartFailsOnBadOptionsOrAConfigurationError) {
  options_.prefetch = 0;
  auto consumer = make(1, [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; });
  EXPECT_EQ(consumer->start().error().code, ErrorCode::kInvalidArgument);
  options_.prefetch = 8;
  consumer = make(1, [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; });
  transport_->startError = Error{ErrorCode::kConflict, "queue exists with other settings"};
  EXPECT_EQ(consumer->start().error().code, ErrorCode::kConflict);
  consumer->stop();  // nothing to stop; must not hang
}

TEST_F(ConsumerTest, HandlersCannotBeAddedAfterStart) {
  auto consumer = make(1, [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; });
  ASSERT_TRUE(consumer->start().ok());
  auto late = consumer->on(
      "WidgetEvent", 2, [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; },
      Deduplication::kHandler);
  EXPECT_EQ(late.error().code, ErrorCode::kConflict);
}

}  // namespace
}  // namespace orders

namespace orders {
namespace {

/// What the consumer told its observer (ConsumerOptions::observer).
struct RecordingConsumerObserver final : ConsumerObserver {
  std::mutex mutex;
  int receivedCount = 0;
  std::vector<SettledDelivery> deliveries;
  std::vector<std::string> failureKinds;  // copies: SettledDelivery's view lives for the call only
  std::vector<std::pair<bool, bool>> connections;

  void received() override {
    std::lock_guard lock(mutex);
    ++receivedCount;
  }
  void settled(const SettledDelivery& delivery) override {
    std::lock_guard lock(mutex);
    deliveries.push_back(delivery);
    failureKinds.emplace_back(delivery.failureKind);
  }
  void connectionChanged(bool connected, bool reconnect) override {
    std::lock_guard lock(mutex);
    connections.emplace_back(connected, reconnect);
  }
};

TEST_F(ConsumerTest, TheObserverHearsEveryDeliveryItsOutcomeAndTheConnection) {
  RecordingConsumerObserver observer;
  options_.observer = &observer;
  auto consumer = make(1, [](const InboundMessage& m) -> HandlerResult {
    if (m.payload.value("fail", false)) return Error{ErrorCode::kUnavailable, "store down"};
    return Handled::kApplied;
  });
  ASSERT_TRUE(consumer->start().ok());
  transport_->deliver(1, widget(testing::newMessageId(), "a").dump());
  auto failing = widget(testing::newMessageId(), "b");
  failing["payload"]["fail"] = true;
  transport_->deliver(2, failing.dump());
  transport_->deliver(3, "not JSON at all");
  ASSERT_TRUE(waitFor([&] { return consumer->status().settled() == 3; }));
  transport_->loseConnection(1);

  std::lock_guard lock(observer.mutex);
  EXPECT_EQ(observer.receivedCount, 3);
  ASSERT_EQ(observer.deliveries.size(), 3u);
  EXPECT_EQ(observer.deliveries[0].outcome, Outcome::kApplied);
  EXPECT_EQ(observer.deliveries[1].outcome, Outcome::kRetried);
  EXPECT_EQ(observer.deliveries[1].attempt, 1);
  EXPECT_EQ(observer.deliveries[2].outcome, Outcome::kDeadLettered);
  EXPECT_EQ(observer.failureKinds[2], "invalid-message");
  EXPECT_EQ(observer.failureKinds[0], "");
  ASSERT_EQ(observer.connections.size(), 2u);
  EXPECT_EQ(observer.connections[0], std::make_pair(true, false)) << "the first connection";
  EXPECT_EQ(observer.connections[1], std::make_pair(false, false)) << "the loss";
}

}  // namespace
}  // namespace orders
