// The API's security as a client meets it: the real binary with --auth jwt, keys made by the
// test (RSA and P-256 in a JWKS file, an HS256 secret file), real tokens over real HTTP. Every
// role against every endpoint; refused tokens (401); the wrong role (403); another user's order
// (404, exactly as a missing one); list and idempotency scoping; initiatedBy from the principal as
// the outbox records it; server-owned fields never taken from a body.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "auth/base64url.hpp"
#include "auth/jwt_signer.hpp"
#include "blackbox/order_request.hpp"
#include "blackbox/outbox_events.hpp"
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
using testing::HttpResponse;
using testing::ServiceProcess;
using testing::TempDir;

const std::string kAlice = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const std::string kBob = "9b2d4c1e-8f3a-4e5b-a6c7-d8e9f0a1b2c3";
const std::string kIssuer = "https://id.example.test/realms/shop";
const std::string kAudience = "order-service";
const std::string kSecret = "service-to-service-secret-0123456789abcdef";
using Headers = std::map<std::string, std::string>;

long long nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json orderFor(const std::string& user) {
  json order = testing::orderRequest();
  order["userId"] = user;
  return order;
}

class ApiAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("api-auth-test");
    rsa_ = SigningKey::generate(JwtAlgorithm::kRs256, "rsa-1").value().release();
    ec_ = SigningKey::generate(JwtAlgorithm::kEs256, "ec-1").value().release();
    hmac_ = SigningKey::hmac(kSecret).value().release();
    dir_->write("jwks.json",
                json{{"keys", {rsa_->publicJwk().value(), ec_->publicJwk().value()}}}.dump());
    dir_->write("hs256.secret", kSecret + "\n");
    service_ = new ServiceProcess(
        ORDER_SERVICE_BINARY,
        {"--database", "sqlite:" + dir_->file("orders.db"), "--no-relay", "--no-consumers",
         "--log-level", "warn", "--auth", "jwt", "--jwks-file", dir_->file("jwks.json"),
         "--jwt-hs256-secret-file", dir_->file("hs256.secret"), "--jwt-issuer", kIssuer,
         "--jwt-audience", kAudience,
         // Rate limiting has tests of its own (limits_blackbox_test); this suite's bursts of
         // requests by one principal must not meet it.
         "--rate-limit", "0"});
  }
  static void TearDownTestSuite() {
    delete service_;
    delete rsa_;
    delete ec_;
    delete hmac_;
    delete dir_;
  }

  static json claims(const std::string& subject, const std::vector<std::string>& roles) {
    return {{"sub", subject},
            {"iss", kIssuer},
            {"aud", {kAudience, "account"}},
            {"iat", nowSeconds()},
            {"exp", nowSeconds() + 600},
            {"roles", roles}};
  }
  static std::string token(const json& body, const SigningKey& key = *rsa_) {
    return key.sign(body).value();
  }
  static Headers bearer(const std::string& jwt) { return {{"Authorization", "Bearer " + jwt}}; }
  // The principals: users by RS256 (an identity provider), services by HS256 and ES256.
  static Headers alice() { return bearer(token(claims(kAlice, {"customer"}))); }
  static Headers bob() { return bearer(token(claims(kBob, {"customer"}), *ec_)); }
  static Headers payments() {
    return bearer(token(claims("payments", {"payment-service"}), *hmac_));
  }
  static Headers warehouse() {
    return bearer(token(claims("warehouse", {"fulfillment-service"}), *ec_));
  }
  static Headers ops() { return bearer(token(claims("ops-alice", {"operator"}))); }
  static Headers nobody() { return bearer(token(claims("auditor", {"auditor"}))); }

  static Headers with(Headers headers, const std::string& name, const std::string& value) {
    headers[name] = value;
    return headers;
  }

  HttpClient client() { return HttpClient("127.0.0.1", service_->port()); }

  /// A new order of `user`, created by an operator (so that the customer's own tests start
  /// from the same place).
  std::string createOrder(HttpClient& http, const std::string& user) {
    auto response = http.post("/v1/orders", orderFor(user).dump(), ops());
    EXPECT_EQ(response.status, 201) << response.body;
    return json::parse(response.body).at("orderId");
  }
  /// An order of `user` that is paid and delivered, with one shipment and one refund request:
  /// every sub-resource exists. Returns {orderId, shipmentId, refundId}.
  std::array<std::string, 3> deliveredOrder(HttpClient& http, const std::string& user) {
    const std::string id = createOrder(http, user);
    const std::string base = "/v1/orders/" + id;
    EXPECT_EQ(http.post(base + "/payment", "", ops()).status, 200);
    EXPECT_EQ(http.post(base + "/payment/result",
                        R"({"outcome":"COMPLETED","paymentTransactionId":"t-1"})", ops())
                  .status,
              200);
    auto shipped =
        http.post(base + "/shipments", R"({"carrier":"DHL","trackingNumber":"1"})", ops());
    EXPECT_EQ(shipped.status, 201) << shipped.body;
    auto refund = http.post(base + "/refunds", R"({"amount":1.00,"reason":"scratch"})", ops());
    EXPECT_EQ(refund.status, 201) << refund.body;
    return {id, json::parse(shipped.body).at("shipmentId").get<std::string>(),
            json::parse(refund.body).at("refundId").get<std::string>()};
  }

  static std::vector<json> events(const std::string& orderId) {
    return testing::outboxEvents(dir_->file("orders.db"), orderId);
  }

  static void expectProblem(const HttpResponse& response, int status, const std::string& type) {
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_EQ(response.header("content-type"), "application/problem+json");
    auto body = json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << response.body;
    EXPECT_EQ(body.value("type", ""), "https://order-service.example/problems/" + type)
        << response.body;
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServiceProcess* service_ = nullptr;
  static inline SigningKey* rsa_ = nullptr;
  static inline SigningKey* ec_ = nullptr;
  static inline SigningKey* hmac_ = nullptr;
};

