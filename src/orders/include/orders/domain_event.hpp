#pragma once
// What happened to an order, in domain terms. The event library (src/events) turns each of these,
// together with the order as it is after the change, into a StandardMessage of the matching type.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "events/order_event_types.hpp"
#include "orders/status.hpp"

namespace orders {

/// The `changeContext` of a status change: string entries the domain adds itself (payment
/// transaction id, failure code...) on top of an optional JSON object a caller supplied. The
/// domain never looks inside the caller's object; the adapter that received it checked that it is
/// a JSON object, and the event library merges both when it renders the payload.
struct ChangeContext {
  std::string callerJsonObject;  // compact JSON object text, or empty
  std::vector<std::pair<std::string, std::string>> entries;
};

struct OrderCreated {};
struct OrderConfirmationNotificationRequested {};
struct OrderPlacedForAnalytics {};
struct OrderUpdated {
  std::vector<std::string> changedFields;  // "shippingAddress", "customerDetails"
};
struct OrderStatusChanged {
  OrderStatus previousStatus;
  OrderStatus newStatus;
  std::string reason;  // optional: empty when not given
  std::optional<ChangeContext> changeContext;
};
struct OrderPaymentProcessingInitiated {
  int attempt = 1;
};
struct OrderPaymentCompleted {
  std::string paymentTransactionId;
};
struct OrderPaymentFailed {
  std::string paymentTransactionId;
  std::string failureCode;
  std::string message;
  int attempt = 1;
};
struct OrderCancelled {
  OrderStatus previousStatus;
  std::string reason;
};
struct OrderShipped {
  ShipmentId shipmentId;
};
struct OrderDelivered {
  ShipmentId shipmentId;  // empty for a pickup
};
struct OrderRefundRequested {
  RefundId refundId;
};
struct OrderRefundProcessed {
  RefundId refundId;
};

using DomainEventData =
    std::variant<OrderCreated, OrderUpdated, OrderStatusChanged, OrderCancelled,
                 OrderPaymentCompleted, OrderPaymentFailed, OrderRefundRequested,
                 OrderRefundProcessed, OrderShipped, OrderDelivered,
                 OrderPaymentProcessingInitiated, OrderConfirmationNotificationRequested,
                 OrderPlacedForAnalytics>;

struct DomainEvent {
  DomainEventData data;
  Timestamp occurredAt;
  std::string initiatedBy;  // user id, service name or "system"; empty when unknown
};

/// The messageType of the event, e.g. "OrderStatusChangedEvent".
std::string_view messageTypeOf(const DomainEventData& data);

/// Every messageType of DomainEventData is listed in kOrderEventTypes
/// (events/order_event_types.hpp, the list the broker topology checks routing keys against): one
/// name per alternative.
static_assert(kOrderEventTypes.size() == std::variant_size_v<DomainEventData>,
              "kOrderEventTypes must name every alternative of DomainEventData");

}  // namespace orders
