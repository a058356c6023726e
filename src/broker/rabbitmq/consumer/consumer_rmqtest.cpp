// The consumer runtime against a real broker (tests/support): deduplication, retries with
// growing delays, dead-lettering with headers, invalid messages, versions, replay, connection
// loss, graceful shutdown, and kill -9 of a consumer process.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "broker/rabbitmq/consumer/dead_letter_admin.hpp"
#include "broker/rabbitmq/consumer/rabbit_consumer.hpp"
#include "broker/rabbitmq/consumer/testing/consumer_rmq_test_support.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "support/manual_clock.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;
using testing::widget;

/// An AMQP URL of a local port nobody listens on (a free one, taken and released).
std::string unreachableUrl() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return "amqp://guest:guest@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/%2F";
}

class ConsumerRmqTest : public testing::WidgetConsumerRmqTest {
 protected:
  ConsumerRmqTest() : WidgetConsumerRmqTest("widgets") {
    options_.retry.delays = {200ms, 400ms};
    options_.retry.maxRetries = 2;
    options_.prefetch = 8;
    options_.reconnectInitial = 100ms;
    options_.reconnectMax = 1000ms;
  }

  ~ConsumerRmqTest() override {
    if (consumer_) consumer_->stop();
  }

  static RabbitConnectionOptions connection() {
    RabbitConnectionOptions c;
    c.url = url();
    c.heartbeat = std::chrono::seconds(5);
    return c;
  }

  Consumer& start(MessageHandler handler, Deduplication dedup = Deduplication::kRuntime) {
    consumer_ = makeRabbitConsumer(connection(), options_, *schemas_, inbox_.get());
    EXPECT_TRUE(consumer_->on("WidgetEvent", 1, std::move(handler), dedup).ok());
    auto started = consumer_->start();
    EXPECT_TRUE(started.ok()) << started.error().message;
    return *consumer_;
  }

  void publish(const std::string& body, const std::string& routingKey = "WidgetEvent") {
    BrokerMessage m;
    m.exchange = exchange_;
    m.routingKey = routingKey;
    m.body = body;
    m.contentType = "application/json";
    auto doc = json::parse(body, nullptr, false);
    if (doc.is_object() && doc.contains("messageId")) m.messageId = doc["messageId"];
    ASSERT_TRUE(client_->publish(m).ok());
  }

  std::int64_t count(const std::string& queue) {
    auto n = client_->messageCount(queue);
    return n ? *n : -1;
  }

  std::vector<DeadLetter> deadLetters(std::size_t limit = 100) {
    auto admin = DeadLetterAdmin::connect(connection()).value();
    return admin->peek(deadLetterQueueName(queue_), limit).value();
  }

  std::unique_ptr<Consumer> consumer_;
};

TEST_F(ConsumerRmqTest, TheSameMessagePublishedThreeTimesHasOneEffect) {
  ASSERT_TRUE(inbox_->execute("CREATE TABLE effects (message_id TEXT)").ok());
  std::atomic<int> calls{0};
  auto& consumer = start(
      [&](const InboundMessage& m) -> HandlerResult {
        ++calls;
        return inbox_->transact(m.inboxKey(), [&](SqliteInbox::Transaction& tx) {
          return tx.execute("INSERT INTO effects VALUES (?)", {m.messageId});
        });
      },
      Deduplication::kHandler);
  const auto body = widget(testing::newMessageId()).dump();
  for (int i = 0; i < 3; ++i) publish(body);
  ASSERT_TRUE(waitFor([&] { return consumer.status().settled() == 3; }));
  const auto status = consumer.status();
  EXPECT_EQ(status.applied, 1u);
  EXPECT_EQ(status.duplicates, 2u);
  EXPECT_EQ(std::get<std::int64_t>(inbox_->query("SELECT COUNT(*) FROM effects")->at(0).at(0)), 1);
  EXPECT_EQ(count(queue_), 0);
}

TEST_F(ConsumerRmqTest, RuntimeDeduplicationSkipsKnownMessages) {
  std::atomic<int> calls{0};
  auto& consumer = start([&](const InboundMessage&) -> HandlerResult {
    ++calls;
    return Handled::kApplied;
  });
  const auto body = widget(testing::newMessageId()).dump();
  for (int i = 0; i < 3; ++i) publish(body);
  ASSERT_TRUE(waitFor([&] { return consumer.status().settled() == 3; }));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(consumer.status().duplicates, 2u);
}

