// The limits of docs/security.md against the real binary: each limit's status and problem (413,
// 414, 431, 422, 400), the per-client rate (429 + Retry-After), slow and idle clients (a flood of
// them does not keep a normal client from an answer within a second; a slow header is cut after
// its timeout; beyond --max-connections a connection is refused at once), and personal data
// (names, e-mails, streets never reach the log, even at debug level).

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "blackbox/order_request.hpp"
#include "blackbox/socket_flood.hpp"
#include "support/http_client.hpp"
#include "support/raw_http.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::HttpClient;
using testing::HttpResponse;
using testing::orderRequest;
using testing::RawConnection;
using testing::ServiceProcess;
using testing::SocketFlood;
using testing::TempDir;

std::vector<std::string> serviceArgs(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args{"--database",  "sqlite:" + dir.file("orders.db"),
                                "--no-relay",  "--no-consumers",
                                "--log-level", "warn"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

json problemOf(const HttpResponse& response) {
  EXPECT_EQ(response.header("content-type"), "application/problem+json") << response.body;
  return json::parse(response.body);
}

/// One raw request on its own connection; the statuses answered before it closed.
std::vector<int> rawStatuses(int port, const std::string& bytes) {
  RawConnection connection("127.0.0.1", port);
  connection.send(bytes);
  connection.readUntilClosed(5s);
  return connection.statuses();
}

std::chrono::milliseconds timeToAnswer(HttpClient& http, const std::string& target) {
  const auto start = std::chrono::steady_clock::now();
  const auto response = http.get(target);
  EXPECT_EQ(response.status, 200) << response.body;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

TEST(Limits, EachLimitAnswersItsStatusNamingTheLimitAndTheField) {
  TempDir dir("limits-test");
  ServiceProcess service(ORDER_SERVICE_BINARY, serviceArgs(dir, {"--max-body-bytes",
                                                                 "4096",
                                                                 "--max-header-bytes",
                                                                 "2048",
                                                                 "--max-header-fields",
                                                                 "20",
                                                                 "--max-target-bytes",
                                                                 "256",
                                                                 "--max-items",
                                                                 "3",
                                                                 "--max-name-bytes",
                                                                 "20",
                                                                 "--max-address-bytes",
                                                                 "30",
                                                                 "--max-reason-bytes",
                                                                 "40",
                                                                 "--max-json-depth",
                                                                 "6",
                                                                 "--max-change-context-bytes",
                                                                 "100",
                                                                 "--max-change-context-depth",
                                                                 "2",
                                                                 "--change-context-keys",
                                                                 "warehouse, pickupLocationId"}));
  const int port = service.port();
  HttpClient http("127.0.0.1", port);

  // 413: the body, judged on Content-Length before it is read.
  auto large = http.post("/v1/orders", std::string(5000, ' '));
  EXPECT_EQ(large.status, 413);
  EXPECT_NE(problemOf(large)["detail"].get<std::string>().find("--max-body-bytes"),
            std::string::npos);
  // 414 and 431, each on a connection of its own (the server closes after them).
  EXPECT_EQ(
      rawStatuses(port, "GET /v1/orders/" + std::string(300, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"),
      std::vector<int>{414});
  EXPECT_EQ(rawStatuses(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                  std::string(3000, 'b') + "\r\n\r\n"),
            std::vector<int>{431});
  std::string manyFields = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 21; ++i) manyFields += "X-F" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(rawStatuses(port, manyFields + "\r\n"), std::vector<int>{431});

  // 422 naming the field and the limit.
  HttpClient fresh("127.0.0.1", port);
  auto expect422 = [&fresh](const std::string& target, const json& body, const std::string& field,
                            const std::string& flag) {
    const auto response = fresh.post(target, body.dump());
    ASSERT_EQ(response.status, 422) << target << " " << response.body;
    const auto problem = problemOf(response);
    EXPECT_EQ(problem["field"], field) << response.body;
    EXPECT_NE(problem["detail"].get<std::string>().find(flag), std::string::npos) << response.body;
  };
  json order = orderRequest();
  order["items"] = json::array();
  for (int i = 0; i < 4; ++i) {
    order["items"].push_back(
        {{"productId", "p" + std::to_string(i)}, {"quantity", 1}, {"unitPrice", 1}});
  }
  expect422("/v1/orders", order, "items", "--max-items");
  order = orderRequest();
  order["customerDetails"]["name"] = std::string(21, 'n');
  expect422("/v1/orders", order, "customerDetails/name", "--max-name-bytes");
  order = orderRequest();
  order["shippingAddress"]["street"] = std::string(31, 's');
  expect422("/v1/orders", order, "shippingAddress/street", "--max-address-bytes");
  const auto created = fresh.post("/v1/orders", orderRequest().dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string base = "/v1/orders/" + json::parse(created.body)["orderId"].get<std::string>();
  expect422(base + "/cancel", {{"reason", std::string(41, 'r')}}, "reason", "--max-reason-bytes");
  expect422(base + "/status",
            {{"newStatus", "CANCELLED"}, {"changeContext", {{"customerEmail", "a@b.c"}}}},
            "changeContext", "--change-context-keys");
  expect422(base + "/status",
            {{"newStatus", "CANCELLED"}, {"changeContext", {{"warehouse", {{"a", {{"b", 1}}}}}}}},
            "changeContext", "--max-change-context-depth");
  expect422(base + "/status",
            {{"newStatus", "CANCELLED"}, {"changeContext", {{"warehouse", std::string(100, 'w')}}}},
            "changeContext", "--max-change-context-bytes");
  // Too deep a document is malformed (400), whatever its fields.
  const auto deep = fresh.post("/v1/orders", R"({"a":[[[[[[1]]]]]]})");
  EXPECT_EQ(deep.status, 400) << deep.body;
  EXPECT_NE(problemOf(deep)["detail"].get<std::string>().find("--max-json-depth"),
            std::string::npos);
  // Nothing refused changed the order; an allowed context is taken.
  EXPECT_EQ(json::parse(fresh.get(base).body)["version"], 1);
  ASSERT_EQ(fresh.post(base + "/payment", "").status, 200);
  ASSERT_EQ(
      fresh.post(base + "/payment/result", R"({"outcome":"COMPLETED","paymentTransactionId":"t1"})")
          .status,
      200);
  const auto allowed = fresh.post(
      base + "/status", json{{"newStatus", "PROCESSING"},
                             {"changeContext", {{"warehouse", "W7"}, {"pickupLocationId", "s-1"}}}}
                            .dump());
  EXPECT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_EQ(json::parse(allowed.body)["status"], "PROCESSING");
}

TEST(Limits, ARateLimitedClientGets429WithRetryAfterAndOthersAreNotAffected) {
  TempDir dir("rate-limit-test");
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         serviceArgs(dir, {"--rate-limit", "0.5", "--rate-burst", "5"}));
  HttpClient http("127.0.0.1", service.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(http.get("/v1/orders?limit=1").status, 200) << i;
  }
  const auto limited = http.get("/v1/orders?limit=1");
  ASSERT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.header("retry-after"), "2");  // one token per 2 s
  EXPECT_NE(problemOf(limited)["detail"].get<std::string>().find("--rate-limit"),
            std::string::npos);
  // A probe is never limited; a limited client's requests do nothing.
  EXPECT_EQ(http.get("/healthz").status, 200);
  EXPECT_EQ(http.post("/v1/orders", orderRequest().dump()).status, 429);
  // Retry-After is honest: within it (and not long before), the client is served again.
  const auto refusedAt = std::chrono::steady_clock::now();
  EXPECT_TRUE(testing::waitFor([&] { return http.get("/v1/orders?limit=1").status == 200; },
                               std::chrono::seconds(std::stoi(limited.header("retry-after")) + 1)));
  EXPECT_GE(std::chrono::steady_clock::now() - refusedAt, 1s);

  // Off switch.
  TempDir offDir("rate-limit-off-test");
  ServiceProcess unlimited(ORDER_SERVICE_BINARY, serviceArgs(offDir, {"--rate-limit", "0"}));
  HttpClient many("127.0.0.1", unlimited.port());
  for (int i = 0; i < 300; ++i) ASSERT_EQ(many.get("/v1/orders?limit=1").status, 200) << i;
}

TEST(Limits, AFloodOfSlowAndIdleConnectionsDoesNotStopANormalClient) {
  testing::raiseDescriptorLimit();
  TempDir dir("slow-clients-test");
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         serviceArgs(dir, {"--header-timeout-ms", "1500", "--idle-timeout-ms",
                                           "20000", "--max-connections", "5000"}));
  const int port = service.port();
  HttpClient http("127.0.0.1", port);
  ASSERT_EQ(http.get("/healthz").status, 200);

  // 1000 connections sending a header one byte at a time, 1000 idle ones.
  const std::string header = "GET /v1/orders HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  SocketFlood slow(port, 1000);
  SocketFlood idle(port, 1000);
  std::chrono::milliseconds worst{0};
  std::size_t byte = 0;
  const auto floodStart = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - floodStart < 1200ms) {
    slow.trickle(header, byte++);
    HttpClient normal("127.0.0.1", port);  // a new connection each time: accept must keep up
    worst = std::max(worst, timeToAnswer(normal, "/v1/orders?limit=1"));
  }
  EXPECT_LT(worst, 1000ms) << "a normal client waited that long during the flood";
  EXPECT_EQ(idle.stillOpen(), 1000u);  // idle ones are within their idle timeout

  // The slow headers are cut once their header timeout (1.5 s from their first byte) has passed,
  // long before the idle timeout (20 s). Polled without sending more: a thousand clients
  // trickling every few milliseconds would only measure how fast a sanitizer build can read.
  EXPECT_TRUE(testing::waitFor([&] { return slow.stillOpen() == 0; }, 10s))
      << slow.stillOpen() << " slow headers are still open";
  EXPECT_GE(std::chrono::steady_clock::now() - floodStart, 1500ms);
  EXPECT_LT(timeToAnswer(http, "/healthz"), 1000ms);
}

TEST(Limits, BeyondMaxConnectionsAConnectionIsRefusedAtOnceNotQueued) {
  testing::raiseDescriptorLimit();
  TempDir dir("max-connections-test");
  ServiceProcess service(ORDER_SERVICE_BINARY, serviceArgs(dir, {"--max-connections", "50",
                                                                 "--idle-timeout-ms", "30000"}));
  const int port = service.port();
  auto held = std::make_unique<SocketFlood>(port, 50);
  ASSERT_TRUE(testing::waitFor(
      [&] {
        RawConnection probe("127.0.0.1", port);
        probe.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        return probe.readUntilClosed(2s) && probe.statuses() == std::vector<int>{503};
      },
      5s));
  const auto start = std::chrono::steady_clock::now();
  RawConnection refused("127.0.0.1", port);
  refused.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(refused.readUntilClosed(2s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_NE(refused.received().find("Retry-After: 1"), std::string::npos) << refused.received();
  EXPECT_NE(refused.received().find("--max-connections"), std::string::npos);
  // Once connections close, new ones are served again.
  held.reset();
  EXPECT_TRUE(testing::waitFor(
      [&] {
        RawConnection probe("127.0.0.1", port);
        probe.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        return probe.readUntilClosed(2s) && probe.statuses() == std::vector<int>{200};
      },
      5s));
  EXPECT_NE(service.output().find("limit --max-connections"), std::string::npos)
      << "refusing connections is a degraded mode: it must be logged";
}

TEST(Limits, NamesEmailsAndStreetsNeverReachTheLogEvenAtDebugLevel) {
  TempDir dir("personal-data-test");
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         {"--database", "sqlite:" + dir.file("orders.db"), "--no-relay",
                          "--no-consumers", "--log-level", "trace"});
  HttpClient http("127.0.0.1", service.port());
  const std::vector<std::string> markers = {"Zxqname Marker", "zxqmail@marker.example",
                                            "Zxqstreet 1", "Zxqcity", "Zxqreason"};
  json order = orderRequest();
  order["customerDetails"] = {{"name", markers[0]}, {"email", markers[1]}};
  order["shippingAddress"]["street"] = markers[2];
  order["shippingAddress"]["city"] = markers[3];
  const auto created = http.post("/v1/orders", order.dump(), {{"Idempotency-Key", "pii-1"}});
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(http.post("/v1/orders", order.dump(), {{"Idempotency-Key", "pii-1"}}).status, 201);
  const std::string base = "/v1/orders/" + json::parse(created.body)["orderId"].get<std::string>();
  // Updates, refusals of every kind carrying the markers, a conflict, a cancellation.
  EXPECT_EQ(http.request("PATCH", base, json{{"customerDetails", order["customerDetails"]}}.dump(),
                         {{"Content-Type", "application/json"}})
                .status,
            200);
  json bad = order;
  bad["customerDetails"]["email"] = "not-an-email " + markers[1];
  EXPECT_EQ(http.post("/v1/orders", bad.dump()).status, 422);
  bad = order;
  bad["shippingAddress"]["street"] = markers[2] + std::string(600, 'x');
  EXPECT_EQ(http.post("/v1/orders", bad.dump()).status, 422);
  EXPECT_EQ(http.post("/v1/orders", "{\"name\": \"" + markers[0] + "\"").status, 400);
  EXPECT_EQ(
      http.post(base + "/status",
                json{{"newStatus", "CANCELLED"}, {"changeContext", {{"email", markers[1]}}}}.dump())
          .status,
      422);
  EXPECT_EQ(http.request("PATCH", base, json{{"customerDetails", order["customerDetails"]}}.dump(),
                         {{"Content-Type", "application/json"}, {"If-Match", "\"99\""}})
                .status,
            412);
  EXPECT_EQ(http.post(base + "/cancel", json{{"reason", markers[4]}}.dump()).status, 200);
  EXPECT_EQ(http.post(base + "/cancel", json{{"reason", markers[4]}}.dump()).status, 409);
  EXPECT_EQ(http.get(base).status, 200);
  ASSERT_EQ(service.terminate(), 0);
  const std::string log = service.output();
  EXPECT_NE(log.find("http: POST /v1/orders 201"), std::string::npos)
      << "the access log ran at debug level:\n"
      << log;
  for (const auto& marker : {markers[0], markers[1], markers[2], markers[3]}) {
    EXPECT_EQ(log.find(marker), std::string::npos) << marker << " is in the log:\n" << log;
  }
  // Not personal, but free text from clients too: not logged either.
  EXPECT_EQ(log.find(markers[4]), std::string::npos);
}

}  // namespace
}  // namespace orders
