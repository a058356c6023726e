#pragma once
// Declares the topology of broker/topology.hpp on a RabbitMQ broker. Idempotent: declaring the
// same topology again changes nothing. Called by the service at start and by
// `order-events topology declare`.

#include <string>

#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "broker/topology.hpp"
#include "common/result.hpp"

namespace orders {

/// Declares, in this order: the dead-letter exchange (fanout) and queue (quorum); the alternate
/// exchange (fanout) and the unrouted queue (quorum); the events exchange (direct, durable,
/// alternate-exchange set); every consumer queue (durable, x-queue-type, x-dead-letter-exchange,
/// x-delivery-limit when given) and its bindings.
///
/// Errors:
///  - kConflict when something already exists with other settings (a classic queue where we
///    want a quorum one, another dead-letter exchange, an exchange of another type...). The
///    message names every conflicting exchange/queue and the broker's reason, which names the
///    differing argument, e.g. "queue 'notification.order-events' exists with other settings:
///    PRECONDITION_FAILED - inequivalent arg 'x-queue-type' ...". Everything that did not
///    conflict has still been declared; nothing existing is changed or deleted.
///  - kInvalidArgument for a malformed URL, bad credentials or a missing vhost.
///  - kUnavailable when the broker cannot be reached.
Status declareTopology(const RabbitConnectionOptions& options, const TopologyConfig& topology);

/// Same with default connection options for `amqpUrl`.
Status declareTopology(const std::string& amqpUrl, const TopologyConfig& topology);

}  // namespace orders
