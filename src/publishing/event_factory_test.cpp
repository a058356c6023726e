#include "publishing/event_factory.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "event_test_support.hpp"
#include "events/order_event_types.hpp"
#include "events/routing_key.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::FixedIds;
using testing::kCorrelationId;
using testing::kOrderId;
using testing::kUser;
using testing::kUserId;

const SchemaRegistry& registry() {
  return testing::publishedSchemas();
}

struct Rendered {
  EncodedMessage row;
  json envelope;
};

std::vector<Rendered> render(IdGenerator& ids, const Change& change,
                             const std::string& correlationId = kCorrelationId,
                             std::int64_t firstSequence = 1, EventFactoryOptions options = {}) {
  EventFactory factory(registry(), ids, std::move(options));
  auto result = factory.render(change, firstSequence, correlationId, TraceContext{});
  EXPECT_TRUE(result.ok()) << result.error().message;
  std::vector<Rendered> out;
  if (!result.ok()) return out;
  for (auto& row : result.value()) {
    json envelope = json::parse(row.body);
    out.push_back({std::move(row), std::move(envelope)});
  }
  return out;
}

/// The payload of the only message of `type` among `messages`.
json payloadOf(const std::vector<Rendered>& messages, const std::string& type) {
  const json* found = nullptr;
  for (const auto& message : messages) {
    if (message.row.messageType != type) continue;
    EXPECT_EQ(found, nullptr) << "two " << type;
    found = &message.envelope.at("payload");
  }
  EXPECT_NE(found, nullptr) << "no " << type;
  return found ? *found : json();
}

std::vector<std::string> typesOf(const std::vector<Rendered>& messages) {
  std::vector<std::string> types;
  types.reserve(messages.size());
  for (const auto& message : messages) types.push_back(message.row.messageType);
  return types;
}

/// Every change of every story, in order: the whole catalogue as the service produces it.
struct AllStories {
  FixedIds ids{{kOrderId}};
  testing::OrderStory story{ids};
  testing::PickupStory pickup{ids};
  testing::CancelStory cancel{ids};

  std::vector<const Change*> changes() const {
    return {&story.created,         &story.updated,         &story.paymentStarted,
            &story.paymentFailed,   &story.paymentRetried,  &story.paid,
            &story.shippedPart,     &story.shippedRest,     &story.deliveredFirst,
            &story.deliveredAll,    &story.refundRequested, &story.refundProcessed,
            &pickup.readyForPickup, &pickup.pickedUp,       &cancel.cancelled};
  }
};

TEST(EventFactory, EveryEnvelopeFollowsTheStandardMessageContract) {
  AllStories all;
  std::set<std::string> types;
  for (const Change* change : all.changes()) {
    const std::int64_t first = 7;
    const auto messages = render(all.ids, *change, kCorrelationId, first);
    ASSERT_EQ(messages.size(), change->events.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const auto& [row, envelope] = messages[i];
      const auto& event = change->events[i];
      types.insert(row.messageType);
      SCOPED_TRACE(row.messageType);
      // The envelope, field by field.
      ASSERT_TRUE(envelope.is_object());
      EXPECT_EQ(envelope.size(), 8u) << envelope.dump(2);
      const std::string messageId = envelope.at("messageId");
      EXPECT_EQ(messageId.rfind("msg-", 0), 0u);
      EXPECT_TRUE(isUuid(messageId.substr(4))) << messageId;
      EXPECT_EQ(envelope.at("messageType"), messageTypeOf(event.data));
      EXPECT_EQ(envelope.at("messageVersion"), "1.0");
      EXPECT_EQ(envelope.at("timestamp"), formatIso8601(event.occurredAt));
      EXPECT_TRUE(std::regex_match(envelope.at("timestamp").get<std::string>(),
                                   std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
      EXPECT_EQ(envelope.at("source"), "OrderService");
      EXPECT_EQ(envelope.at("correlationId"), kCorrelationId);
      EXPECT_EQ(envelope.at("partitionKey"), change->order.id.str());
      EXPECT_EQ(envelope.at("payload").at("orderId"), change->order.id.str());
      EXPECT_EQ(envelope.at("payload").at("userId"), change->order.userId.str());
      // The encoded message mirrors the envelope.
      EXPECT_EQ(row.messageId, messageId);
      EXPECT_EQ(row.messageType, envelope.at("messageType"));
      EXPECT_EQ(row.messageVersion, "1.0");
      EXPECT_EQ(row.partitionKey, change->order.id.str());
      EXPECT_EQ(row.sequence, first + static_cast<std::int64_t>(i));
      EXPECT_EQ(row.correlationId, kCorrelationId);
      EXPECT_EQ(row.source, "OrderService");
      EXPECT_EQ(row.timestamp, event.occurredAt);
      // Compact JSON (no white space), each key once: the text is its own compact dump with the
      // members kept in their written order.
      EXPECT_EQ(row.body, nlohmann::ordered_json::parse(row.body).dump());
      // And it is valid, as text too (that is what consumers receive).
      EXPECT_TRUE(registry().validateMessage(std::string_view(row.body)).ok());
    }
  }
  EXPECT_EQ(types.size(), kPublishedMessageTypes.size());
  for (const auto type : kPublishedMessageTypes) EXPECT_EQ(types.count(std::string(type)), 1u);
}

TEST(EventFactory, MessageIdsComeFromTheIdGeneratorAndCorrelationIdIsOptional) {
  FixedIds storyIds({kOrderId});
  testing::OrderStory story(storyIds);
  FixedIds ids({"6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b", "0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e"});
  const auto messages = render(ids, story.paid, "");
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].row.messageId, "msg-6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b");
  EXPECT_EQ(messages[1].envelope.at("messageId"), "msg-0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e");
  for (const auto& message : messages) {
    EXPECT_FALSE(message.envelope.contains("correlationId"));
    EXPECT_EQ(message.row.correlationId, "");
  }
}

