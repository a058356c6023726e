#include "store/sqlite/sqlite_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <future>
#include <variant>

#include "consumer/sqlite/sqlite_inbox_table.hpp"
#include "sqlite/connection.hpp"
#include "store/order_document.hpp"

namespace orders {
namespace {

using sqlite::Connection;
using sqlite::SqliteError;

// Each entry migrates the schema from version i to i+1. Never edit an applied entry; append.
constexpr std::array<const char*, 5> kMigrations{
    R"sql(
CREATE TABLE orders (
  order_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_event_sequence INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  document TEXT NOT NULL
);
CREATE INDEX orders_by_user ON orders(user_id, created_at DESC, order_id DESC);
CREATE INDEX orders_by_status ON orders(status, created_at DESC, order_id DESC);
CREATE INDEX orders_by_created ON orders(created_at DESC, order_id DESC);

-- AUTOINCREMENT: ids never go back even after retention empties the table, so the relay's
-- "after id" cursor can never skip a new row.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  -- Not UNIQUE: ids are random UUIDs made here, and an index on random keys would dirty one
  -- page per event at every commit (the cost that matters most on the write path).
  message_id TEXT NOT NULL,
  message_type TEXT NOT NULL,
  message_version TEXT NOT NULL,
  partition_key TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  correlation_id TEXT,
  source TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  body TEXT NOT NULL CHECK (body <> ''),
  published_at INTEGER
  -- No UNIQUE (partition_key, sequence): the version check on the order row already serializes
  -- an order's writes, and an index keyed by random order ids costs a random page per commit.
);
CREATE INDEX outbox_pending ON outbox(id) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON outbox(published_at) WHERE published_at IS NOT NULL;

CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);

CREATE TABLE inbox (
  consumer TEXT NOT NULL,
  message_id TEXT NOT NULL,
  processed_at INTEGER NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
)sql",
    // Publication state moves out of the outbox row into a narrow table: marking a confirmed
    // event published then rewrites a few bytes instead of its ~1 KB row (and its page, twice:
    // in the WAL and again at checkpoint), which was the relay's main cost. Outbox rows are
    // written once and never updated.
    R"sql(
CREATE TABLE outbox_publication (
  id INTEGER PRIMARY KEY,  -- outbox.id; inserted with the outbox row, deleted with it
  published_at INTEGER     -- NULL until the broker confirmed the event
);
INSERT INTO outbox_publication (id, published_at) SELECT id, published_at FROM outbox;
DROP INDEX outbox_pending;
DROP INDEX outbox_published;
ALTER TABLE outbox DROP COLUMN published_at;
CREATE INDEX outbox_publication_pending ON outbox_publication(id) WHERE published_at IS NULL;
CREATE INDEX outbox_publication_published ON outbox_publication(published_at)
  WHERE published_at IS NOT NULL;
)sql",
    // The inbox gets the shape every SQLite inbox shares (sqlite::kCreateInboxTable): the index
    // its retention job deletes by.
    R"sql(
CREATE INDEX inbox_by_processed_at ON inbox(processed_at);
)sql",
    // W3C Trace Context of each event (EncodedMessage::traceparent / tracestate), sent by the
    // relay as AMQP headers. NULL for rows written before, and for events without a trace.
    R"sql(
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
ALTER TABLE outbox ADD COLUMN tracestate TEXT;
)sql",
    // The relay lease (outbox/relay_lease.hpp): one row per lease, only 'relay' so far (the name
    // leaves room for one lease per partition). No row: never granted. holder NULL: released.
    // The epoch only grows; expires_at is in milliseconds of the store's clock.
    R"sql(
CREATE TABLE relay_lease (
  name TEXT PRIMARY KEY,
  holder TEXT,
  epoch INTEGER NOT NULL CHECK (epoch >= 1),
  expires_at INTEGER NOT NULL
);
)sql",
};

// Prepared once: every batch runs these, and at low load a batch holds one write (sqlite3_exec
// parsed them again each time: 1.5 % of an order's instructions under callgrind).
const std::string kBeginImmediate = "BEGIN IMMEDIATE";
const std::string kCommit = "COMMIT";
const std::string kSynchronousNormal = "PRAGMA synchronous=NORMAL";
const std::string kSynchronousFull = "PRAGMA synchronous=FULL";
// And these for every write.
const std::string kSavepoint = "SAVEPOINT job";
const std::string kReleaseSavepoint = "RELEASE job";
const std::string kRollbackToSavepoint = "ROLLBACK TO job";
const std::string kInsertOrder =
    "INSERT INTO orders (order_id, user_id, status, version, last_event_sequence, created_at, "
    "updated_at, document) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const std::string kUpdateOrder =
    "UPDATE orders SET status = ?3, version = ?4, last_event_sequence = ?5, updated_at = ?7, "
    "document = ?8, user_id = ?2, created_at = ?6 WHERE order_id = ?1 AND version = ?9";
