#pragma once
// What a consumer subscribes to and how it retries: the queue topology of one consumer, as data.
//
// For a work queue Q the runtime declares (idempotently, at every (re)connect):
//   Q              durable work queue (quorum by default), bound to `exchange` with each routing
//                  key of the subscription (selective consumption)
//   Q.retry.1..n   one queue per retry level, x-message-ttl = that level's delay,
//                  dead-lettering (x-dead-letter-exchange "" = the default exchange,
//                  x-dead-letter-routing-key Q) back to Q once the delay has passed
//   Q.dlq          the dead-letter queue: messages that are invalid, failed permanently, or
//                  exhausted their retries, with headers saying why (see docs/consumers.md)
// Retry and dead-letter copies travel through the default exchange, addressed to one queue by
// name: they never fan out again to the other queues bound to `exchange`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "events/messaging.hpp"  // QueueType

namespace orders {

class ConsumerObserver;  // consumer/consumer_observer.hpp

/// How the runtime treats the exchange the work queue binds to.
enum class ExchangeDeclaration {
  kDirect,   // exchange.declare: direct, durable (idempotent; fails if it exists otherwise)
  kTopic,    // exchange.declare: topic, durable
  kPassive,  // only check that it exists (it is owned by the publisher, e.g. order.events)
};

struct Subscription {
  std::string queue;                     // the work queue, e.g. "order-service.payment-events"
  std::string exchange;                  // e.g. "payment.events"
  std::vector<std::string> routingKeys;  // only these are bound: nothing else reaches the queue
  ExchangeDeclaration exchangeDeclaration = ExchangeDeclaration::kDirect;
  QueueType queueType = QueueType::kQuorum;
  /// x-dead-letter-exchange of the work queue, used only by the broker itself (a quorum queue's
  /// delivery limit, see below); the runtime never rejects a message to dead-letter it. nullopt
  /// (default) = the default exchange with x-dead-letter-routing-key Q.dlq, i.e. straight into
  /// this consumer's DLQ. Set it when someone else declares the same queue with another DLX (the
  /// Order Service's topology declares notification.order-events with order.events.dlx): the
  /// declarations must match or the broker refuses the second one (406 PRECONDITION_FAILED).
  std::optional<std::string> workQueueDeadLetterExchange;
  /// x-delivery-limit (quorum only): a message delivered this many times without an ack (the
  /// consumer process crashed or lost its connection each time: a "poison" message) is
  /// dead-lettered by the broker. nullopt = no limit.
  std::optional<std::int64_t> deliveryLimit;
};

struct RetryPolicy {
  /// Delay of each retry level: the n-th retry waits delays[min(n, size) - 1] in queue
  /// Q.retry.<level>. Changing a delay changes that queue's x-message-ttl, which RabbitMQ refuses
  /// for an existing queue (delete the retry queue first; it only holds waiting retries).
  std::vector<std::chrono::milliseconds> delays{std::chrono::seconds(1), std::chrono::seconds(5),
                                                std::chrono::seconds(25)};
  /// Retries after the first attempt; the failure after the last retry dead-letters the message
  /// (x-attempts = maxRetries + 1). 0 = never retry.
  int maxRetries = 3;
};

struct ConsumerOptions {
  Subscription subscription;
  RetryPolicy retry;
  /// The inbox key's first half (consumer name, messageId) and the name in logs. Default: the
  /// queue name.
  std::string consumerName;
  /// basic.qos prefetch: most unacknowledged deliveries this consumer holds at once.
  std::uint16_t prefetch = 16;
  /// Handler threads. Messages with the same partitionKey (the orderId) always go to the same
  /// worker, so they are handled in the order they arrived; 1 = strictly sequential.
  std::size_t workers = 1;
  /// stop(): how long to wait for the broker's cancel-ok, the in-flight handlers and the
  /// confirms of their retry/DLQ copies.
  std::chrono::milliseconds shutdownTimeout{10000};
  /// Reconnect backoff after a connection loss: doubles from `reconnectInitial` up to
  /// `reconnectMax`, with +-20 % jitter.
  std::chrono::milliseconds reconnectInitial{200};
  std::chrono::milliseconds reconnectMax{30000};
  /// Told about every delivery and connection change (metrics); null: nobody. Not owned; must
  /// outlive the consumer.
  ConsumerObserver* observer = nullptr;

  /// consumerName, or the queue name when empty.
  const std::string& name() const {
    return consumerName.empty() ? subscription.queue : consumerName;
  }
};

/// "<queue>.retry.<level>", level 1..delays.size().
std::string retryQueueName(const std::string& queue, std::size_t level);
/// "<queue>.dlq"
std::string deadLetterQueueName(const std::string& queue);

/// kInvalidArgument (field = the option's name) for an empty queue/exchange name, no routing
/// key, an "amq." name, a negative maxRetries, maxRetries > 0 without delays, a delay outside
/// 1 ms..24 h, prefetch or workers 0, or a delivery limit on a classic queue.
Status validateConsumerOptions(const ConsumerOptions& options);

}  // namespace orders
