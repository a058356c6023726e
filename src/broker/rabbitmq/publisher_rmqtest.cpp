// The RabbitMQ ConfirmedPublisher against a real broker: confirms, properties and headers on the
// wire, basic.return, channel errors, connection.blocked/unblocked and connect errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/rabbit_publisher.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/rmq_topology.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using testing::prefixedTopology;
using testing::RabbitMqServer;
using testing::waitFor;

RabbitConnectionOptions options() {
  RabbitConnectionOptions o;
  o.url = RabbitMqServer::shared().amqpUrl();
  o.connectionName = "publisher_rmqtest";
  return o;
}

std::unique_ptr<ConfirmedPublisher> openPublisher() {
  auto p = openRabbitPublisher(options());
  EXPECT_TRUE(p.ok()) << p.error().message;
  return p.ok() ? std::move(*p) : nullptr;
}

/// Polls until every tag in 1..count is confirmed; returns acks seen (expanding `multiple`).
std::vector<bool> awaitConfirms(ConfirmedPublisher& p, std::uint64_t count,
                                std::vector<BrokerReturn>* returns = nullptr) {
  std::vector<bool> acked(count + 1, false);
  std::vector<bool> seen(count + 1, false);
  std::uint64_t confirmed = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (confirmed < count && std::chrono::steady_clock::now() < deadline) {
    PublisherEvents ev = p.poll(200ms);
    EXPECT_FALSE(ev.failure) << ev.failure->message;
    if (ev.failure) break;
    if (returns != nullptr) returns->insert(returns->end(), ev.returns.begin(), ev.returns.end());
    for (const auto& c : ev.confirms) {
      const std::uint64_t from = c.multiple ? 1 : c.deliveryTag;
      for (std::uint64_t t = from; t <= c.deliveryTag && t <= count; ++t) {
        if (!seen[t]) ++confirmed;
        seen[t] = true;
        acked[t] = c.ack;
      }
    }
  }
  EXPECT_EQ(confirmed, count);
  return acked;
}

TEST(RabbitPublisher, ConfirmsEveryPublishAndCarriesPropertiesAndHeaders) {
  const auto topology = prefixedTopology("pub1", {"OrderCreatedEvent"});
  ASSERT_TRUE(declareTopology(options(), topology).ok());
  auto publisher = openPublisher();
  ASSERT_TRUE(publisher);

  constexpr int kCount = 50;
  for (int i = 0; i < kCount; ++i) {
    BrokerMessage m;
    m.exchange = topology.exchange;
    m.routingKey = "OrderCreatedEvent";
    m.body = R"({"n":)" + std::to_string(i) + "}";
    m.contentType = "application/json";
    m.messageId = "msg-" + std::to_string(i);
    m.type = "OrderCreatedEvent";
    m.appId = "OrderService";
    m.correlationId = i % 2 == 0 ? "corr-" + std::to_string(i) : "";
    m.timestampSeconds = 1700000000 + i;
    m.headers = {{"messageVersion", std::string("1.0")},
                 {"partitionKey", std::string("order-1")},
                 {"sequence", std::int64_t{i + 1}}};
    auto tag = publisher->publish(m);
    ASSERT_TRUE(tag.ok()) << tag.error().message;
    EXPECT_EQ(*tag, static_cast<std::uint64_t>(i + 1));
  }
  auto acked = awaitConfirms(*publisher, kCount);
  for (int i = 1; i <= kCount; ++i) EXPECT_TRUE(acked[i]) << i;
  publisher->close(1s);

  auto client = AmqpClient::connect(options());
  ASSERT_TRUE(client.ok()) << client.error().message;
  for (int i = 0; i < kCount; ++i) {
    auto d = (*client)->get(topology.queues[0].name);
    ASSERT_TRUE(d.ok()) << d.error().message;
    ASSERT_TRUE(d->has_value()) << "message " << i << " missing";
    const Delivery& m = **d;
    EXPECT_EQ(m.routingKey, "OrderCreatedEvent");
    EXPECT_EQ(m.body, R"({"n":)" + std::to_string(i) + "}");
    EXPECT_EQ(m.contentType, "application/json");
    EXPECT_EQ(m.deliveryMode, 2);
    EXPECT_EQ(m.messageId, "msg-" + std::to_string(i));
    EXPECT_EQ(m.type, "OrderCreatedEvent");
    EXPECT_EQ(m.appId, "OrderService");
    EXPECT_EQ(m.correlationId, i % 2 == 0 ? "corr-" + std::to_string(i) : "");
    EXPECT_EQ(m.timestampSeconds, 1700000000 + i);
    ASSERT_NE(m.header("sequence"), nullptr);
    EXPECT_EQ(std::get<std::int64_t>(m.header("sequence")->value), i + 1);
    EXPECT_EQ(std::get<std::string>(m.header("messageVersion")->value), "1.0");
    EXPECT_EQ(std::get<std::string>(m.header("partitionKey")->value), "order-1");
  }
}

TEST(RabbitPublisher, ReportsAReturnBeforeTheAckOfAnUnroutableMandatoryMessage) {
  auto publisher = openPublisher();
  ASSERT_TRUE(publisher);
  BrokerMessage m;
  m.exchange = "";  // the default exchange routes to a queue of that name: there is none
  m.routingKey = "no-such-queue-pub2";
  m.messageId = "msg-returned";
  m.body = "{}";
  ASSERT_TRUE(publisher->publish(m).ok());
  std::vector<BrokerReturn> returns;
  auto acked = awaitConfirms(*publisher, 1, &returns);
  EXPECT_TRUE(acked[1]) << "a returned message is still acked";
  ASSERT_EQ(returns.size(), 1u);
  EXPECT_EQ(returns[0].messageId, "msg-returned");
  EXPECT_EQ(returns[0].replyCode, 312);
  EXPECT_EQ(returns[0].replyText, "NO_ROUTE");
  EXPECT_EQ(returns[0].routingKey, "no-such-queue-pub2");
}

