// The Order Service consuming payment and fulfilment events (InboundEvents) against a real broker
// and a real SQLite file: the transitions and outgoing events of each message, one effect per
// message, permanent failures dead-lettered with the reason. That a message produces exactly the
// events of the matching HTTP endpoint is tests/component/inbound_http_parity_rmqtest.cpp.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "inbound/testing/inbound_rmq_test_support.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::InboundEventsRmqTest;
using testing::waitFor;

TEST_F(InboundEventsRmqTest, ARedeliveredPaymentMessageHasOneEffect) {
  startInbound();
  const OrderId id = createOrder();
  const auto messageId = testing::newMessageId();
  for (int i = 0; i < 3; ++i) paymentCompleted(id, "corr-dup", 89.98, messageId);
  ASSERT_TRUE(waitFor([&] { return inbound_->status().payments.settled() == 3; }));
  const auto status = inbound_->status().payments;
  EXPECT_EQ(status.applied, 1u);
  EXPECT_EQ(status.duplicates, 2u);
  EXPECT_EQ(status.deadLettered, 0u);
  const auto rows = outbox(id);
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(),
                          [](const OutboxMessage& r) {
                            return r.messageType == "OrderPaymentCompletedEvent";
                          }),
            1);
  EXPECT_TRUE(env_.store->contains({options_.paymentQueue, messageId}).value());
}

TEST_F(InboundEventsRmqTest, ATransitionTheOrderCannotMakeIsDeadLetteredWithTheReason) {
  startInbound();
  const OrderId pending = createOrder(/*startPayment=*/false);
  const OrderId processing = createOrder();
  const auto notAllowed = paymentCompleted(pending);
  const auto unknownOrder = paymentCompleted(OrderId(testing::newUuid()));
  const auto wrongAmount = paymentCompleted(processing, "", 10.00);
  ASSERT_TRUE(waitFor([&] { return inbound_->status().payments.deadLettered == 3; }));
  EXPECT_EQ(inbound_->status().payments.retried, 0u);  // permanent: no retry loop
  EXPECT_EQ(order(pending).status, OrderStatus::kPendingPayment);
  EXPECT_EQ(order(processing).status, OrderStatus::kPaymentProcessing);
  std::map<std::string, DeadLetter> byId;
  for (auto& l : deadLetters(options_.paymentQueue)) byId[l.messageId] = l;
  ASSERT_EQ(byId.size(), 3u);
  EXPECT_EQ(byId[notAllowed].failureKind, "permanent-failure");
  EXPECT_NE(byId[notAllowed].failureReason.find("transition-not-allowed"), std::string::npos)
      << byId[notAllowed].failureReason;
  EXPECT_NE(byId[notAllowed].failureReason.find("PENDING_PAYMENT"), std::string::npos);
  EXPECT_NE(byId[unknownOrder].failureReason.find("not-found"), std::string::npos)
      << byId[unknownOrder].failureReason;
  EXPECT_NE(byId[wrongAmount].failureReason.find("does not match"), std::string::npos)
      << byId[wrongAmount].failureReason;
  EXPECT_EQ(byId[wrongAmount].originalExchange, options_.paymentExchange);
  EXPECT_EQ(byId[wrongAmount].originalRoutingKey, "PaymentCompletedEvent");
}

