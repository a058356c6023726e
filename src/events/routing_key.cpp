#include "events/routing_key.hpp"

#include <charconv>

namespace orders {
namespace {

constexpr std::string_view kMajorSuffix = ".v";

/// The major of "<major>.<minor>", or 1 when there is none to read.
int majorOf(std::string_view messageVersion) {
  int major = 0;
  const auto* first = messageVersion.data();
  const auto* last = first + messageVersion.size();
  const auto [end, error] = std::from_chars(first, last, major);
  if (error != std::errc() || end == first || major < 1) return 1;
  return major;
}

}  // namespace

void assignRoutingKey(std::string& out, std::string_view messageType,
                      std::string_view messageVersion) {
  out.assign(messageType);
  const int major = majorOf(messageVersion);
  if (major > 1) {
    out += kMajorSuffix;
    out += std::to_string(major);
  }
}

std::string routingKeyFor(std::string_view messageType, std::string_view messageVersion) {
  std::string key;
  assignRoutingKey(key, messageType, messageVersion);
  return key;
}

std::string routingKeyFor(std::string_view messageType, int major) {
  std::string key(messageType);
  if (major > 1) key += std::string(kMajorSuffix) + std::to_string(major);
  return key;
}

std::optional<ParsedRoutingKey> parseRoutingKey(std::string_view routingKey) {
  const auto dot = routingKey.rfind(kMajorSuffix);
  if (dot == std::string_view::npos) {
    if (routingKey.empty()) return std::nullopt;
    return ParsedRoutingKey{std::string(routingKey), 1};
  }
  const auto digits = routingKey.substr(dot + kMajorSuffix.size());
  int major = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), major);
  if (dot == 0 || digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      major < 2 || digits.front() == '0') {
    return std::nullopt;
  }
  return ParsedRoutingKey{std::string(routingKey.substr(0, dot)), major};
}

}  // namespace orders
