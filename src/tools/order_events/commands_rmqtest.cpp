// `order-events` topology / outbox / tail commands, run in-process against a private broker and
// a real SQLite file: output, environment variables and exit codes.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "broker/rabbitmq/amqp_client.hpp"
#include "cli_test_support.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::RabbitMqServer;

using testing::cli;
using testing::CliRun;

std::string url() {
  return RabbitMqServer::shared().amqpUrl();
}
std::string topologyFile() {
  return std::string(ORDER_SERVICE_SOURCE_DIR) + "/config/topology.json";
}

using testing::TempDir;

TEST(OrderEventsCli, HelpListsCommandsAndEnvironmentVariables) {
  auto run = cli({"--help"});
  EXPECT_EQ(run.code, 0);
  EXPECT_NE(run.out.find("topology"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("ORDER_EVENTS_AMQP_URL"), std::string::npos) << run.out;
  auto tail = cli({"tail", "--help"});
  EXPECT_EQ(tail.code, 0);
  EXPECT_NE(tail.out.find("ORDER_EVENTS_ROUTING_KEYS"), std::string::npos) << tail.out;
  EXPECT_NE(tail.out.find("--count"), std::string::npos) << tail.out;
}

TEST(OrderEventsCli, BadInputExitsWithTwoAndSaysWhy) {
  auto none = cli({});
  EXPECT_EQ(none.code, 2);
  auto unknown = cli({"topology", "declare", "--frobnicate"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("frobnicate"), std::string::npos) << unknown.err;
  auto badUrl = cli({"topology", "declare", "--amqp-url", "amqp://guest:pw@host:70000/",
                     "--topology", topologyFile()});
  EXPECT_EQ(badUrl.code, 2);
  EXPECT_NE(badUrl.err.find("port '70000'"), std::string::npos) << badUrl.err;
  auto badKey = cli({"tail", "--amqp-url", url(), "--routing-key", "OrderShipedEvent"});
  EXPECT_EQ(badKey.code, 2);
  EXPECT_NE(badKey.err.find("'OrderShipedEvent' is not a message type"), std::string::npos);
  auto noKey = cli({"tail", "--amqp-url", url()});
  EXPECT_EQ(noKey.code, 2);
  auto badDb = cli({"outbox", "status", "--database", "postgres://x"});
  EXPECT_EQ(badDb.code, 2);
  EXPECT_NE(badDb.err.find("sqlite:PATH"), std::string::npos);
  auto missingDb = cli({"outbox", "status", "--database", "sqlite:/nonexistent/orders.db"});
  EXPECT_EQ(missingDb.code, 2);
  EXPECT_NE(missingDb.err.find("no database file"), std::string::npos);
}

TEST(OrderEventsCli, ValidatesATopologyFileAndNamesTheBadKey) {
  auto ok = cli({"topology", "validate", "--topology", topologyFile()});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("notification.order-events (quorum"), std::string::npos) << ok.out;
  TempDir dir;
  std::ofstream(dir.file("bad.json"))
      << R"({"queues": [{"name": "q", "routingKeys": ["OrderShippedEvnt"]}]})";
  auto bad = cli({"topology", "validate", "--topology", dir.file("bad.json")});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("queues[0].routingKeys[0]"), std::string::npos) << bad.err;
}

TEST(OrderEventsCli, DeclaresTheTopologyIdempotentlyFromEnvironmentVariables) {
  setenv("ORDER_EVENTS_AMQP_URL", url().c_str(), 1);
  setenv("ORDER_EVENTS_TOPOLOGY", topologyFile().c_str(), 1);
  auto first = cli({"topology", "declare"});
  auto second = cli({"topology", "declare"});
  unsetenv("ORDER_EVENTS_AMQP_URL");
  unsetenv("ORDER_EVENTS_TOPOLOGY");
  EXPECT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_NE(first.out.find("declared on amqp://guest:***@127.0.0.1"), std::string::npos)
      << first.out;
  auto client = AmqpClient::connect(url());
  ASSERT_TRUE(client.ok());
  for (const char* q : {"notification.order-events", "analytics.order-events",
                        "fulfillment.order-events", "order.events.unrouted", "order.events.dlq"})
    EXPECT_TRUE((*client)->messageCount(q).ok()) << q;
}

