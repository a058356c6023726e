#pragma once
// The Order Service as a consumer: how each inbound message becomes the same use case an HTTP
// endpoint runs (docs/events/inbound/). No broker code here; InboundEvents wires these handlers
// to the consumer runtime.
//
//   payment.events      PaymentCompletedEvent    applyPaymentResult(COMPLETED)  POST
//   .../payment/result
//                       PaymentFailedEvent       applyPaymentResult(FAILED)     POST
//                       .../payment/result RefundProcessedEvent     markRefundProcessed POST
//                       .../refunds/{id}/processed
//   fulfillment.events  ShipmentDispatchedEvent  shipOrder                      POST .../shipments
//                       ShipmentDeliveredEvent   deliverOrder                   POST .../deliveries
//
// Each runs OrderService::executeAndWait with RequestContext{correlationId of the envelope,
// initiatedBy "PaymentService" / "FulfillmentService", trace = the message's handler span
// (InboundMessage::trace, so the events it causes stay in the sender's trace), inboxMessage
// (queue, messageId)}: the order change, its outbox events and the inbox row commit together, so
// a redelivered message has no second effect (CommandOutcome::duplicate).

#include <string>
#include <vector>

#include "application/order_service.hpp"
#include "consumer/inbound_message.hpp"

namespace orders::inbound {

inline constexpr const char* kPaymentExchange = "payment.events";
inline constexpr const char* kFulfillmentExchange = "fulfillment.events";
inline constexpr const char* kPaymentQueue = "order-service.payment-events";
inline constexpr const char* kFulfillmentQueue = "order-service.fulfillment-events";
inline constexpr const char* kPaymentService = "PaymentService";
inline constexpr const char* kFulfillmentService = "FulfillmentService";

/// The routing keys (= messageTypes) of payment.events and fulfillment.events we consume.
const std::vector<std::string>& paymentMessageTypes();
const std::vector<std::string>& fulfillmentMessageTypes();

/// One inbound message as a use case: which order, which action, in which context.
struct InboundCommand {
  OrderId target;
  OrderAction action;
  RequestContext context;
};

/// Builds the command of a validated message (major version 1 of the types above). Checks that
/// the schema cannot express are made by the action when it sees the order: the amount and
/// currency of a payment must equal the order's total and currency, those of a refund the
/// requested refund (kInvalidArgument otherwise). kInvalidArgument for another messageType.
Result<InboundCommand> toCommand(const InboundMessage& message);

/// Runs the command: kApplied, kDuplicate (the inbox had the message), or the use case's error
/// unchanged (kNotFound, kTransitionNotAllowed, kInvalidArgument... are permanent for the runtime;
/// kUnavailable is retried).
HandlerResult apply(OrderService& service, const InboundMessage& message);

}  // namespace orders::inbound
