#include "publishing/domain_json.hpp"

#include <stdexcept>

namespace orders {

nlohmann::json amountJson(std::int64_t minor, const Currency& currency) {
  return toDecimal(minor, currency);
}

nlohmann::json toJson(const Address& address) {
  return {{"street", address.street},
          {"city", address.city},
          {"postalCode", address.postalCode},
          {"country", address.country}};
}

nlohmann::json toJson(const CustomerDetails& customer) {
  return {{"name", customer.name}, {"email", customer.email}};
}

nlohmann::json itemsJson(const Order& order) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : order.items) {
    items.push_back({{"productId", item.productId},
                     {"quantity", item.quantity},
                     {"unitPrice", amountJson(item.unitPrice, order.currency)}});
  }
  return items;
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
