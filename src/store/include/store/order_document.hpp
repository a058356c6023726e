#pragma once
// The storage form of the Order aggregate: one JSON document per order, shared by the store
// adapters (SQLite now, PostgreSQL later). Amounts stay integer minor units here; the document is
// never shown to clients (the HTTP API has its own representation).

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "orders/order.hpp"

namespace orders {

std::string encodeOrderDocument(const Order& order);

/// kInternal naming the broken field when the document is not one encodeOrderDocument wrote.
Result<Order> decodeOrderDocument(std::string_view text);

}  // namespace orders