TEST_F(ApiAuthTest, ProbesArePublicAndReadyzNamesTheAuthMode) {
  auto http = client();
  EXPECT_EQ(http.get("/healthz").status, 200);
  auto ready = http.get("/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(json::parse(ready.body).at("auth").at("mode"), "jwt");
  EXPECT_EQ(json::parse(ready.body).at("auth").at("keys"), 3);
}

TEST_F(ApiAuthTest, RefusedTokensAre401WithAChallenge) {
  auto http = client();
  const json valid = claims(kAlice, {"customer"});
  auto changed = [&](const char* key, const json& value) {
    json body = valid;
    if (value.is_null()) {
      body.erase(key);
    } else {
      body[key] = value;
    }
    return body;
  };
  const std::string good = token(valid);
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  json forged = valid;
  forged["roles"] = {"operator"};
  const std::string pem = rsa_->publicKeyPem().value();
  auto confused = SigningKey::hmac(pem, "rsa-1").value();  // the RSA public key as HMAC secret
  auto stranger = SigningKey::generate(JwtAlgorithm::kRs256, "rsa-unknown").value();
  auto wrongSecret = SigningKey::hmac("another-secret-of-at-least-32-bytes!!").value();
  const json noneHeader = {{"alg", "none"}, {"typ", "JWT"}};

  const std::vector<std::pair<std::string, std::optional<std::string>>> cases{
      {"no Authorization header", std::nullopt},
      {"not a bearer scheme", "Basic YWxpY2U6c2VjcmV0"},
      {"garbage", "Bearer not-a-jwt"},
      {"expired", "Bearer " + token(changed("exp", nowSeconds() - 120))},
      {"not yet valid", "Bearer " + token(changed("nbf", nowSeconds() + 3600))},
      {"wrong issuer", "Bearer " + token(changed("iss", "https://evil.example"))},
      {"no issuer", "Bearer " + token(changed("iss", nullptr))},
      {"wrong audience", "Bearer " + token(changed("aud", "billing"))},
      {"tampered payload", "Bearer " + good.substr(0, dot1 + 1) +
                               auth::base64UrlEncode(forged.dump()) + good.substr(dot2)},
      {"tampered signature", "Bearer " + good.substr(0, dot2 + 1) + "AAAA" + good.substr(dot2 + 5)},
      {"alg none", "Bearer " + auth::base64UrlEncode(noneHeader.dump()) + "." +
                       auth::base64UrlEncode(valid.dump()) + "."},
      {"algorithm confusion", "Bearer " + token(valid, *confused)},
      {"unknown kid", "Bearer " + token(valid, *stranger)},
      {"wrong HS256 secret", "Bearer " + token(valid, *wrongSecret)},
  };
  for (const auto& [what, authorization] : cases) {
    SCOPED_TRACE(what);
    Headers headers;
    if (authorization) headers["Authorization"] = *authorization;
    auto response = http.get("/v1/orders", headers);
    expectProblem(response, 401, "unauthorized");
    EXPECT_EQ(response.header("www-authenticate"), "Bearer");
    // Unknown paths do not tell an unauthenticated caller which paths exist.
    expectProblem(http.get("/v1/secret-admin", headers), 401, "unauthorized");
  }
  EXPECT_EQ(http.get("/v1/orders", bearer(good)).status, 200);
  EXPECT_EQ(http.get("/v1/secret-admin", bearer(good)).status, 404);
  // The refusal says which rule failed.
  auto expired = http.get("/v1/orders", bearer(token(changed("exp", nowSeconds() - 120))));
  EXPECT_NE(json::parse(expired.body).at("detail").get<std::string>().find("expired"),
            std::string::npos);
}

struct Endpoint {
  std::string method;
  std::string name;  // for messages
  std::string path;  // {o} order, {s} shipment, {r} refund
  std::string body;
};

std::string fill(std::string path, const std::array<std::string, 3>& ids) {
  for (const auto& [marker, value] : {std::pair{std::string("{o}"), ids[0]},
                                      {std::string("{s}"), ids[1]},
                                      {std::string("{r}"), ids[2]}}) {
    if (auto at = path.find(marker); at != std::string::npos) path.replace(at, 3, value);
  }
  return path;
}

const std::vector<Endpoint>& endpoints() {
  static const std::vector<Endpoint> kEndpoints{
      {"GET", "list", "/v1/orders", ""},
      {"POST", "create", "/v1/orders", "<order>"},
      {"GET", "read", "/v1/orders/{o}", ""},
      {"PATCH", "update", "/v1/orders/{o}",
       R"({"customerDetails":{"name":"A. Lice","email":"alice@example.com"}})"},
      {"POST", "start payment", "/v1/orders/{o}/payment", ""},
      {"POST", "payment result", "/v1/orders/{o}/payment/result",
       R"({"outcome":"COMPLETED","paymentTransactionId":"t-2"})"},
      {"POST", "status", "/v1/orders/{o}/status", R"({"newStatus":"PROCESSING"})"},
      {"POST", "cancel", "/v1/orders/{o}/cancel", R"({"reason":"changed my mind"})"},
      {"POST", "ship", "/v1/orders/{o}/shipments", R"({"carrier":"UPS","trackingNumber":"2"})"},
      {"GET", "read shipment", "/v1/orders/{o}/shipments/{s}", ""},
      {"POST", "deliver", "/v1/orders/{o}/deliveries", R"({})"},
      {"POST", "request refund", "/v1/orders/{o}/refunds", R"({"amount":1.00,"reason":"dent"})"},
      {"GET", "read refund", "/v1/orders/{o}/refunds/{r}", ""},
      {"POST", "refund processed", "/v1/orders/{o}/refunds/{r}/processed",
       R"({"refundTransactionId":"rt-1"})"},
  };
  return kEndpoints;
}

TEST_F(ApiAuthTest, EveryRoleAgainstEveryEndpoint) {
  auto http = client();
  const std::map<std::string, std::set<std::string>> allowed{
      {"customer",
       {"list", "create", "read", "update", "start payment", "cancel", "read shipment",
        "request refund", "read refund"}},
      {"payment-service", {"payment result", "refund processed"}},
      {"fulfillment-service", {"status", "ship", "deliver"}},
      {"operator",
       {"list", "create", "read", "update", "start payment", "payment result", "status", "cancel",
        "ship", "read shipment", "deliver", "request refund", "read refund", "refund processed"}},
      {"auditor", {}},  // a valid token without a known role
  };
  const std::map<std::string, Headers> principals{{"customer", alice()},
                                                  {"payment-service", payments()},
                                                  {"fulfillment-service", warehouse()},
                                                  {"operator", ops()},
                                                  {"auditor", nobody()}};
  for (const auto& [role, headers] : principals) {
    for (const auto& endpoint : endpoints()) {
      SCOPED_TRACE(role + " -> " + endpoint.name);
      // A fresh order of alice for each call: what one call changes cannot refuse the next.
      const auto ids = deliveredOrder(http, kAlice);
      const std::string body = endpoint.body == "<order>" ? orderFor(kAlice).dump() : endpoint.body;
      auto response = http.request(endpoint.method, fill(endpoint.path, ids), body,
                                   with(headers, "Content-Type", "application/json"));
      if (allowed.at(role).count(endpoint.name) == 0) {
        expectProblem(response, 403, "forbidden");
      } else {
        EXPECT_NE(response.status, 401) << response.body;
        EXPECT_NE(response.status, 403) << response.body;
        EXPECT_LT(response.status, 500) << response.body;
      }
    }
  }
}

TEST_F(ApiAuthTest, EachRoleDoesItsPartOfTheLifecycleAndTheEventsNameIt) {
  auto http = client();
  // The customer orders for itself...
  auto created = http.post("/v1/orders", orderFor(kAlice).dump(), alice());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = json::parse(created.body).at("orderId");
  const std::string base = "/v1/orders/" + id;
  // ...and neither a header nor a body field changes who acts.
  const Headers forgedAlice = with(alice(), "X-Initiated-By", "forged-header");
  EXPECT_EQ(
      http.request(
              "PATCH", base,
              R"({"shippingAddress":{"street":"1 New St","city":"Anytown","postalCode":"12345","country":"US"}})",
              with(forgedAlice, "Content-Type", "application/json"))
          .status,
      200);
  EXPECT_EQ(http.post(base + "/payment", "", forgedAlice).status, 200);
  EXPECT_EQ(
      http.post(
              base + "/payment/result",
              R"({"outcome":"COMPLETED","paymentTransactionId":"pay-1","initiatedBy":"forged-body"})",
              payments())
          .status,
      200);
  auto processing =
      http.post(base + "/status",
                R"({"newStatus":"PROCESSING","reason":"picked","initiatedBy":"forged-body"})",
                with(warehouse(), "X-Initiated-By", "forged-header"));
  ASSERT_EQ(processing.status, 200) << processing.body;
  auto shipped =
      http.post(base + "/shipments", R"({"carrier":"DHL","trackingNumber":"T1"})", warehouse());
  ASSERT_EQ(shipped.status, 201) << shipped.body;
  const std::string shipmentId = json::parse(shipped.body).at("shipmentId");
  ASSERT_EQ(
      http.post(base + "/deliveries", json{{"shipmentId", shipmentId}}.dump(), warehouse()).status,
      200);
  auto refund = http.post(base + "/refunds", R"({"amount":10.00,"reason":"dented"})", alice());
  ASSERT_EQ(refund.status, 201) << refund.body;
  const std::string refundId = json::parse(refund.body).at("refundId");
  ASSERT_EQ(http.post(base + "/refunds/" + refundId + "/processed",
                      R"({"refundTransactionId":"rtx-1"})", payments())
                .status,
            200);
  EXPECT_EQ(http.get(base + "/shipments/" + shipmentId, alice()).status, 200);
  EXPECT_EQ(http.get(base + "/refunds/" + refundId, alice()).status, 200);
  auto order = http.get(base, alice());
  ASSERT_EQ(order.status, 200);
  EXPECT_EQ(json::parse(order.body).at("status"), "DELIVERED");

  // Who acted, as the outbox recorded it: always the token's principal.
  std::map<std::string, std::set<std::string>> actors;  // message type -> initiatedBy values
  for (const auto& event : events(id)) {
    const json& payload = event.at("envelope").at("payload");
    if (payload.contains("initiatedBy")) {
      actors[event.at("messageType")].insert(payload.at("initiatedBy").get<std::string>());
    }
  }
  const std::string user = "user:" + kAlice;
  EXPECT_EQ(actors["OrderConfirmationNotificationRequestedEvent"], std::set<std::string>{user});
  EXPECT_EQ(actors["OrderUpdatedEvent"], std::set<std::string>{user});
  EXPECT_EQ(actors["OrderPaymentProcessingInitiatedEvent"], std::set<std::string>{user});
  EXPECT_EQ(actors["OrderPaymentCompletedEvent"],
            std::set<std::string>{"payment-service:payments"});
  EXPECT_EQ(actors["OrderShippedEvent"], std::set<std::string>{"fulfillment-service:warehouse"});
  EXPECT_EQ(actors["OrderDeliveredEvent"], std::set<std::string>{"fulfillment-service:warehouse"});
  EXPECT_EQ(actors["OrderRefundRequestedEvent"], std::set<std::string>{user});
  EXPECT_EQ(actors["OrderRefundProcessedEvent"], std::set<std::string>{"payment-service:payments"});
  EXPECT_EQ(
      actors["OrderStatusChangedEvent"],
      (std::set<std::string>{user, "payment-service:payments", "fulfillment-service:warehouse"}));
  for (const auto& [type, names] : actors) {
    for (const auto& name : names) EXPECT_EQ(name.find("forged"), std::string::npos) << type;
  }
}

TEST_F(ApiAuthTest, AnotherUsersOrderIsNotFoundExactlyLikeAMissingOne) {
  auto http = client();
  const auto ids = deliveredOrder(http, kAlice);
  const std::string missing = "0f0e0d0c-0b0a-4900-8877-665544332211";
  const auto versionBefore =
      json::parse(http.get("/v1/orders/" + ids[0], ops()).body).at("version");
  for (const auto& endpoint : endpoints()) {
    if (endpoint.path.find("{o}") == std::string::npos) continue;
    if (endpoint.name == "payment result" || endpoint.name == "status" || endpoint.name == "ship" ||
        endpoint.name == "deliver" || endpoint.name == "refund processed") {
      continue;  // not a customer's: 403 whoever owns the order (EveryRoleAgainstEveryEndpoint)
    }
    SCOPED_TRACE(endpoint.name);
    for (const Headers& headers : {bob(), with(bob(), "If-Match", "\"1\"")}) {
      const Headers sent = with(headers, "Content-Type", "application/json");
      auto foreign = http.request(endpoint.method, fill(endpoint.path, ids), endpoint.body, sent);
      auto absent = http.request(endpoint.method, fill(endpoint.path, {missing, ids[1], ids[2]}),
                                 endpoint.body, sent);
      expectProblem(foreign, 404, "not-found");
      expectProblem(absent, 404, "not-found");
      // The same answer but for the id: nothing tells the order exists.
      std::string foreignBody = foreign.body;
      const auto at = foreignBody.find(ids[0]);
      ASSERT_NE(at, std::string::npos) << foreign.body;
      foreignBody.replace(at, ids[0].size(), missing);
      EXPECT_EQ(foreignBody, absent.body);
    }
  }
  // Nothing happened to alice's order.
  EXPECT_EQ(json::parse(http.get("/v1/orders/" + ids[0], alice()).body).at("version"),
            versionBefore);
  EXPECT_EQ(events(ids[0]).back().at("messageType"), "OrderRefundRequestedEvent");
  // A customer creates orders for itself only.
  expectProblem(http.post("/v1/orders", orderFor(kAlice).dump(), bob()), 403, "forbidden");
}

TEST_F(ApiAuthTest, ACustomersListHoldsOnlyItsOwnOrdersWhateverTheQuery) {
  auto http = client();
  const std::string aliceOrder = createOrder(http, kAlice);
  const std::string bobOrder = createOrder(http, kBob);
  auto idsOf = [](const HttpResponse& response) {
    EXPECT_EQ(response.status, 200) << response.body;
    std::set<std::string> ids;
    std::set<std::string> users;
    const json page = json::parse(response.body);  // alive for the loop below
    for (const auto& order : page.at("orders")) {
      ids.insert(order.at("orderId").get<std::string>());
      users.insert(order.at("userId").get<std::string>());
    }
    return std::pair{ids, users};
  };
  for (const std::string& query : std::vector<std::string>{
           "/v1/orders?limit=100", "/v1/orders?userId=" + kAlice + "&limit=100",
           "/v1/orders?status=PENDING_PAYMENT&limit=100"}) {
    SCOPED_TRACE(query);
    const auto [ids, users] = idsOf(http.get(query, bob()));
    EXPECT_EQ(ids.count(aliceOrder), 0u);
    EXPECT_TRUE(users.empty() || users == std::set<std::string>{kBob});
  }
  EXPECT_EQ(idsOf(http.get("/v1/orders?limit=100", bob())).first.count(bobOrder), 1u);
  // A cursor of the operator's unfiltered listing does not widen a customer's view.
  auto page = json::parse(http.get("/v1/orders?limit=1", ops()).body);
  if (!page.at("nextCursor").is_null()) {
    const auto [ids, users] = idsOf(
        http.get("/v1/orders?limit=100&cursor=" + page.at("nextCursor").get<std::string>(), bob()));
    EXPECT_TRUE(users.empty() || users == std::set<std::string>{kBob});
  }
  // The operator sees everyone's, and filters as asked.
  const auto [all, allUsers] = idsOf(http.get("/v1/orders?limit=100", ops()));
  EXPECT_EQ(all.count(aliceOrder) + all.count(bobOrder), 2u);
  EXPECT_EQ(idsOf(http.get("/v1/orders?limit=100&userId=" + kAlice, ops())).second,
            std::set<std::string>{kAlice});
}

TEST_F(ApiAuthTest, IdempotencyKeysAreScopedByPrincipal) {
  auto http = client();
  const Headers aliceKey = with(alice(), "Idempotency-Key", "checkout-1");
  const Headers bobKey = with(bob(), "Idempotency-Key", "checkout-1");
  auto first = http.post("/v1/orders", orderFor(kAlice).dump(), aliceKey);
  ASSERT_EQ(first.status, 201) << first.body;
  auto others = http.post("/v1/orders", orderFor(kBob).dump(), bobKey);
  ASSERT_EQ(others.status, 201) << others.body;
  EXPECT_EQ(others.header("idempotent-replayed"), "");
  EXPECT_NE(json::parse(others.body).at("orderId"), json::parse(first.body).at("orderId"));
  EXPECT_EQ(json::parse(others.body).at("userId"), kBob);
  // Each principal's retry gets its own first answer back.
  auto retried = http.post("/v1/orders", orderFor(kAlice).dump(), aliceKey);
  EXPECT_EQ(retried.header("idempotent-replayed"), "true");
  EXPECT_EQ(retried.body, first.body);
  auto bobRetried = http.post("/v1/orders", orderFor(kBob).dump(), bobKey);
  EXPECT_EQ(bobRetried.header("idempotent-replayed"), "true");
  EXPECT_EQ(bobRetried.body, others.body);
  // Bob sending alice's request under the same key gets neither alice's answer nor an order.
  expectProblem(http.post("/v1/orders", orderFor(kAlice).dump(), bobKey), 403, "forbidden");
}

TEST_F(ApiAuthTest, ServerOwnedFieldsAreNeverTakenFromABody) {
  auto http = client();
  const std::string forgedId = "11111111-2222-4333-8444-555555555555";
  const json forged = {{"orderId", forgedId},
                       {"id", forgedId},
                       {"status", "DELIVERED"},
                       {"totalAmount", 0.01},
                       {"itemCount", 99},
                       {"version", 42},
                       {"createdAt", "2000-01-01T00:00:00.000Z"},
                       {"updatedAt", "2000-01-01T00:00:00.000Z"},
                       {"shipmentId", "forged-shipment"},
                       {"refundId", "forged-refund"},
                       {"refundableAmount", 1000000},
                       {"paidAmount", 1000000},
                       {"initiatedBy", "forged"}};
  auto plus = [&](json body) {
    for (auto it = forged.begin(); it != forged.end(); ++it) {
      if (!body.contains(it.key())) body[it.key()] = it.value();
    }
    return body.dump();
  };
  auto expectServerValues = [&](const json& order, const char* status, std::int64_t version) {
    EXPECT_NE(order.at("orderId"), forgedId);
    EXPECT_EQ(order.at("status"), status);
    EXPECT_EQ(order.at("totalAmount"), 149.99);
    EXPECT_EQ(order.at("itemCount"), 2);
    EXPECT_EQ(order.at("version"), version);
    EXPECT_NE(order.at("createdAt"), "2000-01-01T00:00:00.000Z");
    EXPECT_NE(order.at("updatedAt"), "2000-01-01T00:00:00.000Z");
  };

  auto created = http.post("/v1/orders", plus(orderFor(kAlice)), alice());
  ASSERT_EQ(created.status, 201) << created.body;
  json order = json::parse(created.body);
  expectServerValues(order, "PENDING_PAYMENT", 1);
  const std::string base = "/v1/orders/" + order.at("orderId").get<std::string>();
  EXPECT_EQ(http.get("/v1/orders/" + forgedId, ops()).status, 404);

  auto patched = http.request(
      "PATCH", base,
      plus({{"customerDetails", {{"name", "A. Lice"}, {"email", "alice@example.com"}}}}),
      with(alice(), "Content-Type", "application/json"));
  ASSERT_EQ(patched.status, 200) << patched.body;
  expectServerValues(json::parse(patched.body), "PENDING_PAYMENT", 2);

  auto paying = http.post(base + "/payment", plus(json::object()), alice());
  ASSERT_EQ(paying.status, 200) << paying.body;
  expectServerValues(json::parse(paying.body), "PAYMENT_PROCESSING", 3);

  auto paid =
      http.post(base + "/payment/result",
                plus({{"outcome", "COMPLETED"}, {"paymentTransactionId", "p-1"}}), payments());
  ASSERT_EQ(paid.status, 200) << paid.body;
  order = json::parse(paid.body);
  expectServerValues(order, "AWAITING_FULFILLMENT", 4);
  EXPECT_EQ(order.at("payment").at("paidAmount"), 149.99);

  auto processing = http.post(base + "/status", plus({{"newStatus", "PROCESSING"}}), warehouse());
  ASSERT_EQ(processing.status, 200) << processing.body;
  expectServerValues(json::parse(processing.body), "PROCESSING", 5);

  auto shipped = http.post(base + "/shipments",
                           plus({{"carrier", "DHL"}, {"trackingNumber", "T-1"}}), warehouse());
  ASSERT_EQ(shipped.status, 201) << shipped.body;
  const json shipment = json::parse(shipped.body);
  EXPECT_NE(shipment.at("shipmentId"), "forged-shipment");
  EXPECT_NE(shipment.at("orderId"), forgedId);
  EXPECT_TRUE(shipment.at("deliveredAt").is_null());
  EXPECT_EQ(shipment.at("items").size(), 2u);

  auto delivered = http.post(base + "/deliveries",
                             plus({{"shipmentId", shipment.at("shipmentId")}}), warehouse());
  ASSERT_EQ(delivered.status, 200) << delivered.body;
  expectServerValues(json::parse(delivered.body), "DELIVERED", 7);

  auto refund = http.post(base + "/refunds", plus({{"amount", 5.00}, {"reason", "dent"}}), alice());
  ASSERT_EQ(refund.status, 201) << refund.body;
  const json refundBody = json::parse(refund.body);
  EXPECT_NE(refundBody.at("refundId"), "forged-refund");
  EXPECT_EQ(refundBody.at("status"), "REQUESTED");
  EXPECT_EQ(refundBody.at("amount"), 5.0);
  const std::string refundId = refundBody.at("refundId");

  auto processed = http.post(base + "/refunds/" + refundId + "/processed",
                             plus({{"refundTransactionId", "r-1"}, {"amount", 999}}), payments());
  ASSERT_EQ(processed.status, 200) << processed.body;
  EXPECT_EQ(json::parse(processed.body).at("amount"), 5.0);
  EXPECT_EQ(json::parse(processed.body).at("refundId"), refundId);

  // Cancelling an order of its own (a new one) with forged fields: the server's values.
  auto another = json::parse(http.post("/v1/orders", orderFor(kAlice).dump(), alice()).body);
  auto cancelled = http.post("/v1/orders/" + another.at("orderId").get<std::string>() + "/cancel",
                             plus({{"reason", "changed my mind"}}), alice());
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  expectServerValues(json::parse(cancelled.body), "CANCELLED", 2);
  for (const auto& event : events(another.at("orderId"))) {
    EXPECT_EQ(event.at("envelope").dump().find("forged"), std::string::npos);
  }
}

TEST_F(ApiAuthTest, KeysRotateOnSighupAndABadFileKeepsTheOldOnes) {
  // A service of its own: this test rewrites its key file.
  TempDir dir("api-auth-rotate");
  auto next = SigningKey::generate(JwtAlgorithm::kEs256, "ec-2").value();
  dir.write("jwks.json", json{{"keys", {ec_->publicJwk().value()}}}.dump());
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         {"--database", "sqlite:" + dir.file("orders.db"), "--no-relay",
                          "--no-consumers", "--auth", "jwt", "--jwks-file", dir.file("jwks.json")});
  HttpClient http("127.0.0.1", service.port());
  const Headers oldKey = bearer(token(claims("ops", {"operator"}), *ec_));
  const Headers newKey = bearer(token(claims("ops", {"operator"}), *next));
  EXPECT_EQ(http.get("/v1/orders", oldKey).status, 200);
  EXPECT_EQ(http.get("/v1/orders", newKey).status, 401);

  dir.write("jwks.json", "{\"keys\": [");  // a broken file: the old keys stay in force
  ::kill(service.pid(), SIGHUP);
  ASSERT_TRUE(testing::waitFor(
      [&] { return service.output().find("reloading the keys failed") != std::string::npos; }));
  EXPECT_EQ(http.get("/v1/orders", oldKey).status, 200);
  EXPECT_NE(json::parse(http.get("/readyz").body).at("auth").value("lastReloadError", ""), "");

  dir.write("jwks.json", json{{"keys", {next->publicJwk().value()}}}.dump());
  ::kill(service.pid(), SIGHUP);
  ASSERT_TRUE(testing::waitFor([&] { return http.get("/v1/orders", newKey).status == 200; }));
  EXPECT_EQ(http.get("/v1/orders", oldKey).status, 401);
  EXPECT_TRUE(service.running());
}

TEST_F(ApiAuthTest, DevelopmentModeSaysSoAtStartAndInReadyz) {
  TempDir dir("api-auth-none");
  ServiceProcess service(ORDER_SERVICE_BINARY, {"--database", "sqlite:" + dir.file("orders.db"),
                                                "--no-relay", "--no-consumers", "--auth", "none"});
  EXPECT_NE(service.output().find("AUTHENTICATION IS OFF"), std::string::npos) << service.output();
  HttpClient http("127.0.0.1", service.port());
  const json ready = json::parse(http.get("/readyz").body);
  EXPECT_EQ(ready.at("auth").at("mode"), "none");
  EXPECT_EQ(http.get("/v1/orders").status, 200);
}

TEST_F(ApiAuthTest, JwtModeWithoutKeysDoesNotStart) {
  TempDir dir("api-auth-nokeys");
  try {
    ServiceProcess service(ORDER_SERVICE_BINARY, {"--database", "sqlite:" + dir.file("orders.db"),
                                                  "--no-relay", "--no-consumers", "--auth", "jwt"});
    ADD_FAILURE() << "started without keys";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--jwks-file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace orders
