#pragma once
// The consumer runtime: subscribes one queue and runs a handler per (messageType, major version)
// for every message, with validation, deduplication, retries and a dead-letter queue.
// broker/rabbitmq/consumer/rabbit_consumer.hpp builds one on RabbitMQ (makeRabbitConsumer).
//
// Contract (what the runtime guarantees, what a handler must do):
//  - Delivery is AT-LEAST-ONCE. The same message (same messageId) can arrive again after a
//    crash, a connection loss or a republish whose confirm was lost. Handlers must deduplicate:
//    register them with Deduplication::kRuntime (the runtime's Inbox skips known messageIds) or
//    Deduplication::kHandler (the handler records InboundMessage::inboxKey() in the transaction of
//    its own effect: exactly-once effects).
//  - Returning success from the handler ACKS the message. Returning an error or throwing REJECTS
//    it: a transient error (kUnavailable, kInternal, any exception) sends a copy to the retry
//    queue of the next level (Q.retry.<n>, delays from RetryPolicy) and, after
//    RetryPolicy::maxRetries retries, to the DLQ (Q.dlq); a permanent error (kInvalidArgument,
//    kNotFound, kTransitionNotAllowed, kConflict, kPreconditionFailed) sends it to the DLQ at
//    once. The copy is published with a publisher confirm BEFORE the original is acked, so a
//    crash in between yields a duplicate, never a loss.
//  - Before any handler runs, the message is parsed and validated against the JSON Schemas
//    (SchemaRegistry: envelope, then payload of its type and major version). Bad JSON, a schema
//    violation, an unknown type or major version, or a type without a handler go straight to the
//    DLQ with the reason in x-failure-reason: never into a retry loop.
//  - A handler for major N gets every N.x message; fields of a newer minor it does not know are
//    in the payload and must be ignored.
//  - Handlers run on `ConsumerOptions::workers` threads; messages with the same partitionKey
//    always run on the same one, in delivery order. A retried message is handled after the
//    messages that arrived while it waited: per-key ordering holds only between successes.
//  - Handlers must not block for long: while one runs, its delivery stays unacked and counts
//    against the prefetch. They may block on I/O (the consumer's connection keeps its heartbeats
//    on a thread of its own).
//  - stop() cancels the subscription (basic.cancel), lets every handler that already started
//    finish and settles it (ack / confirmed copy + ack), then closes; messages received but not
//    started are returned to the queue by the broker.
//  - Connection loss: the runtime reconnects with exponential backoff (warn log per attempt),
//    re-declares its topology and resumes. Messages in flight on the lost connection are
//    redelivered by the broker (the inbox makes that harmless). status() tells connected /
//    reconnecting, the last error, and counters.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "consumer/consumer_options.hpp"
#include "consumer/inbound_message.hpp"
#include "consumer/inbox.hpp"
#include "consumer/message_processor.hpp"
#include "consumer/transport.hpp"
#include "events/schema_registry.hpp"

namespace orders {

struct ConsumerStatus {
  enum class State { kStopped, kConnecting, kConnected, kReconnecting, kStopping };
  State state = State::kStopped;
  std::string lastError;  // the last connection or settlement error; empty when none yet
  std::optional<Timestamp> lastErrorAt;  // on the consumer's clock

  std::uint64_t received = 0;      // deliveries taken from the broker (also redeliveries)
  std::uint64_t applied = 0;       // handler succeeded, acked
  std::uint64_t duplicates = 0;    // already in the inbox, acked without effect
  std::uint64_t retried = 0;       // copy confirmed in a retry queue, original acked
  std::uint64_t deadLettered = 0;  // copy confirmed in the DLQ, original acked
  std::uint64_t reconnects = 0;    // connections established after the first

  /// applied + duplicates + retried + deadLettered: deliveries fully settled.
  std::uint64_t settled() const { return applied + duplicates + retried + deadLettered; }
};
const char* toString(ConsumerStatus::State state);

class Consumer {
 public:
  /// `schemas` and `inbox` (null when every handler deduplicates itself) must outlive the
  /// consumer; `clock` too when given (null: the system clock). The consumer reads time only from
  /// it: x-failed-at, lastErrorAt. `ids` (null: random, from OpenSSL) makes the span ids of each
  /// handler's trace context (InboundMessage::trace); must be thread-safe and outlive the
  /// consumer when given.
  Consumer(ConsumerOptions options, const SchemaRegistry& schemas,
           std::unique_ptr<ConsumerTransport> transport, Inbox* inbox = nullptr,
           const Clock* clock = nullptr, IdGenerator* ids = nullptr);
  /// Calls stop().
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  /// Registers a handler (see MessageProcessor::on for the errors). Before start() only.
  Status on(std::string messageType, int majorVersion, MessageHandler handler,
            Deduplication deduplication = Deduplication::kRuntime);

  /// Validates the options, starts the handler threads and the transport (see
  /// ConsumerTransport::start: configuration errors are returned, an unreachable broker is
  /// retried in the background). kConflict when called twice. Thread-safe.
  Status start();

  /// Graceful shutdown as described above; bounded by ConsumerOptions::shutdownTimeout per
  /// step. Idempotent; thread-safe; must not be called from a handler.
  void stop();

  /// A snapshot. Any thread.
  ConsumerStatus status() const;

  const ConsumerOptions& options() const { return options_; }

 private:
  struct WorkItem {
    TransportDelivery delivery;
    std::optional<ExactJson> parsed;  // nullopt when the body is not JSON
  };
  struct Worker {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<WorkItem> queue;
    std::thread thread;
  };

  void onDelivery(TransportDelivery delivery);
  void onConnectionLost(std::uint64_t generation);
  void onState(TransportState state, const std::string& error);
  void workerLoop(Worker& worker);
  void handle(WorkItem& item);
  void recordError(const std::string& error);

  ConsumerOptions options_;
  SystemClock systemClock_;
  const Clock& clock_;
  RandomIdGenerator randomIds_;
  MessageProcessor processor_;
  std::unique_ptr<ConsumerTransport> transport_;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stopping_{false};
  std::mutex lifecycleMutex_;
  bool started_ = false;
  bool stopped_ = false;

  mutable std::mutex statusMutex_;
  ConsumerStatus status_;
  bool everConnected_ = false;
};

}  // namespace orders
