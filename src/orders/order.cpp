#include "orders/order.hpp"

namespace orders {

std::int64_t Order::refundableAmount() const {
  std::int64_t refunded = 0;
  for (const auto& refund : refunds) refunded += refund.amount;
  return payment.paidAmount - refunded;
}

std::int64_t Order::unshippedQuantity(const std::string& productId) const {
  std::int64_t ordered = 0;
  for (const auto& item : items) {
    if (item.productId == productId) ordered += item.quantity;
  }
  for (const auto& shipment : shipments) {
    for (const auto& line : shipment.items) {
      if (line.productId == productId) ordered -= line.quantity;
    }
  }
  return ordered;
}

const Shipment* Order::findShipment(const ShipmentId& id) const {
  for (const auto& shipment : shipments) {
    if (shipment.id == id) return &shipment;
  }
  return nullptr;
}

const Refund* Order::findRefund(const RefundId& id) const {
  for (const auto& refund : refunds) {
    if (refund.id == id) return &refund;
  }
  return nullptr;
}

}  // namespace orders
