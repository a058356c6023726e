#pragma once
// The fixture of the tests that run InboundEvents against the shared private broker
// (inbound_events_rmqtest, and tests/component/inbound_http_parity_rmqtest): the Order Service on
// its own SQLite file, exchanges and queues under names of its own, and message builders.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/consumer/dead_letter_admin.hpp"
#include "consumer/testing/consumer_test_support.hpp"
#include "inbound/inbound_events.hpp"
#include "inbound/testing/inbound_test_support.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/unique_names.hpp"

namespace orders::testing {

class InboundEventsRmqTest : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  static void SetUpTestSuite() { (void)RabbitMqServer::shared(); }

  InboundEventsRmqTest() {
    const std::string prefix = uniqueName("inbound");
    options_.connection.url = url();
    options_.paymentExchange = prefix + ".payment.events";
    options_.fulfillmentExchange = prefix + ".fulfillment.events";
    options_.paymentQueue = prefix + ".order-service.payment-events";
    options_.fulfillmentQueue = prefix + ".order-service.fulfillment-events";
    options_.retry.delays = {std::chrono::milliseconds(100), std::chrono::milliseconds(200)};
    options_.retry.maxRetries = 2;
    options_.workers = 2;
    client_ = AmqpClient::connect(url()).value();
  }

  ~InboundEventsRmqTest() override {
    if (inbound_) inbound_->stop();
    for (const auto& q : {options_.paymentQueue, options_.fulfillmentQueue}) {
      for (const auto& name :
           {q, retryQueueName(q, 1), retryQueueName(q, 2), deadLetterQueueName(q)}) {
        (void)client_->deleteQueue(name);  // cleanup only
      }
    }
    (void)client_->deleteExchange(options_.paymentExchange);
    (void)client_->deleteExchange(options_.fulfillmentExchange);
  }

  static std::string url() { return RabbitMqServer::shared().amqpUrl(); }

  void startInbound() {
    inbound_ = std::make_unique<InboundEvents>(service_, env_.schemas, options_);
    auto started = inbound_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  OrderId createOrder(bool startPayment = true) { return env_.createOrder(startPayment); }
  Order order(const OrderId& id) { return env_.order(id); }
  std::vector<OutboxMessage> outbox(const OrderId& id) { return env_.outbox(id); }

  std::string publish(const std::string& exchange, const std::string& type, json payload,
                      const std::string& partitionKey, const std::string& correlationId = "",
                      std::string messageId = "") {
    if (messageId.empty()) messageId = newMessageId();
    auto message =
        envelope(type, "1.0", std::move(payload), messageId, partitionKey,
                 exchange == options_.paymentExchange ? "PaymentService" : "FulfillmentService");
    if (correlationId.empty()) {
      message.erase("correlationId");
    } else {
      message["correlationId"] = correlationId;
    }
    BrokerMessage m;
    m.exchange = exchange;
    m.routingKey = type;
    m.messageId = messageId;
    m.body = message.dump();
    EXPECT_TRUE(client_->publish(m).ok());
    return messageId;
  }

  std::string paymentCompleted(const OrderId& id, const std::string& correlationId = "",
                               double amount = 89.98, const std::string& messageId = "") {
    return publish(options_.paymentExchange, "PaymentCompletedEvent",
                   {{"orderId", id.str()},
                    {"paymentTransactionId", "pay-tx-1"},
                    {"amount", amount},
                    {"currency", "USD"},
                    {"completedAt", "2024-05-01T10:00:00.000Z"}},
                   id.str(), correlationId, messageId);
  }

  std::vector<DeadLetter> deadLetters(const std::string& queue) {
    RabbitConnectionOptions c;
    c.url = url();
    return DeadLetterAdmin::connect(c).value()->peek(deadLetterQueueName(queue), 100).value();
  }

  ServiceOnSqlite env_{"inbound-rmq"};
  OrderService& service_ = env_.service;
  InboundEventsOptions options_;
  std::unique_ptr<InboundEvents> inbound_;
  std::unique_ptr<AmqpClient> client_;
};

}  // namespace orders::testing
