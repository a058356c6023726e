#include "http/middlewares.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/log_fields.hpp"
#include "http/problem.hpp"

namespace orders::http {

bool isSafeToken(const std::string& value) {
  if (value.empty() || value.size() > 200) return false;
  for (char c : value) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::optional<Response> RequestContextStep::onRequest(const Request& request, RequestScope& scope) {
  scope.correlationId = request.header("x-correlation-id").value_or("");
  if (!scope.correlationId.empty() && !isSafeToken(scope.correlationId)) {
    scope.correlationId.clear();  // not echoed: it is not safe to
    return problemResponse(400, "invalid-header", "Invalid header",
                           "X-Correlation-Id must be 1-200 printable ASCII characters",
                           "X-Correlation-Id");
  }
  if (scope.correlationId.empty()) scope.correlationId = "corr-" + ids_.uuid();
  const auto traceparent = request.header("traceparent");
  const auto tracestate = request.header("tracestate");
  scope.trace =
      continueTrace(traceparent ? std::optional<std::string_view>(*traceparent) : std::nullopt,
                    tracestate ? std::optional<std::string_view>(*tracestate) : std::nullopt, ids_);
  return std::nullopt;
}

void RequestContextStep::onResponse(const Request&, const RequestScope& scope, Response& response) {
  if (!scope.correlationId.empty()) {
    response.headers.emplace_back("X-Correlation-Id", scope.correlationId);
  }
  response.headers.emplace_back("X-Request-Id", scope.requestId);
}

std::optional<Response> LimitsStep::onRequest(const Request& request, RequestScope&) {
  if (request.target.size() > limits_.maxTargetBytes) {
    return problemResponse(414, "uri-too-long", "URI too long",
                           "the request target exceeds " + std::to_string(limits_.maxTargetBytes) +
                               " bytes (limit --max-target-bytes)",
                           "");
  }
  if (request.headers.size() > limits_.maxHeaderFields) {
    return problemResponse(431, "header-fields-too-large", "Request header fields too large",
                           "more than " + std::to_string(limits_.maxHeaderFields) +
                               " header fields (limit --max-header-fields)",
                           "");
  }
  return std::nullopt;
}

std::optional<Response> RateLimitStep::onRequest(const Request& request, RequestScope& scope) {
  if (scope.route != nullptr && scope.route->options.permission.empty()) return std::nullopt;
  const std::string client = scope.principal.anonymous() ? "address:" + request.remoteAddress
                                                         : "principal:" + scope.principal.subject;
  const auto decision = limiter_.admit(client);
  if (decision.allowed) return std::nullopt;
  const auto& options = limiter_.options();
  char rate[64];
  std::snprintf(rate, sizeof rate, "%g requests per second (burst %g)", options.requestsPerSecond,
                options.burst);
  Response response = problemResponse(429, "too-many-requests", "Too many requests",
                                      std::string("this client sent more than ") + rate +
                                          " (limit --rate-limit); retry after " +
                                          std::to_string(decision.retryAfter.count()) + " s",
                                      "");
  response.headers.emplace_back("Retry-After", std::to_string(decision.retryAfter.count()));
  return response;
}

void AccessLog::requestCompleted(const CompletedRequest& request) {
  if (!spdlog::should_log(spdlog::level::debug)) return;
  const ScopedLogFields fields({.orderId = request.scope->param("orderId"),
                                .correlationId = request.scope->correlationId,
                                .traceId = request.scope->trace.traceId,
                                .spanId = request.scope->trace.spanId});
  spdlog::debug("http: {} {} {} {:.3f} ms (request {}, correlation {}, trace {})", request.method,
                request.routeTemplate, request.status,
                std::chrono::duration<double, std::milli>(request.duration).count(),
                request.scope->requestId, request.scope->correlationId,
                request.scope->trace.traceId);
}

void TimingStep::onResponse(const Request& request, const RequestScope& scope, Response& response) {
  const CompletedRequest completed{request.method, scope.routeTemplate(), response.status,
                                   clock_.steadyNow() - scope.started, &scope};
  for (auto* observer : observers_) observer->requestCompleted(completed);
}

std::optional<Response> AuthenticationStep::onRequest(const Request& request, RequestScope& scope) {
  if (scope.route != nullptr && scope.route->options.permission.empty()) return std::nullopt;
  auto principal = authenticator_.authenticate(request);
  if (!principal && principal.error().code == ErrorCode::kUnavailable) {
    return problemResponse(503, "unavailable", "Service unavailable", principal.error().message,
                           "");
  }
  if (!principal) {
    Response response = problemResponse(401, "unauthorized", "Unauthorized",
                                        principal.error().message, "Authorization");
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    return response;
  }
  scope.principal = std::move(principal).value();
  return std::nullopt;
}

std::optional<Response> AuthorizationStep::onRequest(const Request&, RequestScope& scope) {
  if (scope.route == nullptr || scope.route->options.permission.empty()) return std::nullopt;
  if (auto grant = authorizer_.authorize(scope.principal, scope.route->options)) {
    scope.principal.actingRole = std::move(grant->role);
    scope.principal.ownOrdersOnly = grant->ownOrdersOnly;
    return std::nullopt;
  }
  return problemResponse(
      403, "forbidden", "Forbidden",
      "this caller may not use " + scope.route->method + " " + scope.route->pathTemplate, "");
}

}  // namespace orders::http