TEST(EventFactory, EachEventGetsASpanOfItsOwnInTheTraceOfItsCause) {
  FixedIds storyIds({kOrderId});
  testing::OrderStory story(storyIds);
  FixedIds ids;
  const TraceContext request = continueTrace(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE", ids);
  EventFactory factory(registry(), ids);
  const auto messages = factory.render(story.created, 1, kCorrelationId, request);
  ASSERT_TRUE(messages.ok()) << messages.error().message;
  ASSERT_EQ(messages->size(), 3u);
  std::set<std::string> spans{request.spanId};
  for (const auto& message : *messages) {
    const auto parsed = parseTraceparent(message.traceparent);
    ASSERT_TRUE(parsed) << message.traceparent;
    EXPECT_EQ(parsed->traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(parsed->flags, 1);
    EXPECT_TRUE(spans.insert(parsed->parentId).second) << "span ids repeat: " << parsed->parentId;
    EXPECT_EQ(message.tracestate, "congo=t61rcWkgMzE");
    // Transport metadata, not part of the envelope (whose schema does not have it).
    EXPECT_EQ(message.body.find(request.traceId), std::string::npos);
  }
  // Without a cause, no trace context at all.
  const auto untraced = factory.render(story.created, 1, kCorrelationId, TraceContext{});
  ASSERT_TRUE(untraced.ok());
  for (const auto& message : *untraced) {
    EXPECT_EQ(message.traceparent, "");
    EXPECT_EQ(message.tracestate, "");
  }
}

TEST(EventFactory, AChangeWithoutEventsRendersNothing) {
  FixedIds ids;
  Change unchanged;
  EventFactory factory(registry(), ids);
  const auto result = factory.render(unchanged, 1, "", TraceContext{});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->empty());
}

TEST(OrderCreatedEvent, IsExactlyTheSeedExample) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const auto messages = render(ids, story.created);
  EXPECT_EQ(
      typesOf(messages),
      (std::vector<std::string>{"OrderCreatedEvent", "OrderConfirmationNotificationRequestedEvent",
                                "OrderPlacedForAnalyticsEvent"}));
  const auto& envelope = messages.at(0).envelope;
  EXPECT_EQ(envelope.at("timestamp"), "2023-11-21T12:34:56.789Z");
  EXPECT_EQ(envelope.at("partitionKey"), kOrderId);
  const json& payload = envelope.at("payload");
  // Field by field, as in the seed's OrderCreatedEvent example (ids are UUIDs here).
  EXPECT_EQ(payload.at("orderId"), kOrderId);
  EXPECT_EQ(payload.at("userId"), kUserId);
  EXPECT_EQ(payload.at("orderDate"), "2023-11-21T12:34:56.789Z");
  EXPECT_EQ(payload.at("status"), "PENDING_PAYMENT");
  EXPECT_EQ(payload.at("totalAmount"), 149.99);
  EXPECT_EQ(payload.at("currency"), "USD");
  EXPECT_EQ(payload.at("itemCount"), 2);
  EXPECT_EQ(payload.at("customerDetails"),
            json::parse(R"({"name": "John Doe", "email": "john.doe@example.com"})"));
  EXPECT_EQ(payload.at("shippingAddress"), json::parse(R"({"street": "123 Main St",
      "city": "Anytown", "postalCode": "12345", "country": "US"})"));
  EXPECT_EQ(payload.at("items"), json::parse(R"([
      {"productId": "prod-456", "quantity": 1, "unitPrice": 99.99},
      {"productId": "prod-789", "quantity": 1, "unitPrice": 50.00}])"));
  EXPECT_EQ(payload.size(), 10u) << "nothing beyond the seed's fields: " << payload.dump(2);
  // Money is a JSON number with the decimal's own digits, not 149.98999999999999.
  EXPECT_NE(messages.at(0).row.body.find(R"("totalAmount":149.99)"), std::string::npos);
  EXPECT_NE(messages.at(0).row.body.find(R"("unitPrice":99.99)"), std::string::npos);
}

