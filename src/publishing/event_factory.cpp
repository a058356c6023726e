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

/// Writes the payload of one event from the order as it is after the change. The event's own
/// timestamp field (cancelledAt, shippedAt...) is the moment the event occurred, which is also
/// what the order recorded (the actions stamp both with the same ActionContext::now). Each
/// payload is one JSON object written with a JsonWriter; a failure (a bug: the event names what
/// the order does not hold) leaves a partial text, which the caller throws away.
class PayloadRenderer {
 public:
  PayloadRenderer(const Order& order, const DomainEvent& event)
      : order_(order), event_(event), at_(formatIso8601(event.occurredAt)) {}

  /// The payload at `version`: 1.0 of every type, and the newer majors of
  /// kOrderEventNewerMajors (PublishedVersions::parse only lets renderable versions through).
  Status render(std::string_view version, JsonWriter& out) const {
    if (version == kEventVersion) {
      return std::visit([&](const auto& data) { return (*this)(data, out); }, event_.data);
    }
    if (version == "2.0" && std::holds_alternative<OrderCreated>(event_.data)) {
      return createdV2(out);
    }
    return bug("no renderer for version " + std::string(version));
  }

  /// The event's occurredAt as ISO 8601: the envelope's timestamp and the payload's own.
  const std::string& occurredAt() const { return at_; }

 private:
  Status operator()(const OrderCreated&, JsonWriter& out) const {
    // Exactly the seed's OrderCreatedEvent example.
    base(out);
    out.key("orderDate").string(formatIso8601(order_.createdAt));
    out.key("status").string(toString(order_.status));
    amount(out.key("totalAmount"), order_.totalAmount);
    out.key("currency").string(order_.currency.code());
    out.key("itemCount").integer(order_.itemCount());
    writeCustomer(out.key("customerDetails"), order_.customer);
    writeAddress(out.key("shippingAddress"), order_.shippingAddress);
    writeItems(out.key("items"), order_);
    out.endObject();
    return okStatus();
  }

  /// 2.0 (schemas/events/OrderCreatedEvent/2.0.json): the 1.0 payload with every amount as a
  /// money object in integer minor units; the separate top-level currency is gone.
  Status createdV2(JsonWriter& out) const {
    base(out);
    out.key("orderDate").string(formatIso8601(order_.createdAt));
    out.key("status").string(toString(order_.status));
    money(out.key("totalAmount"), order_.totalAmount);
    out.key("itemCount").integer(order_.itemCount());
    writeCustomer(out.key("customerDetails"), order_.customer);
    writeAddress(out.key("shippingAddress"), order_.shippingAddress);
    out.key("items").beginArray();
    for (const auto& item : order_.items) {
      out.beginObject();
      out.key("productId").string(item.productId);
      out.key("quantity").integer(item.quantity);
      money(out.key("unitPrice"), item.unitPrice);
      out.endObject();
    }
    out.endArray();
    out.endObject();
    return okStatus();
  }

  Status operator()(const OrderUpdated& e, JsonWriter& out) const {
    // The new value of every changed field, and only of those: the event is the change.
    bool customer = false;
    bool address = false;
    for (const auto& field : e.changedFields) {
      if (field == "customerDetails") {
        customer = true;
      } else if (field == "shippingAddress") {
        address = true;
      } else {
        return bug("unknown changed field " + field);
      }
    }
    base(out);
    out.key("changedFields").beginArray();
    for (const auto& field : e.changedFields) out.string(field);
    out.endArray();
    if (customer) writeCustomer(out.key("customerDetails"), order_.customer);
    if (address) writeAddress(out.key("shippingAddress"), order_.shippingAddress);
    out.key("version").integer(order_.version);
    out.key("updatedAt").string(at_);
    return endWithInitiator(out);
  }

  Status operator()(const OrderStatusChanged& e, JsonWriter& out) const {
    // Exactly seed 003: optional fields are left out rather than sent empty.
    nlohmann::json context;
    if (e.changeContext) {
      try {
        context = changeContextJson(*e.changeContext);
      } catch (const std::invalid_argument& error) {
        return bug(error.what());
      }
    }
    base(out);
    out.key("previousStatus").string(toString(e.previousStatus));
    out.key("newStatus").string(toString(e.newStatus));
    out.key("statusChangeTimestamp").string(at_);
    if (!e.reason.empty()) out.key("reason").string(e.reason);
    if (!event_.initiatedBy.empty()) out.key("initiatedBy").string(event_.initiatedBy);
    if (e.changeContext) out.key("changeContext").json(context);
    out.key("currentOrderSummary").beginObject();
    amount(out.key("totalAmount"), order_.totalAmount);
    out.key("currency").string(order_.currency.code());
    out.key("itemCount").integer(order_.itemCount());
    out.endObject();
    out.endObject();
    return okStatus();
  }

