// The HTTP API as a client sees it: the real binary, real HTTP, a temporary SQLite file. Events
// are checked where they land, in the outbox, as an operator reads it (`order-events outbox
// events`), and validated against the schemas.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "blackbox/order_request.hpp"
#include "blackbox/outbox_events.hpp"
#include "events/schema_registry.hpp"
#include "support/http_client.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;
using testing::orderRequest;
using testing::ServiceProcess;
using testing::TempDir;

const char* kUser = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

struct OutboxRow {
  std::string messageType;
  std::int64_t sequence;
  std::string correlationId;
  json body;
};

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("api-test");
    service_ = new ServiceProcess(ORDER_SERVICE_BINARY,
                                  {"--database", "sqlite:" + dir_->file("orders.db"), "--no-relay",
                                   "--no-consumers", "--log-level", "warn"});
    schemas_ = new SchemaRegistry(SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR).value());
  }
  static void TearDownTestSuite() {
    delete service_;
    delete schemas_;
    delete dir_;
  }

  HttpClient client() { return HttpClient("127.0.0.1", service_->port()); }

  json create(HttpClient& http, const json& request = orderRequest(),
              std::map<std::string, std::string> headers = {}) {
    auto response = http.post("/v1/orders", request.dump(), headers);
    EXPECT_EQ(response.status, 201) << response.body;
    return json::parse(response.body);
  }

  /// The outbox events of one order, in commit (= sequence) order.
  static std::vector<OutboxRow> outbox(const std::string& orderId) {
    std::vector<OutboxRow> rows;
    for (const auto& e : testing::outboxEvents(dir_->file("orders.db"), orderId)) {
      rows.push_back({e.at("messageType"), e.at("sequence"),
                      e.at("correlationId").is_null() ? "" : e.at("correlationId"),
                      e.at("envelope")});
    }
    return rows;
  }

  static std::vector<std::string> typesOf(const std::vector<OutboxRow>& rows) {
    std::vector<std::string> types;
    for (const auto& row : rows) types.push_back(row.messageType);
    return types;
  }

  static void expectProblem(const HttpResponse& response, int status, const std::string& type,
                            const std::string& field = "") {
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_EQ(response.header("content-type"), "application/problem+json");
    const auto body = json::parse(response.body);
    EXPECT_EQ(body.at("status"), status);
    EXPECT_EQ(body.at("type"), "https://order-service.example/problems/" + type) << response.body;
    EXPECT_FALSE(body.at("title").get<std::string>().empty());
    if (!field.empty()) {
      EXPECT_EQ(body.value("field", ""), field) << response.body;
    }
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServiceProcess* service_ = nullptr;
  static inline SchemaRegistry* schemas_ = nullptr;
};

TEST_F(ApiTest, CreateAnswers201WithLocationETagAndTheOrder) {
  auto http = client();
  auto response =
      http.post("/v1/orders", orderRequest().dump(), {{"X-Correlation-Id", "corr-abc"}});
  ASSERT_EQ(response.status, 201) << response.body;
  const auto order = json::parse(response.body);
  const std::string id = order.at("orderId");
  EXPECT_EQ(response.header("location"), "/v1/orders/" + id);
  EXPECT_EQ(response.header("etag"), "\"1\"");
  EXPECT_EQ(response.header("x-correlation-id"), "corr-abc");
  EXPECT_EQ(order.at("status"), "PENDING_PAYMENT");
  EXPECT_EQ(order.at("totalAmount"), 149.99);
  EXPECT_EQ(order.at("itemCount"), 2);
  EXPECT_EQ(order.at("version"), 1);

  auto fetched = http.get("/v1/orders/" + id);
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.header("etag"), "\"1\"");
  EXPECT_EQ(json::parse(fetched.body), order);
  EXPECT_EQ(http.get("/v1/orders/" + id, {{"If-None-Match", "\"1\""}}).status, 304);

  const auto rows = outbox(id);
  ASSERT_EQ(typesOf(rows), (std::vector<std::string>{"OrderCreatedEvent",
                                                     "OrderConfirmationNotificationRequestedEvent",
                                                     "OrderPlacedForAnalyticsEvent"}));
  for (const auto& row : rows) {
    EXPECT_EQ(row.correlationId, "corr-abc");
    EXPECT_EQ(row.body.at("correlationId"), "corr-abc");
    EXPECT_EQ(row.body.at("partitionKey"), id);
    EXPECT_TRUE(schemas_->validateMessage(row.body.dump()).ok()) << row.body.dump();
  }
  EXPECT_EQ(rows[0].body.at("payload").at("totalAmount"), 149.99);
}

