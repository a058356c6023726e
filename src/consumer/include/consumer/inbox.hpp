#pragma once
// The consumer inbox: which messages a consumer has already applied, keyed by InboxKey
// (consumer name, messageId). Delivery is at-least-once, so every consumer needs one.
//
// Two ways to use it (consumer/inbound_message.hpp, Deduplication):
//  - kRuntime: the runtime asks contains() before the handler and record()s the key after the
//    handler succeeded (effect and record are two commits: the effect must be idempotent).
//  - kHandler: the handler records the key in the SAME transaction as its effect, through its
//    store's own transaction type: TransactionalInbox<Tx>::transact (SqliteInbox), or the
//    Order Service's WriteSet::inboxMessage (store/order_store.hpp). Exactly-once effects.
//
// Implementations: SqliteInbox (consumer/sqlite_inbox.hpp, its own database), the Order
// Service's OrderStore (SqliteStore, in the service's database); both keep the same table
// (consumer/sqlite_inbox_table.hpp). A PostgreSQL store implements the same interface with
// INSERT ... ON CONFLICT DO NOTHING in its transaction. Every implementation passes the inbox
// conformance suite (consumer/testing/inbox_conformance.hpp).

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "consumer/inbound_message.hpp"

namespace orders {

/// What an inbox records: the consumer's name (its work queue) and the message's messageId.
struct InboxKey {
  std::string consumer;
  std::string messageId;

  InboxKey() = default;
  InboxKey(std::string consumerName, std::string id)
      : consumer(std::move(consumerName)), messageId(std::move(id)) {}
  /// From the (consumer, messageId) pairs of InboundMessage::inboxKey() and
  /// RequestContext::inboxMessage.
  InboxKey(const std::pair<std::string, std::string>& key)  // NOLINT: implicit by design
      : consumer(key.first), messageId(key.second) {}

  friend bool operator==(const InboxKey&, const InboxKey&) = default;
};

class Inbox {
 public:
  virtual ~Inbox() = default;

  /// Whether `key` was recorded. kUnavailable when the store cannot answer (the runtime then
  /// retries the message later). Thread-safe.
  virtual Result<bool> contains(const InboxKey& key) = 0;

  /// Records `key`, durably, at the store's current time. Returns false when it was already
  /// recorded (not an error). Thread-safe.
  virtual Result<bool> record(const InboxKey& key) = 0;

  /// Deletes the keys recorded before `cutoff` and returns how many (retention: keep keys longer
  /// than a message can take to come back, i.e. longer than the longest DLQ stay you would
  /// replay). Run by a maintenance job. Thread-safe.
  virtual Result<std::int64_t> deleteRecordedBefore(Timestamp cutoff) = 0;
};

/// An inbox whose store can record a key inside the handler's own transaction. `Tx` is that
/// store's transaction handle (SqliteInbox::Transaction; a PostgreSQL store's transaction later).
template <class Tx>
class TransactionalInbox : public Inbox {
 public:
  /// Begins a transaction and records `key` in it: when the key is already there, rolls back and
  /// returns Handled::kDuplicate without running `effect`. Otherwise runs `effect(tx)`: an error
  /// rolls back (key and effect) and is returned; an exception rolls back and propagates. Then
  /// commits both: Handled::kApplied, or kUnavailable (nothing stored), or kInDoubt when the
  /// commit's outcome is unknown (transient for the runtime: the redelivery finds the key, or
  /// applies the message for the first time). Thread-safe.
  virtual HandlerResult transact(const InboxKey& key, const std::function<Status(Tx&)>& effect) = 0;
};

}  // namespace orders
