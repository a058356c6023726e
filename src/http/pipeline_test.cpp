// The router, the order of the pipeline's steps, and the exception barrier — unit tests, plus
// one through the real Server on a socket: a handler that throws gets a 500 and the server keeps
// answering.

#include "http/pipeline.hpp"

#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "http/middlewares.hpp"
#include "http/server.hpp"
#include "support/http_client.hpp"
#include "support/manual_clock.hpp"

namespace orders::http {
namespace {

using nlohmann::json;

Request request(const std::string& method, const std::string& target) {
  Request r;
  r.method = method;
  r.target = target;
  EXPECT_TRUE(parseTarget(r)) << target;
  return r;
}

/// Runs the pipeline and waits for its answer.
Response answer(const Pipeline& pipeline, Request r) {
  std::promise<Response> answered;
  auto future = answered.get_future();
  pipeline.handle(std::move(r),
                  [&answered](Response response) { answered.set_value(std::move(response)); });
  return future.get();
}

RouteHandler answering(int status) {
  return [status](const Request&, RequestScope&, const Reply& reply) {
    Response response;
    response.status = status;
    reply(std::move(response));
  };
}

TEST(Router, MatchesTemplatesOnRawSegmentsAndDecodesParameters) {
  Router router;
  router.add("GET", "/v1/orders/{orderId:uuid}", answering(200));
  router.add("PATCH", "/v1/orders/{orderId:uuid}", answering(200));
  router.add("POST", "/v1/orders/{orderId:uuid}/refunds/{refundId}/processed", answering(200));
  router.add("GET", "/v1/orders/{orderId:uuid}/refunds/{refundId}", answering(200));
  const std::string id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

  auto m = router.match("POST",
                        request("POST", "/v1/orders/" + id + "/refunds/r%2F1/processed").segments);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pathTemplate, "/v1/orders/{orderId:uuid}/refunds/{refundId}/processed");
  EXPECT_EQ(m.params.at("orderId"), id);
  EXPECT_EQ(m.params.at("refundId"), "r/1");  // decoded after matching

  // An encoded slash is not a separator: no route has that shape, and it is not a UUID either.
  m = router.match("POST", request("POST", "/v1/orders/" + id + "%2Fcancel").segments);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.allowed.empty());
  // Literal segments match only as sent.
  EXPECT_EQ(router.match("GET", request("GET", "/v1/%6Frders/" + id).segments).route, nullptr);
  // The same path with another method: 405 material.
  m = router.match("DELETE", request("DELETE", "/v1/orders/" + id).segments);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, "GET, PATCH");
  m = router.match("GET", request("GET", "/v1/orders/NOT-A-UUID").segments);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.allowed.empty());
}

TEST(Router, PrefersLiteralsAndRefusesBadTables) {
  Router router;
  router.add("GET", "/a/{x}", answering(1));
  router.add("GET", "/a/b", answering(2));
  const auto m = router.match("GET", request("GET", "/a/b").segments);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pathTemplate, "/a/b");
  EXPECT_THROW(router.add("GET", "/a/b", answering(3)), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "a/b", answering(3)), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/a//b", answering(3)), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/a/{x:int}", answering(3)), std::invalid_argument);
}

