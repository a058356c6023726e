#pragma once
// What the consumer runtime tells an observer (metrics) about one consumer's messages. Called on
// the consumer's transport and worker threads, possibly concurrently: implementations must be
// thread-safe, cheap, and must not block or throw. One observer per consumer (per queue), so an
// implementation can bind its per-queue series once instead of looking them up per message.

#include <chrono>
#include <string_view>

#include "consumer/message_processor.hpp"  // Outcome

namespace orders {

/// One delivery the runtime has settled with the broker (acked, or copied to a retry queue or
/// the DLQ with a confirm and then acked).
struct SettledDelivery {
  Outcome outcome = Outcome::kApplied;
  int attempt = 1;               // 1 = first delivery; a retried message's attempt that failed
  std::string_view failureKind;  // dead-lettered: Decision::failureKind; else empty
  std::chrono::nanoseconds processingTime{};  // parse, validation, inbox and handler
};

class ConsumerObserver {
 public:
  virtual ~ConsumerObserver() = default;
  /// A delivery was taken from the broker (redeliveries included).
  virtual void received() = 0;
  /// A delivery was settled (see SettledDelivery). A delivery whose settlement failed is not
  /// reported: the broker redelivers it and it is received again.
  virtual void settled(const SettledDelivery& delivery) = 0;
  /// The transport connected (true) or lost its connection (false); `reconnect` is true for a
  /// connection after the first.
  virtual void connectionChanged(bool connected, bool reconnect) = 0;
};

}  // namespace orders