TEST(OrderEventsCli, AConflictingQueueIsReportedWithExitCodeOne) {
  TempDir dir;
  std::ofstream(dir.file("t.json"))
      << R"({"exchange": "cli.events", "alternateExchange": "cli.unrouted",
             "unroutedQueue": "cli.unrouted", "deadLetterExchange": "cli.dlx",
             "deadLetterQueue": "cli.dlq",
             "queues": [{"name": "cli.classic", "routingKeys": ["OrderCreatedEvent"]}]})";
  auto client = AmqpClient::connect(url());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->declareQueue("cli.classic", QueueType::kClassic, "cli.dlx").ok());
  auto run = cli({"topology", "declare", "--amqp-url", url(), "--topology", dir.file("t.json")});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("queue 'cli.classic'"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("x-queue-type"), std::string::npos) << run.err;
}

TEST(OrderEventsCli, AnUnreachableBrokerExitsWithOne) {
  auto run = cli({"topology", "declare", "--amqp-url", "amqp://guest:guest@127.0.0.1:1/%2F",
                  "--topology", topologyFile()});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("cannot connect"), std::string::npos) << run.err;
}

/// One order with three events (msg-0, msg-1, msg-2) of five minutes ago; msg-0 is published.
void writeOrderWithThreeEvents(const std::string& path) {
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store.ok());
  Order order;
  order.id = OrderId("f47ac10b-58cc-4372-a567-0e02b2c3d479");
  order.userId = UserId("3fa85f64-5717-4562-b3fc-2c963f66afa6");
  order.items = {{"prod-456", 1, 9999}};
  order.customer = {"John Doe", "john.doe@example.com"};
  order.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
  order.totalAmount = 9999;
  std::vector<EncodedMessage> events(3);
  for (int i = 0; i < 3; ++i) {
    events[i].messageId = "msg-" + std::to_string(i);
    events[i].messageType = "OrderCreatedEvent";
    events[i].messageVersion = "1.0";
    events[i].partitionKey = order.id.str();
    events[i].sequence = i + 1;
    events[i].source = "OrderService";
    events[i].timestamp = SystemClock().now() - std::chrono::minutes(5);
    events[i].body = "{}";
  }
  WriteSet writes;
  writes.order = OrderWrite{order, 0, 3, events};
  std::promise<Result<WriteOutcome>> done;
  (*store)->write(writes, [&](Result<WriteOutcome> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(done.get_future().get().ok());
  auto pending = (*store)->fetchUnpublished(0, 10);
  ASSERT_TRUE(pending.ok() && pending->size() == 3u);
  std::promise<Status> marked;
  (*store)->markPublished({(*pending)[0].id}, SystemClock().now(), kNoLeaseEpoch,
                          [&](Status s) { marked.set_value(std::move(s)); });
  ASSERT_TRUE(marked.get_future().get().ok());
  (*store)->close();
}

TEST(OrderEventsCli, OutboxStatusCountsPendingAndPublishedRows) {
  TempDir dir;
  const std::string path = dir.file("orders.db");
  ASSERT_NO_FATAL_FAILURE(writeOrderWithThreeEvents(path));
  auto text = cli({"outbox", "status", "--database", "sqlite:" + path});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("pending (not yet confirmed by the broker): 2"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("min ago"), std::string::npos) << text.out;
  setenv("ORDER_EVENTS_DATABASE", ("sqlite:" + path).c_str(), 1);
  auto asJson = cli({"outbox", "status", "--json"});
  unsetenv("ORDER_EVENTS_DATABASE");
  ASSERT_EQ(asJson.code, 0) << asJson.err;
  auto j = json::parse(asJson.out);
  EXPECT_EQ(j["pending"], 2);
  EXPECT_EQ(j["published"], 1);
  EXPECT_GE(j["oldestPendingAgeSeconds"].get<int>(), 299);
}

TEST(OrderEventsCli, OutboxEventsListsEveryKeptEventAsOneJsonLine) {
  TempDir dir;
  const std::string path = dir.file("orders.db");
  ASSERT_NO_FATAL_FAILURE(writeOrderWithThreeEvents(path));
  auto run = cli({"outbox", "events", "--database", "sqlite:" + path, "--json"});
  ASSERT_EQ(run.code, 0) << run.err;
  std::vector<json> lines;
  std::istringstream in(run.out);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_EQ(lines[0]["messageId"], "msg-0");
  EXPECT_EQ(lines[0]["published"], true);
  EXPECT_TRUE(lines[0]["publishedAt"].is_string());
  EXPECT_EQ(lines[1]["published"], false);
  EXPECT_TRUE(lines[1]["publishedAt"].is_null());
  EXPECT_EQ(lines[2]["sequence"], 3);
  EXPECT_EQ(lines[2]["messageType"], "OrderCreatedEvent");
  EXPECT_EQ(lines[2]["partitionKey"], "f47ac10b-58cc-4372-a567-0e02b2c3d479");
  EXPECT_TRUE(lines[2]["correlationId"].is_null());
  EXPECT_EQ(lines[2]["envelope"], json::object()) << "the body, parsed";
  EXPECT_LT(lines[0]["id"].get<std::int64_t>(), lines[1]["id"].get<std::int64_t>());

  auto other = cli({"outbox", "events", "--database", "sqlite:" + path, "--partition-key",
                    "a47ac10b-58cc-4372-a567-0e02b2c3d479", "--json"});
  EXPECT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(other.out, "") << "no event of another order";
  auto text = cli({"outbox", "events", "--database", "sqlite:" + path, "--partition-key",
                   "f47ac10b-58cc-4372-a567-0e02b2c3d479"});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("OrderCreatedEvent  f47ac10b-58cc-4372-a567-0e02b2c3d479 #2  pending  "
                          "msg-1"),
            std::string::npos)
      << text.out;
  EXPECT_EQ(cli({"outbox", "events", "--database", "sqlite:/nonexistent/orders.db"}).code, 2);
}

