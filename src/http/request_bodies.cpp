#include "http/request_bodies.hpp"

#include <algorithm>
#include <utility>

#include "orders/money.hpp"
#include "orders/validation.hpp"

namespace orders::http {
namespace {

std::string toLowerAscii(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

/// A configured limit (BodyLimits) on a text field: its name in the error, so the caller knows
/// which knob refused it. (The domain checks content and its own ceiling afterwards.)
Status checkLength(const std::string& value, const std::string& field, std::size_t maxBytes,
                   const char* flag) {
  if (value.size() <= maxBytes) return okStatus();
  return invalid(
      field, "must be at most " + std::to_string(maxBytes) + " bytes long (limit " + flag + ")");
}

/// A string field read under a length limit.
Result<std::string> limitedString(const JsonReader& body, const std::string& key,
                                  std::size_t maxBytes, const char* flag) {
  auto value = body.string(key);
  if (!value) return value.error();
  if (auto s = checkLength(*value, body.fieldPath(key), maxBytes, flag); !s) return s.error();
  return value;
}

Result<std::optional<std::string>> limitedOptionalString(const JsonReader& body,
                                                         const std::string& key,
                                                         std::size_t maxBytes, const char* flag) {
  auto value = body.optionalString(key);
  if (!value) return value.error();
  if (*value) {
    if (auto s = checkLength(**value, body.fieldPath(key), maxBytes, flag); !s) return s.error();
  }
  return value;
}

/// The array at `key` has at most `limit` elements: judged before any element is read.
Status checkItemCount(const JsonReader& body, const std::string& key) {
  const auto* items = body.raw(key);
  const std::size_t limit = body.limits().maxItems;
  if (items && items->is_array() && items->size() > limit) {
    return invalid(body.fieldPath(key),
                   "must contain at most " + std::to_string(limit) + " items (limit --max-items)");
  }
  return okStatus();
}

std::size_t depthOf(const nlohmann::json& value) {
  if (!value.is_structured()) return 0;
  std::size_t deepest = 0;
  for (const auto& child : value) deepest = std::max(deepest, depthOf(child));
  return deepest + 1;
}

/// A caller's changeContext: an object, of allowed keys only, small and shallow enough.
Status checkChangeContext(const nlohmann::json& context, const BodyLimits& limits) {
  if (!context.is_object()) return invalid("changeContext", "must be an object of key-value pairs");
  for (const auto& [key, value] : context.items()) {
    if (std::find(limits.changeContextKeys.begin(), limits.changeContextKeys.end(), key) ==
        limits.changeContextKeys.end()) {
      std::string allowed;
      for (const auto& name : limits.changeContextKeys) {
        allowed += (allowed.empty() ? "" : ", ") + name;
      }
      // The key itself is not repeated in the field: it is the caller's text, of any length.
      return invalid("changeContext",
                     "has a key that is not allowed (limit --change-context-keys); allowed: " +
                         (allowed.empty() ? std::string("none") : allowed));
    }
  }
  // The parser already bounded the depth of the whole body, so this recursion is bounded too.
  if (const auto depth = depthOf(context); depth > limits.maxChangeContextDepth) {
    return invalid("changeContext", "is nested " + std::to_string(depth) +
                                        " levels deep; at most " +
                                        std::to_string(limits.maxChangeContextDepth) +
                                        " (limit --max-change-context-depth)");
  }
  if (const auto size = context.dump().size(); size > limits.maxChangeContextBytes) {
    return invalid("changeContext", "is " + std::to_string(size) + " bytes as JSON; at most " +
                                        std::to_string(limits.maxChangeContextBytes) +
                                        " (limit --max-change-context-bytes)");
  }
  return okStatus();
}

Result<CustomerDetails> readCustomer(const JsonReader& body) {
  auto object = body.object("customerDetails");
  if (!object) return object.error();
  auto name = limitedString(*object, "name", body.limits().maxNameBytes, "--max-name-bytes");
  if (!name) return name.error();
  auto email = object->string("email");
  if (!email) return email.error();
  return CustomerDetails{std::move(name).value(), std::move(email).value()};
}

Result<Address> readAddress(const JsonReader& body) {
  auto object = body.object("shippingAddress");
  if (!object) return object.error();
  Address address;
  for (auto [key, target] :
       {std::pair{"street", &address.street}, std::pair{"city", &address.city},
        std::pair{"postalCode", &address.postalCode}, std::pair{"country", &address.country}}) {
    auto value = object->string(key);
    if (!value) return value.error();
    *target = std::move(value).value();
  }
  for (auto [key, value] :
       {std::pair{"street", &address.street}, std::pair{"city", &address.city}}) {
    if (auto s = checkLength(*value, object->fieldPath(key), body.limits().maxAddressBytes,
                             "--max-address-bytes");
        !s) {
      return s.error();
    }
  }
  return address;
}

}  // namespace

Result<NewOrder> readNewOrder(const JsonReader& body) {
  NewOrder order;
  auto userId = body.string("userId");
  if (!userId) return userId.error();
  order.userId = toLowerAscii(std::move(userId).value());
  auto currencyText = body.string("currency");
  if (!currencyText) return currencyText.error();
  order.currency = std::move(currencyText).value();
  auto currency = Currency::parse(order.currency);
  if (!currency) return currency.error();
  if (auto s = checkItemCount(body, "items"); !s) return s.error();
  auto items = body.optionalObjects("items");
  if (!items) return items.error();
  if (!*items) return invalid("items", "is required");
  for (const JsonReader& item : **items) {
    LineItem line;
    auto productId = item.string("productId");
    if (!productId) return productId.error();
    line.productId = std::move(productId).value();
    auto quantity = item.integer("quantity");
    if (!quantity) return quantity.error();
    line.quantity = quantity.value();
    auto unitPrice = item.number("unitPrice");
    if (!unitPrice) return unitPrice.error();
    auto minor = toMinorUnits(*unitPrice, currency.value(), item.fieldPath("unitPrice"));
    if (!minor) return minor.error();
    line.unitPrice = minor.value();
    order.items.push_back(std::move(line));
  }
  auto customer = readCustomer(body);
  if (!customer) return customer.error();
  order.customer = std::move(customer).value();
  auto address = readAddress(body);
  if (!address) return address.error();
  order.shippingAddress = std::move(address).value();
  return order;
}

Result<OrderPatch> readOrderPatch(const JsonReader& body) {
  OrderPatch patch;
  if (body.has("customerDetails")) {
    auto customer = readCustomer(body);
    if (!customer) return customer.error();
    patch.customer = std::move(customer).value();
  }
  if (body.has("shippingAddress")) {
    auto address = readAddress(body);
    if (!address) return address.error();
    patch.shippingAddress = std::move(address).value();
  }
  return patch;
}

Result<PaymentResult> readPaymentResult(const JsonReader& body) {
  PaymentResult result;
  auto outcome = body.string("outcome");
  if (!outcome) return outcome.error();
  if (outcome.value() == "COMPLETED") {
    result.outcome = PaymentOutcome::kCompleted;
  } else if (outcome.value() == "FAILED") {
    result.outcome = PaymentOutcome::kFailed;
  } else {
    return invalid("outcome", "must be \"COMPLETED\" or \"FAILED\"");
  }
  auto transaction = body.string("paymentTransactionId");
  if (!transaction) return transaction.error();
  result.paymentTransactionId = std::move(transaction).value();
  auto failureCode = body.optionalString("failureCode");
  if (!failureCode) return failureCode.error();
  result.failureCode = failureCode->value_or("");
  auto message =
      limitedOptionalString(body, "message", body.limits().maxReasonBytes, "--max-reason-bytes");
  if (!message) return message.error();
  result.message = message->value_or("");
  return result;
}

Result<StatusChangeRequest> readStatusChange(const JsonReader& body) {
  StatusChangeRequest result;
  auto newStatus = body.string("newStatus");
  if (!newStatus) return newStatus.error();
  const auto status = parseOrderStatus(newStatus.value());
  if (!status) return invalid("newStatus", "is not an order status: " + newStatus.value());
  result.newStatus = *status;
  auto reason =
      limitedOptionalString(body, "reason", body.limits().maxReasonBytes, "--max-reason-bytes");
  if (!reason) return reason.error();
  result.reason = reason->value_or("");
  if (const auto* changeContext = body.raw("changeContext")) {
    if (auto s = checkChangeContext(*changeContext, body.limits()); !s) return s.error();
    result.changeContext = ChangeContext{changeContext->dump(), {}};
  }
  return result;
}

Result<std::string> readCancellation(const JsonReader& body) {
  return limitedString(body, "reason", body.limits().maxReasonBytes, "--max-reason-bytes");
}

Result<ShipmentRequest> readShipment(const JsonReader& body) {
  ShipmentRequest shipment;
  auto carrier = body.string("carrier");
  if (!carrier) return carrier.error();
  shipment.carrier = std::move(carrier).value();
  auto tracking = body.string("trackingNumber");
  if (!tracking) return tracking.error();
  shipment.trackingNumber = std::move(tracking).value();
  if (auto s = checkItemCount(body, "items"); !s) return s.error();
  auto items = body.optionalObjects("items");
  if (!items) return items.error();
  if (*items) {
    if ((*items)->empty()) {
      return invalid("items", "must not be empty; omit it to ship everything left");
    }
    for (const JsonReader& item : **items) {
      auto productId = item.string("productId");
      if (!productId) return productId.error();
      auto quantity = item.integer("quantity");
      if (!quantity) return quantity.error();
      shipment.items.push_back({std::move(productId).value(), quantity.value()});
    }
  }
  return shipment;
}

Result<DeliveryRequest> readDelivery(const JsonReader& body) {
  DeliveryRequest delivery;
  auto shipmentId = body.optionalString("shipmentId");
  if (!shipmentId) return shipmentId.error();
  if (*shipmentId) delivery.shipmentId = ShipmentId(**shipmentId);
  auto pickup = body.optionalBool("pickup");
  if (!pickup) return pickup.error();
  delivery.pickup = pickup->value_or(false);
  return delivery;
}

Result<RefundBody> readRefundRequest(const JsonReader& body) {
  auto reason = limitedString(body, "reason", body.limits().maxReasonBytes, "--max-reason-bytes");
  if (!reason) return reason.error();
  auto amount = body.number("amount");
  if (!amount) return amount.error();
  return RefundBody{std::move(amount).value(), std::move(reason).value()};
}

Result<std::string> readRefundProcessed(const JsonReader& body) {
  return body.string("refundTransactionId");
}

}  // namespace orders::http
