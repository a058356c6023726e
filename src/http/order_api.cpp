#include "http/order_api.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <utility>

#include "events/json_text.hpp"
#include "http/api_security.hpp"
#include "http/header_rules.hpp"
#include "http/json_body.hpp"
#include "http/order_representation.hpp"
#include "http/problem.hpp"
#include "http/request_bodies.hpp"
#include "http/schema_endpoints.hpp"

namespace orders::http {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxListLimit = 100;
constexpr std::size_t kDefaultListLimit = 20;

std::string toLowerAscii(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::string encodeStoredResponse(const Response& response) {
  json headers = json::array();
  for (const auto& [name, value] : response.headers) headers.push_back({name, value});
  return compactJson(json{{"status", response.status},
                          {"headers", std::move(headers)},
                          {"contentType", response.contentType},
                          {"body", response.body}});
}

/// The stored first answer of an idempotent request. It was written by encodeStoredResponse,
/// but it comes back from disk: a damaged record is a 500 for this request, never a crash.
Result<Response> decodeStoredResponse(const std::string& stored) {
  try {
    const json value = json::parse(stored);
    Response response;
    response.status = value.at("status").get<int>();
    for (const auto& header : value.at("headers")) {
      response.headers.emplace_back(header.at(0).get<std::string>(),
                                    header.at(1).get<std::string>());
    }
    response.contentType = value.at("contentType").get<std::string>();
    response.body = value.at("body").get<std::string>();
    return response;
  } catch (const json::exception& e) {
    return Error{ErrorCode::kInternal,
                 std::string("the stored answer of this idempotency key is damaged: ") + e.what()};
  }
}

/// A JSON answer whose body `write` writes (JsonWriter, no DOM). Invalid UTF-8 in what is
/// echoed back is replaced, never a reason to fail the answer.
template <typename Write>
Response writtenResponse(int status, Write&& write) {
  Response response;
  response.status = status;
  response.body = writeJson(std::forward<Write>(write), InvalidUtf8::kReplace);
  return response;
}

Response jsonResponse(int status, const json& body) {
  return writtenResponse(status, [&](JsonWriter& out) { out.json(body); });
}

Response orderResponse(int status, const Order& order) {
  Response response = writtenResponse(status, [&](JsonWriter& out) { writeOrder(out, order); });
  response.headers.emplace_back("ETag", etagOf(order));
  return response;
}

/// A created sub-resource: 201, its Location and the ETag of the order containing it.
template <typename Write>
Response createdResponse(Write&& write, const Order& order, const std::string& location) {
  Response response = writtenResponse(201, std::forward<Write>(write));
  response.headers.emplace_back("Location", location);
  response.headers.emplace_back("ETag", etagOf(order));
  return response;
}

Response invalidHeader(const std::string& header, const std::string& rule) {
  return problemResponse(400, "invalid-header", "Invalid header", header + " " + rule, header);
}

/// The path's {orderId:uuid} (the router matched only a UUID), in lower case as stored: UUIDs
/// are case-insensitive (RFC 9562).
OrderId orderIdOf(const RequestScope& scope) {
  return OrderId(toLowerAscii(scope.param("orderId")));
}

/// The user a customer acts for: its token's subject, lower-cased as user ids are stored.
std::optional<std::string> requiredOwnerOf(const Principal& principal) {
  if (!principal.ownOrdersOnly) return std::nullopt;
  return toLowerAscii(principal.subject);
}

/// A customer's view of an order: any other user's order does not exist for it (OWASP API1).
bool visibleTo(const RequestScope& scope, const Order& order) {
  const auto owner = requiredOwnerOf(scope.principal);
  return !owner || order.userId.str() == *owner;
}

Response noSuchOrder(const RequestScope& scope) {
  // The very answer of an order that does not exist (OrderService::getOrder's).
  return problemFromError(Error{ErrorCode::kNotFound, "no order " + orderIdOf(scope).str()});
}

/// The headers every command reads into its RequestContext, or the 400 to answer; and what the
/// principal decides: who acted (initiatedBy), the scope of the idempotency key, the owner.
std::optional<Response> readCommandHeaders(const Request& request, const RequestScope& scope,
                                           RequestContext& context) {
  context.correlationId = scope.correlationId;
  // Who acted is who authenticated, never what the request says about itself.
  context.initiatedBy = initiatedByOf(scope.principal);
  context.requiredOwner = requiredOwnerOf(scope.principal);
  if (auto key = request.header("idempotency-key")) {
    if (!isSafeToken(*key)) {
      return invalidHeader("Idempotency-Key", "must be 1-200 printable ASCII characters");
    }
    // Scoped by principal: two callers that pick the same key never see each other's answer.
    context.idempotencyKey =
        context.initiatedBy + "|" + request.method + " " + request.path + "|" + *key;
    context.requestFingerprint =
        sha256Hex(request.method + "\n" + request.path + "\n" + request.body);
  }
  if (auto ifMatch = request.header("if-match")) {
    const auto accepted = parseIfMatch(*ifMatch);
    if (!accepted) {
      return invalidHeader("If-Match", "must be \"*\" or a list of entity tags, like \"3\"");
    }
    if (!accepted->any) context.acceptedVersions = accepted->versions;
  }
  return std::nullopt;
}

}  // namespace

OrderApi::OrderApi(OrderService& service, IdGenerator& ids, ReadinessCheck readiness,
                   const Clock& clock, ApiHooks hooks, const SchemaCatalogue* schemas)
    : service_(service),
      ids_(ids),
      readiness_(std::move(readiness)),
      metrics_(hooks.metrics),
      bodyLimits_(hooks.limits.body),
      schemas_(schemas),
      extraRoutes_(std::move(hooks.extraRoutes)) {
  std::vector<RequestObserver*> observers = std::move(hooks.observers);
  observers.push_back(&accessLog_);
  std::vector<std::shared_ptr<Middleware>> chain{
      std::make_shared<TimingStep>(clock, std::move(observers)),
      std::make_shared<RequestContextStep>(ids),
      std::make_shared<LimitsStep>(hooks.limits),
      std::make_shared<AuthenticationStep>(hooks.authenticator ? *hooks.authenticator : anonymous_),
  };
  // After authentication: the rate is per principal when there is one.
  if (hooks.rateLimiter) chain.push_back(std::make_shared<RateLimitStep>(*hooks.rateLimiter));
  chain.push_back(
      std::make_shared<AuthorizationStep>(hooks.authorizer ? *hooks.authorizer : allowAll_));

  pipeline_ = std::make_unique<Pipeline>(routes(), std::move(chain), clock, ids);
}

Router OrderApi::routes() {
  Router router;
  auto add = [&](const char* method, const char* path, auto handler, const char* permission) {
    router.add(
        method, path,
        [this, handler](const Request& request, RequestScope& scope, const Reply& reply) {
          (this->*handler)(request, scope, reply);
        },
        RouteOptions{permission});
  };
  const std::string order = "/v1/orders/{orderId:uuid}";
  using namespace permission;                     // http/api_security.hpp: which roles hold which
  add("GET", "/healthz", &OrderApi::health, "");  // public: probes carry no credentials
  add("GET", "/readyz", &OrderApi::readiness, "");
  if (metrics_) add("GET", "/metrics", &OrderApi::metrics, "");
  add("GET", "/v1/orders", &OrderApi::listOrders, kListOrders);
  add("POST", "/v1/orders", &OrderApi::createOrder, kCreateOrder);
  add("GET", order.c_str(), &OrderApi::getOrder, kReadOrder);
  add("PATCH", order.c_str(), &OrderApi::patchOrder, kUpdateOrder);
  add("POST", (order + "/payment").c_str(), &OrderApi::startPayment, kStartPayment);
  add("POST", (order + "/payment/result").c_str(), &OrderApi::paymentResult, kReportPayment);
  add("POST", (order + "/status").c_str(), &OrderApi::changeStatus, kChangeStatus);
  add("POST", (order + "/cancel").c_str(), &OrderApi::cancel, kCancelOrder);
  add("POST", (order + "/shipments").c_str(), &OrderApi::ship, kShip);
  add("GET", (order + "/shipments/{shipmentId}").c_str(), &OrderApi::getShipment, kReadOrder);
  add("POST", (order + "/deliveries").c_str(), &OrderApi::deliver, kDeliver);
  add("POST", (order + "/refunds").c_str(), &OrderApi::requestRefund, kRequestRefund);
  add("GET", (order + "/refunds/{refundId}").c_str(), &OrderApi::getRefund, kReadOrder);
  add("POST", (order + "/refunds/{refundId}/processed").c_str(), &OrderApi::refundProcessed,
      kProcessRefund);
  if (schemas_ != nullptr) {
    // Public reads, like /healthz: consumers fetch the contracts without credentials.
    constexpr const char* kPublicRead = "";
    add("GET", "/v1/schemas", &OrderApi::listSchemas, kPublicRead);
    add("GET", "/v1/schemas/{messageType}/{version}", &OrderApi::getSchema, kPublicRead);
  }
  if (extraRoutes_) extraRoutes_(router);
  return router;
}

// --- Health -------------------------------------------------------------------------------------

void OrderApi::health(const Request&, RequestScope&, const Reply& reply) const {
  reply(jsonResponse(200, {{"status", "ok"}}));
}

void OrderApi::readiness(const Request&, RequestScope&, const Reply& reply) const {
  const Readiness readiness = readiness_ ? readiness_() : Readiness{};
  json body = readiness.details;
  if (!body.contains("status")) body["status"] = readiness.ready ? "ok" : "unavailable";
  reply(jsonResponse(readiness.ready ? 200 : 503, body));
}

void OrderApi::metrics(const Request&, RequestScope&, const Reply& reply) const {
  Response response;
  response.status = 200;
  response.contentType = metrics_->contentType;
  response.body = metrics_->scrape();
  reply(std::move(response));
}

// --- Event schemas (http/schema_endpoints.hpp) --------------------------------------------------

void OrderApi::listSchemas(const Request&, RequestScope&, const Reply& reply) const {
  reply(schemaCatalogueResponse(*schemas_));
}

void OrderApi::getSchema(const Request&, RequestScope& scope, const Reply& reply) const {
  reply(schemaResponse(*schemas_, scope.param("messageType"), scope.param("version")));
}

// --- Queries ------------------------------------------------------------------------------------

void OrderApi::listOrders(const Request& request, RequestScope& scope, const Reply& reply) const {
  auto invalidParameter = [&reply](const char* name, const std::string& rule) {
    reply(problemResponse(400, "invalid-parameter", "Invalid query parameter",
                          std::string(name) + " " + rule, name));
  };
  OrderQuery query;
  query.limit = kDefaultListLimit;
  if (auto it = request.query.find("userId"); it != request.query.end()) {
    if (!isUuid(it->second)) return invalidParameter("userId", "must be a UUID");
    query.userId = toLowerAscii(it->second);
  }
  if (auto it = request.query.find("status"); it != request.query.end()) {
    query.status = parseOrderStatus(it->second);
    if (!query.status) {
      return invalidParameter("status", "must be one of the order statuses, like PENDING_PAYMENT");
    }
  }
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    const std::string& text = it->second;
    std::size_t limit = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit == 0 ||
        limit > kMaxListLimit) {
      return invalidParameter("limit", "must be a whole number from 1 to 100");
    }
    query.limit = limit;
  }
  if (auto it = request.query.find("cursor"); it != request.query.end()) query.cursor = it->second;
  if (const auto owner = requiredOwnerOf(scope.principal)) {
    // A customer lists its own orders, whatever the query asks: another user's filter is the
    // empty intersection.
    if (query.userId && *query.userId != *owner) {
      return reply(jsonResponse(200, {{"orders", json::array()}, {"nextCursor", nullptr}}));
    }
    query.userId = *owner;
  }
  auto page = service_.listOrders(query);
  if (!page) {
    if (page.error().field == "cursor") return invalidParameter("cursor", page.error().message);
    return reply(problemFromError(page.error()));
  }
  reply(writtenResponse(200, [&](JsonWriter& out) {
    out.beginObject();
    out.key("orders").beginArray();
    for (const auto& order : page->orders) writeOrder(out, order);
    out.endArray();
    if (page->nextCursor.empty()) {
      out.key("nextCursor").null();
    } else {
      out.key("nextCursor").string(page->nextCursor);
    }
    out.endObject();
  }));
}