EventFactoryOptions bothCreatedMajors() {
  EventFactoryOptions options;
  options.versions = PublishedVersions::parse({"OrderCreatedEvent=1.0,2.0"}).value();
  return options;
}

TEST(OrderCreatedEventV2, IsTheSameOrderWithMoneyInMinorUnits) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  EventFactoryOptions onlyV2;
  onlyV2.versions = PublishedVersions::parse({"OrderCreatedEvent=2.0"}).value();
  const auto messages = render(ids, story.created, kCorrelationId, 1, onlyV2);
  ASSERT_EQ(messages.size(), 3u);
  const auto& v2 = messages.at(0);
  EXPECT_EQ(v2.row.messageType, "OrderCreatedEvent");
  EXPECT_EQ(v2.row.messageVersion, "2.0");
  EXPECT_EQ(v2.envelope.at("messageVersion"), "2.0");
  const json& payload = v2.envelope.at("payload");
  EXPECT_EQ(payload.at("totalAmount"), json::parse(R"({"amount": 14999, "currency": "USD"})"));
  EXPECT_EQ(payload.at("items"), json::parse(R"([
      {"productId": "prod-456", "quantity": 1, "unitPrice": {"amount": 9999, "currency": "USD"}},
      {"productId": "prod-789", "quantity": 1, "unitPrice": {"amount": 5000, "currency": "USD"}}])"));
  EXPECT_FALSE(payload.contains("currency")) << "2.0 has no separate currency field";
  EXPECT_EQ(payload.at("orderId"), kOrderId);
  EXPECT_EQ(payload.at("status"), "PENDING_PAYMENT");
  EXPECT_EQ(payload.at("itemCount"), 2);
  EXPECT_EQ(payload.size(), 9u) << payload.dump(2);
  EXPECT_TRUE(registry().validateMessage(v2.row.body).ok());
  EXPECT_EQ(messages.at(1).row.messageVersion, "1.0") << "the other types stay at 1.0";
}

TEST(OrderCreatedEventV2, AYenOrderHasNoMinorDigitsToScale) {
  FixedIds ids({kOrderId});
  NewOrder order = testing::seedOrder();
  order.currency = "JPY";
  order.items = {{"prod-456", 2, 1500}};
  const auto created = testing::step([&] {
    return createOrder(order, ActionContext{testing::at("2023-11-21T12:34:56.789Z"), kUser, ids});
  });
  const auto messages = render(ids, created, kCorrelationId, 1, bothCreatedMajors());
  ASSERT_GE(messages.size(), 2u);
  EXPECT_EQ(messages.at(0).envelope.at("payload").at("totalAmount"), 3000);
  EXPECT_EQ(messages.at(1).envelope.at("payload").at("totalAmount"),
            json::parse(R"({"amount": 3000, "currency": "JPY"})"));
}

TEST(EventFactory, BothMajorsOfOneDomainEventAreTwoRowsWithOneSequenceNumber) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const auto messages = render(ids, story.created, kCorrelationId, 5, bothCreatedMajors());
  ASSERT_EQ(story.created.events.size(), 3u);
  ASSERT_EQ(messages.size(), 4u) << "one row per version of OrderCreatedEvent";
  const auto& v1 = messages.at(0).row;
  const auto& v2 = messages.at(1).row;
  EXPECT_EQ(v1.messageType, "OrderCreatedEvent");
  EXPECT_EQ(v1.messageVersion, "1.0");
  EXPECT_EQ(v2.messageType, "OrderCreatedEvent");
  EXPECT_EQ(v2.messageVersion, "2.0");
  EXPECT_NE(v1.messageId, v2.messageId);
  EXPECT_EQ(v1.partitionKey, v2.partitionKey);
  EXPECT_EQ(v1.partitionKey, kOrderId);
  EXPECT_EQ(v1.timestamp, v2.timestamp);
  EXPECT_EQ(v1.correlationId, v2.correlationId);
  // The sequence numbers domain events, so a consumer of either major sees no gap.
  EXPECT_EQ(v1.sequence, 5);
  EXPECT_EQ(v2.sequence, 5);
  EXPECT_EQ(messages.at(2).row.sequence, 6);
  EXPECT_EQ(messages.at(3).row.sequence, 7);
  for (const auto& m : messages) {
    EXPECT_TRUE(registry().validateMessage(m.row.body).ok()) << m.row.body;
  }
  // The same amounts in both, in their own units.
  EXPECT_EQ(messages.at(0).envelope.at("payload").at("totalAmount"), 149.99);
  EXPECT_EQ(messages.at(1).envelope.at("payload").at("totalAmount").at("amount"), 14999);
}

