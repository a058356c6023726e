#pragma once
// Field rules shared by the order actions.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace orders {

/// Longest free-text field we store (names, streets, reasons), in bytes of UTF-8.
inline constexpr std::size_t kMaxTextLength = 500;

/// Non-empty, at most `maxLength` bytes, valid UTF-8 without control characters.
Status checkText(std::string_view value, const std::string& field,
                 std::size_t maxLength = kMaxTextLength);
Status checkOptionalText(std::string_view value, const std::string& field,
                         std::size_t maxLength = kMaxTextLength);
Status checkEmail(std::string_view value, const std::string& field);
/// An assigned ISO 3166-1 alpha-2 code, upper case ("US", "DE").
Status checkCountry(std::string_view value, const std::string& field);
Status checkUuid(std::string_view value, const std::string& field);

}  // namespace orders