void OrderApi::getOrder(const Request& request, RequestScope& scope, const Reply& reply) const {
  auto stored = service_.getOrder(orderIdOf(scope));
  if (!stored) return reply(problemFromError(stored.error()));
  if (!visibleTo(scope, stored->order)) return reply(noSuchOrder(scope));
  const Order& order = stored->order;
  if (auto match = request.header("if-none-match"); match && *match == etagOf(order)) {
    Response notModified;
    notModified.status = 304;
    notModified.headers.emplace_back("ETag", etagOf(order));
    return reply(std::move(notModified));
  }
  reply(orderResponse(200, order));
}

void OrderApi::getShipment(const Request&, RequestScope& scope, const Reply& reply) const {
  auto stored = service_.getOrder(orderIdOf(scope));
  if (!stored) return reply(problemFromError(stored.error()));
  if (!visibleTo(scope, stored->order)) return reply(noSuchOrder(scope));
  const std::string& shipmentId = scope.param("shipmentId");
  if (const Shipment* shipment = stored->order.findShipment(ShipmentId(shipmentId))) {
    return reply(writtenResponse(
        200, [&](JsonWriter& out) { writeShipment(out, *shipment, stored->order); }));
  }
  reply(problemResponse(404, "not-found", "Not found", "no shipment " + shipmentId, "shipmentId"));
}

