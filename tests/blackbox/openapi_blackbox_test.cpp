// Keeps docs/openapi.yaml honest: every path and method it documents is answered by the real
// binary (not 404/405) with a status the document lists for that operation, and every method it
// does not document on those paths is 405 with an Allow header naming exactly the documented ones.
//
// The document is read without a YAML library, by simple line parsing of its `paths:` section,
// which docs/openapi.yaml keeps in block style with two-space indentation:
//   paths:
//     /v1/orders/{orderId}:          <- path, indent 2
//       get:                         <- method, indent 4
//         responses:                 <- indent 6
//           '200':                   <- status, indent 8

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "blackbox/order_request.hpp"
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

const char* kOpenApiPath = ORDER_SERVICE_SOURCE_DIR "/docs/openapi.yaml";
const std::vector<std::string> kProbeMethods{"GET", "POST", "PUT", "PATCH", "DELETE"};

struct Operation {
  std::string method;           // upper case
  std::set<std::string> codes;  // documented response keys: "200", "404", "default"...
};

struct OpenApiPaths {
  std::string version;                                            // the `openapi:` value
  std::map<std::string, std::map<std::string, Operation>> paths;  // path -> method -> operation
};

std::size_t indentOf(const std::string& line) {
  return line.find_first_not_of(' ');
}

/// "  '/v1/orders':  # comment" -> "/v1/orders" (key of a `key:` line, quotes stripped).
std::string keyOf(const std::string& line) {
  std::string text = line.substr(indentOf(line));
  const auto colon = text.find(':');
  std::string key = text.substr(0, colon);
  while (!key.empty() && key.back() == ' ') key.pop_back();
  if (key.size() >= 2 && (key.front() == '\'' || key.front() == '"') && key.back() == key.front()) {
    key = key.substr(1, key.size() - 2);
  }
  return key;
}

OpenApiPaths parseOpenApi(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  static const std::set<std::string> kMethods{"get",   "put",  "post",    "delete",
                                              "patch", "head", "options", "trace"};
  OpenApiPaths result;
  bool inPaths = false;
  std::string path;
  Operation* operation = nullptr;
  bool inResponses = false;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto indent = indentOf(line);
    if (indent == std::string::npos || line[indent] == '#') continue;  // blank or comment
    if (line.find('\t') != std::string::npos && line.find('\t') < indent) {
      throw std::runtime_error("tab in the indentation of: " + line);
    }
    if (indent == 0) {
      inPaths = line.rfind("paths:", 0) == 0;
      if (line.rfind("openapi:", 0) == 0) {
        result.version = line.substr(8);
        result.version.erase(0, result.version.find_first_not_of(" '\""));
        result.version.erase(result.version.find_last_not_of(" '\"") + 1);
      }
      continue;
    }
    if (!inPaths) continue;
    if (indent == 2) {
      path = keyOf(line);
      if (path.empty() || path[0] != '/') throw std::runtime_error("not a path: " + line);
      result.paths[path];
      operation = nullptr;
    } else if (indent == 4) {
      const std::string key = keyOf(line);
      operation = nullptr;
      inResponses = false;
      if (kMethods.count(key)) {
        std::string method = key;
        std::transform(method.begin(), method.end(), method.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        operation = &result.paths[path][method];
        operation->method = method;
      }
    } else if (indent == 6 && operation) {
      inResponses = keyOf(line) == "responses";
    } else if (indent == 8 && operation && inResponses) {
      operation->codes.insert(keyOf(line));
    }
  }
  return result;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::set<std::string> splitAllow(const std::string& allow) {
  std::set<std::string> methods;
  std::stringstream stream(allow);
  std::string method;
  while (std::getline(stream, method, ',')) {
    method.erase(0, method.find_first_not_of(' '));
    method.erase(method.find_last_not_of(' ') + 1);
    if (!method.empty()) methods.insert(method);
  }
  return methods;
}

std::string describe(const HttpResponse& response) {
  return std::to_string(response.status) + " " + response.body;
}

class OpenApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("openapi-test");
    service_ = new ServiceProcess(ORDER_SERVICE_BINARY,
                                  {"--database", "sqlite:" + dir_->file("orders.db"), "--no-relay",
                                   "--no-consumers", "--log-level", "warn"});
    document_ = new OpenApiPaths(parseOpenApi(kOpenApiPath));
  }
  static void TearDownTestSuite() {
    delete service_;
    delete document_;
    delete dir_;
  }

  /// Real ids for the path parameters: a paid order with one partial shipment and one refund.
  std::map<std::string, std::string> makeOrderWithShipmentAndRefund(HttpClient& http) {
    auto created = http.post("/v1/orders", orderRequest().dump());
    EXPECT_EQ(created.status, 201) << describe(created);
    const std::string orderId = json::parse(created.body).at("orderId");
    const std::string base = "/v1/orders/" + orderId;
    EXPECT_EQ(http.post(base + "/payment", "").status, 200);
    auto paid = http.post(base + "/payment/result",
                          R"({"outcome":"COMPLETED","paymentTransactionId":"txn-1"})");
    EXPECT_EQ(paid.status, 200) << describe(paid);
    auto shipment = http.post(
        base + "/shipments",
        R"({"carrier":"DHL","trackingNumber":"T1","items":[{"productId":"prod-789","quantity":1}]})");
    EXPECT_EQ(shipment.status, 201) << describe(shipment);
    auto refund = http.post(base + "/refunds", R"({"amount":10.00,"reason":"damaged"})");
    EXPECT_EQ(refund.status, 201) << describe(refund);
    return {{"{messageType}", "OrderCreatedEvent"},
            {"{version}", "1.0"},
            {"{orderId}", orderId},
            {"{shipmentId}", json::parse(shipment.body).at("shipmentId")},
            {"{refundId}", json::parse(refund.body).at("refundId")}};
  }

  static std::string concrete(const std::string& path,
                              const std::map<std::string, std::string>& ids) {
    std::string target = path;
    for (const auto& [parameter, value] : ids) target = replaceAll(target, parameter, value);
    return target;
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServiceProcess* service_ = nullptr;
  static inline OpenApiPaths* document_ = nullptr;
};