const std::string kInsertOutbox =
    "INSERT INTO outbox (message_id, message_type, message_version, partition_key, sequence, "
    "correlation_id, source, occurred_at, body, traceparent, tracestate) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
const std::string kInsertIdempotency =
    "INSERT INTO idempotency_keys (key, fingerprint, response, created_at) VALUES (?1, ?2, ?3, ?4)";
const std::string kInsertPublication =
    "INSERT INTO outbox_publication (id) VALUES (last_insert_rowid())";
const std::string kMarkPublished =
    "UPDATE outbox_publication SET published_at = ?2 WHERE id = ?1 AND published_at IS NULL";
const std::string kRelayLeaseName = "relay";
const std::string kSelectLease =
    "SELECT holder, epoch, expires_at FROM relay_lease WHERE name = ?1";
const std::string kInsertLease =
    "INSERT INTO relay_lease (name, holder, epoch, expires_at) VALUES (?1, ?2, 1, ?3)";
const std::string kUpdateLease =
    "UPDATE relay_lease SET holder = ?2, epoch = ?3, expires_at = ?4 WHERE name = ?1";
const std::string kReleaseLease =
    "UPDATE relay_lease SET holder = NULL WHERE name = ?1 AND holder = ?2 AND epoch = ?3";
const std::string kSelectOrder =
    "SELECT document, last_event_sequence FROM orders WHERE order_id = ?1";
const std::string kSelectIdempotency =
    "SELECT fingerprint, response FROM idempotency_keys WHERE key = ?1";
// The columns readOutboxRow() reads, in its order; a query's next column is kOutboxColumnCount.
constexpr int kOutboxColumnCount = 12;
const std::string kOutboxColumns =
    "o.id, o.message_id, o.message_type, o.message_version, o.partition_key, o.sequence, "
    "o.correlation_id, o.source, o.occurred_at, o.body, o.traceparent, o.tracestate";
// Pending ids come from the partial index outbox_publication_pending, then each row by its id.
const std::string kSelectPending = "SELECT " + kOutboxColumns +
                                   " FROM outbox_publication p JOIN outbox o ON o.id = p.id "
                                   "WHERE p.published_at IS NULL AND p.id > ?1 ORDER BY p.id "
                                   "LIMIT ?2";
// Index-only, on outbox_publication_pending.
const std::string kSelectPendingIds =
    "SELECT id FROM outbox_publication WHERE published_at IS NULL AND id > ?1 AND id <= ?2 "
    "ORDER BY id LIMIT ?3";
// Every kept row with its publication time; by partition key it reads the outbox (no index:
// an index keyed by random order ids would cost the write path a random page per commit).
const std::string kListEventsFrom = "SELECT " + kOutboxColumns +
                                    ", p.published_at FROM outbox o JOIN outbox_publication p "
                                    "ON p.id = o.id WHERE o.id > ?1 ";
const std::string kListEvents = kListEventsFrom + "ORDER BY o.id LIMIT ?2";
const std::string kListEventsOfPartition =
    kListEventsFrom + "AND o.partition_key = ?3 ORDER BY o.id LIMIT ?2";
// Both answered from the partial indexes: COUNT(*) walks an index only, and the oldest pending
// row is the one with the smallest id (rows are written in time order).
const std::string kCountPending =
    "SELECT COUNT(*), (SELECT occurred_at FROM outbox WHERE id = (SELECT MIN(id) FROM "
    "outbox_publication WHERE published_at IS NULL)) FROM outbox_publication "
    "WHERE published_at IS NULL";
const std::string kCountPublished =
    "SELECT COUNT(*) FROM outbox_publication WHERE published_at IS NOT NULL";
const std::string kDeleteIdempotency =
    "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE "
    "created_at < ?1 LIMIT ?2)";
constexpr std::int64_t kDeleteChunk = 10000;
const std::string kDeletePublications =
    "DELETE FROM outbox_publication WHERE id IN (SELECT id FROM outbox_publication WHERE "
    "published_at IS NOT NULL AND published_at < ?1 LIMIT ?2) RETURNING id";
const std::string kDeleteOutboxRow = "DELETE FROM outbox WHERE id = ?1";

