#pragma once
// The application's view of storage. A write commits the order, its outbox events, the
// idempotency record and the inbox mark together or not at all. Adapters: store/sqlite/,
// later store/postgres/; every adapter passes the store conformance suite
// (store/testing/store_conformance.hpp) and the inbox conformance suite.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "consumer/inbox.hpp"
#include "events/encoded_message.hpp"
#include "orders/order.hpp"

namespace orders {

struct StoredOrder {
  Order order;
  std::int64_t lastEventSequence = 0;  // sequence of the order's newest outbox row
};

struct OrderQuery {
  std::optional<std::string> userId;
  std::optional<OrderStatus> status;
  std::size_t limit = 50;
  /// Opaque position from a previous page's nextCursor; empty for the first page.
  std::string cursor;
};

struct OrderPage {
  std::vector<Order> orders;
  std::string nextCursor;  // empty on the last page
};

/// A response recorded under an Idempotency-Key, replayed verbatim for a retried request.
struct IdempotencyRecord {
  std::string key;          // scoped by the caller (e.g. "POST /v1/orders:<key>")
  std::string fingerprint;  // hash of the request, to refuse reusing a key for another request
  std::string response;     // opaque to the store
};

struct OrderWrite {
  Order order;
  /// The version the change was computed from; the write fails with kVersionConflict if the
  /// stored order moved on meanwhile. 0 means "insert a new order".
  std::int64_t expectedVersion = 0;
  std::int64_t lastEventSequence = 0;
  std::vector<EncodedMessage> events;  // the store gives each its outbox row id
};

struct WriteSet {
  std::optional<OrderWrite> order;
  std::optional<IdempotencyRecord> idempotency;
  /// Consumer inbox: the key of the inbound message this change applies, recorded in the same
  /// transaction, so a redelivered message can never apply twice (Deduplication::kHandler).
  std::optional<InboxKey> inboxMessage;
};

enum class WriteOutcome {
  kCommitted,
  kVersionConflict,          // re-read and retry (or 412 if the client pinned a version)
  kDuplicateIdempotencyKey,  // another request with this key committed first
  kDuplicateInboxMessage,    // this message was already applied
};

/// Reads are thread-safe and may block (they run on the caller's thread). Errors: kUnavailable
/// when the database cannot answer; kInvalidArgument for a cursor it did not issue.
///
/// An OrderStore is also the Order Service's consumer Inbox (consumer/inbox.hpp), over the same
/// keys that WriteSet::inboxMessage records: contains() is what OrderService checks before
/// applying an inbound message, record() records a key outside a write, deleteRecordedBefore()
/// is the inbox retention job's.
class OrderStore : public Inbox {
 public:
  ~OrderStore() override = default;

  virtual Result<std::optional<StoredOrder>> findOrder(const OrderId& id) = 0;
  virtual Result<OrderPage> listOrders(const OrderQuery& query) = 0;
  virtual Result<std::optional<IdempotencyRecord>> findIdempotencyRecord(
      const std::string& key) = 0;

  /// Commits `writes` atomically and durably. Concurrent writes may share one database commit
  /// (group commit); a failure of one write never affects another. `done` runs on a store thread
  /// after the outcome is durable; it must not block. Besides the WriteOutcomes, `done` gets:
  ///  - kUnavailable: the write failed and nothing of it was stored (a constraint the store
  ///    enforces, a database that cannot begin or commit); retrying is safe.
  ///  - kInDoubt: the commit was attempted but its outcome is unknown (an I/O error while the
  ///    commit was written or synced, a connection lost during COMMIT): the write may or may not
  ///    be stored, also after a restart. Re-read before answering (the order's version, the
  ///    idempotency record or the inbox key says which); a blind retry could apply it twice.
  virtual void write(WriteSet writes, std::function<void(Result<WriteOutcome>)> done) = 0;

  /// Deletes idempotency records created before `cutoff` and returns how many (the expiry job:
  /// a client retries within minutes, not days). Blocks until done.
  virtual Result<std::int64_t> deleteIdempotencyRecordsBefore(Timestamp cutoff) = 0;
};

}  // namespace orders
