#include "events/json_text.hpp"

#include <array>
#include <cassert>
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

void appendString(std::string& out, std::string_view text, InvalidUtf8 invalid) {
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
      out += Json(std::string(text)).dump(-1, ' ', false, handlerOf(invalid));
      return;
    }
    out.append(text.substr(runStart, i - runStart));
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
  out.append(text.substr(runStart));
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

JsonWriter& JsonWriter::open(char bracket) {
  beforeValue();
  out_.push_back(bracket);
  needsComma_ = false;  // the first member or element follows without a comma
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  out_.push_back(bracket);
  needsComma_ = true;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  beforeValue();
  appendString(out_, name, invalid_);
  out_.push_back(':');
  needsComma_ = false;  // the value that follows is the member's, not a new element
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view text) {
  beforeValue();
  appendString(out_, text, invalid_);
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t value) {
  beforeValue();
  appendInteger(out_, value);
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) {
  beforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  beforeValue();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::decimal(std::int64_t minor, int decimals) {
  beforeValue();
  static constexpr std::int64_t kPowers[] = {
      1, 10, 100, 1'000, 10'000, 100'000, 1'000'000, 10'000'000, 100'000'000, 1'000'000'000};
  assert(decimals >= 0 && decimals <= 9);
  const std::int64_t scale = kPowers[decimals];
  // From 10^-4 to 10^15 the decimal has at most 15 significant digits, so the nearest double prints
  // back as exactly those digits: dump()'s shortest round trip is the decimal text itself, with
  // its trailing zeros dropped and ".0" when nothing is left after the point.
  constexpr std::int64_t kExactBelow = 1'000'000'000'000'000;
  // Below 10^-4 dump() switches to an exponent (1e-05).
  const std::uint64_t magnitude =
      minor < 0 ? 0 - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  const bool tiny = minor != 0 && magnitude * 10'000 < static_cast<std::uint64_t>(scale);
  if (minor <= -kExactBelow || minor >= kExactBelow || tiny) {
    out_ += Json(static_cast<double>(minor) / static_cast<double>(scale)).dump();
    return *this;
  }
  if (minor < 0) out_.push_back('-');
  appendInteger(out_, magnitude / static_cast<std::uint64_t>(scale));
  out_.push_back('.');
  std::uint64_t fraction = magnitude % static_cast<std::uint64_t>(scale);
  int digits = decimals;
  while (digits > 0 && fraction % 10 == 0) {
    fraction /= 10;
    --digits;
  }
  if (digits == 0) {
    out_.push_back('0');
    return *this;
  }
  char text[16];
  for (int i = digits - 1; i >= 0; --i) {
    text[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  out_.append(text, static_cast<std::size_t>(digits));
  return *this;
}

JsonWriter& JsonWriter::json(const Json& value) {
  beforeValue();
  appendCompactJson(out_, value, invalid_);
  return *this;
}

std::string compactJson(const Json& value, InvalidUtf8 invalid) {
  std::string out;
  out.reserve(256);
  appendCompactJson(out, value, invalid);
  return out;
}

}  // namespace orders
