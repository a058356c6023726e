#pragma once
// The relay's view of storage: read pending outbox rows in order, mark them published, clean up.
// Implemented by every store adapter (store/sqlite, later store/postgres).

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "outbox/outbox_message.hpp"
#include "outbox/relay_lease.hpp"

namespace orders {

struct OutboxStats {
  std::int64_t pending = 0;    // rows not yet confirmed by the broker
  std::int64_t published = 0;  // confirmed rows still kept for retention
  std::optional<Timestamp> oldestPendingAt;
};

/// One row kept in the outbox, pending or published.
struct OutboxEvent {
  OutboxMessage message;
  std::optional<Timestamp> publishedAt;  // when the broker's confirm was recorded; nullopt: pending
};

struct OutboxEventQuery {
  std::int64_t afterId = 0;  // rows with a greater id, in increasing id order
  std::size_t limit = 1000;
  std::optional<std::string> partitionKey;  // only this order's rows
};

/// Thread-safe. Errors: kUnavailable when the database cannot answer.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  /// Up to `limit` unpublished rows with id > `afterId`, in increasing id order. Thread-safe.
  virtual Result<std::vector<OutboxMessage>> fetchUnpublished(std::int64_t afterId,
                                                              std::size_t limit) = 0;

  /// The ids of up to `limit` unpublished rows with afterId < id <= upToId, in increasing order.
  /// Cheap (no row is read): the relay's sweep for rows that became visible below its cursor.
  virtual Result<std::vector<std::int64_t>> pendingIds(std::int64_t afterId, std::int64_t upToId,
                                                       std::size_t limit) = 0;

  /// The pending ids at or below `upToId` that are not in `held`, up to `limit`, in increasing
  /// order: the relay's search for late rows, `held` being the ids it has read and not yet seen
  /// marked (increasing). The default lists every pending id up to `upToId` with pendingIds and
  /// drops the held ones, so it reads held.size() more ids than it returns; a store where late
  /// rows are common (PostgreSQL) leaves the held ones out in its query.
  virtual Result<std::vector<std::int64_t>> pendingIdsNotHeld(std::int64_t upToId,
                                                              const std::vector<std::int64_t>& held,
                                                              std::size_t limit) {
    auto ids = pendingIds(0, upToId, held.size() + limit);
    if (!ids) return ids;
    std::vector<std::int64_t> notHeld;
    for (const std::int64_t id : *ids) {
      if (notHeld.size() >= limit) break;
      if (!std::binary_search(held.begin(), held.end(), id)) notHeld.push_back(id);
    }
    return notHeld;
  }

  /// The rows among `ids` (increasing) that are still unpublished, in increasing id order: the
  /// relay reads the late rows pendingIds found with it. The default reads them one at a time
  /// with fetchUnpublished (right for any store); a store where late rows are common
  /// (PostgreSQL) reads them in one query.
  virtual Result<std::vector<OutboxMessage>> fetchUnpublishedIds(
      const std::vector<std::int64_t>& ids) {
    std::vector<OutboxMessage> rows;
    for (const std::int64_t id : ids) {
      auto row = fetchUnpublished(id - 1, 1);
      if (!row) return row.error();
      if (!row->empty() && row->front().id == id) rows.push_back(std::move(row->front()));
    }
    return rows;
  }

  /// Whether a committed row's id is always above the ids of the rows committed before it (SQLite
  /// assigns ids under its write lock). False (the default, always safe) for a store whose ids
  /// can become visible out of order (PostgreSQL takes a sequence value at insert and shows it at
  /// commit): the relay then looks below its cursor after every fetch that found rows, so that a
  /// row committed late is published before the later events of its order (relay.hpp).
  virtual bool idsVisibleInCommitOrder() const { return false; }

  /// The rows still kept (pending and published), for operators (`order-events outbox events`).
  /// Not for a hot path: filtering by partition key may read the whole outbox.
  virtual Result<std::vector<OutboxEvent>> listEvents(const OutboxEventQuery& query) = 0;

  /// Records that the broker confirmed these rows. Asynchronous: `done` runs on a store thread
  /// once the marks are committed (or failed). Losing a mark only causes a re-publish (a duplicate
  /// the consumers drop by messageId), never a loss.
  ///
  /// Fenced: `epoch` is the relay lease epoch (relay_lease.hpp) the caller held when it published
  /// these rows. The store checks, in the transaction that writes the marks, that it is still the
  /// lease's current epoch (granted and not released); otherwise nothing is marked and `done`
  /// gets kFenced. kNoLeaseEpoch (0) passes only while no lease was ever granted on this database.
  virtual void markPublished(std::vector<std::int64_t> ids, Timestamp at, std::int64_t epoch,
                             std::function<void(Status)> done) = 0;

  virtual Result<OutboxStats> outboxStats() = 0;

  /// Deletes published rows confirmed before `cutoff`; returns how many. Never touches pending
  /// rows.
  virtual Result<std::int64_t> deletePublishedBefore(Timestamp cutoff) = 0;

  /// `listener` is called (on a store thread, must not block) after every commit that added outbox
  /// rows, so the relay can publish at once instead of polling. Replaces any earlier listener.
  virtual void setOutboxListener(std::function<void()> listener) = 0;
};

}  // namespace orders
