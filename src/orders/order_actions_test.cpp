// The order actions: what each one changes, which events it emits, and what it refuses.

#include "orders/order_actions.hpp"

#include <gtest/gtest.h>

#include <set>

namespace orders {
namespace {

class CountingIds final : public IdGenerator {
 public:
  std::string uuid() override {
    char text[37];
    std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", ++next_);
    return text;
  }

 private:
  int next_ = 0;
};

std::vector<std::string> typesOf(const Change& change) {
  std::vector<std::string> types;
  for (const auto& event : change.events) types.emplace_back(messageTypeOf(event.data));
  return types;
}

class OrderActionsTest : public ::testing::Test {
 protected:
  ActionContext context() {
    return ActionContext{Timestamp(std::chrono::milliseconds(1700000000000)), "tester", ids_};
  }

  NewOrder newOrder() {
    NewOrder order;
    order.userId = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    order.currency = "USD";
    order.items = {{"prod-456", 1, 9999}, {"prod-789", 2, 2500}};
    order.customer = {"John Doe", "john.doe@example.com"};
    order.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
    return order;
  }

  Order created() { return createOrder(newOrder(), context()).value().order; }

  Order paid() {
    auto processing = startPayment(created(), context()).value().order;
    return applyPaymentResult(processing, {PaymentOutcome::kCompleted, "txn-1", "", ""}, context())
        .value()
        .order;
  }

