#pragma once
// The RabbitMQ implementation of ConfirmedPublisher (broker/confirmed_publisher.hpp): one
// connection with one channel in confirm mode (confirm.select), mandatory publishes,
// basic.return and connection.blocked/unblocked reported through poll().

#include "broker/confirmed_publisher.hpp"
#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "common/result.hpp"

namespace orders {

/// Connects now: a connection + confirm-mode channel, ready to publish. Errors as for
/// PublisherFactory.
Result<std::unique_ptr<ConfirmedPublisher>> openRabbitPublisher(
    const RabbitConnectionOptions& options);

/// A factory that calls openRabbitPublisher(options) each time. Validates the URL now, so a
/// malformed URL is a startup error (kInvalidArgument naming the bad part) rather than an
/// endless reconnect loop.
Result<PublisherFactory> makeRabbitPublisherFactory(RabbitConnectionOptions options);

}  // namespace orders
