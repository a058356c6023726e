#pragma once
// The API's routing table: method + path template ("/v1/orders/{orderId}/refunds/{refundId}/
// processed") -> handler. Templates are matched segment by segment on the path as sent, before
// anything is decoded: a literal segment matches only itself, a "{name}" segment matches any one
// segment and is decoded into the route's parameters, "{name:uuid}" only a segment that decodes to
// a UUID. So "%2F" stays inside its segment: "/v1/orders/<id>%2Fcancel" is not the cancel route,
// and not an order either (404).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace orders::http {

struct RequestScope;
class Reply;

/// What a route needs from the authentication and authorisation steps (http/middlewares.hpp); the
/// names are the permissions roles map to (http/roles.hpp).
struct RouteOptions {
  /// e.g. "orders:create". Empty: a public route (health probes) that needs no credentials.
  std::string permission;
};

/// A handler answers through `reply` once, now or later, from any thread (http/pipeline.hpp).
/// It may throw: the pipeline's exception barrier answers 500 then.
using RouteHandler =
    std::function<void(const Request& request, RequestScope& scope, const Reply& reply)>;

struct Route {
  std::string method;
  std::string pathTemplate;
  RouteOptions options;
  RouteHandler handler;
  std::vector<std::string> segments;  // the template split at '/'
};

class Router {
 public:
  /// Adds a route. Throws std::invalid_argument for a malformed template or one that repeats a
  /// method + template already added (a programming error, found at start).
  void add(std::string method, std::string pathTemplate, RouteHandler handler,
           RouteOptions options = {});

  struct Match {
    const Route* route = nullptr;               // null: no route for this method
    std::map<std::string, std::string> params;  // decoded "{name}" segments of `route`
    std::string allowed;                        // when the path exists: its methods, "GET, POST"
  };
  /// The route of `method` on `request.segments`. No route and empty `allowed`: 404; no route
  /// but `allowed` set: 405 with that Allow header.
  Match match(const std::string& method, const std::vector<std::string>& segments) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace orders::http
