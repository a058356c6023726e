#include "http/request_bodies.hpp"

#include <gtest/gtest.h>

namespace orders::http {
namespace {

ExactJson parse(const std::string& text) {
  auto parsed = parseExactJson(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return std::move(parsed).value();
}

const char* kOrder = R"({"userId":"3FA85F64-5717-4562-B3FC-2C963F66AFA6","currency":"USD",
  "items":[{"productId":"p","quantity":2.0,"unitPrice":1.50},{"productId":"q","quantity":1e1,"unitPrice":1E-2}],
  "customerDetails":{"name":"n","email":"e@x.example"},
  "shippingAddress":{"street":"s","city":"c","postalCode":"1","country":"US"}})";

TEST(RequestBodies, NewOrderConvertsNumbersExactly) {
  const auto doc = parse(kOrder);
  auto order = readNewOrder(JsonReader(doc));
  ASSERT_TRUE(order.ok()) << order.error().message;
  EXPECT_EQ(order->userId, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  ASSERT_EQ(order->items.size(), 2u);
  EXPECT_EQ(order->items[0].quantity, 2);
  EXPECT_EQ(order->items[0].unitPrice, 150);
  EXPECT_EQ(order->items[1].quantity, 10);
  EXPECT_EQ(order->items[1].unitPrice, 1);
}

TEST(RequestBodies, ErrorsNameTheField) {
  auto fieldOf = [](const std::string& text) {
    const auto doc = parse(text);
    auto order = readNewOrder(JsonReader(doc));
    return order.ok() ? std::string("<ok>") : order.error().field;
  };
  std::string order = kOrder;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string copy = order;
    copy.replace(copy.find(from), from.size(), to);
    return copy;
  };
  EXPECT_EQ(fieldOf(with("\"unitPrice\":1.50", "\"unitPrice\":1e-400")), "items/0/unitPrice");
  EXPECT_EQ(fieldOf(with("\"quantity\":2.0", "\"quantity\":1.0000000000000000001")),
            "items/0/quantity");
  EXPECT_EQ(fieldOf(with("\"quantity\":2.0", "\"quantity\":\"2\"")), "items/0/quantity");
  EXPECT_EQ(fieldOf(with("\"quantity\":2.0", "\"quantity\":99999999999999999999")),
            "items/0/quantity");
  EXPECT_EQ(fieldOf(with("\"items\":[{", "\"items\":[7,{")), "items/0");
  EXPECT_EQ(fieldOf(with("\"email\":\"e@x.example\"", "\"email\":7")), "customerDetails/email");
  EXPECT_EQ(fieldOf(R"({"userId":"u","currency":"USD"})"), "items");
}

TEST(RequestBodies, RefundKeepsTheAmountAsWritten) {
  const auto doc = parse(R"({"reason":"r","amount":10.0000000000000001})");
  auto refund = readRefundRequest(JsonReader(doc));
  ASSERT_TRUE(refund.ok());
  EXPECT_EQ(refund->amount, "10.0000000000000001");
  const auto notNumber = parse(R"({"reason":"r","amount":"10"})");
  EXPECT_EQ(readRefundRequest(JsonReader(notNumber)).error().field, "amount");
}

TEST(RequestBodies, ShipmentItemsAreOptionalButNotEmpty) {
  const auto all = parse(R"({"carrier":"c","trackingNumber":"t"})");
  EXPECT_TRUE(readShipment(JsonReader(all))->items.empty());
  const auto empty = parse(R"({"carrier":"c","trackingNumber":"t","items":[]})");
  EXPECT_EQ(readShipment(JsonReader(empty)).error().field, "items");
  const auto some =
      parse(R"({"carrier":"c","trackingNumber":"t","items":[{"productId":"p","quantity":1}]})");
  EXPECT_EQ(readShipment(JsonReader(some))->items.size(), 1u);
}

TEST(RequestBodies, StatusChangeKeepsItsContextAndIgnoresAnActorInTheBody) {
  // initiatedBy is the authenticated principal's (http/api_security.hpp); a body field naming
  // someone else is ignored like any unknown field, even when it is not a string.
  const auto doc = parse(
      R"({"newStatus":"PROCESSING","changeContext":{"warehouse":[1,2]},"initiatedBy":["ops"]})");
  auto change = readStatusChange(JsonReader(doc));
  ASSERT_TRUE(change.ok()) << change.error().message;
  ASSERT_TRUE(change->changeContext);
  EXPECT_EQ(change->changeContext->callerJsonObject, R"({"warehouse":[1,2]})");
  const auto notObject = parse(R"({"newStatus":"PROCESSING","changeContext":[1]})");
  EXPECT_EQ(readStatusChange(JsonReader(notObject)).error().field, "changeContext");
}

TEST(RequestBodies, ChangeContextKeysAreAllowListedAndItsSizeAndDepthBounded) {
  BodyLimits limits;
  limits.changeContextKeys = {"warehouse", "pickupLocationId"};
  limits.maxChangeContextBytes = 64;
  limits.maxChangeContextDepth = 2;
  auto judge = [&limits](const std::string& context) {
    const auto doc = parse(R"({"newStatus":"PROCESSING","changeContext":)" + context + "}");
    return readStatusChange(JsonReader(doc, &limits));
  };
  EXPECT_TRUE(judge(R"({"warehouse":"W7","pickupLocationId":{"id":1}})").ok());
  for (const std::string& refused :
       {std::string(R"({"email":"jane@example.com"})"),  // not on the list: refused, not dropped
        std::string(R"({"warehouse":"W7","customerName":"Jane"})"),
        std::string(R"({"warehouse":{"a":{"b":1}}})"),                       // 3 levels
        std::string(R"({"warehouse":")") + std::string(60, 'x') + "\"}"}) {  // 77 bytes
    const auto result = judge(refused);
    ASSERT_FALSE(result.ok()) << refused;
    EXPECT_EQ(result.error().field, "changeContext") << refused;
    EXPECT_NE(result.error().message.find("(limit --"), std::string::npos)
        << result.error().message;
    EXPECT_EQ(result.error().message.find("jane"), std::string::npos);  // values are not echoed
  }
  limits.changeContextKeys.clear();
  EXPECT_FALSE(judge(R"({"warehouse":"W7"})").ok());
  EXPECT_TRUE(judge(R"({})").ok());
}

TEST(RequestBodies, ConfiguredLengthsAndItemCountsNameTheFieldAndTheLimit) {
  BodyLimits limits;
  limits.maxNameBytes = 5;
  limits.maxAddressBytes = 6;
  limits.maxReasonBytes = 7;
  limits.maxItems = 2;
  const std::string order =
      R"({"userId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","currency":"USD",)"
      R"("customerDetails":{"name":"NAME","email":"a@b.c"},)"
      R"("shippingAddress":{"street":"STREET","city":"CITY","postalCode":"1","country":"US"},)";
  const std::string item = R"({"productId":"p","quantity":1,"unitPrice":1})";
  auto newOrder = [&](const std::string& text) {
    const auto doc = parse(text);
    return readNewOrder(JsonReader(doc, &limits));
  };
  EXPECT_TRUE(newOrder(order + R"("items":[)" + item + "," + item + "]}").ok());
  const auto tooMany = newOrder(order + R"("items":[)" + item + "," + item + "," + item + "]}");
  ASSERT_FALSE(tooMany.ok());
  EXPECT_EQ(tooMany.error().field, "items");
  EXPECT_NE(tooMany.error().message.find("--max-items"), std::string::npos);
  struct Case {
    std::string from, to, field, flag;
  };
  for (const auto& c : {Case{"NAME", "NAMES!", "customerDetails/name", "--max-name-bytes"},
                        Case{"STREET", "STREETS", "shippingAddress/street", "--max-address-bytes"},
                        Case{"CITY", "CITIES!", "shippingAddress/city", "--max-address-bytes"}}) {
    std::string text = order + R"("items":[)" + item + "]}";
    text.replace(text.find(c.from), c.from.size(), c.to);
    const auto result = newOrder(text);
    ASSERT_FALSE(result.ok()) << c.field;
    EXPECT_EQ(result.error().field, c.field);
    EXPECT_NE(result.error().message.find(c.flag), std::string::npos) << result.error().message;
  }
  const auto cancel = parse(R"({"reason":"12345678"})");
  EXPECT_EQ(readCancellation(JsonReader(cancel, &limits)).error().field, "reason");
  const auto refund = parse(R"({"reason":"12345678","amount":1})");
  EXPECT_EQ(readRefundRequest(JsonReader(refund, &limits)).error().field, "reason");
  const auto status = parse(R"({"newStatus":"PROCESSING","reason":"12345678"})");
  EXPECT_EQ(readStatusChange(JsonReader(status, &limits)).error().field, "reason");
  const auto shipment = parse(R"({"carrier":"c","trackingNumber":"t","items":[)" + item + "," +
                              item + "," + item + "]}");
  EXPECT_EQ(readShipment(JsonReader(shipment, &limits)).error().field, "items");
}

}  // namespace
}  // namespace orders::http
