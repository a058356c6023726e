#pragma once
// INTERNAL to src/broker/rabbitmq/consumer: conversions between rabbitmq-c's field tables and
// basic properties and our MessageHeader / BrokerMessage / TransportDelivery. Include only from
// .cpp files.

#include <amqp.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "broker/confirmed_publisher.hpp"
#include "consumer/transport.hpp"

namespace orders::rabbitmq {

/// Any field value as JSON (tables as objects, arrays as arrays, timestamps as integers, byte
/// strings as strings).
nlohmann::json fieldToJson(const amqp_field_value_t& value);

/// Strings and integers as such; every other kind as its JSON text.
MessageHeader toHeader(const amqp_table_entry_t& entry);

/// Copies the basic properties (content type, message id, type, app id, correlation id,
/// timestamp, delivery mode, headers) into `d`.
void readProperties(const amqp_basic_properties_t& p, TransportDelivery& d);

/// Basic properties for publishing `m`. Points into `m` and into this object: both must outlive
/// the amqp_basic_publish call.
class PublishProperties {
 public:
  explicit PublishProperties(const BrokerMessage& m);
  const amqp_basic_properties_t* get() const { return &props_; }

 private:
  amqp_basic_properties_t props_{};
  std::vector<amqp_table_entry_t> entries_;
};

/// An argument table (x-queue-type, x-message-ttl...) that owns its strings.
class ArgumentTable {
 public:
  ArgumentTable& text(std::string key, std::string value);
  ArgumentTable& number(std::string key, std::int64_t value);
  /// Valid until this object changes or dies.
  amqp_table_t table();

 private:
  std::vector<std::pair<std::string, std::variant<std::string, std::int64_t>>> items_;
  std::vector<amqp_table_entry_t> entries_;
};

}  // namespace orders::rabbitmq
