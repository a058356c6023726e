// Hostile and unusual input against the real binary (issue "One request can crash the
// service"): numbers beyond a double, amounts a double would change, request smuggling through
// Transfer-Encoding, encoded slashes, Expect: 100-continue, Host, If-Match. Each case checks the
// answer and that nothing happened besides it; the service must keep answering throughout.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "blackbox/order_request.hpp"
#include "support/http_client.hpp"
#include "support/raw_http.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::HttpClient;
using testing::HttpResponse;
using testing::orderRequest;
using testing::RawConnection;
using testing::ServiceProcess;
using testing::TempDir;

class HttpInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("http-input-test");
    service_ = new ServiceProcess(ORDER_SERVICE_BINARY,
                                  {"--database", "sqlite:" + dir_->file("orders.db"), "--no-relay",
                                   "--no-consumers", "--log-level", "warn"});
  }
  static void TearDownTestSuite() {
    delete service_;
    delete dir_;
  }
  void TearDown() override {
    // Whatever the case sent, the service is still there and answers.
    ASSERT_TRUE(service_->running());
    EXPECT_EQ(client().get("/healthz").status, 200) << service_->output();
  }

  static HttpClient client() { return HttpClient("127.0.0.1", service_->port()); }
  static RawConnection raw() { return RawConnection("127.0.0.1", service_->port()); }

  /// A user id of its own for each case, so "nothing was created" is a list query.
  static std::string freshUser(int n) {
    char id[64];
    std::snprintf(id, sizeof id, "0000%04x-1111-4222-8333-%012d", n, n);
    return id;
  }
  static std::size_t ordersOf(const std::string& userId) {
    const auto response = client().get("/v1/orders?userId=" + userId);
    EXPECT_EQ(response.status, 200) << response.body;
    return json::parse(response.body)["orders"].size();
  }
  static json problem(const HttpResponse& response) {
    EXPECT_EQ(response.header("content-type"), "application/problem+json") << response.body;
    return json::parse(response.body);
  }
  static std::string createOrder(HttpClient& http) {
    auto response = http.post("/v1/orders", orderRequest().dump());
    EXPECT_EQ(response.status, 201) << response.body;
    return json::parse(response.body)["orderId"].get<std::string>();
  }

  static TempDir* dir_;
  static ServiceProcess* service_;
};
TempDir* HttpInputTest::dir_ = nullptr;
ServiceProcess* HttpInputTest::service_ = nullptr;

/// The order request with one number replaced by raw JSON text.
std::string orderWith(const std::string& field, const std::string& numberText) {
  std::string body = orderRequest().dump();
  if (field == "unknown") return body.insert(1, "\"foo\":" + numberText + ",");
  const std::string from = field == "quantity" ? "\"quantity\":1" : "\"unitPrice\":99.99";
  return body.replace(body.find(from), from.size(), "\"" + field + "\":" + numberText);
}

TEST_F(HttpInputTest, NumbersBeyondADoubleAre400NotACrash) {
  auto http = client();
  const std::string digits401(401, '7');
  for (const std::string field : {"unknown", "quantity", "unitPrice"}) {
    for (const std::string& number : {std::string("1e400"), std::string("-1e400"), digits401}) {
      const auto response = http.post("/v1/orders", orderWith(field, number));
      ASSERT_EQ(response.status, 400) << field << " " << number.substr(0, 8) << response.body;
      const auto body = problem(response);
      EXPECT_EQ(body["type"], "https://order-service.example/problems/malformed-json");
      EXPECT_NE(body["detail"].get<std::string>().find("number overflow"), std::string::npos);
    }
  }
  const std::string orderId = createOrder(http);
  for (const std::string path : {"/cancel", "/payment", "/payment/result", "/refunds"}) {
    const auto response =
        http.post("/v1/orders/" + orderId + path, R"({"reason": "x", "amount": 1e400})");
    EXPECT_EQ(response.status, 400) << path << response.body;
  }
  EXPECT_EQ(json::parse(http.get("/v1/orders/" + orderId).body)["status"], "PENDING_PAYMENT");
}

