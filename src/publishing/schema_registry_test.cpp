#include "events/schema_registry.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "event_test_support.hpp"
#include "events/order_event_types.hpp"
#include "publishing/event_factory.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FixedIds;

const SchemaRegistry& registry() {
  return testing::publishedSchemas();
}

/// Real envelopes of the seed's order, as the factory renders them.
std::vector<json> seedMessages() {
  FixedIds ids({testing::kOrderId});
  testing::OrderStory story(ids);
  EventFactory factory(registry(), ids);
  std::vector<json> messages;
  for (const Change* change : {&story.created, &story.paid, &story.shippedPart}) {
    auto rendered = factory.render(*change, 1, testing::kCorrelationId, TraceContext{});
    EXPECT_TRUE(rendered.ok()) << rendered.error().message;
    for (const auto& message : rendered.value()) messages.push_back(json::parse(message.body));
  }
  return messages;
}

json orderCreated() {
  return seedMessages().at(0);
}

Error rejection(const json& message) {
  const auto status = registry().validateMessage(message);
  EXPECT_FALSE(status.ok()) << message.dump(2);
  if (status.ok()) return Error{ErrorCode::kInternal, "accepted"};
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  // The message names the field first, then the rule.
  EXPECT_EQ(status.error().message.rfind(
                status.error().field.empty() ? "(document)" : status.error().field, 0),
            0u)
      << status.error().message;
  return status.error();
}

using testing::TempDir;

/// The project's schemas in `dir`, for a test to break one of them.
void copySchemas(const TempDir& dir) {
  fs::copy(ORDER_SERVICE_SCHEMA_DIR, dir.path(), fs::copy_options::recursive);
}

TEST(SchemaRegistry, LoadsEveryPublishedEventSchema) {
  for (const auto type : kPublishedMessageTypes) {
    EXPECT_TRUE(registry().knows(type, 1)) << type;
    EXPECT_EQ(registry().schemaVersion(type, 1), "1.0") << type;
    // Only the newer majors of kOrderEventNewerMajors (OrderCreatedEvent 2.0) have a schema.
    const bool newer = std::any_of(kOrderEventNewerMajors.begin(), kOrderEventNewerMajors.end(),
                                   [&](const auto& m) { return m.messageType == type; });
    EXPECT_EQ(registry().knows(type, 2), newer) << type;
  }
  EXPECT_EQ(registry().schemaVersion("OrderCreatedEvent", 2), "2.0");
  EXPECT_FALSE(registry().knows("NoSuchEvent", 1));
  EXPECT_TRUE(checkPublishedSchemas(registry()).ok());
}

TEST(SchemaRegistry, AcceptsRealMessagesAsObjectsAndAsText) {
  for (const auto& message : seedMessages()) {
    EXPECT_TRUE(registry().validateMessage(message).ok()) << message.dump(2);
    EXPECT_TRUE(registry().validateMessage(message.dump()).ok()) << message.dump(2);
  }
}

TEST(SchemaRegistry, RejectsAMissingRequiredPayloadField) {
  auto message = orderCreated();
  message["payload"].erase("orderId");
  const auto error = rejection(message);
  EXPECT_EQ(error.field, "payload/orderId");
  EXPECT_EQ(error.message, "payload/orderId: is required but missing");
}

TEST(SchemaRegistry, RejectsAMissingRequiredNestedField) {
  auto message = orderCreated();
  message["payload"]["shippingAddress"].erase("postalCode");
  EXPECT_EQ(rejection(message).field, "payload/shippingAddress/postalCode");
}

TEST(SchemaRegistry, RejectsAMissingEnvelopeField) {
  auto message = orderCreated();
  message.erase("partitionKey");
  EXPECT_EQ(rejection(message).field, "partitionKey");
}

