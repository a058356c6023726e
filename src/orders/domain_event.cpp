#include "orders/domain_event.hpp"

namespace orders {
namespace {

struct TypeName {
  std::string_view operator()(const OrderCreated&) const { return "OrderCreatedEvent"; }
  std::string_view operator()(const OrderUpdated&) const { return "OrderUpdatedEvent"; }
  std::string_view operator()(const OrderStatusChanged&) const { return "OrderStatusChangedEvent"; }
  std::string_view operator()(const OrderCancelled&) const { return "OrderCancelledEvent"; }
  std::string_view operator()(const OrderPaymentCompleted&) const {
    return "OrderPaymentCompletedEvent";
  }
  std::string_view operator()(const OrderPaymentFailed&) const { return "OrderPaymentFailedEvent"; }
  std::string_view operator()(const OrderRefundRequested&) const {
    return "OrderRefundRequestedEvent";
  }
  std::string_view operator()(const OrderRefundProcessed&) const {
    return "OrderRefundProcessedEvent";
  }
  std::string_view operator()(const OrderShipped&) const { return "OrderShippedEvent"; }
  std::string_view operator()(const OrderDelivered&) const { return "OrderDeliveredEvent"; }
  std::string_view operator()(const OrderPaymentProcessingInitiated&) const {
    return "OrderPaymentProcessingInitiatedEvent";
  }
  std::string_view operator()(const OrderConfirmationNotificationRequested&) const {
    return "OrderConfirmationNotificationRequestedEvent";
  }
  std::string_view operator()(const OrderPlacedForAnalytics&) const {
    return "OrderPlacedForAnalyticsEvent";
  }
};

}  // namespace

std::string_view messageTypeOf(const DomainEventData& data) {
  return std::visit(TypeName{}, data);
}

}  // namespace orders