TEST_F(ApiTest, TheWholeLifecycleEmitsEveryEventInOrderAndEachValidates) {
  auto http = client();
  const auto order = create(http);
  const std::string id = order.at("orderId");
  const std::string base = "/v1/orders/" + id;

  {
    auto stale = http.request(
        "PATCH", base,
        R"({"shippingAddress":{"street":"9 New Rd","city":"Berlin","postalCode":"10115","country":"DE"}})",
        {{"Content-Type", "application/json"}, {"If-Match", "\"7\""}});
    expectProblem(stale, 412, "precondition-failed");
    auto patched = http.request(
        "PATCH", base,
        R"({"shippingAddress":{"street":"9 New Rd","city":"Berlin","postalCode":"10115","country":"DE"}})",
        {{"Content-Type", "application/json"}, {"If-Match", "\"1\""}});
    ASSERT_EQ(patched.status, 200) << patched.body;
    EXPECT_EQ(patched.header("etag"), "\"2\"");
  }
  ASSERT_EQ(http.post(base + "/payment", "").status, 200);
  auto failed = http.post(
      base + "/payment/result",
      R"({"outcome":"FAILED","paymentTransactionId":"txn-1","failureCode":"card_declined","message":"Insufficient funds"})");
  ASSERT_EQ(failed.status, 200) << failed.body;
  EXPECT_EQ(json::parse(failed.body).at("status"), "PAYMENT_FAILED");
  ASSERT_EQ(http.post(base + "/payment", "{}").status, 200);
  auto paid = http.post(base + "/payment/result",
                        R"({"outcome":"COMPLETED","paymentTransactionId":"txn-2"})");
  ASSERT_EQ(paid.status, 200) << paid.body;
  auto processing = http.post(
      base + "/status",
      R"({"newStatus":"PROCESSING","reason":"picked","initiatedBy":"warehouse-7","changeContext":{"warehouse":"W7","fulfillmentHoldReason":null}})");
  ASSERT_EQ(processing.status, 200) << processing.body;
  auto shipment1 = http.post(
      base + "/shipments",
      R"({"carrier":"DHL","trackingNumber":"T1","items":[{"productId":"prod-789","quantity":1}]})");
  ASSERT_EQ(shipment1.status, 201) << shipment1.body;
  const std::string shipment1Id = json::parse(shipment1.body).at("shipmentId");
  EXPECT_EQ(shipment1.header("location"), base + "/shipments/" + shipment1Id);
  EXPECT_EQ(http.get(base + "/shipments/" + shipment1Id).status, 200);
  auto shipment2 = http.post(base + "/shipments", R"({"carrier":"UPS","trackingNumber":"T2"})");
  ASSERT_EQ(shipment2.status, 201) << shipment2.body;
  const std::string shipment2Id = json::parse(shipment2.body).at("shipmentId");
  ASSERT_EQ(http.post(base + "/deliveries", json{{"shipmentId", shipment1Id}}.dump()).status, 200);
  auto delivered = http.post(base + "/deliveries", json{{"shipmentId", shipment2Id}}.dump());
  ASSERT_EQ(delivered.status, 200) << delivered.body;
  EXPECT_EQ(json::parse(delivered.body).at("status"), "DELIVERED");
  auto refund = http.post(base + "/refunds", R"({"amount":25.00,"reason":"damaged"})");
  ASSERT_EQ(refund.status, 201) << refund.body;
  const std::string refundId = json::parse(refund.body).at("refundId");
  auto tooMuch = http.post(base + "/refunds", R"({"amount":125.00,"reason":"greedy"})");
  expectProblem(tooMuch, 422, "validation-failed", "amount");
  auto processed =
      http.post(base + "/refunds/" + refundId + "/processed", R"({"refundTransactionId":"rtx-9"})");
  ASSERT_EQ(processed.status, 200) << processed.body;
  EXPECT_EQ(json::parse(processed.body).at("status"), "PROCESSED");

  const auto rows = outbox(id);
  EXPECT_EQ(typesOf(rows), (std::vector<std::string>{"OrderCreatedEvent",
                                                     "OrderConfirmationNotificationRequestedEvent",
                                                     "OrderPlacedForAnalyticsEvent",
                                                     "OrderUpdatedEvent",
                                                     "OrderStatusChangedEvent",
                                                     "OrderPaymentProcessingInitiatedEvent",
                                                     "OrderStatusChangedEvent",
                                                     "OrderPaymentFailedEvent",
                                                     "OrderStatusChangedEvent",
                                                     "OrderPaymentProcessingInitiatedEvent",
                                                     "OrderStatusChangedEvent",
                                                     "OrderPaymentCompletedEvent",
                                                     "OrderStatusChangedEvent",
                                                     "OrderStatusChangedEvent",
                                                     "OrderShippedEvent",
                                                     "OrderStatusChangedEvent",
                                                     "OrderShippedEvent",
                                                     "OrderDeliveredEvent",
                                                     "OrderStatusChangedEvent",
                                                     "OrderDeliveredEvent",
                                                     "OrderRefundRequestedEvent",
                                                     "OrderRefundProcessedEvent"}));
  std::set<std::string> types{"OrderCancelledEvent"};  // see CancelEmits... below
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].sequence, static_cast<std::int64_t>(i + 1));
    types.insert(rows[i].messageType);
    EXPECT_TRUE(schemas_->validateMessage(rows[i].body.dump()).ok()) << rows[i].body.dump();
  }
  EXPECT_EQ(types.size(), 13u) << "all 13 event types were emitted";

  // OrderStatusChangedEvent as specified in the seed (003): the manual PROCESSING transition.
  const auto& statusChanged = rows[12].body.at("payload");
  EXPECT_EQ(statusChanged.at("orderId"), id);
  EXPECT_EQ(statusChanged.at("userId"), kUser);
  EXPECT_EQ(statusChanged.at("previousStatus"), "AWAITING_FULFILLMENT");
  EXPECT_EQ(statusChanged.at("newStatus"), "PROCESSING");
  EXPECT_EQ(statusChanged.at("reason"), "picked");
  // The actor is the principal (--auth none: the development operator), never the body's
  // "initiatedBy" (api_auth_blackbox_test checks it with real tokens).
  EXPECT_EQ(statusChanged.at("initiatedBy"), "operator:anonymous");
  EXPECT_EQ(statusChanged.at("changeContext").at("warehouse"), "W7");
  EXPECT_TRUE(statusChanged.at("changeContext").at("fulfillmentHoldReason").is_null());
  EXPECT_EQ(statusChanged.at("currentOrderSummary"),
            json({{"totalAmount", 149.99}, {"currency", "USD"}, {"itemCount", 2}}));
}

