#include "consumer/sqlite/sqlite_inbox.hpp"

#include "consumer/sqlite/sqlite_inbox_table.hpp"
#include "sqlite/connection.hpp"

namespace orders {
namespace {

using sqlite::Connection;
using sqlite::SqliteError;

constexpr std::int64_t kDeleteChunk = 10000;

/// An earlier version kept the keys in `consumer_inbox`, processed_at as ISO 8601 text: move
/// them into `inbox` (milliseconds), once.
void moveLegacyTable(Connection& db) {
  auto& legacy =
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'consumer_inbox'");
  const bool exists = legacy.step();
  legacy.reset();
  if (!exists) return;
  sqlite::Transaction tx(db);
  db.exec(
      "INSERT OR IGNORE INTO inbox (consumer, message_id, processed_at) "
      "SELECT consumer, message_id, "
      "CAST(ROUND((julianday(processed_at) - 2440587.5) * 86400000.0) AS INTEGER) "
      "FROM consumer_inbox");
  db.exec("DROP TABLE consumer_inbox");
  tx.commit();
}

Result<std::vector<SqlRow>> run(Connection& db, std::string_view sql,
                                const std::vector<SqlValue>& params) {
  try {
    auto statement = db.prepareOnce(sql);
    statement->bindAll(params);
    std::vector<SqlRow> rows;
    while (statement->step()) rows.push_back(statement->row());
    return rows;
  } catch (const SqliteError& e) {
    return sqlite::toError(e, "\"" + std::string(sql) + "\"");
  }
}

}  // namespace

Status SqliteInboxTransaction::execute(std::string_view sql, const std::vector<SqlValue>& params) {
  auto rows = run(db_, sql, params);
  if (!rows) return rows.error();
  return okStatus();
}

Result<std::vector<SqlRow>> SqliteInboxTransaction::query(std::string_view sql,
                                                          const std::vector<SqlValue>& params) {
  return run(db_, sql, params);
}

Result<std::unique_ptr<SqliteInbox>> SqliteInbox::open(const std::string& path,
                                                       const Clock* clock) {
  try {
    auto db = std::make_unique<Connection>(path);
    db->exec(sqlite::kCreateInboxTable);
    moveLegacyTable(*db);
    return std::unique_ptr<SqliteInbox>(new SqliteInbox(std::move(db), clock));
  } catch (const SqliteError& e) {
    return Error{ErrorCode::kUnavailable, "inbox database " + path + ": " + e.what()};
  }
}

SqliteInbox::SqliteInbox(std::unique_ptr<Connection> db, const Clock* clock)
    : db_(std::move(db)), clock_(clock != nullptr ? *clock : systemClock_) {}

SqliteInbox::~SqliteInbox() = default;

Result<bool> SqliteInbox::contains(const InboxKey& key) {
  std::lock_guard lock(mutex_);
  try {
    return sqlite::inboxContains(*db_, key);
  } catch (const SqliteError& e) {
    return sqlite::toError(e, "cannot read the inbox");
  }
}

Result<bool> SqliteInbox::record(const InboxKey& key) {
  std::lock_guard lock(mutex_);
  try {
    sqlite::Transaction tx(*db_);
    const bool inserted = sqlite::inboxInsert(*db_, key, clock_.now());
    try {
      tx.commit();
    } catch (const SqliteError& e) {
      return sqlite::commitError(e, "cannot record in the inbox");
    }
    return inserted;
  } catch (const SqliteError& e) {
    return sqlite::toError(e, "cannot record in the inbox");
  }
}

Result<std::int64_t> SqliteInbox::deleteRecordedBefore(Timestamp cutoff) {
  // In chunks, each its own transaction, so the write lock is never held for long.
  std::int64_t total = 0;
  for (;;) {
    std::lock_guard lock(mutex_);
    try {
      sqlite::Transaction tx(*db_);
      const std::int64_t deleted = sqlite::inboxDeleteBefore(*db_, cutoff, kDeleteChunk);
      tx.commit();
      total += deleted;
      if (deleted < kDeleteChunk) return total;
    } catch (const SqliteError& e) {
      return sqlite::toError(e, "cannot delete old inbox records");
    }
  }
}

HandlerResult SqliteInbox::transact(const InboxKey& key,
                                    const std::function<Status(Transaction&)>& effect) {
  std::lock_guard lock(mutex_);
  try {
    // IMMEDIATE: the write lock is taken now, so the inbox check and the effect see one state.
    sqlite::Transaction tx(*db_);
    if (!sqlite::inboxInsert(*db_, key, clock_.now())) return Handled::kDuplicate;
    Transaction handle(*db_);
    // An error or an exception leaves `tx` uncommitted: its destructor rolls both back.
    if (Status done = effect(handle); !done) return done.error();
    try {
      tx.commit();
    } catch (const SqliteError& e) {
      return sqlite::commitError(e, "inbox transaction");
    }
    return Handled::kApplied;
  } catch (const SqliteError& e) {
    return sqlite::toError(e, "inbox transaction");
  }
}

Status SqliteInbox::execute(std::string_view sql, const std::vector<SqlValue>& params) {
  std::lock_guard lock(mutex_);
  auto rows = run(*db_, sql, params);
  if (!rows) return rows.error();
  return okStatus();
}

Result<std::vector<SqlRow>> SqliteInbox::query(std::string_view sql,
                                               const std::vector<SqlValue>& params) {
  std::lock_guard lock(mutex_);
  return run(*db_, sql, params);
}

}  // namespace orders
