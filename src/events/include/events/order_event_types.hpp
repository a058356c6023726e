#pragma once
// The message types the Order Service publishes (= the routing keys on order.events), in the
// seed's order. A leaf header: the broker topology validates routing keys against it without
// depending on the domain, and orders/domain_event.hpp checks that every domain event has its
// name here (one per alternative of DomainEventData). Every type is published at major 1; the
// majors beyond it that the service can publish as well are in kOrderEventNewerMajors.

#include <array>
#include <string_view>

namespace orders {

inline constexpr std::array<std::string_view, 13> kOrderEventTypes{
    "OrderCreatedEvent",
    "OrderUpdatedEvent",
    "OrderStatusChangedEvent",
    "OrderCancelledEvent",
    "OrderPaymentCompletedEvent",
    "OrderPaymentFailedEvent",
    "OrderRefundRequestedEvent",
    "OrderRefundProcessedEvent",
    "OrderShippedEvent",
    "OrderDeliveredEvent",
    "OrderPaymentProcessingInitiatedEvent",
    "OrderConfirmationNotificationRequestedEvent",
    "OrderPlacedForAnalyticsEvent",
};

/// A major version >= 2 of one of kOrderEventTypes, which the EventFactory can render next to
/// major 1 from the same domain event while consumers migrate (docs/events/versioning.md, "Two
/// major versions side by side"). Its routing key is "<messageType>.v<major>"
/// (events/routing_key.hpp).
struct OrderEventMajor {
  std::string_view messageType;
  int major = 0;
  std::string_view version;  // the exact "<major>.<minor>" the factory renders
};

inline constexpr std::array<OrderEventMajor, 1> kOrderEventNewerMajors{{
    {"OrderCreatedEvent", 2, "2.0"},  // money as {amount, currency} in integer minor units
}};

/// The messageVersion every type is published at unless configured otherwise.
inline constexpr std::string_view kOrderEventDefaultVersion = "1.0";

}  // namespace orders