TEST(SchemaRegistry, RejectsAWrongType) {
  auto message = orderCreated();
  message["payload"]["itemCount"] = "2";
  const auto error = rejection(message);
  EXPECT_EQ(error.field, "payload/itemCount");
  EXPECT_NE(error.message.find("'type'"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("found string"), std::string::npos) << error.message;
}

TEST(SchemaRegistry, RejectsAnAmountAsAString) {
  auto message = orderCreated();
  message["payload"]["totalAmount"] = "149.99";
  EXPECT_EQ(rejection(message).field, "payload/totalAmount");
}

TEST(SchemaRegistry, NamesTheArrayIndexOfABadItem) {
  auto message = orderCreated();
  message["payload"]["items"][1]["quantity"] = 0;
  const auto error = rejection(message);
  EXPECT_EQ(error.field, "payload/items/1/quantity");
  EXPECT_NE(error.message.find("greater than or equal to 1"), std::string::npos) << error.message;
}

TEST(SchemaRegistry, RejectsNegativeAmountsBadCurrencyAndUnknownStatus) {
  auto negative = orderCreated();
  negative["payload"]["items"][0]["unitPrice"] = -1;
  EXPECT_EQ(rejection(negative).field, "payload/items/0/unitPrice");
  auto currency = orderCreated();
  currency["payload"]["currency"] = "usd";
  EXPECT_EQ(rejection(currency).field, "payload/currency");
  auto status = orderCreated();
  status["payload"]["status"] = "LOST";
  EXPECT_EQ(rejection(status).field, "payload/status");
  auto orderId = orderCreated();
  orderId["payload"]["orderId"] = "order-abc-123";
  EXPECT_EQ(rejection(orderId).field, "payload/orderId");
}

TEST(SchemaRegistry, RejectsABadMessageId) {
  for (const char* bad : {"msg-123", "f47ac10b-58cc-4372-a567-0e02b2c3d479",
                          "msg-f47ac10b-58cc-4372-a567-0e02b2c3d47", "msg-event-id-12345"}) {
    auto message = orderCreated();
    message["messageId"] = bad;
    const auto error = rejection(message);
    EXPECT_EQ(error.field, "messageId") << bad;
    EXPECT_NE(error.message.find("pattern"), std::string::npos) << error.message;
  }
}

TEST(SchemaRegistry, RejectsATimestampWithoutZone) {
  auto message = orderCreated();
  message["timestamp"] = "2023-11-21T12:34:56.789";
  EXPECT_EQ(rejection(message).field, "timestamp");
  auto offset = orderCreated();
  offset["payload"]["orderDate"] = "2023-11-21T12:34:56+02:00";
  EXPECT_EQ(rejection(offset).field, "payload/orderDate");
}

TEST(SchemaRegistry, RejectsAnUnknownMajorVersion) {
  auto message = orderCreated();
  message["messageVersion"] = "3.0";
  const auto error = rejection(message);
  EXPECT_EQ(error.field, "messageVersion");
  EXPECT_NE(error.message.find("OrderCreatedEvent version 3.0"), std::string::npos)
      << error.message;
  // A 1.0 payload labelled 2.0 is checked against 2.0, where amounts are money objects.
  auto mislabelled = orderCreated();
  mislabelled["messageVersion"] = "2.0";
  EXPECT_EQ(rejection(mislabelled).field, "payload/items/0/unitPrice");
  auto malformed = orderCreated();
  malformed["messageVersion"] = "1";
  EXPECT_EQ(rejection(malformed).field, "messageVersion");
}

TEST(SchemaRegistry, RejectsAnUnknownMessageType) {
  auto message = orderCreated();
  message["messageType"] = "OrderTeleportedEvent";
  EXPECT_EQ(rejection(message).field, "messageType");
}

TEST(SchemaRegistry, AcceptsANewerMinorVersionWithAnUnknownField) {
  auto message = orderCreated();
  message["messageVersion"] = "1.1";
  message["payload"]["giftWrap"] = true;                 // added in "1.1"
  message["payload"]["shippingAddress"]["floor"] = "3";  // nested additions too
  message["traceParent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";  // envelope
  EXPECT_TRUE(registry().validateMessage(message).ok());
  EXPECT_TRUE(registry().validateMessage(message.dump()).ok());
}

TEST(SchemaRegistry, CorrelationIdIsOptional) {
  auto message = orderCreated();
  ASSERT_TRUE(message.contains("correlationId"));
  message.erase("correlationId");
  EXPECT_TRUE(registry().validateMessage(message).ok());
  message["correlationId"] = 42;
  EXPECT_EQ(rejection(message).field, "correlationId");
}

TEST(SchemaRegistry, RejectsTextThatIsNotJsonOrNotAnObject) {
  const auto notJson = registry().validateMessage(std::string_view("{\"messageId\":"));
  ASSERT_FALSE(notJson.ok());
  EXPECT_EQ(notJson.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(rejection(json::array()).field, "");
  EXPECT_EQ(rejection(json("text")).field, "");
}

TEST(SchemaRegistry, AnalyticsSchemaForbidsPersonalDataInAnyVersion) {
  auto messages = seedMessages();
  auto analytics = messages.at(2);
  ASSERT_EQ(analytics["messageType"], "OrderPlacedForAnalyticsEvent");
  for (const char* field : {"email", "customerDetails", "shippingAddress", "name", "street"}) {
    auto message = analytics;
    message["messageVersion"] = "1.7";
    message["payload"][field] = "x";
    EXPECT_EQ(rejection(message).field, "payload") << field;
  }
}

TEST(SchemaRegistry, ValidatesConcurrentlyFromManyThreads) {
  const auto messages = seedMessages();
  auto bad = messages.at(0);
  bad["payload"]["items"][0]["quantity"] = "1";
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        for (const auto& message : messages) {
          if (!registry().validateMessage(message).ok()) ++failures;
        }
        const auto status = registry().validateMessage(bad);
        if (status.ok() || status.error().field != "payload/items/0/quantity") ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(SchemaRegistryLoad, FailsForAMissingDirectory) {
  const auto result = SchemaRegistry::load("/nonexistent/schemas");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("/nonexistent/schemas"), std::string::npos);
}

TEST(SchemaRegistryLoad, FailsWithoutTheEnvelopeSchema) {
  TempDir dir;
  copySchemas(dir);
  fs::remove(dir.path() / "envelope/StandardMessage.v1.json");
  const auto result = SchemaRegistry::load(dir.path().string());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("envelope/StandardMessage.v1.json"), std::string::npos)
      << result.error().message;
}

TEST(SchemaRegistryLoad, NamesAFileThatIsNotJson) {
  TempDir dir;
  copySchemas(dir);
  dir.write("events/OrderCreatedEvent/1.1.json", "{ \"type\": ");
  const auto result = SchemaRegistry::load(dir.path().string());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "events/OrderCreatedEvent/1.1.json");
  EXPECT_NE(result.error().message.find("not valid JSON"), std::string::npos);
}

TEST(SchemaRegistryLoad, NamesAFileThatIsNotAValidSchema) {
  TempDir dir;
  copySchemas(dir);
  dir.write("events/OrderCreatedEvent/1.1.json", R"({"type": 42})");
  const auto result = SchemaRegistry::load(dir.path().string());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "events/OrderCreatedEvent/1.1.json");
}

