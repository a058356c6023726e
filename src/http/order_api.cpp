#include "http/order_api.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <vector>

#include "events/domain_json.hpp"
#include "http/header_rules.hpp"
#include "http/json_body.hpp"
#include "http/order_representation.hpp"
#include "http/problem.hpp"
#include "http/request_bodies.hpp"
#include "orders/validation.hpp"

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

/// Printable ASCII, at most 200 characters: what we accept in X-Correlation-Id and
/// Idempotency-Key, so they are safe to log and to put into AMQP headers.
bool isSafeToken(const std::string& value) {
  if (value.empty() || value.size() > 200) return false;
  for (char c : value) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string encodeStoredResponse(const Response& response) {
  json headers = json::array();
  for (const auto& [name, value] : response.headers) headers.push_back({name, value});
  return json{{"status", response.status},
              {"headers", std::move(headers)},
              {"contentType", response.contentType},
              {"body", response.body}}
      .dump();
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

Response jsonResponse(int status, const json& body) {
  Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return response;
}

Response orderResponse(int status, const Order& order) {
  Response response = jsonResponse(status, orderJson(order));
  response.headers.emplace_back("ETag", etagOf(order));
  return response;
}

}  // namespace

OrderApi::OrderApi(OrderService& service, IdGenerator& ids, ReadinessCheck readiness)
    : service_(service), ids_(ids), readiness_(std::move(readiness)) {}

void OrderApi::handle(Request request, Responder respond) {
  // Every answer echoes the correlation id; one is made up when the client sent none, so that
  // the events of this request can still be traced together.
  std::string correlationId = request.header("x-correlation-id").value_or("");
  if (!correlationId.empty() && !isSafeToken(correlationId)) {
    return respond(problemResponse(400, "invalid-header", "Invalid header",
                                   "X-Correlation-Id must be 1-200 printable ASCII characters",
                                   "X-Correlation-Id"));
  }
  if (correlationId.empty()) correlationId = "corr-" + ids_.uuid();
  Responder reply = [respond = std::move(respond), correlationId](Response response) {
    response.headers.emplace_back("X-Correlation-Id", correlationId);
    respond(std::move(response));
  };

  const auto& segments = request.segments;
  const std::string& method = request.method;
  auto methodNotAllowed = [&](const std::string& allow) {
    Response response = problemResponse(405, "method-not-allowed", "Method not allowed",
                                        method + " is not supported here", "");
    response.headers.emplace_back("Allow", allow);
    reply(std::move(response));
  };

  if (segments.size() == 1 && (segments[0] == "healthz" || segments[0] == "readyz")) {
    if (method != "GET") return methodNotAllowed("GET");
    if (segments[0] == "healthz") return reply(jsonResponse(200, {{"status", "ok"}}));
    const Readiness readiness = readiness_ ? readiness_() : Readiness{};
    json body = readiness.details;
    if (!body.contains("status")) body["status"] = readiness.ready ? "ok" : "unavailable";
    return reply(jsonResponse(readiness.ready ? 200 : 503, body));
  }
  if (segments.size() < 2 || segments[0] != "v1" || segments[1] != "orders") {
    return reply(
        problemResponse(404, "not-found", "Not found", "no such resource: " + request.path, ""));
  }

  // --- Queries ---------------------------------------------------------------------------------
  if (segments.size() == 2 && method == "GET") {
    OrderQuery query;
    query.limit = kDefaultListLimit;
    if (auto it = request.query.find("userId"); it != request.query.end()) {
      if (!isUuid(it->second)) {
        return reply(problemResponse(400, "invalid-parameter", "Invalid query parameter",
                                     "userId must be a UUID", "userId"));
      }
      query.userId = toLowerAscii(it->second);
    }
    if (auto it = request.query.find("status"); it != request.query.end()) {
      query.status = parseOrderStatus(it->second);
      if (!query.status) {
        return reply(problemResponse(
            400, "invalid-parameter", "Invalid query parameter",
            "status must be one of the order statuses, like PENDING_PAYMENT", "status"));
      }
    }
    if (auto it = request.query.find("limit"); it != request.query.end()) {
      std::size_t limit = 0;
      const auto [end, ec] =
          std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
      if (ec != std::errc() || end != it->second.data() + it->second.size() || limit == 0 ||
          limit > kMaxListLimit) {
        return reply(problemResponse(400, "invalid-parameter", "Invalid query parameter",
                                     "limit must be a whole number from 1 to 100", "limit"));
      }
      query.limit = limit;
    }
    if (auto it = request.query.find("cursor"); it != request.query.end())
      query.cursor = it->second;
    auto page = service_.listOrders(query);
    if (!page) {
      if (page.error().field == "cursor") {
        return reply(problemResponse(400, "invalid-parameter", "Invalid query parameter",
                                     "cursor " + page.error().message, "cursor"));
      }
      return reply(problemFromError(page.error()));
    }
    json orders = json::array();
    for (const auto& order : page->orders) orders.push_back(orderJson(order));
    json body = {{"orders", std::move(orders)},
                 {"nextCursor", page->nextCursor.empty() ? json(nullptr) : json(page->nextCursor)}};
    return reply(jsonResponse(200, body));
  }

  std::optional<OrderId> orderId;
  if (segments.size() >= 3) {
    if (!isUuid(segments[2])) {
      return reply(problemResponse(404, "not-found", "Not found",
                                   "no order " + segments[2] + " (order ids are UUIDs)",
                                   "orderId"));
    }
    // Ids are stored in lower case; UUIDs are case-insensitive (RFC 9562).
    orderId = OrderId(toLowerAscii(segments[2]));
  }
  const std::string subresource = segments.size() >= 4 ? segments[3] : "";

  if (method == "GET" &&
      (segments.size() == 3 ||
       (segments.size() == 5 && (subresource == "shipments" || subresource == "refunds")))) {
    auto stored = service_.getOrder(*orderId);
    if (!stored) return reply(problemFromError(stored.error()));
    const Order& order = stored->order;
    if (segments.size() == 3) {
      if (auto match = request.header("if-none-match"); match && *match == etagOf(order)) {
        Response notModified;
        notModified.status = 304;
        notModified.headers.emplace_back("ETag", etagOf(order));
        return reply(std::move(notModified));
      }
      return reply(orderResponse(200, order));
    }
    if (subresource == "shipments") {
      if (const Shipment* s = order.findShipment(ShipmentId(segments[4]))) {
        return reply(jsonResponse(200, shipmentJson(*s, order)));
      }
      return reply(problemResponse(404, "not-found", "Not found", "no shipment " + segments[4],
                                   "shipmentId"));
    }
    if (const Refund* r = order.findRefund(RefundId(segments[4]))) {
      return reply(jsonResponse(200, refundJson(*r, order)));
    }
    return reply(
        problemResponse(404, "not-found", "Not found", "no refund " + segments[4], "refundId"));
  }

  // --- Commands --------------------------------------------------------------------------------
  // Which action, and whether the path exists at all (405 vs 404).
  enum class Route {
    kNone,
    kCreate,
    kPatch,
    kPayment,
    kPaymentResult,
    kStatus,
    kCancel,
    kShipments,
    kDeliveries,
    kRefunds,
    kRefundProcessed
  };
  Route route = Route::kNone;
  std::string allow;
  if (segments.size() == 2) {
    route = method == "POST" ? Route::kCreate : Route::kNone, allow = "GET, POST";
  } else if (segments.size() == 3) {
    route = method == "PATCH" ? Route::kPatch : Route::kNone, allow = "GET, PATCH";
  } else if (segments.size() == 4 && subresource == "payment") {
    route = Route::kPayment, allow = "POST";
  } else if (segments.size() == 5 && subresource == "payment" && segments[4] == "result") {
    route = Route::kPaymentResult, allow = "POST";
  } else if (segments.size() == 4 && subresource == "status") {
    route = Route::kStatus, allow = "POST";
  } else if (segments.size() == 4 && subresource == "cancel") {
    route = Route::kCancel, allow = "POST";
  } else if (segments.size() == 4 && subresource == "shipments") {
    route = Route::kShipments, allow = "POST";
  } else if (segments.size() == 4 && subresource == "deliveries") {
    route = Route::kDeliveries, allow = "POST";
  } else if (segments.size() == 4 && subresource == "refunds") {
    route = Route::kRefunds, allow = "POST";
  } else if (segments.size() == 6 && subresource == "refunds" && segments[5] == "processed") {
    route = Route::kRefundProcessed, allow = "POST";
  } else if (segments.size() == 5 && (subresource == "shipments" || subresource == "refunds")) {
    return methodNotAllowed("GET");
  } else {
    return reply(
        problemResponse(404, "not-found", "Not found", "no such resource: " + request.path, ""));
  }
  const bool methodMatches = (route == Route::kCreate || route == Route::kPatch) ||
                             (route != Route::kNone && method == "POST");
  if (!methodMatches) return methodNotAllowed(allow);

  // Bodies: every command takes a JSON object, except POST /payment whose body may be empty.
  ExactJson body{json::object(), {}};
  const bool bodyOptional = route == Route::kPayment;
  if (!(bodyOptional && request.body.empty())) {
    if (auto problem = parseJsonObject(request, body)) return reply(std::move(*problem));
  }
  const JsonReader reader(body);

  RequestContext context;
  context.correlationId = correlationId;
  context.initiatedBy = request.header("x-initiated-by").value_or("");
  if (!context.initiatedBy.empty() && !isSafeToken(context.initiatedBy)) {
    return reply(problemResponse(400, "invalid-header", "Invalid header",
                                 "X-Initiated-By must be 1-200 printable ASCII characters",
                                 "X-Initiated-By"));
  }
  if (auto key = request.header("idempotency-key")) {
    if (!isSafeToken(*key)) {
      return reply(problemResponse(400, "invalid-header", "Invalid header",
                                   "Idempotency-Key must be 1-200 printable ASCII characters",
                                   "Idempotency-Key"));
    }
    context.idempotencyKey = method + " " + request.path + "|" + *key;
    context.requestFingerprint = sha256Hex(method + "\n" + request.path + "\n" + request.body);
  }
  if (auto ifMatch = request.header("if-match")) {
    const auto accepted = parseIfMatch(*ifMatch);
    if (!accepted) {
      return reply(problemResponse(400, "invalid-header", "Invalid header",
                                   "If-Match must be \"*\" or a list of entity tags, like \"3\"",
                                   "If-Match"));
    }
    if (!accepted->any) context.acceptedVersions = accepted->versions;
  }
  auto defaultActor = [&context](const char* actor) {
    if (context.initiatedBy.empty()) context.initiatedBy = actor;
  };

  OrderAction action;
  // How a successful change is answered (and recorded for idempotent replays).
  std::function<Response(const Change&)> render = [](const Change& change) {
    return orderResponse(200, change.order);
  };
  auto fail = [&reply](const Error& error) { reply(problemFromError(error)); };

  switch (route) {
    case Route::kNone:
      return;
    case Route::kCreate: {
      auto newOrder = readNewOrder(reader);
      if (!newOrder) return fail(newOrder.error());
      defaultActor(("user:" + newOrder->userId).c_str());
      action = [newOrder = std::move(newOrder).value()](const Order*, const ActionContext& ctx) {
        return createOrder(newOrder, ctx);
      };
      render = [](const Change& change) {
        Response response = orderResponse(201, change.order);
        response.headers.emplace_back("Location", "/v1/orders/" + change.order.id.str());
        return response;
      };
      break;
    }
    case Route::kPatch: {
      auto patch = readOrderPatch(reader);
      if (!patch) return fail(patch.error());
      defaultActor("api");
      action = [patch = std::move(patch).value()](const Order* order, const ActionContext& ctx) {
        return updateOrder(*order, patch, ctx);
      };
      break;
    }
    case Route::kPayment:
      defaultActor("api");
      action = [](const Order* order, const ActionContext& ctx) {
        return startPayment(*order, ctx);
      };
      break;
    case Route::kPaymentResult: {
      auto result = readPaymentResult(reader);
      if (!result) return fail(result.error());
      defaultActor("PaymentService");
      action = [result = std::move(result).value()](const Order* order, const ActionContext& ctx) {
        return applyPaymentResult(*order, result, ctx);
      };
      break;
    }
    case Route::kStatus: {
      auto status = readStatusChange(reader);
      if (!status) return fail(status.error());
      if (status->initiatedBy) context.initiatedBy = *status->initiatedBy;
      defaultActor("api");
      action = [change = std::move(status->change)](const Order* order, const ActionContext& ctx) {
        return changeStatus(*order, change, ctx);
      };
      break;
    }
    case Route::kCancel: {
      auto reason = readCancellation(reader);
      if (!reason) return fail(reason.error());
      defaultActor("api");
      action = [reason = std::move(reason).value()](const Order* order, const ActionContext& ctx) {
        return cancelOrder(*order, reason, ctx);
      };
      break;
    }
    case Route::kShipments: {
      auto shipment = readShipment(reader);
      if (!shipment) return fail(shipment.error());
      defaultActor("FulfillmentService");
      action = [shipment = std::move(shipment).value()](const Order* order,
                                                        const ActionContext& ctx) {
        return shipOrder(*order, shipment, ctx);
      };
      render = [](const Change& change) {
        const Shipment& created = change.order.shipments.back();
        Response response = jsonResponse(201, shipmentJson(created, change.order));
        response.headers.emplace_back(
            "Location", "/v1/orders/" + change.order.id.str() + "/shipments/" + created.id.str());
        response.headers.emplace_back("ETag", etagOf(change.order));
        return response;
      };
      break;
    }
    case Route::kDeliveries: {
      auto delivery = readDelivery(reader);
      if (!delivery) return fail(delivery.error());
      defaultActor("FulfillmentService");
      action = [delivery = std::move(delivery).value()](const Order* order,
                                                        const ActionContext& ctx) {
        return deliverOrder(*order, delivery, ctx);
      };
      break;
    }
    case Route::kRefunds: {
      auto refund = readRefundRequest(reader);
      if (!refund) return fail(refund.error());
      defaultActor("api");
      // The amount's decimals depend on the order's currency, known only once it is loaded.
      action = [refund = std::move(refund).value()](const Order* order,
                                                    const ActionContext& ctx) -> Result<Change> {
        auto minor = toMinorUnits(refund.amount, order->currency, "amount");
        if (!minor) return minor.error();
        return requestRefund(*order, minor.value(), refund.reason, ctx);
      };
      render = [](const Change& change) {
        const Refund& created = change.order.refunds.back();
        Response response = jsonResponse(201, refundJson(created, change.order));
        response.headers.emplace_back(
            "Location", "/v1/orders/" + change.order.id.str() + "/refunds/" + created.id.str());
        response.headers.emplace_back("ETag", etagOf(change.order));
        return response;
      };
      break;
    }
    case Route::kRefundProcessed: {
      auto transaction = readRefundProcessed(reader);
      if (!transaction) return fail(transaction.error());
      const RefundId refundId(segments[4]);
      defaultActor("PaymentService");
      action = [refundId, transaction = std::move(transaction).value()](const Order* order,
                                                                        const ActionContext& ctx) {
        return markRefundProcessed(*order, refundId, transaction, ctx);
      };
      render = [refundId](const Change& change) {
        Response response =
            jsonResponse(200, refundJson(*change.order.findRefund(refundId), change.order));
        response.headers.emplace_back("ETag", etagOf(change.order));
        return response;
      };
      break;
    }
  }

  auto recorder = [render](const Change& change) { return encodeStoredResponse(render(change)); };
  service_.execute(orderId, std::move(action), std::move(context), std::move(recorder),
                   [reply, render](Result<CommandOutcome> outcome) {
                     if (!outcome) return reply(problemFromError(outcome.error()));
                     if (outcome->replayedResponse) {
                       auto replayed = decodeStoredResponse(*outcome->replayedResponse);
                       if (!replayed) return reply(problemFromError(replayed.error()));
                       replayed->headers.emplace_back("Idempotent-Replayed", "true");
                       return reply(std::move(replayed).value());
                     }
                     reply(render(outcome->change));
                   });
}

}  // namespace orders::http