TEST_F(OpenApiTest, TheDocumentListsEveryRouteOfTheService) {
  EXPECT_EQ(document_->version, "3.0.3");
  std::set<std::string> documented;
  for (const auto& [path, operations] : document_->paths) {
    for (const auto& [method, operation] : operations) {
      documented.insert(method + " " + path);
      EXPECT_FALSE(operation.codes.empty()) << method << " " << path << " documents no responses";
    }
  }
  // What src/http/order_api.cpp routes. A route added there must be documented, and vice versa.
  const std::set<std::string> routes{
      "GET /v1/orders",
      "POST /v1/orders",
      "GET /v1/orders/{orderId}",
      "PATCH /v1/orders/{orderId}",
      "POST /v1/orders/{orderId}/payment",
      "POST /v1/orders/{orderId}/payment/result",
      "POST /v1/orders/{orderId}/status",
      "POST /v1/orders/{orderId}/cancel",
      "POST /v1/orders/{orderId}/shipments",
      "GET /v1/orders/{orderId}/shipments/{shipmentId}",
      "POST /v1/orders/{orderId}/deliveries",
      "POST /v1/orders/{orderId}/refunds",
      "GET /v1/orders/{orderId}/refunds/{refundId}",
      "POST /v1/orders/{orderId}/refunds/{refundId}/processed",
      "GET /healthz",
      "GET /readyz",
      "GET /metrics",
      "GET /v1/schemas",
      "GET /v1/schemas/{messageType}/{version}",
  };
  EXPECT_EQ(documented, routes);
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsAnsweredWithADocumentedStatus) {
  HttpClient http("127.0.0.1", service_->port());
  const auto ids = makeOrderWithShipmentAndRefund(http);
  // Plausible bodies, so that most operations succeed; whatever the order's state makes of them,
  // the answer must be one the document lists. Operations not named here get "{}".
  const std::map<std::string, std::string> bodies{
      {"POST /v1/orders", orderRequest().dump()},
      {"PATCH /v1/orders/{orderId}",
       R"({"customerDetails":{"name":"Jane Doe","email":"jane@example.com"}})"},
      {"POST /v1/orders/{orderId}/payment", ""},
      {"POST /v1/orders/{orderId}/payment/result",
       R"({"outcome":"COMPLETED","paymentTransactionId":"txn-2"})"},
      {"POST /v1/orders/{orderId}/status", R"({"newStatus":"PROCESSING"})"},
      {"POST /v1/orders/{orderId}/cancel", R"({"reason":"changed my mind"})"},
      {"POST /v1/orders/{orderId}/shipments", R"({"carrier":"UPS","trackingNumber":"T2"})"},
      {"POST /v1/orders/{orderId}/deliveries", json{{"shipmentId", ids.at("{shipmentId}")}}.dump()},
      {"POST /v1/orders/{orderId}/refunds", R"({"amount":5.00,"reason":"late"})"},
      {"POST /v1/orders/{orderId}/refunds/{refundId}/processed",
       R"({"refundTransactionId":"rtx-1"})"},
  };
  const std::regex problemType("^https://order-service\\.example/problems/[a-z-]+$");
  int checked = 0;
  for (const auto& [path, operations] : document_->paths) {
    const std::string target = concrete(path, ids);
    ASSERT_EQ(target.find('{'), std::string::npos) << "unknown path parameter in " << path;
    for (const auto& [method, operation] : operations) {
      const std::string name = method + " " + path;
      SCOPED_TRACE(name + " as " + method + " " + target);
      std::map<std::string, std::string> headers{{"X-Correlation-Id", "corr-openapi-test"}};
      std::string body;
      if (method == "POST" || method == "PATCH" || method == "PUT") {
        auto it = bodies.find(name);
        body = it != bodies.end() ? it->second : "{}";
        if (!body.empty()) headers["Content-Type"] = "application/json";
      }
      const auto response = http.request(method, target, body, headers);
      ++checked;
      EXPECT_NE(response.status, 404) << describe(response);
      EXPECT_NE(response.status, 405) << describe(response);
      EXPECT_TRUE(operation.codes.count(std::to_string(response.status)) ||
                  operation.codes.count("default"))
          << "undocumented status " << describe(response);
      EXPECT_EQ(response.header("x-correlation-id"), "corr-openapi-test");
      if (response.status >= 400) {
        EXPECT_EQ(response.header("content-type"), "application/problem+json");
        const auto problem = json::parse(response.body);
        EXPECT_TRUE(std::regex_match(problem.at("type").get<std::string>(), problemType))
            << response.body;
        EXPECT_EQ(problem.at("status"), response.status);
      } else if (name == "GET /metrics") {
        // The one non-JSON answer: the Prometheus text format (checked in observability_rmqtest).
        EXPECT_EQ(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
        EXPECT_EQ(response.body.rfind("# HELP ", 0), 0u) << response.body;
      } else if (response.status != 304) {
        // A JSON Schema is served as one (GET /v1/schemas/{messageType}/{version}).
        const bool schema = path == "/v1/schemas/{messageType}/{version}";
        EXPECT_EQ(response.header("content-type"),
                  schema ? "application/schema+json" : "application/json");
        EXPECT_TRUE(json::parse(response.body).is_object()) << response.body;
      }
    }
  }
  EXPECT_EQ(checked, 19);
}

TEST_F(OpenApiTest, UndocumentedMethodsOnDocumentedPathsAnswer405WithTheDocumentedAllow) {
  HttpClient http("127.0.0.1", service_->port());
  const auto ids = makeOrderWithShipmentAndRefund(http);
  int checked = 0;
  for (const auto& [path, operations] : document_->paths) {
    std::set<std::string> documented;
    for (const auto& [method, operation] : operations) documented.insert(method);
    const std::string target = concrete(path, ids);
    for (const auto& method : kProbeMethods) {
      if (documented.count(method)) continue;
      SCOPED_TRACE(method + " " + path + " as " + target);
      const auto response = http.request(method, target, "", {});
      ++checked;
      ASSERT_EQ(response.status, 405) << describe(response);
      EXPECT_EQ(response.header("content-type"), "application/problem+json");
      EXPECT_EQ(json::parse(response.body).at("type"),
                "https://order-service.example/problems/method-not-allowed");
      EXPECT_EQ(splitAllow(response.header("allow")), documented)
          << "Allow: " << response.header("allow");
      EXPECT_FALSE(response.header("x-correlation-id").empty());
    }
  }
  EXPECT_GT(checked, 50);
}

// The GET-only sub-resources refuse every other method with 405 and "Allow: GET".
TEST_F(OpenApiTest, GetOnlySubResourcesAnswer405ToOtherMethods) {
  HttpClient http("127.0.0.1", service_->port());
  const auto ids = makeOrderWithShipmentAndRefund(http);
  for (const std::string path :
       {"/v1/orders/{orderId}/shipments/{shipmentId}", "/v1/orders/{orderId}/refunds/{refundId}"}) {
    for (const auto& method : {"POST", "PUT", "PATCH", "DELETE"}) {
      const auto response = http.request(method, concrete(path, ids), "", {});
      EXPECT_EQ(response.status, 405) << method << " " << path << ": " << describe(response);
      EXPECT_EQ(response.header("allow"), "GET") << method << " " << path;
    }
  }
}

}  // namespace
}  // namespace orders
