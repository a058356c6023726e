#include "store/order_document.hpp"

#include <nlohmann/json.hpp>

#include "events/json_text.hpp"

namespace orders {
namespace {

using nlohmann::json;

std::int64_t millis(Timestamp t) {
  return t.time_since_epoch().count();
}
Timestamp fromMillis(std::int64_t ms) {
  return Timestamp(std::chrono::milliseconds(ms));
}

json optionalMillis(const std::optional<Timestamp>& t) {
  return t ? json(millis(*t)) : json(nullptr);
}
std::optional<Timestamp> readOptionalMillis(const json& value) {
  if (value.is_null()) return std::nullopt;
  return fromMillis(value.get<std::int64_t>());
}

}  // namespace

std::string encodeOrderDocument(const Order& order) {
  json items = json::array();
  for (const auto& item : order.items) {
    items.push_back({{"productId", item.productId},
                     {"quantity", item.quantity},
                     {"unitPrice", item.unitPrice}});
  }
  json shipments = json::array();
  for (const auto& shipment : order.shipments) {
    json lines = json::array();
    for (const auto& line : shipment.items) {
      lines.push_back({{"productId", line.productId}, {"quantity", line.quantity}});
    }
    shipments.push_back({{"id", shipment.id.str()},
                         {"carrier", shipment.carrier},
                         {"trackingNumber", shipment.trackingNumber},
                         {"items", std::move(lines)},
                         {"shippedAt", millis(shipment.shippedAt)},
                         {"deliveredAt", optionalMillis(shipment.deliveredAt)}});
  }
  json refunds = json::array();
  for (const auto& refund : order.refunds) {
    refunds.push_back({{"id", refund.id.str()},
                       {"amount", refund.amount},
                       {"reason", refund.reason},
                       {"processed", refund.status == RefundStatus::kProcessed},
                       {"refundTransactionId", refund.refundTransactionId},
                       {"requestedAt", millis(refund.requestedAt)},
                       {"processedAt", optionalMillis(refund.processedAt)}});
  }
  const json document = {
      {"id", order.id.str()},
      {"userId", order.userId.str()},
      {"status", toString(order.status)},
      {"currency", order.currency.code()},
      {"items", std::move(items)},
      {"customer", {{"name", order.customer.name}, {"email", order.customer.email}}},
      {"shippingAddress",
       {{"street", order.shippingAddress.street},
        {"city", order.shippingAddress.city},
        {"postalCode", order.shippingAddress.postalCode},
        {"country", order.shippingAddress.country}}},
      {"totalAmount", order.totalAmount},
      {"createdAt", millis(order.createdAt)},
      {"updatedAt", millis(order.updatedAt)},
      {"version", order.version},
      {"payment",
       {{"attempts", order.payment.attempts},
        {"paymentTransactionId", order.payment.paymentTransactionId},
        {"paidAmount", order.payment.paidAmount},
        {"paidAt", optionalMillis(order.payment.paidAt)},
        {"lastFailureCode", order.payment.lastFailureCode},
        {"lastFailureMessage", order.payment.lastFailureMessage}}},
      {"shipments", std::move(shipments)},
      {"refunds", std::move(refunds)},
      {"cancellationReason", order.cancellationReason},
  };
  return compactJson(document);
}

Result<Order> decodeOrderDocument(std::string_view text) {
  try {
    const json document = json::parse(text);
    Order order;
    order.id = OrderId(document.at("id").get<std::string>());
    order.userId = UserId(document.at("userId").get<std::string>());
    const auto status = parseOrderStatus(document.at("status").get<std::string>());
    if (!status) return Error{ErrorCode::kInternal, "stored order has an unknown status"};
    order.status = *status;
    auto currency = Currency::parse(document.at("currency").get<std::string>());
    if (!currency) return Error{ErrorCode::kInternal, "stored order has an invalid currency"};
    order.currency = currency.value();
    for (const auto& item : document.at("items")) {
      order.items.push_back({item.at("productId").get<std::string>(),
                             item.at("quantity").get<std::int64_t>(),
                             item.at("unitPrice").get<std::int64_t>()});
    }
    const auto& customer = document.at("customer");
    order.customer = {customer.at("name").get<std::string>(),
                      customer.at("email").get<std::string>()};
    const auto& address = document.at("shippingAddress");
    order.shippingAddress = {
        address.at("street").get<std::string>(), address.at("city").get<std::string>(),
        address.at("postalCode").get<std::string>(), address.at("country").get<std::string>()};
    order.totalAmount = document.at("totalAmount").get<std::int64_t>();
    order.createdAt = fromMillis(document.at("createdAt").get<std::int64_t>());
    order.updatedAt = fromMillis(document.at("updatedAt").get<std::int64_t>());
    order.version = document.at("version").get<std::int64_t>();
    const auto& payment = document.at("payment");
    order.payment.attempts = payment.at("attempts").get<int>();
    order.payment.paymentTransactionId = payment.at("paymentTransactionId").get<std::string>();
    order.payment.paidAmount = payment.at("paidAmount").get<std::int64_t>();
    order.payment.paidAt = readOptionalMillis(payment.at("paidAt"));
    order.payment.lastFailureCode = payment.at("lastFailureCode").get<std::string>();
    order.payment.lastFailureMessage = payment.at("lastFailureMessage").get<std::string>();
    for (const auto& s : document.at("shipments")) {
      Shipment shipment;
      shipment.id = ShipmentId(s.at("id").get<std::string>());
      shipment.carrier = s.at("carrier").get<std::string>();
      shipment.trackingNumber = s.at("trackingNumber").get<std::string>();
      for (const auto& line : s.at("items")) {
        shipment.items.push_back(
            {line.at("productId").get<std::string>(), line.at("quantity").get<std::int64_t>()});
      }
      shipment.shippedAt = fromMillis(s.at("shippedAt").get<std::int64_t>());
      shipment.deliveredAt = readOptionalMillis(s.at("deliveredAt"));
      order.shipments.push_back(std::move(shipment));
    }
    for (const auto& r : document.at("refunds")) {
      Refund refund;
      refund.id = RefundId(r.at("id").get<std::string>());
      refund.amount = r.at("amount").get<std::int64_t>();
      refund.reason = r.at("reason").get<std::string>();
      refund.status =
          r.at("processed").get<bool>() ? RefundStatus::kProcessed : RefundStatus::kRequested;
      refund.refundTransactionId = r.at("refundTransactionId").get<std::string>();
      refund.requestedAt = fromMillis(r.at("requestedAt").get<std::int64_t>());
      refund.processedAt = readOptionalMillis(r.at("processedAt"));
      order.refunds.push_back(std::move(refund));
    }
    order.cancellationReason = document.at("cancellationReason").get<std::string>();
    return order;
  } catch (const json::exception& e) {
    // The document is ours; a parse failure means corruption or a missing migration.
    return Error{ErrorCode::kInternal,
                 std::string("stored order document is unreadable: ") + e.what()};
  }
}

}  // namespace orders
