#include "http/request_bodies.hpp"

#include <utility>

#include "orders/money.hpp"
#include "orders/validation.hpp"

namespace orders::http {
namespace {

std::string toLowerAscii(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Result<CustomerDetails> readCustomer(const JsonReader& body) {
  auto object = body.object("customerDetails");
  if (!object) return object.error();
  auto name = object->string("name");
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
  auto message = body.optionalString("message");
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
  auto reason = body.optionalString("reason");
  if (!reason) return reason.error();
  result.reason = reason->value_or("");
  if (const auto* changeContext = body.raw("changeContext")) {
    if (!changeContext->is_object()) {
      return invalid("changeContext", "must be an object of key-value pairs");
    }
    result.changeContext = ChangeContext{changeContext->dump(), {}};
  }
  return result;
}

Result<std::string> readCancellation(const JsonReader& body) {
  return body.string("reason");
}

Result<ShipmentRequest> readShipment(const JsonReader& body) {
  ShipmentRequest shipment;
  auto carrier = body.string("carrier");
  if (!carrier) return carrier.error();
  shipment.carrier = std::move(carrier).value();
  auto tracking = body.string("trackingNumber");
  if (!tracking) return tracking.error();
  shipment.trackingNumber = std::move(tracking).value();
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
  auto reason = body.string("reason");
  if (!reason) return reason.error();
  auto amount = body.number("amount");
  if (!amount) return amount.error();
  return RefundBody{std::move(amount).value(), std::move(reason).value()};
}

Result<std::string> readRefundProcessed(const JsonReader& body) {
  return body.string("refundTransactionId");
}

}  // namespace orders::http