void OrderApi::getRefund(const Request&, RequestScope& scope, const Reply& reply) const {
  auto stored = service_.getOrder(orderIdOf(scope));
  if (!stored) return reply(problemFromError(stored.error()));
  if (!visibleTo(scope, stored->order)) return reply(noSuchOrder(scope));
  const std::string& refundId = scope.param("refundId");
  if (const Refund* refund = stored->order.findRefund(RefundId(refundId))) {
    return reply(
        writtenResponse(200, [&](JsonWriter& out) { writeRefund(out, *refund, stored->order); }));
  }
  reply(problemResponse(404, "not-found", "Not found", "no refund " + refundId, "refundId"));
}

// --- Commands -----------------------------------------------------------------------------------

void OrderApi::runCommand(const Request& request, const RequestScope& scope, const Reply& reply,
                          CommandSpec spec, const CommandReader& read) const {
  std::optional<OrderId> target;
  if (spec.onOrder) target = orderIdOf(scope);
  ExactJson body{json::object(), {}};
  if (!(spec.bodyOptional && request.body.empty())) {
    if (auto problem = parseJsonObject(request, body, bodyLimits_.maxJsonDepth)) {
      return reply(std::move(*problem));
    }
  }
  RequestContext context;
  context.trace = scope.trace;
  if (auto problem = readCommandHeaders(request, scope, context)) {
    return reply(std::move(*problem));
  }
  auto command = read(JsonReader(body, &bodyLimits_), context);
  if (!command) return reply(problemFromError(command.error()));
  if (!command->render) {
    command->render = [](const Change& change) { return orderResponse(200, change.order); };
  }
  auto render = std::move(command->render);
  auto recorder = [render](const Change& change) { return encodeStoredResponse(render(change)); };
  service_.execute(target, std::move(command->action), std::move(context), std::move(recorder),
                   reply.guard([reply, render](Result<CommandOutcome> outcome) {
                     if (!outcome) return reply(problemFromError(outcome.error()));
                     if (outcome->replayedResponse) {
                       auto replayed = decodeStoredResponse(*outcome->replayedResponse);
                       if (!replayed) return reply(problemFromError(replayed.error()));
                       replayed->headers.emplace_back("Idempotent-Replayed", "true");
                       return reply(std::move(replayed).value());
                     }
                     reply(render(outcome->change));
                   }));
}

