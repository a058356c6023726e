#pragma once
// JSON forms of the domain's value types, shared by the event payloads and the HTTP adapter so a
// client sees an address or an amount exactly as a consumer of our events does. Written with a
// JsonWriter (no DOM): each call writes one JSON value where the writer stands.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "events/json_text.hpp"
#include "orders/domain_event.hpp"
#include "orders/money.hpp"
#include "orders/order.hpp"

namespace orders {

/// An amount as a JSON number in the currency's major unit: 14999 USD -> 149.99, 1500 JPY ->
/// 1500.0. It is the text of the double nearest the decimal value, which is the decimal text.
void writeAmount(JsonWriter& out, std::int64_t minor, const Currency& currency);

/// {street, city, postalCode, country}
void writeAddress(JsonWriter& out, const Address& address);

/// {name, email}
void writeCustomer(JsonWriter& out, const CustomerDetails& customer);

/// [{productId, quantity, unitPrice}], in the order's line order; unitPrice via writeAmount.
void writeItems(JsonWriter& out, const Order& order);

/// [{productId, quantity}]: the lines of one shipment, in their order.
void writeShipmentLines(JsonWriter& out, const std::vector<ShipmentLine>& lines);

/// The `changeContext` object of an OrderStatusChangedEvent: the caller's JSON object (parsed),
/// then the domain's string entries on top (the domain's entries win on a key clash: they are
/// what the service itself recorded). Domain entries with an empty value are left out.
/// Precondition: `callerJsonObject` is empty or the text of a JSON object (the adapter that
/// received it checked that). Throws std::invalid_argument when it is not: that is a bug.
nlohmann::json changeContextJson(const ChangeContext& context);

}  // namespace orders
