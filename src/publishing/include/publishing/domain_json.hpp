#pragma once
// JSON forms of the domain's value types, shared by the event payloads and the HTTP adapter so a
// client sees an address or an amount exactly as a consumer of our events does.

#include <cstdint>
#include <nlohmann/json.hpp>

#include "orders/domain_event.hpp"
#include "orders/money.hpp"
#include "orders/order.hpp"

namespace orders {

/// An amount as a JSON number in the currency's major unit: 14999 USD -> 149.99, 1500 JPY ->
/// 1500. The double is the one nearest the decimal value, so it prints as the decimal text.
nlohmann::json amountJson(std::int64_t minor, const Currency& currency);

/// {street, city, postalCode, country}
nlohmann::json toJson(const Address& address);

/// {name, email}
nlohmann::json toJson(const CustomerDetails& customer);

/// [{productId, quantity, unitPrice}], in the order's line order; unitPrice via amountJson.
nlohmann::json itemsJson(const Order& order);

/// The `changeContext` object of an OrderStatusChangedEvent: the caller's JSON object (parsed),
/// then the domain's string entries on top (the domain's entries win on a key clash: they are
/// what the service itself recorded). Domain entries with an empty value are left out.
/// Precondition: `callerJsonObject` is empty or the text of a JSON object (the adapter that
/// received it checked that). Throws std::invalid_argument when it is not: that is a bug.
nlohmann::json changeContextJson(const ChangeContext& context);

}  // namespace orders
