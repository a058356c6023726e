// libFuzzer target: arbitrary bytes as what a client sends on one connection, through the
// server's own parser, limits and header rules (readRequests: Beast's parser configured as a
// Session configures it), then every request it yields through a pipeline with the service's
// steps (context, limits, authentication, rate limit, authorisation) and a router with the API's
// kinds of templates ({orderId:uuid}, nested parameters). Properties: nothing throws, crashes
// or trips a sanitizer; every request is answered exactly once, with a valid status; a refusal
// of the server's is problem+json.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/ids.hpp"
#include "http/header_rules.hpp"
#include "http/json_body.hpp"
#include "http/middlewares.hpp"
#include "http/pipeline.hpp"
#include "http/request_bodies.hpp"
#include "http/server.hpp"
#include "support/manual_clock.hpp"

namespace {

using namespace orders;
using namespace orders::http;

/// Ids without randomness, so that a crash replays the same way.
class CountingIds final : public IdGenerator {
 public:
  std::string uuid() override {
    char text[40];
    std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012llu", ++next_);
    return text;
  }

 private:
  unsigned long long next_ = 0;
};

void answerWith(const Reply& reply, int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  reply(std::move(response));
}

/// Routes shaped like the API's (http/order_api.cpp); the handlers use what real ones use on the
/// request: the bound parameters, If-Match, and the body read as JSON.
Router apiShapedRoutes() {
  Router router;
  const std::string order = "/v1/orders/{orderId:uuid}";
  auto echo = [](const Request&, RequestScope& scope, const Reply& reply) {
    std::string params;
    for (const auto& [name, value] : scope.params) params += name + "=" + value + ";";
    answerWith(reply, 200, params);
  };
  auto command = [](const Request& request, RequestScope&, const Reply& reply) {
    if (auto ifMatch = request.header("if-match"); ifMatch && !parseIfMatch(*ifMatch)) {
      return answerWith(reply, 400, "If-Match");
    }
    ExactJson body;
    if (auto problem = parseJsonObject(request, body)) return reply(std::move(*problem));
    const JsonReader reader(body);
    (void)readNewOrder(reader);
    (void)readStatusChange(reader);
    answerWith(reply, 200, "{}");
  };
  router.add("GET", "/healthz", echo);
  router.add("GET", "/v1/orders", echo, {"orders:list"});
  router.add("POST", "/v1/orders", command, {"orders:create"});
  router.add("GET", order, echo, {"orders:read"});
  router.add("PATCH", order, command, {"orders:update"});
  router.add("POST", order + "/status", command, {"orders:status"});
  router.add("GET", order + "/shipments/{shipmentId}", echo, {"orders:read"});
  router.add("POST", order + "/refunds/{refundId}/processed", command, {"refunds:process"});
  return router;
}

struct Harness {
  Harness()
      : limiter({.requestsPerSecond = 1000, .burst = 1000, .maxClients = 16}, clock),
        pipeline(apiShapedRoutes(),
                 {std::make_shared<RequestContextStep>(ids),
                  std::make_shared<LimitsStep>(RequestLimits{}),
                  std::make_shared<AuthenticationStep>(anonymous),
                  std::make_shared<RateLimitStep>(limiter),
                  std::make_shared<AuthorizationStep>(allowAll)},
                 clock, ids) {}
  orders::testing::ManualClock clock;
  CountingIds ids;
  AnonymousAuthenticator anonymous;
  AllowAll allowAll;
  ClientRateLimiter limiter;
  Pipeline pipeline;
};

bool validStatus(int status) {
  return status >= 100 && status <= 599;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness* harness = new Harness();  // one for the process, like the service's
  ConnectionLimits limits;
  limits.maxBodyBytes = 4096;  // small, so the fuzzer reaches the limits' edges
  limits.maxHeaderBytes = 2048;
  limits.maxHeaderFields = 20;
  limits.maxTargetBytes = 512;
  const auto read =
      readRequests(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (read.refusal && (!validStatus(read.refusal->status) || read.refusal->status < 400 ||
                       read.refusal->contentType != "application/problem+json")) {
    std::abort();
  }
  for (auto request : read.requests) {
    request.remoteAddress = "192.0.2.1";
    int answers = 0;
    int status = 0;
    harness->pipeline.handle(std::move(request), [&](Response response) {
      ++answers;
      status = response.status;
    });
    // Every handler here answers at once: exactly one answer, with a real status.
    if (answers != 1 || !validStatus(status)) std::abort();
  }
  return 0;
}