TEST_F(ConsumerRmqTest, AHandlerThatFailsTwiceIsRetriedWithGrowingDelaysAndSucceeds) {
  std::mutex mutex;
  std::vector<std::chrono::steady_clock::time_point> attempts;
  std::vector<int> attemptNumbers;
  auto& consumer = start([&](const InboundMessage& m) -> HandlerResult {
    std::lock_guard lock(mutex);
    attempts.push_back(std::chrono::steady_clock::now());
    attemptNumbers.push_back(m.attempt);
    if (m.attempt <= 2) return Error{ErrorCode::kUnavailable, "payment gateway timeout"};
    return Handled::kApplied;
  });
  publish(widget(testing::newMessageId()).dump());
  ASSERT_TRUE(waitFor([&] { return consumer.status().applied == 1; }));
  std::lock_guard lock(mutex);
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attemptNumbers, (std::vector<int>{1, 2, 3}));
  const auto first = attempts[1] - attempts[0];
  const auto second = attempts[2] - attempts[1];
  // 200 ms then 400 ms in the retry queues (minus a little for timer granularity).
  EXPECT_GE(first, 180ms);
  EXPECT_GE(second, 380ms);
  EXPECT_GT(second, first);
  EXPECT_LT(second, 5s);
  EXPECT_EQ(consumer.status().retried, 2u);
  EXPECT_EQ(count(retryQueueName(queue_, 1)), 0);
  EXPECT_EQ(count(retryQueueName(queue_, 2)), 0);
  EXPECT_EQ(count(deadLetterQueueName(queue_)), 0);
}

TEST_F(ConsumerRmqTest, AHandlerThatAlwaysFailsEndsInTheDlqWithTheFailureHeaders) {
  options_.retry.delays = {100ms, 150ms};
  std::atomic<int> calls{0};
  auto& consumer = start([&](const InboundMessage&) -> HandlerResult {
    ++calls;
    return Error{ErrorCode::kUnavailable, "ledger unavailable"};
  });
  const auto id = testing::newMessageId();
  publish(widget(id).dump());
  ASSERT_TRUE(waitFor([&] { return consumer.status().deadLettered == 1; }));
  EXPECT_EQ(calls.load(), 3);  // first attempt + maxRetries (2)
  EXPECT_EQ(consumer.status().retried, 2u);
  auto letters = deadLetters();
  ASSERT_EQ(letters.size(), 1u);
  const DeadLetter& l = letters[0];
  EXPECT_EQ(l.messageId, id);
  EXPECT_EQ(l.failureKind, "retries-exhausted");
  EXPECT_NE(l.failureReason.find("ledger unavailable"), std::string::npos) << l.failureReason;
  EXPECT_NE(l.failureReason.find("3 attempts"), std::string::npos) << l.failureReason;
  EXPECT_EQ(l.attempts, 3);
  Timestamp failedAt;
  EXPECT_TRUE(parseIso8601(l.failedAt, failedAt)) << l.failedAt;
  EXPECT_EQ(l.originalExchange, exchange_);
  EXPECT_EQ(l.originalRoutingKey, "WidgetEvent");
  EXPECT_EQ(l.originalQueue, queue_);
  EXPECT_EQ(l.consumer, queue_);
  EXPECT_EQ(json::parse(l.body)["messageId"], id);
  EXPECT_EQ(count(queue_), 0);
}

