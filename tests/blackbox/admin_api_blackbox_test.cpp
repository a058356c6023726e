// The operator API (/admin/api) and page (/admin) as clients meet them, on the real binary with
// --auth jwt and keys made by the test: every /admin/api route refuses the customer, payment and
// fulfillment roles (403) and a request without a token or with a bad one (401); the operator
// reaches them; the page is public code with a strict Content-Security-Policy and no inline
// script; a discard without its confirmation is refused before anything is touched.
// (Replay and discard against a real broker, and the page in a browser: tests/browser.)

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>

#include "auth/jwt_signer.hpp"
#include "blackbox/order_request.hpp"
#include "support/http_client.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using auth::JwtAlgorithm;
using auth::SigningKey;
using nlohmann::json;
using testing::HttpClient;
using testing::ServiceProcess;
using testing::TempDir;
using Headers = std::map<std::string, std::string>;

const std::string kIssuer = "https://id.example.test/realms/shop";
const std::string kAudience = "order-service";

struct AdminRoute {
  const char* method;
  std::string path;
  std::string body;
};

/// Every route of admin/admin_api.hpp, with a body that would pass its validation.
std::vector<AdminRoute> adminRoutes() {
  const std::string order = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
  const std::string queue = "order-service.payment-events";
  return {
      {"GET", "/admin/api/relay", ""},
      {"GET", "/admin/api/consumers", ""},
      {"GET", "/admin/api/orders/" + order + "/events", ""},
      {"GET", "/admin/api/dead-letters", ""},
      {"GET", "/admin/api/dead-letters/" + queue + "/messages/msg-1", ""},
      {"POST", "/admin/api/dead-letters/" + queue + "/replay", R"({"messageIds":["msg-1"]})"},
      {"POST", "/admin/api/dead-letters/" + queue + "/discard",
       R"({"messageIds":["msg-1"],"confirm":"discard"})"},
      {"GET", "/admin/api/event-catalogue", ""},
  };
}

class AdminApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("admin-api-test");
    key_ = SigningKey::generate(JwtAlgorithm::kEs256, "ec-1").value().release();
    dir_->write("jwks.json", json{{"keys", {key_->publicJwk().value()}}}.dump());
    // No broker: the refusals come before any handler, and the DLQ routes answer 503.
    service_ =
        new ServiceProcess(ORDER_SERVICE_BINARY,
                           {"--database", "sqlite:" + dir_->file("orders.db"), "--no-relay",
                            "--no-consumers", "--amqp-url", "amqp://127.0.0.1:1/%2F", "--log-level",
                            "warn", "--auth", "jwt", "--jwks-file", dir_->file("jwks.json"),
                            "--jwt-issuer", kIssuer, "--jwt-audience", kAudience});
  }
  static void TearDownTestSuite() {
    delete service_;
    delete key_;
    delete dir_;
  }

  static Headers as(const std::string& subject, const std::string& role) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const json claims = {{"sub", subject}, {"iss", kIssuer},   {"aud", kAudience},
                         {"iat", now},     {"exp", now + 600}, {"roles", {role}}};
    return {{"Authorization", "Bearer " + key_->sign(claims).value()}};
  }

  static testing::HttpResponse call(const AdminRoute& route, const Headers& headers) {
    HttpClient http("127.0.0.1", service_->port());
    return std::string(route.method) == "GET" ? http.get(route.path, headers)
                                              : http.post(route.path, route.body, headers);
  }

  static TempDir* dir_;
  static SigningKey* key_;
  static ServiceProcess* service_;
};
TempDir* AdminApiTest::dir_ = nullptr;
SigningKey* AdminApiTest::key_ = nullptr;
ServiceProcess* AdminApiTest::service_ = nullptr;

