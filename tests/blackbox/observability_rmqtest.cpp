// The built binary's metrics, health and logs with a real broker: the values on GET /metrics move
// as they should after real actions (an order, a broker outage, a poison inbound message), the
// exposition passes `promtool check metrics`, and a json-format run writes only JSON lines, one of
// which names the dead-lettered message by its messageId.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "broker/rabbitmq/amqp_client.hpp"
#include "support/http_client.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::RabbitMqServer;
using testing::ServiceProcess;
using testing::TempDir;
using testing::waitFor;
using namespace std::chrono_literals;

const std::string kOrder = R"({"userId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","currency":"EUR",
  "items":[{"productId":"p-1","quantity":2,"unitPrice":10.5}],
  "customerDetails":{"name":"Ada Lovelace","email":"ada@example.com"},
  "shippingAddress":{"street":"12 Secret Street","city":"Paris","postalCode":"75001","country":"FR"}})";

/// One scrape of GET /metrics, parsed into its samples.
class Scrape {
 public:
  explicit Scrape(int port) {
    HttpClient http("127.0.0.1", port);
    const auto response = http.get("/metrics");
    status = response.status;
    contentType = response.header("content-type");
    text = response.body;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto space = line.rfind(' ');
      samples_.emplace_back(line.substr(0, space), std::stod(line.substr(space + 1)));
    }
  }

  /// The sum of every sample of `name` whose labels contain each of `labels` ("key=\"value\"").
  double sum(const std::string& name, const std::vector<std::string>& labels = {}) const {
    double total = 0;
    for (const auto& [series, value] : samples_) {
      const auto brace = series.find('{');
      if (series.substr(0, brace) != name) continue;
      bool matches = true;
      for (const auto& label : labels) matches = matches && series.find(label) != std::string::npos;
      if (matches) total += value;
    }
    return total;
  }

  int status = 0;
  std::string contentType;
  std::string text;

 private:
  std::vector<std::pair<std::string, double>> samples_;
};