TEST_F(ConsumerRmqTest, InvalidMessagesGoToTheDlqAtOnceWithoutRetries) {
  std::atomic<int> calls{0};
  auto& consumer = start([&](const InboundMessage&) -> HandlerResult {
    ++calls;
    return Handled::kApplied;
  });
  publish("this is not json");
  auto schemaViolation = widget(testing::newMessageId());
  schemaViolation["payload"].erase("widgetId");
  publish(schemaViolation.dump());
  auto badEnvelope = widget(testing::newMessageId());
  badEnvelope["messageId"] = "not-a-message-id";
  publish(badEnvelope.dump());
  ASSERT_TRUE(waitFor([&] { return consumer.status().deadLettered == 3; }));
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(consumer.status().retried, 0u);
  auto letters = deadLetters();
  ASSERT_EQ(letters.size(), 3u);
  std::string reasons;
  for (const auto& l : letters) {
    EXPECT_EQ(l.failureKind, "invalid-message");
    EXPECT_EQ(l.attempts, 1);
    reasons += l.failureReason + "\n";
  }
  EXPECT_NE(reasons.find("not JSON"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("payload"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("messageId"), std::string::npos) << reasons;
}

TEST_F(ConsumerRmqTest, AnUnknownMajorVersionGoesToTheDlqWithTheReason) {
  std::atomic<int> calls{0};
  auto& consumer = start([&](const InboundMessage&) -> HandlerResult {
    ++calls;
    return Handled::kApplied;
  });
  publish(widget(testing::newMessageId(), "w-1", "2.0").dump());
  auto newerMinor = widget(testing::newMessageId(), "w-1", "1.7");
  newerMinor["payload"]["fieldFromTheFuture"] = 1;
  publish(newerMinor.dump());
  ASSERT_TRUE(waitFor([&] { return consumer.status().settled() == 2; }));
  EXPECT_EQ(calls.load(), 1);  // the 1.7 message
  EXPECT_EQ(consumer.status().deadLettered, 1u);
  auto letters = deadLetters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].failureKind, "unsupported-version");
  EXPECT_NE(letters[0].failureReason.find("messageVersion 2.0"), std::string::npos);
}

TEST_F(ConsumerRmqTest, APermanentFailureIsDeadLetteredAndReplayBringsItBack) {
  std::atomic<bool> broken{true};
  std::atomic<int> calls{0};
  auto& consumer = start([&](const InboundMessage&) -> HandlerResult {
    ++calls;
    if (broken) return Error{ErrorCode::kTransitionNotAllowed, "cannot ship a CANCELLED order"};
    return Handled::kApplied;
  });
  const auto first = testing::newMessageId();
  const auto second = testing::newMessageId();
  publish(widget(first, "w-1").dump());
  publish(widget(second, "w-2").dump());
  ASSERT_TRUE(waitFor([&] { return consumer.status().deadLettered == 2; }));
  EXPECT_EQ(calls.load(), 2);  // no retries for a permanent failure
  EXPECT_EQ(consumer.status().retried, 0u);
  for (const auto& l : deadLetters()) {
    EXPECT_EQ(l.failureKind, "permanent-failure");
    EXPECT_EQ(l.failureReason, "transition-not-allowed: cannot ship a CANCELLED order");
  }

  broken = false;  // the operator fixed the cause
  auto admin = DeadLetterAdmin::connect(connection()).value();
  auto one = admin->replay(deadLetterQueueName(queue_), first);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->replayed, 1);
  ASSERT_TRUE(waitFor([&] { return consumer.status().applied == 1; }));
  // The other one was looked at and given back (asynchronously, by the broker).
  ASSERT_TRUE(waitFor([&] { return count(deadLetterQueueName(queue_)) == 1; }));
  auto rest = admin->replay(deadLetterQueueName(queue_), std::nullopt);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->replayed, 1);
  ASSERT_TRUE(waitFor([&] { return consumer.status().applied == 2; }));
  EXPECT_EQ(count(deadLetterQueueName(queue_)), 0);
  EXPECT_TRUE(inbox_->contains({queue_, first}).value());
  EXPECT_TRUE(inbox_->contains({queue_, second}).value());
  // Replaying a message that was applied meanwhile is harmless: the inbox drops it.
}

TEST_F(ConsumerRmqTest, OnlyTheBoundRoutingKeysReachTheQueue) {
  std::atomic<int> calls{0};
  auto& consumer = start([&](const InboundMessage&) -> HandlerResult {
    ++calls;
    return Handled::kApplied;
  });
  publish(widget(testing::newMessageId()).dump(), "GadgetEvent");  // not bound: dropped
  publish(widget(testing::newMessageId()).dump(), "WidgetEvent");
  ASSERT_TRUE(waitFor([&] { return consumer.status().settled() == 1; }));
  // Same channel, so the unbound one was routed (nowhere) before the bound one arrived.
  EXPECT_EQ(consumer.status().received, 1u);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(ConsumerRmqTest, DeclaringTwiceIsIdempotentAndAConflictIsAClearError) {
  auto noop = [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; };
  start(noop).stop();
  start(noop).stop();                      // same topology again: fine
  options_.retry.delays = {300ms, 400ms};  // retry.1 exists with a 200 ms TTL
  auto other = makeRabbitConsumer(connection(), options_, *schemas_, inbox_.get());
  ASSERT_TRUE(other->on("WidgetEvent", 1, noop).ok());
  auto started = other->start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kConflict);
  EXPECT_NE(started.error().message.find(retryQueueName(queue_, 1)), std::string::npos)
      << started.error().message;
}