TEST(EventFactory, AVersionThatFailsItsSchemaFailsTheWholeChange) {
  // A copy of schemas/ whose OrderCreatedEvent 2.0 demands a field the code does not render:
  // the 1.0 rendering succeeds, the 2.0 one fails, and nothing of the change is returned.
  testing::TempDir dir("drifted-schemas");
  std::filesystem::copy(ORDER_SERVICE_SCHEMA_DIR, dir.path(),
                        std::filesystem::copy_options::recursive);
  const auto file = dir.path() / "events" / "OrderCreatedEvent" / "2.0.json";
  json schema = json::parse(std::ifstream(file));
  schema["required"].push_back("loyaltyTier");
  std::ofstream(file) << schema.dump(2);
  const auto drifted = SchemaRegistry::load(dir.path().string()).value();

  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  EventFactory factory(drifted, ids, bothCreatedMajors());
  const auto result = factory.render(story.created, 1, kCorrelationId, TraceContext{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInternal);
  EXPECT_NE(result.error().message.find("OrderCreatedEvent 2.0 does not match its schema"),
            std::string::npos)
      << result.error().message;
}

TEST(EventFactory, RefusesToStartWithoutTheSchemaOfAConfiguredVersion) {
  testing::TempDir dir("no-v2-schemas");
  std::filesystem::copy(ORDER_SERVICE_SCHEMA_DIR, dir.path(),
                        std::filesystem::copy_options::recursive);
  std::filesystem::remove(dir.path() / "events" / "OrderCreatedEvent" / "2.0.json");
  const auto withoutV2 = SchemaRegistry::load(dir.path().string()).value();
  EXPECT_TRUE(checkPublishedSchemas(withoutV2).ok()) << "the default publishes 1.0 only";
  const auto status = checkPublishedSchemas(withoutV2, bothCreatedMajors().versions);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("no schema for OrderCreatedEvent version 2.0"),
            std::string::npos)
      << status.error().message;
}

TEST(OrderStatusChangedEvent, IsExactlyTheSeedExample) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const auto messages = render(ids, story.paid);
  EXPECT_EQ(typesOf(messages),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderPaymentCompletedEvent"}));
  const auto& envelope = messages.at(0).envelope;
  EXPECT_EQ(envelope.at("timestamp"), "2023-11-22T14:35:12.487Z");
  EXPECT_EQ(envelope.at("partitionKey"), kOrderId);
  const json& payload = envelope.at("payload");
  EXPECT_EQ(payload.at("orderId"), kOrderId);
  EXPECT_EQ(payload.at("userId"), kUserId);
  EXPECT_EQ(payload.at("previousStatus"), "PAYMENT_PROCESSING");
  EXPECT_EQ(payload.at("newStatus"), "AWAITING_FULFILLMENT");
  EXPECT_EQ(payload.at("statusChangeTimestamp"), "2023-11-22T14:35:12.487Z");
  EXPECT_EQ(payload.at("reason"), "Payment successfully processed");
  EXPECT_EQ(payload.at("initiatedBy"), "PaymentServiceCallback");
  EXPECT_EQ(payload.at("changeContext"),
            json::parse(R"({"paymentTransactionId": "txn_123abc456efg"})"));
  EXPECT_EQ(payload.at("currentOrderSummary"),
            json::parse(R"({"totalAmount": 149.99, "currency": "USD", "itemCount": 2})"));
  EXPECT_EQ(payload.size(), 9u) << payload.dump(2);
}

TEST(OrderStatusChangedEvent, LeavesOutEmptyReasonUnknownInitiatorAndAbsentContext) {
  FixedIds ids({kOrderId});
  const auto created = testing::step([&] {
    return createOrder(testing::seedOrder(),
                       ActionContext{testing::at("2023-11-21T12:34:56.789Z"), "", ids});
  });
  const auto started = testing::step([&] {
    return startPayment(created.order,
                        ActionContext{testing::at("2023-11-21T12:35:00.000Z"), "", ids});
  });
  const json payload = payloadOf(render(ids, started), "OrderStatusChangedEvent");
  EXPECT_EQ(payload, json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "previousStatus": "PENDING_PAYMENT",
      "newStatus": "PAYMENT_PROCESSING",
      "statusChangeTimestamp": "2023-11-21T12:35:00.000Z",
      "currentOrderSummary": {"totalAmount": 149.99, "currency": "USD", "itemCount": 2}})"));
  // Nor does any other event carry an empty initiatedBy.
  EXPECT_FALSE(payloadOf(render(ids, started), "OrderPaymentProcessingInitiatedEvent")
                   .contains("initiatedBy"));
}

TEST(OrderStatusChangedEvent, MergesTheCallersChangeContext) {
  FixedIds ids;
  testing::PickupStory pickup(ids);
  const json payload = payloadOf(render(ids, pickup.readyForPickup), "OrderStatusChangedEvent");
  EXPECT_EQ(payload.at("previousStatus"), "AWAITING_FULFILLMENT");
  EXPECT_EQ(payload.at("newStatus"), "AWAITING_PICKUP");
  EXPECT_EQ(payload.at("reason"), "Ready for pickup in store");
  EXPECT_EQ(payload.at("initiatedBy"), "store-007");
  EXPECT_EQ(payload.at("changeContext"), json::parse(R"({"pickupLocationId": "store-007",
      "pickupReadyBy": "2023-11-24T17:00:00Z"})"));
}