  CountingIds ids_;
};

TEST_F(OrderActionsTest, CreateComputesTotalsAndEmitsTheThreeCreationEvents) {
  auto change = createOrder(newOrder(), context());
  ASSERT_TRUE(change.ok()) << change.error().message;
  EXPECT_EQ(change->order.status, OrderStatus::kPendingPayment);
  EXPECT_EQ(change->order.totalAmount, 14999);
  EXPECT_EQ(change->order.itemCount(), 2);
  EXPECT_EQ(change->order.version, 1);
  EXPECT_EQ(
      typesOf(*change),
      (std::vector<std::string>{"OrderCreatedEvent", "OrderConfirmationNotificationRequestedEvent",
                                "OrderPlacedForAnalyticsEvent"}));
}

TEST_F(OrderActionsTest, CreateRejectsInvalidInputNamingTheField) {
  struct Case {
    std::function<void(NewOrder&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases{
      {[](NewOrder& o) { o.userId = "not-a-uuid"; }, "userId"},
      {[](NewOrder& o) { o.currency = "usd"; }, "currency"},
      {[](NewOrder& o) { o.items.clear(); }, "items"},
      {[](NewOrder& o) { o.items[1].quantity = 0; }, "items/1/quantity"},
      {[](NewOrder& o) { o.items[0].quantity = -3; }, "items/0/quantity"},
      {[](NewOrder& o) { o.items[0].unitPrice = -1; }, "items/0/unitPrice"},
      {[](NewOrder& o) { o.items[0].productId = ""; }, "items/0/productId"},
      {[](NewOrder& o) { o.customer.email = "nobody"; }, "customerDetails/email"},
      {[](NewOrder& o) { o.customer.name = std::string(600, 'x'); }, "customerDetails/name"},
      {[](NewOrder& o) { o.customer.name = "bad\x01name"; }, "customerDetails/name"},
      {[](NewOrder& o) { o.customer.name = "bad\xff utf8"; }, "customerDetails/name"},
      {[](NewOrder& o) { o.shippingAddress.country = "XX"; }, "shippingAddress/country"},
      {[](NewOrder& o) { o.shippingAddress.country = "us"; }, "shippingAddress/country"},
      {[](NewOrder& o) {
         o.items[0] = {"p", 1'000'000, kMaxMinorUnits};
       },
       "items/0/unitPrice"},
  };
  for (const auto& c : cases) {
    NewOrder order = newOrder();
    c.mutate(order);
    auto change = createOrder(order, context());
    ASSERT_FALSE(change.ok()) << c.field;
    EXPECT_EQ(change.error().code, ErrorCode::kInvalidArgument) << c.field;
    EXPECT_EQ(change.error().field, c.field);
  }
}

TEST(DomainEvents, EveryEventTypeIsListedOnce) {
  std::set<std::string_view> listed(kOrderEventTypes.begin(), kOrderEventTypes.end());
  EXPECT_EQ(listed.size(), kOrderEventTypes.size());
  // One value of each alternative of the variant: its type name must be in the list.
  std::set<std::string_view> named;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (named.insert(messageTypeOf(DomainEventData(std::in_place_index<I>))), ...);
  }
  (std::make_index_sequence<std::variant_size_v<DomainEventData>>());
  EXPECT_EQ(named, listed);
}

TEST_F(OrderActionsTest, UnicodeNamesAreAccepted) {
  NewOrder order = newOrder();
  order.customer.name = "Zoë Ünal 山田太郎 🚀";
  EXPECT_TRUE(createOrder(order, context()).ok());
}

TEST_F(OrderActionsTest, PaymentFlowWithRetryAfterFailure) {
  const Order order = created();
  auto processing = startPayment(order, context());
  ASSERT_TRUE(processing.ok());
  EXPECT_EQ(typesOf(*processing),
            (std::vector<std::string>{"OrderStatusChangedEvent",
                                      "OrderPaymentProcessingInitiatedEvent"}));
  auto failed = applyPaymentResult(
      processing->order, {PaymentOutcome::kFailed, "txn-1", "card_declined", "Insufficient funds"},
      context());
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->order.status, OrderStatus::kPaymentFailed);
  EXPECT_EQ(typesOf(*failed),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderPaymentFailedEvent"}));
  auto retried = startPayment(failed->order, context());
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->order.payment.attempts, 2);
  auto completed =
      applyPaymentResult(retried->order, {PaymentOutcome::kCompleted, "txn-2", "", ""}, context());
  ASSERT_TRUE(completed.ok());
  EXPECT_EQ(completed->order.status, OrderStatus::kAwaitingFulfillment);
  EXPECT_EQ(completed->order.payment.paidAmount, 14999);
  EXPECT_EQ(completed->order.version, 5);
}

TEST_F(OrderActionsTest, RefusedTransitionsNameTheCurrentStatus) {
  const Order order = created();
  auto result = applyPaymentResult(order, {PaymentOutcome::kCompleted, "txn", "", ""}, context());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kTransitionNotAllowed);
  EXPECT_EQ(result.error().currentStatus, "PENDING_PAYMENT");
  EXPECT_FALSE(shipOrder(order, {"DHL", "T1", {}}, context()).ok());
  EXPECT_FALSE(changeStatus(order, {OrderStatus::kProcessing, "", std::nullopt}, context()).ok());
  auto viaGeneric = changeStatus(paid(), {OrderStatus::kShipped, "", std::nullopt}, context());
  ASSERT_FALSE(viaGeneric.ok());
  EXPECT_NE(viaGeneric.error().message.find("shipment"), std::string::npos);
}

TEST_F(OrderActionsTest, PartialShipmentsThenDeliveries) {
  const Order order = paid();
  auto first = shipOrder(order, {"DHL", "T1", {{"prod-789", 1}}}, context());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->order.status, OrderStatus::kPartiallyShipped);
  EXPECT_EQ(typesOf(*first),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderShippedEvent"}));
  EXPECT_FALSE(shipOrder(first->order, {"DHL", "T2", {{"prod-789", 2}}}, context()).ok());
  EXPECT_FALSE(shipOrder(first->order, {"DHL", "T2", {{"prod-000", 1}}}, context()).ok());

  auto second = shipOrder(first->order, {"UPS", "T2", {}}, context());  // the rest
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->order.status, OrderStatus::kShipped);
  ASSERT_EQ(second->order.shipments.size(), 2u);
  EXPECT_EQ(second->order.shipments[1].items.size(), 2u);
  EXPECT_FALSE(shipOrder(second->order, {"UPS", "T3", {}}, context()).ok());

