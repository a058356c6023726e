#pragma once
// The seam between the consumer runtime (broker-agnostic: validation, handlers, inbox, retry
// decisions) and a broker adapter (broker/rabbitmq/consumer/: connection, topology, deliveries,
// acks, confirmed republishing). Tests drive the runtime with a fake transport.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "events/messaging.hpp"  // BrokerMessage, MessageHeader

namespace orders {

/// One message as the broker delivered it. Empty strings / nullopt = property not set.
struct TransportDelivery {
  /// The connection incarnation it arrived on: settling it on a later connection is impossible
  /// (the broker already requeued it when the old connection died).
  std::uint64_t generation = 0;
  std::uint64_t deliveryTag = 0;
  std::string exchange;
  std::string routingKey;
  bool redelivered = false;
  std::string body;

  std::string contentType;
  std::string messageId;
  std::string type;
  std::string appId;
  std::string correlationId;
  std::optional<std::int64_t> timestampSeconds;
  bool persistent = true;
  /// Strings and integers as such; any other field kind (boolean, float, table, array such as
  /// x-death) as its JSON text.
  std::vector<MessageHeader> headers;

  const MessageHeader* header(const std::string& name) const {
    for (const auto& h : headers)
      if (h.name == name) return &h;
    return nullptr;
  }
};

/// What to do with a delivery once it was handled.
struct Settlement {
  enum class Kind {
    kAck,               // done (applied, duplicate)
    kRepublishThenAck,  // publish `copy` with a publisher confirm, and ack only after the confirm
    kRequeue,           // give it back to the queue (basic.reject requeue=true)
  };
  Kind kind = Kind::kAck;
  BrokerMessage copy;  // kRepublishThenAck: the retry or dead-letter copy
};

enum class TransportState { kStopped, kConnecting, kConnected, kReconnecting };
const char* toString(TransportState state);

class ConsumerTransport {
 public:
  struct Callbacks {
    /// A new delivery. Called on the transport's thread; must not block.
    std::function<void(TransportDelivery)> onDelivery;
    /// The connection of `generation` is gone: its unsettled deliveries are back in the queue and
    /// any settle() for them is dropped. Called on the transport's thread.
    std::function<void(std::uint64_t generation)> onConnectionLost;
    /// State changes with the error that caused them (empty when none). Transport's thread.
    std::function<void(TransportState, const std::string& error)> onState;
  };

  virtual ~ConsumerTransport() = default;

  /// Validates the configuration and starts connecting (declaring the topology and consuming).
  /// Returns after the first connection attempt: an error then is a configuration problem
  /// (kInvalidArgument: URL, credentials, vhost; kConflict: a queue or exchange exists with other
  /// settings) and nothing runs. When the broker is merely unreachable it returns ok and keeps
  /// reconnecting in the background with backoff.
  virtual Status start(Callbacks callbacks) = 0;

  /// Settles a delivery. Any thread, never blocks. `done` runs on the transport's thread once
  /// the ack was sent (for kRepublishThenAck: after the broker confirmed the copy), or with an
  /// error when the delivery's connection is gone (the broker redelivers the original).
  virtual void settle(std::uint64_t generation, std::uint64_t deliveryTag, Settlement settlement,
                      std::function<void(Status)> done) = 0;

  /// basic.cancel: no new deliveries. Waits for the broker's cancel-ok at most `timeout`.
  virtual void cancel(std::chrono::milliseconds timeout) = 0;

  /// Sends what was settled so far, waits at most `timeout` for outstanding confirms, then closes
  /// the channel and the connection (unsettled deliveries return to the queue) and stops the
  /// transport's thread. Idempotent.
  virtual void close(std::chrono::milliseconds timeout) = 0;
};

}  // namespace orders
