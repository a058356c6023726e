#pragma once
// What the relay tells an observer (metrics) about its work. The relay calls it on its own
// publishing thread, so an implementation must be cheap and must not block or throw: the relay's
// throughput is bounded by this thread. observability/ implements it with Prometheus counters.

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/clock.hpp"

namespace orders {

/// One message the broker confirmed (acked, and not returned as unroutable).
struct ConfirmedPublication {
  std::string_view messageType;  // valid during the call only
  /// The event's own timestamp, set when its write was prepared, just before the commit:
  /// now - eventTime is the commit-to-confirm latency (backlog included).
  Timestamp eventTime{};
  /// From publish() to the broker's ack, on the steady clock.
  std::chrono::nanoseconds publishToConfirm{};
};

/// Why a publication attempt failed. Each leads to a reconnect and a republish of what was
/// unconfirmed (never to a loss).
enum class PublishFailure {
  kConnectFailed,   // the broker could not be reached or refused the connection
  kPublishError,    // publish()/flush() failed (socket error)
  kConnectionLost,  // the connection or channel closed while messages were in flight
  kNack,            // the broker nacked a message
  kReturned,        // a mandatory message was returned as unroutable
  kConfirmTimeout,  // no confirm within RelayOptions::confirmTimeout
};
/// "connect_failed", "publish_error", "connection_lost", "nack", "returned", "confirm_timeout".
const char* toString(PublishFailure failure);

class RelayObserver {
 public:
  virtual ~RelayObserver() = default;
  /// The messages one poll of the broker confirmed (at least one).
  virtual void confirmed(std::span<const ConfirmedPublication> messages, Timestamp at) = 0;
  /// One failure; `unconfirmed` messages will be published again (possible duplicates).
  virtual void publishFailed(PublishFailure failure, std::uint64_t unconfirmed) = 0;
  /// A connection was established; `reconnect` is false for the first one after start().
  virtual void connected(bool reconnect) = 0;
  /// connection.blocked (true) / connection.unblocked or the blocked connection's loss (false).
  virtual void blockedChanged(bool blocked) = 0;
};

}  // namespace orders
