#include "inbound/inbound_handlers.hpp"

#include "common/decimal.hpp"
#include "orders/money.hpp"

namespace orders::inbound {
namespace {

using nlohmann::json;

std::string text(const json& payload, const char* key) {
  auto it = payload.find(key);
  return it != payload.end() && it->is_string() ? it->get<std::string>() : "";
}

/// A payload's amount and currency, as written.
struct WrittenAmount {
  std::string currency;
  std::optional<std::string> amount;
};

WrittenAmount writtenAmount(const InboundMessage& message) {
  return {text(message.payload, "currency"), message.writtenNumber("/amount")};
}

/// The amount in minor units, checked against what the order expects; converted from the text
/// as written, so an amount the currency cannot express is refused rather than rounded.
Status checkAmount(const WrittenAmount& written, const Order& order, std::int64_t expectedMinor,
                   const std::string& what) {
  if (written.currency != order.currency.code()) {
    return invalid("currency", what + " is in " + written.currency + " but the order is in " +
                                   order.currency.code());
  }
  if (!written.amount) return invalid("amount", "amount is missing");
  auto minor = toMinorUnits(*written.amount, order.currency, "amount");
  if (!minor) return minor.error();
  if (*minor != expectedMinor) {
    return invalid("amount", what + " of " + std::to_string(*minor) + " minor units of " +
                                 order.currency.code() + " does not match the expected " +
                                 std::to_string(expectedMinor));
  }
  return okStatus();
}

/// A whole number of the payload as written: 1.0000000000000000001 is not 1.
Result<std::int64_t> wholeNumber(const InboundMessage& message, const std::string& pointer) {
  const std::string field = "payload" + pointer;
  const auto written = message.writtenNumber(pointer);
  if (!written) return invalid(field, "must be a number");
  const auto whole = orders::wholeNumber(*written);
  if (whole.failure != ScaleFailure::kNone) return invalid(field, "must be a whole number");
  return whole.value;
}

}  // namespace

const std::vector<std::string>& paymentMessageTypes() {
  static const std::vector<std::string> types{"PaymentCompletedEvent", "PaymentFailedEvent",
                                              "RefundProcessedEvent"};
  return types;
}

const std::vector<std::string>& fulfillmentMessageTypes() {
  static const std::vector<std::string> types{"ShipmentDispatchedEvent", "ShipmentDeliveredEvent"};
  return types;
}

Result<InboundCommand> toCommand(const InboundMessage& message) {
  const json& p = message.payload;
  if (!p.is_object()) return invalid("payload", "the payload must be an object");
  InboundCommand command;
  command.target = OrderId(text(p, "orderId"));
  if (command.target.empty()) return invalid("payload/orderId", "orderId is missing");
  command.context.correlationId = message.correlationId;
  command.context.trace = message.trace;  // the handler's span: its events are its children
  command.context.inboxMessage = message.inboxKey();
  const std::string& type = message.messageType;

  if (type == "PaymentCompletedEvent" || type == "PaymentFailedEvent") {
    command.context.initiatedBy = kPaymentService;
    PaymentResult result;
    result.paymentTransactionId = text(p, "paymentTransactionId");
    const bool completed = type == "PaymentCompletedEvent";
    if (completed) {
      result.outcome = PaymentOutcome::kCompleted;
      command.action = [result, paid = writtenAmount(message)](
                           const Order* order, const ActionContext& ctx) -> Result<Change> {
        // What the payment captured must be what the order costs: a mismatch is for a human.
        if (auto s = checkAmount(paid, *order, order->totalAmount, "the payment"); !s)
          return s.error();
        return applyPaymentResult(*order, result, ctx);
      };
    } else {
      result.outcome = PaymentOutcome::kFailed;
      result.failureCode = text(p, "failureCode");
      result.message = text(p, "message");
      command.action = [result](const Order* order, const ActionContext& ctx) {
        return applyPaymentResult(*order, result, ctx);
      };
    }
    return command;
  }
  if (type == "RefundProcessedEvent") {
    command.context.initiatedBy = kPaymentService;
    const RefundId refundId(text(p, "refundId"));
    const std::string transaction = text(p, "refundTransactionId");
    command.action = [refundId, transaction, refunded = writtenAmount(message)](
                         const Order* order, const ActionContext& ctx) -> Result<Change> {
      if (const Refund* refund = order->findRefund(refundId)) {
        if (auto s = checkAmount(refunded, *order, refund->amount, "the refund"); !s)
          return s.error();
      }  // an unknown refund is reported by the action itself (kNotFound)
      return markRefundProcessed(*order, refundId, transaction, ctx);
    };
    return command;
  }
  if (type == "ShipmentDispatchedEvent") {
    command.context.initiatedBy = kFulfillmentService;
    ShipmentRequest shipment;
    shipment.carrier = text(p, "carrier");
    shipment.trackingNumber = text(p, "trackingNumber");
    if (auto items = p.find("items"); items != p.end() && items->is_array()) {
      for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string pointer = "/items/" + std::to_string(i);
        auto quantity = wholeNumber(message, pointer + "/quantity");
        if (!quantity) return quantity.error();
        shipment.items.push_back(ShipmentLine{text((*items)[i], "productId"), *quantity});
      }
    }
    command.action = [shipment](const Order* order, const ActionContext& ctx) {
      return shipOrder(*order, shipment, ctx);
    };
    return command;
  }
  if (type == "ShipmentDeliveredEvent") {
    command.context.initiatedBy = kFulfillmentService;
    DeliveryRequest delivery;
    if (auto id = text(p, "shipmentId"); !id.empty()) delivery.shipmentId = ShipmentId(id);
    delivery.pickup = p.value("pickup", false);
    command.action = [delivery](const Order* order, const ActionContext& ctx) {
      return deliverOrder(*order, delivery, ctx);
    };
    return command;
  }
  return invalid("messageType", "the Order Service does not consume " + type);
}

HandlerResult apply(OrderService& service, const InboundMessage& message) {
  auto command = toCommand(message);
  if (!command) return command.error();
  auto outcome = service.executeAndWait(command->target, std::move(command->action),
                                        std::move(command->context));
  if (!outcome) return outcome.error();
  return outcome->duplicate ? Handled::kDuplicate : Handled::kApplied;
}

}  // namespace orders::inbound
