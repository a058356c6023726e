#include "orders/money.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace orders {
namespace {

struct MinorUnitException {
  const char* code;
  int decimals;
};

// ISO 4217 currencies whose minor unit is not 1/100.
constexpr std::array<MinorUnitException, 23> kExceptions{{
    {"BHD", 3}, {"BIF", 0}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"IQD", 3}, {"ISK", 0}, {"JOD", 3},
    {"JPY", 0}, {"KMF", 0}, {"KRW", 0}, {"KWD", 3}, {"LYD", 3}, {"OMR", 3}, {"PYG", 0}, {"RWF", 0},
    {"TND", 3}, {"UGX", 0}, {"UYI", 0}, {"VND", 0}, {"VUV", 0}, {"XAF", 0}, {"XOF", 0},
}};

std::int64_t powerOfTen(int exponent) {
  std::int64_t value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

}  // namespace

Result<Currency> Currency::parse(std::string_view code) {
  if (code.size() != 3) {
    return invalid("currency", "must be an ISO 4217 code of three upper-case letters");
  }
  for (char c : code) {
    if (c < 'A' || c > 'Z') {
      return invalid("currency", "must be an ISO 4217 code of three upper-case letters");
    }
  }
  int decimals = 2;
  for (const auto& exception : kExceptions) {
    if (code == exception.code) decimals = exception.decimals;
  }
  return Currency(std::string(code), decimals);
}

Result<std::int64_t> toMinorUnits(double amount, const Currency& currency,
                                  const std::string& field) {
  if (!std::isfinite(amount)) return invalid(field, "must be a finite number");
  if (amount < 0) return invalid(field, "must not be negative");
  const double scaled = amount * static_cast<double>(powerOfTen(currency.decimals()));
  if (scaled > static_cast<double>(kMaxMinorUnits)) return invalid(field, "is too large");
  const double rounded = std::round(scaled);
  // The JSON text "149.99" arrives as the double nearest to it; scaling it lands within a tiny
  // relative error of an integer. Anything further away had more decimals than the currency has.
  if (std::fabs(scaled - rounded) > std::max(1e-6, scaled * 1e-15)) {
    return invalid(field, "has more decimals than " + currency.code() + " allows (" +
                              std::to_string(currency.decimals()) + ")");
  }
  return static_cast<std::int64_t>(rounded);
}

double toDecimal(std::int64_t minor, const Currency& currency) {
  return static_cast<double>(minor) / static_cast<double>(powerOfTen(currency.decimals()));
}

std::optional<std::int64_t> addMinor(std::int64_t a, std::int64_t b) {
  if (a > kMaxMinorUnits - b) return std::nullopt;
  return a + b;
}

std::optional<std::int64_t> multiplyMinor(std::int64_t unit, std::int64_t quantity) {
  if (quantity != 0 && unit > kMaxMinorUnits / quantity) return std::nullopt;
  return unit * quantity;
}

}  // namespace orders
