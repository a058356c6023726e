#pragma once
// The fixture of the tests that run a WidgetEvent consumer against the shared private broker
// (consumer_rmqtest, and the `order-events dlq` tests in src/tools): test schemas, an inbox,
// a client, and a work queue and exchange of the test's own, deleted again afterwards.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "broker/rabbitmq/amqp_client.hpp"
#include "consumer/sqlite/sqlite_inbox.hpp"
#include "consumer/testing/consumer_test_support.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/unique_names.hpp"

namespace orders::testing {

class WidgetConsumerRmqTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)RabbitMqServer::shared(); }

  /// Queue "<unique>.<name>" bound to exchange "<queue>.exchange" (declared by the consumer).
  explicit WidgetConsumerRmqTest(const std::string& name)
      : schemas_(loadTestSchemas(dir_.path())),
        inbox_(SqliteInbox::open(dir_.file("inbox.db")).value()),
        client_(AmqpClient::connect(url()).value()),
        queue_(uniqueName(name)),
        exchange_(queue_ + ".exchange"),
        options_(widgetConsumer(queue_, exchange_)) {}

  /// Runs after the test's own destructor stopped its consumer.
  ~WidgetConsumerRmqTest() override {
    // Cleanup; a queue that was never declared is fine.
    for (std::size_t level = 1; level <= options_.retry.delays.size(); ++level)
      (void)client_->deleteQueue(retryQueueName(queue_, level));
    for (const auto& q : {queue_, deadLetterQueueName(queue_)}) (void)client_->deleteQueue(q);
    (void)client_->deleteExchange(exchange_);
  }

  static std::string url() { return RabbitMqServer::shared().amqpUrl(); }

  TempDir dir_{"widget-consumer"};
  std::unique_ptr<SchemaRegistry> schemas_;
  std::unique_ptr<SqliteInbox> inbox_;
  std::unique_ptr<AmqpClient> client_;
  std::string queue_;
  std::string exchange_;
  ConsumerOptions options_;
};

}  // namespace orders::testing
