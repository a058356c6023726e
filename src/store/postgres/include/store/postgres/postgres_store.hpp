#pragma once
// The store on PostgreSQL (--database postgresql://...), for several service instances on one
// database. Same contract as the SQLite store (OrderStore, OutboxStore, the inbox), same
// conformance suites.
//
// Writes: a few writer threads, each with its own connection, take everything queued and commit
// it as one transaction (group commit), sent in libpq's pipeline mode in one round trip: BEGIN,
// one call of the order_service_write() function per write, NOTIFY, COMMIT. The function runs
// each write in its own subtransaction (an exception block), so a version conflict, duplicate or
// failure of one write rolls back that write only. A connection lost while the COMMIT was in
// flight answers kInDoubt; one lost before reconnects with backoff (kUnavailable meanwhile, and
// available() is false, which /readyz shows through outboxStats()).
//
// Outbox ids come from an identity sequence: they become visible in commit order, not id order,
// so a row may appear below ids the relay has already seen; the relay's late-row sweep
// (pendingIds) finds it. The outbox listener runs after this store's own commits and, through
// LISTEN/NOTIFY, after commits of other instances that added outbox rows.
//
// The relay lease (outbox/relay_lease.hpp) is a row (relay_lease), not a session advisory lock:
// its expiry is judged by the database server's clock (one clock for every instance), each new
// acquisition increments its epoch, and markPublished commits marks only while the given epoch
// is current, checked in the marks' own transaction with the lease row locked (FOR SHARE), so
// no acquisition can come between the check and the marks.
//
// Schema migrations are applied at open, inside one transaction under a transaction-scoped
// advisory lock (pg_advisory_xact_lock): instances starting together migrate once, and the
// lock cannot outlive the transaction or stack.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "outbox/outbox_store.hpp"
#include "outbox/relay_lease.hpp"
#include "postgres/connection_settings.hpp"
#include "store/order_store.hpp"
#include "store/store_observer.hpp"

namespace orders {

namespace postgres {
class Connection;
}

struct PostgresOptions {
  /// At most this many writer connections, each committing one batch at a time. The first takes
  /// whatever is queued. Each further one joins only while the first cannot keep up: a full
  /// batch (maxBatch) is waiting, or the oldest write has waited twice as long as the last batch
  /// took (minSpillDelay-50 ms; the first writer is stuck on a lock or overloaded). Below that, one
  /// connection commits everything: bigger batches, fewer commits, and ids that become visible
  /// in commit order (no late rows for the relay). A writer connects on its first batch.
  std::size_t writers = 4;
  /// Most writes committed in one transaction; more wait for the next commit. Each write is a
  /// subtransaction: up to 64 fit PostgreSQL's per-backend subtransaction cache
  /// (PGPROC_MAX_CACHED_SUBXIDS), beyond which every other session's snapshot checks get slower.
  std::size_t maxBatch = 64;
  /// The shortest wait of the oldest write before a writer other than the first takes it (the
  /// wait is twice the last batch's time, within this and 50 ms, or this if it is longer).
  std::chrono::microseconds minSpillDelay{1000};
  /// Reconnection backoff of the writers and the notification listener.
  std::chrono::milliseconds reconnectInitial{100};
  std::chrono::milliseconds reconnectMax{5000};
  /// Told about every commit and every event written (metrics), on a writer thread; null:
  /// nobody. Not owned; must outlive the store.
  StoreObserver* observer = nullptr;
};

class PostgresStore final : public OrderStore, public OutboxStore, public RelayLease {
 public:
  /// Connects, migrates, starts the writers and the listener. kUnavailable naming the redacted
  /// URL and the server's reason when the database cannot be reached or migrated. `clock` (the
  /// system clock when null; it must outlive the store) stamps idempotency records and inbox
  /// keys.
  static Result<std::unique_ptr<PostgresStore>> open(const postgres::ConnectionSettings& settings,
                                                     PostgresOptions options = {},
                                                     const Clock* clock = nullptr);
  ~PostgresStore() override;

  /// Finishes every queued write, then stops the writers and the listener. Later calls fail
  /// with kUnavailable.
  void close();

  /// False while the database cannot be reached (a writer or the listener lost its connection
  /// and has not reconnected yet). Thread-safe.
  bool available() const { return available_.load(); }

  /// How many writer connections this store has opened so far (at most PostgresOptions::writers;
  /// a reconnection does not count again). Thread-safe.
  std::size_t writerConnectionsOpened();

