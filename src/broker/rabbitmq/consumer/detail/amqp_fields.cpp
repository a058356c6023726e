#include "broker/rabbitmq/consumer/detail/amqp_fields.hpp"

#include "broker/rabbitmq/detail/amqp_fields.hpp"

namespace orders::rabbitmq {

void readDeliveryProperties(const amqp_basic_properties_t& p, TransportDelivery& d) {
  if (auto mode = readProperties(p, d)) d.persistent = *mode == AMQP_DELIVERY_PERSISTENT;
}

}  // namespace orders::rabbitmq
