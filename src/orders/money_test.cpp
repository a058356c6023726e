#include "orders/money.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace orders {
namespace {

Currency usd() {
  return Currency::parse("USD").value();
}

TEST(Money, CurrencyCodesAndTheirDecimals) {
  EXPECT_EQ(usd().decimals(), 2);
  EXPECT_EQ(Currency::parse("JPY")->decimals(), 0);
  EXPECT_EQ(Currency::parse("KWD")->decimals(), 3);
  EXPECT_EQ(Currency::parse("CLF")->decimals(), 4);
  for (const char* bad : {"usd", "US", "USDX", "U$D", "", "XYZ", "ABC"}) {
    auto currency = Currency::parse(bad);
    ASSERT_FALSE(currency.ok()) << bad;
    EXPECT_EQ(currency.error().field, "currency");
  }
}

TEST(Money, DecimalAmountsBecomeExactMinorUnits) {
  EXPECT_EQ(toMinorUnits(149.99, usd(), "x").value(), 14999);
  EXPECT_EQ(toMinorUnits(0.1 + 0.2, usd(), "x").value(), 30);  // 0.30000000000000004
  EXPECT_EQ(toMinorUnits(50.0, usd(), "x").value(), 5000);
  EXPECT_EQ(toMinorUnits(0, usd(), "x").value(), 0);
  EXPECT_EQ(toMinorUnits(1234.567, Currency::parse("KWD").value(), "x").value(), 1234567);
  EXPECT_EQ(toMinorUnits(99999999999.99, usd(), "x").value(), 9999999999999);
}

TEST(Money, RejectsWhatIsNotAnAmount) {
  EXPECT_FALSE(toMinorUnits(-0.01, usd(), "x").ok());
  EXPECT_FALSE(toMinorUnits(1.005, usd(), "x").ok());  // three decimals in USD
  EXPECT_FALSE(toMinorUnits(10.5, Currency::parse("JPY").value(), "x").ok());
  EXPECT_FALSE(toMinorUnits(1e300, usd(), "x").ok());
  EXPECT_FALSE(toMinorUnits(std::numeric_limits<double>::infinity(), usd(), "x").ok());
  EXPECT_FALSE(toMinorUnits(std::nan(""), usd(), "x").ok());
  EXPECT_EQ(toMinorUnits(-1, usd(), "items/0/unitPrice").error().field, "items/0/unitPrice");
}

TEST(Money, RendersMinorUnitsAsTheExactDecimal) {
  EXPECT_EQ(toDecimal(14999, usd()), 149.99);
  EXPECT_EQ(toDecimal(5000, usd()), 50.0);
  EXPECT_EQ(toDecimal(1, usd()), 0.01);
  EXPECT_EQ(toDecimal(1500, Currency::parse("JPY").value()), 1500.0);
}

TEST(Money, FormatsAmountsForMessages) {
  EXPECT_EQ(formatAmount(12499, usd()), "124.99 USD");
  EXPECT_EQ(formatAmount(5, usd()), "0.05 USD");
  EXPECT_EQ(formatAmount(1500, Currency::parse("JPY").value()), "1500 JPY");
  EXPECT_EQ(formatAmount(1234567, Currency::parse("KWD").value()), "1234.567 KWD");
}

TEST(Money, CheckedArithmeticRefusesOverflow) {
  EXPECT_EQ(addMinor(1, 2), 3);
  EXPECT_FALSE(addMinor(kMaxMinorUnits, 1).has_value());
  EXPECT_EQ(multiplyMinor(999, 3), 2997);
  EXPECT_FALSE(multiplyMinor(kMaxMinorUnits / 2, 3).has_value());
  EXPECT_EQ(multiplyMinor(0, 1'000'000), 0);
}

}  // namespace
}  // namespace orders
