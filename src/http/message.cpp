#include "http/message.hpp"

#include <algorithm>

namespace orders::http {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool percentDecode(const std::string& in, std::string& out, bool plusIsSpace) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int high = hexValue(in[i + 1]);
      const int low = hexValue(in[i + 2]);
      if (high < 0 || low < 0) return false;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (plusIsSpace && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return true;
}

std::optional<std::string> Request::header(const std::string& name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

bool parseTarget(Request& request) {
  const std::string& target = request.target;
  if (target.empty() || target.front() != '/') return false;
  const auto questionMark = target.find('?');
  request.path = target.substr(0, questionMark);
  request.segments.clear();
  request.query.clear();
  std::vector<std::string> rawSegments;
  for (std::size_t start = 1;;) {
    const auto end = std::min(request.path.find('/', start), request.path.size());
    rawSegments.push_back(request.path.substr(start, end - start));
    if (end == request.path.size()) break;
    start = end + 1;
  }
  if (rawSegments.back().empty()) rawSegments.pop_back();  // "/" and "/v1/orders/"
  for (const auto& raw : rawSegments) {
    std::string decoded;  // the escapes are checked once here; the router decodes parameters
    if (!percentDecode(raw, decoded, /*plusIsSpace=*/false)) return false;
  }
  request.segments = std::move(rawSegments);
  if (questionMark == std::string::npos) return true;
  const std::string rest = target.substr(questionMark + 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    auto end = rest.find('&', start);
    if (end == std::string::npos) end = rest.size();
    const std::string pair = rest.substr(start, end - start);
    if (!pair.empty()) {
      const auto equals = pair.find('=');
      std::string key, value;
      if (!percentDecode(pair.substr(0, equals), key, true)) return false;
      if (equals != std::string::npos && !percentDecode(pair.substr(equals + 1), value, true)) {
        return false;
      }
      request.query[key] = value;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace orders::http