TEST_F(ApiTest, CancelEmitsStatusChangedAndCancelled) {
  auto http = client();
  const auto order = create(http);
  const std::string id = order.at("orderId");
  auto cancelled = http.post("/v1/orders/" + id + "/cancel", R"({"reason":"changed my mind"})");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(json::parse(cancelled.body).at("status"), "CANCELLED");
  const auto rows = outbox(id);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[3].messageType, "OrderStatusChangedEvent");
  EXPECT_EQ(rows[4].messageType, "OrderCancelledEvent");
  EXPECT_EQ(rows[4].body.at("payload").at("reason"), "changed my mind");
  EXPECT_TRUE(schemas_->validateMessage(rows[4].body.dump()).ok());
  expectProblem(http.post("/v1/orders/" + id + "/cancel", R"({"reason":"again"})"), 409,
                "transition-not-allowed");
  expectProblem(http.post("/v1/orders/" + id + "/cancel", R"({})"), 422, "validation-failed",
                "reason");
}

TEST_F(ApiTest, RefusedTransitionsAre409WithTheCurrentStatusAndChangeNothing) {
  auto http = client();
  const auto order = create(http);
  const std::string base = "/v1/orders/" + order.at("orderId").get<std::string>();
  auto response = http.post(base + "/shipments", R"({"carrier":"DHL","trackingNumber":"T1"})");
  expectProblem(response, 409, "transition-not-allowed");
  EXPECT_EQ(json::parse(response.body).at("currentStatus"), "PENDING_PAYMENT");
  auto generic = http.post(base + "/status", R"({"newStatus":"DELIVERED"})");
  expectProblem(generic, 409, "transition-not-allowed");
  EXPECT_EQ(json::parse(http.get(base).body).at("version"), 1);
  EXPECT_EQ(outbox(order.at("orderId")).size(), 3u);
}