void OrderApi::createOrder(const Request& request, RequestScope& scope, const Reply& reply) const {
  runCommand(request, scope, reply, {.onOrder = false},
             [](const JsonReader& body, RequestContext& context) -> Result<Command> {
               auto order = readNewOrder(body);
               if (!order) return order.error();
               // A customer orders for itself: the body's userId must be its token's subject.
               if (context.requiredOwner && order->userId != *context.requiredOwner) {
                 return Error{ErrorCode::kPermissionDenied,
                              "a customer creates orders only for itself: userId must be the "
                              "token's subject",
                              "userId"};
               }
               return Command{
                   [order = std::move(order).value()](const Order*, const ActionContext& ctx) {
                     return orders::createOrder(order, ctx);
                   },
                   [](const Change& change) {
                     Response response = orderResponse(201, change.order);
                     response.headers.emplace_back("Location",
                                                   "/v1/orders/" + change.order.id.str());
                     return response;
                   }};
             });
}

void OrderApi::patchOrder(const Request& request, RequestScope& scope, const Reply& reply) const {
  runCommand(request, scope, reply, {}, [](const JsonReader& body, RequestContext&) {
    auto patch = readOrderPatch(body);
    if (!patch) return Result<Command>(patch.error());
    return Result<Command>(
        Command{[patch = std::move(patch).value()](const Order* order, const ActionContext& ctx) {
          return updateOrder(*order, patch, ctx);
        }});
  });
}

void OrderApi::startPayment(const Request& request, RequestScope& scope, const Reply& reply) const {
  runCommand(request, scope, reply, {.bodyOptional = true},
             [](const JsonReader&, RequestContext&) -> Result<Command> {
               return Command{[](const Order* order, const ActionContext& ctx) {
                 return orders::startPayment(*order, ctx);
               }};
             });
}

