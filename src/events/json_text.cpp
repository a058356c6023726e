#include "events/json_text.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <string_view>

namespace orders {
namespace {

using Json = nlohmann::json;

nlohmann::json::error_handler_t handlerOf(InvalidUtf8 invalid) {
  return invalid == InvalidUtf8::kReplace ? Json::error_handler_t::replace
                                          : Json::error_handler_t::strict;
}

// What each byte needs in a JSON string: nothing, an escape, or (non-ASCII) UTF-8 checking.
enum ByteClass : unsigned char { kPlain, kEscape, kNonAscii };

constexpr std::array<ByteClass, 256> kByteClass = [] {
  std::array<ByteClass, 256> classes{};
  for (int b = 0; b < 256; ++b) {
    classes[b] = b >= 0x80 ? kNonAscii : (b < 0x20 || b == '"' || b == '\\') ? kEscape : kPlain;
  }
  return classes;
}();

void appendString(std::string& out, const std::string& text, InvalidUtf8 invalid) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t start = out.size();
  out.push_back('"');
  std::size_t runStart = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const ByteClass kind = kByteClass[byte];
    if (kind == kPlain) continue;
    if (kind == kNonAscii) {
      // nlohmann's escaping for this string, which validates its UTF-8 as dump() does.
      out.resize(start);
      out += Json(text).dump(-1, ' ', false, handlerOf(invalid));
      return;
    }
    out.append(text, runStart, i - runStart);
    runStart = i + 1;
    switch (byte) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 0x0f]);
    }
  }
  out.append(text, runStart, text.size() - runStart);
  out.push_back('"');
}

template <typename Integer>
void appendInteger(std::string& out, Integer value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

}  // namespace

void appendCompactJson(std::string& out, const Json& value, InvalidUtf8 invalid) {
  switch (value.type()) {
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const Json::object_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        appendString(out, key, invalid);
        out.push_back(':');
        appendCompactJson(out, member, invalid);
      }
      out.push_back('}');
      return;
    }
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value) {
        if (!first) out.push_back(',');
        first = false;
        appendCompactJson(out, element, invalid);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::string:
      appendString(out, value.get_ref<const std::string&>(), invalid);
      return;
    case Json::value_t::number_integer:
      appendInteger(out, value.get<std::int64_t>());
      return;
    case Json::value_t::number_unsigned:
      appendInteger(out, value.get<std::uint64_t>());
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::number_float:
    case Json::value_t::binary:
    case Json::value_t::discarded:
      out += value.dump(-1, ' ', false, handlerOf(invalid));
      return;
  }
}

std::string compactJson(const Json& value, InvalidUtf8 invalid) {
  std::string out;
  out.reserve(256);
  appendCompactJson(out, value, invalid);
  return out;
}

}  // namespace orders