TEST_F(AdminApiTest, EveryRouteRefusesEveryOtherRoleWith403) {
  for (const auto& [subject, role] :
       {std::pair{"3fa85f64-5717-4562-b3fc-2c963f66afa6", "customer"},
        std::pair{"payments", "payment-service"}, std::pair{"warehouse", "fulfillment-service"}}) {
    for (const auto& route : adminRoutes()) {
      const auto response = call(route, as(subject, role));
      EXPECT_EQ(response.status, 403)
          << role << " " << route.method << " " << route.path << ": " << response.body;
      EXPECT_EQ(response.header("content-type"), "application/problem+json") << route.path;
    }
  }
}

TEST_F(AdminApiTest, EveryRouteRefusesARequestWithoutAValidTokenWith401) {
  Headers forged = as("mallory", "operator");
  forged["Authorization"] += "x";  // the signature no longer matches
  for (const auto& route : adminRoutes()) {
    for (const Headers& headers : {Headers{}, forged}) {
      const auto response = call(route, headers);
      EXPECT_EQ(response.status, 401) << route.method << " " << route.path << ": " << response.body;
      EXPECT_EQ(response.header("content-type"), "application/problem+json") << route.path;
    }
  }
}

TEST_F(AdminApiTest, TheOperatorReachesEveryRoute) {
  for (const auto& route : adminRoutes()) {
    const auto response = call(route, as("ops-alice", "operator"));
    EXPECT_NE(response.status, 401) << route.path;
    EXPECT_NE(response.status, 403) << route.path;
    // 404 only for the order that has no events (the route exists: it says which order).
    if (route.path.find("/orders/") == std::string::npos) {
      EXPECT_NE(response.status, 404) << route.path << " " << response.body;
    }
  }
}

TEST_F(AdminApiTest, TheOperatorSeesAnOrdersEventsRelayStateAndTheCatalogue) {
  HttpClient http("127.0.0.1", service_->port());
  const Headers ops = as("ops-alice", "operator");
  const auto created = http.post("/v1/orders", testing::kBrokerSuiteOrder, ops);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string orderId = json::parse(created.body).at("orderId");

  const auto history = http.get("/admin/api/orders/" + orderId + "/events", ops);
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_EQ(history.header("cache-control"), "no-store");
  const json events = json::parse(history.body).at("events");
  ASSERT_GE(events.size(), 1u);
  std::int64_t sequence = 0;
  for (const auto& e : events) {
    EXPECT_EQ(e.at("sequence").get<std::int64_t>(), ++sequence) << e.dump();
    EXPECT_EQ(e.at("status"), "pending") << "--no-relay: nothing is published";
    EXPECT_TRUE(e.at("publishedAt").is_null());
    EXPECT_EQ(e.at("envelope").at("messageId"), e.at("messageId"));
    EXPECT_EQ(e.at("envelope").at("partitionKey"), orderId);
    EXPECT_TRUE(std::regex_match(e.at("traceId").get<std::string>(), std::regex("[0-9a-f]{32}")))
        << e.dump();
  }
  EXPECT_EQ(events.front().at("messageType"), "OrderCreatedEvent");
  const auto unknown =
      http.get("/admin/api/orders/9b2d4c1e-8f3a-4e5b-a6c7-d8e9f0a1b2c3/events", ops);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.header("content-type"), "application/problem+json");

  // The outbox counts are sampled at most once a second: the backlog catches up.
  json relayBody;
  EXPECT_TRUE(testing::waitFor(
      [&] {
        const auto relay = http.get("/admin/api/relay", ops);
        if (relay.status != 200) return false;
        relayBody = json::parse(relay.body);
        return relayBody.at("backlog").get<std::size_t>() >= events.size();
      },
      std::chrono::seconds(5)))
      << relayBody.dump();
  EXPECT_EQ(relayBody.at("state"), "disabled");
  EXPECT_FALSE(relayBody.at("oldestPendingAt").is_null());

  const auto catalogue = http.get("/admin/api/event-catalogue", ops);
  ASSERT_EQ(catalogue.status, 200);
  bool created1 = false;
  const json catalogueBody = json::parse(catalogue.body);
  for (const auto& type : catalogueBody.at("eventTypes")) {
    if (type.at("messageType") != "OrderCreatedEvent") continue;
    for (const auto& v : type.at("versions")) {
      if (v.at("version") == "1.0") {
        created1 = v.at("published") == true && !v.at("payloadFields").empty();
      }
    }
  }
  EXPECT_TRUE(created1) << catalogue.body;
}

