#pragma once
// The request pipeline: every request passes the same chain of small steps (middlewares) before
// its route's handler, in the manner of Envoy's HTTP filters and userver's middlewares:
//
//   timing/metrics -> request context -> limits -> authentication -> authorisation -> handler
//
// (timing first, so that requests refused by a later step are timed and counted too)
//
// Each step may answer early (the rest does not run); every response, early or not, passes the
// steps' onResponse on its way out in reverse order. Later issues plug into these steps
// (security: Authenticator/Authorizer; observability: RequestObserver) without touching handlers.
//
// One exception barrier sits at the edge: an exception escaping a step, a handler, or a callback
// the handler wrapped with Reply::guard becomes a 500 application/problem+json with an incident
// id that is also logged with the request's context. Nothing a client sends ends the process.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/trace_context.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace orders::http {

/// Who is calling, as authentication established it (http/bearer_auth.hpp: a verified JWT), and
/// what authorisation granted for the matched route. Empty (anonymous) when the API runs without
/// an Authenticator (component tests).
struct Principal {
  std::string subject{};             // e.g. a JWT's `sub`; a customer's userId
  std::vector<std::string> roles{};  // the known roles it holds: "customer", "operator", ...
  /// Set by authorisation: the role that grants the route, and whether that role reaches only
  /// the subject's own orders (a customer: anything else answers 404, as if it did not exist).
  std::string actingRole{};
  bool ownOrdersOnly = false;

  bool anonymous() const { return subject.empty(); }
};

/// What the pipeline knows about one request. Filled step by step: request id and start time by
/// the pipeline, correlation id and trace by the context step, principal by authentication,
/// route and params by the router. Handlers read it; it lives until the request is answered.
struct RequestScope {
  std::string requestId;  // made up for each request; logged, echoed as X-Request-Id
  std::string correlationId;
  TraceContext trace;
  Principal principal;
  const Route* route = nullptr;  // null: no route matched (404/405)
  std::map<std::string, std::string> params;
  SteadyTime started{};

  /// The route's decoded "{name}" parameter; empty if there is none.
  const std::string& param(const std::string& name) const;
  /// "/v1/orders/{orderId}" (low-cardinality, for metrics and logs), or "unmatched".
  std::string_view routeTemplate() const;
};

class Middleware {
 public:
  virtual ~Middleware() = default;
  /// Runs before the handler, in chain order (the route is already matched). An answer here
  /// ends the request: later steps' onRequest and the handler do not run.
  virtual std::optional<Response> onRequest(const Request&, RequestScope&) { return std::nullopt; }
  /// Runs for every response of a request whose onRequest ran here, in reverse chain order,
  /// on the thread that answers. Must not throw.
  virtual void onResponse(const Request&, const RequestScope&, Response&) {}
};

/// A handler's way to answer. Copyable; all copies share one request. The first call answers;
/// later calls are logged and dropped (a handler that answered and then threw is not answered
/// twice).
class Reply {
 public:
  void operator()(Response response) const;
  const RequestScope& scope() const;

  /// `callback` inside the exception barrier, for work that runs after the handler returned
  /// (a completion on another thread): if it throws, the request is answered 500.
  template <typename Callback>
  auto guard(Callback callback) const {
    return [reply = *this, callback = std::move(callback)](auto&&... args) mutable {
      reply.runGuarded("completion", [&] { callback(std::forward<decltype(args)>(args)...); });
    };
  }
  /// Runs `work`; an exception escaping it answers 500 with an incident id (logged with `phase`
  /// and the request's context).
  void runGuarded(std::string_view phase, const std::function<void()>& work) const;

  struct State;
  explicit Reply(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

class Pipeline {
 public:
  /// `router` holds the routes; `chain` the steps, run in this order. `clock` times requests,
  /// `ids` makes request and incident ids. References must outlive the pipeline.
  Pipeline(Router router, std::vector<std::shared_ptr<Middleware>> chain, const Clock& clock,
           IdGenerator& ids);

  /// The Server's handler (http/server.hpp): answers every request exactly once.
  void handle(Request request, Responder respond) const;

  const Router& router() const { return router_; }

 private:
  Router router_;
  std::vector<std::shared_ptr<Middleware>> chain_;
  const Clock& clock_;
  IdGenerator& ids_;
};

}  // namespace orders::http
