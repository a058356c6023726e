#pragma once
// The RabbitMQ side of the consumer runtime (consumer/consumer.hpp): one connection with a
// consuming channel (manual acks, basic.qos prefetch) and a confirm-mode channel for the retry
// and dead-letter copies, run by one I/O thread that also keeps the heartbeats going while
// handlers work. The topology of ConsumerOptions (work queue, bindings, retry queues, DLQ) is
// declared at every (re)connect.

#include <memory>

#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "common/clock.hpp"
#include "consumer/consumer.hpp"
#include "consumer/transport.hpp"

namespace orders {

/// The transport alone (for a Consumer built by hand). The URL is validated by start().
/// Reconnect backoff, stop()'s waits for the broker and the close deadline run on `clock` (null:
/// the system clock; it must outlive the transport); only the socket waits in between are real
/// time (at most 200 ms each), so a manual clock drives the reconnects of a test.
std::unique_ptr<ConsumerTransport> makeRabbitConsumerTransport(RabbitConnectionOptions connection,
                                                               ConsumerOptions options,
                                                               const Clock* clock = nullptr);

/// A Consumer on RabbitMQ: register handlers with on(), then start(). `schemas` and `inbox` must
/// outlive it; `inbox` may be null when every handler uses Deduplication::kHandler. `clock` (null:
/// the system clock) is the Consumer's and the transport's.
std::unique_ptr<Consumer> makeRabbitConsumer(RabbitConnectionOptions connection,
                                             ConsumerOptions options, const SchemaRegistry& schemas,
                                             Inbox* inbox = nullptr, const Clock* clock = nullptr);

}  // namespace orders
