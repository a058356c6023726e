#include "orders/money.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/decimal.hpp"

namespace orders {
namespace {

// Active ISO 4217 alphabetic codes (funds and precious metals excluded, they are not prices).
constexpr std::string_view kCurrencyCodes =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN "
    "ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD "
    "JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT "
    "MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG "
    "QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT "
    "TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XOF XPF "
    "YER ZAR ZMW ZWG";

struct MinorUnitException {
  const char* code;
  int decimals;
};

// ISO 4217 currencies whose minor unit is not 1/100.
constexpr std::array<MinorUnitException, 25> kExceptions{{
    {"BHD", 3}, {"BIF", 0}, {"CLF", 4}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"IQD", 3},
    {"ISK", 0}, {"JOD", 3}, {"JPY", 0}, {"KMF", 0}, {"KRW", 0}, {"KWD", 3}, {"LYD", 3},
    {"OMR", 3}, {"PYG", 0}, {"RWF", 0}, {"TND", 3}, {"UGX", 0}, {"UYI", 0}, {"UYW", 4},
    {"VND", 0}, {"VUV", 0}, {"XAF", 0}, {"XOF", 0},
}};

bool isActiveCurrency(std::string_view code) {
  for (std::size_t i = 0; i + 3 <= kCurrencyCodes.size(); i += 4) {
    if (kCurrencyCodes.substr(i, 3) == code) return true;
  }
  return false;
}

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
  if (!isActiveCurrency(code)) {
    return invalid("currency", "is not an active ISO 4217 currency code: " + std::string(code));
  }
  int decimals = 2;
  for (const auto& exception : kExceptions) {
    if (code == exception.code) decimals = exception.decimals;
  }
  return Currency(std::string(code), decimals);
}

Result<std::int64_t> toMinorUnits(std::string_view writtenAmount, const Currency& currency,
                                  const std::string& field) {
  const auto number = parseDecimalText(writtenAmount);
  if (!number) return invalid(field, "must be a number");
  if (number->negative && !number->isZero()) return invalid(field, "must not be negative");
  const auto minor = scaleToInteger(*number, currency.decimals(), kMaxMinorUnits);
  switch (minor.failure) {
    case ScaleFailure::kNone:
      return minor.value;
    case ScaleFailure::kTooLarge:
      return invalid(field,
                     "is too large (at most " + formatAmount(kMaxMinorUnits, currency) + ")");
    case ScaleFailure::kNotWhole:
      break;
  }
  return invalid(field, "has more decimals than " + currency.code() + " allows (" +
                            std::to_string(currency.decimals()) + ")");
}

double toDecimal(std::int64_t minor, const Currency& currency) {
  return static_cast<double>(minor) / static_cast<double>(powerOfTen(currency.decimals()));
}

std::string formatAmount(std::int64_t minor, const Currency& currency) {
  const std::int64_t scale = powerOfTen(currency.decimals());
  std::string text = std::to_string(minor / scale);
  if (currency.decimals() > 0) {
    std::string fraction = std::to_string(minor % scale);
    fraction.insert(0, static_cast<std::size_t>(currency.decimals()) - fraction.size(), '0');
    text += "." + fraction;
  }
  return text + " " + currency.code();
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
