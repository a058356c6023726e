#pragma once
// The standard steps of the request pipeline (http/pipeline.hpp), in the order the service
// chains them: timing, context, limits, authentication, authorisation. Each is small and owns one
// concern; the interfaces at the bottom are the hooks later issues implement (tokens, roles,
// metrics).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "http/json_body.hpp"
#include "http/pipeline.hpp"
#include "http/rate_limiter.hpp"

namespace orders::http {

/// Request id, X-Correlation-Id (validated, or made up so that the events of the request can be
/// traced together) and W3C trace context (continued from traceparent/tracestate, or new).
/// Echoes X-Correlation-Id and X-Request-Id on every answer.
class RequestContextStep final : public Middleware {
 public:
  explicit RequestContextStep(IdGenerator& ids) : ids_(ids) {}
  std::optional<Response> onRequest(const Request& request, RequestScope& scope) override;
  void onResponse(const Request& request, const RequestScope& scope, Response& response) override;

 private:
  IdGenerator& ids_;
};

/// What one request may ask of the API (docs/security.md, "Limits"). The Server enforces the
/// same target and header limits before it reads a body (http/server.hpp ConnectionLimits);
/// LimitsStep holds requests that reach the pipeline another way to them too.
struct RequestLimits {
  std::size_t maxTargetBytes = std::size_t{8} * 1024;  // longer targets: 414
  std::size_t maxHeaderFields = 100;                   // more distinct header fields: 431
  BodyLimits body;                                     // read by the command handlers
};

/// Limits on what one request may ask of the service before any work is done for it. (Body and
/// header bytes are bounded by the server itself, http/server.hpp.)
class LimitsStep final : public Middleware {
 public:
  explicit LimitsStep(RequestLimits limits) : limits_(std::move(limits)) {}
  std::optional<Response> onRequest(const Request& request, RequestScope& scope) override;

 private:
  RequestLimits limits_;
};

/// Per-client request rate (ClientRateLimiter): 429 with Retry-After beyond it. Runs after
/// authentication, so that it keys on the principal when there is one ("principal:<subject>"),
/// else on the peer's address ("address:<ip>"). Routes without a permission (/healthz, /readyz)
/// are not limited: a load balancer's probe answered 429 would take a healthy instance out.
class RateLimitStep final : public Middleware {
 public:
  explicit RateLimitStep(ClientRateLimiter& limiter) : limiter_(limiter) {}
  std::optional<Response> onRequest(const Request& request, RequestScope& scope) override;

 private:
  ClientRateLimiter& limiter_;
};

/// One finished request, for metrics and access logs.
struct CompletedRequest {
  std::string_view method;
  std::string_view routeTemplate;  // "/v1/orders/{orderId}" or "unmatched": low cardinality
  int status = 0;
  std::chrono::nanoseconds duration{};
  const RequestScope* scope = nullptr;
};

/// Told about every answered request, on the answering thread. Must be cheap and not throw.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void requestCompleted(const CompletedRequest& request) = 0;
};

/// The access log at debug level (route template, status, duration, ids; never bodies).
class AccessLog final : public RequestObserver {
 public:
  void requestCompleted(const CompletedRequest& request) override;
};

/// Times every request from the pipeline's start to its answer and tells the observers.
class TimingStep final : public Middleware {
 public:
  TimingStep(const Clock& clock, std::vector<RequestObserver*> observers)
      : clock_(clock), observers_(std::move(observers)) {}
  void onResponse(const Request& request, const RequestScope& scope, Response& response) override;

 private:
  const Clock& clock_;
  std::vector<RequestObserver*> observers_;
};

/// Establishes who calls. An Error answers 401 with its message (kInvalidArgument: the
/// credentials are missing or refused), or 503 (kUnavailable) when they cannot be checked now.
/// Called from every HTTP thread at once: implementations are thread-safe.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual Result<Principal> authenticate(const Request& request) = 0;
};

/// Without a security layer (component tests that build the API themselves): anonymous callers.
class AnonymousAuthenticator final : public Authenticator {
 public:
  Result<Principal> authenticate(const Request&) override { return Principal{}; }
};

/// Asks the Authenticator for every request except those of public routes (an empty
/// RouteOptions::permission, e.g. /healthz). Unmatched paths are authenticated too, so that an
/// unauthenticated caller learns nothing about which paths exist.
class AuthenticationStep final : public Middleware {
 public:
  explicit AuthenticationStep(Authenticator& authenticator) : authenticator_(authenticator) {}
  std::optional<Response> onRequest(const Request& request, RequestScope& scope) override;

 private:
  Authenticator& authenticator_;
};

/// What authorisation grants a principal on one route.
struct Grant {
  std::string role;            // the principal's role that grants it (Principal::actingRole)
  bool ownOrdersOnly = false;  // the role reaches only the subject's own orders
};

/// Decides whether a principal may use a route (RouteOptions::permission). Runs after routing,
/// so unknown paths stay 404 and known ones can be 403. Thread-safe.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  /// The grant, or nullopt: 403.
  virtual std::optional<Grant> authorize(const Principal& principal, const RouteOptions& route) = 0;
};

/// Without a security layer: everything is allowed, on every order.
class AllowAll final : public Authorizer {
 public:
  std::optional<Grant> authorize(const Principal&, const RouteOptions&) override { return Grant{}; }
};

class AuthorizationStep final : public Middleware {
 public:
  explicit AuthorizationStep(Authorizer& authorizer) : authorizer_(authorizer) {}
  std::optional<Response> onRequest(const Request& request, RequestScope& scope) override;

 private:
  Authorizer& authorizer_;
};

/// Printable ASCII, 1-200 characters: what X-Correlation-Id and Idempotency-Key may hold, so they
/// are safe to log and to put into AMQP headers.
bool isSafeToken(const std::string& value);

}  // namespace orders::http
