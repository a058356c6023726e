#pragma once
// The request body the black-box suites create orders with: the seed's example order, two items.

#include <nlohmann/json.hpp>
#include <string>

namespace orders::testing {

inline nlohmann::json orderRequest() {
  return nlohmann::json::parse(R"({
    "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "currency": "USD",
    "items": [
      {"productId": "prod-456", "quantity": 1, "unitPrice": 99.99},
      {"productId": "prod-789", "quantity": 2, "unitPrice": 25.00}
    ],
    "customerDetails": {"name": "John Doe", "email": "john.doe@example.com"},
    "shippingAddress": {"street": "123 Main St", "city": "Anytown", "postalCode": "12345", "country": "US"}
  })");
}

/// The smaller body the broker suites post (one item, EUR): its events are what they inspect.
inline const std::string kBrokerSuiteOrder =
    R"({"userId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","currency":"EUR",
  "items":[{"productId":"p-1","quantity":2,"unitPrice":10.5}],
  "customerDetails":{"name":"Ada","email":"ada@example.com"},
  "shippingAddress":{"street":"1 Rue","city":"Paris","postalCode":"75001","country":"FR"}})";

}  // namespace orders::testing
