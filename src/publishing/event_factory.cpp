#include "publishing/event_factory.hpp"

#include <array>
#include <atomic>
#include <stdexcept>
#include <utility>
#include <variant>

#include "events/json_text.hpp"
#include "events/order_event_types.hpp"
#include "events/schema_catalog.hpp"
#include "publishing/domain_json.hpp"

namespace orders {
namespace {

using Json = nlohmann::json;

/// Renders the payload of one event from the order as it is after the change. The event's own
/// timestamp field (cancelledAt, shippedAt...) is the moment the event occurred, which is also
/// what the order recorded (the actions stamp both with the same ActionContext::now).
class PayloadRenderer {
 public:
  PayloadRenderer(const Order& order, const DomainEvent& event)
      : order_(order), event_(event), at_(formatIso8601(event.occurredAt)) {}

  Result<Json> operator()(const OrderCreated&) const {
    // Exactly the seed's OrderCreatedEvent example.
    return Json{{"orderId", order_.id.str()},
                {"userId", order_.userId.str()},
                {"orderDate", formatIso8601(order_.createdAt)},
                {"status", toString(order_.status)},
                {"totalAmount", amount(order_.totalAmount)},
                {"currency", order_.currency.code()},
                {"itemCount", order_.itemCount()},
                {"customerDetails", toJson(order_.customer)},
                {"shippingAddress", toJson(order_.shippingAddress)},
                {"items", itemsJson(order_)}};
  }

  /// 2.0 (schemas/events/OrderCreatedEvent/2.0.json): the 1.0 payload with every amount as a
  /// money object in integer minor units; the separate top-level currency is gone.
  Result<Json> createdV2() const {
    Json items = Json::array();
    for (const auto& item : order_.items) {
      items.push_back({{"productId", item.productId},
                       {"quantity", item.quantity},
                       {"unitPrice", money(item.unitPrice)}});
    }
    return Json{{"orderId", order_.id.str()},
                {"userId", order_.userId.str()},
                {"orderDate", formatIso8601(order_.createdAt)},
                {"status", toString(order_.status)},
                {"totalAmount", money(order_.totalAmount)},
                {"itemCount", order_.itemCount()},
                {"customerDetails", toJson(order_.customer)},
                {"shippingAddress", toJson(order_.shippingAddress)},
                {"items", std::move(items)}};
  }

  /// The payload at `version`: 1.0 of every type, and the newer majors of
  /// kOrderEventNewerMajors (PublishedVersions::parse only lets renderable versions through).
  Result<Json> render(std::string_view version) const {
    if (version == kEventVersion) return std::visit(*this, event_.data);
    if (version == "2.0" && std::holds_alternative<OrderCreated>(event_.data)) return createdV2();
    return bug("no renderer for version " + std::string(version));
  }

  Result<Json> operator()(const OrderUpdated& e) const {
    Json payload = base();
    payload["changedFields"] = e.changedFields;
    // The new value of every changed field, and only of those: the event is the change.
    for (const auto& field : e.changedFields) {
      if (field == "customerDetails") {
        payload["customerDetails"] = toJson(order_.customer);
      } else if (field == "shippingAddress") {
        payload["shippingAddress"] = toJson(order_.shippingAddress);
      } else {
        return bug("unknown changed field " + field);
      }
    }
    payload["version"] = order_.version;
    payload["updatedAt"] = at_;
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderStatusChanged& e) const {
    // Exactly seed 003: optional fields are left out rather than sent empty.
    Json payload = base();
    payload["previousStatus"] = toString(e.previousStatus);
    payload["newStatus"] = toString(e.newStatus);
    payload["statusChangeTimestamp"] = at_;
    if (!e.reason.empty()) payload["reason"] = e.reason;
    if (!event_.initiatedBy.empty()) payload["initiatedBy"] = event_.initiatedBy;
    if (e.changeContext) {
      try {
        payload["changeContext"] = changeContextJson(*e.changeContext);
      } catch (const std::invalid_argument& error) {
        return bug(error.what());
      }
    }
    payload["currentOrderSummary"] = {{"totalAmount", amount(order_.totalAmount)},
                                      {"currency", order_.currency.code()},
                                      {"itemCount", order_.itemCount()}};
    return payload;
  }