TEST_F(ConsumerRmqTest, AnUnreachableBrokerIsRetriedInTheBackgroundAndReported) {
  RabbitConnectionOptions c = connection();
  c.url = unreachableUrl();
  c.connectTimeout = 500ms;
  auto consumer = makeRabbitConsumer(c, options_, *schemas_, inbox_.get());
  ASSERT_TRUE(consumer
                  ->on("WidgetEvent", 1,
                       [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; })
                  .ok());
  ASSERT_TRUE(consumer->start().ok());  // degraded, not fatal
  auto status = consumer->status();
  EXPECT_EQ(status.state, ConsumerStatus::State::kReconnecting);
  EXPECT_FALSE(status.lastError.empty());
  const auto before = std::chrono::steady_clock::now();
  consumer->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  EXPECT_EQ(consumer->status().state, ConsumerStatus::State::kStopped);

  // Bad credentials are a configuration error: start() says so and nothing runs.
  c.url = url();
  c.url.replace(c.url.find("guest:guest"), 11, "guest:wrong");
  auto refused = makeRabbitConsumer(c, options_, *schemas_, inbox_.get());
  ASSERT_TRUE(refused
                  ->on("WidgetEvent", 1,
                       [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; })
                  .ok());
  auto result = refused->start();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().code, ErrorCode::kUnavailable) << result.error().message;
}

TEST_F(ConsumerRmqTest, ReconnectAttemptsWaitForTheBackoffOnTheInjectedClock) {
  // An hour of backoff in fake time: the second attempt comes when the test moves the clock,
  // not after an hour of real time.
  options_.reconnectInitial = std::chrono::hours(1);
  options_.reconnectMax = std::chrono::hours(1);
  RabbitConnectionOptions c = connection();
  c.url = unreachableUrl();
  c.connectTimeout = 500ms;
  testing::ManualClock clock;
  auto consumer = makeRabbitConsumer(c, options_, *schemas_, inbox_.get(), &clock);
  ASSERT_TRUE(consumer
                  ->on("WidgetEvent", 1,
                       [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; })
                  .ok());
  ASSERT_TRUE(consumer->start().ok());
  const Timestamp firstAttempt = clock.now();
  EXPECT_EQ(consumer->status().lastErrorAt, firstAttempt);
  clock.advance(std::chrono::minutes(73));  // past the longest first delay (1 h + 20 %)
  ASSERT_TRUE(waitFor([&] { return consumer->status().lastErrorAt == clock.now(); }, 10s))
      << "no second attempt after the backoff passed on the injected clock";
  EXPECT_EQ(consumer->status().state, ConsumerStatus::State::kReconnecting);
  consumer->stop();
  EXPECT_EQ(consumer->status().state, ConsumerStatus::State::kStopped);
}

TEST_F(ConsumerRmqTest, AfterALostConnectionItReconnectsAndCarriesOn) {
  std::atomic<int> calls{0};
  auto& consumer = start([&](const InboundMessage&) -> HandlerResult {
    ++calls;
    return Handled::kApplied;
  });
  publish(widget(testing::newMessageId()).dump());
  ASSERT_TRUE(waitFor([&] { return consumer.status().applied == 1; }));
  // The broker drops every connection of this consumer (as a failover or a network cut would).
  std::string output;
  ASSERT_EQ(orders::testing::RabbitMqServer::shared().rabbitmqctl(
                {"close_all_connections", "test: simulated connection loss"}, &output),
            0)
      << output;
  ASSERT_TRUE(waitFor([&] { return consumer.status().reconnects >= 1; }));
  auto status = consumer.status();
  EXPECT_EQ(status.state, ConsumerStatus::State::kConnected);
  EXPECT_NE(status.lastError.find("simulated connection loss"), std::string::npos)
      << status.lastError;
  client_ = AmqpClient::connect(url()).value();  // ours was closed too
  publish(widget(testing::newMessageId()).dump());
  ASSERT_TRUE(waitFor([&] { return consumer.status().applied == 2; }));
}

