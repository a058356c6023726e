#pragma once
// An Inbox in an SQLite file, and a way for a handler to make its own effect and the inbox record
// one transaction (exactly-once effects, Deduplication::kHandler). Target order_consumer_sqlite:
// the consumer runtime itself (order_consumer) links no SQLite.
//
//   auto inbox = SqliteInbox::open("notification.db").value();
//   inbox->execute("CREATE TABLE IF NOT EXISTS sent (message_id TEXT, order_id TEXT)");
//   consumer.on("OrderShippedEvent", 1, [&](const InboundMessage& m) -> HandlerResult {
//     return inbox->transact(m.inboxKey(), [&](SqliteInbox::Transaction& tx) {
//       return tx.execute("INSERT INTO sent VALUES (?, ?)", {m.messageId, orderId});
//     });
//   }, Deduplication::kHandler);
//
// transact() begins a transaction, inserts the inbox row (a duplicate ends it right there:
// Handled::kDuplicate, nothing runs), runs the work, and commits both or neither (see
// TransactionalInbox for every outcome).
//
// One connection in WAL mode with synchronous=FULL (a commit survives power loss), used by one
// thread at a time (a mutex serialises callers). The keys live in the table `inbox`
// (consumer/sqlite_inbox_table.hpp, the same shape as the Order Service's); a `consumer_inbox`
// table of an earlier version is moved into it at open. Keep the database to this inbox and the
// consumer's own tables: the Order Service's database belongs to SqliteStore.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "consumer/inbox.hpp"
#include "sqlite/sql_value.hpp"

namespace orders {

namespace sqlite {
class Connection;
}

/// Statements inside SqliteInbox::transact(). Errors are kUnavailable with SQLite's message (a
/// constraint violation is kConflict), and make transact() roll back.
class SqliteInboxTransaction {
 public:
  Status execute(std::string_view sql, const std::vector<SqlValue>& params = {});
  Result<std::vector<SqlRow>> query(std::string_view sql, const std::vector<SqlValue>& params = {});

 private:
  friend class SqliteInbox;
  explicit SqliteInboxTransaction(sqlite::Connection& db) : db_(db) {}
  sqlite::Connection& db_;
};

class SqliteInbox final : public TransactionalInbox<SqliteInboxTransaction> {
 public:
  using Transaction = SqliteInboxTransaction;

  /// Opens or creates the database at `path` and the inbox table. kUnavailable naming the file
  /// otherwise. `clock` (the system clock when null) stamps the records and must outlive the
  /// inbox.
  static Result<std::unique_ptr<SqliteInbox>> open(const std::string& path,
                                                   const Clock* clock = nullptr);
  ~SqliteInbox() override;

  Result<bool> contains(const InboxKey& key) override;
  Result<bool> record(const InboxKey& key) override;
  Result<std::int64_t> deleteRecordedBefore(Timestamp cutoff) override;
  HandlerResult transact(const InboxKey& key,
                         const std::function<Status(Transaction&)>& effect) override;

  /// A statement outside any inbox transaction (schema set-up). Thread-safe.
  Status execute(std::string_view sql, const std::vector<SqlValue>& params = {});
  Result<std::vector<SqlRow>> query(std::string_view sql, const std::vector<SqlValue>& params = {});

 private:
  SqliteInbox(std::unique_ptr<sqlite::Connection> db, const Clock* clock);

  std::unique_ptr<sqlite::Connection> db_;  // kept out of this header: no sqlite3.h here
  std::mutex mutex_;
  SystemClock systemClock_;
  const Clock& clock_;
};

}  // namespace orders
