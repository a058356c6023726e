#include "application/order_service.hpp"

#include <algorithm>
#include <future>

#include "store/order_document.hpp"

namespace orders {
namespace {

// Concurrent changes of one order are rare (one customer, one payment callback); a handful of
// re-reads resolves them. Past this something is wrong and the caller should see it.
constexpr int kMaxAttempts = 8;

/// If-Match (RFC 9110 §13.1.1): the change may only be made from a version the client named.
std::optional<Error> checkPrecondition(const RequestContext& context, const Order& order) {
  const auto& accepted = context.acceptedVersions;
  if (!accepted ||
      std::find(accepted->begin(), accepted->end(), order.version) != accepted->end()) {
    return std::nullopt;
  }
  std::string names;
  for (auto version : *accepted) names += (names.empty() ? "" : ", ") + std::to_string(version);
  return Error{
      ErrorCode::kPreconditionFailed,
      "the order is at version " + std::to_string(order.version) +
          (names.empty() ? "; If-Match names no version of it" : "; If-Match accepts " + names)};
}

}  // namespace

struct OrderService::Attempt {
  std::optional<OrderId> target;
  OrderAction action;
  RequestContext context;
  ResponseRecorder recorder;
  std::function<void(Result<CommandOutcome>)> done;
  int attempts = 0;
  Change change;            // of the write in flight
  bool wroteOrder = false;  // the write in flight changes the order (else: only records)
};

OrderService::OrderService(OrderStore& store, const EventFactory& events, const Clock& clock,
                           IdGenerator& ids, Executor& continuations)
    : store_(store), events_(events), clock_(clock), ids_(ids), continuations_(continuations) {}

void OrderService::execute(std::optional<OrderId> target, OrderAction action,
                           RequestContext context, ResponseRecorder recorder,
                           std::function<void(Result<CommandOutcome>)> done) {
  auto attempt = std::make_shared<Attempt>();
  attempt->target = std::move(target);
  attempt->action = std::move(action);
  attempt->context = std::move(context);
  attempt->recorder = std::move(recorder);
  attempt->done = std::move(done);

  if (!attempt->context.idempotencyKey.empty()) {
    auto record = store_.findIdempotencyRecord(attempt->context.idempotencyKey);
    if (!record) return attempt->done(record.error());
    if (record->has_value()) return replayIdempotent(attempt);
  }
  if (attempt->context.inboxMessage) {
    auto seen = store_.contains(*attempt->context.inboxMessage);
    if (!seen) return attempt->done(seen.error());
    if (seen.value()) {
      CommandOutcome outcome;
      outcome.duplicate = true;
      return attempt->done(std::move(outcome));
    }
  }
  run(std::move(attempt));
}

void OrderService::run(std::shared_ptr<Attempt> attempt) {
  if (++attempt->attempts > kMaxAttempts) {
    return attempt->done(
        Error{ErrorCode::kUnavailable, "the order kept changing concurrently; try again"});
  }
  std::optional<StoredOrder> current;
  if (attempt->target) {
    auto found = store_.findOrder(*attempt->target);
    if (!found) return attempt->done(found.error());
    if (!found->has_value() || (attempt->context.requiredOwner &&
                                (*found)->order.userId.str() != *attempt->context.requiredOwner)) {
      return attempt->done(Error{ErrorCode::kNotFound, "no order " + attempt->target->str()});
    }
    current = std::move(found).value();
    if (auto failed = checkPrecondition(attempt->context, current->order)) {
      return attempt->done(std::move(*failed));
    }
  }

  const ActionContext actionContext{clock_.now(), attempt->context.initiatedBy, ids_};
  auto change = attempt->action(current ? &current->order : nullptr, actionContext);
  if (!change) return attempt->done(change.error());

  const std::int64_t lastSequence = current ? current->lastEventSequence : 0;
  // Work that came without a trace (a tool, a test) gets one here, once: a retry after a version
  // conflict stays in the same trace.
  if (attempt->context.trace.traceId.empty() && !change->events.empty()) {
    attempt->context.trace = continueTrace(std::nullopt, std::nullopt, ids_);
  }
  auto rendered = events_.render(change.value(), lastSequence + 1, attempt->context.correlationId,
                                 attempt->context.trace);
  if (!rendered) return attempt->done(rendered.error());

  WriteSet writes;
  const bool changed = !current || change->order.version != current->order.version;
  if (changed) {
    OrderWrite orderWrite;
    orderWrite.order = change->order;
    orderWrite.expectedVersion = current ? current->order.version : 0;
    // The sequence counts domain events, not outbox rows: an event published at two major
    // versions is two rows with one sequence number (EventFactory::render).
    orderWrite.lastEventSequence = lastSequence + static_cast<std::int64_t>(change->events.size());
    orderWrite.events = std::move(rendered).value();
    writes.order = std::move(orderWrite);
  }
  if (!attempt->context.idempotencyKey.empty()) {
    writes.idempotency =
        IdempotencyRecord{attempt->context.idempotencyKey, attempt->context.requestFingerprint,
                          attempt->recorder ? attempt->recorder(change.value()) : ""};
  }
  writes.inboxMessage = attempt->context.inboxMessage;
  attempt->change = std::move(change).value();
  attempt->wroteOrder = writes.order.has_value();
  if (!writes.order && !writes.idempotency && !writes.inboxMessage) {
    // Nothing changed and nothing to record: answer without a commit.
    return attempt->done(CommandOutcome{std::move(attempt->change)});
  }
  // The store calls back on its writer thread: hand everything that follows to the
  // continuations, so that the writer only commits.
  store_.write(std::move(writes),
               [this, attempt = std::move(attempt)](Result<WriteOutcome> outcome) {
                 continuations_.post([this, attempt, outcome = std::move(outcome)]() mutable {
                   committed(attempt, std::move(outcome));
                 });
               });
}

void OrderService::committed(std::shared_ptr<Attempt> attempt, Result<WriteOutcome> outcome) {
  if (!outcome) {
    if (outcome.error().code == ErrorCode::kInDoubt) {
      return settleInDoubt(std::move(attempt), std::move(outcome).takeError());
    }
    return attempt->done(outcome.error());
  }
  switch (outcome.value()) {
    case WriteOutcome::kCommitted:
      return attempt->done(CommandOutcome{std::move(attempt->change)});
    case WriteOutcome::kVersionConflict:
      // Re-read and re-apply; with If-Match the re-read order fails the precondition unless
      // its new version is one the client also accepted.
      return run(std::move(attempt));
    case WriteOutcome::kDuplicateIdempotencyKey:
      // A concurrent request with the same key won the race: answer what it answered.
      return replayIdempotent(attempt);
    case WriteOutcome::kDuplicateInboxMessage: {
      CommandOutcome duplicate;
      duplicate.duplicate = true;
      return attempt->done(std::move(duplicate));
    }
  }
  attempt->done(Error{ErrorCode::kInternal, "unknown write outcome"});
}

void OrderService::settleInDoubt(std::shared_ptr<Attempt> attempt, Error inDoubt) {
  auto unsettled = [&](const Error& readError) {
    inDoubt.message += "; re-reading to settle it failed too: " + readError.message;
    attempt->done(std::move(inDoubt));
  };
  // The idempotency record, when there is one, is the write's own receipt.
  if (!attempt->context.idempotencyKey.empty()) {
    auto record = store_.findIdempotencyRecord(attempt->context.idempotencyKey);
    if (!record) return unsettled(record.error());
    if (record->has_value()) {
      if ((*record)->fingerprint != attempt->context.requestFingerprint) {
        return replayIdempotent(attempt);  // another request took the key: conflict
      }
      return attempt->done(CommandOutcome{std::move(attempt->change)});
    }
    if (!attempt->wroteOrder && !attempt->context.inboxMessage) return run(std::move(attempt));
  }
  if (attempt->wroteOrder) {
    const Order& written = attempt->change.order;
    auto found = store_.findOrder(written.id);
    if (!found) return unsettled(found.error());
    if (found->has_value() &&
        encodeOrderDocument((*found)->order) == encodeOrderDocument(written)) {
      return attempt->done(CommandOutcome{std::move(attempt->change)});  // it was committed
    }
    // Not stored (still at the version it was computed from, or absent), or someone else's
    // change won: apply it again on what is there now (run re-checks If-Match).
    return run(std::move(attempt));
  }
  if (attempt->context.inboxMessage) {
    auto seen = store_.contains(*attempt->context.inboxMessage);
    if (!seen) return unsettled(seen.error());
    if (seen.value()) return attempt->done(CommandOutcome{std::move(attempt->change)});
    return run(std::move(attempt));
  }
  attempt->done(std::move(inDoubt));
}

void OrderService::replayIdempotent(const std::shared_ptr<Attempt>& attempt) {
  auto record = store_.findIdempotencyRecord(attempt->context.idempotencyKey);
  if (!record) return attempt->done(record.error());
  if (!record->has_value()) {
    return attempt->done(Error{ErrorCode::kInternal, "idempotency record vanished"});
  }
  if ((*record)->fingerprint != attempt->context.requestFingerprint) {
    Error error =
        invalid("Idempotency-Key", "was already used for a different request; use a new key");
    error.code = ErrorCode::kConflict;
    return attempt->done(std::move(error));
  }
  CommandOutcome outcome;
  outcome.replayedResponse = (*record)->response;
  attempt->done(std::move(outcome));
}

Result<CommandOutcome> OrderService::executeAndWait(std::optional<OrderId> target,
                                                    OrderAction action, RequestContext context,
                                                    ResponseRecorder recorder) {
  std::promise<Result<CommandOutcome>> promise;
  auto future = promise.get_future();
  execute(std::move(target), std::move(action), std::move(context), std::move(recorder),
          [&promise](Result<CommandOutcome> outcome) { promise.set_value(std::move(outcome)); });
  return future.get();
}

Result<StoredOrder> OrderService::getOrder(const OrderId& id) {
  auto found = store_.findOrder(id);
  if (!found) return found.error();
  if (!found->has_value()) return Error{ErrorCode::kNotFound, "no order " + id.str()};
  return std::move(found).value().value();
}

Result<OrderPage> OrderService::listOrders(const OrderQuery& query) {
  return store_.listOrders(query);
}

}  // namespace orders
