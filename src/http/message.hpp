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
  std::string method;                          // "GET", "POST"...
  std::string target;                          // "/v1/orders?userId=..."
  std::string path;                            // "/v1/orders"
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

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

/// Splits "/a/b?x=1&y=%20" into path and decoded parameters. False for malformed escapes.
bool parseTarget(const std::string& target, std::string& path,
                 std::map<std::string, std::string>& query);

}  // namespace orders::http