TEST_F(HttpInputTest, AmountsAndQuantitiesAreJudgedAsWritten) {
  auto http = client();
  struct Case {
    std::string field, number, pointer;
  };
  for (const Case& refused : {Case{"unitPrice", "1e-400", "items/0/unitPrice"},
                              Case{"unitPrice", "10.0000000000000001", "items/0/unitPrice"},
                              Case{"unitPrice", "0.001", "items/0/unitPrice"},
                              Case{"quantity", "1.0000000000000000001", "items/0/quantity"},
                              Case{"quantity", "1.5", "items/0/quantity"}}) {
    const auto response = http.post("/v1/orders", orderWith(refused.field, refused.number));
    ASSERT_EQ(response.status, 422) << refused.number << response.body;
    EXPECT_EQ(problem(response)["field"], refused.pointer) << refused.number;
  }
  // Their neighbours are the same numbers written exactly: accepted, converted exactly.
  for (const auto& [number, price] : std::vector<std::pair<std::string, double>>{
           {"1e2", 100.0}, {"1.50", 1.5}, {"0.1e1", 1.0}, {"1E-2", 0.01}, {"10.00", 10.0}}) {
    const auto response = http.post("/v1/orders", orderWith("unitPrice", number));
    ASSERT_EQ(response.status, 201) << number << response.body;
    EXPECT_EQ(json::parse(response.body)["items"][0]["unitPrice"].get<double>(), price) << number;
  }
  const auto whole = http.post("/v1/orders", orderWith("quantity", "1e1"));
  ASSERT_EQ(whole.status, 201) << whole.body;
  EXPECT_EQ(json::parse(whole.body)["items"][0]["quantity"], 10);
}

TEST_F(HttpInputTest, RefundAmountsAreJudgedAsWritten) {
  auto http = client();
  const std::string orderId = createOrder(http);
  ASSERT_EQ(http.post("/v1/orders/" + orderId + "/payment", "").status, 200);
  ASSERT_EQ(http.post("/v1/orders/" + orderId + "/payment/result",
                      R"({"outcome":"COMPLETED","paymentTransactionId":"txn-1"})")
                .status,
            200);
  for (const std::string amount : {"1e-400", "10.0000000000000001", "-0.01"}) {
    const auto response = http.post("/v1/orders/" + orderId + "/refunds",
                                    R"({"reason":"x","amount":)" + amount + "}");
    ASSERT_EQ(response.status, 422) << amount << response.body;
    EXPECT_EQ(problem(response)["field"], "amount");
  }
  EXPECT_TRUE(json::parse(http.get("/v1/orders/" + orderId).body)["refunds"].empty());
  const auto exact =
      http.post("/v1/orders/" + orderId + "/refunds", R"({"reason":"x","amount":1e1})");
  ASSERT_EQ(exact.status, 201) << exact.body;
  EXPECT_EQ(json::parse(exact.body)["amount"].get<double>(), 10.0);
}

