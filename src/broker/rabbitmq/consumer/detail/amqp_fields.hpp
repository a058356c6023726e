#pragma once
// INTERNAL to src/broker/rabbitmq/consumer: a delivery's basic properties into a
// TransportDelivery. The field and property conversions themselves are shared with the publisher
// and AmqpClient (broker/rabbitmq/detail/amqp_fields.hpp); this only adds how TransportDelivery
// represents the delivery mode. Include only from .cpp files.

#include <amqp.h>
#include <amqp_framing.h>

#include "consumer/transport.hpp"

namespace orders::rabbitmq {

/// Content type, message id, type, app id, correlation id, timestamp and headers as
/// rabbitmq::readProperties does; `persistent` stays true unless a delivery mode other than
/// persistent is set.
void readDeliveryProperties(const amqp_basic_properties_t& p, TransportDelivery& d);

}  // namespace orders::rabbitmq
