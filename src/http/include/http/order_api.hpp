#pragma once
// The HTTP API of the Order Service (/v1, docs/openapi.yaml): a routing table of small handlers,
// one per endpoint, behind the request pipeline (http/pipeline.hpp). Handlers translate between
// HTTP and one application call; the pipeline's steps do everything that is the same for all.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "application/order_service.hpp"
#include "http/json_body.hpp"
#include "http/message.hpp"
#include "http/middlewares.hpp"
#include "http/pipeline.hpp"
#include "publishing/schema_catalogue.hpp"

namespace orders::http {

/// What /readyz reports: `ready` false means "take this instance out of rotation" (503).
struct Readiness {
  bool ready = true;
  nlohmann::json details = nlohmann::json::object();
};
using ReadinessCheck = std::function<Readiness()>;

/// A metrics exposition for GET /metrics: the body and its Content-Type.
struct MetricsExposition {
  std::function<std::string()> scrape;
  std::string contentType;
};

/// The pipeline's hooks. Null hooks mean: anonymous callers, everything allowed, access log only
/// (component tests that compose the API themselves; the service always passes both).
struct ApiHooks {
  Authenticator* authenticator = nullptr;
  Authorizer* authorizer = nullptr;
  std::vector<RequestObserver*> observers;
  RequestLimits limits;
  /// Served on GET /metrics when set (through the same pipeline as every route: limits,
  /// authentication, authorisation; like the probes it needs no permission: it holds counts,
  /// never personal data); no such route otherwise.
  std::optional<MetricsExposition> metrics;
  ClientRateLimiter* rateLimiter = nullptr;  // null: no rate limit
  /// Adds more routes to the API's table (the operator API and page, admin/admin_api.hpp), behind
  /// the same pipeline; called once, while the API is constructed. Unset: none.
  std::function<void(Router&)> extraRoutes;
};

class OrderApi {
 public:
  /// All references must outlive the API. `schemas`, when given (and then outliving the API too),
  /// is served by GET /v1/schemas and GET /v1/schemas/{messageType}/{version}; without it those
  /// routes do not exist (404).
  OrderApi(OrderService& service, IdGenerator& ids, ReadinessCheck readiness, const Clock& clock,
           ApiHooks hooks = {}, const SchemaCatalogue* schemas = nullptr);

  /// The Server's handler (see http/server.hpp for the contract): the pipeline, then the route.
  void handle(Request request, Responder respond) const {
    pipeline_->handle(std::move(request), std::move(respond));
  }
  const Router& router() const { return pipeline_->router(); }

 private:
  Router routes();
  // One handler per endpoint (docs/openapi.yaml).
  void health(const Request&, RequestScope&, const Reply&) const;
  void readiness(const Request&, RequestScope&, const Reply&) const;
  void metrics(const Request&, RequestScope&, const Reply&) const;
  void listOrders(const Request&, RequestScope&, const Reply&) const;
  void getOrder(const Request&, RequestScope&, const Reply&) const;
  void getShipment(const Request&, RequestScope&, const Reply&) const;
  void getRefund(const Request&, RequestScope&, const Reply&) const;
  void createOrder(const Request&, RequestScope&, const Reply&) const;
  void patchOrder(const Request&, RequestScope&, const Reply&) const;
  void startPayment(const Request&, RequestScope&, const Reply&) const;
  void paymentResult(const Request&, RequestScope&, const Reply&) const;
  void changeStatus(const Request&, RequestScope&, const Reply&) const;
  void cancel(const Request&, RequestScope&, const Reply&) const;
  void ship(const Request&, RequestScope&, const Reply&) const;
  void deliver(const Request&, RequestScope&, const Reply&) const;
  void requestRefund(const Request&, RequestScope&, const Reply&) const;
  void refundProcessed(const Request&, RequestScope&, const Reply&) const;
  void listSchemas(const Request&, RequestScope&, const Reply&) const;
  void getSchema(const Request&, RequestScope&, const Reply&) const;

  /// A command: what the handler's body reader produced.
  struct Command {
    OrderAction action;
    /// How a successful change is answered (and recorded for idempotent replays); default: the
    /// order with 200 and its ETag.
    std::function<Response(const Change&)> render = {};
  };
  using CommandReader = std::function<Result<Command>(const JsonReader& body, RequestContext&)>;
  struct CommandSpec {
    bool onOrder = true;        // the path names an order ({orderId})
    bool bodyOptional = false;  // an empty body is an empty object (POST .../payment)
  };
  /// Everything a command shares: the order id, the body, the principal (initiatedBy, the owner
  /// a customer is limited to, the scope of Idempotency-Key), If-Match, then the application
  /// call and its answer.
  void runCommand(const Request& request, const RequestScope& scope, const Reply& reply,
                  CommandSpec spec, const CommandReader& read) const;

  OrderService& service_;
  IdGenerator& ids_;
  ReadinessCheck readiness_;
  std::optional<MetricsExposition> metrics_;
  BodyLimits bodyLimits_;
  const SchemaCatalogue* schemas_;
  std::function<void(Router&)> extraRoutes_;
  AnonymousAuthenticator anonymous_;
  AllowAll allowAll_;
  AccessLog accessLog_;
  std::unique_ptr<Pipeline> pipeline_;
};

}  // namespace orders::http
