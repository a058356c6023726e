#include "store/postgres/postgres_store.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <future>
#include <variant>

#include "common/backoff.hpp"
#include "postgres/connection.hpp"
#include "store/order_document.hpp"

namespace orders {
namespace {

using postgres::Connection;
using postgres::FailureKind;
using postgres::Params;
using postgres::PgError;
using postgres::Rows;

/// The NOTIFY channel of commits that added outbox rows (any instance on this database).
constexpr const char* kOutboxChannel = "order_service_outbox";
/// pg_advisory_xact_lock key of the migrations: "ordrsvc1" as a number.
constexpr std::int64_t kMigrationLockKey = 0x6f72647273766331;
/// A job that keeps meeting deadlocks fails after this many attempts.
constexpr int kMaxAttempts = 5;
/// A writer other than the first takes queued writes once the oldest has waited this many times
/// as long as the last batch took (the first writer is overdue: stuck or overloaded), but at
/// least PostgresOptions::minSpillDelay and at most kMaxSpillDelay (unless that floor is
/// higher); and at once when a full batch is waiting.
constexpr int kSpillAfterBatches = 2;
constexpr std::chrono::microseconds kMaxSpillDelay{50000};

// Each entry migrates the schema from version i to i+1. Never edit an applied entry; append.
// Times are epoch milliseconds (bigint), as in the SQLite store: the clock the store is given
// stamps them, and tests drive it. Identifiers compare with the C collation, so the list order
// and the cursor's comparison agree whatever the database's default collation is.
constexpr std::array<const char*, 2> kMigrations{
    R"sql(
CREATE TABLE orders (
  order_id text COLLATE "C" PRIMARY KEY,
  user_id text COLLATE "C" NOT NULL,
  status text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  last_event_sequence bigint NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  document text NOT NULL
);
CREATE INDEX orders_by_user ON orders(user_id, created_at DESC, order_id DESC);
CREATE INDEX orders_by_status ON orders(status, created_at DESC, order_id DESC);
CREATE INDEX orders_by_created ON orders(created_at DESC, order_id DESC);

-- An identity never goes back (also after retention emptied the table), but its values become
-- visible in commit order: the relay's late-row sweep (pendingIds) covers that.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id text NOT NULL,
  message_type text NOT NULL,
  message_version text NOT NULL,
  partition_key text COLLATE "C" NOT NULL,
  sequence bigint NOT NULL,
  correlation_id text,
  source text NOT NULL,
  occurred_at bigint NOT NULL,
  body text NOT NULL CHECK (body <> ''),
  traceparent text,
  tracestate text
);

-- Publication state in a narrow table: the relay's marks rewrite a small row, not the event.
CREATE TABLE outbox_publication (
  id bigint PRIMARY KEY,  -- outbox.id; inserted with the outbox row, deleted with it
  published_at bigint     -- NULL until the broker confirmed the event
);
CREATE INDEX outbox_publication_pending ON outbox_publication(id) WHERE published_at IS NULL;
CREATE INDEX outbox_publication_published ON outbox_publication(published_at)
  WHERE published_at IS NOT NULL;

CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  fingerprint text NOT NULL,
  response text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);

CREATE TABLE inbox (
  consumer text NOT NULL,
  message_id text NOT NULL,
  processed_at bigint NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_by_processed_at ON inbox(processed_at);

-- One WriteSet, in one statement (so a batch of them is one pipelined round trip). The exception
-- block is a subtransaction: a conflict, a duplicate or any failure undoes this write only and
-- is returned as text: 'committed', 'version_conflict', 'duplicate_inbox_message',
-- 'duplicate_idempotency_key', or 'failed <SQLSTATE> <message>'.
CREATE FUNCTION order_service_write(
  p_order_id text, p_user_id text, p_status text, p_version bigint, p_last_event_sequence bigint,
  p_created_at bigint, p_updated_at bigint, p_document text, p_expected_version bigint,
  p_message_ids text[], p_message_types text[], p_message_versions text[],
  p_partition_keys text[], p_sequences bigint[], p_correlation_ids text[], p_sources text[],
  p_occurred_at bigint[], p_bodies text[], p_traceparents text[], p_tracestates text[],
  p_inbox_consumer text, p_inbox_message_id text,
  p_idempotency_key text, p_idempotency_fingerprint text, p_idempotency_response text,
  p_now bigint) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  changed bigint;
  new_id bigint;
BEGIN
  BEGIN
    IF p_order_id IS NOT NULL THEN
      IF p_expected_version = 0 THEN
        INSERT INTO orders (order_id, user_id, status, version, last_event_sequence, created_at,
                            updated_at, document)
        VALUES (p_order_id, p_user_id, p_status, p_version, p_last_event_sequence, p_created_at,
                p_updated_at, p_document)
        ON CONFLICT (order_id) DO NOTHING;
      ELSE
        UPDATE orders SET user_id = p_user_id, status = p_status, version = p_version,
               last_event_sequence = p_last_event_sequence, created_at = p_created_at,
               updated_at = p_updated_at, document = p_document
        WHERE order_id = p_order_id AND version = p_expected_version;
      END IF;
      GET DIAGNOSTICS changed = ROW_COUNT;
      IF changed = 0 THEN
        RETURN 'version_conflict';
      END IF;
      FOR i IN 1 .. coalesce(array_length(p_bodies, 1), 0) LOOP
        INSERT INTO outbox (message_id, message_type, message_version, partition_key, sequence,
                            correlation_id, source, occurred_at, body, traceparent, tracestate)
        VALUES (p_message_ids[i], p_message_types[i], p_message_versions[i], p_partition_keys[i],
                p_sequences[i], p_correlation_ids[i], p_sources[i], p_occurred_at[i],
                p_bodies[i], p_traceparents[i], p_tracestates[i])
        RETURNING id INTO new_id;
        INSERT INTO outbox_publication (id) VALUES (new_id);
      END LOOP;
    END IF;
    IF p_inbox_consumer IS NOT NULL THEN
      INSERT INTO inbox (consumer, message_id, processed_at)
      VALUES (p_inbox_consumer, p_inbox_message_id, p_now) ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS changed = ROW_COUNT;
      IF changed = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'OS001', MESSAGE = 'duplicate_inbox_message';
      END IF;
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
      INSERT INTO idempotency_keys (key, fingerprint, response, created_at)
      VALUES (p_idempotency_key, p_idempotency_fingerprint, p_idempotency_response, p_now)
      ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS changed = ROW_COUNT;
      IF changed = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'OS001', MESSAGE = 'duplicate_idempotency_key';
      END IF;
    END IF;
  EXCEPTION
    WHEN SQLSTATE 'OS001' THEN
      RETURN SQLERRM;
    WHEN OTHERS THEN
      RETURN 'failed ' || SQLSTATE || ' ' || SQLERRM;
  END;
  RETURN 'committed';
END
$fn$;
)sql",
    // The relay lease (outbox/relay_lease.hpp): one row per lease, only 'relay' so far (the name
    // leaves room for one lease per partition). No row: never granted; holder NULL: released.
    // The epoch only grows; expires_at is the database server's time, the one clock every
    // instance shares.
    R"sql(
CREATE TABLE relay_lease (
  name text PRIMARY KEY,
  holder text,
  epoch bigint NOT NULL CHECK (epoch >= 1),
  expires_at timestamptz NOT NULL
);
)sql",
};

