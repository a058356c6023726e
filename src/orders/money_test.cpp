#include "orders/money.hpp"

#include <gtest/gtest.h>

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

TEST(Money, AmountsAsWrittenBecomeExactMinorUnits) {
  EXPECT_EQ(toMinorUnits("149.99", usd(), "x").value(), 14999);
  EXPECT_EQ(toMinorUnits("50", usd(), "x").value(), 5000);
  EXPECT_EQ(toMinorUnits("50.0", usd(), "x").value(), 5000);
  EXPECT_EQ(toMinorUnits("1.50", usd(), "x").value(), 150);
  EXPECT_EQ(toMinorUnits("1e2", usd(), "x").value(), 10000);
  EXPECT_EQ(toMinorUnits("0.1e1", usd(), "x").value(), 100);
  EXPECT_EQ(toMinorUnits("1E-2", usd(), "x").value(), 1);
  EXPECT_EQ(toMinorUnits("1e-2", usd(), "x").value(), 1);
  EXPECT_EQ(toMinorUnits("12.3400000000000000000000", usd(), "x").value(), 1234);
  EXPECT_EQ(toMinorUnits("0", usd(), "x").value(), 0);
  EXPECT_EQ(toMinorUnits("-0", usd(), "x").value(), 0);  // minus zero is zero
  EXPECT_EQ(toMinorUnits("-0.00", usd(), "x").value(), 0);
  EXPECT_EQ(toMinorUnits("0e999999999999", usd(), "x").value(), 0);
  EXPECT_EQ(toMinorUnits("1234.567", Currency::parse("KWD").value(), "x").value(), 1234567);
  EXPECT_EQ(toMinorUnits("1500", Currency::parse("JPY").value(), "x").value(), 1500);
  EXPECT_EQ(toMinorUnits("99999999999.99", usd(), "x").value(), 9999999999999);
  EXPECT_EQ(toMinorUnits("100000000000.00", usd(), "x").value(), kMaxMinorUnits);
}

TEST(Money, RefusesWhatDoublesWouldQuietlyChange) {
  // Each of these is the same double as an accepted amount (0, 10.00, 1234.00): only the text
  // tells them apart.
  for (const char* text : {"1e-400", "10.0000000000000001", "0.001", "1.005", "1234.0000000000001",
                           "0.30000000000000004"}) {
    auto minor = toMinorUnits(text, usd(), "items/0/unitPrice");
    ASSERT_FALSE(minor.ok()) << text;
    EXPECT_EQ(minor.error().field, "items/0/unitPrice");
    EXPECT_NE(minor.error().message.find("decimals"), std::string::npos) << text;
  }
  EXPECT_FALSE(toMinorUnits("10.5", Currency::parse("JPY").value(), "x").ok());
}

TEST(Money, RefusesNegativeTooLargeAndNonNumbers) {
  EXPECT_NE(toMinorUnits("-0.01", usd(), "x").error().message.find("negative"), std::string::npos);
  EXPECT_NE(toMinorUnits("-1e-400", usd(), "x").error().message.find("negative"),
            std::string::npos);
  for (const char* text : {"100000000000.01", "1e13", "1e400", "1234567890123456789",
                           "12345678901234567890123", "1e999999999999999999999"}) {
    auto minor = toMinorUnits(text, usd(), "x");
    ASSERT_FALSE(minor.ok()) << text;
    EXPECT_NE(minor.error().message.find("too large"), std::string::npos) << text;
  }
  for (const char* text : {"", "-", "+1", "01", ".5", "1.", "1e", "1e+", "0x10", " 1", "1 ", "NaN",
                           "Infinity", "1,5", "١"}) {
    auto minor = toMinorUnits(text, usd(), "x");
    ASSERT_FALSE(minor.ok()) << text;
    EXPECT_EQ(minor.error().message, "must be a number") << text;
  }
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
