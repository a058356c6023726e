// Two major versions of OrderCreatedEvent side by side (docs/events/versioning.md): the built
// binary with `--publish-versions OrderCreatedEvent=1.0,2.0` and a real RabbitMQ, and consumers
// built on the consumer runtime as other services build them:
//  - one built against 1.0 (its schema directory has no 2.0), bound to the 1.x routing key;
//  - one registered for 2.0, bound to OrderCreatedEvent.v2;
//  - a 1.0 consumer that (wrongly) binds both keys: the 2.0 message must not be handled as a
//    1.0 one, it is dead-lettered as unsupported-version, and its 1.0 messages still apply.
// Then a 1.1 message with an added optional field reaches the 1.0 consumer and is applied.

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "blackbox/outbox_events.hpp"
#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/consumer/rabbit_consumer.hpp"
#include "consumer/failure_headers.hpp"
#include "consumer/sqlite/sqlite_inbox.hpp"
#include "order_request.hpp"
#include "support/http_client.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/unique_names.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::RabbitMqServer;
using testing::ServiceProcess;
using testing::TempDir;
using testing::waitFor;

const std::string& kOrder = testing::kBrokerSuiteOrder;

/// What a handler saw, kept for the assertions.
struct Seen {
  std::mutex mutex;
  std::vector<InboundMessage> messages;

  void add(const InboundMessage& m) {
    std::lock_guard lock(mutex);
    messages.push_back(m);
  }
  std::vector<InboundMessage> all() {
    std::lock_guard lock(mutex);
    return messages;
  }
};

/// A consumer of OrderCreatedEvent of one major on a queue of its own, bound to `routingKeys`
/// of order.events (which the service declared), with its own inbox.
class MajorConsumer {
 public:
  MajorConsumer(const std::string& name, std::vector<std::string> routingKeys, int major,
                const SchemaRegistry& schemas, const TempDir& dir)
      : queue_(testing::uniqueName(name)),
        inbox_(SqliteInbox::open(dir.file(name + "-inbox.db")).value()) {
    ConsumerOptions options;
    options.subscription.queue = queue_;
    options.subscription.exchange = "order.events";
    options.subscription.exchangeDeclaration = ExchangeDeclaration::kPassive;
    options.subscription.routingKeys = std::move(routingKeys);
    options.retry.delays = {std::chrono::milliseconds(100)};
    options.retry.maxRetries = 1;
    RabbitConnectionOptions connection;
    connection.url = RabbitMqServer::shared().amqpUrl();
    consumer_ = makeRabbitConsumer(connection, options, schemas, inbox_.get());
    auto registered = consumer_->on("OrderCreatedEvent", major, [this](const InboundMessage& m) {
      seen.add(m);
      return HandlerResult(Handled::kApplied);
    });
    EXPECT_TRUE(registered.ok()) << registered.error().message;
    auto started = consumer_->start();
    EXPECT_TRUE(started.ok()) << started.error().message;
  }
  ~MajorConsumer() {
    consumer_->stop();
    auto client = AmqpClient::connect(RabbitMqServer::shared().amqpUrl());
    if (!client) return;
    (void)(*client)->deleteQueue(retryQueueName(queue_, 1));
    (void)(*client)->deleteQueue(deadLetterQueueName(queue_));
    (void)(*client)->deleteQueue(queue_);
  }
  MajorConsumer(const MajorConsumer&) = delete;
  MajorConsumer& operator=(const MajorConsumer&) = delete;

  ConsumerStatus status() const { return consumer_->status(); }
  const std::string& queue() const { return queue_; }

  Seen seen;

 private:
  std::string queue_;
  std::unique_ptr<SqliteInbox> inbox_;
  std::unique_ptr<Consumer> consumer_;
};

/// schemas/ as a consumer built against 1.x has it: everything but OrderCreatedEvent 2.0.
std::unique_ptr<SchemaRegistry> schemasWithoutTwoPointZero(const TempDir& dir) {
  const auto copy = std::filesystem::path(dir.file("v1-schemas"));
  std::filesystem::copy(ORDER_SERVICE_SCHEMA_DIR, copy, std::filesystem::copy_options::recursive);
  std::filesystem::remove(copy / "events" / "OrderCreatedEvent" / "2.0.json");
  return std::make_unique<SchemaRegistry>(SchemaRegistry::load(copy.string()).value());
}

std::int64_t sequenceOf(const InboundMessage& m) {
  for (const auto& h : m.headers) {
    if (h.name == "sequence") return std::get<std::int64_t>(h.value);
  }
  return -1;
}

