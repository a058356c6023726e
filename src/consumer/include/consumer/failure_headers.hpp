#pragma once
// The failure headers the consumer runtime puts on retry and dead-letter copies: a protocol
// between the runtime (message_processor.cpp, which writes and reads them) and the tools that
// inspect and replay a DLQ (broker/rabbitmq/consumer/dead_letter_admin.cpp). docs/consumers.md
// documents them for other services.
//
//   x-retry-count           retries so far (0 on the first delivery); +1 on every retry copy
//   x-original-exchange     where the message was first published (kept across retries)
//   x-original-routing-key  its routing key then
//   x-original-queue        the work queue (DLQ replay sends it back there)
//   x-failure-reason        why it failed, e.g. "transition not allowed: cannot ship an order
//                           in status CANCELLED" (dead-letter copies, and the last failure on
//                           retry copies)
//   x-failure-kind          invalid-message | unsupported-version | permanent-failure |
//                           retries-exhausted (dead-letter copies)
//   x-failed-at             ISO 8601 UTC (dead-letter copies)
//   x-attempts              how many times a handler (or the validation) saw it
//   x-consumer              the consumer's name
//   x-replay-count          how often `order-events dlq replay` sent it back (replayed copies)

namespace orders {

inline constexpr const char* kHeaderRetryCount = "x-retry-count";
inline constexpr const char* kHeaderOriginalExchange = "x-original-exchange";
inline constexpr const char* kHeaderOriginalRoutingKey = "x-original-routing-key";
inline constexpr const char* kHeaderOriginalQueue = "x-original-queue";
inline constexpr const char* kHeaderFailureReason = "x-failure-reason";
inline constexpr const char* kHeaderFailureKind = "x-failure-kind";
inline constexpr const char* kHeaderFailedAt = "x-failed-at";
inline constexpr const char* kHeaderAttempts = "x-attempts";
inline constexpr const char* kHeaderConsumer = "x-consumer";
/// Set by `order-events dlq replay`: how often the message was replayed from the DLQ.
inline constexpr const char* kHeaderReplayCount = "x-replay-count";

}  // namespace orders
