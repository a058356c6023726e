#pragma once
// The application's view of storage. A write commits the order, its outbox events, the
// idempotency record and the inbox mark together or not at all. Adapters: store/sqlite/,
// later store/postgres/.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
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
  /// Consumer inbox: (consumer name, messageId) recorded with the change, so a redelivered
  /// message can never apply twice.
  std::optional<std::pair<std::string, std::string>> inboxMessage;
};

enum class WriteOutcome {
  kCommitted,
  kVersionConflict,          // re-read and retry (or 412 if the client pinned a version)
  kDuplicateIdempotencyKey,  // another request with this key committed first
  kDuplicateInboxMessage,    // this message was already applied
};

class OrderStore {
 public:
  virtual ~OrderStore() = default;

  virtual Result<std::optional<StoredOrder>> findOrder(const OrderId& id) = 0;
  virtual Result<OrderPage> listOrders(const OrderQuery& query) = 0;
  virtual Result<std::optional<IdempotencyRecord>> findIdempotencyRecord(
      const std::string& key) = 0;
  virtual Result<bool> inboxContains(const std::string& consumer, const std::string& messageId) = 0;

  /// Commits `writes` atomically and durably. Concurrent writes may share one database commit
  /// (group commit); a failure of one write never affects another. `done` runs on a store thread
  /// after the outcome is durable; it must not block. kUnavailable = the commit failed and
  /// nothing of this write was stored.
  virtual void write(WriteSet writes, std::function<void(Result<WriteOutcome>)> done) = 0;
};

}  // namespace orders
