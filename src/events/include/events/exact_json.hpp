#pragma once
// Parsing JSON from outside (HTTP bodies, broker messages) without losing what was written.
// nlohmann::json holds every non-integer number as a double, so 1e-400 reads as 0 and
// 10.0000000000000001 as 10; this parser also keeps the text of each such number, so that money
// and counts are judged on the number as written (common/decimal.hpp). It never throws: numbers
// out of a double's range, malformed text, duplicate keys and excessive nesting are errors.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.hpp"

namespace orders {

struct JsonLimits {
  /// Objects and arrays nested deeper than this are refused (a deep document costs stack in
  /// every recursive consumer of it, e.g. dump()).
  std::size_t maxDepth = 64;
};

struct ExactJson {
  nlohmann::json value;
  /// The text of every number `value` holds as a double, by JSON pointer (RFC 6901), e.g.
  /// "/items/0/unitPrice" -> "10.0000000000000001". Integers that fit 64 bits are exact in
  /// `value` and not listed.
  std::unordered_map<std::string, std::string> numberText;

  /// The number at `pointer` as written: its text if listed, else the decimal of the integer
  /// `node` (which must be the value at `pointer`); nullopt if `node` is not a number.
  std::optional<std::string> writtenNumber(const nlohmann::json& node,
                                           const std::string& pointer) const;
};

/// Parses one JSON text (RFC 8259, UTF-8, nothing after the value). On failure the Error
/// (kInvalidArgument) says what is wrong and at which byte.
Result<ExactJson> parseExactJson(std::string_view text, JsonLimits limits = {});

/// The decimal text of a JSON number held by nlohmann::json: exact for integers; for doubles the
/// shortest text that reads back as the same double (use ExactJson::writtenNumber when the
/// original text matters).
std::string numberAsText(const nlohmann::json& number);

/// Appends one reference token to a JSON pointer, escaped ("~" -> "~0", "/" -> "~1").
std::string appendPointer(const std::string& pointer, std::string_view token);

}  // namespace orders
