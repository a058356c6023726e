#include "http/header_rules.hpp"

#include <charconv>
#include <string>

namespace orders::http {
namespace {

bool isOptionalWhitespace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && isOptionalWhitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isOptionalWhitespace(text.back())) text.remove_suffix(1);
  return text;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != static_cast<unsigned char>(b[i])) {
      return false;
    }
  }
  return true;
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1), trimmed, empty ones dropped.
std::vector<std::string_view> listElements(std::string_view value) {
  std::vector<std::string_view> elements;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    const auto element = trim(value.substr(start, end - start));
    if (!element.empty()) elements.push_back(element);
    start = end + 1;
  }
  return elements;
}

/// etagc = %x21 / %x23-7E / obs-text
bool isEntityTagCharacter(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

}  // namespace

TransferCoding judgeTransferEncoding(std::string_view value) {
  const auto codings = listElements(value);
  if (codings.empty()) return TransferCoding::kChunkedNotFinal;
  // Parameters (";q=...") belong to the coding: "chunked;x=1" is not plain chunked.
  if (!equalsIgnoringCase(codings.back(), "chunked")) return TransferCoding::kChunkedNotFinal;
  return codings.size() == 1 ? TransferCoding::kChunked : TransferCoding::kUnsupportedCoding;
}

bool isValidHost(std::string_view value) {
  if (value.empty()) return false;
  std::string_view host = value;
  if (host.front() == '[') {  // IP-literal: [v6address]
    const auto close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
    host.remove_prefix(close + 1);
    if (host.empty()) return true;
    if (host.front() != ':') return false;
  } else {
    const auto colon = host.find(':');
    const auto name = host.substr(0, colon);
    if (name.empty()) return false;
    for (char c : name) {
      // reg-name: unreserved / pct-encoded / sub-delims
      const bool allowed = std::isalnum(static_cast<unsigned char>(c)) ||
                           std::string_view("-._~%!$&'()*+,;=").find(c) != std::string_view::npos;
      if (!allowed) return false;
    }
    if (colon == std::string_view::npos) return true;
    host.remove_prefix(colon);
  }
  // ":" port, port = *DIGIT (at most 5 of them, up to 65535)
  const auto port = host.substr(1);
  if (port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  unsigned number = 0;
  std::from_chars(port.data(), port.data() + port.size(), number);
  return number <= 65535;
}

std::optional<IfMatch> parseIfMatch(std::string_view value) {
  IfMatch result;
  if (trim(value) == "*") {
    result.any = true;
    return result;
  }
  // #entity-tag, scanned rather than split: a tag may contain commas ("a,b").
  std::size_t i = 0;
  while (i < value.size()) {
    if (isOptionalWhitespace(value[i]) || value[i] == ',') {
      ++i;
      continue;
    }
    const bool weak = value.substr(i).starts_with("W/");
    if (weak) i += 2;
    if (i >= value.size() || value[i] != '"') return std::nullopt;
    const auto close = value.find('"', i + 1);
    if (close == std::string_view::npos) return std::nullopt;
    const auto opaque = value.substr(i + 1, close - i - 1);
    for (char c : opaque) {
      if (!isEntityTagCharacter(static_cast<unsigned char>(c))) return std::nullopt;
    }
    i = close + 1;
    while (i < value.size() && isOptionalWhitespace(value[i])) ++i;
    if (i < value.size() && value[i] != ',') return std::nullopt;  // "3"x or "3" "4"
    if (weak) continue;
    // This API's tags are the order's version in decimal ("3"); anything else is a tag we never
    // issued, which matches nothing.
    std::int64_t version = 0;
    const auto [end, ec] = std::from_chars(opaque.data(), opaque.data() + opaque.size(), version);
    if (ec == std::errc() && end == opaque.data() + opaque.size() && !opaque.empty() &&
        opaque.front() != '-' && !(opaque.size() > 1 && opaque.front() == '0')) {
      result.versions.push_back(version);
    }
  }
  return result;
}

}  // namespace orders::http
