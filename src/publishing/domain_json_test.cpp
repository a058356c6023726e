#include "publishing/domain_json.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace orders {
namespace {

Currency currency(const char* code) {
  return Currency::parse(code).value();
}

std::string amountText(std::int64_t minor, const Currency& currency) {
  return writeJson([&](JsonWriter& w) { writeAmount(w, minor, currency); });
}

TEST(AmountJson, RendersMinorUnitsAsTheDecimalJsonNumber) {
  EXPECT_EQ(amountText(14999, currency("USD")), "149.99");
  EXPECT_EQ(amountText(9999, currency("USD")), "99.99");
  EXPECT_EQ(amountText(1, currency("USD")), "0.01");
  EXPECT_EQ(amountText(10, currency("USD")), "0.1");
  EXPECT_EQ(amountText(1234567, currency("KWD")), "1234.567");
  EXPECT_TRUE(nlohmann::json::parse(amountText(14999, currency("USD"))).is_number());
}

TEST(AmountJson, WholeAmountsAreNumbersEqualToTheDecimal) {
  // 50.00 is the JSON number 50 (written "50.0", as nlohmann prints the double): equal for every
  // consumer.
  EXPECT_EQ(amountText(5000, currency("USD")), "50.0");
  EXPECT_EQ(nlohmann::json::parse(amountText(5000, currency("USD"))),
            nlohmann::json::parse("50.00"));
  EXPECT_EQ(nlohmann::json::parse(amountText(1500, currency("JPY"))).get<double>(), 1500.0);
  EXPECT_EQ(amountText(0, currency("EUR")), "0.0");
}

TEST(AmountJson, EveryCentUpToTheLimitRoundTripsThroughJsonText) {
  const auto usd = currency("USD");
  for (std::int64_t minor : {std::int64_t{1}, std::int64_t{14999}, std::int64_t{123456789},
                             std::int64_t{999999999999}, kMaxMinorUnits - 1, kMaxMinorUnits}) {
    const auto text = amountText(minor, usd);
    EXPECT_EQ(text, nlohmann::json(toDecimal(minor, usd)).dump());
    const auto back = toMinorUnits(text, usd, "amount");
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back.value(), minor) << text;
  }
}

TEST(DomainJson, AddressAndCustomerUseTheSeedFieldNames) {
  EXPECT_EQ(writeJson([](JsonWriter& w) {
              writeAddress(w, Address{"123 Main St", "Anytown", "12345", "US"});
            }),
            R"({"street":"123 Main St","city":"Anytown","postalCode":"12345","country":"US"})");
  EXPECT_EQ(writeJson([](JsonWriter& w) {
              writeCustomer(w, CustomerDetails{"John \"JD\" Doe", "john.doe@example.com"});
            }),
            R"({"name":"John \"JD\" Doe","email":"john.doe@example.com"})");
}

TEST(DomainJson, ItemsKeepOrderAndRenderUnitPricesAsDecimals) {
  Order order;
  order.items = {{"prod-456", 1, 9999}, {"prod-789", 3, 5000}};
  EXPECT_EQ(writeJson([&](JsonWriter& w) { writeItems(w, order); }),
            R"([{"productId":"prod-456","quantity":1,"unitPrice":99.99},)"
            R"({"productId":"prod-789","quantity":3,"unitPrice":50.0}])");
  EXPECT_EQ(writeJson([](JsonWriter& w) { writeItems(w, Order{}); }), "[]");
}

TEST(DomainJson, ShipmentLinesKeepTheirOrder) {
  EXPECT_EQ(writeJson([](JsonWriter& w) {
              writeShipmentLines(w, {{"prod-789", 2}, {"prod-456", 1}});
            }),
            R"([{"productId":"prod-789","quantity":2},{"productId":"prod-456","quantity":1}])");
  EXPECT_EQ(writeJson([](JsonWriter& w) { writeShipmentLines(w, {}); }), "[]");
}

TEST(ChangeContextJson, MergesTheCallerObjectWithTheDomainEntries) {
  const ChangeContext context{R"({"pickupLocationId":"store-007","fulfillmentHoldReason":null})",
                              {{"shipmentId", "abc"}}};
  EXPECT_EQ(changeContextJson(context), nlohmann::json::parse(R"({
      "pickupLocationId":"store-007","fulfillmentHoldReason":null,"shipmentId":"abc"})"));
}

TEST(ChangeContextJson, DomainEntriesWinAndEmptyOnesAreLeftOut) {
  const ChangeContext context{R"({"paymentTransactionId":"from-caller","note":{"a":[1,2]}})",
                              {{"paymentTransactionId", "txn_1"}, {"paymentGatewayMessage", ""}}};
  EXPECT_EQ(changeContextJson(context), nlohmann::json::parse(R"({
      "paymentTransactionId":"txn_1","note":{"a":[1,2]}})"));
}

TEST(ChangeContextJson, EmptyContextIsAnEmptyObject) {
  EXPECT_EQ(changeContextJson(ChangeContext{}), nlohmann::json::object());
}

TEST(ChangeContextJson, ACallerTextThatIsNotAnObjectIsABug) {
  EXPECT_THROW(changeContextJson(ChangeContext{"[1,2]", {}}), std::invalid_argument);
  EXPECT_THROW(changeContextJson(ChangeContext{"{not json", {}}), std::invalid_argument);
}

}  // namespace
}  // namespace orders
