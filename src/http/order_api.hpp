#pragma once
// The HTTP API of the Order Service (/v1, docs/openapi.yaml): thin handlers that parse and
// validate the request, call the application layer, and render the order or the problem.

#include <functional>
#include <nlohmann/json.hpp>

#include "application/order_service.hpp"
#include "http/message.hpp"

namespace orders::http {

/// What /readyz reports: `ready` false means "take this instance out of rotation" (503).
struct Readiness {
  bool ready = true;
  nlohmann::json details = nlohmann::json::object();
};
using ReadinessCheck = std::function<Readiness()>;

class OrderApi {
 public:
  OrderApi(OrderService& service, IdGenerator& ids, ReadinessCheck readiness);

  /// The Server's handler: routes and answers every request (see http/server.hpp for the contract).
  void handle(Request request, Responder respond);

 private:
  OrderService& service_;
  IdGenerator& ids_;
  ReadinessCheck readiness_;
};

}  // namespace orders::http