const std::string kWrite =
    "SELECT order_service_write($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
    "$15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)";
const std::string kNotify = std::string("SELECT pg_notify('") + kOutboxChannel + "', '')";
// Takes a free, released or expired lease (epoch + 1) or renews the holder's own unexpired one
// (same epoch), in one statement: no row returned means another holder's lease stands.
const std::string kAcquireLease =
    "INSERT INTO relay_lease AS l (name, holder, epoch, expires_at) VALUES ('relay', $1, 1, "
    "clock_timestamp() + $2::bigint * interval '1 millisecond') "
    "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
    "epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > clock_timestamp() "
    "THEN l.epoch ELSE l.epoch + 1 END, expires_at = EXCLUDED.expires_at "
    "WHERE l.holder IS NULL OR l.expires_at <= clock_timestamp() OR l.holder = EXCLUDED.holder "
    "RETURNING epoch";
const std::string kReleaseLease =
    "UPDATE relay_lease SET holder = NULL WHERE name = 'relay' AND holder = $1 AND epoch = $2";
// In the marks' transaction: the lease row stays locked until they commit, so an acquisition
// (which updates it) waits for them.
const std::string kLockLease =
    "SELECT holder IS NOT NULL, epoch FROM relay_lease WHERE name = 'relay' FOR SHARE";
const std::string kMarkPublished =
    "UPDATE outbox_publication SET published_at = $2 WHERE id = ANY($1::bigint[]) AND "
    "published_at IS NULL";
const std::string kSelectOrder =
    "SELECT document, last_event_sequence FROM orders WHERE order_id = $1";
const std::string kSelectIdempotency =
    "SELECT fingerprint, response FROM idempotency_keys WHERE key = $1";
constexpr int kOutboxColumnCount = 12;
const std::string kOutboxColumns =
    "o.id, o.message_id, o.message_type, o.message_version, o.partition_key, o.sequence, "
    "o.correlation_id, o.source, o.occurred_at, o.body, o.traceparent, o.tracestate";
const std::string kSelectPending = "SELECT " + kOutboxColumns +
                                   " FROM outbox_publication p JOIN outbox o ON o.id = p.id "
                                   "WHERE p.published_at IS NULL AND p.id > $1 ORDER BY p.id "
                                   "LIMIT $2";
const std::string kSelectPendingByIds = "SELECT " + kOutboxColumns +
                                        " FROM outbox_publication p JOIN outbox o ON o.id = p.id "
                                        "WHERE p.published_at IS NULL AND p.id = ANY($1::bigint[]) "
                                        "ORDER BY p.id";
const std::string kSelectPendingIds =
    "SELECT id FROM outbox_publication WHERE published_at IS NULL AND id > $1 AND id <= $2 "
    "ORDER BY id LIMIT $3";
// Late-row candidates: every pending id below the lowest held one, and the ids between held ones
// ($2, all at or below the caller's upToId). Two parts, so that each is an index range or a few
// index probes on the pending index instead of a walk over the held ids.
const std::string kSelectPendingIdsNotHeld =
    "(SELECT id FROM outbox_publication WHERE published_at IS NULL AND id < $1 ORDER BY id "
    "LIMIT $3) UNION ALL (SELECT id FROM outbox_publication WHERE published_at IS NULL AND "
    "id = ANY($2::bigint[]) ORDER BY id LIMIT $3) ORDER BY id LIMIT $3";
// Beyond this many ids between held ones (e.g. a late row published long after the rows around
// it), the array would cost more than listing the range: the default search is used instead.
constexpr std::size_t kMaxIdsBetweenHeld = 4096;
const std::string kListEventsFrom = "SELECT " + kOutboxColumns +
                                    ", p.published_at FROM outbox o JOIN outbox_publication p "
                                    "ON p.id = o.id WHERE o.id > $1 ";
const std::string kListEvents = kListEventsFrom + "ORDER BY o.id LIMIT $2";
const std::string kListEventsOfPartition =
    kListEventsFrom + "AND o.partition_key = $3 ORDER BY o.id LIMIT $2";
const std::string kOutboxStats =
    "SELECT (SELECT count(*) FROM outbox_publication WHERE published_at IS NULL), "
    "(SELECT occurred_at FROM outbox WHERE id = (SELECT min(id) FROM outbox_publication WHERE "
    "published_at IS NULL)), "
    "(SELECT count(*) FROM outbox_publication WHERE published_at IS NOT NULL)";
