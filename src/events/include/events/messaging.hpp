#pragma once
// The vocabulary every side of a broker shares: a message with its AMQP properties and headers,
// what the broker answers about a publish (confirm, return), and the queue types. The producer
// side (broker/confirmed_publisher.hpp, the outbox relay), the consumer runtime (consumer/) and
// the RabbitMQ adapters (broker/rabbitmq/) all speak it; it depends on nothing but the standard
// library, so any of them may include it without reaching into another.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace orders {

/// One application header: an AMQP long string or a signed 64-bit integer.
struct MessageHeader {
  std::string name;
  std::variant<std::string, std::int64_t> value;
  friend bool operator==(const MessageHeader&, const MessageHeader&) = default;
};

/// The application headers of W3C Trace Context (https://www.w3.org/TR/trace-context/) on a
/// message, as the AMQP binding of OpenTelemetry carries them: the publisher's span, and vendor
/// data only next to it. Long strings; absent when the message is not traced.
inline constexpr const char* kTraceparentHeader = "traceparent";
inline constexpr const char* kTracestateHeader = "tracestate";

/// A message and its AMQP basic properties. Empty strings / nullopt mean "property not set".
struct BrokerMessage {
  std::string exchange;
  std::string routingKey;
  std::string body;
  /// Ask the broker to return the message when no queue accepts it (basic.return).
  bool mandatory = true;

  std::string contentType;
  bool persistent = true;  // delivery_mode 2 (persistent) or 1
  std::string messageId;
  std::string type;
  std::string appId;
  std::string correlationId;
  std::optional<std::int64_t> timestampSeconds;  // AMQP timestamps are whole seconds
  std::vector<MessageHeader> headers;
};

/// basic.ack / basic.nack for one delivery tag, or for every tag <= deliveryTag if `multiple`.
struct BrokerConfirm {
  std::uint64_t deliveryTag = 0;
  bool multiple = false;
  bool ack = true;  // false = nack: the broker could not take the message

  /// Whether this confirm answers the publish with delivery tag `tag`.
  bool covers(std::uint64_t tag) const {
    return multiple ? tag <= deliveryTag : tag == deliveryTag;
  }
};

/// basic.return: a mandatory message no queue accepted. Identified by its message_id property
/// (returns carry no delivery tag).
struct BrokerReturn {
  std::string messageId;
  int replyCode = 0;  // e.g. 312 NO_ROUTE
  std::string replyText;
  std::string exchange;
  std::string routingKey;
};

/// x-queue-type of a queue: quorum (replicated, the default everywhere) or classic.
enum class QueueType { kQuorum, kClassic };
inline const char* toString(QueueType type) {
  return type == QueueType::kQuorum ? "quorum" : "classic";
}

}  // namespace orders
