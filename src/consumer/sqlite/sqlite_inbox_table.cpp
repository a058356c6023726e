#include "consumer/sqlite/sqlite_inbox_table.hpp"

#include <string>

#include "sqlite/connection.hpp"

namespace orders::sqlite {
namespace {

const std::string kContains = "SELECT 1 FROM inbox WHERE consumer = ?1 AND message_id = ?2";
const std::string kInsert =
    "INSERT OR IGNORE INTO inbox (consumer, message_id, processed_at) VALUES (?1, ?2, ?3)";
const std::string kDeleteBefore =
    "DELETE FROM inbox WHERE rowid IN (SELECT rowid FROM inbox WHERE processed_at < ?1 LIMIT ?2)";

}  // namespace

bool inboxContains(Connection& db, const InboxKey& key) {
  auto& statement = db.prepare(kContains).bind(1, key.consumer).bind(2, key.messageId);
  const bool found = statement.step();
  statement.reset();
  return found;
}

bool inboxInsert(Connection& db, const InboxKey& key, Timestamp processedAt) {
  db.prepare(kInsert)
      .bind(1, key.consumer)
      .bind(2, key.messageId)
      .bind(3, processedAt.time_since_epoch().count())
      .run();
  return db.changes() > 0;
}

std::int64_t inboxDeleteBefore(Connection& db, Timestamp cutoff, std::int64_t limit) {
  db.prepare(kDeleteBefore).bind(1, cutoff.time_since_epoch().count()).bind(2, limit).run();
  return db.changes();
}

}  // namespace orders::sqlite
