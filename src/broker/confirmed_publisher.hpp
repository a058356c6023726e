#pragma once
// The outbox relay's only way to the broker: a channel in publisher-confirm mode.
//
// Contract (what an implementation guarantees, what the caller must do):
//  - publish() hands one message to the broker and returns its delivery tag: 1, 2, 3, ... in call
//    order for the lifetime of this publisher (one AMQP channel). Returning from publish() means
//    "sent", never "delivered": only a positive confirm (ack) means the broker took
//    responsibility for the message.
//  - poll() reports what the broker said since the last poll: confirms (ack/nack, possibly with
//    `multiple` = "every tag up to and including this one"), returned messages (mandatory
//    publishes no queue accepted), and connection.blocked/unblocked. A returned message is ALSO
//    acked afterwards (the broker confirms a return once the return is sent), so callers must
//    treat "returned, then acked" as not delivered. Returns always arrive before the ack of the
//    same message, and PublisherEvents lists them first.
//  - Once a failure is reported (poll's `failure`, or an error from publish), the publisher is
//    dead: every unconfirmed message has an unknown outcome and must be republished on a new
//    publisher (duplicates are possible, that is the at-least-once deal).
//  - publish(), poll() and close() are called from one thread at a time. wakeup() and abort()
//    may be called from any thread at any time, also concurrently with the others.
//
// No broker client type appears here; the RabbitMQ implementation is in broker/rabbitmq/.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace orders {

/// One application header: an AMQP long string or a signed 64-bit integer.
struct MessageHeader {
  std::string name;
  std::variant<std::string, std::int64_t> value;
  friend bool operator==(const MessageHeader&, const MessageHeader&) = default;
};

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

struct PublisherEvents {
  std::vector<BrokerReturn> returns;    // handle before `confirms`
  std::vector<BrokerConfirm> confirms;  // in the order the broker sent them
  enum class Flow { kUnchanged, kBlocked, kUnblocked };
  /// The last connection.blocked / connection.unblocked seen in this poll. While blocked the
  /// broker stops reading from the connection (resource alarm): do not publish.
  Flow flow = Flow::kUnchanged;
  std::string blockedReason;  // e.g. "low on memory"
  /// Set when the connection or channel failed (after the events above, which are still valid).
  std::optional<Error> failure;

  bool empty() const {
    return returns.empty() && confirms.empty() && flow == Flow::kUnchanged && !failure;
  }
};

class ConfirmedPublisher {
 public:
  virtual ~ConfirmedPublisher() = default;

  /// Sends `message`; returns its delivery tag. An error means the publisher is dead
  /// (kUnavailable with the reason). May block while the socket is full; abort() unblocks it.
  virtual Result<std::uint64_t> publish(const BrokerMessage& message) = 0;

  /// Waits up to `timeout` for broker events and returns as soon as there is at least one, or
  /// when wakeup() is called, or on timeout (empty events). Also keeps the connection alive
  /// (heartbeats), so call it at least every few seconds even when idle.
  virtual PublisherEvents poll(std::chrono::milliseconds timeout) = 0;

  /// Makes a concurrent or the next poll() return early. Any thread.
  virtual void wakeup() = 0;

  /// Breaks the connection so that a publish() or poll() blocked in I/O fails at once. The
  /// publisher is dead afterwards. Any thread.
  virtual void abort() = 0;

  /// Closes the channel and connection politely, waiting at most `timeout` for the broker.
  virtual void close(std::chrono::milliseconds timeout) = 0;
};

/// Opens a new connection + confirm-mode channel. Called by the relay at start and after every
/// failure (with backoff in between). kUnavailable when the broker cannot be reached; other codes
/// for configuration problems (bad credentials, missing vhost); the relay retries all of them.
using PublisherFactory = std::function<Result<std::unique_ptr<ConfirmedPublisher>>()>;

}  // namespace orders
