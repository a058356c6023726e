// AmqpClient against a real broker: what it publishes carries the properties and headers the relay
// sets, and what it receives keeps nested header tables (x-death) instead of flattening them.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "broker/rabbitmq/amqp_client.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using testing::RabbitMqServer;

std::unique_ptr<AmqpClient> connect() {
  auto client = AmqpClient::connect(RabbitMqServer::shared().amqpUrl());
  EXPECT_TRUE(client.ok()) << client.error().message;
  return client.ok() ? std::move(*client) : nullptr;
}

/// basic.get until a message arrives (a publish without confirm is asynchronous).
std::optional<Delivery> getWithin(AmqpClient& client, const std::string& queue,
                                  std::chrono::milliseconds timeout) {
  std::optional<Delivery> got;
  testing::waitFor(
      [&] {
        auto d = client.get(queue);
        EXPECT_TRUE(d.ok()) << d.error().message;
        if (d.ok()) got = std::move(*d);
        return !d.ok() || got.has_value();
      },
      timeout);
  return got;
}

TEST(AmqpClient, PublishCarriesHeadersAppIdAndCorrelationId) {
  auto client = connect();
  ASSERT_TRUE(client);
  const std::string queue = "amqpc1.q";
  ASSERT_TRUE(client->declareQueue(queue, QueueType::kClassic).ok());

  // What AmqpClient::publish used to drop; every other property is covered by amqp_fields_test.
  BrokerMessage m;
  m.routingKey = queue;  // through the default exchange, which routes by queue name
  m.appId = "OrderService";
  m.correlationId = "corr-amqpc1";
  m.headers = {{"partitionKey", std::string("order-1")}, {"sequence", std::int64_t{7}}};
  ASSERT_TRUE(client->publish(m).ok());

  auto d = getWithin(*client, queue, 5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->appId, "OrderService");
  EXPECT_EQ(d->correlationId, "corr-amqpc1");
  EXPECT_EQ(d->headers, m.headers);
  EXPECT_TRUE(client->deleteQueue(queue).ok());
}

TEST(AmqpClient, ADeadLetteredMessageKeepsItsXDeathHeaderAsJson) {
  auto client = connect();
  ASSERT_TRUE(client);
  const std::string queue = "amqpc2.q";
  const std::string dlq = "amqpc2.dlq";
  // A rejected message goes to amq.direct under its routing key, the queue's name.
  ASSERT_TRUE(client->declareQueue(queue, QueueType::kClassic, "amq.direct").ok());
  ASSERT_TRUE(client->declareQueue(dlq, QueueType::kClassic).ok());
  ASSERT_TRUE(client->bind(dlq, "amq.direct", queue).ok());
  ASSERT_TRUE(client->consume(queue, /*autoAck=*/false).ok());
  BrokerMessage m;
  m.routingKey = queue;
  m.messageId = "msg-amqpc2";
  ASSERT_TRUE(client->publish(m).ok());
  auto received = client->next(5s);
  ASSERT_TRUE(received.ok() && received->has_value());
  ASSERT_TRUE(client->reject((*received)->deliveryTag, /*requeue=*/false).ok());

  auto dead = getWithin(*client, dlq, 5s);
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->messageId, "msg-amqpc2");
  const MessageHeader* xDeath = dead->header("x-death");
  ASSERT_NE(xDeath, nullptr);
  const auto deaths = nlohmann::json::parse(std::get<std::string>(xDeath->value));
  ASSERT_TRUE(deaths.is_array() && deaths.size() == 1) << deaths.dump();
  EXPECT_EQ(deaths[0].at("queue"), queue);
  EXPECT_EQ(deaths[0].at("reason"), "rejected");
  EXPECT_EQ(deaths[0].at("count"), 1);
  EXPECT_EQ(deaths[0].at("routing-keys"), nlohmann::json::array({queue}));
  for (const auto& q : {queue, dlq}) EXPECT_TRUE(client->deleteQueue(q).ok());
}

}  // namespace
}  // namespace orders
