#pragma once
// The inbox table, the one shape every SQLite database with an inbox keeps: SqliteInbox's own
// database and the Order Service's (SqliteStore). Statements on a sqlite::Connection that the
// caller runs inside its own transaction; they throw sqlite::SqliteError.

#include <cstdint>

#include "common/clock.hpp"
#include "consumer/inbox.hpp"

namespace orders::sqlite {

class Connection;

/// Creates the table and its retention index if missing. processed_at is milliseconds since the
/// epoch (the recording store's clock).
inline constexpr const char* kCreateInboxTable = R"sql(
CREATE TABLE IF NOT EXISTS inbox (
  consumer TEXT NOT NULL,
  message_id TEXT NOT NULL,
  processed_at INTEGER NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX IF NOT EXISTS inbox_by_processed_at ON inbox(processed_at);
)sql";

bool inboxContains(Connection& db, const InboxKey& key);
/// Inserts `key`; false when it is already there (nothing changes then).
bool inboxInsert(Connection& db, const InboxKey& key, Timestamp processedAt);
/// Deletes up to `limit` keys recorded before `cutoff`; returns how many.
std::int64_t inboxDeleteBefore(Connection& db, Timestamp cutoff, std::int64_t limit);

}  // namespace orders::sqlite