TEST(SchemaRegistryLoad, RejectsOtherDraftsAndMisplacedFiles) {
  {
    TempDir dir;
    copySchemas(dir);
    dir.write("events/OrderCreatedEvent/1.1.json",
              R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})");
    EXPECT_FALSE(SchemaRegistry::load(dir.path().string()).ok());
  }
  {
    TempDir dir;
    copySchemas(dir);
    dir.write("events/OrderCreatedEvent/latest.json", "{}");
    const auto result = SchemaRegistry::load(dir.path().string());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().field, "events/OrderCreatedEvent/latest.json");
  }
  {
    TempDir dir;
    copySchemas(dir);
    dir.write("inbound/OrderCreatedEvent/1.0.json", "{}");  // same type and version twice
    const auto result = SchemaRegistry::load(dir.path().string());
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("events/OrderCreatedEvent/1.0.json"), std::string::npos)
        << result.error().message;
  }
}

TEST(SchemaRegistryLoad, LoadsOtherFoldersAndPicksTheNewestMinor) {
  TempDir dir;
  copySchemas(dir);
  dir.write("README.md", "ignored");
  dir.write(".git/objects/x.json", "not json, hidden, ignored");
  dir.write("inbound/payment/PaymentResultMessage/1.0.json",
            R"({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                "required": ["orderId"]})");
  dir.write("inbound/payment/PaymentResultMessage/1.2.json",
            R"({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                "required": ["orderId", "outcome"]})");
  dir.write("inbound/payment/PaymentResultMessage/1.1.json",
            R"({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"})");
  const auto loaded = SchemaRegistry::load(dir.path().string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(loaded->knows("PaymentResultMessage", 1));
  EXPECT_EQ(loaded->schemaVersion("PaymentResultMessage", 1), "1.2");
  EXPECT_TRUE(loaded->knows("OrderCreatedEvent", 1));

  auto message = orderCreated();
  message["messageType"] = "PaymentResultMessage";
  message["messageVersion"] = "1.0";  // checked against 1.2, the newest 1.y
  message["payload"] = {{"orderId", testing::kOrderId}};
  const auto status = loaded->validateMessage(message);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().field, "payload/outcome");
  message["payload"]["outcome"] = "COMPLETED";
  EXPECT_TRUE(loaded->validateMessage(message).ok());
}

}  // namespace
}  // namespace orders
