#pragma once
// A small synchronous AMQP client for tools and tests: consume from (temporary) queues, inspect
// and purge queues, publish without confirms. The service itself publishes only through
// ConfirmedPublisher (rabbit_publisher.hpp).
//
// One connection with one channel. Not thread-safe: use it from one thread. When the broker
// closes the channel over an error (404 queue not found, 406 ...), the error is returned and the
// next call opens a fresh channel; consumers started on the old channel are gone.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/confirmed_publisher.hpp"
#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "broker/topology.hpp"
#include "common/result.hpp"

namespace orders {

/// A received message with its AMQP properties. Empty strings / nullopt = property not set.
struct Delivery {
  std::string exchange;
  std::string routingKey;
  std::string body;
  std::uint64_t deliveryTag = 0;
  bool redelivered = false;

  std::string contentType;
  std::optional<int> deliveryMode;
  std::string messageId;
  std::string type;
  std::string appId;
  std::string correlationId;
  std::optional<std::int64_t> timestampSeconds;
  /// Strings and integers as such; any other field kind (boolean, float, timestamp, and tables
  /// and arrays such as x-death) as its JSON text, the same reading the consumer runtime uses.
  std::vector<MessageHeader> headers;

  /// The header's value, if present.
  const MessageHeader* header(const std::string& name) const;
};

class AmqpClient {
 public:
  static Result<std::unique_ptr<AmqpClient>> connect(const RabbitConnectionOptions& options);
  static Result<std::unique_ptr<AmqpClient>> connect(const std::string& amqpUrl);
  ~AmqpClient();

  /// A server-named, exclusive, auto-delete queue (gone when this client disconnects) bound to
  /// `exchange` with every key in `routingKeys`. Returns the queue's name.
  Result<std::string> declareTemporaryQueue(const std::string& exchange,
                                            const std::vector<std::string>& routingKeys);
  /// A durable queue of `type`, with x-dead-letter-exchange when `deadLetterExchange` is set.
  Status declareQueue(const std::string& name, QueueType type,
                      const std::string& deadLetterExchange = "");
  Status bind(const std::string& queue, const std::string& exchange, const std::string& key);

  /// Starts consuming `queue`. With autoAck the broker forgets each message once sent.
  Status consume(const std::string& queue, bool autoAck = true, std::uint16_t prefetch = 500);
  /// The next delivery of a consume() on this client, or nullopt after `timeout`.
  Result<std::optional<Delivery>> next(std::chrono::milliseconds timeout);
  Status ack(std::uint64_t deliveryTag);
  /// basic.reject: with requeue=false the message is dead-lettered (if its queue has a DLX).
  Status reject(std::uint64_t deliveryTag, bool requeue = false);
  /// basic.get with auto-ack: one message or nullopt when the queue is empty.
  Result<std::optional<Delivery>> get(const std::string& queue);

  /// Ready messages in `queue` (passive declare). kNotFound when it does not exist.
  Result<std::int64_t> messageCount(const std::string& queue);
  /// Removes every ready message; returns how many.
  Result<std::int64_t> purge(const std::string& queue);
  Status deleteQueue(const std::string& queue);
  Status deleteExchange(const std::string& exchange);

  /// Fire-and-forget publish (no confirm): for tests and tools only. Carries every property and
  /// header of `message` exactly as the confirmed publisher does; `message.mandatory` is ignored
  /// (never mandatory), since this client does not read basic.return.
  Status publish(const BrokerMessage& message);

 private:
  struct Impl;
  explicit AmqpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace orders
