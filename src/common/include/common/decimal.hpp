#pragma once
// Numbers as written in decimal text, judged exactly. JSON numbers arrive as text; turning them
// into a double first loses what the client wrote (1e-400 becomes 0, 10.0000000000000001 becomes
// 10), so amounts and counts are converted from the text itself, with integer arithmetic only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace orders {

/// The value (negative ? -1 : 1) * digits * 10^exponent, normalised: `digits` has no leading and
/// no trailing zeros, and is empty for zero (then `negative` and `exponent` are meaningless).
struct DecimalText {
  bool negative = false;
  std::string digits;
  std::int64_t exponent = 0;

  bool isZero() const { return digits.empty(); }
};

/// Parses JSON's number grammar (RFC 8259 §6): -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
/// nullopt for anything else (leading '+', "01", ".5", "1.", hex, spaces). Exponents beyond
/// ±10^9 saturate: such a value is far outside anything an integer can hold anyway.
std::optional<DecimalText> parseDecimalText(std::string_view text);

/// Why a decimal is not an integer of the wanted kind.
enum class ScaleFailure { kNone, kNotWhole, kTooLarge };

struct ScaledInteger {
  ScaleFailure failure = ScaleFailure::kNone;
  std::int64_t value = 0;  // valid when failure == kNone
};

/// value * 10^scale as an integer: kNotWhole when that has a fraction, kTooLarge when its
/// magnitude exceeds `maxMagnitude` (at most INT64_MAX). -0 is 0.
ScaledInteger scaleToInteger(const DecimalText& number, int scale, std::int64_t maxMagnitude);

/// The whole number a JSON number text states exactly ("2", "2.0", "1e2"), within int64:
/// kNotWhole also for text that is not a JSON number.
ScaledInteger wholeNumber(std::string_view text);

}  // namespace orders