TEST(OrderEventsCli, TailPrintsEachEventAsOneJsonLineUntilCount) {
  ASSERT_EQ(cli({"topology", "declare", "--amqp-url", url(), "--topology", topologyFile()}).code,
            0);
  std::atomic<bool> stop{false};
  auto tail = std::async(std::launch::async, [&] {
    return cli({"tail", "--amqp-url", url(), "--routing-key", "OrderShippedEvent", "--routing-key",
                "OrderCancelledEvent", "--count", "2"},
               {&stop, nullptr});
  });
  auto client = AmqpClient::connect(url());
  ASSERT_TRUE(client.ok());
  // The tail's queue is bound asynchronously: publish until it has seen two messages.
  for (int i = 0; i < 200 && tail.wait_for(50ms) != std::future_status::ready; ++i) {
    for (const char* type : {"OrderPaymentFailedEvent", "OrderShippedEvent"}) {
      BrokerMessage m;
      m.exchange = "order.events";
      m.routingKey = type;
      m.type = type;
      m.messageId = "msg-tail-" + std::to_string(i);
      m.contentType = "application/json";
      m.body = R"({"messageType":")" + std::string(type) + R"(","payload":{"orderId":"o-1"}})";
      ASSERT_TRUE((*client)->publish(m).ok());
    }
  }
  stop = true;
  const CliRun run = tail.get();
  ASSERT_EQ(run.code, 0) << run.err;
  std::istringstream lines(run.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto j = json::parse(line);
    EXPECT_EQ(j["routingKey"], "OrderShippedEvent") << line;
    EXPECT_EQ(j["exchange"], "order.events");
    EXPECT_EQ(j["properties"]["contentType"], "application/json");
    EXPECT_EQ(j["envelope"]["payload"]["orderId"], "o-1");
    ++count;
  }
  EXPECT_EQ(count, 2) << run.out;
}

TEST(OrderEventsCli, TailStopsWhenInterrupted) {
  ASSERT_EQ(cli({"topology", "declare", "--amqp-url", url(), "--topology", topologyFile()}).code,
            0);
  std::atomic<bool> stop{false};
  std::promise<void> tailing;
  tools::RunControl control{&stop, [&] { tailing.set_value(); }};
  auto tail = std::async(std::launch::async, [&] {
    return cli({"tail", "--amqp-url", url(), "--all"}, control);
  });
  // Interrupted while it consumes, not before it got there.
  ASSERT_EQ(tailing.get_future().wait_for(30s), std::future_status::ready);
  stop = true;
  ASSERT_EQ(tail.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(tail.get().code, 0);
}

}  // namespace
}  // namespace orders
