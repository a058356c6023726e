#pragma once
// The Order aggregate: plain data whose invariants are kept by the actions in order_actions.hpp.
// Amounts are integer minor units of `currency`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "orders/money.hpp"
#include "orders/status.hpp"

namespace orders {

struct LineItem {
  std::string productId;
  std::int64_t quantity = 0;
  std::int64_t unitPrice = 0;  // minor units
};

struct CustomerDetails {
  std::string name;
  std::string email;
  friend bool operator==(const CustomerDetails&, const CustomerDetails&) = default;
};

struct Address {
  std::string street;
  std::string city;
  std::string postalCode;
  std::string country;  // ISO 3166-1 alpha-2
  friend bool operator==(const Address&, const Address&) = default;
};

struct ShipmentLine {
  std::string productId;
  std::int64_t quantity = 0;
};

struct Shipment {
  ShipmentId id;
  std::string carrier;
  std::string trackingNumber;
  std::vector<ShipmentLine> items;
  Timestamp shippedAt;
  std::optional<Timestamp> deliveredAt;
};

enum class RefundStatus { kRequested, kProcessed };

struct Refund {
  RefundId id;
  std::int64_t amount = 0;  // minor units
  std::string reason;
  RefundStatus status = RefundStatus::kRequested;
  std::string refundTransactionId;  // set once processed
  Timestamp requestedAt;
  std::optional<Timestamp> processedAt;
};

struct PaymentState {
  int attempts = 0;                  // how often payment processing was started
  std::string paymentTransactionId;  // of the completed payment, or of the last failed attempt
  std::int64_t paidAmount = 0;       // minor units, set when payment completed
  std::optional<Timestamp> paidAt;
  std::string lastFailureCode;
  std::string lastFailureMessage;
};

struct Order {
  OrderId id;
  UserId userId;
  OrderStatus status = OrderStatus::kPendingPayment;
  Currency currency = Currency::parse("USD").value();
  std::vector<LineItem> items;
  CustomerDetails customer;
  Address shippingAddress;
  std::int64_t totalAmount = 0;  // minor units, sum of quantity * unitPrice
  Timestamp createdAt;
  Timestamp updatedAt;
  std::int64_t version = 1;  // +1 with every change; the HTTP ETag
  PaymentState payment;
  std::vector<Shipment> shipments;
  std::vector<Refund> refunds;
  std::string cancellationReason;

  /// Number of line items (not the sum of quantities), as in the seed's OrderCreatedEvent.
  std::int64_t itemCount() const { return static_cast<std::int64_t>(items.size()); }
  /// Paid minus every refund requested or processed: what may still be refunded.
  std::int64_t refundableAmount() const;
  /// Quantity of `productId` not yet in any shipment.
  std::int64_t unshippedQuantity(const std::string& productId) const;
  const Shipment* findShipment(const ShipmentId& id) const;
  const Refund* findRefund(const RefundId& id) const;
};

}  // namespace orders
