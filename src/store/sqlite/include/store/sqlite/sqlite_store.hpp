#pragma once
// The embedded default store: one SQLite file in WAL mode with durable (fsync'd) commits.
//
// Writes go through a single writer thread that commits everything queued so far in one
// transaction (group commit), each write inside its own savepoint so one write's conflict never
// affects another. Reads use a small pool of separate connections (WAL readers do not block the
// writer). Schema migrations are applied when the store opens.
//
// Besides the commits, the store runs only SQLite's own housekeeping: WAL checkpoints, on a
// thread of its own, finished by the writer between batches when the WAL grows (SqliteOptions).
// Expiring idempotency records and inbox keys and deleting published outbox rows are maintenance
// jobs (src/maintenance) that call the methods below.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "outbox/outbox_store.hpp"
#include "outbox/relay_lease.hpp"
#include "store/order_store.hpp"
#include "store/store_observer.hpp"

namespace orders {

namespace sqlite {
class Connection;
}

struct SqliteOptions {
  /// Most writes committed in one transaction; more wait for the next commit.
  std::size_t maxBatch = 1024;
  /// How often the background checkpointer copies the WAL into the database file.
  std::chrono::milliseconds checkpointInterval{200};
  /// When a commit leaves more frames (pages) than this in the WAL, the WAL is made to start over.
  /// The background checkpointer alone cannot do that under steady writes (frames keep arriving
  /// while it copies): the file then grows for as long as the load lasts, and every commit
  /// extends it. So the writer asks for a background pass and, once a pass has left at most
  /// walTailFrames behind, copies those itself between two batches (no frame can arrive then;
  /// its clients wait meanwhile, so the tail is kept short); past twice this limit it copies
  /// whatever is left.
  int walResetFrames = 4096;
  int walTailFrames = 512;
  /// Told about every commit and every event written (metrics), on the writer thread; null:
  /// nobody. Not owned; must outlive the store.
  StoreObserver* observer = nullptr;
};

class SqliteStore final : public OrderStore, public OutboxStore, public RelayLease {
 public:
  /// Opens or creates the database at `path` (its directory must exist) and migrates it.
  /// kUnavailable naming the file and SQLite's reason when that fails. `clock` (the system clock
  /// when null; it must outlive the store) stamps what the store records: idempotency records'
  /// and inbox keys' creation times, which their expiry compares against, and the relay lease's
  /// expiry (RelayLease: on SQLite every instance is on this machine, so this clock is the
  /// store's clock).
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   SqliteOptions options = {},
                                                   const Clock* clock = nullptr);
  ~SqliteStore() override;

  /// Finishes every queued write, then stops the writer. Later writes fail with kUnavailable.
  void close();

  // OrderStore. Deletions run through the writer, in chunks.
  Result<std::optional<StoredOrder>> findOrder(const OrderId& id) override;
  Result<OrderPage> listOrders(const OrderQuery& query) override;
  Result<std::optional<IdempotencyRecord>> findIdempotencyRecord(const std::string& key) override;
  void write(WriteSet writes, std::function<void(Result<WriteOutcome>)> done) override;
  Result<std::int64_t> deleteIdempotencyRecordsBefore(Timestamp cutoff) override;

  // Inbox (the `inbox` table, consumer/sqlite_inbox_table.hpp)
  Result<bool> contains(const InboxKey& key) override;
  Result<bool> record(const InboxKey& key) override;
  Result<std::int64_t> deleteRecordedBefore(Timestamp cutoff) override;

  // OutboxStore
  Result<std::vector<OutboxMessage>> fetchUnpublished(std::int64_t afterId,
                                                      std::size_t limit) override;
  Result<std::vector<std::int64_t>> pendingIds(std::int64_t afterId, std::int64_t upToId,
                                               std::size_t limit) override;
  /// True: ids are assigned in commit order under SQLite's write lock.
  bool idsVisibleInCommitOrder() const override { return true; }
  Result<std::vector<OutboxEvent>> listEvents(const OutboxEventQuery& query) override;
  void markPublished(std::vector<std::int64_t> ids, Timestamp at, std::int64_t epoch,
                     std::function<void(Status)> done) override;
  Result<OutboxStats> outboxStats() override;
  Result<std::int64_t> deletePublishedBefore(Timestamp cutoff) override;
  void setOutboxListener(std::function<void()> listener) override;

  // RelayLease (the `relay_lease` table), through the writer: serialized with the marks it fences.
  Result<std::optional<LeaseGrant>> acquireOrRenew(const std::string& holder,
                                                   std::chrono::milliseconds ttl) override;
  Status release(const std::string& holder, std::int64_t epoch) override;

 private:
  struct Job;
  class ReaderLease;

  SqliteStore(std::string path, SqliteOptions options, const Clock& clock,
              std::unique_ptr<sqlite::Connection> writer);
  void enqueue(Job job);
  void writerLoop();
  /// On the writer thread, between batches: no frame can arrive while it copies.
  void checkpointFromWriter();
  void commitBatch(std::vector<Job>& batch);
  ReaderLease leaseReader();
  /// Runs `apply` in the writer's next transaction and waits for its commit.
  Status runOnWriter(std::function<void(sqlite::Connection&)> apply);
  /// Repeats a chunked deletion through the writer until a chunk deletes less than `chunk`.
  Result<std::int64_t> deleteInChunks(
      const std::function<std::int64_t(sqlite::Connection&, std::int64_t chunk)>& deleteChunk);

  const std::string path_;
  const SqliteOptions options_;
  const Clock& clock_;
  std::unique_ptr<sqlite::Connection> writer_;

  std::mutex queueMutex_;
  std::condition_variable queueChanged_;
  std::deque<Job> queue_;
  bool closing_ = false;
  std::thread writerThread_;

  std::mutex readersMutex_;
  std::vector<std::unique_ptr<sqlite::Connection>> idleReaders_;

  std::mutex listenerMutex_;
  std::function<void()> outboxListener_;

  // WAL checkpoints run here, not in the writer's commits.
  void checkpointLoop();
  std::condition_variable checkpointWake_;  // never shares queueChanged_
  // Resetting the WAL (SqliteOptions::walResetFrames), under queueMutex_: the writer asks for a
  // pass; the checkpointer records what it did, and in which WAL.
  bool walPassRequested_ = false;
  // Never both at once: one would find the other running (SQLITE_BUSY) and copy nothing.
  bool backgroundPassRunning_ = false;
  bool writerCheckpointing_ = false;
  /// Counts the WAL's restarts as the writer saw them (its frame count dropped): a pass over an
  /// earlier WAL says nothing about the current one's tail.
  std::uint64_t walGeneration_ = 0;
  struct BackgroundPass {
    std::uint64_t walGeneration = 0;
    int copiedFrames = 0;  // of that WAL's frames, the ones in the database file after the pass
  };
  std::optional<BackgroundPass> lastBackgroundPass_;
  /// On the writer thread, after a commit left `frames` (> walResetFrames) in the WAL.
  void resetWal(int frames);
  std::thread checkpointThread_;
};

}  // namespace orders
