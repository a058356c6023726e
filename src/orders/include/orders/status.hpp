#pragma once
// Order statuses and the one transition table of the order lifecycle (docs/order-lifecycle.md).

#include <array>
#include <optional>
#include <string_view>

namespace orders {

enum class OrderStatus {
  kPendingPayment,
  kPaymentProcessing,
  kPaymentFailed,
  kAwaitingFulfillment,
  kProcessing,
  kAwaitingPickup,
  kPartiallyShipped,
  kShipped,
  kDelivered,
  kCancelled,
};

inline constexpr std::array<OrderStatus, 10> kAllStatuses{
    OrderStatus::kPendingPayment,   OrderStatus::kPaymentProcessing,
    OrderStatus::kPaymentFailed,    OrderStatus::kAwaitingFulfillment,
    OrderStatus::kProcessing,       OrderStatus::kAwaitingPickup,
    OrderStatus::kPartiallyShipped, OrderStatus::kShipped,
    OrderStatus::kDelivered,        OrderStatus::kCancelled,
};

/// The machine-readable key, e.g. "PENDING_PAYMENT".
std::string_view toString(OrderStatus status);
std::optional<OrderStatus> parseOrderStatus(std::string_view key);

/// What causes a transition. Each allowed transition has exactly one trigger, so the generic
/// status endpoint cannot be used to, say, mark an order SHIPPED without a shipment.
enum class Trigger {
  kStartPayment,      // POST /payment
  kPaymentCompleted,  // payment result COMPLETED
  kPaymentFailed,     // payment result FAILED
  kManual,            // POST /status, for transitions without a dedicated action
  kCancel,            // POST /cancel
  kShipment,          // POST /shipments (partial or complete)
  kDelivery,          // POST /deliveries (last shipment delivered, or picked up)
};

std::string_view toString(Trigger trigger);

/// The trigger that moves an order from `from` to `to`, or nullopt when the lifecycle does not
/// allow that transition at all. This is the single source of truth of the lifecycle.
std::optional<Trigger> transitionTrigger(OrderStatus from, OrderStatus to);

/// True when `trigger` may move an order out of `from` (to any status).
bool triggerAllowedFrom(Trigger trigger, OrderStatus from);

}  // namespace orders
