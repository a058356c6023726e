#pragma once
// Operations on a consumer's dead-letter queue (<queue>.dlq), for `order-events dlq ...` and the
// tests: count, inspect without removing, replay to the original work queue, purge.
//
// Replay never loses a message: each one is published to its work queue with a publisher confirm
// first and removed from the DLQ (acked) only after the confirm. An interruption in between
// leaves it in both queues: a duplicate the consumer's inbox absorbs.

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "events/messaging.hpp"  // MessageHeader

namespace orders {

/// One message in a DLQ, with what the consumer runtime recorded about its failure (empty / 0
/// when a header is missing, e.g. for a message the broker dead-lettered itself after a quorum
/// queue's delivery limit: then `failureKind` is "delivery-limit" from x-first-death-reason).
struct DeadLetter {
  std::string messageId;  // the AMQP message_id (= the envelope's messageId for our producers)
  std::string messageType;
  std::string correlationId;
  std::string failureReason;  // x-failure-reason
  std::string failureKind;    // x-failure-kind
  std::string failedAt;       // x-failed-at
  std::int64_t attempts = 0;  // x-attempts
  std::string originalExchange;
  std::string originalRoutingKey;
  std::string originalQueue;  // where replay sends it
  std::string consumer;
  std::int64_t replayCount = 0;  // x-replay-count
  std::vector<MessageHeader> headers;
  std::string body;

  /// {"messageId", "messageType", ..., "headers": {...}, "body": <JSON or text>}
  nlohmann::json toJson() const;
};

class DeadLetterAdmin {
 public:
  /// Connects now. `clock` (null: the system clock; it must outlive the admin) times the waits
  /// for requeued messages (peek, replay); socket waits are real time.
  static Result<std::unique_ptr<DeadLetterAdmin>> connect(const RabbitConnectionOptions& options,
                                                          const Clock* clock = nullptr);
  ~DeadLetterAdmin();

  /// Ready messages in `queue`. kNotFound when the queue does not exist.
  Result<std::int64_t> count(const std::string& queue);

  struct QueueState {
    std::int64_t messagesReady = 0;
    std::int64_t consumers = 0;
  };
  /// Ready messages and consumers of `queue` (a passive queue.declare: nothing is created).
  /// kNotFound when the queue does not exist.
  Result<QueueState> queueState(const std::string& queue);

  /// Up to `limit` messages from the head of `queue`, left in the queue (they are fetched
  /// without ack and given back; the broker marks them redelivered). Returns once they are
  /// ready in the queue again (the broker requeues asynchronously; at most 2 s).
  Result<std::vector<DeadLetter>> peek(const std::string& queue, std::size_t limit);

  struct ReplayReport {
    std::int64_t replayed = 0;
    std::int64_t examined = 0;
    std::vector<std::string> problems;     // messages left in the DLQ, and why
    std::vector<std::string> replayedIds;  // the messageId of each message replayed, in order
  };
  /// Sends messages back to their original work queue (x-original-queue; else the queue the
  /// broker dead-lettered them from; else `queue` without its ".dlq" suffix), through the
  /// default exchange so they reach that queue only. `messageId` set: only messages with that id
  /// (every copy); otherwise all. Runs until the DLQ has nothing left it has not seen; a message
  /// it replayed that fails again and comes back meanwhile is recognised (same messageId and
  /// the x-replay-count it was given) and not replayed twice in one run. Headers: the failure
  /// headers and x-death are dropped, x-retry-count starts again at 0, x-replay-count + 1.
  /// kNotFound when the DLQ does not exist; kUnavailable when the broker fails (messages
  /// replayed before that stay replayed, the current one stays in the DLQ or is duplicated).
  Result<ReplayReport> replay(const std::string& queue,
                              const std::optional<std::string>& messageId);

  /// replay() of the messages whose messageId is in `messageIds` (every copy of each); the others
  /// stay in the DLQ. An empty set replays nothing.
  Result<ReplayReport> replay(const std::string& queue, const std::set<std::string>& messageIds);

  struct DiscardReport {
    std::int64_t discarded = 0;
    std::int64_t examined = 0;
    std::vector<std::string> discardedIds;  // the messageId of each message deleted, in order
  };
  /// Deletes (acks) the messages of `queue` whose messageId is in `messageIds`, every copy; the
  /// others stay, in their order. kNotFound when the queue does not exist; kUnavailable when the
  /// broker fails (messages not yet acked stay).
  Result<DiscardReport> discard(const std::string& queue, const std::set<std::string>& messageIds);

  /// Deletes every ready message of `queue`; returns how many.
  Result<std::int64_t> purge(const std::string& queue);

 private:
  Result<ReplayReport> replayMatching(const std::string& queue,
                                      const std::function<bool(const DeadLetter&)>& selected);
  struct Impl;
  explicit DeadLetterAdmin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace orders