  Status operator()(const OrderCancelled& e, JsonWriter& out) const {
    base(out);
    out.key("previousStatus").string(toString(e.previousStatus));
    out.key("reason").string(e.reason);
    out.key("cancelledAt").string(at_);
    // Cancelling never refunds by itself: a paid order needs a refund request of its own.
    out.key("refundRequired").boolean(order_.payment.paidAmount > 0);
    amount(out.key("refundableAmount"), order_.refundableAmount());
    out.key("currency").string(order_.currency.code());
    return endWithInitiator(out);
  }

  Status operator()(const OrderPaymentCompleted& e, JsonWriter& out) const {
    base(out);
    out.key("paymentTransactionId").string(e.paymentTransactionId);
    amount(out.key("amount"), order_.payment.paidAmount);
    out.key("currency").string(order_.currency.code());
    out.key("attempt").integer(order_.payment.attempts);
    out.key("paymentCompletedAt").string(at_);
    return endWithInitiator(out);
  }

  Status operator()(const OrderPaymentFailed& e, JsonWriter& out) const {
    base(out);
    out.key("paymentTransactionId").string(e.paymentTransactionId);
    out.key("failureCode").string(e.failureCode);
    if (!e.message.empty()) out.key("message").string(e.message);
    out.key("attempt").integer(e.attempt);
    amount(out.key("amount"), order_.totalAmount);
    out.key("currency").string(order_.currency.code());
    out.key("paymentFailedAt").string(at_);
    return endWithInitiator(out);
  }

  Status operator()(const OrderPaymentProcessingInitiated& e, JsonWriter& out) const {
    base(out);
    out.key("attempt").integer(e.attempt);
    amount(out.key("amount"), order_.totalAmount);
    out.key("currency").string(order_.currency.code());
    out.key("paymentInitiatedAt").string(at_);
    return endWithInitiator(out);
  }

  Status operator()(const OrderShipped& e, JsonWriter& out) const {
    const Shipment* shipment = order_.findShipment(e.shipmentId);
    if (shipment == nullptr) return bug("no shipment " + e.shipmentId.str() + " in the order");
    base(out);
    out.key("shipmentId").string(shipment->id.str());
    out.key("carrier").string(shipment->carrier);
    out.key("trackingNumber").string(shipment->trackingNumber);
    writeShipmentLines(out.key("items"), shipment->items);
    bool partial = false;
    for (const auto& item : order_.items) {
      if (order_.unshippedQuantity(item.productId) > 0) partial = true;
    }
    out.key("partial").boolean(partial);
    out.key("shippedAt").string(formatIso8601(shipment->shippedAt));
    return endWithInitiator(out);
  }

  Status operator()(const OrderDelivered& e, JsonWriter& out) const {
    const bool pickup = e.shipmentId.empty();
    if (!pickup && order_.findShipment(e.shipmentId) == nullptr) {
      return bug("no shipment " + e.shipmentId.str() + " in the order");
    }
    base(out);
    if (!pickup) out.key("shipmentId").string(e.shipmentId.str());
    out.key("pickup").boolean(pickup);
    out.key("deliveredAt").string(at_);
    out.key("allDelivered").boolean(order_.status == OrderStatus::kDelivered);
    return endWithInitiator(out);
  }

  Status operator()(const OrderRefundRequested& e, JsonWriter& out) const {
    const Refund* refund = order_.findRefund(e.refundId);
    if (refund == nullptr) return bug("no refund " + e.refundId.str() + " in the order");
    std::int64_t total = 0;
    for (const auto& r : order_.refunds) total += r.amount;
    base(out);
    out.key("refundId").string(refund->id.str());
    amount(out.key("amount"), refund->amount);
    out.key("currency").string(order_.currency.code());
    out.key("reason").string(refund->reason);
    amount(out.key("totalRefundedOrRequested"), total);
    out.key("refundRequestedAt").string(formatIso8601(refund->requestedAt));
    return endWithInitiator(out);
  }

