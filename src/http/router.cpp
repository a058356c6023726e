#include "http/router.hpp"

#include <stdexcept>

#include "common/ids.hpp"

namespace orders::http {
namespace {

bool isParameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::vector<std::string> splitTemplate(const std::string& pathTemplate) {
  if (pathTemplate.empty() || pathTemplate.front() != '/') {
    throw std::invalid_argument("route template must start with '/': " + pathTemplate);
  }
  std::vector<std::string> segments;
  std::size_t start = 1;
  auto checkConstraint = [&](const std::string& segment) {
    const auto colon = segment.find(':');
    if (isParameter(segment) && colon != std::string::npos &&
        segment.substr(colon + 1, segment.size() - colon - 2) != "uuid") {
      throw std::invalid_argument("unknown parameter constraint in " + pathTemplate);
    }
  };
  while (start <= pathTemplate.size()) {
    auto end = pathTemplate.find('/', start);
    if (end == std::string::npos) end = pathTemplate.size();
    segments.push_back(pathTemplate.substr(start, end - start));
    checkConstraint(segments.back());
    if (segments.back().empty()) {
      throw std::invalid_argument("route template has an empty segment: " + pathTemplate);
    }
    start = end + 1;
  }
  return segments;
}

/// Binds the template's parameters, or nullopt when a literal segment differs.
std::optional<std::map<std::string, std::string>> bindParams(
    const Route& route, const std::vector<std::string>& segments) {
  if (route.segments.size() != segments.size()) return std::nullopt;
  std::map<std::string, std::string> params;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& expected = route.segments[i];
    if (isParameter(expected)) {
      std::string value;
      if (!percentDecode(segments[i], value, /*plusIsSpace=*/false)) return std::nullopt;
      // "{name:uuid}": the segment must be a UUID to match at all (else the path is unknown).
      std::string name = expected.substr(1, expected.size() - 2);
      if (const auto colon = name.find(':'); colon != std::string::npos) {
        if (name.substr(colon + 1) == "uuid" && !isUuid(value)) return std::nullopt;
        name.erase(colon);
      }
      params.emplace(std::move(name), std::move(value));
    } else if (expected != segments[i]) {
      return std::nullopt;
    }
  }
  return params;
}

}  // namespace

void Router::add(std::string method, std::string pathTemplate, RouteHandler handler,
                 RouteOptions options) {
  auto route = std::make_unique<Route>();
  route->segments = splitTemplate(pathTemplate);
  for (const auto& existing : routes_) {
    if (existing->method == method && existing->segments == route->segments) {
      throw std::invalid_argument("route added twice: " + method.append(" ").append(pathTemplate));
    }
  }
  route->method = std::move(method);
  route->pathTemplate = std::move(pathTemplate);
  route->handler = std::move(handler);
  route->options = std::move(options);
  routes_.push_back(std::move(route));
}

Router::Match Router::match(const std::string& method,
                            const std::vector<std::string>& segments) const {
  Match result;
  // A literal beats a parameter: the most specific template of the method that binds wins, so
  // the routes' order in the table does not matter.
  int bestLiterals = -1;
  for (const auto& route : routes_) {
    auto params = bindParams(*route, segments);
    if (!params) continue;
    if (route->method != method) {
      if (result.allowed.find(route->method) == std::string::npos) {
        if (!result.allowed.empty()) result.allowed += ", ";
        result.allowed += route->method;
      }
      continue;
    }
    int literals = 0;
    for (const auto& segment : route->segments) literals += isParameter(segment) ? 0 : 1;
    if (literals > bestLiterals) {
      bestLiterals = literals;
      result.route = route.get();
      result.params = std::move(*params);
    }
  }
  if (result.route) {
    const std::string& own = result.route->method;
    if (result.allowed.find(own) == std::string::npos) {
      result.allowed = result.allowed.empty() ? own : own + ", " + result.allowed;
    }
  }
  return result;
}

}  // namespace orders::http
