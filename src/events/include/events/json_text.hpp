#pragma once
// Writing JSON: the compact text of a nlohmann::json, byte for byte what its dump() gives (keys
// in the same sorted order, the same escapes, the same numbers), at a fraction of the cost.
// nlohmann's serializer runs a UTF-8 decoder over every byte of every string; here ASCII strings
// are copied in runs between the bytes that need an escape, and only a string holding non-ASCII
// bytes (rare: names and addresses) goes through nlohmann's own escaping, which also checks
// its UTF-8. Numbers other than integers are written by nlohmann too. Measured with callgrind in
// docs/benchmarks.md (issue 10).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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

/// Writes compact JSON text straight into a string, for documents whose shape the code knows
/// (events, the stored order, API answers): no DOM is built and freed for each one (issue 10).
/// Members come out in the order they are written, not sorted as dump() sorts them. Strings are
/// escaped as appendCompactJson escapes them, with the same InvalidUtf8 policy.
///
/// Contract: the calls nest as JSON does (every begin has its end; inside an object each value
/// is preceded by key()); the writer does not check it, the tests of each document do (they parse
/// what was written). The writer appends to `out`, which the caller owns and must outlive it.
/// Not thread-safe; one writer per document.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out, InvalidUtf8 invalid = InvalidUtf8::kThrow)
      : out_(out), invalid_(invalid) {}

  JsonWriter& beginObject() { return open('{'); }
  JsonWriter& endObject() { return close('}'); }
  JsonWriter& beginArray() { return open('['); }
  JsonWriter& endArray() { return close(']'); }
  /// The name of the next member of the current object.
  JsonWriter& key(std::string_view name);

  JsonWriter& string(std::string_view text);
  JsonWriter& integer(std::int64_t value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  /// The number minor / 10^decimals (0 <= decimals <= 9), written as dump() writes the double
  /// nearest to it: 14999, 2 -> 149.99; 1500, 0 -> 1500.0; 0, 2 -> 0.0. Exact decimal digits
  /// from 10^-4 to 10^15 (where that is the same text); outside, nlohmann writes the double.
  JsonWriter& decimal(std::int64_t minor, int decimals);
  /// A value held as a DOM (the rare parts that arrive as JSON), as appendCompactJson writes it.
  JsonWriter& json(const nlohmann::json& value);

 private:
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  void beforeValue() {
    if (needsComma_) out_.push_back(',');
    needsComma_ = true;
  }

  std::string& out_;
  InvalidUtf8 invalid_;
  bool needsComma_ = false;
};

/// The text `write` produces with a JsonWriter: `writeJson([&](JsonWriter& w) { ... })`.
template <typename Write>
std::string writeJson(Write&& write, InvalidUtf8 invalid = InvalidUtf8::kThrow) {
  std::string out;
  out.reserve(512);
  JsonWriter writer(out, invalid);
  write(writer);
  return out;
}

}  // namespace orders
