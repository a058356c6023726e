#include "publishing/domain_json.hpp"

#include <stdexcept>

namespace orders {

void writeAmount(JsonWriter& out, std::int64_t minor, const Currency& currency) {
  out.decimal(minor, currency.decimals());
}

void writeAddress(JsonWriter& out, const Address& address) {
  out.beginObject();
  out.key("street").string(address.street);
  out.key("city").string(address.city);
  out.key("postalCode").string(address.postalCode);
  out.key("country").string(address.country);
  out.endObject();
}

void writeCustomer(JsonWriter& out, const CustomerDetails& customer) {
  out.beginObject();
  out.key("name").string(customer.name);
  out.key("email").string(customer.email);
  out.endObject();
}

void writeItems(JsonWriter& out, const Order& order) {
  out.beginArray();
  for (const auto& item : order.items) {
    out.beginObject();
    out.key("productId").string(item.productId);
    out.key("quantity").integer(item.quantity);
    writeAmount(out.key("unitPrice"), item.unitPrice, order.currency);
    out.endObject();
  }
  out.endArray();
}

void writeShipmentLines(JsonWriter& out, const std::vector<ShipmentLine>& lines) {
  out.beginArray();
  for (const auto& line : lines) {
    out.beginObject();
    out.key("productId").string(line.productId);
    out.key("quantity").integer(line.quantity);
    out.endObject();
  }
  out.endArray();
}

nlohmann::json changeContextJson(const ChangeContext& context) {
  nlohmann::json result = nlohmann::json::object();
  if (!context.callerJsonObject.empty()) {
    result = nlohmann::json::parse(context.callerJsonObject, nullptr, /*allow_exceptions=*/false);
    if (!result.is_object()) {
      throw std::invalid_argument("changeContext: the caller's context is not a JSON object");
    }
  }
  for (const auto& [key, value] : context.entries) {
    if (!value.empty()) result[key] = value;
  }
  return result;
}

}  // namespace orders
