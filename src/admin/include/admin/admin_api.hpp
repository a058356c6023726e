#pragma once
// The operator's HTTP API (/admin/api/..., JSON, problem+json errors) and the operator page
// (/admin: static HTML, CSS and JS embedded in the binary), added to the service's routing table
// (http/order_api.hpp, ApiHooks::extraRoutes), behind its pipeline: limits, authentication, rate
// limit, authorisation. Every /admin/api route needs the permission "operator"
// (http::permission::kOperate), which only the operator role holds: other roles get 403, a
// request without a token 401. The page itself (/admin and /admin/assets/...) is public code
// without data: it asks for the operator's token, keeps it in sessionStorage and sends it as
// `Authorization: Bearer` with each fetch (no cookie, so no CSRF surface). It is served with a
// Content-Security-Policy that allows only its own script and style (no inline script),
// frame-ancestors 'none' and X-Content-Type-Options: nosniff.
//
//   GET  /admin/api/relay                                relay state, backlog, oldest age, rate
//   GET  /admin/api/consumers                            consumers and their queues (passive
//   declare) GET  /admin/api/orders/{orderId}/events              an order's events in the outbox
//   GET  /admin/api/dead-letters                         every consumer's DLQ, grouped by failure
//   GET  /admin/api/dead-letters/{queue}/messages/{messageId}   one dead letter, in full
//   POST /admin/api/dead-letters/{queue}/replay          {"messageIds": [...]} | {"groupId": ".."}
//                                                        | {"all": true}
//   POST /admin/api/dead-letters/{queue}/discard         {"messageIds": [...], "confirm":
//   "discard"} GET  /admin/api/event-catalogue                      the schema catalogue (GET
//   /v1/schemas)
//
// {queue} is a consumer's work queue or its .dlq; any other queue is 404. Replays and discards
// are logged with the principal (operations/dead_letter_operations.hpp). Calls that reach the
// broker or read the whole outbox run on `AdminSources::blockingWork`, never on the server's
// threads.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/executor.hpp"
#include "consumer/consumer.hpp"
#include "http/router.hpp"
#include "operations/dead_letter_operations.hpp"
#include "outbox/outbox_store.hpp"
#include "outbox/relay.hpp"
#include "publishing/schema_catalogue.hpp"

namespace orders::admin {

/// One of the service's consumers: its name on the page and its work queue.
struct ConsumerQueue {
  std::string name;   // "payments"
  std::string queue;  // "order-service.payment-events"
};

/// Where the API reads what it shows. Everything referenced must outlive the AdminApi; the
/// functions are called from the server's threads and `blockingWork`, so must be thread-safe.
struct AdminSources {
  /// The relay's status; unset or nullopt: no relay runs in this process (--no-relay).
  std::function<std::optional<RelayStatus>()> relayStatus;
  /// The outbox counts (a rate-limited sample is fine).
  std::function<Result<OutboxStats>()> outboxStats;
  /// The consumers' status by work queue; unset: no consumers run here (--no-consumers).
  std::function<std::map<std::string, ConsumerStatus>()> consumerStatus;
  std::vector<ConsumerQueue> consumers;
  OutboxStore* outbox = nullptr;                                  // required
  const SchemaCatalogue* catalogue = nullptr;                     // null: 404 for the catalogue
  const operations::DeadLetterOperations* deadLetters = nullptr;  // null: 503 for DLQ routes
  Executor* blockingWork = nullptr;                               // required
  /// Most dead letters read per queue for a listing or a group replay.
  std::size_t deadLetterLimit = 500;
};

class AdminApi {
 public:
  AdminApi(AdminSources sources, const Clock& clock);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  /// Adds the routes above and the page to `router`. The AdminApi must outlive the router.
  void addRoutes(http::Router& router) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A static asset of the page: its bytes and Content-Type (admin_assets.cpp, generated at build
/// time from src/admin/web/). Null for an unknown name.
struct Asset {
  const char* contentType;
  const unsigned char* data;
  std::size_t size;
};
const Asset* findAsset(const std::string& name);

}  // namespace orders::admin