  // OrderStore
  Result<std::optional<StoredOrder>> findOrder(const OrderId& id) override;
  Result<OrderPage> listOrders(const OrderQuery& query) override;
  Result<std::optional<IdempotencyRecord>> findIdempotencyRecord(const std::string& key) override;
  void write(WriteSet writes, std::function<void(Result<WriteOutcome>)> done) override;
  Result<std::int64_t> deleteIdempotencyRecordsBefore(Timestamp cutoff) override;

  // Inbox (the `inbox` table)
  Result<bool> contains(const InboxKey& key) override;
  Result<bool> record(const InboxKey& key) override;
  Result<std::int64_t> deleteRecordedBefore(Timestamp cutoff) override;

  // OutboxStore
  Result<std::vector<OutboxMessage>> fetchUnpublished(std::int64_t afterId,
                                                      std::size_t limit) override;
  /// One query (`id = ANY(array)`), where the default would make one per id.
  Result<std::vector<OutboxMessage>> fetchUnpublishedIds(
      const std::vector<std::int64_t>& ids) override;
  Result<std::vector<std::int64_t>> pendingIds(std::int64_t afterId, std::int64_t upToId,
                                               std::size_t limit) override;
  /// Leaves the held ids out in its query (the relay holds up to a window of them at every
  /// search); falls back to the default when more than a few thousand ids lie between held ones.
  Result<std::vector<std::int64_t>> pendingIdsNotHeld(std::int64_t upToId,
                                                      const std::vector<std::int64_t>& held,
                                                      std::size_t limit) override;
  Result<std::vector<OutboxEvent>> listEvents(const OutboxEventQuery& query) override;
  void markPublished(std::vector<std::int64_t> ids, Timestamp at, std::int64_t epoch,
                     std::function<void(Status)> done) override;
  Result<OutboxStats> outboxStats() override;
  Result<std::int64_t> deletePublishedBefore(Timestamp cutoff) override;
  void setOutboxListener(std::function<void()> listener) override;

  // RelayLease: one statement each, on a reader connection (autocommit, durable).
  Result<std::optional<LeaseGrant>> acquireOrRenew(const std::string& holder,
                                                   std::chrono::milliseconds ttl) override;
  Status release(const std::string& holder, std::int64_t epoch) override;

 private:
  struct Job;
  class ReaderLease;

  PostgresStore(postgres::ConnectionSettings settings, PostgresOptions options, const Clock& clock);
  void enqueue(Job job);
  /// Writer `first` takes what is queued; the others only a spill (PostgresOptions::writers).
  void writerLoop(bool first);
  /// Waits until this writer may take a batch, and moves it into `batch`; false when closing
  /// with nothing left.
  bool takeBatch(bool first, std::vector<Job>& batch);
  std::chrono::microseconds spillDelay() const;
  void commitWrites(postgres::Connection& db, std::vector<Job>& writes);
  void runTask(postgres::Connection& db, Job& job);
  /// Puts jobs that met a deadlock or serialization failure back at the queue's front.
  void requeue(std::vector<Job>& jobs);
  void listenLoop();
  void notifyListener();
  /// Waits `delay` or until close(); false when closing.
  bool pause(std::chrono::milliseconds delay);
  ReaderLease leaseReader();
  /// Runs `apply` in a transaction of its own on a writer and waits for its commit.
  Status runOnWriter(std::function<void(postgres::Connection&)> apply);
  template <class T>
  Result<T> read(const char* what, const std::function<T(postgres::Connection&)>& query);

  const postgres::ConnectionSettings settings_;
  const PostgresOptions options_;
  const Clock& clock_;
  std::atomic<bool> available_{true};

  std::mutex queueMutex_;
  std::condition_variable queueChanged_;  // wakes the first writer
  std::condition_variable spillWake_;     // wakes the others
  // How long the last batch took; a guess until the first one is timed.
  std::atomic<std::int64_t> lastBatchMicros_{5000};
  std::deque<Job> queue_;
  bool closing_ = false;
  std::condition_variable closingChanged_;  // wakes pause()
  std::atomic<bool> closed_{false};
  std::vector<std::thread> writerThreads_;
  std::thread listenerThread_;
  int wakeListenerFd_ = -1;  // eventfd: close() wakes the listener's poll()

  std::mutex readersMutex_;
  std::vector<std::unique_ptr<postgres::Connection>> idleReaders_;

  std::mutex listenerMutex_;
  std::function<void()> outboxListener_;

  // The server processes of this store's writers: their NOTIFYs are this store's own commits,
  // whose listener call already ran, so the listener thread skips them.
  std::mutex writerPidsMutex_;
  std::vector<int> writerPids_;
  void setWriterPid(int previous, int current);
  bool isOwnWriter(int pid);
};

}  // namespace orders