  Result<Json> operator()(const OrderCancelled& e) const {
    Json payload = base();
    payload["previousStatus"] = toString(e.previousStatus);
    payload["reason"] = e.reason;
    payload["cancelledAt"] = at_;
    // Cancelling never refunds by itself: a paid order needs a refund request of its own.
    payload["refundRequired"] = order_.payment.paidAmount > 0;
    payload["refundableAmount"] = amount(order_.refundableAmount());
    payload["currency"] = order_.currency.code();
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderPaymentCompleted& e) const {
    Json payload = base();
    payload["paymentTransactionId"] = e.paymentTransactionId;
    payload["amount"] = amount(order_.payment.paidAmount);
    payload["currency"] = order_.currency.code();
    payload["attempt"] = order_.payment.attempts;
    payload["paymentCompletedAt"] = at_;
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderPaymentFailed& e) const {
    Json payload = base();
    payload["paymentTransactionId"] = e.paymentTransactionId;
    payload["failureCode"] = e.failureCode;
    if (!e.message.empty()) payload["message"] = e.message;
    payload["attempt"] = e.attempt;
    payload["amount"] = amount(order_.totalAmount);
    payload["currency"] = order_.currency.code();
    payload["paymentFailedAt"] = at_;
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderPaymentProcessingInitiated& e) const {
    Json payload = base();
    payload["attempt"] = e.attempt;
    payload["amount"] = amount(order_.totalAmount);
    payload["currency"] = order_.currency.code();
    payload["paymentInitiatedAt"] = at_;
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderShipped& e) const {
    const Shipment* shipment = order_.findShipment(e.shipmentId);
    if (shipment == nullptr) return bug("no shipment " + e.shipmentId.str() + " in the order");
    Json items = Json::array();
    for (const auto& line : shipment->items) {
      items.push_back({{"productId", line.productId}, {"quantity", line.quantity}});
    }
    Json payload = base();
    payload["shipmentId"] = shipment->id.str();
    payload["carrier"] = shipment->carrier;
    payload["trackingNumber"] = shipment->trackingNumber;
    payload["items"] = std::move(items);
    bool partial = false;
    for (const auto& item : order_.items) {
      if (order_.unshippedQuantity(item.productId) > 0) partial = true;
    }
    payload["partial"] = partial;
    payload["shippedAt"] = formatIso8601(shipment->shippedAt);
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderDelivered& e) const {
    Json payload = base();
    const bool pickup = e.shipmentId.empty();
    if (!pickup) {
      if (order_.findShipment(e.shipmentId) == nullptr) {
        return bug("no shipment " + e.shipmentId.str() + " in the order");
      }
      payload["shipmentId"] = e.shipmentId.str();
    }
    payload["pickup"] = pickup;
    payload["deliveredAt"] = at_;
    payload["allDelivered"] = order_.status == OrderStatus::kDelivered;
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderRefundRequested& e) const {
    const Refund* refund = order_.findRefund(e.refundId);
    if (refund == nullptr) return bug("no refund " + e.refundId.str() + " in the order");
    std::int64_t total = 0;
    for (const auto& r : order_.refunds) total += r.amount;
    Json payload = base();
    payload["refundId"] = refund->id.str();
    payload["amount"] = amount(refund->amount);
    payload["currency"] = order_.currency.code();
    payload["reason"] = refund->reason;
    payload["totalRefundedOrRequested"] = amount(total);
    payload["refundRequestedAt"] = formatIso8601(refund->requestedAt);
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderRefundProcessed& e) const {
    const Refund* refund = order_.findRefund(e.refundId);
    if (refund == nullptr) return bug("no refund " + e.refundId.str() + " in the order");
    Json payload = base();
    payload["refundId"] = refund->id.str();
    payload["refundTransactionId"] = refund->refundTransactionId;
    payload["amount"] = amount(refund->amount);
    payload["currency"] = order_.currency.code();
    payload["processedAt"] = refund->processedAt ? formatIso8601(*refund->processedAt) : at_;
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderConfirmationNotificationRequested&) const {
    Json payload = base();
    payload["recipient"] = toJson(order_.customer);
    payload["channel"] = "EMAIL";
    payload["template"] = "order-confirmation";
    payload["orderDate"] = formatIso8601(order_.createdAt);
    payload["orderSummary"] = {{"totalAmount", amount(order_.totalAmount)},
                               {"currency", order_.currency.code()},
                               {"itemCount", order_.itemCount()},
                               {"items", itemsJson(order_)}};
    payload["requestedAt"] = at_;
    return withInitiator(std::move(payload));
  }

  Result<Json> operator()(const OrderPlacedForAnalytics&) const {
    // No personal data, by design and enforced by the schema: no name, e-mail or street
    // address, only the shipping country. Not even initiatedBy, which may name a user.
    return Json{{"orderId", order_.id.str()},
                {"userId", order_.userId.str()},
                {"orderDate", formatIso8601(order_.createdAt)},
                {"status", toString(order_.status)},
                {"totalAmount", amount(order_.totalAmount)},
                {"currency", order_.currency.code()},
                {"itemCount", order_.itemCount()},
                {"shippingCountry", order_.shippingAddress.country},
                {"items", itemsJson(order_)}};
  }

 private:
  Json base() const { return Json{{"orderId", order_.id.str()}, {"userId", order_.userId.str()}}; }

  Json amount(std::int64_t minor) const { return amountJson(minor, order_.currency); }
  Json money(std::int64_t minor) const {
    return Json{{"amount", minor}, {"currency", order_.currency.code()}};
  }

  Json withInitiator(Json payload) const {
    if (!event_.initiatedBy.empty()) payload["initiatedBy"] = event_.initiatedBy;
    return payload;
  }

  Error bug(const std::string& what) const {
    return Error{ErrorCode::kInternal, std::string(messageTypeOf(event_.data)) + " of order " +
                                           order_.id.str() + ": " + what};
  }

