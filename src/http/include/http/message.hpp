#pragma once
// HTTP request and response as the handlers see them: no Beast types, so handlers and their
// tests stay independent of the server library.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace orders::http {

struct Request {
  std::string method;  // "GET", "POST"...
  std::string target;  // "/v1/orders/a%2Fb?userId=..." as sent
  std::string path;    // "/v1/orders/a%2Fb": the target's path as sent, still percent-encoded
  /// The path split at "/", each segment as sent (still percent-encoded, escapes checked):
  /// {"v1", "orders", "a%2Fb"}. The router decodes the parameters it binds, so an encoded slash
  /// is data, never a separator (RFC 3986 §2.2). A trailing "/" adds no segment.
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;  // decoded query parameters
  /// Names lower-cased; repeated field lines joined with ", " (RFC 9110 §5.3).
  std::map<std::string, std::string> headers;
  std::string body;
  /// The peer's IP address as the server saw it ("127.0.0.1", "::1"); empty when not from a
  /// socket. What rate limits key on when the caller is anonymous.
  std::string remoteAddress;

  /// The header's value, or nullopt. `name` must be lower case.
  std::optional<std::string> header(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string contentType = "application/json";
};

using Responder = std::function<void(Response)>;

/// Fills path, segments and query of `request` from its target ("/a/b%2Fc?x=1&y=%20" -> path
/// "/a/b%2Fc", segments {"a", "b%2Fc"}, query {x: "1", y: " "}). False for a target that is not a
/// path (origin-form, RFC 9112 §3.2.1) or has a malformed percent-escape.
bool parseTarget(Request& request);

/// Decodes %XX escapes (and '+' as a space when `plusIsSpace`, for query strings). False for a
/// malformed escape.
bool percentDecode(const std::string& in, std::string& out, bool plusIsSpace);

}  // namespace orders::http