TEST_F(ConsumerRmqTest, ASlowHandlerDoesNotCostTheConnectionItsHeartbeats) {
  // 1 s heartbeats: the broker closes a connection that is silent for ~2 s. The handler takes
  // 3 s; the consumer's I/O thread must keep the connection alive meanwhile.
  consumer_ = makeRabbitConsumer(
      [] {
        RabbitConnectionOptions c = connection();
        c.heartbeat = std::chrono::seconds(1);
        return c;
      }(),
      options_, *schemas_, inbox_.get());
  ASSERT_TRUE(consumer_
                  ->on("WidgetEvent", 1,
                       [](const InboundMessage&) -> HandlerResult {
                         std::this_thread::sleep_for(3s);  // simulated slow work, not a wait
                         return Handled::kApplied;
                       })
                  .ok());
  ASSERT_TRUE(consumer_->start().ok());
  publish(widget(testing::newMessageId()).dump());
  ASSERT_TRUE(waitFor([&] { return consumer_->status().applied == 1; }));
  const auto status = consumer_->status();
  EXPECT_EQ(status.reconnects, 0u) << status.lastError;
  EXPECT_EQ(status.lastError, "");
}

TEST_F(ConsumerRmqTest, AQueueDeletedUnderTheConsumerIsDeclaredAgain) {
  std::atomic<int> calls{0};
  auto& consumer = start([&](const InboundMessage&) -> HandlerResult {
    ++calls;
    return Handled::kApplied;
  });
  ASSERT_TRUE(client_->deleteQueue(queue_).ok());  // the broker cancels our consumer
  ASSERT_TRUE(waitFor([&] { return consumer.status().reconnects >= 1; }));
  EXPECT_NE(consumer.status().lastError.find("cancelled"), std::string::npos)
      << consumer.status().lastError;
  publish(widget(testing::newMessageId()).dump());  // bound again by the re-declaration
  ASSERT_TRUE(waitFor([&] { return consumer.status().applied == 1; }));
}

TEST_F(ConsumerRmqTest, StopFinishesTheInFlightHandlerAndReturnsTheRest) {
  ASSERT_TRUE(inbox_->execute("CREATE TABLE effects (message_id TEXT)").ok());
  std::atomic<int> entered{0};
  std::atomic<bool> release{false};
  auto& consumer = start(
      [&](const InboundMessage& m) -> HandlerResult {
        ++entered;
        while (!release) std::this_thread::yield();
        return inbox_->transact(m.inboxKey(), [&](SqliteInbox::Transaction& tx) {
          return tx.execute("INSERT INTO effects VALUES (?)", {m.messageId});
        });
      },
      Deduplication::kHandler);
  for (int i = 0; i < 5; ++i) publish(widget(testing::newMessageId(), "same-key").dump());
  ASSERT_TRUE(waitFor([&] { return entered.load() == 1 && consumer.status().received == 5; }));
  std::thread stopper([&] { consumer.stop(); });
  // stop() waits for the running handler; let it finish once the shutdown began.
  ASSERT_TRUE(waitFor([&] { return consumer.status().state == ConsumerStatus::State::kStopping; }));
  release = true;
  stopper.join();
  EXPECT_EQ(entered.load(), 1);
  EXPECT_EQ(consumer.status().applied, 1u);
  EXPECT_EQ(std::get<std::int64_t>(inbox_->query("SELECT COUNT(*) FROM effects")->at(0).at(0)), 1);
  // The four received but never started went back to the queue.
  ASSERT_TRUE(waitFor([&] { return count(queue_) == 4; }));
}

// --- kill -9 of a consumer process ---------------------------------------------------------

class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& args, const std::string& logFile) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0) kill(SIGKILL);
  }
  /// Sends `signal` and waits for the exit; returns the wait status.
  int kill(int signal) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  bool running() {
    int status = 0;
    return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = -1;
};