TEST(OrderStatusChangedEvent, PaymentFailureCarriesTheSeedsContextKeys) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const json payload = payloadOf(render(ids, story.paymentFailed), "OrderStatusChangedEvent");
  EXPECT_EQ(payload.at("newStatus"), "PAYMENT_FAILED");
  EXPECT_EQ(payload.at("changeContext"), json::parse(R"({"paymentFailureCode": "card_declined",
      "paymentGatewayMessage": "Insufficient funds"})"));
}

TEST(OrderUpdatedEvent, CarriesTheChangedFieldsAndTheirNewValues) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const auto messages = render(ids, story.updated);
  EXPECT_EQ(typesOf(messages), (std::vector<std::string>{"OrderUpdatedEvent"}));
  EXPECT_EQ(messages.at(0).envelope.at("payload"), json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "changedFields": ["shippingAddress"],
      "shippingAddress": {"street": "456 Oak Ave", "city": "Anytown", "postalCode": "12345",
                          "country": "US"},
      "version": 2,
      "updatedAt": "2023-11-21T12:40:00.000Z",
      "initiatedBy": "user:3fa85f64-5717-4562-b3fc-2c963f66afa6"})"));

  OrderPatch both;
  both.customer = CustomerDetails{"Jane Doe", "jane.doe@example.com"};
  both.shippingAddress = Address{"1 Elm St", "Othertown", "54321", "CA"};
  const auto updated = testing::step([&] {
    return updateOrder(story.updated.order, both,
                       ActionContext{testing::at("2023-11-21T13:00:00.000Z"), kUser, ids});
  });
  const json payload = payloadOf(render(ids, updated), "OrderUpdatedEvent");
  EXPECT_EQ(payload.at("changedFields"), json::parse(R"(["customerDetails", "shippingAddress"])"));
  EXPECT_EQ(payload.at("customerDetails"),
            json::parse(R"({"name": "Jane Doe", "email": "jane.doe@example.com"})"));
  EXPECT_EQ(payload.at("shippingAddress").at("country"), "CA");
  EXPECT_EQ(payload.at("version"), 3);
}

TEST(OrderPaymentProcessingInitiatedEvent, CountsAttempts) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  auto messages = render(ids, story.paymentStarted);
  EXPECT_EQ(typesOf(messages), (std::vector<std::string>{"OrderStatusChangedEvent",
                                                         "OrderPaymentProcessingInitiatedEvent"}));
  EXPECT_EQ(messages.at(1).envelope.at("payload"), json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "attempt": 1, "amount": 149.99, "currency": "USD",
      "paymentInitiatedAt": "2023-11-22T14:30:00.000Z",
      "initiatedBy": "user:3fa85f64-5717-4562-b3fc-2c963f66afa6"})"));
  const json retry =
      payloadOf(render(ids, story.paymentRetried), "OrderPaymentProcessingInitiatedEvent");
  EXPECT_EQ(retry.at("attempt"), 2);
  EXPECT_EQ(payloadOf(render(ids, story.paymentRetried), "OrderStatusChangedEvent").at("reason"),
            "Payment retried");
}

TEST(OrderPaymentFailedEvent, CarriesTheGatewayOutcome) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const auto messages = render(ids, story.paymentFailed);
  EXPECT_EQ(typesOf(messages),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderPaymentFailedEvent"}));
  EXPECT_EQ(messages.at(1).envelope.at("payload"), json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "paymentTransactionId": "txn_098zyx765wvu",
      "failureCode": "card_declined",
      "message": "Insufficient funds",
      "attempt": 1, "amount": 149.99, "currency": "USD",
      "paymentFailedAt": "2023-11-22T14:31:10.250Z",
      "initiatedBy": "PaymentServiceCallback"})"));
}

TEST(OrderPaymentCompletedEvent, CarriesTheTransactionAndThePaidAmount) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  EXPECT_EQ(payloadOf(render(ids, story.paid), "OrderPaymentCompletedEvent"), json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "paymentTransactionId": "txn_123abc456efg",
      "amount": 149.99, "currency": "USD", "attempt": 2,
      "paymentCompletedAt": "2023-11-22T14:35:12.487Z",
      "initiatedBy": "PaymentServiceCallback"})"));
}

TEST(OrderShippedEvent, DescribesTheShipmentAndWhetherItIsPartial) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const auto first = render(ids, story.shippedPart);
  EXPECT_EQ(typesOf(first),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderShippedEvent"}));
  const std::string shipmentId = story.shippedPart.order.shipments.at(0).id.str();
  json expected = json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "carrier": "UPS", "trackingNumber": "1Z999AA10123456784",
      "items": [{"productId": "prod-456", "quantity": 1}],
      "partial": true,
      "shippedAt": "2023-11-23T09:15:00.000Z",
      "initiatedBy": "FulfillmentService"})");
  expected["shipmentId"] = shipmentId;
  EXPECT_EQ(first.at(1).envelope.at("payload"), expected);
  EXPECT_EQ(first.at(0).envelope.at("payload").at("newStatus"), "PARTIALLY_SHIPPED");
  EXPECT_EQ(first.at(0).envelope.at("payload").at("changeContext").at("shipmentId"), shipmentId);

  const json rest = payloadOf(render(ids, story.shippedRest), "OrderShippedEvent");
  EXPECT_EQ(rest.at("partial"), false);
  EXPECT_EQ(rest.at("carrier"), "DHL");
  EXPECT_EQ(rest.at("items"), json::parse(R"([{"productId": "prod-789", "quantity": 1}])"));
  EXPECT_EQ(rest.at("shipmentId"), story.shippedRest.order.shipments.at(1).id.str());
}

