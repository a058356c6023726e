#pragma once
// INTERNAL to src/broker/rabbitmq: the one way exchanges, queues and bindings are declared (the
// service's topology in topology_declaration.cpp, a consumer's in consumer/rabbit_consumer.cpp),
// and the one definition of the queue arguments both use. Two declarations of the same queue must
// be equal or the broker refuses the second (406 PRECONDITION_FAILED): the Order Service's
// topology and the notification example both declare notification.order-events.
//
// rabbitmq-c types appear here: include this header only from .cpp files in src/broker/rabbitmq/.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"
#include "broker/rabbitmq/amqp/detail/connection.hpp"
#include "common/result.hpp"
#include "events/messaging.hpp"

namespace orders::rabbitmq {

/// A work queue (consumers read it): x-queue-type, x-dead-letter-exchange when given (with
/// x-dead-letter-routing-key when given; "" is the default exchange), x-delivery-limit when given.
ArgumentTable workQueueArguments(QueueType type,
                                 const std::optional<std::string>& deadLetterExchange,
                                 const std::optional<std::string>& deadLetterRoutingKey,
                                 std::optional<std::int64_t> deliveryLimit);

/// A consumer's retry queue: quorum; a message waits `delay` (x-message-ttl), then is
/// dead-lettered through the default exchange back to `workQueue`, at-least-once (which needs
/// x-overflow reject-publish), so a waiting retry is not lost when the broker is under stress.
ArgumentTable retryQueueArguments(std::chrono::milliseconds delay, const std::string& workQueue);

/// A queue that only keeps messages (dead letters, unrouted events): quorum.
ArgumentTable quorumQueueArguments();

/// Declares on one channel of `connection`; every declaration is durable.
class Declarer {
 public:
  enum class OnConflict {
    /// A 406 (exists with other settings) is noted in conflicts() and the declarer carries on
    /// with a new channel, so that one run reports every conflict.
    kRecord,
    /// The first refusal is the result; the message of a 406 says "(it exists with other
    /// settings)". The broker has closed the channel then.
    kFail,
  };

  Declarer(Connection& connection, amqp_channel_t channel, OnConflict mode)
      : c_(connection), channel_(channel), mode_(mode) {}

  /// true: declared. false: a conflict was recorded (kRecord only; skip what depends on it).
  /// An error: give up (the broker or the connection failed, or kFail saw a refusal).
  Result<bool> exchange(const std::string& name, const char* type, ArgumentTable args = {});
  /// Only checks that the exchange exists (passive declare): kNotFound "... does not exist; its
  /// owner declares it" when it does not.
  Result<bool> existingExchange(const std::string& name);
  Result<bool> queue(const std::string& name, ArgumentTable args);
  Result<bool> bind(const std::string& queue, const std::string& exchange, const std::string& key);

  const std::vector<std::string>& conflicts() const { return conflicts_; }
  /// The channel in use (a new one after a recorded conflict).
  amqp_channel_t channel() const { return channel_; }

 private:
  /// The outcome of the call just made: `what` names the entity in a recorded conflict, `call`
  /// the AMQP method in an error.
  Result<bool> outcome(const std::string& what, const std::string& call);

  Connection& c_;
  amqp_channel_t channel_;
  OnConflict mode_;
  std::vector<std::string> conflicts_;
};

}  // namespace orders::rabbitmq
