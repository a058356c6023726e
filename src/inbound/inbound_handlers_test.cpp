// The inbound handlers without a broker: schemas and documented examples, the mapping of each
// message to its use case, deduplication through the inbox, and the extra amount checks.

#include "inbound/inbound_handlers.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "consumer/testing/consumer_test_support.hpp"
#include "inbound/testing/inbound_test_support.hpp"

namespace orders::inbound {
namespace {

using nlohmann::json;

const std::vector<std::string>& allTypes() {
  static const std::vector<std::string> types = [] {
    auto t = paymentMessageTypes();
    for (const auto& f : fulfillmentMessageTypes()) t.push_back(f);
    return t;
  }();
  return types;
}

/// The example envelope of docs/events/inbound/<type>.md.
json documentedExample(const std::string& type) {
  const auto path = std::filesystem::path(ORDER_SERVICE_SOURCE_DIR) / "docs" / "events" /
                    "inbound" / (type + ".md");
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  const std::string doc = text.str();
  const auto begin = doc.find("<!-- BEGIN EXAMPLE -->");
  const auto end = doc.find("<!-- END EXAMPLE -->");
  if (begin == std::string::npos || end == std::string::npos) return nullptr;
  const auto open = doc.find("```json", begin);
  const auto close = doc.find("```", open + 7);
  return json::parse(doc.substr(open + 7, close - open - 7));
}

/// What the runtime hands a handler for a validated envelope.
InboundMessage fromEnvelope(const json& envelope, const std::string& consumer) {
  InboundMessage m;
  m.messageId = envelope["messageId"];
  m.messageType = envelope["messageType"];
  m.messageVersion = envelope["messageVersion"];
  m.majorVersion = 1;
  m.correlationId = envelope.value("correlationId", "");
  m.partitionKey = envelope["partitionKey"];
  m.payload = envelope["payload"];
  m.consumerName = consumer;
  m.queue = consumer;
  return m;
}

TEST(InboundSchemas, EveryConsumedTypeHasASchemaAndAValidDocumentedExample) {
  auto schemas = SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR);
  ASSERT_TRUE(schemas.ok()) << schemas.error().message;
  for (const auto& type : allTypes()) {
    EXPECT_TRUE(schemas->knows(type, 1)) << type;
    const json example = documentedExample(type);
    ASSERT_FALSE(example.is_null()) << type << " needs an example in docs/events/inbound/";
    EXPECT_EQ(example["messageType"], type);
    auto valid = schemas->validateMessage(example);
    EXPECT_TRUE(valid.ok()) << type << ": " << valid.error().message;
    EXPECT_TRUE(toCommand(fromEnvelope(example, kPaymentQueue)).ok()) << type;
  }
}

TEST(InboundSchemas, ShipmentDeliveredNeedsExactlyOneOfShipmentIdAndPickup) {
  auto schemas = SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR).value();
  json message = documentedExample("ShipmentDeliveredEvent");
  EXPECT_TRUE(schemas.validateMessage(message).ok());
  message["payload"]["pickup"] = true;
  EXPECT_FALSE(schemas.validateMessage(message).ok());  // both
  message["payload"].erase("shipmentId");
  EXPECT_TRUE(schemas.validateMessage(message).ok());  // pickup only
  message["payload"]["pickup"] = false;
  EXPECT_FALSE(schemas.validateMessage(message).ok());  // pickup must be true
  message["payload"].erase("pickup");
  EXPECT_FALSE(schemas.validateMessage(message).ok());  // neither
}

TEST(InboundSchemas, PaymentsNeedAnAmountAndACurrency) {
  auto schemas = SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR).value();
  json message = documentedExample("PaymentCompletedEvent");
  message["payload"]["amount"] = -1;
  EXPECT_FALSE(schemas.validateMessage(message).ok());
  message["payload"]["amount"] = 1;
  message["payload"]["currency"] = "usd";
  EXPECT_FALSE(schemas.validateMessage(message).ok());
  message["payload"].erase("currency");
  EXPECT_FALSE(schemas.validateMessage(message).ok());
}

class InboundHandlersTest : public ::testing::Test {
 protected:
  OrderId paymentProcessingOrder() { return env_.createOrder(); }

  InboundMessage message(const std::string& type, json payload) {
    auto envelope = testing::envelope(type, "1.0", std::move(payload), testing::newMessageId(), "p",
                                      "PaymentService");
    envelope["correlationId"] = "corr-inbound";
    return fromEnvelope(envelope, kPaymentQueue);
  }