TEST(OrderDeliveredEvent, DistinguishesOneShipmentFromTheWholeOrderAndPickup) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const auto first = render(ids, story.deliveredFirst);
  EXPECT_EQ(typesOf(first), (std::vector<std::string>{"OrderDeliveredEvent"}));
  json expected = json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "pickup": false, "allDelivered": false,
      "deliveredAt": "2023-11-24T11:02:33.000Z",
      "initiatedBy": "FulfillmentService"})");
  expected["shipmentId"] = story.shippedPart.order.shipments.at(0).id.str();
  EXPECT_EQ(first.at(0).envelope.at("payload"), expected);

  const auto all = render(ids, story.deliveredAll);
  EXPECT_EQ(typesOf(all),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderDeliveredEvent"}));
  EXPECT_EQ(all.at(1).envelope.at("payload").at("allDelivered"), true);
  EXPECT_EQ(all.at(1).envelope.at("payload").at("shipmentId"),
            story.shippedRest.order.shipments.at(1).id.str());

  testing::PickupStory pickup(ids);
  const json picked = payloadOf(render(ids, pickup.pickedUp), "OrderDeliveredEvent");
  EXPECT_EQ(picked.at("pickup"), true);
  EXPECT_EQ(picked.at("allDelivered"), true);
  EXPECT_FALSE(picked.contains("shipmentId"));
  EXPECT_EQ(picked.at("deliveredAt"), "2023-11-24T12:10:00.000Z");
}

TEST(OrderRefundRequestedEvent, CarriesTheRefundAndTheRunningTotal) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  json expected = json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "amount": 50.00, "currency": "USD",
      "reason": "Item arrived damaged",
      "totalRefundedOrRequested": 50.00,
      "refundRequestedAt": "2023-11-28T08:00:00.000Z",
      "initiatedBy": "CustomerSupport"})");
  expected["refundId"] = story.refundRequested.order.refunds.at(0).id.str();
  EXPECT_EQ(payloadOf(render(ids, story.refundRequested), "OrderRefundRequestedEvent"), expected);

  const auto second = testing::step([&] {
    return requestRefund(story.refundProcessed.order, 1999, "Late delivery",
                         ActionContext{testing::at("2023-11-30T08:00:00.000Z"), "", ids});
  });
  const json payload = payloadOf(render(ids, second), "OrderRefundRequestedEvent");
  EXPECT_EQ(payload.at("amount"), 19.99);
  EXPECT_EQ(payload.at("totalRefundedOrRequested"), 69.99);
  EXPECT_EQ(payload.at("refundId"), second.order.refunds.at(1).id.str());
}

TEST(OrderRefundProcessedEvent, CarriesTheProvidersTransaction) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  json expected = json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "refundTransactionId": "rf_txn_789xyz",
      "amount": 50.00, "currency": "USD",
      "processedAt": "2023-11-29T16:20:00.000Z",
      "initiatedBy": "PaymentServiceCallback"})");
  expected["refundId"] = story.refundRequested.order.refunds.at(0).id.str();
  const auto messages = render(ids, story.refundProcessed);
  EXPECT_EQ(typesOf(messages), (std::vector<std::string>{"OrderRefundProcessedEvent"}));
  EXPECT_EQ(messages.at(0).envelope.at("payload"), expected);
}

TEST(OrderCancelledEvent, SaysWhetherARefundIsOwed) {
  FixedIds ids;
  testing::CancelStory story(ids);
  const auto messages = render(ids, story.cancelled);
  EXPECT_EQ(typesOf(messages),
            (std::vector<std::string>{"OrderStatusChangedEvent", "OrderCancelledEvent"}));
  json expected = json::parse(R"({
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "previousStatus": "AWAITING_FULFILLMENT",
      "reason": "Customer changed their mind",
      "cancelledAt": "2023-11-21T18:30:00.000Z",
      "refundRequired": true, "refundableAmount": 149.99, "currency": "USD",
      "initiatedBy": "user:3fa85f64-5717-4562-b3fc-2c963f66afa6"})");
  expected["orderId"] = story.cancelled.order.id.str();
  EXPECT_EQ(messages.at(1).envelope.at("payload"), expected);

  // An unpaid order owes nothing.
  const auto created = testing::step([&] {
    return createOrder(testing::seedOrder(),
                       ActionContext{testing::at("2023-11-21T10:00:00.000Z"), kUser, ids});
  });
  const auto cancelled = testing::step([&] {
    return cancelOrder(created.order, "Duplicate order",
                       ActionContext{testing::at("2023-11-21T10:05:00.000Z"), kUser, ids});
  });
  const json unpaid = payloadOf(render(ids, cancelled), "OrderCancelledEvent");
  EXPECT_EQ(unpaid.at("refundRequired"), false);
  EXPECT_EQ(unpaid.at("refundableAmount"), 0);
  EXPECT_EQ(unpaid.at("previousStatus"), "PENDING_PAYMENT");
}

