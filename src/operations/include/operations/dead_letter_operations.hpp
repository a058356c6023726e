#pragma once
// What an operator does with dead-lettered messages, for every front end: the `order-events dlq`
// commands (tools/order_events/dlq_commands.hpp) and the operator HTTP API (admin/admin_api.hpp)
// both call this, so they list, group, replay and discard the same way and leave the same audit
// trail. Built on the RabbitMQ DLQ admin (broker/rabbitmq/consumer/dead_letter_admin.hpp).
//
// Guarantees:
//   - Nothing is lost: a replay publishes each message to its work queue with a publisher
//     confirm before it acks it in the DLQ; a failure leaves it in the DLQ (or, interrupted
//     between confirm and ack, in both: a duplicate the consumer's inbox absorbs). A discard
//     deletes only the messages named by messageId.
//   - Every replay, discard and purge is logged at info level with who did it (`actor`), the DLQ
//     and each messageId (the JSON log format carries the messageId as a field), whether it
//     succeeded or not.
//
// Thread-safe: every call opens its own broker connection and closes it before returning (the
// operator acts rarely; no connection stays open between actions).

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "broker/rabbitmq/consumer/dead_letter_admin.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace orders::operations {

/// The DLQ of what the user named: the work queue ("order-service.payment-events") or the DLQ
/// itself ("order-service.payment-events.dlq").
std::string deadLetterQueueOf(const std::string& queue);

/// The class of a failure reason, for grouping: the reason with what differs from message to
/// message replaced (UUIDs and other ids by "<id>", numbers by "#"), at most 160 characters.
/// "no order 3fa85f64-5717-4562-b3fc-2c963f66afa6" -> "no order <id>".
std::string reasonClassOf(const std::string& reason);

/// Dead letters that failed the same way (like ServicePulse's failed-message groups): the same
/// failure kind, message type and reason class.
struct FailureGroup {
  std::string id;  // 16 hex digits, a hash of kind, type and class: stable across listings
  std::string failureKind;
  std::string messageType;
  std::string reasonClass;
  std::string exampleReason;  // the reason of the first message of the group
  std::string firstFailedAt;  // the smallest and largest x-failed-at (ISO 8601 sorts as text)
  std::string lastFailedAt;
  std::vector<std::string> messageIds;  // in DLQ order; a message id once even if copied
  std::int64_t count = 0;               // messages (copies included)
};

/// Groups `letters`, the largest group first (ties: by id, so the order is stable).
std::vector<FailureGroup> groupByFailure(const std::vector<DeadLetter>& letters);

struct DeadLetterListing {
  std::string queue;  // the work queue
  std::string dlq;
  std::int64_t count = 0;            // messages in the DLQ
  std::vector<DeadLetter> letters;   // the first `limit` of them, in order
  std::vector<FailureGroup> groups;  // of `letters`
  bool truncated = false;            // count > letters.size()
};

/// Which messages an action takes: all of them, or those with these messageIds.
struct Selection {
  bool all = false;
  std::set<std::string> messageIds;
};

struct ReplayOutcome {
  std::string dlq;
  std::vector<std::string> replayed;  // messageIds, in order
  std::vector<std::string> problems;  // messages left in the DLQ, and why
};

struct DiscardOutcome {
  std::string dlq;
  std::vector<std::string> discarded;  // messageIds, in order
  std::vector<std::string> notFound;   // selected ids that were not in the DLQ
};

class DeadLetterOperations {
 public:
  /// `connection` is used for every call (its connectionName is set per action); `clock` (null:
  /// the system clock) must outlive this object.
  explicit DeadLetterOperations(RabbitConnectionOptions connection, const Clock* clock = nullptr);

  /// The DLQ of `queue`: its count and its first `limit` messages (left in it), grouped.
  /// kNotFound when the DLQ does not exist; kUnavailable when the broker cannot be reached.
  Result<DeadLetterListing> list(const std::string& queue, std::size_t limit) const;

  /// The first message with `messageId` in the DLQ of `queue` (looked for among its first
  /// `limit`); kNotFound when there is none.
  Result<DeadLetter> inspect(const std::string& queue, const std::string& messageId,
                             std::size_t limit) const;

  /// Messages ready and consumers of `queue` (a passive declare). kNotFound: no such queue.
  Result<DeadLetterAdmin::QueueState> queueState(const std::string& queue) const;

  /// Sends the selected messages of the DLQ of `queue` back to their work queue (see the
  /// guarantees above). An empty selection (not `all`, no ids) is kInvalidArgument.
  Result<ReplayOutcome> replay(const std::string& queue, const Selection& selection,
                               const std::string& actor) const;

  /// Deletes the messages with these ids from the DLQ of `queue`. An empty set is
  /// kInvalidArgument (deleting everything is purge, on purpose a separate call).
  Result<DiscardOutcome> discard(const std::string& queue, const std::set<std::string>& messageIds,
                                 const std::string& actor) const;

  /// Deletes every message of the DLQ of `queue`; returns how many.
  Result<std::int64_t> purge(const std::string& queue, const std::string& actor) const;

 private:
  Result<std::unique_ptr<DeadLetterAdmin>> connect(const std::string& action) const;

  RabbitConnectionOptions connection_;
  const Clock* clock_;
};

}  // namespace orders::operations
