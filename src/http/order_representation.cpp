#include "http/order_representation.hpp"

#include "publishing/domain_json.hpp"

namespace orders::http {
namespace {

void writeOptionalTime(JsonWriter& out, const std::optional<Timestamp>& at) {
  if (at) {
    out.string(formatIso8601(*at));
  } else {
    out.null();
  }
}

}  // namespace

void writeShipment(JsonWriter& out, const Shipment& shipment, const Order& order) {
  out.beginObject();
  out.key("shipmentId").string(shipment.id.str());
  out.key("orderId").string(order.id.str());
  out.key("carrier").string(shipment.carrier);
  out.key("trackingNumber").string(shipment.trackingNumber);
  writeShipmentLines(out.key("items"), shipment.items);
  out.key("shippedAt").string(formatIso8601(shipment.shippedAt));
  writeOptionalTime(out.key("deliveredAt"), shipment.deliveredAt);
  out.endObject();
}

void writeRefund(JsonWriter& out, const Refund& refund, const Order& order) {
  const bool processed = refund.status == RefundStatus::kProcessed;
  out.beginObject();
  out.key("refundId").string(refund.id.str());
  out.key("orderId").string(order.id.str());
  writeAmount(out.key("amount"), refund.amount, order.currency);
  out.key("currency").string(order.currency.code());
  out.key("reason").string(refund.reason);
  out.key("status").string(processed ? "PROCESSED" : "REQUESTED");
  out.key("requestedAt").string(formatIso8601(refund.requestedAt));
  if (processed) {
    out.key("refundTransactionId").string(refund.refundTransactionId);
  } else {
    out.key("refundTransactionId").null();
  }
  writeOptionalTime(out.key("processedAt"), refund.processedAt);
  out.endObject();
}

void writeOrder(JsonWriter& out, const Order& order) {
  out.beginObject();
  out.key("orderId").string(order.id.str());
  out.key("userId").string(order.userId.str());
  out.key("status").string(toString(order.status));
  out.key("currency").string(order.currency.code());
  writeAmount(out.key("totalAmount"), order.totalAmount, order.currency);
  out.key("itemCount").integer(order.itemCount());
  writeItems(out.key("items"), order);
  writeCustomer(out.key("customerDetails"), order.customer);
  writeAddress(out.key("shippingAddress"), order.shippingAddress);

  out.key("payment").beginObject();
  out.key("attempts").integer(order.payment.attempts);
  writeAmount(out.key("paidAmount"), order.payment.paidAmount, order.currency);
  if (order.payment.paymentTransactionId.empty()) {
    out.key("paymentTransactionId").null();
  } else {
    out.key("paymentTransactionId").string(order.payment.paymentTransactionId);
  }
  writeOptionalTime(out.key("paidAt"), order.payment.paidAt);
  if (!order.payment.lastFailureCode.empty()) {
    out.key("lastFailure").beginObject();
    out.key("failureCode").string(order.payment.lastFailureCode);
    out.key("message").string(order.payment.lastFailureMessage);
    out.endObject();
  }
  out.endObject();

  out.key("shipments").beginArray();
  for (const auto& shipment : order.shipments) writeShipment(out, shipment, order);
  out.endArray();
  out.key("refunds").beginArray();
  for (const auto& refund : order.refunds) writeRefund(out, refund, order);
  out.endArray();
  writeAmount(out.key("refundableAmount"), order.refundableAmount(), order.currency);
  out.key("createdAt").string(formatIso8601(order.createdAt));
  out.key("updatedAt").string(formatIso8601(order.updatedAt));
  out.key("version").integer(order.version);
  if (!order.cancellationReason.empty()) {
    out.key("cancellationReason").string(order.cancellationReason);
  }
  out.endObject();
}

std::string etagOf(const Order& order) {
  return "\"" + std::to_string(order.version) + "\"";
}

}  // namespace orders::http