/// `promtool check metrics` on the text: its exit status and what it said.
std::pair<int, std::string> promtoolCheck(const std::string& exposition) {
  TempDir dir;
  const std::string file = dir.file("scrape.txt");
  std::ofstream(file) << exposition;
  FILE* pipe = popen(("promtool check metrics < " + file + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "cannot run promtool"};
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  return {pclose(pipe), output};
}

std::vector<std::string> serviceArgs(const TempDir& dir, const RabbitMqServer& broker,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--database", "sqlite:" + dir.file("orders.db"), "--amqp-url",
                                broker.amqpUrl()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

bool relayConnected(int port) {
  return Scrape(port).sum("order_relay_state", {"state=\"connected\""}) == 1;
}

TEST(ServiceObservability, AnOrderMovesWrittenAndPublishedCountersByThree) {
  auto& broker = RabbitMqServer::shared();
  TempDir dir;
  ServiceProcess service(ORDER_SERVICE_BINARY, serviceArgs(dir, broker, {"--log-level", "warn"}));
  ASSERT_TRUE(waitFor([&] { return relayConnected(service.port()); }, 30s));

  const Scrape before(service.port());
  EXPECT_EQ(before.status, 200);
  EXPECT_EQ(before.contentType, "text/plain; version=0.0.4; charset=utf-8");
  HttpClient http("127.0.0.1", service.port());
  ASSERT_EQ(http.post("/v1/orders", kOrder).status, 201);

  // The written count moves with the commit (before the 201); the published one with the confirms.
  const Scrape written(service.port());
  EXPECT_EQ(written.sum("order_outbox_events_written_total") -
                before.sum("order_outbox_events_written_total"),
            3);
  EXPECT_EQ(
      written.sum("order_outbox_events_written_total", {"message_type=\"OrderCreatedEvent\""}) -
          before.sum("order_outbox_events_written_total", {"message_type=\"OrderCreatedEvent\""}),
      1);
  ASSERT_TRUE(waitFor(
      [&] {
        return Scrape(service.port()).sum("messaging_client_sent_messages_total") -
                   before.sum("messaging_client_sent_messages_total") >=
               3;
      },
      20s));
  const Scrape after(service.port());
  EXPECT_EQ(after.sum("messaging_client_sent_messages_total") -
                before.sum("messaging_client_sent_messages_total"),
            3);
  EXPECT_EQ(after.sum("messaging_client_sent_messages_total",
                      {"message_type=\"OrderPlacedForAnalyticsEvent\""}) -
                before.sum("messaging_client_sent_messages_total",
                           {"message_type=\"OrderPlacedForAnalyticsEvent\""}),
            1);
  EXPECT_EQ(after.sum("order_outbox_commit_to_confirm_seconds_count") -
                before.sum("order_outbox_commit_to_confirm_seconds_count"),
            3);
  EXPECT_EQ(after.sum("http_server_requests_total",
                      {"method=\"POST\"", "route=\"/v1/orders\"", "status_class=\"2xx\""}) -
                before.sum("http_server_requests_total",
                           {"method=\"POST\"", "route=\"/v1/orders\"", "status_class=\"2xx\""}),
            1);
  EXPECT_GE(after.sum("order_store_commit_writes_count"), 1);
  EXPECT_EQ(after.sum("order_relay_leader"), 1);
  EXPECT_EQ(after.sum("order_store_up"), 1);

  const auto [status, output] = promtoolCheck(after.text);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << "promtool's lint found problems";
}

/// The port of the "METRICS_ON host:port" line the service prints with --metrics-listen, or 0.
int metricsPort(const ServiceProcess& service) {
  std::smatch match;
  const std::string output = service.output();
  const std::regex line(R"(METRICS_ON [0-9.]+:([0-9]+))");
  return std::regex_search(output, match, line) ? std::stoi(match[1]) : 0;
}

TEST(ServiceObservability, MetricsListenServesTheExpositionOnItsOwnPortAfterRealTraffic) {
  auto& broker = RabbitMqServer::shared();
  TempDir dir;
  ServiceProcess service(
      ORDER_SERVICE_BINARY,
      serviceArgs(dir, broker, {"--log-level", "warn", "--metrics-listen", "127.0.0.1:0"}));
  const int metrics = metricsPort(service);
  ASSERT_NE(metrics, 0) << service.output();
  ASSERT_NE(metrics, service.port());
  HttpClient api("127.0.0.1", service.port());
  EXPECT_EQ(api.get("/metrics").status, 404) << "with --metrics-listen, not on the API listener";
  ASSERT_TRUE(waitFor([&] { return relayConnected(metrics); }, 30s));

  const Scrape before(metrics);
  ASSERT_EQ(api.post("/v1/orders", kOrder).status, 201);
  ASSERT_TRUE(waitFor(
      [&] {
        return Scrape(metrics).sum("messaging_client_sent_messages_total") -
                   before.sum("messaging_client_sent_messages_total") >=
               3;
      },
      20s));
  const Scrape after(metrics);
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.contentType, "text/plain; version=0.0.4; charset=utf-8");
  // Histograms with observations in them (buckets, _sum and _count all exposed), not only empty
  // families: what promtool has to accept.
  EXPECT_GE(after.sum("http_server_request_duration_seconds_count",
                      {"method=\"POST\"", "route=\"/v1/orders\""}),
            1);
  EXPECT_GT(after.sum("http_server_request_duration_seconds_sum",
                      {"method=\"POST\"", "route=\"/v1/orders\""}),
            0);
  EXPECT_GE(after.sum("order_store_commit_duration_seconds_count"), 1);
  EXPECT_GE(after.sum("order_store_commit_writes_count"), 1);
  EXPECT_EQ(after.sum("order_outbox_commit_to_confirm_seconds_count") -
                before.sum("order_outbox_commit_to_confirm_seconds_count"),
            3);
  EXPECT_GE(after.sum("messaging_client_operation_duration_seconds_count"), 3);
  EXPECT_GE(after.sum("messaging_client_operation_duration_seconds_bucket", {"le=\"+Inf\""}), 3);

  const auto [status, output] = promtoolCheck(after.text);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << "promtool's lint found problems";
}

TEST(ServiceObservability, BrokerDownRaisesBacklogAndAgeAndTheReconnectIsCounted) {
  auto broker = RabbitMqServer::start();
  TempDir dir;
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         serviceArgs(dir, *broker, {"--log-level", "error", "--no-consumers"}));
  const int port = service.port();
  ASSERT_TRUE(waitFor([&] { return relayConnected(port); }, 30s));
  const Scrape before(port);
  EXPECT_EQ(before.sum("order_outbox_backlog_events"), 0);
  EXPECT_EQ(before.sum("order_outbox_oldest_unpublished_age_seconds"), 0);
  EXPECT_EQ(before.sum("order_relay_reconnects_total"), 0);

  broker->stop();
  ASSERT_TRUE(waitFor([&] { return !relayConnected(port); }, 30s));
  HttpClient http("127.0.0.1", port);
  ASSERT_EQ(http.post("/v1/orders", kOrder).status, 201);
  ASSERT_EQ(http.post("/v1/orders", kOrder).status, 201);
  // The counts are at most a second old; the age grows while the events wait.
  ASSERT_TRUE(waitFor(
      [&] {
        const Scrape s(port);
        return s.sum("order_outbox_backlog_events") == 6 &&
               s.sum("order_outbox_oldest_unpublished_age_seconds") >= 1.0;
      },
      20s))
      << Scrape(port).text;
  const Scrape down(port);
  EXPECT_EQ(down.sum("order_relay_state", {"state=\"degraded\""}), 1);
  EXPECT_GT(down.sum("order_relay_publish_failures_total"),
            before.sum("order_relay_publish_failures_total"));
  EXPECT_EQ(down.sum("order_relay_reconnects_total"), 0) << "not back yet";
  EXPECT_EQ(down.sum("messaging_client_sent_messages_total"),
            before.sum("messaging_client_sent_messages_total"));

  // /readyz: still ready (orders are taken), and it says what is wrong.
  const auto readyz = http.get("/readyz");
  EXPECT_EQ(readyz.status, 200);
  const json ready = json::parse(readyz.body);
  EXPECT_EQ(ready.at("status"), "degraded") << ready.dump();
  ASSERT_TRUE(ready.contains("problems")) << ready.dump();
  ASSERT_FALSE(ready.at("problems").empty()) << ready.dump();
  EXPECT_EQ(ready.at("problems")[0].get<std::string>().rfind("relay ", 0), 0u) << ready.dump();
  EXPECT_EQ(ready.at("outbox").at("pending"), 6) << ready.dump();
  EXPECT_GE(ready.at("outbox").at("oldestPendingAgeSeconds").get<double>(), 1.0) << ready.dump();

  broker->startAgain();
  ASSERT_TRUE(waitFor(
      [&] {
        const Scrape s(port);
        return s.sum("order_outbox_backlog_events") == 0 &&
               s.sum("order_relay_state", {"state=\"connected\""}) == 1 &&
               s.sum("messaging_client_sent_messages_total") -
                       before.sum("messaging_client_sent_messages_total") ==
                   6;
      },
      90s))
      << Scrape(port).text;
  const Scrape back(port);
  EXPECT_EQ(back.sum("order_relay_reconnects_total"), 1);
  EXPECT_EQ(back.sum("order_outbox_oldest_unpublished_age_seconds"), 0);
  EXPECT_GE(back.sum("order_outbox_commit_to_confirm_seconds_sum") -
                before.sum("order_outbox_commit_to_confirm_seconds_sum"),
            6 * 1.0)
      << "each of the 6 events waited at least a second for its confirm";
}