TEST(OrderConfirmationNotificationRequestedEvent, AddressesTheCustomerByEmail) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  EXPECT_EQ(payloadOf(render(ids, story.created), "OrderConfirmationNotificationRequestedEvent"),
            json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "recipient": {"name": "John Doe", "email": "john.doe@example.com"},
      "channel": "EMAIL",
      "template": "order-confirmation",
      "orderDate": "2023-11-21T12:34:56.789Z",
      "orderSummary": {
        "totalAmount": 149.99, "currency": "USD", "itemCount": 2,
        "items": [{"productId": "prod-456", "quantity": 1, "unitPrice": 99.99},
                  {"productId": "prod-789", "quantity": 1, "unitPrice": 50.00}]},
      "requestedAt": "2023-11-21T12:34:56.789Z",
      "initiatedBy": "user:3fa85f64-5717-4562-b3fc-2c963f66afa6"})"));
}

/// Every key anywhere in `value`.
void collectKeys(const json& value, std::set<std::string>& keys) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      keys.insert(key);
      collectKeys(child, keys);
    }
  } else if (value.is_array()) {
    for (const auto& child : value) collectKeys(child, keys);
  }
}

TEST(OrderPlacedForAnalyticsEvent, CarriesNoPersonalData) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  const auto messages = render(ids, story.created);
  const json payload = payloadOf(messages, "OrderPlacedForAnalyticsEvent");
  EXPECT_EQ(payload, json::parse(R"({
      "orderId": "018bf1e0-6495-7372-a567-0e02b2c3d479",
      "userId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      "orderDate": "2023-11-21T12:34:56.789Z",
      "status": "PENDING_PAYMENT",
      "totalAmount": 149.99, "currency": "USD", "itemCount": 2,
      "shippingCountry": "US",
      "items": [{"productId": "prod-456", "quantity": 1, "unitPrice": 99.99},
                {"productId": "prod-789", "quantity": 1, "unitPrice": 50.00}]})"));
  std::set<std::string> keys;
  collectKeys(payload, keys);
  for (const char* personal : {"name", "email", "street", "city", "postalCode", "customerDetails",
                               "shippingAddress", "recipient", "initiatedBy"}) {
    EXPECT_EQ(keys.count(personal), 0u) << personal;
  }
  // Nor any personal value under another name (the envelope's ids may contain "12345").
  const std::string text = payload.dump();
  for (const char* value :
       {"John Doe", "john.doe@example.com", "123 Main St", "456 Oak Ave", "Anytown", "12345"}) {
    EXPECT_EQ(text.find(value), std::string::npos) << value << " in " << text;
  }
}

TEST(EventFactory, AnEventThatBreaksItsSchemaIsAnInternalError) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  Change broken = story.created;
  broken.order.userId = UserId("bob");  // not a UUID: the schema catches it
  EventFactory factory(registry(), ids);
  const auto result = factory.render(broken, 1, "", TraceContext{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInternal);
  EXPECT_EQ(result.error().field, "payload/userId");
  EXPECT_NE(result.error().message.find("OrderCreatedEvent"), std::string::npos);
  EXPECT_NE(result.error().message.find("payload/userId"), std::string::npos);
}

TEST(EventFactory, SampledValidationStillChecksTheFirstEventOfEachTypeAndOneInN) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  Change broken = story.created;
  broken.order.userId = UserId("bob");  // breaks OrderCreatedEvent only
  EventFactoryOptions oneInFour;
  oneInFour.validateOneIn = 4;
  EventFactory factory(registry(), ids, oneInFour);
  // The first event of each type is validated whatever the rate: a drift between code and
  // schema fails the first order that renders the type.
  auto first = factory.render(broken, 1, "", TraceContext{});
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().field, "payload/userId");
  // Then one event in 4 (all of them in debug builds): over 8 renders of 3 events some fail,
  // and in release builds some pass unchecked.
  int failed = 0;
  for (int i = 0; i < 8; ++i) failed += factory.render(broken, 1, "", TraceContext{}).ok() ? 0 : 1;
#ifdef NDEBUG
  EXPECT_GT(failed, 0);
  EXPECT_LT(failed, 8);
#else
  EXPECT_EQ(failed, 8);
