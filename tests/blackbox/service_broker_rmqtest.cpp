// The built binary with a real RabbitMQ: what a downstream consumer sees when the service is
// killed in the middle of a load, and when the broker is down while orders come in.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "blackbox/outbox_events.hpp"
#include "broker/rabbitmq/amqp_client.hpp"
#include "order_request.hpp"
#include "publishing/event_factory.hpp"
#include "support/http_client.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::RabbitMqServer;
using testing::ServiceProcess;

const std::string& kOrder = testing::kBrokerSuiteOrder;

using testing::TempDir;

/// messageId -> partitionKey of every committed event, as `order-events outbox events` lists
/// them (published rows are kept for days, so this is everything the service committed).
std::map<std::string, std::string> committedEvents(const std::string& databasePath) {
  std::map<std::string, std::string> rows;
  for (const auto& e : testing::outboxEvents(databasePath))
    rows[e.at("messageId")] = e.at("partitionKey");
  return rows;
}

json readiness(int port) {
  HttpClient http("127.0.0.1", port);
  return json::parse(http.get("/readyz").body);
}

/// Waits until the relay of the service on `port` has no backlog left.
bool waitForDrainedOutbox(int port, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto ready = readiness(port);
    if (ready.at("outbox").at("pending") == 0 && ready.at("relay").at("state") == "connected") {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(ServiceWithBroker, KillDashNineInTheMiddleOfALoadLosesNoCommittedEvent) {
  auto& broker = RabbitMqServer::shared();
  TempDir dir;
  const std::string database = dir.file("orders.db");
  const std::vector<std::string> args{"--database",     "sqlite:" + database, "--amqp-url",
                                      broker.amqpUrl(), "--log-level",        "warn"};
  auto service = std::make_unique<ServiceProcess>(ORDER_SERVICE_BINARY, args);

  // A downstream queue bound to every event type, declared before any order exists.
  auto client = AmqpClient::connect(broker.amqpUrl()).value();
  const std::string queue = "blackbox.kill9.all-events";
  ASSERT_TRUE(client->declareQueue(queue, QueueType::kQuorum).ok());
  for (auto type : kPublishedMessageTypes) {
    ASSERT_TRUE(client->bind(queue, "order.events", std::string(type)).ok());
  }

  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, port = service->port()] {
      HttpClient http("127.0.0.1", port);
      while (!stop) {
        try {
          auto response = http.post("/v1/orders", kOrder);
          if (response.status == 201) {
            ++created;
            http.post(response.header("location") + "/payment", "");
          }
        } catch (const std::exception&) {
          return;  // killed
        }
      }
    });
  }
  while (created < 300) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  service->kill();
  stop = true;
  for (auto& c : clients) c.join();

  service = std::make_unique<ServiceProcess>(ORDER_SERVICE_BINARY, args);
  ASSERT_TRUE(waitForDrainedOutbox(service->port(), std::chrono::seconds(60)))
      << readiness(service->port()).dump();

  const auto committed = committedEvents(database);
  ASSERT_GE(committed.size(), 300u * 3);
  ASSERT_TRUE(client->consume(queue, /*autoAck=*/true).ok());
  std::set<std::string> received;
  std::map<std::string, std::int64_t> lastSequence;
  bool ordered = true;
  while (received.size() < committed.size()) {
    auto delivery = client->next(std::chrono::seconds(10));
    ASSERT_TRUE(delivery.ok()) << delivery.error().message;
    if (!delivery->has_value()) break;
    const auto& message = **delivery;
    received.insert(message.messageId);
    // Per order, first deliveries come in sequence order (a redelivered duplicate may repeat one).
    const auto* sequence = message.header("sequence");
    const auto* partition = message.header("partitionKey");
    ASSERT_NE(sequence, nullptr);
    ASSERT_NE(partition, nullptr);
    ASSERT_TRUE(std::holds_alternative<std::int64_t>(sequence->value));
    const auto value = std::get<std::int64_t>(sequence->value);
    auto& last = lastSequence[std::get<std::string>(partition->value)];
    if (value > last + 1) ordered = false;
    last = std::max(last, value);
  }
  std::size_t missing = 0;
  for (const auto& [messageId, orderId] : committed) missing += received.count(messageId) ? 0 : 1;
  EXPECT_EQ(missing, 0u) << "committed events never delivered";
  EXPECT_TRUE(ordered) << "an order's event arrived before an earlier one of the same order";
  EXPECT_TRUE(client->deleteQueue(queue).ok());
}

TEST(ServiceWithBroker, BrokerDownAtStartOrdersWaitInTheOutboxAndAreDeliveredLater) {
  auto broker = RabbitMqServer::start();
  TempDir dir;
  // Declare the topology once, so the analytics queue exists to count deliveries in.
  {
    ServiceProcess first(ORDER_SERVICE_BINARY,
                         {"--database", "sqlite:" + dir.file("warm.db"), "--amqp-url",
                          broker->amqpUrl(), "--log-level", "warn"});
  }
  broker->stop();

  ServiceProcess service(ORDER_SERVICE_BINARY,
                         {"--database", "sqlite:" + dir.file("orders.db"), "--amqp-url",
                          broker->amqpUrl(), "--log-level", "error"});
  HttpClient http("127.0.0.1", service.port());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(http.post("/v1/orders", kOrder).status, 201);

  json ready;
  for (int i = 0; i < 100; ++i) {
    ready = readiness(service.port());
    if (ready.at("relay").at("backlog") == 60) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(http.get("/readyz").status, 200) << "still ready: orders are accepted";
  EXPECT_EQ(ready.at("status"), "degraded") << ready.dump();
  EXPECT_EQ(ready.at("relay").at("state"), "degraded") << ready.dump();
  EXPECT_EQ(ready.at("relay").at("backlog"), 60) << ready.dump();

  broker->startAgain();
  ASSERT_TRUE(waitForDrainedOutbox(service.port(), std::chrono::seconds(90)))
      << readiness(service.port()).dump();
  auto client = AmqpClient::connect(broker->amqpUrl()).value();
  // analytics.order-events binds OrderPlacedForAnalyticsEvent (config/topology.json): one per
  // order.
  EXPECT_EQ(client->messageCount("analytics.order-events").value(), 20);
}

}  // namespace
}  // namespace orders