TEST_F(HttpInputTest, ANonChunkedTransferEncodingIsRefusedAndTheBodyIsNeverExecuted) {
  int n = 0;
  for (const std::string coding :
       {"gzip", "xchunked", "chunked, identity", "identity", "chunked;ext=1"}) {
    const std::string smuggledUser = freshUser(++n);
    json smuggledOrder = orderRequest();
    smuggledOrder["userId"] = smuggledUser;
    const std::string inner = smuggledOrder.dump();
    const std::string smuggled =
        "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: "
        "application/json\r\nContent-Length: " +
        std::to_string(inner.size()) + "\r\n\r\n" + inner;
    auto connection = raw();
    connection.send(
        "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: " +
        coding + "\r\n\r\n" + smuggled);
    EXPECT_TRUE(connection.readUntilClosed(5s)) << coding << ": the connection stays open";
    EXPECT_EQ(connection.statuses(), std::vector<int>{400}) << coding << connection.received();
    EXPECT_EQ(ordersOf(smuggledUser), 0u) << coding << ": the smuggled request was executed";
  }
  // Framed, but in a coding we do not decode: 501, closed.
  auto gzipped = raw();
  gzipped.send(
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(gzipped.readUntilClosed(5s));
  EXPECT_EQ(gzipped.statuses(), std::vector<int>{501}) << gzipped.received();
  // Both framings at once (RFC 9112 §6.3: an error, then close).
  auto both = raw();
  both.send(
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(both.readUntilClosed(5s));
  EXPECT_EQ(both.statuses(), std::vector<int>{400}) << both.received();
}

TEST_F(HttpInputTest, ChunkedBodiesStillWork) {
  const std::string body = orderRequest().dump();
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  auto connection = raw();
  connection.send(
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n");
  EXPECT_TRUE(connection.readUntilClosed(5s));
  EXPECT_EQ(connection.statuses(), std::vector<int>{201}) << connection.received();
}

TEST_F(HttpInputTest, AnEncodedSlashIsDataNotASeparator) {
  auto http = client();
  const std::string orderId = createOrder(http);
  const auto cancel = http.post("/v1/orders/" + orderId + "%2Fcancel", R"({"reason":"x"})");
  EXPECT_EQ(cancel.status, 404) << cancel.body;
  EXPECT_EQ(http.get("/v1/orders/" + orderId + "%2F").status, 404);
  EXPECT_EQ(http.get("/v1/orders/" + orderId + "%2fshipments%2Fx").status, 404);
  EXPECT_EQ(json::parse(http.get("/v1/orders/" + orderId).body)["status"], "PENDING_PAYMENT");
  // Percent-encoded unreserved characters are still the same id (RFC 3986 §6.2.2.2).
  std::string encoded = orderId;
  encoded.replace(0, 1,
                  "%" + std::to_string(static_cast<int>(orderId[0]) / 16) +
                      "0123456789ABCDEF"[orderId[0] % 16]);
  EXPECT_EQ(http.get("/v1/orders/" + encoded).status, 200) << encoded;
}

TEST_F(HttpInputTest, Expect100ContinueIsAnsweredAtOnce) {
  const std::string body = orderRequest().dump();
  auto connection = raw();
  const auto start = std::chrono::steady_clock::now();
  connection.send(
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  ASSERT_TRUE(connection.readUntil("\r\n\r\n", 5s)) << connection.received();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // curl would wait 1 s otherwise
  EXPECT_EQ(connection.statuses(), std::vector<int>{100});
  connection.send(body);
  ASSERT_TRUE(connection.readUntil("\"orderId\"", 5s)) << connection.received();
  EXPECT_EQ(connection.statuses(), (std::vector<int>{100, 201}));

  // Too large: the final status instead of 100, and the body is never read.
  auto large = raw();
  large.send(
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: 100000000\r\n\r\n");
  EXPECT_TRUE(large.readUntilClosed(5s));
  EXPECT_EQ(large.statuses(), std::vector<int>{413}) << large.received();

  // An expectation we cannot meet.
  auto other = raw();
  other.send("GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n");
  EXPECT_TRUE(other.readUntilClosed(5s));
  EXPECT_EQ(other.statuses(), std::vector<int>{417}) << other.received();
}

TEST_F(HttpInputTest, HostIsRequiredOnceInHttp11) {
  for (const std::string& request :
       {std::string("GET /healthz HTTP/1.1\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: a:99999\r\n\r\n"),
        std::string("GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n")}) {
    auto connection = raw();
    connection.send(request);
    EXPECT_TRUE(connection.readUntilClosed(5s)) << request;
    EXPECT_EQ(connection.statuses(), std::vector<int>{400}) << request << connection.received();
  }
  for (const std::string& request :
       {std::string("GET /healthz HTTP/1.0\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n")}) {
    auto connection = raw();
    connection.send(request);
    EXPECT_TRUE(connection.readUntilClosed(5s)) << request;
    EXPECT_EQ(connection.statuses(), std::vector<int>{200}) << request << connection.received();
  }
}

TEST_F(HttpInputTest, IfMatchComparesEntityTagsStrongly) {
  auto http = client();
  const std::string orderId = createOrder(http);
  const std::string cancel = "/v1/orders/" + orderId + "/cancel";
  const std::string reason = R"({"reason":"changed my mind"})";
  for (const std::string tag : {"\"bogus\"", "W/\"1\"", "\"2\", \"3\"", "\"01\"", "\"\""}) {
    const auto response = http.post(cancel, reason, {{"If-Match", tag}});
    EXPECT_EQ(response.status, 412) << tag << response.body;
  }
  for (const std::string tag : {"1", "\"1", "*, \"1\"", "\"1\" \"2\"", "W/1"}) {
    const auto response = http.post(cancel, reason, {{"If-Match", tag}});
    EXPECT_EQ(response.status, 400) << tag << response.body;
    EXPECT_EQ(problem(response)["field"], "If-Match");
  }
  EXPECT_EQ(json::parse(http.get("/v1/orders/" + orderId).body)["version"], 1);
  const auto listed = http.post(cancel, reason, {{"If-Match", "\"bogus\", W/\"1\", \"1\""}});
  EXPECT_EQ(listed.status, 200) << listed.body;

  const std::string other = createOrder(http);
  const auto any = http.post("/v1/orders/" + other + "/cancel", reason, {{"If-Match", "*"}});
  EXPECT_EQ(any.status, 200) << any.body;
  // Preconditions come after existence: an unknown order is 404 whatever If-Match says.
  EXPECT_EQ(http.post("/v1/orders/00000000-0000-4000-8000-000000000000/cancel", reason,
                      {{"If-Match", "\"1\""}})
                .status,
            404);
}

}  // namespace
}  // namespace orders