void OrderApi::paymentResult(const Request& request, RequestScope& scope,
                             const Reply& reply) const {
  runCommand(
      request, scope, reply, {}, [](const JsonReader& body, RequestContext&) -> Result<Command> {
        auto result = readPaymentResult(body);
        if (!result) return result.error();
        return Command{
            [result = std::move(result).value()](const Order* order, const ActionContext& ctx) {
              return applyPaymentResult(*order, result, ctx);
            }};
      });
}

void OrderApi::changeStatus(const Request& request, RequestScope& scope, const Reply& reply) const {
  runCommand(
      request, scope, reply, {}, [](const JsonReader& body, RequestContext&) -> Result<Command> {
        auto status = readStatusChange(body);
        if (!status) return status.error();
        return Command{
            [change = std::move(status).value()](const Order* order, const ActionContext& ctx) {
              return orders::changeStatus(*order, change, ctx);
            }};
      });
}

void OrderApi::cancel(const Request& request, RequestScope& scope, const Reply& reply) const {
  runCommand(
      request, scope, reply, {}, [](const JsonReader& body, RequestContext&) -> Result<Command> {
        auto reason = readCancellation(body);
        if (!reason) return reason.error();
        return Command{
            [reason = std::move(reason).value()](const Order* order, const ActionContext& ctx) {
              return cancelOrder(*order, reason, ctx);
            }};
      });
}

void OrderApi::ship(const Request& request, RequestScope& scope, const Reply& reply) const {
  runCommand(
      request, scope, reply, {}, [](const JsonReader& body, RequestContext&) -> Result<Command> {
        auto shipment = readShipment(body);
        if (!shipment) return shipment.error();
        return Command{
            [shipment = std::move(shipment).value()](const Order* order, const ActionContext& ctx) {
              return shipOrder(*order, shipment, ctx);
            },
            [](const Change& change) {
              const Shipment& created = change.order.shipments.back();
              return createdResponse(
                  [&](JsonWriter& out) { writeShipment(out, created, change.order); }, change.order,
                  "/v1/orders/" + change.order.id.str() + "/shipments/" + created.id.str());
            }};
      });
}

void OrderApi::deliver(const Request& request, RequestScope& scope, const Reply& reply) const {
  runCommand(
      request, scope, reply, {}, [](const JsonReader& body, RequestContext&) -> Result<Command> {
        auto delivery = readDelivery(body);
        if (!delivery) return delivery.error();
        return Command{
            [delivery = std::move(delivery).value()](const Order* order, const ActionContext& ctx) {
              return deliverOrder(*order, delivery, ctx);
            }};
      });
}

void OrderApi::requestRefund(const Request& request, RequestScope& scope,
                             const Reply& reply) const {
  runCommand(
      request, scope, reply, {}, [](const JsonReader& body, RequestContext&) -> Result<Command> {
        auto refund = readRefundRequest(body);
        if (!refund) return refund.error();
        // The amount's decimals depend on the order's currency, known once it is loaded.
        return Command{
            [refund = std::move(refund).value()](const Order* order,
                                                 const ActionContext& ctx) -> Result<Change> {
              auto minor = toMinorUnits(refund.amount, order->currency, "amount");
              if (!minor) return minor.error();
              return orders::requestRefund(*order, minor.value(), refund.reason, ctx);
            },
            [](const Change& change) {
              const Refund& created = change.order.refunds.back();
              return createdResponse(
                  [&](JsonWriter& out) { writeRefund(out, created, change.order); }, change.order,
                  "/v1/orders/" + change.order.id.str() + "/refunds/" + created.id.str());
            }};
      });
}

void OrderApi::refundProcessed(const Request& request, RequestScope& scope,
                               const Reply& reply) const {
  const RefundId refundId(scope.param("refundId"));
  runCommand(request, scope, reply, {},
             [refundId](const JsonReader& body, RequestContext&) -> Result<Command> {
               auto transaction = readRefundProcessed(body);
               if (!transaction) return transaction.error();
               return Command{[refundId, transaction = std::move(transaction).value()](
                                  const Order* order, const ActionContext& ctx) {
                                return markRefundProcessed(*order, refundId, transaction, ctx);
                              },
                              [refundId](const Change& change) {
                                Response response = writtenResponse(200, [&](JsonWriter& out) {
                                  writeRefund(out, *change.order.findRefund(refundId),
                                              change.order);
                                });
                                response.headers.emplace_back("ETag", etagOf(change.order));
                                return response;
                              }};
             });
}

}  // namespace orders::http
