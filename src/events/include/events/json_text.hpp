#pragma once
// Writing JSON: the compact text of a nlohmann::json, byte for byte what its dump() gives (keys
// in the same sorted order, the same escapes, the same numbers), at a fraction of the cost.
// nlohmann's serializer runs a UTF-8 decoder over every byte of every string; here ASCII strings
// are copied in runs between the bytes that need an escape, and only a string holding non-ASCII
// bytes (rare: names and addresses) goes through nlohmann's own escaping, which also checks
// its UTF-8. Numbers other than integers are written by nlohmann too. Measured with callgrind in
// docs/benchmarks.md (issue 10).

#include <nlohmann/json.hpp>
#include <string>

namespace orders {

/// What to do with a string that is not valid UTF-8, as nlohmann::json::error_handler_t.
enum class InvalidUtf8 {
  kThrow,    // nlohmann::json::type_error (dump()'s default)
  kReplace,  // each invalid byte becomes U+FFFD
};

/// The compact JSON text of `value` (dump() with no indent and ensure_ascii false).
std::string compactJson(const nlohmann::json& value, InvalidUtf8 invalid = InvalidUtf8::kThrow);

/// Appends the compact JSON text of `value` to `out`.
void appendCompactJson(std::string& out, const nlohmann::json& value,
                       InvalidUtf8 invalid = InvalidUtf8::kThrow);

}  // namespace orders
