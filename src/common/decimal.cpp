#include "common/decimal.hpp"

#include <limits>

namespace orders {
namespace {

constexpr std::int64_t kExponentLimit = 1'000'000'000;

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<DecimalText> parseDecimalText(std::string_view text) {
  std::size_t i = 0;
  DecimalText number;
  if (i < text.size() && text[i] == '-') {
    number.negative = true;
    ++i;
  }
  // Integer part: "0" or a non-zero digit followed by digits.
  const std::size_t integerStart = i;
  if (i >= text.size() || !isDigit(text[i])) return std::nullopt;
  if (text[i] == '0') {
    ++i;
  } else {
    while (i < text.size() && isDigit(text[i])) ++i;
  }
  std::string digits(text.substr(integerStart, i - integerStart));
  std::int64_t exponent = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t fractionStart = i;
    while (i < text.size() && isDigit(text[i])) ++i;
    if (i == fractionStart) return std::nullopt;
    digits.append(text.substr(fractionStart, i - fractionStart));
    exponent -= static_cast<std::int64_t>(i - fractionStart);
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negativeExponent = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      negativeExponent = text[i] == '-';
      ++i;
    }
    const std::size_t exponentStart = i;
    std::int64_t written = 0;
    while (i < text.size() && isDigit(text[i])) {
      if (written < kExponentLimit) written = written * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exponentStart) return std::nullopt;
    if (written > kExponentLimit) written = kExponentLimit;
    exponent += negativeExponent ? -written : written;
  }
  if (i != text.size()) return std::nullopt;

  // Normalise: no leading zeros, no trailing zeros (each one moves into the exponent).
  const std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return DecimalText{};  // zero, whatever its sign
  const std::size_t last = digits.find_last_not_of('0');
  exponent += static_cast<std::int64_t>(digits.size() - 1 - last);
  number.digits = digits.substr(first, last - first + 1);
  number.exponent = exponent;
  return number;
}

ScaledInteger scaleToInteger(const DecimalText& number, int scale, std::int64_t maxMagnitude) {
  if (number.isZero()) return {};
  const std::int64_t exponent = number.exponent + scale;
  // The last digit is not zero, so a negative exponent always leaves a fraction.
  if (exponent < 0) return {ScaleFailure::kNotWhole, 0};
  // INT64_MAX has 19 digits: anything longer is too large for any limit.
  if (static_cast<std::int64_t>(number.digits.size()) + exponent > 19) {
    return {ScaleFailure::kTooLarge, 0};
  }
  std::uint64_t magnitude = 0;
  for (char c : number.digits) magnitude = magnitude * 10 + static_cast<std::uint64_t>(c - '0');
  for (std::int64_t k = 0; k < exponent; ++k) magnitude *= 10;  // at most 19 digits: no overflow
  if (magnitude > static_cast<std::uint64_t>(maxMagnitude)) return {ScaleFailure::kTooLarge, 0};
  const auto value = static_cast<std::int64_t>(magnitude);
  return {ScaleFailure::kNone, number.negative ? -value : value};
}

ScaledInteger wholeNumber(std::string_view text) {
  const auto number = parseDecimalText(text);
  if (!number) return {ScaleFailure::kNotWhole, 0};
  return scaleToInteger(*number, 0, INT64_MAX);
}

}  // namespace orders