TEST(ServiceObservability, APoisonMessageIsDeadLetteredCountedAndLoggedAsJson) {
  auto& broker = RabbitMqServer::shared();
  TempDir dir;
  ServiceProcess service(
      ORDER_SERVICE_BINARY,
      serviceArgs(dir, broker, {"--log-format", "json", "--log-level", "debug"}));
  const int port = service.port();
  const std::vector<std::string> paymentQueue{"queue=\"order-service.payment-events\""};
  ASSERT_TRUE(waitFor(
      [&] { return Scrape(port).sum("order_consumer_connected", paymentQueue) == 1; }, 30s));
  const Scrape before(port);
  const std::vector<std::string> invalid{"queue=\"order-service.payment-events\"",
                                         "reason=\"invalid-message\""};
  HttpClient http("127.0.0.1", port);
  ASSERT_EQ(http.post("/v1/orders", kOrder).status, 201);

  const std::string poisonId =
      "poison-" + std::to_string(std::random_device{}()) + "-" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  auto client = AmqpClient::connect(broker.amqpUrl()).value();
  BrokerMessage poison;
  poison.exchange = "payment.events";
  poison.routingKey = "PaymentCompletedEvent";
  poison.body = "{\"this is\": not JSON";
  poison.contentType = "application/json";
  poison.messageId = poisonId;
  ASSERT_TRUE(client->publish(poison).ok());

  ASSERT_TRUE(waitFor(
      [&] {
        return Scrape(port).sum("order_consumer_messages_dead_lettered_total", invalid) -
                   before.sum("order_consumer_messages_dead_lettered_total", invalid) ==
               1;
      },
      20s))
      << Scrape(port).text;
  const Scrape after(port);
  EXPECT_EQ(after.sum("messaging_client_consumed_messages_total", paymentQueue) -
                before.sum("messaging_client_consumed_messages_total", paymentQueue),
            1);
  EXPECT_EQ(after.sum("order_consumer_messages_processed_total", paymentQueue),
            before.sum("order_consumer_messages_processed_total", paymentQueue));
  EXPECT_EQ(after.sum("messaging_process_duration_seconds_count",
                      {"queue=\"order-service.payment-events\"", "outcome=\"dead-lettered\""}) -
                before.sum("messaging_process_duration_seconds_count",
                           {"queue=\"order-service.payment-events\"", "outcome=\"dead-lettered\""}),
            1);

  ASSERT_EQ(service.terminate(), 0);
  // Every line is a JSON object with time, level and msg, except the one machine-readable
  // "LISTENING host:port" line on stdout that scripts start the service by.
  std::istringstream lines(service.output());
  std::string line;
  int parsed = 0;
  bool deadLetterLogged = false;
  while (std::getline(lines, line)) {
    if (line.rfind("LISTENING ", 0) == 0) continue;
    json object;
    ASSERT_NO_THROW(object = json::parse(line)) << "not JSON: " << line;
    ASSERT_TRUE(object.is_object()) << line;
    EXPECT_TRUE(object.contains("time") && object.contains("level") && object.contains("msg"))
        << line;
    ++parsed;
    if (object.value("messageId", "") == poisonId && object.at("level") == "warn" &&
        object.at("msg").get<std::string>().find("dead-letter") != std::string::npos)
      deadLetterLogged = true;
  }
  EXPECT_GT(parsed, 5);
  EXPECT_TRUE(deadLetterLogged) << service.output();
  // Personal data of the order never reaches the log, not even at debug level.
  for (const char* personal : {"Ada Lovelace", "ada@example.com", "12 Secret Street"})
    EXPECT_EQ(service.output().find(personal), std::string::npos) << personal;
}

}  // namespace
}  // namespace orders
