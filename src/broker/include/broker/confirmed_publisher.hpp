#pragma once
// The outbox relay's only way to the broker: a channel in publisher-confirm mode.
//
// Contract (what an implementation guarantees, what the caller must do):
//  - publish() hands one message to the broker and returns its delivery tag: 1, 2, 3, ... in call
//    order for the lifetime of this publisher (one AMQP channel). Returning from publish() means
//    "sent", never "delivered": only a positive confirm (ack) means the broker took
//    responsibility for the message. An implementation may buffer published messages to write a
//    burst at once: flush() writes them, and poll() and close() flush first, so a caller that
//    never calls flush() still gets every message out at its next poll().
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
#include <vector>

#include "common/result.hpp"
#include "events/messaging.hpp"  // BrokerMessage, BrokerConfirm, BrokerReturn

namespace orders {

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

  /// Writes what publish() buffered (a burst: one write instead of one per message). An error
  /// means the publisher is dead, as for publish(). May block like publish(); abort() unblocks
  /// it. Publishers that do not buffer have nothing to do.
  virtual Status flush() { return okStatus(); }

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

  /// Which broker this publisher is connected to, for status pages and logs (for RabbitMQ the
  /// URL with the password replaced by "***"); empty when the implementation cannot say. Fixed
  /// for the publisher's lifetime; any thread.
  virtual std::string broker() const { return {}; }
};

/// Opens a new connection + confirm-mode channel. Called by the relay at start and after every
/// failure (with backoff in between). kUnavailable when the broker cannot be reached; other codes
/// for configuration problems (bad credentials, missing vhost); the relay retries all of them.
using PublisherFactory = std::function<Result<std::unique_ptr<ConfirmedPublisher>>()>;

}  // namespace orders
