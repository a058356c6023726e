#include "events/routing_key.hpp"

#include <gtest/gtest.h>

namespace orders {
namespace {

TEST(RoutingKey, MajorOneKeepsTheMessageTypeSoExistingBindingsAreUntouched) {
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", 1), "OrderCreatedEvent");
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", "1.0"), "OrderCreatedEvent");
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", "1.7"), "OrderCreatedEvent");
}

TEST(RoutingKey, LaterMajorsGetASuffixOfTheirOwn) {
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", 2), "OrderCreatedEvent.v2");
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", "2.0"), "OrderCreatedEvent.v2");
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", "12.3"), "OrderCreatedEvent.v12");
  std::string reused = "something longer than the key";
  assignRoutingKey(reused, "OrderShippedEvent", "3.1");
  EXPECT_EQ(reused, "OrderShippedEvent.v3");
}

TEST(RoutingKey, AnUnreadableVersionFallsBackToTheMessageType) {
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", ""), "OrderCreatedEvent");
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", "x.0"), "OrderCreatedEvent");
  EXPECT_EQ(routingKeyFor("OrderCreatedEvent", "0.1"), "OrderCreatedEvent");
}

TEST(RoutingKey, ParsesBackToTypeAndMajor) {
  auto one = parseRoutingKey("OrderCreatedEvent");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->messageType, "OrderCreatedEvent");
  EXPECT_EQ(one->major, 1);
  auto two = parseRoutingKey("OrderCreatedEvent.v2");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->messageType, "OrderCreatedEvent");
  EXPECT_EQ(two->major, 2);
  for (const char* bad :
       {"", ".v2", "OrderCreatedEvent.v1", "OrderCreatedEvent.v0", "OrderCreatedEvent.v",
        "OrderCreatedEvent.v2x", "OrderCreatedEvent.v02"}) {
    EXPECT_FALSE(parseRoutingKey(bad)) << bad;
  }
}

}  // namespace
}  // namespace orders
