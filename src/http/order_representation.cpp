#include "http/order_representation.hpp"

#include "publishing/domain_json.hpp"

namespace orders::http {

using nlohmann::json;

nlohmann::json shipmentJson(const Shipment& shipment, const Order& order) {
  json items = json::array();
  for (const auto& line : shipment.items) {
    items.push_back({{"productId", line.productId}, {"quantity", line.quantity}});
  }
  json result = {
      {"shipmentId", shipment.id.str()}, {"orderId", order.id.str()},
      {"carrier", shipment.carrier},     {"trackingNumber", shipment.trackingNumber},
      {"items", std::move(items)},       {"shippedAt", formatIso8601(shipment.shippedAt)},
      {"deliveredAt", nullptr}};
  if (shipment.deliveredAt) result["deliveredAt"] = formatIso8601(*shipment.deliveredAt);
  return result;
}

nlohmann::json refundJson(const Refund& refund, const Order& order) {
  json result = {{"refundId", refund.id.str()},
                 {"orderId", order.id.str()},
                 {"amount", amountJson(refund.amount, order.currency)},
                 {"currency", order.currency.code()},
                 {"reason", refund.reason},
                 {"status", refund.status == RefundStatus::kProcessed ? "PROCESSED" : "REQUESTED"},
                 {"requestedAt", formatIso8601(refund.requestedAt)},
                 {"refundTransactionId", nullptr},
                 {"processedAt", nullptr}};
  if (refund.status == RefundStatus::kProcessed) {
    result["refundTransactionId"] = refund.refundTransactionId;
  }
  if (refund.processedAt) result["processedAt"] = formatIso8601(*refund.processedAt);
  return result;
}

nlohmann::json orderJson(const Order& order) {
  json shipments = json::array();
  for (const auto& shipment : order.shipments) shipments.push_back(shipmentJson(shipment, order));
  json refunds = json::array();
  for (const auto& refund : order.refunds) refunds.push_back(refundJson(refund, order));
  json payment = {{"attempts", order.payment.attempts},
                  {"paidAmount", amountJson(order.payment.paidAmount, order.currency)},
                  {"paymentTransactionId", nullptr},
                  {"paidAt", nullptr}};
  if (!order.payment.paymentTransactionId.empty()) {
    payment["paymentTransactionId"] = order.payment.paymentTransactionId;
  }
  if (order.payment.paidAt) payment["paidAt"] = formatIso8601(*order.payment.paidAt);
  if (!order.payment.lastFailureCode.empty()) {
    payment["lastFailure"] = {{"failureCode", order.payment.lastFailureCode},
                              {"message", order.payment.lastFailureMessage}};
  }
  json result = {
      {"orderId", order.id.str()},
      {"userId", order.userId.str()},
      {"status", std::string(toString(order.status))},
      {"currency", order.currency.code()},
      {"totalAmount", amountJson(order.totalAmount, order.currency)},
      {"itemCount", order.itemCount()},
      {"items", itemsJson(order)},
      {"customerDetails", toJson(order.customer)},
      {"shippingAddress", toJson(order.shippingAddress)},
      {"payment", std::move(payment)},
      {"shipments", std::move(shipments)},
      {"refunds", std::move(refunds)},
      {"refundableAmount", amountJson(order.refundableAmount(), order.currency)},
      {"createdAt", formatIso8601(order.createdAt)},
      {"updatedAt", formatIso8601(order.updatedAt)},
      {"version", order.version},
  };
  if (!order.cancellationReason.empty()) result["cancellationReason"] = order.cancellationReason;
  return result;
}

std::string etagOf(const Order& order) {
  return "\"" + std::to_string(order.version) + "\"";
}

}  // namespace orders::http
