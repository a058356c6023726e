#include "orders/order_actions.hpp"

#include <algorithm>
#include <map>

#include "orders/validation.hpp"

namespace orders {
namespace {

inline constexpr std::size_t kMaxItems = 1000;
inline constexpr std::int64_t kMaxQuantity = 1'000'000;

Status checkCustomer(const CustomerDetails& customer, const std::string& prefix) {
  if (auto s = checkText(customer.name, prefix + "/name"); !s) return s;
  return checkEmail(customer.email, prefix + "/email");
}

Status checkAddress(const Address& address, const std::string& prefix) {
  if (auto s = checkText(address.street, prefix + "/street"); !s) return s;
  if (auto s = checkText(address.city, prefix + "/city"); !s) return s;
  if (auto s = checkText(address.postalCode, prefix + "/postalCode", 20); !s) return s;
  return checkCountry(address.country, prefix + "/country");
}

Error notAllowed(const Order& order, const std::string& action) {
  return Error{
      ErrorCode::kTransitionNotAllowed,
      "cannot " + action + ": the order is in status " + std::string(toString(order.status)), "",
      std::string(toString(order.status))};
}

DomainEvent event(DomainEventData data, const ActionContext& context) {
  return DomainEvent{std::move(data), context.now, context.initiatedBy};
}

/// The order after a change: one version later, touched now.
Order nextVersion(const Order& order, const ActionContext& context) {
  Order next = order;
  next.version += 1;
  next.updatedAt = context.now;
  return next;
}

DomainEvent statusChanged(OrderStatus from, OrderStatus to, const std::string& reason,
                          std::optional<ChangeContext> changeContext,
                          const ActionContext& context) {
  return event(OrderStatusChanged{from, to, reason, std::move(changeContext)}, context);
}

}  // namespace

Result<Change> createOrder(const NewOrder& request, const ActionContext& context) {
  if (auto s = checkUuid(request.userId, "userId"); !s) return s.error();
  auto currency = Currency::parse(request.currency);
  if (!currency) return currency.error();
  if (request.items.empty()) return invalid("items", "must contain at least one item");
  if (request.items.size() > kMaxItems) {
    return invalid("items", "must contain at most " + std::to_string(kMaxItems) + " items");
  }
  std::int64_t total = 0;
  for (std::size_t i = 0; i < request.items.size(); ++i) {
    const auto& item = request.items[i];
    const std::string prefix = "items/" + std::to_string(i);
    if (auto s = checkText(item.productId, prefix + "/productId", 100); !s) return s.error();
    if (item.quantity <= 0) return invalid(prefix + "/quantity", "must be greater than 0");
    if (item.quantity > kMaxQuantity) {
      return invalid(prefix + "/quantity", "must be at most " + std::to_string(kMaxQuantity));
    }
    if (item.unitPrice < 0) return invalid(prefix + "/unitPrice", "must not be negative");
    const auto line = multiplyMinor(item.unitPrice, item.quantity);
    const auto sum = line ? addMinor(total, *line) : std::nullopt;
    if (!sum) return invalid(prefix + "/unitPrice", "makes the order total too large");
    total = *sum;
  }
  if (auto s = checkCustomer(request.customer, "customerDetails"); !s) return s.error();
  if (auto s = checkAddress(request.shippingAddress, "shippingAddress"); !s) return s.error();

  Order order;
  // Time-ordered, so the stores' order indexes grow at one end (common/ids.hpp).
  order.id = OrderId(timeOrderedUuid(context.now, context.ids));
  order.userId = UserId(request.userId);
  order.status = OrderStatus::kPendingPayment;
  order.currency = currency.value();
  order.items = request.items;
  order.customer = request.customer;
  order.shippingAddress = request.shippingAddress;
  order.totalAmount = total;
  order.createdAt = context.now;
  order.updatedAt = context.now;
  order.version = 1;

  Change change{std::move(order), {}};
  change.events.push_back(event(OrderCreated{}, context));
  change.events.push_back(event(OrderConfirmationNotificationRequested{}, context));
  change.events.push_back(event(OrderPlacedForAnalytics{}, context));
  return change;
}

Result<Change> updateOrder(const Order& order, const OrderPatch& patch,
                           const ActionContext& context) {
  switch (order.status) {
    case OrderStatus::kPendingPayment:
    case OrderStatus::kPaymentProcessing:
    case OrderStatus::kPaymentFailed:
    case OrderStatus::kAwaitingFulfillment:
      break;
    default:
      return notAllowed(order, "update the order details");
  }
  if (!patch.customer && !patch.shippingAddress) {
    return invalid("", "give customerDetails and/or shippingAddress to update");
  }
  Order next = order;
  OrderUpdated updated;
  if (patch.customer) {
    if (auto s = checkCustomer(*patch.customer, "customerDetails"); !s) return s.error();
    if (!(*patch.customer == order.customer)) {
      next.customer = *patch.customer;
      updated.changedFields.push_back("customerDetails");
    }
  }
  if (patch.shippingAddress) {
    if (auto s = checkAddress(*patch.shippingAddress, "shippingAddress"); !s) return s.error();
    if (!(*patch.shippingAddress == order.shippingAddress)) {
      next.shippingAddress = *patch.shippingAddress;
      updated.changedFields.push_back("shippingAddress");
    }
  }
  // Sending what is already stored is not a change: no new version, no event.
  if (updated.changedFields.empty()) return Change{order, {}};
  next.version += 1;
  next.updatedAt = context.now;
  return Change{std::move(next), {event(std::move(updated), context)}};
}

Result<Change> startPayment(const Order& order, const ActionContext& context) {
  if (!triggerAllowedFrom(Trigger::kStartPayment, order.status)) {
    return notAllowed(order, "start payment");
  }
  Order next = nextVersion(order, context);
  next.status = OrderStatus::kPaymentProcessing;
  next.payment.attempts += 1;
  Change change{std::move(next), {}};
  change.events.push_back(statusChanged(order.status, OrderStatus::kPaymentProcessing,
                                        order.payment.attempts > 0 ? "Payment retried" : "",
                                        std::nullopt, context));
  change.events.push_back(
      event(OrderPaymentProcessingInitiated{change.order.payment.attempts}, context));
  return change;
}

Result<Change> applyPaymentResult(const Order& order, const PaymentResult& result,
                                  const ActionContext& context) {
  if (auto s = checkText(result.paymentTransactionId, "paymentTransactionId", 200); !s) {
    return s.error();
  }
  const bool completed = result.outcome == PaymentOutcome::kCompleted;
  if (!completed) {
    if (auto s = checkText(result.failureCode, "failureCode", 100); !s) return s.error();
  }
  if (auto s = checkOptionalText(result.message, "message"); !s) return s.error();
  const Trigger trigger = completed ? Trigger::kPaymentCompleted : Trigger::kPaymentFailed;
  if (!triggerAllowedFrom(trigger, order.status)) {
    return notAllowed(order, completed ? "complete the payment" : "fail the payment");
  }
  Order next = nextVersion(order, context);
  next.payment.paymentTransactionId = result.paymentTransactionId;
  Change change{{}, {}};
  if (completed) {
    next.status = OrderStatus::kAwaitingFulfillment;
    next.payment.paidAmount = order.totalAmount;
    next.payment.paidAt = context.now;
    ChangeContext changeContext{"", {{"paymentTransactionId", result.paymentTransactionId}}};
    change.events.push_back(statusChanged(
        order.status, next.status, "Payment successfully processed", changeContext, context));
    change.events.push_back(event(OrderPaymentCompleted{result.paymentTransactionId}, context));
  } else {
    next.status = OrderStatus::kPaymentFailed;
    next.payment.lastFailureCode = result.failureCode;
    next.payment.lastFailureMessage = result.message;
    ChangeContext changeContext{
        "",
        {{"paymentFailureCode", result.failureCode}, {"paymentGatewayMessage", result.message}}};
    change.events.push_back(
        statusChanged(order.status, next.status, "Payment failed", changeContext, context));
    change.events.push_back(
        event(OrderPaymentFailed{result.paymentTransactionId, result.failureCode, result.message,
                                 order.payment.attempts},
              context));
  }
  change.order = std::move(next);
  return change;
}

Result<Change> changeStatus(const Order& order, const StatusChangeRequest& request,
                            const ActionContext& context) {
  if (auto s = checkOptionalText(request.reason, "reason"); !s) return s.error();
  const auto trigger = transitionTrigger(order.status, request.newStatus);
  if (!trigger) {
    Error error = notAllowed(order, "move to " + std::string(toString(request.newStatus)));
    return error;
  }
  if (*trigger != Trigger::kManual) {
    Error error = notAllowed(order, "move to " + std::string(toString(request.newStatus)));
    error.message += " through the generic status endpoint; use the " +
                     std::string(toString(*trigger)) + " action instead";
    error.field = "newStatus";
    return error;
  }
  Order next = nextVersion(order, context);
  next.status = request.newStatus;
  return Change{std::move(next),
                {statusChanged(order.status, request.newStatus, request.reason,
                               request.changeContext, context)}};
}

Result<Change> cancelOrder(const Order& order, const std::string& reason,
                           const ActionContext& context) {
  if (auto s = checkText(reason, "reason"); !s) return s.error();
  if (!triggerAllowedFrom(Trigger::kCancel, order.status)) return notAllowed(order, "cancel");
  Order next = nextVersion(order, context);
  next.status = OrderStatus::kCancelled;
  next.cancellationReason = reason;
  Change change{std::move(next), {}};
  change.events.push_back(
      statusChanged(order.status, OrderStatus::kCancelled, reason, std::nullopt, context));
  change.events.push_back(event(OrderCancelled{order.status, reason}, context));
  return change;
}

Result<Change> shipOrder(const Order& order, const ShipmentRequest& request,
                         const ActionContext& context) {
  if (auto s = checkText(request.carrier, "carrier", 100); !s) return s.error();
  if (auto s = checkText(request.trackingNumber, "trackingNumber", 100); !s) return s.error();
  if (!triggerAllowedFrom(Trigger::kShipment, order.status)) return notAllowed(order, "ship");

  std::vector<ShipmentLine> lines;
  if (request.items.empty()) {
    std::map<std::string, bool> seen;
    for (const auto& item : order.items) {
      if (seen[item.productId]) continue;
      seen[item.productId] = true;
      const auto remaining = order.unshippedQuantity(item.productId);
      if (remaining > 0) lines.push_back({item.productId, remaining});
    }
    if (lines.empty()) return invalid("items", "every item of the order has already shipped");
  } else {
    std::map<std::string, std::int64_t> requested;
    for (std::size_t i = 0; i < request.items.size(); ++i) {
      const auto& line = request.items[i];
      const std::string prefix = "items/" + std::to_string(i);
      if (line.quantity <= 0) return invalid(prefix + "/quantity", "must be greater than 0");
      const bool inOrder =
          std::any_of(order.items.begin(), order.items.end(),
                      [&](const LineItem& item) { return item.productId == line.productId; });
      if (!inOrder) {
        return invalid(prefix + "/productId",
                       "product " + line.productId + " is not part of this order");
      }
      requested[line.productId] += line.quantity;
      const auto remaining = order.unshippedQuantity(line.productId);
      if (requested[line.productId] > remaining) {
        return invalid(prefix + "/quantity", "only " + std::to_string(remaining) + " of product " +
                                                 line.productId + " remain to be shipped");
      }
    }
    for (const auto& [productId, quantity] : requested) lines.push_back({productId, quantity});
  }

  Order next = nextVersion(order, context);
  Shipment shipment{ShipmentId(context.ids.uuid()),
                    request.carrier,
                    request.trackingNumber,
                    std::move(lines),
                    context.now,
                    std::nullopt};
  const ShipmentId shipmentId = shipment.id;
  next.shipments.push_back(std::move(shipment));
  bool everythingShipped = true;
  for (const auto& item : next.items) {
    if (next.unshippedQuantity(item.productId) > 0) everythingShipped = false;
  }
  next.status = everythingShipped ? OrderStatus::kShipped : OrderStatus::kPartiallyShipped;
  Change change{std::move(next), {}};
  if (change.order.status != order.status) {
    ChangeContext changeContext{"", {{"shipmentId", shipmentId.str()}}};
    change.events.push_back(
        statusChanged(order.status, change.order.status,
                      everythingShipped ? "All items shipped" : "Part of the order shipped",
                      changeContext, context));
  }
  change.events.push_back(event(OrderShipped{shipmentId}, context));
  return change;
}

Result<Change> deliverOrder(const Order& order, const DeliveryRequest& request,
                            const ActionContext& context) {
  if (request.pickup == request.shipmentId.has_value()) {
    return invalid("shipmentId", "give either a shipmentId or \"pickup\": true");
  }
  if (request.pickup) {
    if (!triggerAllowedFrom(Trigger::kDelivery, order.status) ||
        order.status != OrderStatus::kAwaitingPickup) {
      return notAllowed(order, "hand the order over (pickup)");
    }
    Order next = nextVersion(order, context);
    next.status = OrderStatus::kDelivered;
    Change change{std::move(next), {}};
    change.events.push_back(statusChanged(order.status, OrderStatus::kDelivered,
                                          "Picked up by the customer", std::nullopt, context));
    change.events.push_back(event(OrderDelivered{}, context));
    return change;
  }
  const Shipment* shipment = order.findShipment(*request.shipmentId);
  if (shipment == nullptr) {
    return Error{ErrorCode::kNotFound,
                 "no shipment " + request.shipmentId->str() + " in this order", "shipmentId"};
  }
  if (shipment->deliveredAt) {
    return Error{ErrorCode::kTransitionNotAllowed,
                 "shipment " + shipment->id.str() + " was already delivered", "shipmentId",
                 std::string(toString(order.status))};
  }
  Order next = nextVersion(order, context);
  bool allDelivered = true;
  for (auto& s : next.shipments) {
    if (s.id == shipment->id) s.deliveredAt = context.now;
    if (!s.deliveredAt) allDelivered = false;
  }
  Change change{std::move(next), {}};
  if (allDelivered && order.status == OrderStatus::kShipped) {
    change.order.status = OrderStatus::kDelivered;
    ChangeContext changeContext{"", {{"shipmentId", shipment->id.str()}}};
    change.events.push_back(statusChanged(order.status, OrderStatus::kDelivered,
                                          "All shipments delivered", changeContext, context));
  }
  change.events.push_back(event(OrderDelivered{shipment->id}, context));
  return change;
}

Result<Change> requestRefund(const Order& order, std::int64_t amount, const std::string& reason,
                             const ActionContext& context) {
  if (auto s = checkText(reason, "reason"); !s) return s.error();
  if (order.payment.paidAmount == 0) return notAllowed(order, "refund an unpaid order");
  if (amount <= 0) return invalid("amount", "must be greater than 0");
  const auto refundable = order.refundableAmount();
  if (amount > refundable) {
    return invalid("amount", "exceeds what can still be refunded (" +
                                 formatAmount(refundable, order.currency) + ")");
  }
  Order next = nextVersion(order, context);
  Refund refund{RefundId(context.ids.uuid()),
                amount,
                reason,
                RefundStatus::kRequested,
                "",
                context.now,
                std::nullopt};
  const RefundId refundId = refund.id;
  next.refunds.push_back(std::move(refund));
  return Change{std::move(next), {event(OrderRefundRequested{refundId}, context)}};
}

Result<Change> markRefundProcessed(const Order& order, const RefundId& refundId,
                                   const std::string& refundTransactionId,
                                   const ActionContext& context) {
  if (auto s = checkText(refundTransactionId, "refundTransactionId", 200); !s) return s.error();
  const Refund* refund = order.findRefund(refundId);
  if (refund == nullptr) {
    return Error{ErrorCode::kNotFound, "no refund " + refundId.str() + " in this order",
                 "refundId"};
  }
  if (refund->status == RefundStatus::kProcessed) {
    return Error{ErrorCode::kTransitionNotAllowed,
                 "refund " + refundId.str() + " was already processed", "refundId",
                 std::string(toString(order.status))};
  }
  Order next = nextVersion(order, context);
  for (auto& r : next.refunds) {
    if (r.id == refundId) {
      r.status = RefundStatus::kProcessed;
      r.refundTransactionId = refundTransactionId;
      r.processedAt = context.now;
    }
  }
  return Change{std::move(next), {event(OrderRefundProcessed{refundId}, context)}};
}

}  // namespace orders