/// Records the order in which the steps ran, and can answer early.
class Recording final : public Middleware {
 public:
  Recording(std::string name, std::vector<std::string>& log, int answerWith = 0)
      : name_(std::move(name)), log_(log), answerWith_(answerWith) {}
  std::optional<Response> onRequest(const Request&, RequestScope& scope) override {
    log_.push_back(name_ + ".request");
    EXPECT_FALSE(scope.requestId.empty());
    if (answerWith_ == 0) return std::nullopt;
    Response early;
    early.status = answerWith_;
    return early;
  }
  void onResponse(const Request&, const RequestScope&, Response& response) override {
    log_.push_back(name_ + ".response");
    response.headers.emplace_back("X-Step", name_);
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  int answerWith_;
};

TEST(Pipeline, StepsRunInOrderAndResponsesPassThemInReverse) {
  std::vector<std::string> log;
  Router router;
  router.add("GET", "/x", [&log](const Request&, RequestScope& scope, const Reply& reply) {
    log.push_back("handler " + std::string(scope.routeTemplate()));
    reply(Response{});
  });
  testing::ManualClock clock;
  RandomIdGenerator ids;
  Pipeline pipeline(std::move(router),
                    {std::make_shared<Recording>("a", log), std::make_shared<Recording>("b", log)},
                    clock, ids);
  const auto response = answer(pipeline, request("GET", "/x"));
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "handler /x", "b.response",
                                           "a.response"}));
  ASSERT_EQ(response.headers.size(), 2u);
  EXPECT_EQ(response.headers[0].second, "b");

  // A step that answers early: later steps and the handler do not run; its own onResponse does.
  log.clear();
  Router second;
  second.add("GET", "/x", [&log](const Request&, RequestScope&, const Reply& reply) {
    log.push_back("handler");
    reply(Response{});
  });
  Pipeline early(std::move(second),
                 {std::make_shared<Recording>("a", log), std::make_shared<Recording>("b", log, 401),
                  std::make_shared<Recording>("c", log)},
                 clock, ids);
  EXPECT_EQ(answer(early, request("GET", "/x")).status, 401);
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "b.response", "a.response"}));
  // Unknown paths and methods are answered after the steps (authentication sees them too).
  log.clear();
  EXPECT_EQ(answer(pipeline, request("GET", "/nowhere")).status, 404);
  const auto wrongMethod = answer(pipeline, request("POST", "/x"));
  EXPECT_EQ(wrongMethod.status, 405);
  EXPECT_EQ(wrongMethod.headers.front(), (std::pair<std::string, std::string>{"Allow", "GET"}));
}

