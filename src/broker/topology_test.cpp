#include "broker/topology.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace orders {
namespace {

TEST(Topology, ParsesTheShippedFile) {
  auto t = loadTopologyFile(std::string(ORDER_SERVICE_SOURCE_DIR) + "/config/topology.json");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->exchange, "order.events");
  EXPECT_EQ(t->alternateExchange, "order.events.unrouted");
  EXPECT_EQ(t->unroutedQueue, "order.events.unrouted");
  EXPECT_EQ(t->deadLetterExchange, "order.events.dlx");
  EXPECT_EQ(t->deadLetterQueue, "order.events.dlq");
  ASSERT_EQ(t->queues.size(), 3u);
  EXPECT_EQ(t->queues[0].name, "notification.order-events");
  EXPECT_EQ(t->queues[0].type, QueueType::kQuorum);
  EXPECT_EQ(t->queues[0].routingKeys,
            (std::vector<std::string>{"OrderConfirmationNotificationRequestedEvent",
                                      "OrderShippedEvent"}));
  EXPECT_EQ(t->queues[1].name, "analytics.order-events");
  EXPECT_EQ(t->queues[2].name, "fulfillment.order-events");
}

TEST(Topology, DefaultsTheInfrastructureNames) {
  auto t = parseTopology(R"({"queues": [{"name": "q", "routingKeys": ["OrderCreatedEvent"],
                                         "type": "classic"}]})");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->exchange, kOrderEventsExchange);
  EXPECT_EQ(t->deadLetterQueue, kDeadLetterQueue);
  EXPECT_EQ(t->queues[0].type, QueueType::kClassic);
  EXPECT_FALSE(t->queues[0].deliveryLimit);
}

TEST(Topology, AcceptsADeliveryLimitOnQuorumQueues) {
  auto t = parseTopology(
      R"({"queues": [{"name": "q", "routingKeys": ["OrderCreatedEvent"], "deliveryLimit": 5}]})");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->queues[0].deliveryLimit, 5);
}

struct BadCase {
  const char* json;
  const char* field;
  const char* messagePart;
};

class TopologyErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(TopologyErrors, NameTheKeyAtFault) {
  auto t = parseTopology(GetParam().json);
  ASSERT_FALSE(t.ok()) << GetParam().json;
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().field, GetParam().field) << t.error().message;
  EXPECT_NE(t.error().message.find(GetParam().messagePart), std::string::npos) << t.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TopologyErrors,
    ::testing::Values(
        BadCase{"{", "", "not valid JSON"}, BadCase{"[]", "", "JSON object"},
        BadCase{R"({"queue": []})", "queue", "unknown key"},
        BadCase{R"({"exchange": 3, "queues": []})", "exchange", "must be a string"},
        BadCase{R"({"exchange": "", "queues": []})", "exchange", "must not be empty"},
        BadCase{R"({"exchange": "amq.direct", "queues": []})", "exchange", "reserved"},
        BadCase{R"({"deadLetterExchange": "order.events", "queues": []})", "exchange",
                "must differ"},
        BadCase{R"({})", "queues", "missing"},
        BadCase{R"({"queues": {}})", "queues", "must be an array"},
        BadCase{R"({"queues": [{"routingKeys": ["OrderCreatedEvent"]}]})", "queues[0].name",
                "missing"},
        BadCase{R"({"queues": [{"name": "q", "routingKeys": ["OrderCreatedEvent"],
                                "durable": true}]})",
                "queues[0].durable", "unknown key"},
        BadCase{R"({"queues": [{"name": "q", "routingKeys": []}]})", "queues[0].routingKeys",
                "non-empty"},
        BadCase{
            R"({"queues": [{"name": "q", "routingKeys": ["OrderCreatedEvent", "OrderShipedEvent"]}]})",
            "queues[0].routingKeys[1]", "unknown routing key 'OrderShipedEvent'"},
        BadCase{R"({"queues": [{"name": "q", "routingKeys": ["OrderShippedEvent.v2"]}]})",
                "queues[0].routingKeys[0]", "unknown routing key 'OrderShippedEvent.v2'"},
        BadCase{
            R"({"queues": [{"name": "q", "routingKeys": ["OrderCreatedEvent", "OrderCreatedEvent"]}]})",
            "queues[0].routingKeys[1]", "listed twice"},
        BadCase{
            R"({"queues": [{"name": "q", "type": "stream", "routingKeys": ["OrderCreatedEvent"]}]})",
            "queues[0].type", "\"quorum\" or \"classic\""},
        BadCase{R"({"queues": [{"name": "q", "routingKeys": ["OrderCreatedEvent"]},
                               {"name": "q", "routingKeys": ["OrderShippedEvent"]}]})",
                "queues[1].name", "declared twice"},
        BadCase{
            R"({"queues": [{"name": "order.events.dlq", "routingKeys": ["OrderCreatedEvent"]}]})",
            "queues[0].name", "declared twice"},
        BadCase{R"({"queues": [{"name": "q", "type": "classic", "deliveryLimit": 3,
                                "routingKeys": ["OrderCreatedEvent"]}]})",
                "queues[0].deliveryLimit", "only quorum"},
        BadCase{R"({"queues": [{"name": "q", "deliveryLimit": 0,
                                "routingKeys": ["OrderCreatedEvent"]}]})",
                "queues[0].deliveryLimit", "positive"}));

TEST(Topology, MissingFileNamesThePath) {
  auto t = loadTopologyFile("/nonexistent/topology.json");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("/nonexistent/topology.json"), std::string::npos);
}

TEST(Topology, KnowsAllThirteenMessageTypes) {
  EXPECT_EQ(knownMessageTypes().size(), 13u);
}

TEST(Topology, AQueueMayBindTheRoutingKeyOfANewerMajor) {
  const auto& keys = knownRoutingKeys();
  EXPECT_EQ(keys.size(), 14u);
  EXPECT_NE(std::find(keys.begin(), keys.end(), "OrderCreatedEvent.v2"), keys.end());
  auto t = parseTopology(
      R"({"queues": [{"name": "q", "routingKeys": ["OrderCreatedEvent", "OrderCreatedEvent.v2"]}]})");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->queues[0].routingKeys[1], "OrderCreatedEvent.v2");
}

}  // namespace
}  // namespace orders
