#pragma once
// The API's JSON form of an order and of its shipments and refunds (docs/openapi.yaml), written
// with a JsonWriter (no DOM): each call writes one JSON object where the writer stands.

#include <string>

#include "events/json_text.hpp"
#include "orders/order.hpp"

namespace orders::http {

void writeOrder(JsonWriter& out, const Order& order);
void writeShipment(JsonWriter& out, const Shipment& shipment, const Order& order);
void writeRefund(JsonWriter& out, const Refund& refund, const Order& order);
/// The ETag of an order version: "<version>" (a strong validator).
std::string etagOf(const Order& order);

}  // namespace orders::http
