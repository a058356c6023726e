#pragma once
// INTERNAL to src/broker/rabbitmq: the one place that converts between rabbitmq-c's field tables
// and basic properties and our types (MessageHeader, BrokerMessage, the received-message
// structs). The publisher, the consumer runtime, AmqpClient and the topology declaration all go
// through it, so what one of them writes the others read back the same way. rabbitmq-c types
// appear here: include this header only from .cpp files in src/broker/rabbitmq/.

#include <amqp.h>
#include <amqp_framing.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/rabbitmq/amqp/detail/connection.hpp"
#include "events/messaging.hpp"  // BrokerMessage, MessageHeader

namespace orders::rabbitmq {

/// A received header table. Strings and integers of every width stay strings and integers (an
/// unsigned 64-bit value above INT64_MAX wraps); any other kind (boolean, float, decimal,
/// timestamp, void, and nested tables and arrays such as x-death) becomes its JSON text, so
/// nothing is dropped.
std::vector<MessageHeader> readHeaders(const amqp_table_t& table);

/// Copies the properties that every received-message struct (Delivery, TransportDelivery) names
/// alike into `d`: content type, message id, type, app id, correlation id, timestamp and headers
/// (as readHeaders). Returns the delivery mode when it is set; it is left to the caller because
/// the structs represent it differently.
template <class Received>
[[nodiscard]] std::optional<std::uint8_t> readProperties(const amqp_basic_properties_t& p,
                                                         Received& d) {
  if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) d.contentType = str(p.content_type);
  if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) d.messageId = str(p.message_id);
  if (p._flags & AMQP_BASIC_TYPE_FLAG) d.type = str(p.type);
  if (p._flags & AMQP_BASIC_APP_ID_FLAG) d.appId = str(p.app_id);
  if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) d.correlationId = str(p.correlation_id);
  if (p._flags & AMQP_BASIC_TIMESTAMP_FLAG)
    d.timestampSeconds = static_cast<std::int64_t>(p.timestamp);
  if (p._flags & AMQP_BASIC_HEADERS_FLAG) d.headers = readHeaders(p.headers);
  if (!(p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG)) return std::nullopt;
  return p.delivery_mode;
}

/// The basic properties for publishing a BrokerMessage: the delivery mode always; content type,
/// message id, type, app id, correlation id and timestamp when set; the headers as UTF-8 strings
/// and signed 64-bit integers. One instance may serve many publishes, reusing its header storage
/// (the confirmed publisher keeps one for the relay's hot path).
class PublishProperties {
 public:
  PublishProperties() = default;
  explicit PublishProperties(const BrokerMessage& m) { set(m); }
  // The properties point into this object's own storage.
  PublishProperties(const PublishProperties&) = delete;
  PublishProperties& operator=(const PublishProperties&) = delete;

  /// Replaces the properties with those of `m`. The result points into `m` and into this object:
  /// neither may change or die before amqp_basic_publish returned.
  const amqp_basic_properties_t* set(const BrokerMessage& m);
  const amqp_basic_properties_t* get() const { return &props_; }

 private:
  amqp_basic_properties_t props_{};
  std::vector<amqp_table_entry_t> entries_;
};

/// An argument table for a declaration (x-queue-type, x-message-ttl...) that owns its strings.
class ArgumentTable {
 public:
  ArgumentTable& text(std::string key, std::string value);
  ArgumentTable& number(std::string key, std::int64_t value);
  /// Valid until this object changes or dies.
  amqp_table_t table();

 private:
  std::vector<MessageHeader> items_;
  std::vector<amqp_table_entry_t> entries_;
};

}  // namespace orders::rabbitmq
