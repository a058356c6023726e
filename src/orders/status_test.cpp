// The lifecycle table, pair by pair: every allowed transition with its trigger, and every other
// pair of statuses refused.

#include "orders/status.hpp"

#include <gtest/gtest.h>

#include <map>
#include <utility>

namespace orders {
namespace {

using S = OrderStatus;
using T = Trigger;

const std::map<std::pair<S, S>, T>& expectedTransitions() {
  static const std::map<std::pair<S, S>, T> kExpected{
      {{S::kPendingPayment, S::kPaymentProcessing}, T::kStartPayment},
      {{S::kPendingPayment, S::kCancelled}, T::kCancel},
      {{S::kPaymentProcessing, S::kAwaitingFulfillment}, T::kPaymentCompleted},
      {{S::kPaymentProcessing, S::kPaymentFailed}, T::kPaymentFailed},
      {{S::kPaymentFailed, S::kPaymentProcessing}, T::kStartPayment},
      {{S::kPaymentFailed, S::kCancelled}, T::kCancel},
      {{S::kAwaitingFulfillment, S::kProcessing}, T::kManual},
      {{S::kAwaitingFulfillment, S::kAwaitingPickup}, T::kManual},
      {{S::kAwaitingFulfillment, S::kPartiallyShipped}, T::kShipment},
      {{S::kAwaitingFulfillment, S::kShipped}, T::kShipment},
      {{S::kAwaitingFulfillment, S::kCancelled}, T::kCancel},
      {{S::kProcessing, S::kAwaitingPickup}, T::kManual},
      {{S::kProcessing, S::kPartiallyShipped}, T::kShipment},
      {{S::kProcessing, S::kShipped}, T::kShipment},
      {{S::kProcessing, S::kCancelled}, T::kCancel},
      {{S::kAwaitingPickup, S::kDelivered}, T::kDelivery},
      {{S::kAwaitingPickup, S::kCancelled}, T::kCancel},
      {{S::kPartiallyShipped, S::kShipped}, T::kShipment},
      {{S::kShipped, S::kDelivered}, T::kDelivery},
  };
  return kExpected;
}

TEST(Lifecycle, EveryPairOfStatusesIsAllowedOrRefusedAsSpecified) {
  int allowed = 0;
  int refused = 0;
  for (S from : kAllStatuses) {
    for (S to : kAllStatuses) {
      const auto expected = expectedTransitions().find({from, to});
      const auto actual = transitionTrigger(from, to);
      if (expected == expectedTransitions().end()) {
        EXPECT_FALSE(actual.has_value())
            << toString(from) << " -> " << toString(to) << " must be refused";
        ++refused;
      } else {
        ASSERT_TRUE(actual.has_value()) << toString(from) << " -> " << toString(to);
        EXPECT_EQ(*actual, expected->second) << toString(from) << " -> " << toString(to);
        ++allowed;
      }
    }
  }
  EXPECT_EQ(allowed, 19);
  EXPECT_EQ(refused, 81);
}

TEST(Lifecycle, TerminalStatusesHaveNoWayOut) {
  for (S to : kAllStatuses) {
    EXPECT_FALSE(transitionTrigger(S::kDelivered, to).has_value());
    EXPECT_FALSE(transitionTrigger(S::kCancelled, to).has_value());
  }
}

TEST(Lifecycle, StatusKeysRoundTrip) {
  for (S status : kAllStatuses) EXPECT_EQ(parseOrderStatus(toString(status)), status);
  EXPECT_FALSE(parseOrderStatus("pending_payment").has_value());
  EXPECT_FALSE(parseOrderStatus("").has_value());
}

}  // namespace
}  // namespace orders