TEST_F(AdminApiTest, ADiscardNeedsItsConfirmationAndBadSelectionsAreRefused) {
  HttpClient http("127.0.0.1", service_->port());
  const Headers ops = as("ops-alice", "operator");
  const std::string dlq = "/admin/api/dead-letters/order-service.payment-events";
  for (const auto& [path, body, field] : {
           std::tuple{dlq + "/discard", std::string(R"({"messageIds":["msg-1"]})"), "/confirm"},
           std::tuple{dlq + "/discard", std::string(R"({"messageIds":["msg-1"],"confirm":true})"),
                      "/confirm"},
           std::tuple{dlq + "/discard", std::string(R"({"confirm":"discard"})"), "/messageIds"},
           std::tuple{dlq + "/replay", std::string(R"({"messageIds":[]})"), "/messageIds"},
           std::tuple{dlq + "/replay", std::string(R"({"messageIds":[7]})"), "/messageIds/0"},
           std::tuple{dlq + "/replay", std::string(R"({"all":true,"groupId":"ab"})"), ""},
           std::tuple{dlq + "/replay", std::string(R"({})"), ""},
       }) {
    const auto response = http.post(path, body, ops);
    EXPECT_EQ(response.status, 400) << path << " " << body << ": " << response.body;
    EXPECT_EQ(json::parse(response.body).value("field", ""), field) << body << response.body;
  }
  EXPECT_EQ(http.post(dlq + "/replay", "not json", ops).status, 400);
  // A queue that is not one of the consumers' is not there.
  const auto other =
      http.post("/admin/api/dead-letters/some.other.queue/replay", R"({"all":true})", ops);
  EXPECT_EQ(other.status, 404) << other.body;
  // No broker answers: the DLQ tools say so (503), nothing else.
  const auto unavailable = http.get("/admin/api/dead-letters", ops);
  EXPECT_EQ(unavailable.status, 200) << "each queue reports its own error";
  EXPECT_TRUE(json::parse(unavailable.body).at("queues").at(0).contains("error"));
  EXPECT_EQ(http.post(dlq + "/replay", R"({"all":true})", ops).status, 503);
}

TEST_F(AdminApiTest, ThePageIsPublicCodeWithAStrictContentSecurityPolicy) {
  HttpClient http("127.0.0.1", service_->port());
  for (const char* path :
       {"/admin", "/admin/", "/admin/assets/admin.js", "/admin/assets/admin.css"}) {
    const auto page = http.get(path);
    ASSERT_EQ(page.status, 200) << path;
    const std::string csp = page.header("content-security-policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
    EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(page.header("set-cookie"), "");
  }
  const auto html = http.get("/admin");
  EXPECT_EQ(html.header("content-type"), "text/html; charset=utf-8");
  // No inline script or handler: every <script> has a src, and no on...= attribute.
  EXPECT_FALSE(std::regex_search(html.body, std::regex("<script(?![^>]*\\ssrc=)")));
  EXPECT_FALSE(std::regex_search(html.body, std::regex("\\son[a-z]+\\s*=", std::regex::icase)));
  EXPECT_EQ(http.get("/admin/assets/admin.js").header("content-type"),
            "text/javascript; charset=utf-8");
  EXPECT_EQ(http.get("/admin/assets/nothing.js").status, 404);
  // The script builds the page from data with textContent only.
  const std::string script = http.get("/admin/assets/admin.js").body;
  EXPECT_EQ(script.find("innerHTML"), std::string::npos);
  EXPECT_EQ(script.find("outerHTML"), std::string::npos);
  EXPECT_EQ(script.find("insertAdjacentHTML"), std::string::npos);
  EXPECT_EQ(script.find("document.write"), std::string::npos);
}

}  // namespace
}  // namespace orders