TEST(RabbitPublisher, AMissingExchangeKillsThePublisherWithTheBrokersReason) {
  auto publisher = openPublisher();
  ASSERT_TRUE(publisher);
  BrokerMessage m;
  m.exchange = "no.such.exchange";
  m.routingKey = "x";
  m.body = "{}";
  ASSERT_TRUE(publisher->publish(m).ok());  // "sent" only: the error comes back asynchronously
  std::optional<Error> failure;
  ASSERT_TRUE(waitFor(
      [&] {
        auto ev = publisher->poll(100ms);
        failure = ev.failure;
        return failure.has_value();
      },
      10s));
  EXPECT_NE(failure->message.find("NOT_FOUND"), std::string::npos) << failure->message;
  EXPECT_NE(failure->message.find("no.such.exchange"), std::string::npos) << failure->message;
  EXPECT_FALSE(publisher->publish(m).ok()) << "a failed publisher stays failed";
}

TEST(RabbitPublisher, ReportsConnectionBlockedAndUnblocked) {
  auto& broker = RabbitMqServer::shared();
  const auto topology = prefixedTopology("pub4", {"OrderCreatedEvent"});
  ASSERT_TRUE(declareTopology(options(), topology).ok());
  auto publisher = openPublisher();
  ASSERT_TRUE(publisher);
  BrokerMessage m;
  m.exchange = topology.exchange;
  m.routingKey = "OrderCreatedEvent";
  m.body = "{}";
  ASSERT_TRUE(publisher->publish(m).ok());
  awaitConfirms(*publisher, 1);

  std::string out;
  ASSERT_EQ(broker.rabbitmqctl({"set_vm_memory_high_watermark", "absolute", "1MB"}, &out), 0)
      << out;
  // The broker tells a connection it is blocked when it next publishes during the alarm.
  std::string reason;
  std::uint64_t published = 1;
  std::uint64_t confirmed = 1;
  auto pollOnce = [&](std::chrono::milliseconds timeout) {
    auto ev = publisher->poll(timeout);
    EXPECT_FALSE(ev.failure);
    for (const auto& c : ev.confirms) confirmed = std::max(confirmed, c.deliveryTag);
    if (ev.flow == PublisherEvents::Flow::kBlocked) reason = ev.blockedReason;
    return ev.flow;
  };
  const bool blocked = waitFor(
      [&] {
        EXPECT_TRUE(publisher->publish(m).ok());
        ++published;
        return pollOnce(300ms) == PublisherEvents::Flow::kBlocked;
      },
      30s);
  ASSERT_EQ(broker.rabbitmqctl({"set_vm_memory_high_watermark", "0.4"}, &out), 0) << out;
  ASSERT_TRUE(blocked);
  EXPECT_NE(reason.find("memory"), std::string::npos) << reason;
  EXPECT_LT(confirmed, published) << "the last publish cannot be confirmed while blocked";
  EXPECT_TRUE(waitFor([&] { return pollOnce(100ms) == PublisherEvents::Flow::kUnblocked; }, 30s));
  // Nothing published while blocked was lost: every message is confirmed after the alarm.
  EXPECT_TRUE(waitFor(
      [&] {
        pollOnce(100ms);
        return confirmed == published;
      },
      30s));
}

TEST(RabbitPublisher, WakeupInterruptsAPoll) {
  auto publisher = openPublisher();
  ASSERT_TRUE(publisher);
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    publisher->wakeup();
  });
  const auto started = std::chrono::steady_clock::now();
  auto ev = publisher->poll(10s);
  waker.join();
  EXPECT_TRUE(ev.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(RabbitPublisher, ConnectErrorsAreClear) {
  auto& broker = RabbitMqServer::shared();
  RabbitConnectionOptions o = options();
  o.connectTimeout = 2s;

  o.url = "amqp://guest:guest@127.0.0.1:1/%2F";
  auto refused = openRabbitPublisher(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("cannot connect to amqp://guest:***@127.0.0.1:1/"),
            std::string::npos)
      << refused.error().message;

  o.url = "amqp://guest:wrong@127.0.0.1:" + std::to_string(broker.port()) + "/%2F";
  auto badLogin = openRabbitPublisher(o);
  ASSERT_FALSE(badLogin.ok());
  EXPECT_NE(badLogin.error().message.find("ACCESS_REFUSED"), std::string::npos)
      << badLogin.error().message;
  EXPECT_EQ(badLogin.error().message.find("wrong"), std::string::npos) << "password leaked";

  o.url = "amqp://guest:guest@127.0.0.1:" + std::to_string(broker.port()) + "/no-such-vhost";
  auto badVhost = openRabbitPublisher(o);
  ASSERT_FALSE(badVhost.ok());
  EXPECT_EQ(badVhost.error().code, ErrorCode::kInvalidArgument) << badVhost.error().message;
  EXPECT_NE(badVhost.error().message.find("no-such-vhost"), std::string::npos)
      << badVhost.error().message;

  auto badUrl = makeRabbitPublisherFactory(RabbitConnectionOptions{.url = "amqp://host:0"});
  ASSERT_FALSE(badUrl.ok());
  EXPECT_NE(badUrl.error().message.find("not a port number in 1-65535"), std::string::npos)
      << badUrl.error().message;
}

}  // namespace
}  // namespace orders