const std::string kDeleteIdempotency =
    "DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE "
    "created_at < $1 LIMIT $2)";
const std::string kDeletePublished =
    "WITH gone AS (DELETE FROM outbox_publication WHERE id IN (SELECT id FROM "
    "outbox_publication WHERE published_at IS NOT NULL AND published_at < $1 LIMIT $2) "
    "RETURNING id) DELETE FROM outbox WHERE id IN (SELECT id FROM gone)";
const std::string kInboxContains = "SELECT 1 FROM inbox WHERE consumer = $1 AND message_id = $2";
const std::string kInboxInsert =
    "INSERT INTO inbox (consumer, message_id, processed_at) VALUES ($1, $2, $3) "
    "ON CONFLICT DO NOTHING";
const std::string kInboxDelete =
    "DELETE FROM inbox WHERE (consumer, message_id) IN (SELECT consumer, message_id FROM inbox "
    "WHERE processed_at < $1 LIMIT $2)";
constexpr std::int64_t kDeleteChunk = 10000;

std::int64_t millis(Timestamp t) {
  return t.time_since_epoch().count();
}

std::optional<std::string> optionalText(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

/// A PostgreSQL array literal of text values ({"a","b\"c",NULL}).
std::string arrayLiteral(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

/// The first column of `rows`, as ids.
std::vector<std::int64_t> firstColumnIds(const Rows& rows) {
  std::vector<std::int64_t> ids;
  ids.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.integer(i, 0));
  return ids;
}

/// A PostgreSQL array literal of ids ({1,2,3}), for `= ANY($1::bigint[])`.
std::string idArrayLiteral(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  out += '}';
  return out;
}

template <class F>
std::string column(const std::vector<EncodedMessage>& events, F field) {
  std::vector<std::optional<std::string>> values;
  values.reserve(events.size());
  for (const auto& event : events) values.push_back(field(event));
  return arrayLiteral(values);
}

Params writeParams(const WriteSet& writes, const std::string& document, Timestamp now) {
  Params params;
  if (writes.order) {
    const auto& w = *writes.order;
    params.add(w.order.id.str())
        .add(w.order.userId.str())
        .add(std::string(toString(w.order.status)))
        .add(w.order.version)
        .add(w.lastEventSequence)
        .add(millis(w.order.createdAt))
        .add(millis(w.order.updatedAt))
        .add(document)
        .add(w.expectedVersion);
    const auto& e = w.events;
    using M = const EncodedMessage&;
    using O = std::optional<std::string>;
    params.add(column(e, [](M m) -> O { return m.messageId; }))
        .add(column(e, [](M m) -> O { return m.messageType; }))
        .add(column(e, [](M m) -> O { return m.messageVersion; }))
        .add(column(e, [](M m) -> O { return m.partitionKey; }))
        .add(column(e, [](M m) -> O { return std::to_string(m.sequence); }))
        .add(column(e, [](M m) -> O { return optionalText(m.correlationId); }))
        .add(column(e, [](M m) -> O { return m.source; }))
        .add(column(e, [](M m) -> O { return std::to_string(millis(m.timestamp)); }))
        .add(column(e, [](M m) -> O { return m.body; }))
        .add(column(e, [](M m) -> O { return optionalText(m.traceparent); }))
        .add(column(e, [](M m) -> O { return optionalText(m.tracestate); }));
  } else {
    for (int i = 0; i < 20; ++i) params.add(std::optional<std::string>());
  }
  if (writes.inboxMessage) {
    params.add(writes.inboxMessage->consumer).add(writes.inboxMessage->messageId);
  } else {
    params.add(std::optional<std::string>()).add(std::optional<std::string>());
  }
  if (writes.idempotency) {
    params.add(writes.idempotency->key)
        .add(writes.idempotency->fingerprint)
        .add(writes.idempotency->response);
  } else {
    for (int i = 0; i < 3; ++i) params.add(std::optional<std::string>());
  }
  params.add(millis(now));
  return params;
}

OutboxMessage readOutboxRow(const Rows& rows, int row) {
  OutboxMessage m;
  m.id = rows.integer(row, 0);
  m.messageId = rows.text(row, 1);
  m.messageType = rows.text(row, 2);
  m.messageVersion = rows.text(row, 3);
  m.partitionKey = rows.text(row, 4);
  m.sequence = rows.integer(row, 5);
  m.correlationId = rows.text(row, 6);
  m.source = rows.text(row, 7);
  m.timestamp = Timestamp(std::chrono::milliseconds(rows.integer(row, 8)));
  m.body = rows.text(row, 9);
  m.traceparent = rows.text(row, 10);  // NULL reads as "": no trace
  m.tracestate = rows.text(row, 11);
  return m;
}

SystemClock& systemClock() {
  static SystemClock clock;
  return clock;
}

void migrate(Connection& db, Timestamp now) {
  db.execScript("BEGIN");
  try {
    // Transaction-scoped: released by COMMIT or ROLLBACK (or the session's end), never stacked.
    db.exec("SELECT pg_advisory_xact_lock($1)", Params().add(kMigrationLockKey));
    db.execScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "applied_at bigint NOT NULL)");
    const auto applied = static_cast<std::size_t>(
        db.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").integer(0, 0));
    if (applied > kMigrations.size()) {
      throw PgError(FailureKind::kOther, "",
                    "database schema version " + std::to_string(applied) +
                        " is newer than this binary knows (" + std::to_string(kMigrations.size()) +
                        ")");
    }
    for (std::size_t version = applied; version < kMigrations.size(); ++version) {
      db.execScript(kMigrations[version]);
      db.exec("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
              Params().add(static_cast<std::int64_t>(version + 1)).add(millis(now)));
    }
    db.execScript("COMMIT");
  } catch (...) {
    if (db.usable()) db.execScript("ROLLBACK");
    throw;
  }
}

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

Error unavailable(const std::string& what, const PgError& e) {
  return Error{ErrorCode::kUnavailable, "database unavailable: " + what + ": " + e.what()};
}

/// Whether a connection that sat idle is still there: reads what the server sent meanwhile (a
/// terminated session's FATAL and EOF) without blocking. Twice: one read takes the FATAL, and
/// only the next one sees the end of the stream behind it.
bool stillConnected(Connection& db) {
  for (int read = 0; read < 2; ++read) {
    if (!db.usable()) return false;
    try {
      db.takeNotifications();
    } catch (const PgError&) {
      return false;
    }
  }
  return db.usable();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Jobs

struct PostgresStore::Job {
  struct Write {
    WriteSet writes;
    std::string document;  // encoded on the caller's thread
    std::function<void(Result<WriteOutcome>)> done;
  };
  struct Task {
    std::function<void(Connection&)> apply;
    std::function<void(Status)> done;
    /// false: losing this change in a crash of the server is acceptable (relay marks), so it
    /// commits with synchronous_commit off and never waits for the WAL flush.
    bool durable = true;
  };
  std::variant<Write, Task> work;
  int attempts = 0;
  /// When it was first queued (kept when a deadlock puts it back): how long it has waited.
  std::chrono::steady_clock::time_point queuedAt{};

  void fail(const Error& error) {
    if (auto* write = std::get_if<Write>(&work)) {
      write->done(error);
    } else {
      std::get<Task>(work).done(error);
    }
  }
};

class PostgresStore::ReaderLease {
 public:
  ReaderLease(PostgresStore& store, std::unique_ptr<Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease() {
    // A broken connection is dropped; the next read connects afresh.
    if (!connection_ || !connection_->usable() || store_.closed_.load()) return;
    std::lock_guard lock(store_.readersMutex_);
    store_.idleReaders_.push_back(std::move(connection_));
  }
  Connection& operator*() { return *connection_; }

 private:
  PostgresStore& store_;
  std::unique_ptr<Connection> connection_;
};

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(
    const postgres::ConnectionSettings& settings, PostgresOptions options, const Clock* clock) {
  const Clock& time = clock != nullptr ? *clock : systemClock();
  try {
    Connection db(settings);
    migrate(db, time.now());
  } catch (const PgError& e) {
    return Error{ErrorCode::kUnavailable, std::string("PostgreSQL store: ") + e.what()};
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(settings, options, time));
}

PostgresStore::PostgresStore(postgres::ConnectionSettings settings, PostgresOptions options,
                             const Clock& clock)
    : settings_(std::move(settings)), options_(options), clock_(clock) {
  wakeListenerFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const std::size_t writers = std::max<std::size_t>(1, options_.writers);
  for (std::size_t i = 0; i < writers; ++i) {
    writerThreads_.emplace_back([this, i] { writerLoop(i == 0); });
  }
  listenerThread_ = std::thread([this] { listenLoop(); });
}

PostgresStore::~PostgresStore() {
  close();
  if (wakeListenerFd_ >= 0) ::close(wakeListenerFd_);
}

void PostgresStore::close() {
  {
    std::lock_guard lock(queueMutex_);
    if (closing_ && writerThreads_.empty()) return;
    closing_ = true;
  }
  queueChanged_.notify_all();
  spillWake_.notify_all();
  closingChanged_.notify_all();
  if (wakeListenerFd_ >= 0) {
    const std::uint64_t one = 1;
    const auto written = ::write(wakeListenerFd_, &one, sizeof one);
    (void)written;  // an eventfd write of 8 bytes cannot fail short; poll() also times out
  }
  for (auto& thread : writerThreads_) {
    if (thread.joinable()) thread.join();
  }
  writerThreads_.clear();
  if (listenerThread_.joinable()) listenerThread_.join();
  closed_ = true;
  std::lock_guard lock(readersMutex_);
  idleReaders_.clear();
}

bool PostgresStore::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(queueMutex_);
  // Real time on purpose: this is reconnection to a server, not something a test's clock drives.
  return !closingChanged_.wait_for(lock, delay, [this] { return closing_; });
}

void PostgresStore::enqueue(Job job) {
  {
    std::unique_lock lock(queueMutex_);
    if (!closing_) {
      job.queuedAt = std::chrono::steady_clock::now();
      queue_.push_back(std::move(job));
      // A new oldest write: a spill writer times it (see takeBatch); a full batch: one takes it.
      const bool wakeSpill = queue_.size() == 1 || queue_.size() >= options_.maxBatch;
      lock.unlock();
      queueChanged_.notify_one();
      if (wakeSpill) spillWake_.notify_one();
      return;
    }
  }
  job.fail(Error{ErrorCode::kUnavailable, "the store is closed"});
}

void PostgresStore::requeue(std::vector<Job>& jobs) {
  if (jobs.empty()) return;
  {
    std::lock_guard lock(queueMutex_);
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) queue_.push_front(std::move(*it));
  }
  jobs.clear();
  queueChanged_.notify_one();
  spillWake_.notify_one();  // they have waited already: any writer may take them
}

std::chrono::microseconds PostgresStore::spillDelay() const {
  const std::chrono::microseconds least = options_.minSpillDelay;
  return std::clamp(std::chrono::microseconds(lastBatchMicros_.load() * kSpillAfterBatches), least,
                    std::max(least, kMaxSpillDelay));
}

bool PostgresStore::takeBatch(bool first, std::vector<Job>& batch) {
  std::unique_lock lock(queueMutex_);
  if (first) {
    queueChanged_.wait(lock, [this] { return closing_ || !queue_.empty(); });
  } else {
    // Real time on purpose, as in pause(): this paces connections to a server.
    for (;;) {
      if (queue_.empty()) {
        if (closing_) break;
        spillWake_.wait(lock);
        continue;
      }
      const auto due = queue_.front().queuedAt + spillDelay();
      if (closing_ || queue_.size() >= options_.maxBatch ||
          std::chrono::steady_clock::now() >= due) {
        break;
      }
      spillWake_.wait_until(lock, due);
    }
  }
  if (queue_.empty()) return false;  // closing and drained
  while (!queue_.empty() && batch.size() < options_.maxBatch) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  // More than a batch was waiting: another spill writer times what is left.
  if (!first && !queue_.empty()) spillWake_.notify_one();
  return true;
}

void PostgresStore::writerLoop(bool first) {
  std::unique_ptr<Connection> db;
  int pid = 0;  // db's server process
  Backoff backoff(options_.reconnectInitial, options_.reconnectMax);
  std::vector<Job> batch;
  while (takeBatch(first, batch)) {
    const auto batchStarted = std::chrono::steady_clock::now();
    if (db && !stillConnected(*db)) db.reset();
    if (!db) {
      try {
        db = std::make_unique<Connection>(settings_);
        // A task's transaction takes several round trips (the marks lock the lease row FOR
        // SHARE first): if this process hangs inside one, the server ends it instead of letting
        // it block every other instance's lease acquisition until the process resumes.
        db->execScript("SET idle_in_transaction_session_timeout = '5s'");
        setWriterPid(pid, db->backendPid());
        pid = db->backendPid();
        available_ = true;
        backoff.reset();
      } catch (const PgError& e) {
        available_ = false;
        const Error error = unavailable("cannot connect", e);
        for (auto& job : batch) job.fail(error);
        batch.clear();
        pause(backoff.next());
        continue;
      }
    }
    std::vector<Job> writes;
    for (auto& job : batch) {
      if (std::holds_alternative<Job::Task>(job.work)) {
        runTask(*db, job);
      } else {
        writes.push_back(std::move(job));
      }
    }
    batch.clear();
    if (!writes.empty()) commitWrites(*db, writes);
    lastBatchMicros_ = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - batchStarted)
                           .count();
    if (!db->usable()) {
      db.reset();
      available_ = false;
    }
  }
}

