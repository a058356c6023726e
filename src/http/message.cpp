#include "http/message.hpp"

namespace orders::http {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

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

}  // namespace

std::optional<std::string> Request::header(const std::string& name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

bool parseTarget(const std::string& target, std::string& path,
                 std::map<std::string, std::string>& query) {
  const auto questionMark = target.find('?');
  if (!percentDecode(target.substr(0, questionMark), path, /*plusIsSpace=*/false)) return false;
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
      query[key] = value;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace orders::http
