// declareTopology against a real broker: idempotent, routes and dead-letters as configured,
// keeps unroutable messages, and reports conflicting existing declarations clearly.

#include <gtest/gtest.h>

#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/rmq_topology.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using testing::RabbitMqServer;

std::string url() {
  return RabbitMqServer::shared().amqpUrl();
}

/// The shared shape with two consumer queues: <p>.notification and <p>.analytics (limit 3).
TopologyConfig prefixed(const std::string& p) {
  TopologyConfig t = testing::prefixedTopology(p);
  t.queues = {
      {p + ".notification",
       QueueType::kQuorum,
       {"OrderConfirmationNotificationRequestedEvent", "OrderShippedEvent"},
       std::nullopt},
      {p + ".analytics",
       QueueType::kQuorum,
       {"OrderPlacedForAnalyticsEvent", "OrderStatusChangedEvent"},
       3},
  };
  return t;
}

BrokerMessage message(const std::string& exchange, const std::string& key) {
  BrokerMessage m;
  m.exchange = exchange;
  m.routingKey = key;
  m.body = R"({"messageType":")" + key + "\"}";
  m.messageId = "msg-" + key;
  return m;
}

/// Waits for a queue to reach `count` ready messages (publishes without confirms are async).
void expectCount(AmqpClient& client, const std::string& queue, std::int64_t count) {
  std::int64_t n = -1;
  testing::waitFor(
      [&] {
        auto r = client.messageCount(queue);
        n = r ? *r : -1;
        return n == count;
      },
      5s);
  EXPECT_EQ(n, count) << queue;
}

TEST(Topology, DeclaresIdempotentlyAndRoutesAsConfigured) {
  const auto t = prefixed("topo1");
  ASSERT_TRUE(declareTopology(url(), t).ok());
  auto again = declareTopology(url(), t);
  ASSERT_TRUE(again.ok()) << again.error().message;

  auto client = AmqpClient::connect(url());
  ASSERT_TRUE(client.ok()) << client.error().message;
  AmqpClient& c = **client;
  ASSERT_TRUE(c.publish(message(t.exchange, "OrderShippedEvent")).ok());
  ASSERT_TRUE(c.publish(message(t.exchange, "OrderStatusChangedEvent")).ok());
  ASSERT_TRUE(c.publish(message(t.exchange, "OrderRefundProcessedEvent")).ok());  // unbound
  expectCount(c, t.queues[0].name, 1);
  expectCount(c, t.queues[1].name, 1);
  expectCount(c, t.unroutedQueue, 1);
  auto kept = c.get(t.unroutedQueue);
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->routingKey, "OrderRefundProcessedEvent");

  // A consumer's rejection dead-letters into the DLQ.
  ASSERT_TRUE(c.consume(t.queues[0].name, /*autoAck=*/false).ok());
  auto d = c.next(5s);
  ASSERT_TRUE(d.ok() && d->has_value());
  ASSERT_TRUE(c.reject((*d)->deliveryTag, /*requeue=*/false).ok());
  expectCount(c, t.deadLetterQueue, 1);
}

TEST(Topology, AClassicQueueWhereWeWantQuorumIsAClearError) {
  auto t = prefixed("topo2");
  auto client = AmqpClient::connect(url());
  ASSERT_TRUE(client.ok());
  // Same dead-letter exchange, so the queue type is the only difference.
  ASSERT_TRUE(
      (*client)->declareQueue(t.queues[0].name, QueueType::kClassic, t.deadLetterExchange).ok());

  auto s = declareTopology(url(), t);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_NE(s.error().message.find("queue 'topo2.notification'"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("x-queue-type"), std::string::npos) << s.error().message;
  // The rest was still declared.
  auto other = (*client)->messageCount(t.queues[1].name);
  EXPECT_TRUE(other.ok()) << other.error().message;
}

TEST(Topology, AnotherDeadLetterExchangeIsAClearError) {
  auto t = prefixed("topo3");
  auto client = AmqpClient::connect(url());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->declareQueue(t.queues[1].name, QueueType::kQuorum, "elsewhere.dlx").ok());
  auto s = declareTopology(url(), t);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_NE(s.error().message.find("queue 'topo3.analytics'"), std::string::npos)
      << s.error().message;
  // Whichever differing argument the broker checks first is named; both differ here.
  const bool named = s.error().message.find("x-dead-letter-exchange") != std::string::npos ||
                     s.error().message.find("x-delivery-limit") != std::string::npos;
  EXPECT_TRUE(named) << s.error().message;
}

TEST(Topology, AnExchangeOfAnotherTypeIsAClearError) {
  auto t = prefixed("topo4");
  t.deadLetterExchange = "topo4.events";  // exists below as a direct exchange; we want fanout
  t.exchange = "topo4.main";
  ASSERT_TRUE(declareTopology(url(), prefixed("topo4")).ok());
  auto s = declareTopology(url(), t);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("exchange 'topo4.events'"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("type"), std::string::npos) << s.error().message;
}

TEST(Topology, AnUnreachableBrokerIsUnavailable) {
  RabbitConnectionOptions o;
  o.url = "amqp://guest:guest@127.0.0.1:1/%2F";
  o.connectTimeout = 1s;
  auto s = declareTopology(o, prefixed("topo5"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace orders
