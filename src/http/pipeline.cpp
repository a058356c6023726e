#include "http/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>
#include <typeinfo>

#include "common/log_fields.hpp"
#include "http/problem.hpp"

namespace orders::http {

struct Reply::State {
  Request request;
  RequestScope scope;
  Responder respond;
  const std::vector<std::shared_ptr<Middleware>>* chain = nullptr;
  std::size_t entered = 0;  // how many steps' onRequest ran: their onResponse runs
  std::atomic<bool> answered{false};
  IdGenerator* ids = nullptr;
};

namespace {

const std::string kEmpty;

}  // namespace

const std::string& RequestScope::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

std::string_view RequestScope::routeTemplate() const {
  return route ? std::string_view(route->pathTemplate) : std::string_view("unmatched");
}

void Reply::operator()(Response response) const {
  State& s = *state_;
  if (s.answered.exchange(true)) {
    spdlog::warn("http: {} {} ({}) answered twice; the second answer ({}) is dropped",
                 s.request.method, s.scope.routeTemplate(), s.scope.requestId, response.status);
    return;
  }
  for (std::size_t i = s.entered; i-- > 0;) {
    try {
      (*s.chain)[i]->onResponse(s.request, s.scope, response);
    } catch (const std::exception& e) {
      // A step that fails on the way out must not cost the client its answer.
      spdlog::error("http: a response step failed for {} ({}): {}", s.scope.routeTemplate(),
                    s.scope.requestId, e.what());
    }
  }
  s.respond(std::move(response));
}

const RequestScope& Reply::scope() const {
  return state_->scope;
}

void Reply::runGuarded(std::string_view phase, const std::function<void()>& work) const {
  std::string what;
  std::string type;
  try {
    work();
    return;
  } catch (const std::exception& e) {
    what = e.what();
    type = typeid(e).name();
  } catch (...) {
    what = "a non-standard exception";
    type = "unknown";
  }
  const State& s = *state_;
  const std::string incident = "inc-" + s.ids->uuid();
  const ScopedLogFields fields({.orderId = s.scope.param("orderId"),
                                .correlationId = s.scope.correlationId,
                                .traceId = s.scope.trace.traceId,
                                .spanId = s.scope.trace.spanId});
  spdlog::error(
      "http: incident {}: {} threw {} ({}) for {} {} (route {}, request {}, correlation {}, "
      "trace {})",
      incident, phase, what, type, s.request.method, s.request.path, s.scope.routeTemplate(),
      s.scope.requestId, s.scope.correlationId, s.scope.trace.traceId);
  if (s.answered) return;  // it threw after answering: the client has its answer already
  Response response =
      problemResponse(500, "internal", "Internal error",
                      "an unexpected error occurred; quote incident " + incident, "");
  response.headers.emplace_back("X-Incident-Id", incident);
  (*this)(std::move(response));
}

Pipeline::Pipeline(Router router, std::vector<std::shared_ptr<Middleware>> chain,
                   const Clock& clock, IdGenerator& ids)
    : router_(std::move(router)), chain_(std::move(chain)), clock_(clock), ids_(ids) {}

void Pipeline::handle(Request request, Responder respond) const {
  auto state = std::make_shared<Reply::State>();
  state->request = std::move(request);
  state->respond = std::move(respond);
  state->chain = &chain_;
  state->ids = &ids_;
  state->scope.started = clock_.steadyNow();
  state->scope.requestId = "req-" + ids_.uuid();
  const Reply reply(state);
  reply.runGuarded("request", [&] {
    const Request& req = state->request;
    RequestScope& scope = state->scope;
    auto match = router_.match(req.method, req.segments);
    scope.route = match.route;
    scope.params = std::move(match.params);
    // For log lines while the steps and the handler run on this thread; the context step fills
    // scope.trace in place, so the steps before it see an empty traceId.
    const ScopedTraceContext traced(scope.trace);
    for (const auto& step : chain_) {
      ++state->entered;
      if (auto early = step->onRequest(req, scope)) return reply(std::move(*early));
    }
    if (scope.route == nullptr) {
      if (match.allowed.empty()) {
        return reply(
            problemResponse(404, "not-found", "Not found", "no such resource: " + req.path, ""));
      }
      Response response = problemResponse(405, "method-not-allowed", "Method not allowed",
                                          req.method + " is not supported here", "");
      response.headers.emplace_back("Allow", match.allowed);
      return reply(std::move(response));
    }
    scope.route->handler(req, scope, reply);
  });
}

}  // namespace orders::http
