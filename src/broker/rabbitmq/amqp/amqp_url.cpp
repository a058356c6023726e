#include "broker/rabbitmq/amqp/amqp_url.hpp"

#include <cctype>
#include <charconv>

namespace orders {
namespace {

Error bad(const std::string& message) {
  return invalid("amqp-url", "invalid AMQP URL: " + message);
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decodes `text`; false on a malformed escape.
bool decode(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return false;
    const int hi = hexValue(text[i + 1]);
    const int lo = hexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

std::string encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

Result<AmqpUrl> AmqpUrl::parse(std::string_view url) {
  AmqpUrl result;
  const auto schemeEnd = url.find("://");
  if (schemeEnd == std::string_view::npos)
    return bad("missing scheme, expected amqp://user:password@host:port/vhost");
  std::string scheme(url.substr(0, schemeEnd));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "amqps") {
    result.tls = true;
    result.port = 5671;
  } else if (scheme != "amqp") {
    return bad("scheme '" + scheme + "' is not amqp or amqps");
  }
  std::string_view rest = url.substr(schemeEnd + 3);

  if (rest.find_first_of("?#") != std::string_view::npos)
    return bad("query parameters and fragments are not supported");

  const auto pathStart = rest.find('/');
  std::string_view authority = rest.substr(0, pathStart);
  std::string_view path =
      pathStart == std::string_view::npos ? std::string_view{} : rest.substr(pathStart + 1);

  const auto at = authority.rfind('@');
  const bool hadUserInfo = at != std::string_view::npos;
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    if (!decode(user, result.user)) return bad("bad percent-encoding in the user name");
    if (result.user.empty()) return bad("empty user name before '@'");
    if (colon == std::string_view::npos) {
      result.password.clear();
    } else if (!decode(userinfo.substr(colon + 1), result.password)) {
      return bad("bad percent-encoding in the password");
    }
  }

  std::string_view portText;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address in the host");
    result.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 host");
      portText = after.substr(1);
      if (portText.empty()) return bad("empty port after ':'");
    }
  } else {
    const auto colon = authority.rfind(':');
    result.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = authority.substr(colon + 1);
      if (portText.empty()) return bad("empty port after ':'");
    }
  }
  if (result.host.empty()) return bad("missing host");
  for (char c : result.host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == ':'))
      return bad("host '" + result.host + "' contains '" + std::string(1, c) + "'");
  }
  if (!portText.empty()) {
    int port = 0;
    const auto [end, ec] =
        std::from_chars(portText.data(), portText.data() + portText.size(), port);
    const bool digits = portText.find_first_not_of("0123456789") == std::string_view::npos;
    // Without '@', "amqp://user:secret/vhost" (the "@host" forgotten) puts the password where the
    // port goes: then the text is never repeated.
    if (!hadUserInfo && (!digits || ec != std::errc() || port < 1 || port > 65535))
      return bad(
          "the text after ':' in the host part is not a port number in 1-65535 (if it "
          "is a password, the '@host' after it is missing)");
    if (!digits) return bad("port '" + std::string(portText) + "' is not a number");
    if (ec != std::errc() || end != portText.data() + portText.size() || port < 1 || port > 65535)
      return bad("port '" + std::string(portText) + "' is not a number in 1-65535");
    result.port = port;
  }

  if (!path.empty()) {
    if (path.find('/') != std::string_view::npos)
      return bad("vhost '" + std::string(path) + "' has a '/'; encode it as %2F");
    if (!decode(path, result.vhost)) return bad("bad percent-encoding in the vhost");
    if (result.vhost.empty()) result.vhost = "/";
  }
  return result;
}

std::string AmqpUrl::redacted() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "amqps://" : "amqp://") + encode(user) +
         (password.empty() ? "" : ":***") + "@" + (v6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port) + "/" + encode(vhost);
}

bool AmqpUrl::loopback() const {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace orders