TEST(Pipeline, TheStandardStepsSetContextAndTimeTheRequest) {
  struct Observer final : RequestObserver {
    void requestCompleted(const CompletedRequest& r) override {
      seen.push_back(
          std::string(r.routeTemplate) + " " + std::to_string(r.status) + " " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(r.duration).count()));
    }
    std::vector<std::string> seen;
  } observer;
  testing::ManualClock clock;
  RandomIdGenerator ids;
  Router router;
  router.add("GET", "/items/{id}",
             [&clock](const Request&, RequestScope& scope, const Reply& reply) {
               EXPECT_EQ(scope.correlationId, "corr-1");
               EXPECT_EQ(scope.trace.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
               EXPECT_TRUE(scope.principal.anonymous());
               clock.advance(std::chrono::milliseconds(7));
               reply(Response{});
             });
  AnonymousAuthenticator anonymous;
  AllowAll allowAll;
  Pipeline pipeline(std::move(router),
                    {std::make_shared<TimingStep>(clock, std::vector<RequestObserver*>{&observer}),
                     std::make_shared<RequestContextStep>(ids),
                     std::make_shared<LimitsStep>(RequestLimits{64, 10, {}}),
                     std::make_shared<AuthenticationStep>(anonymous),
                     std::make_shared<AuthorizationStep>(allowAll)},
                    clock, ids);
  auto r = request("GET", "/items/7");
  r.headers["x-correlation-id"] = "corr-1";
  r.headers["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const auto response = answer(pipeline, r);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(observer.seen, std::vector<std::string>{"/items/{id} 200 7"});
  bool echoed = false;
  for (const auto& [name, value] : response.headers) echoed |= name == "X-Correlation-Id";
  EXPECT_TRUE(echoed);

  auto tooLong = request("GET", "/items/" + std::string(100, 'x'));
  EXPECT_EQ(answer(pipeline, tooLong).status, 414);
  EXPECT_EQ(observer.seen.back(), "/items/{id} 414 0");
  auto badCorrelation = request("GET", "/items/7");
  badCorrelation.headers["x-correlation-id"] = "has space";
  EXPECT_EQ(answer(pipeline, badCorrelation).status, 400);
  EXPECT_EQ(observer.seen.back(), "/items/{id} 400 0");  // refused requests are observed too
}

TEST(Pipeline, RefusalsOfAuthenticationAndAuthorisation) {
  struct Refusing final : Authenticator {
    Result<Principal> authenticate(const Request& r) override {
      if (r.header("authorization")) return Principal{"user-1", {"customer"}};
      return invalid("Authorization", "a bearer token is required");
    }
  } authenticator;
  struct OnlyReads final : Authorizer {
    std::optional<Grant> authorize(const Principal& principal, const RouteOptions& route) override {
      if (route.permission != "read") return std::nullopt;
      return Grant{principal.roles.front(), true};
    }
  } authorizer;
  testing::ManualClock clock;
  RandomIdGenerator ids;
  Router router;
  router.add("GET", "/r",
             [](const Request&, RequestScope& scope, const Reply& reply) {
               EXPECT_EQ(scope.principal.actingRole, "customer");
               EXPECT_TRUE(scope.principal.ownOrdersOnly);
               reply(Response{});
             },
             {"read"});
  router.add("POST", "/w", answering(200), {"write"});
  router.add("GET", "/public", answering(200));  // no permission: no credentials needed
  Pipeline pipeline(std::move(router),
                    {std::make_shared<AuthenticationStep>(authenticator),
                     std::make_shared<AuthorizationStep>(authorizer)},
                    clock, ids);
  EXPECT_EQ(answer(pipeline, request("GET", "/r")).status, 401);
  auto withToken = [](Request r) {
    r.headers["authorization"] = "Bearer x";
    return r;
  };
  EXPECT_EQ(answer(pipeline, withToken(request("GET", "/r"))).status, 200);
  EXPECT_EQ(answer(pipeline, withToken(request("POST", "/w"))).status, 403);
  EXPECT_EQ(answer(pipeline, withToken(request("GET", "/nowhere"))).status, 404);
  // Unknown paths are not revealed to unauthenticated callers; public routes need nothing.
  EXPECT_EQ(answer(pipeline, request("GET", "/nowhere")).status, 401);
  EXPECT_EQ(answer(pipeline, request("GET", "/public")).status, 200);
}

TEST(Pipeline, TheExceptionBarrierAnswers500WithAnIncidentIdOnce) {
  testing::ManualClock clock;
  RandomIdGenerator ids;
  Router router;
  router.add("GET", "/throws", [](const Request&, RequestScope&, const Reply&) -> void {
    throw std::runtime_error("boom");
  });
  router.add("GET", "/throws-later", [](const Request&, RequestScope&, const Reply& reply) {
    // A completion on another thread, as the store's callbacks are.
    std::thread([callback =
                     reply.guard([](int) { throw std::logic_error("late boom"); })]() mutable {
      callback(1);
    }).detach();
  });
  router.add("GET", "/answers-then-throws", [](const Request&, RequestScope&, const Reply& reply) {
    reply(Response{});
    throw std::runtime_error("after the answer");
  });
  router.add("GET", "/throws-int",
             [](const Request&, RequestScope&, const Reply&) -> void { throw 42; });
  Pipeline pipeline(std::move(router), {}, clock, ids);
  for (const char* path : {"/throws", "/throws-later", "/throws-int"}) {
    const auto response = answer(pipeline, request("GET", path));
    EXPECT_EQ(response.status, 500) << path;
    EXPECT_EQ(response.contentType, "application/problem+json");
    const auto body = json::parse(response.body);
    EXPECT_EQ(body["type"], "https://order-service.example/problems/internal");
    ASSERT_FALSE(response.headers.empty());
    EXPECT_EQ(response.headers.back().first, "X-Incident-Id");
    EXPECT_NE(body["detail"].get<std::string>().find(response.headers.back().second),
              std::string::npos);
  }
  int answers = 0;
  pipeline.handle(request("GET", "/answers-then-throws"), [&answers](const Response& r) {
    ++answers;
    EXPECT_EQ(r.status, 200);
  });
  EXPECT_EQ(answers, 1);
}

TEST(Pipeline, AThrowingHandlerBehindTheRealServerGets500AndTheServerKeepsAnswering) {
  testing::ManualClock clock;
  RandomIdGenerator ids;
  Router router;
  router.add("GET", "/throws", [](const Request&, RequestScope&, const Reply&) -> void {
    throw std::runtime_error("boom");
  });
  router.add("GET", "/ok", answering(200));
  Pipeline pipeline(std::move(router), {std::make_shared<RequestContextStep>(ids)}, clock, ids);
  ServerOptions options;
  options.port = 0;
  Server server(options, [&pipeline](Request r, Responder respond) {
    pipeline.handle(std::move(r), std::move(respond));
  });
  server.start();
  orders::testing::HttpClient http("127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) {
    const auto failed = http.get("/throws");
    EXPECT_EQ(failed.status, 500);
    EXPECT_FALSE(failed.header("x-incident-id").empty());
    EXPECT_EQ(http.get("/ok").status, 200);
  }
  server.stop();
}

}  // namespace
}  // namespace orders::http