void PostgresStore::runTask(Connection& db, Job& job) {
  auto& task = std::get<Job::Task>(job.work);
  for (;;) {
    try {
      db.execScript(task.durable ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit TO off");
      task.apply(db);
      db.execScript("COMMIT");
      task.done(okStatus());
      return;
    } catch (const PgError& e) {
      if (db.usable()) {
        try {
          db.execScript("ROLLBACK");
        } catch (const PgError&) {
          // The connection broke meanwhile; the writer reconnects.
        }
      }
      if (e.kind() == FailureKind::kRetry && ++job.attempts < kMaxAttempts && db.usable()) {
        continue;  // a deadlock with a concurrent batch: run it again
      }
      task.done(unavailable("the change failed", e));
      return;
    }
  }
}

void PostgresStore::commitWrites(Connection& db, std::vector<Job>& writes) {
  const Timestamp now = clock_.now();
  const SteadyTime started = clock_.steadyNow();
  std::vector<postgres::Statement> statements;
  statements.reserve(writes.size() + 3);
  statements.push_back({"BEGIN", {}});
  bool hasEvents = false;
  for (auto& job : writes) {
    auto& write = std::get<Job::Write>(job.work);
    hasEvents = hasEvents || (write.writes.order && !write.writes.order->events.empty());
    statements.push_back({kWrite, writeParams(write.writes, write.document, now)});
  }
  // Wakes the relays of other instances (LISTEN); delivered only if this transaction commits.
  if (hasEvents) statements.push_back({kNotify, {}});
  statements.push_back({"COMMIT", {}});

  std::vector<postgres::PipelineOutcome> outcomes;
  try {
    outcomes = db.pipeline(statements);
  } catch (const PgError& e) {
    // Everything was sent, COMMIT included: whether the server committed is unknown.
    if (StoreObserver* observer = options_.observer)
      observer->batchCommitted(writes.size(), clock_.steadyNow() - started, false);
    const Error error{
        ErrorCode::kInDoubt,
        std::string("connection lost during COMMIT, the outcome is unknown: ") + e.what()};
    for (auto& job : writes) job.fail(error);
    return;
  }
  const auto& commit = outcomes.back();
  if (!commit.rows) {
    // A statement failed outside the writes' own exception blocks (or COMMIT itself did): the
    // server rolled the whole transaction back.
    const PgError* cause = nullptr;
    for (const auto& outcome : outcomes) {
      if (outcome.error) {
        cause = &*outcome.error;
        break;
      }
    }
    if (StoreObserver* observer = options_.observer)
      observer->batchCommitted(writes.size(), clock_.steadyNow() - started, false);
    if (cause != nullptr && cause->kind() == FailureKind::kRetry) {
      std::vector<Job> again;
      for (auto& job : writes) {
        if (++job.attempts < kMaxAttempts) {
          again.push_back(std::move(job));
        } else {
          job.fail(unavailable("the batch kept failing", *cause));
        }
      }
      requeue(again);
      return;
    }
    const Error error =
        cause != nullptr ? unavailable("the batch failed", *cause)
                         : Error{ErrorCode::kUnavailable, "database unavailable: the batch failed"};
    for (auto& job : writes) job.fail(error);
    return;
  }

  std::vector<Result<WriteOutcome>> results;
  results.reserve(writes.size());
  std::vector<bool> retried(writes.size(), false);
  bool addedOutboxRows = false;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    auto& write = std::get<Job::Write>(writes[i].work);
    const std::string answer = outcomes[i + 1].rows->text(0, 0);
    if (answer == "committed") {
      results.emplace_back(WriteOutcome::kCommitted);
      if (write.writes.order && !write.writes.order->events.empty()) addedOutboxRows = true;
    } else if (answer == "version_conflict") {
      results.emplace_back(WriteOutcome::kVersionConflict);
    } else if (answer == "duplicate_inbox_message") {
      results.emplace_back(WriteOutcome::kDuplicateInboxMessage);
    } else if (answer == "duplicate_idempotency_key") {
      results.emplace_back(WriteOutcome::kDuplicateIdempotencyKey);
    } else {
      // "failed <SQLSTATE> <message>": this write alone was rolled back.
      const std::string sqlstate = answer.size() > 12 ? answer.substr(7, 5) : "";
      if (postgres::classifySqlState(sqlstate) == FailureKind::kRetry &&
          writes[i].attempts + 1 < kMaxAttempts) {
        // A deadlock with another batch: this write runs again in a later batch.
        results.emplace_back(Error{ErrorCode::kUnavailable, "retried"});
        retried[i] = true;
        continue;
      }
      results.emplace_back(
          Error{ErrorCode::kUnavailable,
                "write failed: " + answer.substr(std::min<std::size_t>(7, answer.size()))});
    }
  }
  if (StoreObserver* observer = options_.observer) {
    observer->batchCommitted(writes.size(), clock_.steadyNow() - started, true);
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (retried[i] || !results[i].ok() || *results[i] != WriteOutcome::kCommitted) continue;
      const auto& write = std::get<Job::Write>(writes[i].work);
      if (!write.writes.order) continue;
      for (const auto& event : write.writes.order->events)
        observer->eventWritten(event.messageType);
    }
  }
  // The relay is woken before the requests complete, as in the SQLite store.
  if (addedOutboxRows) notifyListener();
  std::vector<Job> again;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (retried[i]) {
      ++writes[i].attempts;
      again.push_back(std::move(writes[i]));
      continue;
    }
    std::get<Job::Write>(writes[i].work).done(std::move(results[i]));
  }
  requeue(again);
}