TEST_F(ApiTest, BadInputGetsAClearProblemAndStoresNothing) {
  auto http = client();
  expectProblem(http.post("/v1/orders", R"({"userId": "3fa85f64)"), 400, "malformed-json");
  expectProblem(http.post("/v1/orders", "[1,2]"), 400, "malformed-json");
  expectProblem(http.post("/v1/orders", "not json at all"), 400, "malformed-json");
  expectProblem(http.post("/v1/orders", orderRequest().dump(), {{"Content-Type", "text/plain"}}),
                415, "unsupported-media-type", "Content-Type");
  expectProblem(http.post("/v1/orders", std::string(10 * 1024 * 1024, ' ')), 413,
                "payload-too-large");

  auto http2 = client();  // the 413 closed the connection
  struct Case {
    std::function<void(json&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases{
      {[](json& o) { o["items"][0]["quantity"] = -1; }, "items/0/quantity"},
      {[](json& o) { o["items"][0]["quantity"] = "2"; }, "items/0/quantity"},
      {[](json& o) { o["items"][0]["quantity"] = 1.5; }, "items/0/quantity"},
      {[](json& o) { o["items"][1]["unitPrice"] = 1e300; }, "items/1/unitPrice"},
      {[](json& o) { o["items"][1]["unitPrice"] = 1.001; }, "items/1/unitPrice"},
      {[](json& o) { o["items"][0]["quantity"] = json::parse("184467440737095516150"); },
       "items/0/quantity"},
      {[](json& o) { o["userId"] = "not-a-uuid"; }, "userId"},
      {[](json& o) { o.erase("userId"); }, "userId"},
      {[](json& o) { o["currency"] = 12; }, "currency"},
      {[](json& o) { o["items"] = json::array(); }, "items"},
      {[](json& o) { o["items"] = "lots"; }, "items"},
      {[](json& o) { o["shippingAddress"]["country"] = "Germany"; }, "shippingAddress/country"},
      {[](json& o) { o["customerDetails"]["email"] = "nope"; }, "customerDetails/email"},
      {[](json& o) { o["customerDetails"] = nullptr; }, "customerDetails"},
  };
  for (const auto& c : cases) {
    json request = orderRequest();
    c.mutate(request);
    expectProblem(http2.post("/v1/orders", request.dump()), 422, "validation-failed", c.field);
  }
  expectProblem(http2.get("/v1/orders/not-a-uuid"), 404, "not-found");
  expectProblem(http2.get("/v1/orders/00000000-0000-4000-8000-000000000000"), 404, "not-found");
  expectProblem(http2.request("DELETE", "/v1/orders"), 405, "method-not-allowed");
  expectProblem(http2.get("/v2/whatever"), 404, "not-found");
  expectProblem(http2.get("/v1/orders?limit=1000"), 400, "invalid-parameter", "limit");
  expectProblem(http2.get("/v1/orders?status=LOST"), 400, "invalid-parameter", "status");
  expectProblem(http2.get("/v1/orders?cursor=xyz"), 400, "invalid-parameter", "cursor");
}

TEST_F(ApiTest, UnknownFieldsAreIgnoredAndUnicodeRoundTrips) {
  auto http = client();
  json request = orderRequest();
  request["giftWrap"] = true;
  request["customerDetails"]["name"] = "Zoë Ünal 山田太郎 🚀";
  const auto order = create(http, request);
  EXPECT_FALSE(order.contains("giftWrap"));
  EXPECT_EQ(order.at("customerDetails").at("name"), "Zoë Ünal 山田太郎 🚀");
  const auto rows = outbox(order.at("orderId"));
  EXPECT_EQ(rows[0].body.at("payload").at("customerDetails").at("name"), "Zoë Ünal 山田太郎 🚀");
}

TEST_F(ApiTest, IdempotencyKeyReturnsTheFirstResultInsteadOfActingTwice) {
  auto http = client();
  const std::map<std::string, std::string> key{{"Idempotency-Key", "create-42"}};
  auto first = http.post("/v1/orders", orderRequest().dump(), key);
  ASSERT_EQ(first.status, 201);
  auto second = http.post("/v1/orders", orderRequest().dump(), key);
  ASSERT_EQ(second.status, 201);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.header("location"), first.header("location"));
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  EXPECT_EQ(outbox(json::parse(first.body).at("orderId")).size(), 3u);

  json other = orderRequest();
  other["currency"] = "EUR";
  expectProblem(http.post("/v1/orders", other.dump(), key), 409, "conflict", "Idempotency-Key");

  // A retried action on an order: paid once, not twice.
  const std::string base = first.header("location");
  const std::map<std::string, std::string> payKey{{"Idempotency-Key", "pay-1"}};
  EXPECT_EQ(http.post(base + "/payment", "", payKey).status, 200);
  EXPECT_EQ(http.post(base + "/payment", "", payKey).status, 200);
  EXPECT_EQ(json::parse(http.get(base).body).at("payment").at("attempts"), 1);
}

TEST_F(ApiTest, ListsByUserAndStatusWithCursorPagination) {
  auto http = client();
  json request = orderRequest();
  request["userId"] = "9fa85f64-5717-4562-b3fc-2c963f66afa6";
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i)
    created.insert(create(http, request).at("orderId").get<std::string>());
  std::set<std::string> listed;
  std::string cursor;
  int pages = 0;
  do {
    std::string target =
        "/v1/orders?userId=9fa85f64-5717-4562-b3fc-2c963f66afa6&status=PENDING_PAYMENT&limit=2";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto page = http.get(target);
    ASSERT_EQ(page.status, 200) << page.body;
    const auto body = json::parse(page.body);
    for (const auto& order : body.at("orders"))
      listed.insert(order.at("orderId").get<std::string>());
    cursor = body.at("nextCursor").is_null() ? "" : body.at("nextCursor").get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(listed, created);
  EXPECT_EQ(pages, 3);
}

TEST_F(ApiTest, HealthAndReadiness) {
  auto http = client();
  EXPECT_EQ(http.get("/healthz").status, 200);
  auto ready = http.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_TRUE(json::parse(ready.body).contains("outbox"));
}

TEST(ApiLifecycle, SigtermFinishesInFlightRequestsAndExitsCleanly) {
  const TempDir dir("api-stop");
  const std::string database = "sqlite:" + dir.file("orders.db");
  int created = 0;
  {
    ServiceProcess service(ORDER_SERVICE_BINARY,
                           {"--database", database, "--no-relay", "--no-consumers"});
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&] {
        HttpClient http("127.0.0.1", service.port());
        while (!stop) {
          try {
            if (http.post("/v1/orders", orderRequest().dump()).status == 201) ++ok;
          } catch (const std::exception&) {
            return;  // the server closed: expected once it stops
          }
        }
      });
    }
    while (ok < 50) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(service.terminate(), 0) << service.output();
    stop = true;
    for (auto& client : clients) client.join();
    created = ok;
  }
  // Every order the clients saw confirmed is there after a restart (listed through the API),
  // each with its three events (counted by the CLI; the relay is off, so all are pending).
  ServiceProcess again(ORDER_SERVICE_BINARY,
                       {"--database", database, "--no-relay", "--no-consumers"});
  HttpClient http("127.0.0.1", again.port());
  std::int64_t orders = 0;
  std::string cursor;
  do {
    auto page = http.get(std::string("/v1/orders?limit=100&userId=") + kUser +
                         (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200) << page.body;
    const auto body = json::parse(page.body);
    orders += static_cast<std::int64_t>(body.at("orders").size());
    cursor = body.at("nextCursor").is_null() ? "" : body.at("nextCursor").get<std::string>();
  } while (!cursor.empty());
  EXPECT_GE(orders, created);
  const auto status = testing::outboxStatus(dir.file("orders.db"));
  EXPECT_EQ(status.at("pending"), orders * 3) << status.dump();
  EXPECT_EQ(status.at("published"), 0);
}

}  // namespace
}  // namespace orders
