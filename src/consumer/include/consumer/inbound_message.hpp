#pragma once
// What a handler sees: one validated StandardMessage, and what it answers.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/trace_context.hpp"
#include "events/messaging.hpp"  // MessageHeader

namespace orders {

/// A message that passed JSON parsing and schema validation (envelope and payload), for a
/// messageType and major version a handler is registered for.
struct InboundMessage {
  // The StandardMessage envelope.
  std::string messageId;       // "msg-<uuid>": the deduplication key
  std::string messageType;     // e.g. "PaymentCompletedEvent"
  std::string messageVersion;  // e.g. "1.1": a 1.x handler also gets 1.1 with fields it ignores
  int majorVersion = 0;
  int minorVersion = 0;
  std::string timestamp;      // ISO 8601 UTC, as sent
  std::string source;         // e.g. "PaymentService"
  std::string correlationId;  // empty when the envelope had none
  std::string partitionKey;   // the entity the message is about (an orderId)
  nlohmann::json payload;     // validated against <messageType>/<major>.<newest minor>.json
  /// The text of each payload number held as a double, by JSON pointer into the payload
  /// ("/amount" -> "149.99"); read numbers with writtenNumber(), never through the double.
  std::unordered_map<std::string, std::string> payloadNumberText;

  // Where it came from.
  std::string consumerName;  // this consumer's name (the inbox key's first half)
  std::string queue;         // the work queue
  std::string exchange;      // the exchange it was first published to (also after retries)
  std::string routingKey;    // its routing key then
  int attempt = 1;           // 1 on the first delivery, 2 on the first retry, ...
  bool redelivered = false;  // the broker delivered it before without an ack (a crash, a
                             // connection loss): it may have been applied already
  std::vector<MessageHeader> headers;
  /// The W3C trace context of this handler's work: a child span of the message's `traceparent`
  /// header (same trace id and flags, its `tracestate`, a new span id; parentSpanId = the
  /// sender's span), or the root of a new trace when the message has no traceparent or one that
  /// is not valid (a malformed header is ignored, never an error). Pass it on as the cause of
  /// what the handler does (OrderService's RequestContext::trace), so the events it causes stay
  /// in the sender's trace. Also this thread's currentTraceContext() while the handler runs.
  TraceContext trace;

  /// The payload's number at `pointer` ("/amount") as written (common/decimal.hpp reads it
  /// exactly); nullopt when there is no number there.
  std::optional<std::string> writtenNumber(const std::string& pointer) const;

  /// (consumer name, messageId): what an inbox records, e.g. RequestContext::inboxMessage.
  std::pair<std::string, std::string> inboxKey() const { return {consumerName, messageId}; }
};

/// A successful handler says whether it applied the message or recognised it as a duplicate
/// (for the counters and the logs; both are acknowledged).
enum class Handled { kApplied, kDuplicate };

/// The handler's answer. Success acknowledges the message. An Error is classified by its code:
///  - transient (kUnavailable, kInternal, or a thrown exception): retried with backoff through
///    the retry queues, dead-lettered once RetryPolicy::maxRetries is used up;
///  - permanent (kInvalidArgument, kNotFound, kTransitionNotAllowed, kConflict,
///    kPreconditionFailed): dead-lettered at once with the error as x-failure-reason, because
///    retrying cannot change the answer.
using HandlerResult = Result<Handled>;
using MessageHandler = std::function<HandlerResult(const InboundMessage&)>;

/// Who deduplicates a handler's messages.
enum class Deduplication {
  /// The runtime: it skips a messageId its Inbox already holds, and records it after the handler
  /// succeeded. Between the handler's effect and the record there is a window (a crash there
  /// applies the message again on redelivery), so the handler's effect should be idempotent or
  /// the handler should use kHandler. Requires an Inbox on the Consumer.
  kRuntime,
  /// The handler itself records message.inboxKey() in the same transaction as its effect
  /// (OrderService's RequestContext::inboxMessage, SqliteInbox::transact) and returns
  /// Handled::kDuplicate when the key was already there. Exactly-once effects.
  kHandler,
};

}  // namespace orders
