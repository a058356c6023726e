#pragma once
// The RabbitMQ side of the consumer runtime (consumer/consumer.hpp): one connection with a
// consuming channel (manual acks, basic.qos prefetch) and a confirm-mode channel for the retry
// and dead-letter copies, run by one I/O thread that also keeps the heartbeats going while
// handlers work. The topology of ConsumerOptions (work queue, bindings, retry queues, DLQ) is
// declared at every (re)connect.

#include <memory>

#include "broker/rabbitmq/connection_options.hpp"
#include "consumer/consumer.hpp"
#include "consumer/transport.hpp"

namespace orders {

/// The transport alone (for a Consumer built by hand). The URL is validated by start().
std::unique_ptr<ConsumerTransport> makeRabbitConsumerTransport(RabbitConnectionOptions connection,
                                                               ConsumerOptions options);

/// A Consumer on RabbitMQ: register handlers with on(), then start(). `schemas` and `inbox` must
/// outlive it; `inbox` may be null when every handler uses Deduplication::kHandler.
std::unique_ptr<Consumer> makeRabbitConsumer(RabbitConnectionOptions connection,
                                             ConsumerOptions options, const SchemaRegistry& schemas,
                                             Inbox* inbox = nullptr);

}  // namespace orders
