#pragma once
// The JSON bodies of the API's commands (docs/openapi.yaml), read into the domain's request
// types. Each reader checks shapes and types and names the field at fault; the domain actions
// check the rules (lengths, transitions, amounts against the order). No reader throws, whatever
// the document holds (fuzzed: tests/fuzz/request_bodies_fuzz.cpp).

#include <optional>
#include <string>

#include "common/result.hpp"
#include "http/json_body.hpp"
#include "orders/order_actions.hpp"

namespace orders::http {

/// POST /v1/orders. `userId` lower-cased (UUIDs are case-insensitive), unit prices converted
/// exactly into minor units of `currency`.
Result<NewOrder> readNewOrder(const JsonReader& body);
/// PATCH /v1/orders/{orderId}: only the parts present.
Result<OrderPatch> readOrderPatch(const JsonReader& body);
/// POST .../payment/result
Result<PaymentResult> readPaymentResult(const JsonReader& body);

/// POST .../status. Who asks is the authenticated principal, never a body field: an
/// `initiatedBy` in the body is ignored like any unknown field.
Result<StatusChangeRequest> readStatusChange(const JsonReader& body);
/// POST .../cancel: the reason.
Result<std::string> readCancellation(const JsonReader& body);
/// POST .../shipments
Result<ShipmentRequest> readShipment(const JsonReader& body);
/// POST .../deliveries
Result<DeliveryRequest> readDelivery(const JsonReader& body);

struct RefundBody {
  /// As written: its decimals depend on the order's currency, known once the order is loaded.
  std::string amount;
  std::string reason;
};
/// POST .../refunds
Result<RefundBody> readRefundRequest(const JsonReader& body);
/// POST .../refunds/{refundId}/processed: the refund transaction id.
Result<std::string> readRefundProcessed(const JsonReader& body);

}  // namespace orders::http
