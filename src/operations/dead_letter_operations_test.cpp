// The grouping of dead letters by failure (no broker: the broker side is tested through the CLI
// and the operator API against a real one).

#include "operations/dead_letter_operations.hpp"

#include <gtest/gtest.h>

namespace orders::operations {
namespace {

DeadLetter letter(std::string id, std::string kind, std::string type, std::string reason,
                  std::string failedAt) {
  DeadLetter l;
  l.messageId = std::move(id);
  l.failureKind = std::move(kind);
  l.messageType = std::move(type);
  l.failureReason = std::move(reason);
  l.failedAt = std::move(failedAt);
  return l;
}

TEST(ReasonClass, ReplacesIdsAndNumbersOnly) {
  EXPECT_EQ(reasonClassOf("no order 3fa85f64-5717-4562-b3fc-2c963f66afa6"), "no order <id>");
  EXPECT_EQ(reasonClassOf("invalid JSON at byte 15: syntax error"),
            "invalid JSON at byte #: syntax error");
  EXPECT_EQ(reasonClassOf("digest 9f86d081884c7d65 does not match"), "digest <id> does not match");
  EXPECT_EQ(reasonClassOf("transition not allowed: cannot ship an order in status CANCELLED"),
            "transition not allowed: cannot ship an order in status CANCELLED");
  EXPECT_EQ(reasonClassOf("a\nb"), "a b");
  EXPECT_EQ(reasonClassOf(std::string(300, 'x')).size(), 163u);
}

TEST(FailureGroups, SameKindTypeAndClassGoTogetherLargestFirst) {
  const std::vector<DeadLetter> letters{
      letter("m1", "permanent-failure", "PaymentCompletedEvent",
             "no order 11111111-1111-4111-8111-111111111111", "2026-01-01T10:00:02Z"),
      letter("m2", "invalid-message", "PaymentCompletedEvent", "invalid JSON at byte 3", "x"),
      letter("m3", "permanent-failure", "PaymentCompletedEvent",
             "no order 22222222-2222-4222-8222-222222222222", "2026-01-01T10:00:01Z"),
      letter("m1", "permanent-failure", "PaymentCompletedEvent",
             "no order 11111111-1111-4111-8111-111111111111", "2026-01-01T10:00:03Z"),
      letter("m4", "permanent-failure", "ShipmentDispatchedEvent",
             "no order 33333333-3333-4333-8333-333333333333", "2026-01-01T10:00:00Z"),
  };
  const auto groups = groupByFailure(letters);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].reasonClass, "no order <id>");
  EXPECT_EQ(groups[0].messageType, "PaymentCompletedEvent");
  EXPECT_EQ(groups[0].count, 3);
  EXPECT_EQ(groups[0].messageIds, (std::vector<std::string>{"m1", "m3"}));
  EXPECT_EQ(groups[0].firstFailedAt, "2026-01-01T10:00:01Z");
  EXPECT_EQ(groups[0].lastFailedAt, "2026-01-01T10:00:03Z");
  EXPECT_EQ(groups[0].exampleReason, "no order 11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(groups[0].id.size(), 16u);
  EXPECT_NE(groups[1].id, groups[2].id);
  // Stable: the same letters give the same ids in the same order.
  const auto again = groupByFailure(letters);
  for (std::size_t i = 0; i < groups.size(); ++i) EXPECT_EQ(again[i].id, groups[i].id);
}

TEST(DeadLetterQueueOf, AcceptsTheWorkQueueOrTheDlq) {
  EXPECT_EQ(deadLetterQueueOf("order-service.payment-events"), "order-service.payment-events.dlq");
  EXPECT_EQ(deadLetterQueueOf("order-service.payment-events.dlq"),
            "order-service.payment-events.dlq");
}

TEST(DeadLetterOperations, RefusesAnEmptySelectionBeforeConnecting) {
  // An unreachable port: had it connected, the error would be kUnavailable.
  RabbitConnectionOptions options;
  options.url = "amqp://127.0.0.1:1/%2F";
  const DeadLetterOperations ops(options);
  auto replayed = ops.replay("q", Selection{}, "operator:test");
  ASSERT_FALSE(replayed);
  EXPECT_EQ(replayed.error().code, ErrorCode::kInvalidArgument);
  auto discarded = ops.discard("q", {}, "operator:test");
  ASSERT_FALSE(discarded);
  EXPECT_EQ(discarded.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace orders::operations