  Status operator()(const OrderRefundProcessed& e, JsonWriter& out) const {
    const Refund* refund = order_.findRefund(e.refundId);
    if (refund == nullptr) return bug("no refund " + e.refundId.str() + " in the order");
    base(out);
    out.key("refundId").string(refund->id.str());
    out.key("refundTransactionId").string(refund->refundTransactionId);
    amount(out.key("amount"), refund->amount);
    out.key("currency").string(order_.currency.code());
    out.key("processedAt").string(refund->processedAt ? formatIso8601(*refund->processedAt) : at_);
    return endWithInitiator(out);
  }

  Status operator()(const OrderConfirmationNotificationRequested&, JsonWriter& out) const {
    base(out);
    writeCustomer(out.key("recipient"), order_.customer);
    out.key("channel").string("EMAIL");
    out.key("template").string("order-confirmation");
    out.key("orderDate").string(formatIso8601(order_.createdAt));
    out.key("orderSummary").beginObject();
    amount(out.key("totalAmount"), order_.totalAmount);
    out.key("currency").string(order_.currency.code());
    out.key("itemCount").integer(order_.itemCount());
    writeItems(out.key("items"), order_);
    out.endObject();
    out.key("requestedAt").string(at_);
    return endWithInitiator(out);
  }

  Status operator()(const OrderPlacedForAnalytics&, JsonWriter& out) const {
    // No personal data, by design and enforced by the schema: no name, e-mail or street
    // address, only the shipping country. Not even initiatedBy, which may name a user.
    base(out);
    out.key("orderDate").string(formatIso8601(order_.createdAt));
    out.key("status").string(toString(order_.status));
    amount(out.key("totalAmount"), order_.totalAmount);
    out.key("currency").string(order_.currency.code());
    out.key("itemCount").integer(order_.itemCount());
    out.key("shippingCountry").string(order_.shippingAddress.country);
    writeItems(out.key("items"), order_);
    out.endObject();
    return okStatus();
  }

  /// Opens the payload object with the members every payload starts with.
  void base(JsonWriter& out) const {
    out.beginObject();
    out.key("orderId").string(order_.id.str());
    out.key("userId").string(order_.userId.str());
  }

  void amount(JsonWriter& out, std::int64_t minor) const {
    writeAmount(out, minor, order_.currency);
  }
  void money(JsonWriter& out, std::int64_t minor) const {
    out.beginObject();
    out.key("amount").integer(minor);
    out.key("currency").string(order_.currency.code());
    out.endObject();
  }

  /// Closes the payload object, with initiatedBy last when the event names one.
  Status endWithInitiator(JsonWriter& out) const {
    if (!event_.initiatedBy.empty()) out.key("initiatedBy").string(event_.initiatedBy);
    out.endObject();
    return okStatus();
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

      // The envelope in StandardMessage<T>'s field order, the payload written in place.
      message.body.reserve(1024);
      JsonWriter out(message.body);
      out.beginObject();
      out.key("messageId").string(message.messageId);
      out.key("messageType").string(message.messageType);
      out.key("messageVersion").string(message.messageVersion);
      out.key("timestamp").string(renderer.occurredAt());
      out.key("source").string(message.source);
      if (!correlationId.empty()) out.key("correlationId").string(correlationId);
      out.key("partitionKey").string(message.partitionKey);
      if (auto written = renderer.render(version, out.key("payload")); !written) {
        return std::move(written).takeError();
      }
      out.endObject();

      // Our own output failing our own schema is a bug (or a schema change not matched by
      // code): refuse to write it, so no consumer ever sees a message that breaks the contract.
      // With sampling (EventFactoryOptions) only the first of each type and version and one in N
      // are checked. What is checked is the text that will be sent.
      if (shouldValidate(samplingSlot(event.data.index(), type, version))) {
        if (auto valid = schemas_.validateMessage(message.body); !valid) {
          return Error{ErrorCode::kInternal,
                       std::string(type) + " " + version +
                           " does not match its schema: " + valid.error().message,
                       valid.error().field};
        }
      }
      messages.push_back(std::move(message));
    }
  }
  return messages;
}

}  // namespace orders
