#include "admin/admin_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/trace_context.hpp"
#include "http/api_security.hpp"
#include "http/pipeline.hpp"
#include "http/problem.hpp"

namespace orders::admin {
namespace {

using http::Reply;
using http::Request;
using http::RequestScope;
using http::Response;
using nlohmann::json;

constexpr std::size_t kMaxSelected = 1000;  // message ids in one replay or discard
constexpr const char* kDiscardConfirmation = "discard";

Response jsonResponse(int status, const json& body) {
  Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  // Operator data: never cached by a browser or a proxy.
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Response badBody(const std::string& detail, const std::string& field) {
  return http::problemResponse(400, "invalid-body", "Invalid request body", detail, field);
}

std::optional<std::string> iso(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return formatIso8601(*t);
}

json nullable(const std::optional<std::string>& value) {
  return value ? json(*value) : json();
}

json queueStateJson(const Result<DeadLetterAdmin::QueueState>& state) {
  if (!state) return {{"error", state.error().message}};
  return {{"messagesReady", state->messagesReady}, {"consumers", state->consumers}};
}

json letterSummary(const DeadLetter& l) {
  return {{"messageId", l.messageId},
          {"messageType", l.messageType},
          {"correlationId", l.correlationId},
          {"failureKind", l.failureKind},
          {"failureReason", l.failureReason},
          {"failedAt", l.failedAt},
          {"attempts", l.attempts},
          {"replayCount", l.replayCount},
          {"consumer", l.consumer}};
}

json groupJson(const operations::FailureGroup& g) {
  return {{"groupId", g.id},
          {"failureKind", g.failureKind},
          {"messageType", g.messageType},
          {"reasonClass", g.reasonClass},
          {"exampleReason", g.exampleReason},
          {"firstFailedAt", g.firstFailedAt},
          {"lastFailedAt", g.lastFailedAt},
          {"count", g.count},
          {"messageIds", g.messageIds}};
}

/// An outbox row as the operator sees it: where it is in the order's history, whether and when
/// it was published, its trace, and the envelope as published.
json eventJson(const OutboxEvent& e) {
  const OutboxMessage& m = e.message;
  auto envelope = json::parse(m.body, nullptr, false);
  std::string traceId;
  if (auto parsed = parseTraceparent(m.traceparent)) traceId = parsed->traceId;
  return {{"outboxId", m.id},
          {"sequence", m.sequence},
          {"messageId", m.messageId},
          {"messageType", m.messageType},
          {"messageVersion", m.messageVersion},
          {"timestamp", formatIso8601(m.timestamp)},
          {"status", e.publishedAt ? "published" : "pending"},
          {"publishedAt", nullable(iso(e.publishedAt))},
          {"correlationId", m.correlationId},
          {"traceparent", m.traceparent},
          {"traceId", traceId},
          {"envelope", envelope.is_discarded() ? json(m.body) : envelope}};
}

/// What the page shows of a schema: its title, description and the payload's top-level fields
/// (name, type, required); the whole schema is at /v1/schemas/...
json schemaSummary(const std::string& schemaText) {
  json summary = json::object();
  const auto schema = json::parse(schemaText, nullptr, false);
  if (!schema.is_object()) return summary;
  if (schema.contains("title") && schema["title"].is_string()) summary["title"] = schema["title"];
  if (schema.contains("description") && schema["description"].is_string())
    summary["description"] = schema["description"];
  // An event's schema is its payload's (schemas/events/...); the envelope's has a payload field.
  const json* payload = &schema;
  if (auto p = schema.find("properties"); p != schema.end() && p->is_object()) {
    if (auto q = p->find("payload"); q != p->end() && q->is_object() && q->contains("properties"))
      payload = &*q;
  }
  if (payload == nullptr) return summary;
  json required = payload->value("required", json::array());
  json fields = json::array();
  if (auto props = payload->find("properties"); props != payload->end() && props->is_object()) {
    for (const auto& [name, property] : props->items()) {
      json field = {{"name", name},
                    {"required", required.is_array() && std::find(required.begin(), required.end(),
                                                                  name) != required.end()}};
      if (property.is_object()) {
        if (property.contains("type")) field["type"] = property["type"];
        if (property.contains("description") && property["description"].is_string())
          field["description"] = property["description"];
      }
      fields.push_back(std::move(field));
    }
  }
  summary["payloadFields"] = std::move(fields);
  return summary;
}

/// The page's security headers: only its own script and style, no framing, no sniffing.
void addPageHeaders(Response& response) {
  response.headers.emplace_back(
      "Content-Security-Policy",
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
      "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("Cache-Control", "no-cache");
}

Response assetResponse(const std::string& name) {
  const Asset* asset = findAsset(name);
  if (asset == nullptr) {
    return http::problemResponse(404, "not-found", "Not found", "no asset " + name, "");
  }
  Response response;
  response.status = 200;
  response.contentType = asset->contentType;
  response.body.assign(reinterpret_cast<const char*>(asset->data), asset->size);
  addPageHeaders(response);
  return response;
}

}  // namespace

struct AdminApi::Impl {
  Impl(AdminSources s, const Clock& c) : sources(std::move(s)), clock(c) {}

  AdminSources sources;
  const Clock& clock;

  // Publish rate: the relay's published count at the times it was asked, the last minute.
  mutable std::mutex rateMutex;
  mutable std::deque<std::pair<SteadyTime, std::uint64_t>> publishedSamples;

  std::optional<double> publishRate(std::uint64_t published) const {
    const std::lock_guard lock(rateMutex);
    const SteadyTime now = clock.steadyNow();
    while (!publishedSamples.empty() &&
           now - publishedSamples.front().first > std::chrono::seconds(60))
      publishedSamples.pop_front();
    if (!publishedSamples.empty() && published < publishedSamples.back().second)
      publishedSamples.clear();  // the relay restarted its count
    if (publishedSamples.empty() || now - publishedSamples.back().first >= std::chrono::seconds(1))
      publishedSamples.emplace_back(now, published);
    const auto& [since, then] = publishedSamples.front();
    const double seconds = std::chrono::duration<double>(now - since).count();
    if (seconds < 1.0) return std::nullopt;  // too soon to tell
    return static_cast<double>(published - then) / seconds;
  }

  /// The work queue {queue} names (a consumer's work queue or its DLQ), or nullopt.
  std::optional<std::string> workQueueOf(const std::string& named) const {
    for (const auto& c : sources.consumers) {
      if (named == c.queue || named == c.queue + ".dlq") return c.queue;
    }
    return std::nullopt;
  }

  /// Runs `work` off the server's threads; its answer goes to `reply`.
  void offload(const Reply& reply, std::function<Response()> work) const {
    sources.blockingWork->post(reply.guard([reply, work = std::move(work)] { reply(work()); }));
  }

  // --- Handlers ---------------------------------------------------------------------------------

  void relay(const Request&, RequestScope&, const Reply& reply) const {
    json body = json::object();
    std::optional<RelayStatus> status;
    if (sources.relayStatus) status = sources.relayStatus();
    if (status) {
      body["state"] = toString(status->state);
      body["reason"] = status->reason;
      body["inFlight"] = status->inFlight;
      body["published"] = status->publishedCount;
      body["republished"] = status->republishedCount;
      body["connects"] = status->connectCount;
      body["lastError"] = status->lastError;
      body["lastErrorAt"] = nullable(iso(status->lastErrorAt));
      body["lastConfirmAt"] = nullable(iso(status->lastConfirmAt));
      const auto rate = publishRate(status->publishedCount);
      body["publishRatePerSecond"] = rate ? json(*rate) : json();
    } else {
      body["state"] = "disabled";
      body["publishRatePerSecond"] = json();
    }
    if (sources.outboxStats) {
      const auto stats = sources.outboxStats();
      if (stats) {
        body["backlog"] = stats->pending;
        body["publishedKept"] = stats->published;
        body["oldestPendingAt"] = nullable(iso(stats->oldestPendingAt));
        body["oldestPendingAgeSeconds"] =
            stats->oldestPendingAt
                ? json(std::max(
                      0.0,
                      std::chrono::duration<double>(clock.now() - *stats->oldestPendingAt).count()))
                : json();
      } else {
        body["outboxError"] = stats.error().message;
      }
    }
    reply(jsonResponse(200, body));
  }

  void consumers(const Request&, RequestScope&, const Reply& reply) const {
    offload(reply, [this] {
      std::map<std::string, ConsumerStatus> statuses;
      if (sources.consumerStatus) statuses = sources.consumerStatus();
      json list = json::array();
      for (const auto& c : sources.consumers) {
        json entry = {{"name", c.name}, {"queue", c.queue}, {"dlq", c.queue + ".dlq"}};
        if (auto it = statuses.find(c.queue); it != statuses.end()) {
          const ConsumerStatus& s = it->second;
          entry["state"] = toString(s.state);
          entry["received"] = s.received;
          entry["applied"] = s.applied;
          entry["duplicates"] = s.duplicates;
          entry["retried"] = s.retried;
          entry["deadLettered"] = s.deadLettered;
          entry["reconnects"] = s.reconnects;
          entry["lastError"] = s.lastError;
        } else {
          entry["state"] = "disabled";
        }
        if (sources.deadLetters != nullptr) {
          entry["queueState"] = queueStateJson(sources.deadLetters->queueState(c.queue));
          entry["dlqState"] = queueStateJson(sources.deadLetters->queueState(c.queue + ".dlq"));
        }
        list.push_back(std::move(entry));
      }
      return jsonResponse(200, {{"consumers", std::move(list)}});
    });
  }

  void orderEvents(const Request&, RequestScope& scope, const Reply& reply) const {
    std::string orderId = scope.param("orderId");
    std::transform(orderId.begin(), orderId.end(), orderId.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    offload(reply, [this, orderId] {
      OutboxEventQuery query;
      query.partitionKey = orderId;
      json events = json::array();
      for (;;) {
        auto page = sources.outbox->listEvents(query);
        if (!page) return http::problemFromError(page.error());
        for (const auto& e : *page) events.push_back(eventJson(e));
        if (page->size() < query.limit) break;
        query.afterId = page->back().message.id;
      }
      if (events.empty()) {
        return http::problemResponse(
            404, "not-found", "Not found",
            "no events of order " + orderId +
                " in the outbox (no such order, or retention deleted its published events)",
            "orderId");
      }
      return jsonResponse(200, {{"orderId", orderId}, {"events", std::move(events)}});
    });
  }

  std::optional<Response> unavailableWithoutBroker() const {
    if (sources.deadLetters != nullptr) return std::nullopt;
    return http::problemFromError(
        Error{ErrorCode::kUnavailable, "no broker connection is configured for the DLQ tools"});
  }

  void deadLetters(const Request&, RequestScope&, const Reply& reply) const {
    if (auto refused = unavailableWithoutBroker()) return reply(std::move(*refused));
    offload(reply, [this] {
      json queues = json::array();
      for (const auto& c : sources.consumers) {
        json entry = {{"name", c.name}, {"queue", c.queue}, {"dlq", c.queue + ".dlq"}};
        auto listing = sources.deadLetters->list(c.queue, sources.deadLetterLimit);
        if (!listing) {
          entry["error"] = listing.error().message;
        } else {
          entry["count"] = listing->count;
          entry["truncated"] = listing->truncated;
          json groups = json::array();
          for (const auto& g : listing->groups) groups.push_back(groupJson(g));
          entry["groups"] = std::move(groups);
          json messages = json::array();
          for (const auto& l : listing->letters) messages.push_back(letterSummary(l));
          entry["messages"] = std::move(messages);
        }
        queues.push_back(std::move(entry));
      }
      return jsonResponse(200, {{"queues", std::move(queues)}});
    });
  }

  std::optional<std::string> queueOrReply(RequestScope& scope, const Reply& reply) const {
    if (auto refused = unavailableWithoutBroker()) {
      reply(std::move(*refused));
      return std::nullopt;
    }
    auto queue = workQueueOf(scope.param("queue"));
    if (!queue) {
      reply(http::problemResponse(404, "not-found", "Not found",
                                  "'" + scope.param("queue") +
                                      "' is not a queue of this "
                                      "service's consumers (GET /admin/api/consumers lists them)",
                                  "queue"));
    }
    return queue;
  }

  void deadLetter(const Request&, RequestScope& scope, const Reply& reply) const {
    auto queue = queueOrReply(scope, reply);
    if (!queue) return;
    offload(reply, [this, queue = *queue, messageId = scope.param("messageId")] {
      auto letter = sources.deadLetters->inspect(queue, messageId, sources.deadLetterLimit);
      if (!letter) return http::problemFromError(letter.error());
      return jsonResponse(200, letter->toJson());
    });
  }

  /// {"messageIds": [...]} of a replay or discard body; nullopt with `problem` set when invalid.
  static std::optional<std::set<std::string>> messageIdsOf(const json& body,
                                                           std::optional<Response>& problem) {
    const auto ids = body.find("messageIds");
    if (ids == body.end()) return std::set<std::string>();
    if (!ids->is_array() || ids->empty() || ids->size() > kMaxSelected) {
      problem = badBody(
          "messageIds must be an array of 1 to " + std::to_string(kMaxSelected) + " message ids",
          "/messageIds");
      return std::nullopt;
    }
    std::set<std::string> out;
    for (std::size_t i = 0; i < ids->size(); ++i) {
      const json& id = (*ids)[i];
      if (!id.is_string() || id.get<std::string>().empty()) {
        problem = badBody("every message id must be a non-empty string",
                          "/messageIds/" + std::to_string(i));
        return std::nullopt;
      }
      out.insert(id.get<std::string>());
    }
    return out;
  }

  static std::optional<json> objectBody(const Request& request, const Reply& reply) {
    auto body = json::parse(request.body, nullptr, false);
    if (body.is_discarded()) {
      reply(http::problemResponse(400, "malformed-json", "Malformed JSON",
                                  "the body must be a JSON object", ""));
      return std::nullopt;
    }
    if (!body.is_object()) {
      reply(badBody("the body must be a JSON object", ""));
      return std::nullopt;
    }
    return body;
  }

  void replay(const Request& request, RequestScope& scope, const Reply& reply) const {
    auto queue = queueOrReply(scope, reply);
    if (!queue) return;
    auto body = objectBody(request, reply);
    if (!body) return;
    std::optional<Response> problem;
    auto ids = messageIdsOf(*body, problem);
    if (!ids) return reply(std::move(*problem));
    const auto allField = body->find("all");
    if (allField != body->end() && *allField != true) {
      return reply(badBody("\"all\" can only be true (replay every message of the DLQ)", "/all"));
    }
    const bool all = allField != body->end();
    const auto group = body->find("groupId");
    const int ways = (ids->empty() ? 0 : 1) + (all ? 1 : 0) + (group != body->end() ? 1 : 0);
    if (ways != 1) {
      return reply(badBody("give exactly one of messageIds, groupId and \"all\": true", ""));
    }
    std::string groupId;
    if (group != body->end()) {
      if (!group->is_string() || group->get<std::string>().empty())
        return reply(
            badBody("groupId must be a group's id (GET /admin/api/dead-letters)", "/groupId"));
      groupId = group->get<std::string>();
    }
    const std::string actor = http::initiatedByOf(scope.principal);
    offload(reply, [this, queue = *queue, ids = std::move(*ids), all, groupId, actor] {
      operations::Selection selection{all, ids};
      if (!groupId.empty()) {
        // The group as it is now: its members are read again, so a message that joined the
        // group since the page was loaded is replayed with it (it failed the same way).
        auto listing = sources.deadLetters->list(queue, sources.deadLetterLimit);
        if (!listing) return http::problemFromError(listing.error());
        const auto it = std::find_if(listing->groups.begin(), listing->groups.end(),
                                     [&](const auto& g) { return g.id == groupId; });
        if (it == listing->groups.end()) {
          return http::problemResponse(
              404, "not-found", "Not found",
              "no failure group " + groupId + " in " + listing->dlq + " (any more)", "/groupId");
        }
        selection.messageIds.insert(it->messageIds.begin(), it->messageIds.end());
      }
      auto outcome = sources.deadLetters->replay(queue, selection, actor);
      if (!outcome) return http::problemFromError(outcome.error());
      json notFound = json::array();
      for (const auto& id : selection.messageIds) {
        if (std::find(outcome->replayed.begin(), outcome->replayed.end(), id) ==
            outcome->replayed.end())
          notFound.push_back(id);
      }
      return jsonResponse(200, {{"dlq", outcome->dlq},
                                {"replayed", outcome->replayed},
                                {"problems", outcome->problems},
                                {"notReplayed", std::move(notFound)},
                                {"by", actor}});
    });
  }

  void discard(const Request& request, RequestScope& scope, const Reply& reply) const {
    auto queue = queueOrReply(scope, reply);
    if (!queue) return;
    auto body = objectBody(request, reply);
    if (!body) return;
    std::optional<Response> problem;
    auto ids = messageIdsOf(*body, problem);
    if (!ids) return reply(std::move(*problem));
    if (ids->empty()) return reply(badBody("messageIds is required", "/messageIds"));
    // Deleting is the one action that cannot be undone: the request must say so itself.
    if (body->value("confirm", json()) != kDiscardConfirmation) {
      return reply(badBody(
          "a discard deletes the messages for good: confirm it with \"confirm\": \"discard\"",
          "/confirm"));
    }
    const std::string actor = http::initiatedByOf(scope.principal);
    offload(reply, [this, queue = *queue, ids = std::move(*ids), actor] {
      auto outcome = sources.deadLetters->discard(queue, ids, actor);
      if (!outcome) return http::problemFromError(outcome.error());
      return jsonResponse(200, {{"dlq", outcome->dlq},
                                {"discarded", outcome->discarded},
                                {"notFound", outcome->notFound},
                                {"by", actor}});
    });
  }

  void catalogue(const Request&, RequestScope&, const Reply& reply) const {
    if (sources.catalogue == nullptr) {
      return reply(http::problemResponse(404, "not-found", "Not found",
                                         "no schema catalogue in this instance", ""));
    }
    json types = json::array();
    for (const auto& entry : sources.catalogue->entries()) {
      json versions = json::array();
      for (const auto& v : entry.versions) {
        json version = {{"version", v.version},
                        {"status", v.status},
                        {"published", v.published},
                        {"routingKey", v.routingKey},
                        {"href", "/v1/schemas/" + entry.messageType + "/" + v.version}};
        version.update(schemaSummary(v.schema));
        versions.push_back(std::move(version));
      }
      types.push_back({{"messageType", entry.messageType},
                       {"direction", entry.direction},
                       {"versions", std::move(versions)}});
    }
    reply(jsonResponse(200, {{"eventTypes", std::move(types)}}));
  }
};

AdminApi::AdminApi(AdminSources sources, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(sources), clock)) {
  if (impl_->sources.outbox == nullptr || impl_->sources.blockingWork == nullptr)
    throw std::invalid_argument(
        "AdminApi: the outbox and an executor for blocking work are required");
}

AdminApi::~AdminApi() = default;

void AdminApi::addRoutes(http::Router& router) const {
  const Impl* impl = impl_.get();
  auto add = [&](const char* method, const std::string& path, auto handler) {
    router.add(
        method, path,
        [impl, handler](const Request& request, RequestScope& scope, const Reply& reply) {
          (impl->*handler)(request, scope, reply);
        },
        http::RouteOptions{http::permission::kOperate});
  };
  add("GET", "/admin/api/relay", &Impl::relay);
  add("GET", "/admin/api/consumers", &Impl::consumers);
  add("GET", "/admin/api/orders/{orderId:uuid}/events", &Impl::orderEvents);
  add("GET", "/admin/api/dead-letters", &Impl::deadLetters);
  add("GET", "/admin/api/dead-letters/{queue}/messages/{messageId}", &Impl::deadLetter);
  add("POST", "/admin/api/dead-letters/{queue}/replay", &Impl::replay);
  add("POST", "/admin/api/dead-letters/{queue}/discard", &Impl::discard);
  add("GET", "/admin/api/event-catalogue", &Impl::catalogue);

  // The page: public code without data (the data needs the operator's token, above).
  constexpr const char* kPublic = "";
  router.add(
      "GET", "/admin",
      [](const Request&, RequestScope&, const Reply& reply) { reply(assetResponse("index.html")); },
      http::RouteOptions{kPublic});
  router.add(
      "GET", "/admin/assets/{name}",
      [](const Request&, RequestScope& scope, const Reply& reply) {
        reply(assetResponse(scope.param("name")));
      },
      http::RouteOptions{kPublic});
}

}  // namespace orders::admin