TEST(EventMajorsSideBySide, OneOrderPublishesBothAndEachConsumerGetsTheMajorItIsBuiltFor) {
  auto& broker = RabbitMqServer::shared();
  TempDir dir;
  const std::string database = dir.file("orders.db");
  ServiceProcess service(
      ORDER_SERVICE_BINARY,
      {"--database", "sqlite:" + database, "--amqp-url", broker.amqpUrl(), "--publish-versions",
       "OrderCreatedEvent=1.0,2.0", "--no-consumers", "--log-level", "warn"});
  HttpClient http("127.0.0.1", service.port());
  // The relay is connected once the topology (order.events) is declared.
  ASSERT_TRUE(waitFor([&] {
    return json::parse(http.get("/readyz").body).at("relay").at("state") == "connected";
  }));

  const auto v1Schemas = schemasWithoutTwoPointZero(dir);
  const auto allSchemas =
      std::make_unique<SchemaRegistry>(SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR).value());
  MajorConsumer v1("majors.v1", {"OrderCreatedEvent"}, 1, *v1Schemas, dir);
  MajorConsumer v2("majors.v2", {"OrderCreatedEvent.v2"}, 2, *allSchemas, dir);
  MajorConsumer careless("majors.both-keys", {"OrderCreatedEvent", "OrderCreatedEvent.v2"}, 1,
                         *v1Schemas, dir);
  ASSERT_TRUE(waitFor([&] {
    for (const auto* c : {&v1, &v2, &careless}) {
      if (c->status().state != ConsumerStatus::State::kConnected) return false;
    }
    return true;
  }));

  const auto created = http.post("/v1/orders", kOrder);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string orderId = json::parse(created.body).at("orderId");

  // Both rows are in the outbox, committed with the order.
  const auto rows = testing::outboxEvents(database, orderId);
  std::vector<json> createdRows;
  for (const auto& row : rows) {
    if (row.at("messageType") == "OrderCreatedEvent") createdRows.push_back(row);
  }
  ASSERT_EQ(createdRows.size(), 2u);
  EXPECT_EQ(createdRows[0].at("messageVersion"), "1.0");
  EXPECT_EQ(createdRows[1].at("messageVersion"), "2.0");
  EXPECT_NE(createdRows[0].at("messageId"), createdRows[1].at("messageId"));

  ASSERT_TRUE(waitFor([&] { return v1.status().applied == 1 && v2.status().applied == 1; }));
  ASSERT_TRUE(waitFor(
      [&] { return careless.status().applied == 1 && careless.status().deadLettered == 1; }));

  const auto one = v1.seen.all().at(0);
  const auto two = v2.seen.all().at(0);
  EXPECT_EQ(one.messageVersion, "1.0");
  EXPECT_EQ(one.routingKey, "OrderCreatedEvent");
  EXPECT_EQ(one.payload.at("totalAmount"), 21.0);
  EXPECT_EQ(one.payload.at("currency"), "EUR");
  EXPECT_EQ(two.messageVersion, "2.0");
  EXPECT_EQ(two.majorVersion, 2);
  EXPECT_EQ(two.routingKey, "OrderCreatedEvent.v2");
  EXPECT_EQ(two.payload.at("totalAmount"), json::parse(R"({"amount": 2100, "currency": "EUR"})"));
  EXPECT_EQ(two.payload.at("items").at(0).at("unitPrice"),
            json::parse(R"({"amount": 1050, "currency": "EUR"})"));
  EXPECT_NE(one.messageId, two.messageId);
  EXPECT_EQ(one.partitionKey, orderId);
  EXPECT_EQ(two.partitionKey, orderId);
  EXPECT_EQ(sequenceOf(one), 1);
  EXPECT_EQ(sequenceOf(two), 1) << "the two versions of one event share its sequence number";

  // The 1.0 consumer bound to the 1.x key never received the 2.0 message at all.
  EXPECT_EQ(v1.status().received, 1u);
  EXPECT_EQ(v1.status().deadLettered, 0u);
  // The one that bound both keys handled only the 1.0 one; the 2.0 one waits in its DLQ, marked.
  const auto carelessSeen = careless.seen.all();
  ASSERT_EQ(carelessSeen.size(), 1u);
  EXPECT_EQ(carelessSeen[0].messageVersion, "1.0");
  auto client = AmqpClient::connect(broker.amqpUrl()).value();
  auto dead = client->get(deadLetterQueueName(careless.queue()));
  ASSERT_TRUE(dead.ok() && dead->has_value());
  EXPECT_EQ(json::parse((*dead)->body).at("messageVersion"), "2.0");
  const auto* kind = (*dead)->header(kHeaderFailureKind);
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(std::get<std::string>(kind->value), "unsupported-version");

  // A 1.1 of the event with an added optional field, as the producer would send it after a
  // minor version: the consumer built against 1.0 applies it and finds the field in the payload.
  json envelope = createdRows[0].at("envelope");
  envelope["messageId"] = "msg-0b5e0c44-8b1a-4f7e-9d7c-1f2a3b4c5d6e";
  envelope["messageVersion"] = "1.1";
  envelope["payload"]["giftMessage"] = "Happy birthday";
  BrokerMessage minor;
  minor.exchange = "order.events";
  minor.routingKey = "OrderCreatedEvent";
  minor.body = envelope.dump();
  minor.contentType = "application/json";
  minor.messageId = envelope["messageId"].get<std::string>();
  minor.type = "OrderCreatedEvent";
  minor.headers = {{"messageVersion", std::string("1.1")},
                   {"partitionKey", orderId},
                   {"sequence", std::int64_t{4}}};
  ASSERT_TRUE(client->publish(minor).ok());
  ASSERT_TRUE(waitFor([&] { return v1.status().applied == 2; }));
  const auto minorSeen = v1.seen.all().at(1);
  EXPECT_EQ(minorSeen.messageVersion, "1.1");
  EXPECT_EQ(minorSeen.majorVersion, 1);
  EXPECT_EQ(minorSeen.payload.at("giftMessage"), "Happy birthday");
  EXPECT_EQ(minorSeen.payload.at("totalAmount"), 21.0);
  EXPECT_EQ(v1.status().deadLettered, 0u);
  // The 2.0 consumer is bound to the 2.x key only: the 1.1 message never reached it.
  EXPECT_EQ(v2.status().received, 1u);
}

}  // namespace
}  // namespace orders
