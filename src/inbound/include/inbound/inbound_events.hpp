#pragma once
// The Order Service's subscriptions: payment results and refunds from the Payment Service
// (exchange payment.events), shipments and deliveries from the Fulfillment Service (exchange
// fulfillment.events). Two consumers of the runtime (consumer/consumer.hpp), each on its own
// connection and quorum queue with retry queues and a DLQ:
//
//   payment.events (direct) --PaymentCompletedEvent, PaymentFailedEvent, RefundProcessedEvent-->
//       order-service.payment-events      (+ .retry.1..3, .dlq)
//   fulfillment.events (direct) --ShipmentDispatchedEvent, ShipmentDeliveredEvent-->
//       order-service.fulfillment-events  (+ .retry.1..3, .dlq)
//
// Every message runs through OrderService exactly like the matching HTTP endpoint
// (inbound_handlers.hpp), with the inbox row in the same transaction as the order change.
// A transition the order cannot make (kTransitionNotAllowed), an unknown order (kNotFound) or a
// wrong amount (kInvalidArgument) is dead-lettered at once; a store failure (kUnavailable) is
// retried after 1 s, 5 s, 25 s, then dead-lettered.
//
// Wiring in main (after the OrderService exists, before serving HTTP):
//   InboundEventsOptions inboundOptions;
//   inboundOptions.connection.url = config.amqpUrl;
//   InboundEvents inbound(service, schemas.value(), inboundOptions);
//   if (auto s = inbound.start(); !s) { spdlog::error("{}", s.error().message); return 1; }
//   ... on SIGTERM, before the store closes: inbound.stop();

#include <functional>
#include <memory>

#include "application/order_service.hpp"
#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "common/clock.hpp"
#include "consumer/consumer.hpp"
#include "events/schema_registry.hpp"
#include "inbound/inbound_handlers.hpp"

namespace orders {

struct InboundEventsOptions {
  RabbitConnectionOptions connection;
  RetryPolicy retry;  // default 1 s, 5 s, 25 s; 3 retries
  std::uint16_t prefetch = 32;
  /// Handler threads per queue; messages of one order stay in order on one thread. Several
  /// threads let SqliteStore commit their writes together (group commit).
  std::size_t workers = 4;
  /// x-delivery-limit of both work queues: a message that crashed the service this many times
  /// is dead-lettered by the broker instead of crashing it forever.
  std::optional<std::int64_t> deliveryLimit = 20;
  std::string paymentExchange = inbound::kPaymentExchange;
  std::string fulfillmentExchange = inbound::kFulfillmentExchange;
  std::string paymentQueue = inbound::kPaymentQueue;
  std::string fulfillmentQueue = inbound::kFulfillmentQueue;
  /// The consumers' clock (reconnect backoff, shutdown waits, x-failed-at); null: the system
  /// clock. Must outlive the InboundEvents.
  const Clock* clock = nullptr;
  /// The observer (metrics) of each queue's consumer (ConsumerOptions::observer); unset: none.
  std::function<ConsumerObserver*(const std::string& queue)> observerFor;
};

struct InboundEventsStatus {
  ConsumerStatus payments;
  ConsumerStatus fulfillment;
};

class InboundEvents {
 public:
  /// `service` and `schemas` must outlive this object. Nothing connects before start().
  InboundEvents(OrderService& service, const SchemaRegistry& schemas,
                const InboundEventsOptions& options = {});
  /// Calls stop().
  ~InboundEvents();
  InboundEvents(const InboundEvents&) = delete;
  InboundEvents& operator=(const InboundEvents&) = delete;

  /// Declares the exchanges (direct, durable) and the queues, and starts both consumers. An
  /// unreachable broker is not an error (they keep reconnecting; see status()); a bad URL,
  /// bad credentials, or a queue that exists with other settings is, and then nothing runs.
  Status start();
  /// Graceful: stops consuming, finishes the messages being applied, closes. Idempotent.
  void stop();
  InboundEventsStatus status() const;

 private:
  std::unique_ptr<Consumer> payments_;
  std::unique_ptr<Consumer> fulfillment_;
  Status setup_ = okStatus();
};

/// The ConsumerOptions InboundEvents uses for each queue (exposed for tools and tests).
ConsumerOptions paymentConsumerOptions(const InboundEventsOptions& options);
ConsumerOptions fulfillmentConsumerOptions(const InboundEventsOptions& options);

}  // namespace orders
