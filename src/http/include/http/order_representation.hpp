#pragma once
// The API's JSON form of an order and of its shipments and refunds (docs/openapi.yaml).

#include <nlohmann/json.hpp>

#include "orders/order.hpp"

namespace orders::http {

nlohmann::json orderJson(const Order& order);
nlohmann::json shipmentJson(const Shipment& shipment, const Order& order);
nlohmann::json refundJson(const Refund& refund, const Order& order);
/// The ETag of an order version: "<version>" (a strong validator).
std::string etagOf(const Order& order);

}  // namespace orders::http
