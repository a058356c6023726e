#pragma once
// Money in integer minor units of an ISO 4217 currency. Binary floating point never holds an
// amount inside the service; the JSON adapters convert at the text boundary only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace orders {

/// An ISO 4217 alphabetic code with the number of decimals of its minor unit.
class Currency {
 public:
  /// Accepts the active ISO 4217 alphabetic codes; the decimals of the minor unit come from
  /// ISO 4217 too.
  static Result<Currency> parse(std::string_view code);
  const std::string& code() const { return code_; }
  int decimals() const { return decimals_; }
  friend bool operator==(const Currency& a, const Currency& b) { return a.code_ == b.code_; }

 private:
  Currency(std::string code, int decimals) : code_(std::move(code)), decimals_(decimals) {}
  std::string code_;
  int decimals_ = 2;
};

/// Largest amount in minor units we accept: 10^13 (100 billion USD). Far inside int64 and inside
/// the range where a JSON number (a double for most consumers) keeps every minor unit exact.
inline constexpr std::int64_t kMaxMinorUnits = 10'000'000'000'000;

/// Converts an amount as written (JSON number text: "149.99", "1.5e2", "-0") into minor units,
/// exactly. Fails, naming `field`, when the text is not a JSON number, the value is negative or
/// above kMaxMinorUnits, or it is not a whole number of the currency's minor unit (1e-400 and
/// 10.0000000000000001 are refused in USD, never rounded).
Result<std::int64_t> toMinorUnits(std::string_view writtenAmount, const Currency& currency,
                                  const std::string& field);

/// The decimal value of minor units, for rendering as a JSON number (149.99). Exact: every value
/// up to kMaxMinorUnits has a shortest round-trip representation equal to its decimal text.
double toDecimal(std::int64_t minor, const Currency& currency);

/// "124.99 USD": minor units as decimal text with the currency's decimals, for messages.
std::string formatAmount(std::int64_t minor, const Currency& currency);

/// Checked arithmetic: nullopt on overflow beyond kMaxMinorUnits.
std::optional<std::int64_t> addMinor(std::int64_t a, std::int64_t b);
std::optional<std::int64_t> multiplyMinor(std::int64_t unit, std::int64_t quantity);

}  // namespace orders