#endif
  // A correct change renders the same with or without sampling.
  EventFactory everyEvent(registry(), ids);
  auto sampled = factory.render(story.created, 1, "corr-1", TraceContext{});
  auto checked = everyEvent.render(story.created, 1, "corr-1", TraceContext{});
  ASSERT_TRUE(sampled.ok());
  ASSERT_TRUE(checked.ok());
  ASSERT_EQ(sampled->size(), checked->size());
  for (std::size_t i = 0; i < sampled->size(); ++i)
    EXPECT_EQ((*sampled)[i].messageType, (*checked)[i].messageType);
}

TEST(EventFactory, AnEventNamingAnUnknownShipmentOrRefundIsAnInternalError) {
  FixedIds ids({kOrderId});
  testing::OrderStory story(ids);
  EventFactory factory(registry(), ids);
  Change shipped = story.shippedPart;
  shipped.order.shipments.clear();
  auto result = factory.render(shipped, 1, "", TraceContext{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInternal);
  EXPECT_NE(result.error().message.find("OrderShippedEvent"), std::string::npos);

  Change refunded = story.refundProcessed;
  refunded.order.refunds.clear();
  result = factory.render(refunded, 1, "", TraceContext{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInternal);
}

TEST(EventFactory, ACallerContextThatIsNotAnObjectIsAnInternalError) {
  FixedIds ids;
  testing::PickupStory pickup(ids);
  Change change = pickup.readyForPickup;
  std::get<OrderStatusChanged>(change.events.at(0).data).changeContext->callerJsonObject = "[]";
  EventFactory factory(registry(), ids);
  const auto result = factory.render(change, 1, "", TraceContext{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInternal);
}

TEST(EventFactory, RefusesToStartWithoutEverySchema) {
  EXPECT_TRUE(checkPublishedSchemas(registry()).ok());
}

// The example envelope in each docs/events/<MessageType>.md is rendered by the real code here,
// so the documentation cannot drift from what is published. After a deliberate change, run
//   ORDER_SERVICE_UPDATE_EVENT_DOCS=1 ./events_test --gtest_filter='EventDocs.*'
// to rewrite the examples, and review the diff.
constexpr std::string_view kBegin = "<!-- BEGIN GENERATED EXAMPLE: do not edit by hand -->";
constexpr std::string_view kEnd = "<!-- END GENERATED EXAMPLE -->";

/// The example of each docs page, keyed by the page's name: the routing key (OrderCreatedEvent
/// for 1.0, OrderCreatedEvent.v2 for 2.0, events/routing_key.hpp).
std::map<std::string, json> documentedExamples() {
  // Which occurrence of each type the documentation shows; the first otherwise.
  const auto collect = [](const EventFactoryOptions& options, std::string_view onlyVersion) {
    AllStories all;
    const std::map<std::string, const Change*> chosen{
        {"OrderStatusChangedEvent", &all.story.paid},  // seed 003's example
        {"OrderDeliveredEvent", &all.story.deliveredAll},
    };
    std::map<std::string, json> examples;
    for (const Change* change : all.changes()) {
      for (const auto& message : render(all.ids, *change, kCorrelationId, 1, options)) {
        const auto& type = message.row.messageType;
        if (message.row.messageVersion != onlyVersion) continue;
        const auto choice = chosen.find(type);
        if (choice != chosen.end() && choice->second != change) continue;
        examples.emplace(routingKeyFor(type, message.row.messageVersion), message.envelope);
      }
    }
    return examples;
  };
  auto examples = collect(EventFactoryOptions{}, kEventVersion);
  // Each newer major from the same stories, published next to 1.0 as during a migration.
  for (const auto& newer : kOrderEventNewerMajors) {
    EventFactoryOptions both;
    both.versions = PublishedVersions::parse(
                        {std::string(newer.messageType) + "=1.0," + std::string(newer.version)})
                        .value();
    examples.merge(collect(both, newer.version));
  }
  return examples;
}

TEST(EventDocs, ExamplesAreTheRenderedEnvelopes) {
  const bool update = std::getenv("ORDER_SERVICE_UPDATE_EVENT_DOCS") != nullptr;
  const auto examples = documentedExamples();
  ASSERT_EQ(examples.size(), kPublishedMessageTypes.size() + kOrderEventNewerMajors.size());
  for (const auto& [type, envelope] : examples) {
    const auto path =
        std::filesystem::path(ORDER_SERVICE_SOURCE_DIR) / "docs" / "events" / (type + ".md");
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    std::string doc = text.str();
    const auto begin = doc.find(kBegin);
    const auto end = doc.find(kEnd);
    ASSERT_TRUE(begin != std::string::npos && end != std::string::npos && begin < end)
        << path << " needs the generated-example markers";
    const std::string block = "\n```json\n" + envelope.dump(2) + "\n```\n";
    const auto from = begin + kBegin.size();
    if (update) {
      doc.replace(from, end - from, block);
      std::ofstream(path) << doc;
      continue;
    }
    EXPECT_EQ(doc.substr(from, end - from), block)
        << path << " is stale; regenerate with ORDER_SERVICE_UPDATE_EVENT_DOCS=1";
  }
}

}  // namespace
}  // namespace orders