json shippedEvent(const std::string& messageId) {
  const auto orderId = testing::newUuid();
  json payload{{"orderId", orderId},
               {"userId", testing::newUuid()},
               {"shipmentId", testing::newUuid()},
               {"carrier", "DHL"},
               {"trackingNumber", "TRACK-1"},
               {"items", json::array({{{"productId", "prod-1"}, {"quantity", 1}}})},
               {"partial", false},
               {"shippedAt", "2024-05-01T10:00:00.000Z"}};
  return testing::envelope("OrderShippedEvent", "1.0", payload, messageId, orderId, "OrderService");
}

/// The example consumer under test: the one of this build, or the one tests/install built out of
/// tree against the installed OrderEvents package (NOTIFICATION_EXAMPLE_BINARY).
std::string exampleBinary() {
  const char* installed = std::getenv("NOTIFICATION_EXAMPLE_BINARY");
  return installed != nullptr && *installed != '\0' ? installed : NOTIFICATION_EXAMPLE;
}

TEST(ConsumerProcessRmqTest, KillNineMidBatchLosesNothingAndAppliesNothingTwice) {
  const std::string url = orders::testing::RabbitMqServer::shared().amqpUrl();
  testing::TempDir dir("consumer-kill");
  // The Order Service's topology declares order.events and notification.order-events; the
  // example must accept that declaration (same queue arguments).
  TopologyConfig topology;
  topology.queues.push_back({"notification.order-events",
                             QueueType::kQuorum,
                             {"OrderConfirmationNotificationRequestedEvent", "OrderShippedEvent"},
                             std::nullopt});
  auto declared = declareTopology(url, topology);
  ASSERT_TRUE(declared.ok()) << declared.error().message;
  auto client = AmqpClient::connect(url).value();
  ASSERT_TRUE(client->purge("notification.order-events").ok());

  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i) {
    BrokerMessage m;
    m.exchange = "order.events";
    m.routingKey = "OrderShippedEvent";
    m.messageId = testing::newMessageId();
    m.body = shippedEvent(m.messageId).dump();
    ASSERT_TRUE(client->publish(m).ok());
  }
  ASSERT_TRUE(waitFor(
      [&] { return client->messageCount("notification.order-events").value() == kMessages; }));

  const std::string database = dir.file("notification.db");
  const std::vector<std::string> args{exampleBinary(),
                                      "--amqp-url",
                                      url,
                                      "--database",
                                      database,
                                      "--send-latency-ms",
                                      "3",
                                      "--prefetch",
                                      "50",
                                      "--log-level",
                                      "warn"};
  auto db = SqliteInbox::open(database).value();  // also creates the file for the child
  auto sent = [&]() -> std::int64_t {
    auto rows = db->query("SELECT COUNT(*), COUNT(DISTINCT message_id) FROM notifications_sent");
    if (!rows) return -1;  // the child has not created the table yet
    EXPECT_EQ(rows->at(0).at(0), rows->at(0).at(1)) << "a notification was sent twice";
    return std::get<std::int64_t>(rows->at(0).at(0));
  };
  std::int64_t atKill = 0;
  {
    ChildProcess first(args, dir.file("first.log"));
    ASSERT_TRUE(waitFor([&] { return sent() >= 60; }, 60s))
        << testing::readFile(dir.file("first.log"));
    first.kill(SIGKILL);  // in the middle of the batch: up to 50 deliveries unacked
    atKill = sent();
  }
  EXPECT_LT(atKill, kMessages) << "the kill came too late to prove anything";
  ChildProcess second(args, dir.file("second.log"));
  ASSERT_TRUE(waitFor([&] { return sent() == kMessages; }, 120s))
      << sent() << "\n"
      << testing::readFile(dir.file("second.log"));
  ASSERT_TRUE(
      waitFor([&] { return client->messageCount("notification.order-events").value() == 0; }));
  const int status = second.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << testing::readFile(dir.file("second.log"));
  EXPECT_EQ(sent(), kMessages);
  auto inboxRows = db->query("SELECT COUNT(*) FROM inbox").value();
  EXPECT_EQ(std::get<std::int64_t>(inboxRows.at(0).at(0)), kMessages);
  EXPECT_EQ(client->messageCount("notification.order-events.dlq").value(), 0);
}

}  // namespace
}  // namespace orders