  InboundMessage completed(const OrderId& id, double amount = 89.98,
                           const std::string& currency = "USD") {
    return message("PaymentCompletedEvent", {{"orderId", id.str()},
                                             {"paymentTransactionId", "tx-1"},
                                             {"amount", amount},
                                             {"currency", currency},
                                             {"completedAt", "2024-05-01T10:00:00Z"}});
  }

  Order order(const OrderId& id) { return env_.order(id); }

  json lastEvent(const OrderId& id) {
    const auto rows = env_.outbox(id);
    return rows.empty() ? json() : json::parse(rows.back().body);
  }

  testing::ServiceOnSqlite env_{"inbound-unit"};
  OrderService& service_ = env_.service;
};

TEST_F(InboundHandlersTest, PaymentCompletedAppliesOnceWithTheEnvelopesContext) {
  const OrderId id = paymentProcessingOrder();
  const auto m = completed(id);
  EXPECT_EQ(apply(service_, m).value(), Handled::kApplied);
  EXPECT_EQ(apply(service_, m).value(), Handled::kDuplicate);
  const Order o = order(id);
  EXPECT_EQ(o.status, OrderStatus::kAwaitingFulfillment);
  EXPECT_EQ(o.payment.paymentTransactionId, "tx-1");
  EXPECT_EQ(o.payment.paidAmount, 8998);
  const json event = lastEvent(id);
  EXPECT_EQ(event["messageType"], "OrderPaymentCompletedEvent");
  EXPECT_EQ(event["correlationId"], "corr-inbound");
  EXPECT_EQ(event["payload"]["initiatedBy"], "PaymentService");
  EXPECT_TRUE(env_.store->contains({kPaymentQueue, m.messageId}).value());
}

TEST_F(InboundHandlersTest, TheEventsAHandlerCausesAreChildrenOfItsSpan) {
  const OrderId id = paymentProcessingOrder();
  auto m = completed(id);
  m.trace = continueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "congo=t61rcWkgMzE", env_.ids);
  const std::size_t before = env_.outbox(id).size();
  ASSERT_EQ(apply(service_, m).value(), Handled::kApplied);
  const auto rows = env_.outbox(id);
  ASSERT_EQ(rows.size(), before + 2);  // OrderStatusChangedEvent, OrderPaymentCompletedEvent
  std::set<std::string> spans{m.trace.spanId};
  for (std::size_t i = before; i < rows.size(); ++i) {
    const auto trace = parseTraceparent(rows[i].traceparent);
    ASSERT_TRUE(trace) << rows[i].messageType << ": " << rows[i].traceparent;
    EXPECT_EQ(trace->traceId, "4bf92f3577b34da6a3ce929d0e0e4736") << rows[i].messageType;
    EXPECT_TRUE(spans.insert(trace->parentId).second) << rows[i].messageType;
    EXPECT_EQ(rows[i].tracestate, "congo=t61rcWkgMzE");
  }
}

TEST_F(InboundHandlersTest, AWrongAmountOrCurrencyIsRefusedAndChangesNothing) {
  const OrderId id = paymentProcessingOrder();
  auto wrongAmount = apply(service_, completed(id, 89.97));
  ASSERT_FALSE(wrongAmount.ok());
  EXPECT_EQ(wrongAmount.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(wrongAmount.error().field, "amount");
  auto wrongCurrency = apply(service_, completed(id, 89.98, "EUR"));
  ASSERT_FALSE(wrongCurrency.ok());
  EXPECT_EQ(wrongCurrency.error().field, "currency");
  EXPECT_EQ(order(id).status, OrderStatus::kPaymentProcessing);
}

TEST_F(InboundHandlersTest, AmountsAndQuantitiesAreJudgedAsWritten) {
  const OrderId id = paymentProcessingOrder();
  // The double of 89.980000000000000001 is the double of 89.98; the runtime hands the handler the
  // text too (InboundMessage::payloadNumberText), and that is what counts.
  auto almost = completed(id);
  almost.payloadNumberText["/amount"] = "89.980000000000000001";
  auto refused = apply(service_, almost);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "amount");
  EXPECT_EQ(order(id).status, OrderStatus::kPaymentProcessing);
  auto exact = completed(id);
  exact.payloadNumberText["/amount"] = "8998e-2";
  ASSERT_EQ(apply(service_, exact).value(), Handled::kApplied);

  auto shipment = message("ShipmentDispatchedEvent",
                          {{"orderId", id.str()},
                           {"carrier", "DHL"},
                           {"trackingNumber", "T1"},
                           {"items", json::array({{{"productId", "prod-456"}, {"quantity", 1.0}}})},
                           {"dispatchedAt", "2024-05-01T10:00:00Z"}});
  shipment.payloadNumberText["/items/0/quantity"] = "1.0000000000000000001";
  auto notWhole = apply(service_, shipment);
  ASSERT_FALSE(notWhole.ok());
  EXPECT_EQ(notWhole.error().field, "payload/items/0/quantity");
  EXPECT_EQ(order(id).status, OrderStatus::kAwaitingFulfillment);
}