/// NULL for an empty string (an absent optional field of an outbox row).
std::optional<std::string> optionalText(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

std::int64_t millis(Timestamp t) {
  return t.time_since_epoch().count();
}

Error unavailable(const std::string& what, const std::exception& e) {
  return Error{ErrorCode::kUnavailable, what + ": " + e.what()};
}

/// The kOutboxColumns of a row of kSelectPending / kListEvents.
OutboxMessage readOutboxRow(const sqlite::Statement& statement) {
  OutboxMessage m;
  m.id = statement.columnInt(0);
  m.messageId = statement.columnText(1);
  m.messageType = statement.columnText(2);
  m.messageVersion = statement.columnText(3);
  m.partitionKey = statement.columnText(4);
  m.sequence = statement.columnInt(5);
  m.correlationId = statement.columnText(6);
  m.source = statement.columnText(7);
  m.timestamp = Timestamp(std::chrono::milliseconds(statement.columnInt(8)));
  m.body = statement.columnText(9);
  m.traceparent = statement.columnText(10);  // NULL reads as "": no trace
  m.tracestate = statement.columnText(11);
  return m;
}

SystemClock& systemClock() {
  static SystemClock clock;
  return clock;
}

void migrate(Connection& db, Timestamp now) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "applied_at INTEGER NOT NULL)");
  db.exec("BEGIN IMMEDIATE");
  try {
    auto& current = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    current.step();
    const auto applied = static_cast<std::size_t>(current.columnInt(0));
    current.reset();
    if (applied > kMigrations.size()) {
      throw SqliteError(SQLITE_ERROR, "database schema version " + std::to_string(applied) +
                                          " is newer than this binary knows (" +
                                          std::to_string(kMigrations.size()) + ")");
    }
    for (std::size_t version = applied; version < kMigrations.size(); ++version) {
      db.exec(kMigrations[version]);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)")
          .bind(1, static_cast<std::int64_t>(version + 1))
          .bind(2, millis(now))
          .run();
    }
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
}

/// Cursor of the order list: "<createdAt millis>_<orderId>" of the last order of a page.
std::string encodeCursor(const Order& order) {
  return std::to_string(millis(order.createdAt)) + "_" + order.id.str();
}