TEST_F(InboundEventsRmqTest, ShipmentsDeliveriesAndRefundsFollowTheLifecycle) {
  startInbound();
  const OrderId id = createOrder();
  paymentCompleted(id);
  ASSERT_TRUE(waitFor([&] { return order(id).status == OrderStatus::kAwaitingFulfillment; }));

  publish(options_.fulfillmentExchange, "ShipmentDispatchedEvent",
          {{"orderId", id.str()},
           {"carrier", "DHL"},
           {"trackingNumber", "JD0146000033"},
           {"dispatchedAt", "2024-05-02T08:00:00.000Z"}},
          id.str(), "corr-ship");
  ASSERT_TRUE(waitFor([&] { return order(id).status == OrderStatus::kShipped; }));
  const Order shipped = order(id);
  ASSERT_EQ(shipped.shipments.size(), 1u);
  EXPECT_EQ(shipped.shipments[0].carrier, "DHL");
  auto rows = outbox(id);
  const json shippedEvent = json::parse(rows.back().body);
  EXPECT_EQ(shippedEvent["messageType"], "OrderShippedEvent");
  EXPECT_EQ(shippedEvent["correlationId"], "corr-ship");
  EXPECT_EQ(shippedEvent["payload"]["initiatedBy"], "FulfillmentService");
  EXPECT_EQ(shippedEvent["payload"]["shipmentId"], shipped.shipments[0].id.str());

  publish(options_.fulfillmentExchange, "ShipmentDeliveredEvent",
          {{"orderId", id.str()},
           {"shipmentId", shipped.shipments[0].id.str()},
           {"deliveredAt", "2024-05-03T08:00:00.000Z"}},
          id.str());
  ASSERT_TRUE(waitFor([&] { return order(id).status == OrderStatus::kDelivered; }));

  // A refund requested through the API, paid out by the Payment Service.
  auto requested = service_.executeAndWait(
      id,
      [](const Order* o, const ActionContext& ctx) {
        return requestRefund(*o, 1999, "damaged item", ctx);
      },
      RequestContext{});
  ASSERT_TRUE(requested.ok());
  const RefundId refundId = requested->change.order.refunds.back().id;
  publish(options_.paymentExchange, "RefundProcessedEvent",
          {{"orderId", id.str()},
           {"refundId", refundId.str()},
           {"refundTransactionId", "refund-tx-9"},
           {"amount", 19.99},
           {"currency", "USD"},
           {"processedAt", "2024-05-04T08:00:00.000Z"}},
          id.str());
  ASSERT_TRUE(waitFor([&] {
    const Order current = order(id);
    const Refund* r = current.findRefund(refundId);
    return r != nullptr && r->status == RefundStatus::kProcessed;
  }));
  EXPECT_EQ(order(id).findRefund(refundId)->refundTransactionId, "refund-tx-9");
  EXPECT_EQ(outbox(id).back().messageType, "OrderRefundProcessedEvent");

  // Delivering the same shipment again (a new message, not a redelivery) is refused for good.
  publish(options_.fulfillmentExchange, "ShipmentDeliveredEvent",
          {{"orderId", id.str()}, {"pickup", true}, {"deliveredAt", "2024-05-05T08:00:00.000Z"}},
          id.str());
  ASSERT_TRUE(waitFor([&] { return inbound_->status().fulfillment.deadLettered == 1; }));
  const auto status = inbound_->status();
  EXPECT_EQ(status.payments.applied, 2u);
  EXPECT_EQ(status.fulfillment.applied, 2u);
  EXPECT_EQ(status.payments.state, ConsumerStatus::State::kConnected);
}

TEST_F(InboundEventsRmqTest, QueuesAreQuorumAndBoundToExactlyTheirRoutingKeys) {
  startInbound();
  std::string output;
  auto& broker = orders::testing::RabbitMqServer::shared();
  ASSERT_EQ(broker.rabbitmqctl({"list_bindings", "-q", "--no-table-headers", "source_name",
                                "destination_name", "routing_key"},
                               &output),
            0)
      << output;
  std::set<std::string> payment;
  std::set<std::string> fulfillment;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string source, destination, key;
    fields >> source >> destination >> key;
    if (source == options_.paymentExchange && destination == options_.paymentQueue)
      payment.insert(key);
    if (source == options_.fulfillmentExchange && destination == options_.fulfillmentQueue)
      fulfillment.insert(key);
  }
  EXPECT_EQ(payment, (std::set<std::string>{"PaymentCompletedEvent", "PaymentFailedEvent",
                                            "RefundProcessedEvent"}));
  EXPECT_EQ(fulfillment,
            (std::set<std::string>{"ShipmentDeliveredEvent", "ShipmentDispatchedEvent"}));
  ASSERT_EQ(
      broker.rabbitmqctl({"list_queues", "-q", "--no-table-headers", "name", "type"}, &output), 0);
  std::map<std::string, std::string> types;
  std::istringstream queues(output);
  for (std::string line; std::getline(queues, line);) {
    std::istringstream fields(line);
    std::string name, type;
    fields >> name >> type;
    types[name] = type;
  }
  for (const auto& q : {options_.paymentQueue, options_.fulfillmentQueue}) {
    EXPECT_EQ(types[q], "quorum") << q;
    EXPECT_EQ(types[deadLetterQueueName(q)], "quorum") << q;
    EXPECT_EQ(types[retryQueueName(q, 1)], "quorum") << q;
    EXPECT_EQ(types[retryQueueName(q, 2)], "quorum") << q;
  }
}

}  // namespace
}  // namespace orders
