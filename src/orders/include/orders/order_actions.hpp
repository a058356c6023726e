#pragma once
// Every way an order can change. Each action either returns the order as it is afterwards plus
// the domain events the change produced, or an Error — in which case nothing changed. The actions
// are pure: persistence, envelopes and transport are the caller's business.

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "orders/domain_event.hpp"
#include "orders/order.hpp"

namespace orders {

/// Who acts and when; every event of one action shares it.
struct ActionContext {
  Timestamp now;
  std::string initiatedBy;  // e.g. "user:<id>", "PaymentService", "api"; empty = unknown
  IdGenerator& ids;
};

struct Change {
  Order order;  // the order after the change
  std::vector<DomainEvent> events;
};

struct NewOrder {
  std::string userId;
  std::string currency;
  std::vector<LineItem> items;  // unitPrice already in minor units of `currency`
  CustomerDetails customer;
  Address shippingAddress;
};

struct OrderPatch {
  std::optional<CustomerDetails> customer;
  std::optional<Address> shippingAddress;
};

enum class PaymentOutcome { kCompleted, kFailed };

struct PaymentResult {
  PaymentOutcome outcome;
  std::string paymentTransactionId;
  std::string failureCode;  // FAILED only
  std::string message;
};

struct StatusChangeRequest {
  OrderStatus newStatus;
  std::string reason;
  std::optional<ChangeContext> changeContext;
};

struct ShipmentRequest {
  std::string carrier;
  std::string trackingNumber;
  std::vector<ShipmentLine> items;  // empty = everything not yet shipped
};

struct DeliveryRequest {
  std::optional<ShipmentId> shipmentId;  // a shipment arrived, or...
  bool pickup = false;                   // ...the customer collected an AWAITING_PICKUP order
};

Result<Change> createOrder(const NewOrder& request, const ActionContext& context);
Result<Change> updateOrder(const Order& order, const OrderPatch& patch,
                           const ActionContext& context);
Result<Change> startPayment(const Order& order, const ActionContext& context);
Result<Change> applyPaymentResult(const Order& order, const PaymentResult& result,
                                  const ActionContext& context);
Result<Change> changeStatus(const Order& order, const StatusChangeRequest& request,
                            const ActionContext& context);
Result<Change> cancelOrder(const Order& order, const std::string& reason,
                           const ActionContext& context);
Result<Change> shipOrder(const Order& order, const ShipmentRequest& request,
                         const ActionContext& context);
Result<Change> deliverOrder(const Order& order, const DeliveryRequest& request,
                            const ActionContext& context);
Result<Change> requestRefund(const Order& order, std::int64_t amount, const std::string& reason,
                             const ActionContext& context);
Result<Change> markRefundProcessed(const Order& order, const RefundId& refundId,
                                   const std::string& refundTransactionId,
                                   const ActionContext& context);

}  // namespace orders