  const Order& order_;
  const DomainEvent& event_;
  std::string at_;
};

}  // namespace

Status checkPublishedSchemas(const SchemaRegistry& schemas, const PublishedVersions& versions) {
  for (const auto type : kPublishedMessageTypes) {
    for (const auto& version : versions.of(type)) {
      auto parsed = parseSchemaVersion(version);
      if (!parsed || !schemas.knows(type, parsed->major)) {
        return Error{ErrorCode::kInvalidArgument,
                     "no schema for " + std::string(type) + " version " + version +
                         " (expected events/" + std::string(type) + "/" + version + ".json)",
                     std::string(type)};
      }
    }
  }
  return okStatus();
}

/// Which types had an event validated, and how many events were rendered: shared by the threads
/// that render, so atomics (relaxed: the sampling needs no ordering).
struct EventFactory::Sampling {
  std::array<std::atomic<bool>, kOrderEventTypes.size() + kOrderEventNewerMajors.size()>
      validatedOnce{};
  std::atomic<std::uint64_t> rendered{0};
};

EventFactory::EventFactory(const SchemaRegistry& schemas, IdGenerator& ids,
                           EventFactoryOptions options)
    : schemas_(schemas),
      ids_(ids),
      options_(std::move(options)),
      sampling_(std::make_unique<Sampling>()) {
#ifndef NDEBUG
  options_.validateOneIn = 1;  // debug builds check everything
#endif
  if (options_.validateOneIn == 0) options_.validateOneIn = 1;
}

EventFactory::~EventFactory() = default;
EventFactory::EventFactory(EventFactory&&) noexcept = default;

bool EventFactory::shouldValidate(std::size_t slot) const {
  if (options_.validateOneIn <= 1) return true;
  if (!sampling_->validatedOnce[slot].load(std::memory_order_relaxed) &&
      !sampling_->validatedOnce[slot].exchange(true, std::memory_order_relaxed))
    return true;
  return sampling_->rendered.fetch_add(1, std::memory_order_relaxed) % options_.validateOneIn == 0;
}

namespace {

/// The sampling slot of a type and version: the type's index for 1.0 (kOrderEventTypes order is
/// DomainEventData's), one slot after those for each newer major.
std::size_t samplingSlot(std::size_t typeIndex, std::string_view type, std::string_view version) {
  if (version == kEventVersion) return typeIndex;
  for (std::size_t k = 0; k < kOrderEventNewerMajors.size(); ++k) {
    if (kOrderEventNewerMajors[k].messageType == type &&
        kOrderEventNewerMajors[k].version == version)
      return kOrderEventTypes.size() + k;
  }
  return typeIndex;  // not reached: PublishedVersions only holds renderable versions
}

}  // namespace

Result<std::vector<EncodedMessage>> EventFactory::render(const Change& change,
                                                         std::int64_t firstSequence,
                                                         const std::string& correlationId,
                                                         const TraceContext& cause) const {
  std::vector<EncodedMessage> messages;
  messages.reserve(change.events.size());
  for (std::size_t i = 0; i < change.events.size(); ++i) {
    const DomainEvent& event = change.events[i];
    const std::string_view type = messageTypeOf(event.data);
    const PayloadRenderer renderer(change.order, event);
    for (const auto& version : options_.versions.of(type)) {
      auto payload = renderer.render(version);
      if (!payload) return std::move(payload).takeError();

      EncodedMessage message;
      message.messageId = "msg-" + ids_.uuid();
      message.messageType = type;
      message.messageVersion = version;
      message.partitionKey = change.order.id.str();
      // One number per domain event: every version of it carries the same one.
      message.sequence = firstSequence + static_cast<std::int64_t>(i);
      message.correlationId = correlationId;
      message.source = kEventSource;
      message.timestamp = event.occurredAt;
      if (!cause.traceId.empty()) {
        message.traceparent = childSpan(cause, ids_).traceparent();
        message.tracestate = cause.traceState;
      }

      Json envelope{{"messageId", message.messageId},
                    {"messageType", message.messageType},
                    {"messageVersion", message.messageVersion},
                    {"timestamp", formatIso8601(event.occurredAt)},
                    {"source", message.source},
                    {"partitionKey", message.partitionKey},
                    {"payload", std::move(payload).value()}};
      if (!correlationId.empty()) envelope["correlationId"] = correlationId;

      // Our own output failing our own schema is a bug (or a schema change not matched by
      // code): refuse to write it, so no consumer ever sees a message that breaks the contract.
      // With sampling (EventFactoryOptions) only the first of each type and version and one in N
      // are checked.
      if (shouldValidate(samplingSlot(event.data.index(), type, version))) {
        if (auto valid = schemas_.validateMessage(envelope); !valid) {
          return Error{ErrorCode::kInternal,
                       std::string(type) + " " + version +
                           " does not match its schema: " + valid.error().message,
                       valid.error().field};
        }
      }
      message.body = compactJson(envelope);
      messages.push_back(std::move(message));
    }
  }
  return messages;
}

}  // namespace orders
