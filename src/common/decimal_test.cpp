#include "common/decimal.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace orders {
namespace {

TEST(DecimalText, NormalisesDigitsAndExponent) {
  const auto number = parseDecimalText("-0012.3400e+3");
  EXPECT_FALSE(number.has_value());  // "0012" is not JSON

  const auto a = parseDecimalText("-12.3400e+3").value();
  EXPECT_TRUE(a.negative);
  EXPECT_EQ(a.digits, "1234");
  EXPECT_EQ(a.exponent, 1);  // -1234 * 10^1 = -12340

  const auto b = parseDecimalText("0.000500").value();
  EXPECT_EQ(b.digits, "5");
  EXPECT_EQ(b.exponent, -4);

  EXPECT_TRUE(parseDecimalText("0").value().isZero());
  EXPECT_TRUE(parseDecimalText("-0.0e-7").value().isZero());
}

TEST(DecimalText, AcceptsExactlyJsonNumberGrammar) {
  for (const char* good : {"0", "-0", "7", "10", "1.5", "1e5", "1E5", "1e+5", "1e-5", "0.0",
                           "123456789012345678901234567890"}) {
    EXPECT_TRUE(parseDecimalText(good).has_value()) << good;
  }
  for (const char* bad : {"", "-", "+1", "01", "00", ".5", "1.", "1.e5", "1e", "e5", "1e+", "--1",
                          "1..2", "0x1F", "1_000", " 1", "1\n", "inf", "nan"}) {
    EXPECT_FALSE(parseDecimalText(bad).has_value()) << bad;
  }
}

TEST(DecimalText, HugeExponentsSaturateInsteadOfOverflowing) {
  const auto big = parseDecimalText("1e99999999999999999999999").value();
  EXPECT_GT(big.exponent, 100);
  EXPECT_EQ(scaleToInteger(big, 0, INT64_MAX).failure, ScaleFailure::kTooLarge);
  const auto tiny = parseDecimalText("1e-99999999999999999999999").value();
  EXPECT_EQ(scaleToInteger(tiny, 18, INT64_MAX).failure, ScaleFailure::kNotWhole);
}

TEST(DecimalText, ScalesToWholeIntegersOnly) {
  auto scaled = [](const char* text, int scale, std::int64_t limit = INT64_MAX) {
    return scaleToInteger(parseDecimalText(text).value(), scale, limit);
  };
  EXPECT_EQ(scaled("1.0000000000000000001", 0).failure, ScaleFailure::kNotWhole);
  EXPECT_EQ(scaled("2.0", 0).value, 2);
  EXPECT_EQ(scaled("1e2", 0).value, 100);
  EXPECT_EQ(scaled("-3", 0).value, -3);
  EXPECT_EQ(scaled("-0", 0).value, 0);
  EXPECT_EQ(scaled("9223372036854775807", 0).value, INT64_MAX);
  EXPECT_EQ(scaled("9223372036854775808", 0).failure, ScaleFailure::kTooLarge);
  EXPECT_EQ(scaled("9999999999999999999", 0).failure, ScaleFailure::kTooLarge);
  EXPECT_EQ(scaled("10000000000000000000", 0).failure, ScaleFailure::kTooLarge);
  EXPECT_EQ(scaled("101", 0, 100).failure, ScaleFailure::kTooLarge);
  EXPECT_EQ(scaled("1.23", 2).value, 123);
  EXPECT_EQ(scaled("1.234", 2).failure, ScaleFailure::kNotWhole);
}

TEST(DecimalText, WholeNumbersAsWritten) {
  EXPECT_EQ(wholeNumber("2.0").value, 2);
  EXPECT_EQ(wholeNumber("1e2").value, 100);
  EXPECT_EQ(wholeNumber("-7").value, -7);
  EXPECT_EQ(wholeNumber("1.0000000000000000001").failure, ScaleFailure::kNotWhole);
  EXPECT_EQ(wholeNumber("not a number").failure, ScaleFailure::kNotWhole);
  EXPECT_EQ(wholeNumber("1e30").failure, ScaleFailure::kTooLarge);
}

}  // namespace
}  // namespace orders