void PostgresStore::setWriterPid(int previous, int current) {
  std::lock_guard lock(writerPidsMutex_);
  std::erase(writerPids_, previous);
  writerPids_.push_back(current);
}

std::size_t PostgresStore::writerConnectionsOpened() {
  std::lock_guard lock(writerPidsMutex_);
  return writerPids_.size();
}

bool PostgresStore::isOwnWriter(int pid) {
  std::lock_guard lock(writerPidsMutex_);
  return std::find(writerPids_.begin(), writerPids_.end(), pid) != writerPids_.end();
}

void PostgresStore::notifyListener() {
  std::lock_guard lock(listenerMutex_);
  if (outboxListener_) outboxListener_();
}

void PostgresStore::listenLoop() {
  std::unique_ptr<Connection> db;
  Backoff backoff(options_.reconnectInitial, options_.reconnectMax);
  bool everConnected = false;
  for (;;) {
    {
      std::lock_guard lock(queueMutex_);
      if (closing_) return;
    }
    if (!db) {
      try {
        db = std::make_unique<Connection>(settings_);
        db->execScript(std::string("LISTEN ") + kOutboxChannel);
        backoff.reset();
        available_ = true;
      } catch (const PgError&) {
        db.reset();
        available_ = false;
        pause(backoff.next());
        continue;
      }
      // Commits of other instances while we were not listening: look once. (Not at the first
      // connection: a relay reads the outbox when it starts.)
      if (everConnected) notifyListener();
      everConnected = true;
    }
    pollfd fds[2] = {{db->socket(), POLLIN, 0}, {wakeListenerFd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, 1000);
    if (ready <= 0) continue;
    if ((fds[1].revents & POLLIN) != 0) return;  // close()
    try {
      const auto notifications = db->takeNotifications();
      const bool fromOthers = std::any_of(
          notifications.begin(), notifications.end(),
          [this](const Connection::Notification& n) { return !isOwnWriter(n.senderPid); });
      if (fromOthers) notifyListener();
    } catch (const PgError&) {
      db.reset();
      available_ = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reads

PostgresStore::ReaderLease PostgresStore::leaseReader() {
  {
    std::lock_guard lock(readersMutex_);
    if (!idleReaders_.empty()) {
      auto connection = std::move(idleReaders_.back());
      idleReaders_.pop_back();
      return ReaderLease(*this, std::move(connection));
    }
  }
  return ReaderLease(*this, std::make_unique<Connection>(settings_));  // throws PgError
}

template <class T>
Result<T> PostgresStore::read(const char* what, const std::function<T(Connection&)>& query) {
  if (closed_.load()) return Error{ErrorCode::kUnavailable, "the store is closed"};
  // One retry on a fresh connection: an idle pooled one may have been dropped by the server.
  for (int attempt = 0;; ++attempt) {
    try {
      auto reader = leaseReader();
      T value = query(*reader);
      return value;
    } catch (const PgError& e) {
      if (e.kind() == FailureKind::kConnectionLost) {
        if (attempt == 0) continue;
        available_ = false;
      }
      return unavailable(what, e);
    }
  }
}

void PostgresStore::write(WriteSet writes, std::function<void(Result<WriteOutcome>)> done) {
  std::string document = writes.order ? encodeOrderDocument(writes.order->order) : std::string();
  enqueue(Job{Job::Write{std::move(writes), std::move(document), std::move(done)}});
}

Result<std::optional<StoredOrder>> PostgresStore::findOrder(const OrderId& id) {
  auto row = read<std::optional<std::pair<std::string, std::int64_t>>>(
      "cannot read order",
      [&](Connection& db) -> std::optional<std::pair<std::string, std::int64_t>> {
        const Rows rows = db.exec(kSelectOrder, Params().add(id.str()));
        if (rows.size() == 0) return std::nullopt;
        return std::make_pair(rows.text(0, 0), rows.integer(0, 1));
      });
  if (!row) return row.error();
  if (!*row) return std::optional<StoredOrder>();
  auto order = decodeOrderDocument((*row)->first);
  if (!order) return order.error();
  return std::optional<StoredOrder>(StoredOrder{std::move(order).value(), (*row)->second});
}

Result<OrderPage> PostgresStore::listOrders(const OrderQuery& query) {
  std::int64_t cursorCreatedAt = 0;
  std::string cursorOrderId;
  const bool hasCursor = !query.cursor.empty();
  if (hasCursor && !decodeCursor(query.cursor, cursorCreatedAt, cursorOrderId)) {
    return invalid("cursor", "is not a cursor this service returned");
  }
  Params params;
  std::string sql = "SELECT document FROM orders WHERE true";
  auto next = [&params] { return "$" + std::to_string(params.values().size()); };
  if (query.userId) {
    params.add(*query.userId);
    sql += " AND user_id = " + next();
  }
  if (query.status) {
    params.add(std::string(toString(*query.status)));
    sql += " AND status = " + next();
  }
  if (hasCursor) {
    params.add(cursorCreatedAt);
    const std::string created = next();
    params.add(cursorOrderId);
    sql += " AND (created_at < " + created + " OR (created_at = " + created + " AND order_id < " +
           next() + "))";
  }
  params.add(static_cast<std::int64_t>(query.limit + 1));
  sql += " ORDER BY created_at DESC, order_id DESC LIMIT " + next();
  auto documents = read<std::vector<std::string>>("cannot list orders", [&](Connection& db) {
    const Rows rows = db.exec(sql, params);
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) out.push_back(rows.text(i, 0));
    return out;
  });
  if (!documents) return documents.error();
  OrderPage page;
  for (const auto& document : *documents) {
    auto order = decodeOrderDocument(document);
    if (!order) return order.error();
    page.orders.push_back(std::move(order).value());
  }
  if (page.orders.size() > query.limit) {
    page.orders.pop_back();
    page.nextCursor = encodeCursor(page.orders.back());
  }
  return page;
}

Result<std::optional<IdempotencyRecord>> PostgresStore::findIdempotencyRecord(
    const std::string& key) {
  return read<std::optional<IdempotencyRecord>>(
      "cannot read idempotency record", [&](Connection& db) -> std::optional<IdempotencyRecord> {
        const Rows rows = db.exec(kSelectIdempotency, Params().add(key));
        if (rows.size() == 0) return std::nullopt;
        return IdempotencyRecord{key, rows.text(0, 0), rows.text(0, 1)};
      });
}

// ---------------------------------------------------------------------------------------------
// Inbox

Result<bool> PostgresStore::contains(const InboxKey& key) {
  return read<bool>("cannot read inbox", [&](Connection& db) {
    return db.exec(kInboxContains, Params().add(key.consumer).add(key.messageId)).size() > 0;
  });
}

Result<bool> PostgresStore::record(const InboxKey& key) {
  auto inserted = std::make_shared<bool>(false);
  const Timestamp now = clock_.now();
  const Status status = runOnWriter([key, inserted, now](Connection& db) {
    *inserted =
        db.exec(kInboxInsert, Params().add(key.consumer).add(key.messageId).add(millis(now)))
            .affected() == 1;
  });
  if (!status) return status.error();
  return *inserted;
}

Result<std::int64_t> PostgresStore::deleteRecordedBefore(Timestamp cutoff) {
  std::int64_t total = 0;
  for (;;) {
    std::int64_t deleted = 0;
    const Status status = runOnWriter([&](Connection& db) {
      deleted = db.exec(kInboxDelete, Params().add(millis(cutoff)).add(kDeleteChunk)).affected();
    });
    if (!status) return status.error();
    total += deleted;
    if (deleted < kDeleteChunk) return total;
  }
}

// ---------------------------------------------------------------------------------------------
// OutboxStore

Result<std::vector<OutboxMessage>> PostgresStore::fetchUnpublished(std::int64_t afterId,
                                                                   std::size_t limit) {
  return read<std::vector<OutboxMessage>>("cannot read the outbox", [&](Connection& db) {
    const Rows rows =
        db.exec(kSelectPending, Params().add(afterId).add(static_cast<std::int64_t>(limit)));
    std::vector<OutboxMessage> messages;
    messages.reserve(static_cast<std::size_t>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) messages.push_back(readOutboxRow(rows, i));
    return messages;
  });
}

Result<std::vector<OutboxMessage>> PostgresStore::fetchUnpublishedIds(
    const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return std::vector<OutboxMessage>{};
  const std::string array = idArrayLiteral(ids);
  return read<std::vector<OutboxMessage>>("cannot read the outbox", [&](Connection& db) {
    const Rows rows = db.exec(kSelectPendingByIds, Params().add(array));
    std::vector<OutboxMessage> messages;
    messages.reserve(static_cast<std::size_t>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) messages.push_back(readOutboxRow(rows, i));
    return messages;
  });
}

Result<std::vector<std::int64_t>> PostgresStore::pendingIds(std::int64_t afterId,
                                                            std::int64_t upToId,
                                                            std::size_t limit) {
  return read<std::vector<std::int64_t>>("cannot read the outbox", [&](Connection& db) {
    return firstColumnIds(db.exec(kSelectPendingIds, Params().add(afterId).add(upToId).add(
                                                         static_cast<std::int64_t>(limit))));
  });
}

Result<std::vector<std::int64_t>> PostgresStore::pendingIdsNotHeld(
    std::int64_t upToId, const std::vector<std::int64_t>& held, std::size_t limit) {
  // The held ids are the relay's window and marks in flight: nearly one run of consecutive ids,
  // with few ids between them (rows of transactions still open when they were fetched, ids
  // rolled back, rows marked out of order).
  if (held.empty() || held.front() > upToId) return pendingIds(0, upToId, limit);
  std::vector<std::int64_t> between;
  auto next = held.begin();
  for (std::int64_t id = held.front(); id <= upToId; ++id) {
    while (next != held.end() && *next < id) ++next;
    if (next != held.end() && *next == id) continue;
    if (between.size() == kMaxIdsBetweenHeld) {
      return OutboxStore::pendingIdsNotHeld(upToId, held, limit);
    }
    between.push_back(id);
  }
  const std::string array = idArrayLiteral(between);
  return read<std::vector<std::int64_t>>("cannot read the outbox", [&](Connection& db) {
    return firstColumnIds(
        db.exec(kSelectPendingIdsNotHeld,
                Params().add(held.front()).add(array).add(static_cast<std::int64_t>(limit))));
  });
}

Result<std::vector<OutboxEvent>> PostgresStore::listEvents(const OutboxEventQuery& query) {
  return read<std::vector<OutboxEvent>>("cannot read the outbox", [&](Connection& db) {
    Params params;
    params.add(query.afterId).add(static_cast<std::int64_t>(query.limit));
    if (query.partitionKey) params.add(*query.partitionKey);
    const Rows rows = db.exec(query.partitionKey ? kListEventsOfPartition : kListEvents, params);
    std::vector<OutboxEvent> events;
    for (int i = 0; i < rows.size(); ++i) {
      OutboxEvent event{readOutboxRow(rows, i), std::nullopt};
      if (!rows.isNull(i, kOutboxColumnCount)) {
        event.publishedAt =
            Timestamp(std::chrono::milliseconds(rows.integer(i, kOutboxColumnCount)));
      }
      events.push_back(std::move(event));
    }
    return events;
  });
}

void PostgresStore::markPublished(std::vector<std::int64_t> ids, Timestamp at, std::int64_t epoch,
                                  std::function<void(Status)> done) {
  // The lease epoch that refused the marks, if one did.
  auto fenced = std::make_shared<std::optional<std::int64_t>>();
  auto apply = [array = idArrayLiteral(ids), at, epoch, fenced](Connection& db) {
    fenced->reset();
    const Rows lease = db.exec(kLockLease);
    const bool current = lease.size() == 0
                             ? epoch == kNoLeaseEpoch
                             : lease.text(0, 0) == "t" && lease.integer(0, 1) == epoch;
    if (!current) {
      *fenced = lease.size() == 0 ? kNoLeaseEpoch : lease.integer(0, 1);
      return;
    }
    db.exec(kMarkPublished, Params().add(array).add(millis(at)));
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
  // Not durable: a mark lost in a crash of the server only means a duplicate publish.
  enqueue(Job{Job::Task{std::move(apply), std::move(report), false}});
}

Result<std::optional<LeaseGrant>> PostgresStore::acquireOrRenew(const std::string& holder,
                                                                std::chrono::milliseconds ttl) {
  if (holder.empty()) return invalid("holder", "a lease holder needs a non-empty id");
  if (ttl <= std::chrono::milliseconds::zero()) {
    return invalid("ttl",
                   "a lease must last a positive time, got " + std::to_string(ttl.count()) + " ms");
  }
  return read<std::optional<LeaseGrant>>(
      "cannot acquire the relay lease", [&](Connection& db) -> std::optional<LeaseGrant> {
        const Rows rows = db.exec(kAcquireLease,
                                  Params().add(holder).add(static_cast<std::int64_t>(ttl.count())));
        if (rows.size() == 0) return std::nullopt;
        return LeaseGrant{rows.integer(0, 0)};
      });
}

Status PostgresStore::release(const std::string& holder, std::int64_t epoch) {
  auto released = read<bool>("cannot release the relay lease", [&](Connection& db) {
    db.exec(kReleaseLease, Params().add(holder).add(epoch));
    return true;
  });
  if (!released) return released.error();
  return okStatus();
}

Result<OutboxStats> PostgresStore::outboxStats() {
  return read<OutboxStats>("cannot read outbox statistics", [&](Connection& db) {
    const Rows rows = db.exec(kOutboxStats);
    OutboxStats stats;
    stats.pending = rows.integer(0, 0);
    if (!rows.isNull(0, 1)) {
      stats.oldestPendingAt = Timestamp(std::chrono::milliseconds(rows.integer(0, 1)));
    }
    stats.published = rows.integer(0, 2);
    return stats;
  });
}

Status PostgresStore::runOnWriter(std::function<void(Connection&)> apply) {
  std::promise<Status> finished;
  enqueue(Job{Job::Task{std::move(apply),
                        [&finished](Status s) { finished.set_value(std::move(s)); }, true}});
  return finished.get_future().get();
}

Result<std::int64_t> PostgresStore::deleteIdempotencyRecordsBefore(Timestamp cutoff) {
  std::int64_t total = 0;
  for (;;) {
    std::int64_t deleted = 0;
    const Status status = runOnWriter([&](Connection& db) {
      deleted =
          db.exec(kDeleteIdempotency, Params().add(millis(cutoff)).add(kDeleteChunk)).affected();
    });
    if (!status) return status.error();
    total += deleted;
    if (deleted < kDeleteChunk) return total;
  }
}

Result<std::int64_t> PostgresStore::deletePublishedBefore(Timestamp cutoff) {
  std::int64_t total = 0;
  for (;;) {
    std::int64_t deleted = 0;
    const Status status = runOnWriter([&](Connection& db) {
      deleted =
          db.exec(kDeletePublished, Params().add(millis(cutoff)).add(kDeleteChunk)).affected();
    });
    if (!status) return status.error();
    total += deleted;
    if (deleted < kDeleteChunk) return total;
  }
}

void PostgresStore::setOutboxListener(std::function<void()> listener) {
  std::lock_guard lock(listenerMutex_);
  outboxListener_ = std::move(listener);
}

}  // namespace orders