TEST_F(InboundHandlersTest, PaymentFailedRecordsTheFailure) {
  const OrderId id = paymentProcessingOrder();
  auto m = message("PaymentFailedEvent", {{"orderId", id.str()},
                                          {"paymentTransactionId", "tx-2"},
                                          {"failureCode", "card_declined"},
                                          {"failedAt", "2024-05-01T10:00:00Z"}});
  EXPECT_EQ(apply(service_, m).value(), Handled::kApplied);
  EXPECT_EQ(order(id).status, OrderStatus::kPaymentFailed);
  EXPECT_EQ(order(id).payment.lastFailureCode, "card_declined");
  EXPECT_EQ(lastEvent(id)["messageType"], "OrderPaymentFailedEvent");
}

TEST_F(InboundHandlersTest, APartialShipmentAndErrorsOfTheDomainPassThrough) {
  const OrderId id = paymentProcessingOrder();
  // Not paid yet: the same error the HTTP endpoint gives.
  auto early = apply(
      service_, message("ShipmentDispatchedEvent", {{"orderId", id.str()},
                                                    {"carrier", "DHL"},
                                                    {"trackingNumber", "T1"},
                                                    {"dispatchedAt", "2024-05-01T10:00:00Z"}}));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kTransitionNotAllowed);
  ASSERT_TRUE(apply(service_, completed(id)).ok());
  auto partial = message("ShipmentDispatchedEvent",
                         {{"orderId", id.str()},
                          {"carrier", "DHL"},
                          {"trackingNumber", "T1"},
                          {"items", json::array({{{"productId", "prod-456"}, {"quantity", 1}}})},
                          {"dispatchedAt", "2024-05-01T10:00:00Z"}});
  EXPECT_EQ(apply(service_, partial).value(), Handled::kApplied);
  EXPECT_EQ(order(id).status, OrderStatus::kPartiallyShipped);
  EXPECT_EQ(lastEvent(id)["payload"]["initiatedBy"], "FulfillmentService");
  auto unknownShipment =
      apply(service_, message("ShipmentDeliveredEvent", {{"orderId", id.str()},
                                                         {"shipmentId", testing::newUuid()},
                                                         {"deliveredAt", "2024-05-01T10:00:00Z"}}));
  ASSERT_FALSE(unknownShipment.ok());
  EXPECT_EQ(unknownShipment.error().code, ErrorCode::kNotFound);
  auto noOrder = apply(service_, completed(OrderId(testing::newUuid())));
  EXPECT_EQ(noOrder.error().code, ErrorCode::kNotFound);
}

TEST_F(InboundHandlersTest, RefundProcessedChecksTheRequestedAmount) {
  const OrderId id = paymentProcessingOrder();
  ASSERT_TRUE(apply(service_, completed(id)).ok());
  auto requested = service_.executeAndWait(
      id,
      [](const Order* o, const ActionContext& ctx) { return requestRefund(*o, 5000, "late", ctx); },
      RequestContext{});
  const RefundId refundId = requested.value().change.order.refunds.back().id;
  auto refund = [&](double amount) {
    return message("RefundProcessedEvent", {{"orderId", id.str()},
                                            {"refundId", refundId.str()},
                                            {"refundTransactionId", "re-1"},
                                            {"amount", amount},
                                            {"currency", "USD"},
                                            {"processedAt", "2024-05-01T10:00:00Z"}});
  };
  EXPECT_EQ(apply(service_, refund(49.99)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(apply(service_, refund(50.00)).value(), Handled::kApplied);
  EXPECT_EQ(order(id).findRefund(refundId)->status, RefundStatus::kProcessed);
  EXPECT_EQ(lastEvent(id)["messageType"], "OrderRefundProcessedEvent");
  // A second, different message for the same refund: refused, not applied twice.
  EXPECT_EQ(apply(service_, refund(50.00)).error().code, ErrorCode::kTransitionNotAllowed);
}

TEST(InboundCommand, AnotherTypeIsRefused) {
  InboundMessage m;
  m.messageType = "OrderCreatedEvent";
  m.payload = {{"orderId", "f47ac10b-58cc-4372-a567-0e02b2c3d479"}};
  EXPECT_EQ(toCommand(m).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace orders::inbound