  const auto firstId = second->order.shipments[0].id;
  const auto secondId = second->order.shipments[1].id;
  auto delivered1 = deliverOrder(second->order, {firstId, false}, context());
  ASSERT_TRUE(delivered1.ok());
  EXPECT_EQ(delivered1->order.status, OrderStatus::kShipped);
  EXPECT_EQ(typesOf(*delivered1), (std::vector<std::string>{"OrderDeliveredEvent"}));
  EXPECT_FALSE(deliverOrder(delivered1->order, {firstId, false}, context()).ok());
  auto delivered2 = deliverOrder(delivered1->order, {secondId, false}, context());
  ASSERT_TRUE(delivered2.ok());
  EXPECT_EQ(delivered2->order.status, OrderStatus::kDelivered);
  EXPECT_EQ(typesOf(*delivered2),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderDeliveredEvent"}));
}

TEST_F(OrderActionsTest, PickupOrders) {
  auto pickup =
      changeStatus(paid(), {OrderStatus::kAwaitingPickup, "store pickup", std::nullopt}, context());
  ASSERT_TRUE(pickup.ok());
  auto handedOver = deliverOrder(pickup->order, {std::nullopt, true}, context());
  ASSERT_TRUE(handedOver.ok());
  EXPECT_EQ(handedOver->order.status, OrderStatus::kDelivered);
  EXPECT_FALSE(deliverOrder(paid(), {std::nullopt, true}, context()).ok());
}

TEST_F(OrderActionsTest, RefundsNeverExceedWhatWasPaid) {
  EXPECT_EQ(requestRefund(created(), 100, "r", context()).error().code,
            ErrorCode::kTransitionNotAllowed);
  const Order order = paid();
  auto first = requestRefund(order, 10000, "damaged", context());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->order.refundableAmount(), 4999);
  EXPECT_EQ(requestRefund(first->order, 5000, "more", context()).error().field, "amount");
  EXPECT_EQ(requestRefund(first->order, 0, "zero", context()).error().field, "amount");
  auto second = requestRefund(first->order, 4999, "rest", context());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->order.refundableAmount(), 0);

  const RefundId refundId = second->order.refunds[0].id;
  auto processed = markRefundProcessed(second->order, refundId, "rtx-1", context());
  ASSERT_TRUE(processed.ok());
  EXPECT_EQ(typesOf(*processed), (std::vector<std::string>{"OrderRefundProcessedEvent"}));
  EXPECT_EQ(markRefundProcessed(processed->order, refundId, "rtx-1", context()).error().code,
            ErrorCode::kTransitionNotAllowed);
  EXPECT_EQ(markRefundProcessed(processed->order, RefundId("nope"), "rtx", context()).error().code,
            ErrorCode::kNotFound);
}

TEST_F(OrderActionsTest, CancelAndUpdateRules) {
  auto cancelled = cancelOrder(created(), "changed my mind", context());
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(typesOf(*cancelled),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderCancelledEvent"}));
  EXPECT_FALSE(cancelOrder(cancelled->order, "again", context()).ok());
  EXPECT_EQ(cancelOrder(created(), "", context()).error().field, "reason");

  OrderPatch patch;
  patch.shippingAddress = Address{"1 New St", "Newtown", "999", "DE"};
  auto updated = updateOrder(created(), patch, context());
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->order.version, 2);
  EXPECT_EQ(typesOf(*updated), (std::vector<std::string>{"OrderUpdatedEvent"}));
  auto same = updateOrder(updated->order, patch, context());
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->events.empty());
  EXPECT_EQ(same->order.version, 2);

  auto processing = changeStatus(paid(), {OrderStatus::kProcessing, "", std::nullopt}, context());
  ASSERT_TRUE(processing.ok());
  EXPECT_EQ(updateOrder(processing->order, patch, context()).error().code,
            ErrorCode::kTransitionNotAllowed);
}

}  // namespace
}  // namespace orders
