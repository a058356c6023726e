#include "orders/status.hpp"

namespace orders {
namespace {

struct Transition {
  OrderStatus from;
  OrderStatus to;
  Trigger trigger;
};

using S = OrderStatus;
using T = Trigger;

// The order lifecycle. Keep docs/order-lifecycle.md in step with this table.
// A second partial shipment keeps PARTIALLY_SHIPPED (no status change), so it is not listed.
constexpr std::array<Transition, 19> kTransitions{{
    {S::kPendingPayment, S::kPaymentProcessing, T::kStartPayment},
    {S::kPendingPayment, S::kCancelled, T::kCancel},
    {S::kPaymentProcessing, S::kAwaitingFulfillment, T::kPaymentCompleted},
    {S::kPaymentProcessing, S::kPaymentFailed, T::kPaymentFailed},
    {S::kPaymentFailed, S::kPaymentProcessing, T::kStartPayment},
    {S::kPaymentFailed, S::kCancelled, T::kCancel},
    {S::kAwaitingFulfillment, S::kProcessing, T::kManual},
    {S::kAwaitingFulfillment, S::kAwaitingPickup, T::kManual},
    {S::kAwaitingFulfillment, S::kPartiallyShipped, T::kShipment},
    {S::kAwaitingFulfillment, S::kShipped, T::kShipment},
    {S::kAwaitingFulfillment, S::kCancelled, T::kCancel},
    {S::kProcessing, S::kAwaitingPickup, T::kManual},
    {S::kProcessing, S::kPartiallyShipped, T::kShipment},
    {S::kProcessing, S::kShipped, T::kShipment},
    {S::kProcessing, S::kCancelled, T::kCancel},
    {S::kAwaitingPickup, S::kDelivered, T::kDelivery},
    {S::kAwaitingPickup, S::kCancelled, T::kCancel},
    {S::kPartiallyShipped, S::kShipped, T::kShipment},
    // A partially shipped order whose shipped part arrived stays PARTIALLY_SHIPPED: DELIVERED is
    // reached only from SHIPPED (every shipment delivered) or AWAITING_PICKUP (picked up).
    {S::kShipped, S::kDelivered, T::kDelivery},
}};

}  // namespace

std::string_view toString(OrderStatus status) {
  switch (status) {
    case S::kPendingPayment:
      return "PENDING_PAYMENT";
    case S::kPaymentProcessing:
      return "PAYMENT_PROCESSING";
    case S::kPaymentFailed:
      return "PAYMENT_FAILED";
    case S::kAwaitingFulfillment:
      return "AWAITING_FULFILLMENT";
    case S::kProcessing:
      return "PROCESSING";
    case S::kAwaitingPickup:
      return "AWAITING_PICKUP";
    case S::kPartiallyShipped:
      return "PARTIALLY_SHIPPED";
    case S::kShipped:
      return "SHIPPED";
    case S::kDelivered:
      return "DELIVERED";
    case S::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

std::optional<OrderStatus> parseOrderStatus(std::string_view key) {
  for (OrderStatus status : kAllStatuses) {
    if (toString(status) == key) return status;
  }
  return std::nullopt;
}

std::string_view toString(Trigger trigger) {
  switch (trigger) {
    case T::kStartPayment:
      return "start-payment";
    case T::kPaymentCompleted:
      return "payment-completed";
    case T::kPaymentFailed:
      return "payment-failed";
    case T::kManual:
      return "status-change";
    case T::kCancel:
      return "cancel";
    case T::kShipment:
      return "shipment";
    case T::kDelivery:
      return "delivery";
  }
  return "unknown";
}

std::optional<Trigger> transitionTrigger(OrderStatus from, OrderStatus to) {
  for (const auto& t : kTransitions) {
    if (t.from == from && t.to == to) return t.trigger;
  }
  return std::nullopt;
}

bool triggerAllowedFrom(Trigger trigger, OrderStatus from) {
  for (const auto& t : kTransitions) {
    if (t.from == from && t.trigger == trigger) return true;
  }
  return false;
}

}  // namespace orders