bool decodeCursor(const std::string& cursor, std::int64_t& createdAt, std::string& orderId) {
  const auto separator = cursor.find('_');
  if (separator == std::string::npos) return false;
  const char* begin = cursor.data();
  const auto [end, ec] = std::from_chars(begin, begin + separator, createdAt);
  if (ec != std::errc() || end != begin + separator) return false;
  orderId = cursor.substr(separator + 1);
  return isUuid(orderId);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writer jobs

struct SqliteStore::Job {
  struct Write {
    WriteSet writes;
    std::string document;  // the order's encoded document, made on the caller's thread
    std::function<void(Result<WriteOutcome>)> done;
    WriteOutcome outcome = WriteOutcome::kCommitted;
  };
  /// Outbox bookkeeping (marks, retention) serialized with the writes on the one writer.
  struct Task {
    std::function<void(Connection&)> apply;
    std::function<void(Status)> done;
    /// false: losing this change in a power failure (not in a crash of the process) is
    /// acceptable, so a batch of only such tasks commits without waiting for the fsync.
    bool durable = true;
  };
  std::variant<Write, Task> work;
  std::optional<Error> error{};  // this job failed on its own; the rest of the batch commits

  void finish(const std::optional<Error>& batchError) {
    const std::optional<Error>& failure = batchError ? batchError : error;
    if (auto* write = std::get_if<Write>(&work)) {
      if (failure) {
        write->done(*failure);
      } else {
        write->done(write->outcome);
      }
    } else {
      std::get<Task>(work).done(failure ? Status(*failure) : okStatus());
    }
  }
};

class SqliteStore::ReaderLease {
 public:
  ReaderLease(SqliteStore& store, std::unique_ptr<Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease() {
    if (!connection_) return;
    std::lock_guard lock(store_.readersMutex_);
    store_.idleReaders_.push_back(std::move(connection_));
  }
  Connection& operator*() { return *connection_; }
  Connection* operator->() { return connection_.get(); }

 private:
  SqliteStore& store_;
  std::unique_ptr<Connection> connection_;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       SqliteOptions options, const Clock* clock) {
  const Clock& time = clock != nullptr ? *clock : systemClock();
  try {
    auto writer = std::make_unique<Connection>(path);
    migrate(*writer, time.now());
    return std::unique_ptr<SqliteStore>(new SqliteStore(path, options, time, std::move(writer)));
  } catch (const SqliteError& e) {
    return Error{ErrorCode::kUnavailable, std::string("SQLite store: ") + e.what()};
  }
}

SqliteStore::SqliteStore(std::string path, SqliteOptions options, const Clock& clock,
                         std::unique_ptr<sqlite::Connection> writer)
    : path_(std::move(path)), options_(options), clock_(clock), writer_(std::move(writer)) {
  // No automatic checkpoint: it would run inside a commit and make that batch wait for the copy
  // and its fsync. The background thread copies; the writer finishes between batches (writerLoop).
  writer_->exec("PRAGMA wal_autocheckpoint=0");
  writer_->trackWalFrames();
  writerThread_ = std::thread([this] { writerLoop(); });
  checkpointThread_ = std::thread([this] { checkpointLoop(); });
}

void SqliteStore::checkpointLoop() {
  std::unique_ptr<Connection> connection;
  std::unique_lock lock(queueMutex_);
  while (!closing_) {
    // Real time on purpose: this is SQLite's housekeeping of this process's file, not a job.
    checkpointWake_.wait_for(lock, options_.checkpointInterval, [this] {
      return closing_ || (walPassRequested_ && !writerCheckpointing_);
    });
    if (closing_) break;
    if (writerCheckpointing_) continue;  // it would only find the writer's checkpoint running
    walPassRequested_ = false;
    backgroundPassRunning_ = true;
    // Read before the pass: a restart the writer sees later makes this pass's result stale, never
    // the other way round (the writer counts a restart only after the commit that made it).
    const std::uint64_t generation = walGeneration_;
    lock.unlock();
    std::optional<int> copiedFrames;
    try {
      if (!connection) connection = std::make_unique<Connection>(path_);
      // PASSIVE never blocks the writer or readers; it copies what it can and tries again later.
      copiedFrames = connection->checkpointPassive();
    } catch (const SqliteError& e) {
      spdlog::warn("sqlite: background checkpoint failed (will retry): {}", e.what());
      connection.reset();
    }
    lock.lock();
    backgroundPassRunning_ = false;
    if (copiedFrames) lastBackgroundPass_ = BackgroundPass{generation, *copiedFrames};
  }
}

void SqliteStore::resetWal(int frames) {
  {
    std::lock_guard lock(queueMutex_);
    // The checkpoint that runs now would find it running: its result is there after a later batch.
    if (backgroundPassRunning_) return;
    const bool tailIsShort = lastBackgroundPass_ &&
                             lastBackgroundPass_->walGeneration == walGeneration_ &&
                             frames - lastBackgroundPass_->copiedFrames <= options_.walTailFrames;
    if (!tailIsShort && frames <= 2 * options_.walResetFrames) {
      // One more pass first. It copies what came since the last one (about a batch's frames, as
      // the writer asks again after each batch), and the writer never waits for it.
      walPassRequested_ = true;
      checkpointWake_.notify_one();
      return;
    }
    walPassRequested_ = false;  // the writer's checkpoint does what that pass would have done
    // At most one writer's checkpoint per pass: if a reader keeps this one from finishing, the
    // next batch asks for a new pass instead of waiting on the same reader again.
    lastBackgroundPass_.reset();
    writerCheckpointing_ = true;
  }
  checkpointFromWriter();
  std::lock_guard lock(queueMutex_);
  writerCheckpointing_ = false;
}

void SqliteStore::checkpointFromWriter() {
  try {
    // Incomplete (a reader still needs old frames, or another process's checkpoint was running):
    // the WAL stays over its limit, and the next batch asks for a pass again.
    writer_->checkpointPassive();
  } catch (const SqliteError& e) {
    spdlog::warn("sqlite: writer's checkpoint failed (will retry after the next batch): {}",
                 e.what());
  }
}

SqliteStore::~SqliteStore() {
  close();
}

void SqliteStore::close() {
  {
    std::lock_guard lock(queueMutex_);
    if (closing_ && !writerThread_.joinable()) return;
    closing_ = true;
  }
  queueChanged_.notify_all();
  checkpointWake_.notify_all();
  if (writerThread_.joinable()) writerThread_.join();
  if (checkpointThread_.joinable()) checkpointThread_.join();
  try {
    // Fold the WAL into the database file so a closed store is one self-contained file.
    writer_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } catch (const SqliteError& e) {
    spdlog::warn("sqlite: final checkpoint failed (the WAL is kept and replayed on open): {}",
                 e.what());
  }
}

SqliteStore::ReaderLease SqliteStore::leaseReader() {
  {
    std::lock_guard lock(readersMutex_);
    if (!idleReaders_.empty()) {
      auto connection = std::move(idleReaders_.back());
      idleReaders_.pop_back();
      return ReaderLease(*this, std::move(connection));
    }
  }
  // Pool grows to the number of threads reading at once; connections are cheap in WAL mode.
  return ReaderLease(*this, std::make_unique<Connection>(path_));
}

void SqliteStore::enqueue(Job job) {
  {
    std::unique_lock lock(queueMutex_);
    if (!closing_) {
      queue_.push_back(std::move(job));
      lock.unlock();
      queueChanged_.notify_one();
      return;
    }
  }
  job.finish(Error{ErrorCode::kUnavailable, "the store is shutting down"});
}

void SqliteStore::writerLoop() {
  std::vector<Job> batch;
  // A batch of only relay marks (nothing a client waits for) commits with synchronous=NORMAL: in
  // WAL mode that is as consistent and as crash-safe as FULL (the WAL frames are written before
  // COMMIT returns), only the fsync is skipped, and the next FULL commit's fsync makes those
  // frames durable too. A power failure before that can lose only such marks: their rows are
  // published again (duplicates, which consumers drop by messageId), never lost. Otherwise every
  // burst's marks would cost an fsync of their own, competing with the order commits.
  bool relaxedNow = false;  // the writer connection is at synchronous=NORMAL
  int framesBefore = 0;     // in the WAL after the previous batch
  for (;;) {
    {
      std::unique_lock lock(queueMutex_);
      queueChanged_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) break;  // closing and drained
      while (!queue_.empty() && batch.size() < options_.maxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const bool relaxed = std::all_of(batch.begin(), batch.end(), [](const Job& job) {
      const auto* task = std::get_if<Job::Task>(&job.work);
      return task != nullptr && !task->durable;
    });
    if (relaxed != relaxedNow) {
      try {
        writer_->prepare(relaxed ? kSynchronousNormal : kSynchronousFull).run();
        relaxedNow = relaxed;
      } catch (const SqliteError& e) {
        if (!relaxed) {
          // Never commit a client's write without the fsync: fail this batch, retry next time.
          const Error error = unavailable("cannot restore synchronous=FULL", e);
          for (auto& job : batch) job.finish(error);
          batch.clear();
          continue;
        }
        // Still FULL: this batch of marks just pays for its fsync.
      }
    }
    commitBatch(batch);
    batch.clear();
    const int frames = writer_->walFrames();
    if (frames < framesBefore) {
      std::lock_guard lock(queueMutex_);
      ++walGeneration_;
    }
    framesBefore = frames;
    if (frames > options_.walResetFrames) resetWal(frames);
  }
  if (relaxedNow) {
    try {
      writer_->prepare(kSynchronousFull).run();
    } catch (const SqliteError&) {
      // Closing: no commit follows on this connection (the final checkpoint syncs the file).
    }
  }
}

namespace {

/// Applies one WriteSet inside the current savepoint. Returns the outcome; a constraint violation
/// is a domain-level outcome (duplicate), anything else throws.
WriteOutcome applyWrite(Connection& db, const WriteSet& writes, const std::string& document,
                        Timestamp now, bool& addedOutboxRows) {
  // The order and its events first, so a duplicate found below rolls back real work: the
  // savepoint, not luck, keeps a failed write from leaving anything behind.
  if (writes.order) {
    const auto& w = *writes.order;
    const bool insert = w.expectedVersion == 0;
    auto& statement = db.prepare(insert ? kInsertOrder : kUpdateOrder);
    statement.bind(1, w.order.id.str())
        .bind(2, w.order.userId.str())
        .bind(3, toString(w.order.status))
        .bind(4, w.order.version)
        .bind(5, w.lastEventSequence)
        .bind(6, millis(w.order.createdAt))
        .bind(7, millis(w.order.updatedAt))
        .bind(8, document);
    if (!insert) statement.bind(9, w.expectedVersion);
    try {
      statement.run();
    } catch (const SqliteError& e) {
      if (insert && e.isConstraintViolation()) return WriteOutcome::kVersionConflict;
      throw;
    }
    if (!insert && db.changes() == 0) return WriteOutcome::kVersionConflict;
    for (const auto& event : w.events) {
      db.prepare(kInsertOutbox)
          .bind(1, event.messageId)
          .bind(2, event.messageType)
          .bind(3, event.messageVersion)
          .bind(4, event.partitionKey)
          .bind(5, event.sequence)
          .bindOptional(6, optionalText(event.correlationId))
          .bind(7, event.source)
          .bind(8, millis(event.timestamp))
          .bind(9, event.body)
          .bindOptional(10, optionalText(event.traceparent))
          .bindOptional(11, optionalText(event.tracestate))
          .run();
      db.prepare(kInsertPublication).run();
      addedOutboxRows = true;
    }
  }
  if (writes.inboxMessage && !sqlite::inboxInsert(db, *writes.inboxMessage, now)) {
    return WriteOutcome::kDuplicateInboxMessage;
  }
  if (writes.idempotency) {
    try {
      db.prepare(kInsertIdempotency)
          .bind(1, writes.idempotency->key)
          .bind(2, writes.idempotency->fingerprint)
          .bind(3, writes.idempotency->response)
          .bind(4, millis(now))
          .run();
    } catch (const SqliteError& e) {
      if (e.isConstraintViolation()) return WriteOutcome::kDuplicateIdempotencyKey;
      throw;
    }
  }
  return WriteOutcome::kCommitted;
}

}  // namespace

void SqliteStore::commitBatch(std::vector<Job>& batch) {
  Connection& db = *writer_;
  const Timestamp now = clock_.now();
  const SteadyTime started = clock_.steadyNow();
  bool addedOutboxRows = false;
  std::optional<Error> batchError;
  try {
    db.prepare(kBeginImmediate).run();
  } catch (const SqliteError& e) {
    batchError = unavailable("cannot begin a transaction", e);
  }
  for (std::size_t i = 0; !batchError && i < batch.size(); ++i) {
    Job& job = batch[i];
    bool jobAddedRows = false;
    try {
      db.prepare(kSavepoint).run();
      if (auto* write = std::get_if<Job::Write>(&job.work)) {
        write->outcome = applyWrite(db, write->writes, write->document, now, jobAddedRows);
        if (write->outcome != WriteOutcome::kCommitted) {
          db.prepare(kRollbackToSavepoint).run();
          jobAddedRows = false;
        }
      } else {
        std::get<Job::Task>(job.work).apply(db);
      }
      db.prepare(kReleaseSavepoint).run();
      addedOutboxRows = addedOutboxRows || jobAddedRows;
    } catch (const SqliteError& e) {
      // This job alone fails; the others in the batch still commit.
      job.error = Error{ErrorCode::kUnavailable, std::string("write failed: ") + e.what()};
      try {
        db.exec("ROLLBACK TO job");
        db.exec("RELEASE job");
      } catch (const SqliteError& rollbackError) {
        batchError = unavailable("cannot roll back a failed write", rollbackError);
      }
    }
  }
  if (!batchError) {
    try {
      db.prepare(kCommit).run();
    } catch (const SqliteError& e) {
      // An I/O error here leaves the outcome unknown (kInDoubt): the commit frame may be in the
      // WAL already and be replayed at the next open.
      batchError = sqlite::commitError(e, "commit of a batch of writes");
    }
  }
  if (batchError) {
    try {
      db.exec("ROLLBACK");
    } catch (const SqliteError&) {
      // No transaction left to roll back (BEGIN failed, or SQLite already rolled back).
    }
    addedOutboxRows = false;
  }
  if (StoreObserver* observer = options_.observer) {
    observer->batchCommitted(batch.size(), clock_.steadyNow() - started, !batchError);
    if (addedOutboxRows) {
      for (const auto& job : batch) {
        const auto* write = std::get_if<Job::Write>(&job.work);
        if (write == nullptr || job.error || write->outcome != WriteOutcome::kCommitted ||
            !write->writes.order)
          continue;
        for (const auto& event : write->writes.order->events)
          observer->eventWritten(event.messageType);
      }
    }
  }
  // The relay is woken before the requests complete: a caller that saw its write commit can rely
  // on the listener having run (and the relay gets a head start on the responses).
  if (addedOutboxRows) {
    std::lock_guard lock(listenerMutex_);
    if (outboxListener_) outboxListener_();
  }
  for (auto& job : batch) job.finish(batchError);
}

// ---------------------------------------------------------------------------------------------
// OrderStore

void SqliteStore::write(WriteSet writes, std::function<void(Result<WriteOutcome>)> done) {
  // Encoding is CPU work the single writer should not do; the caller's thread does it.
  std::string document = writes.order ? encodeOrderDocument(writes.order->order) : std::string();
  enqueue(Job{Job::Write{std::move(writes), std::move(document), std::move(done)}});
}

Result<std::optional<StoredOrder>> SqliteStore::findOrder(const OrderId& id) {
  try {
    auto reader = leaseReader();
    auto& statement = reader->prepare(kSelectOrder).bind(1, id.str());
    if (!statement.step()) return std::optional<StoredOrder>();
    auto order = decodeOrderDocument(statement.columnText(0));
    const auto sequence = statement.columnInt(1);
    statement.reset();
    if (!order) return order.error();
    return std::optional<StoredOrder>(StoredOrder{std::move(order).value(), sequence});
  } catch (const SqliteError& e) {
    return unavailable("cannot read order", e);
  }
}

Result<OrderPage> SqliteStore::listOrders(const OrderQuery& query) {
  std::int64_t cursorCreatedAt = 0;
  std::string cursorOrderId;
  const bool hasCursor = !query.cursor.empty();
  if (hasCursor && !decodeCursor(query.cursor, cursorCreatedAt, cursorOrderId)) {
    return invalid("cursor", "is not a cursor this service returned");
  }
  // Newest first; the cursor continues strictly after the last order of the previous page.
  std::string sql = "SELECT document FROM orders WHERE 1=1";
  if (query.userId) sql += " AND user_id = ?1";
  if (query.status) sql += " AND status = ?2";
  if (hasCursor) sql += " AND (created_at < ?3 OR (created_at = ?3 AND order_id < ?4))";
  sql += " ORDER BY created_at DESC, order_id DESC LIMIT ?5";
  try {
    auto reader = leaseReader();
    OrderPage page;
    // At most eight distinct texts (one per filter combination), each cached once prepared.
    auto& statement = reader->prepare(sql);
    if (query.userId) statement.bind(1, *query.userId);
    if (query.status) statement.bind(2, toString(*query.status));
    if (hasCursor) statement.bind(3, cursorCreatedAt).bind(4, cursorOrderId);
    statement.bind(5, static_cast<std::int64_t>(query.limit + 1));
    while (statement.step()) {
      auto order = decodeOrderDocument(statement.columnText(0));
      if (!order) {
        statement.reset();
        return order.error();
      }
      page.orders.push_back(std::move(order).value());
    }
    if (page.orders.size() > query.limit) {
      page.orders.pop_back();
      page.nextCursor = encodeCursor(page.orders.back());
    }
    return page;
  } catch (const SqliteError& e) {
    return unavailable("cannot list orders", e);
  }
}

Result<std::optional<IdempotencyRecord>> SqliteStore::findIdempotencyRecord(
    const std::string& key) {
  try {
    auto reader = leaseReader();
    auto& statement = reader->prepare(kSelectIdempotency).bind(1, key);
    if (!statement.step()) return std::optional<IdempotencyRecord>();
    IdempotencyRecord record{key, statement.columnText(0), statement.columnText(1)};
    statement.reset();
    return std::optional<IdempotencyRecord>(std::move(record));
  } catch (const SqliteError& e) {
    return unavailable("cannot read idempotency record", e);
  }
}

// ---------------------------------------------------------------------------------------------
// Inbox

Result<bool> SqliteStore::contains(const InboxKey& key) {
  try {
    auto reader = leaseReader();
    return sqlite::inboxContains(*reader, key);
  } catch (const SqliteError& e) {
    return unavailable("cannot read inbox", e);
  }
}

Result<bool> SqliteStore::record(const InboxKey& key) {
  auto inserted = std::make_shared<bool>(false);
  const Status status = runOnWriter([this, key, inserted](Connection& db) {
    *inserted = sqlite::inboxInsert(db, key, clock_.now());
  });
  if (!status) return status.error();
  return *inserted;
}

Result<std::int64_t> SqliteStore::deleteRecordedBefore(Timestamp cutoff) {
  return deleteInChunks([cutoff](Connection& db, std::int64_t chunk) {
    return sqlite::inboxDeleteBefore(db, cutoff, chunk);
  });
}

// ---------------------------------------------------------------------------------------------
// OutboxStore

Result<std::vector<OutboxMessage>> SqliteStore::fetchUnpublished(std::int64_t afterId,
                                                                 std::size_t limit) {
  try {
    auto reader = leaseReader();
    auto& statement =
        reader->prepare(kSelectPending).bind(1, afterId).bind(2, static_cast<std::int64_t>(limit));
    std::vector<OutboxMessage> messages;
    while (statement.step()) messages.push_back(readOutboxRow(statement));
    return messages;
  } catch (const SqliteError& e) {
    return unavailable("cannot read the outbox", e);
  }
}

Result<std::vector<std::int64_t>> SqliteStore::pendingIds(std::int64_t afterId, std::int64_t upToId,
                                                          std::size_t limit) {
  try {
    auto reader = leaseReader();
    auto& statement = reader->prepare(kSelectPendingIds)
                          .bind(1, afterId)
                          .bind(2, upToId)
                          .bind(3, static_cast<std::int64_t>(limit));
    std::vector<std::int64_t> ids;
    while (statement.step()) ids.push_back(statement.columnInt(0));
    return ids;
  } catch (const SqliteError& e) {
    return unavailable("cannot read the outbox", e);
  }
}

Result<std::vector<OutboxEvent>> SqliteStore::listEvents(const OutboxEventQuery& query) {
  try {
    auto reader = leaseReader();
    auto& statement = reader->prepare(query.partitionKey ? kListEventsOfPartition : kListEvents)
                          .bind(1, query.afterId)
                          .bind(2, static_cast<std::int64_t>(query.limit));
    if (query.partitionKey) statement.bind(3, *query.partitionKey);
    std::vector<OutboxEvent> events;
    while (statement.step()) {
      OutboxEvent event{readOutboxRow(statement), std::nullopt};
      if (!statement.columnIsNull(kOutboxColumnCount)) {
        event.publishedAt =
            Timestamp(std::chrono::milliseconds(statement.columnInt(kOutboxColumnCount)));
      }
      events.push_back(std::move(event));
    }
    return events;
  } catch (const SqliteError& e) {
    return unavailable("cannot read the outbox", e);
  }
}

namespace {

struct LeaseRow {
  std::optional<std::string> holder;  // nullopt: released
  std::int64_t epoch = 0;
  std::int64_t expiresAt = 0;
};

std::optional<LeaseRow> readLease(Connection& db) {
  auto& select = db.prepare(kSelectLease).bind(1, kRelayLeaseName);
  if (!select.step()) return std::nullopt;
  LeaseRow row;
  if (!select.columnIsNull(0)) row.holder = select.columnText(0);
  row.epoch = select.columnInt(1);
  row.expiresAt = select.columnInt(2);
  select.reset();
  return row;
}

/// Whether marks made under `epoch` may be committed (OutboxStore::markPublished).
bool epochIsCurrent(Connection& db, std::int64_t epoch) {
  const auto lease = readLease(db);
  if (!lease) return epoch == kNoLeaseEpoch;
  return lease->holder.has_value() && lease->epoch == epoch;
}

}  // namespace

void SqliteStore::markPublished(std::vector<std::int64_t> ids, Timestamp at, std::int64_t epoch,
                                std::function<void(Status)> done) {
  // The epoch is checked in the transaction that writes the marks: no lease change can come
  // between the check and the marks (the single writer serializes both).
  auto fenced = std::make_shared<std::optional<std::int64_t>>();
  auto apply = [ids = std::move(ids), at, epoch, fenced](Connection& db) {
    if (!epochIsCurrent(db, epoch)) {
      const auto lease = readLease(db);
      *fenced = lease ? lease->epoch : kNoLeaseEpoch;
      return;
    }
    for (auto id : ids) db.prepare(kMarkPublished).bind(1, id).bind(2, millis(at)).run();
  };
  auto report = [done = std::move(done), fenced, epoch](Status status) {
    if (status.ok() && fenced->has_value()) {
      done(Error{ErrorCode::kFenced,
                 "marks of lease epoch " + std::to_string(epoch) +
                     " refused: the relay lease is at epoch " + std::to_string(**fenced) +
                     (**fenced == epoch ? " (released)" : "") + "; nothing was marked"});
      return;
    }
    done(std::move(status));
  };
  // Not durable: a mark lost in a power failure only means a duplicate publish.
  enqueue(Job{Job::Task{std::move(apply), std::move(report), false}});
}

Result<std::optional<LeaseGrant>> SqliteStore::acquireOrRenew(const std::string& holder,
                                                              std::chrono::milliseconds ttl) {
  if (holder.empty()) return invalid("holder", "a lease holder needs a non-empty id");
  if (ttl <= std::chrono::milliseconds::zero()) {
    return invalid("ttl",
                   "a lease must last a positive time, got " + std::to_string(ttl.count()) + " ms");
  }
  std::optional<LeaseGrant> grant;
  const Status status = runOnWriter([&](Connection& db) {
    grant.reset();
    const std::int64_t now = millis(clock_.now());
    const std::int64_t expiresAt = now + ttl.count();
    const auto lease = readLease(db);
    if (!lease) {
      db.prepare(kInsertLease).bind(1, kRelayLeaseName).bind(2, holder).bind(3, expiresAt).run();
      grant = LeaseGrant{1};
      return;
    }
    const bool expired = lease->expiresAt <= now;
    if (lease->holder && !expired && *lease->holder != holder) return;  // another's lease stands
    // Renewal only while it still holds it unexpired; anything else is a new acquisition.
    const bool renewal = lease->holder && !expired;
    const std::int64_t epoch = renewal ? lease->epoch : lease->epoch + 1;
    db.prepare(kUpdateLease)
        .bind(1, kRelayLeaseName)
        .bind(2, holder)
        .bind(3, epoch)
        .bind(4, expiresAt)
        .run();
    grant = LeaseGrant{epoch};
  });
  if (!status) return status.error();
  return grant;
}

Status SqliteStore::release(const std::string& holder, std::int64_t epoch) {
  return runOnWriter([&](Connection& db) {
    db.prepare(kReleaseLease).bind(1, kRelayLeaseName).bind(2, holder).bind(3, epoch).run();
  });
}

Result<OutboxStats> SqliteStore::outboxStats() {
  try {
    auto reader = leaseReader();
    OutboxStats stats;
    auto& pending = reader->prepare(kCountPending);
    pending.step();
    stats.pending = pending.columnInt(0);
    if (!pending.columnIsNull(1)) {
      stats.oldestPendingAt = Timestamp(std::chrono::milliseconds(pending.columnInt(1)));
    }
    pending.reset();
    auto& published = reader->prepare(kCountPublished);
    published.step();
    stats.published = published.columnInt(0);
    published.reset();
    return stats;
  } catch (const SqliteError& e) {
    return unavailable("cannot read outbox statistics", e);
  }
}

Status SqliteStore::runOnWriter(std::function<void(Connection&)> apply) {
  std::promise<Status> finished;
  enqueue(Job{Job::Task{std::move(apply),
                        [&finished](Status s) { finished.set_value(std::move(s)); }, true}});
  return finished.get_future().get();
}

Result<std::int64_t> SqliteStore::deleteInChunks(
    const std::function<std::int64_t(Connection&, std::int64_t)>& deleteChunk) {
  // One chunk per writer transaction, so a large deletion never holds the write lock for long.
  std::int64_t total = 0;
  for (;;) {
    std::int64_t deleted = 0;
    const Status status = runOnWriter(
        [&deleteChunk, &deleted](Connection& db) { deleted = deleteChunk(db, kDeleteChunk); });
    if (!status) return status.error();
    total += deleted;
    if (deleted < kDeleteChunk) return total;
  }
}

Result<std::int64_t> SqliteStore::deleteIdempotencyRecordsBefore(Timestamp cutoff) {
  return deleteInChunks([cutoff](Connection& db, std::int64_t chunk) -> std::int64_t {
    db.prepare(kDeleteIdempotency).bind(1, millis(cutoff)).bind(2, chunk).run();
    return db.changes();
  });
}

Result<std::int64_t> SqliteStore::deletePublishedBefore(Timestamp cutoff) {
  return deleteInChunks([cutoff](Connection& db, std::int64_t chunk) {
    std::vector<std::int64_t> ids;
    auto& publications = db.prepare(kDeletePublications).bind(1, millis(cutoff)).bind(2, chunk);
    while (publications.step()) ids.push_back(publications.columnInt(0));
    for (auto id : ids) db.prepare(kDeleteOutboxRow).bind(1, id).run();
    return static_cast<std::int64_t>(ids.size());
  });
}

void SqliteStore::setOutboxListener(std::function<void()> listener) {
  std::lock_guard lock(listenerMutex_);
  outboxListener_ = std::move(listener);
}

}  // namespace orders
