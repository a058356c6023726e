#pragma once
// The use cases of the Order Service, shared by every way in (HTTP today, broker messages in the
// consumer runtime): load the order, apply a domain action, render its events, and commit order,
// events, idempotency record and inbox mark in one store write.
//
// Concurrency: optimistic. A change computed from version N commits only if the order is still
// at version N; otherwise the use case re-reads and re-applies the action (unless the caller
// pinned the version with If-Match: then it is kPreconditionFailed).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/executor.hpp"
#include "common/ids.hpp"
#include "common/trace_context.hpp"
#include "orders/order_actions.hpp"
#include "publishing/event_factory.hpp"
#include "store/order_store.hpp"

namespace orders {

/// Everything about a request that is not the action itself.
struct RequestContext {
  std::string correlationId;  // becomes the events' correlationId; empty = none
  std::string initiatedBy;    // who acts; goes into the events
  /// The trace context of the work that asks for the change (the HTTP request's, a consumed
  /// message's handler's). Every event of the change carries a child span of it (EventFactory).
  /// Empty (no traceId): the service starts a new trace for the change, so every event is traced.
  TraceContext trace;
  /// Scoped idempotency key ("POST /v1/orders|<Idempotency-Key>"); empty = none. A retried request
  /// with the same key and fingerprint gets the first response back instead of acting twice.
  std::string idempotencyKey;
  std::string requestFingerprint;
  /// If-Match: the versions the client accepts the change to be made from (empty: none can
  /// match). The order at any other version is kPreconditionFailed, never a retry onto a version
  /// the client did not see; nullopt = no precondition.
  std::optional<std::vector<std::int64_t>> acceptedVersions;
  /// The caller may act only on orders of this user (a customer): any other order is kNotFound,
  /// exactly as if it did not exist, checked before anything else about the order (If-Match
  /// included), so that the answer tells nothing about another user's order. nullopt: any order.
  std::optional<std::string> requiredOwner;
  /// Consumer inbox mark (consumer name, messageId): a message that was already applied has no
  /// second effect (the outcome says `duplicate`).
  std::optional<std::pair<std::string, std::string>> inboxMessage;
};

struct CommandOutcome {
  Change change;           // the order after the action and the events it produced
  bool duplicate = false;  // the inbox already had this message; nothing was applied
  std::optional<std::string> replayedResponse{};  // idempotent replay: the first response, verbatim
};

/// Renders the response to record with an idempotency key, inside the same commit. Opaque here.
using ResponseRecorder = std::function<std::string(const Change&)>;

/// The action to apply: `current` is null when creating an order.
using OrderAction = std::function<Result<Change>(const Order* current, const ActionContext&)>;

class OrderService {
 public:
  /// All references must outlive the service. What follows a commit (answering, a retry after a
  /// version conflict, an idempotent replay, settling an in-doubt commit) runs on `continuations`,
  /// never on the store's thread, which only commits and signals.
  OrderService(OrderStore& store, const EventFactory& events, const Clock& clock, IdGenerator& ids,
               Executor& continuations);

  /// Applies `action` to order `target` (nullopt = a new order). `done` runs exactly once, on the
  /// calling thread or a `continuations` thread, never on a store thread. Thread-safe.
  ///
  /// A commit whose outcome the store lost (kInDoubt) is settled by re-reading before answering:
  /// stored as written = success; not stored = applied again; only when the re-read fails too
  /// does `done` get kInDoubt.
  void execute(std::optional<OrderId> target, OrderAction action, RequestContext context,
               ResponseRecorder recorder, std::function<void(Result<CommandOutcome>)> done);

  /// The same, waiting for the outcome. For callers that may block (consumers, tools, tests).
  Result<CommandOutcome> executeAndWait(std::optional<OrderId> target, OrderAction action,
                                        RequestContext context, ResponseRecorder recorder = {});

  Result<StoredOrder> getOrder(const OrderId& id);
  Result<OrderPage> listOrders(const OrderQuery& query);

 private:
  struct Attempt;
  void run(std::shared_ptr<Attempt> attempt);
  void committed(std::shared_ptr<Attempt> attempt, Result<WriteOutcome> outcome);
  void settleInDoubt(std::shared_ptr<Attempt> attempt, Error inDoubt);
  void replayIdempotent(const std::shared_ptr<Attempt>& attempt);

  OrderStore& store_;
  const EventFactory& events_;
  const Clock& clock_;
  IdGenerator& ids_;
  Executor& continuations_;
};

}  // namespace orders
