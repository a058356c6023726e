#include "inbound/inbound_events.hpp"

#include "broker/rabbitmq/consumer/rabbit_consumer.hpp"

namespace orders {
namespace {

ConsumerOptions consumerOptions(const InboundEventsOptions& o, const std::string& queue,
                                const std::string& exchange,
                                const std::vector<std::string>& routingKeys) {
  ConsumerOptions c;
  c.subscription.queue = queue;
  c.subscription.exchange = exchange;
  c.subscription.routingKeys = routingKeys;
  c.subscription.exchangeDeclaration = ExchangeDeclaration::kDirect;
  c.subscription.queueType = QueueType::kQuorum;
  c.subscription.deliveryLimit = o.deliveryLimit;
  c.retry = o.retry;
  c.consumerName = queue;  // the inbox key is (queue name, messageId)
  c.prefetch = o.prefetch;
  c.workers = o.workers;
  c.observer = o.observerFor ? o.observerFor(queue) : nullptr;
  return c;
}

std::unique_ptr<Consumer> makeConsumer(OrderService& service, const SchemaRegistry& schemas,
                                       const InboundEventsOptions& options,
                                       ConsumerOptions consumerOptions, Status& setup) {
  RabbitConnectionOptions connection = options.connection;
  connection.connectionName = "order-service " + consumerOptions.subscription.queue;
  const auto types = consumerOptions.subscription.routingKeys;
  auto consumer = makeRabbitConsumer(std::move(connection), std::move(consumerOptions), schemas,
                                     nullptr, options.clock);
  for (const auto& type : types) {
    auto registered = consumer->on(
        type, 1,
        [&service](const InboundMessage& message) { return inbound::apply(service, message); },
        Deduplication::kHandler);
    if (!registered && setup) setup = registered;
  }
  return consumer;
}

}  // namespace

ConsumerOptions paymentConsumerOptions(const InboundEventsOptions& options) {
  return consumerOptions(options, options.paymentQueue, options.paymentExchange,
                         inbound::paymentMessageTypes());
}

ConsumerOptions fulfillmentConsumerOptions(const InboundEventsOptions& options) {
  return consumerOptions(options, options.fulfillmentQueue, options.fulfillmentExchange,
                         inbound::fulfillmentMessageTypes());
}

InboundEvents::InboundEvents(OrderService& service, const SchemaRegistry& schemas,
                             const InboundEventsOptions& options) {
  payments_ = makeConsumer(service, schemas, options, paymentConsumerOptions(options), setup_);
  fulfillment_ =
      makeConsumer(service, schemas, options, fulfillmentConsumerOptions(options), setup_);
}

InboundEvents::~InboundEvents() {
  stop();
}

Status InboundEvents::start() {
  if (!setup_) return setup_;
  if (auto s = payments_->start(); !s) return s;
  if (auto s = fulfillment_->start(); !s) {
    payments_->stop();
    return s;
  }
  return okStatus();
}

void InboundEvents::stop() {
  payments_->stop();
  fulfillment_->stop();
}

InboundEventsStatus InboundEvents::status() const {
  return InboundEventsStatus{payments_->status(), fulfillment_->status()};
}

}  // namespace orders
