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

void writeOptionalMillis(JsonWriter& out, const std::optional<Timestamp>& t) {
  if (t) {
    out.integer(millis(*t));
  } else {
    out.null();
  }
}
std::optional<Timestamp> readOptionalMillis(const json& value) {
  if (value.is_null()) return std::nullopt;
  return fromMillis(value.get<std::int64_t>());
}

}  // namespace

// Written on every change of an order, so without a DOM (JsonWriter, issue 10). The reader below
// looks members up by name, so their order here is free.
std::string encodeOrderDocument(const Order& order) {
  return writeJson([&](JsonWriter& out) {
    out.beginObject();
    out.key("id").string(order.id.str());
    out.key("userId").string(order.userId.str());
    out.key("status").string(toString(order.status));
    out.key("currency").string(order.currency.code());
    out.key("items").beginArray();
    for (const auto& item : order.items) {
      out.beginObject();
      out.key("productId").string(item.productId);
      out.key("quantity").integer(item.quantity);
      out.key("unitPrice").integer(item.unitPrice);
      out.endObject();
    }
    out.endArray();
    out.key("customer").beginObject();
    out.key("name").string(order.customer.name);
    out.key("email").string(order.customer.email);
    out.endObject();
    out.key("shippingAddress").beginObject();
    out.key("street").string(order.shippingAddress.street);
    out.key("city").string(order.shippingAddress.city);
    out.key("postalCode").string(order.shippingAddress.postalCode);
    out.key("country").string(order.shippingAddress.country);
    out.endObject();
    out.key("totalAmount").integer(order.totalAmount);
    out.key("createdAt").integer(millis(order.createdAt));
    out.key("updatedAt").integer(millis(order.updatedAt));
    out.key("version").integer(order.version);
    out.key("payment").beginObject();
    out.key("attempts").integer(order.payment.attempts);
    out.key("paymentTransactionId").string(order.payment.paymentTransactionId);
    out.key("paidAmount").integer(order.payment.paidAmount);
    writeOptionalMillis(out.key("paidAt"), order.payment.paidAt);
    out.key("lastFailureCode").string(order.payment.lastFailureCode);
    out.key("lastFailureMessage").string(order.payment.lastFailureMessage);
    out.endObject();
    out.key("shipments").beginArray();
    for (const auto& shipment : order.shipments) {
      out.beginObject();
      out.key("id").string(shipment.id.str());
      out.key("carrier").string(shipment.carrier);
      out.key("trackingNumber").string(shipment.trackingNumber);
      out.key("items").beginArray();
      for (const auto& line : shipment.items) {
        out.beginObject();
        out.key("productId").string(line.productId);
        out.key("quantity").integer(line.quantity);
        out.endObject();
      }
      out.endArray();
      out.key("shippedAt").integer(millis(shipment.shippedAt));
      writeOptionalMillis(out.key("deliveredAt"), shipment.deliveredAt);
      out.endObject();
    }
    out.endArray();
    out.key("refunds").beginArray();
    for (const auto& refund : order.refunds) {
      out.beginObject();
      out.key("id").string(refund.id.str());
      out.key("amount").integer(refund.amount);
      out.key("reason").string(refund.reason);
      out.key("processed").boolean(refund.status == RefundStatus::kProcessed);
      out.key("refundTransactionId").string(refund.refundTransactionId);
      out.key("requestedAt").integer(millis(refund.requestedAt));
      writeOptionalMillis(out.key("processedAt"), refund.processedAt);
      out.endObject();
    }
    out.endArray();
    out.key("cancellationReason").string(order.cancellationReason);
    out.endObject();
  });
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
