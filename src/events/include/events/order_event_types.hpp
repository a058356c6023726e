#pragma once
// The message types the Order Service publishes (= the routing keys on order.events), in the
// seed's order. A leaf header: the broker topology validates routing keys against it without
// depending on the domain, and orders/domain_event.hpp checks that every domain event has its
// name here (one per alternative of DomainEventData).

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

}  // namespace orders
