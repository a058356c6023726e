#pragma once
// An Inbox in an SQLite file, and a way for a handler to make its own effect and the inbox record
// one transaction (exactly-once effects, Deduplication::kHandler).
//
//   auto inbox = SqliteInbox::open("notification.db").value();
//   inbox->execute("CREATE TABLE IF NOT EXISTS sent (message_id TEXT, order_id TEXT)");
//   consumer.on("OrderShippedEvent", 1, [&](const InboundMessage& m) -> HandlerResult {
//     return inbox->transact(m.consumerName, m.messageId, [&](SqliteInbox::Transaction& tx) {
//       return tx.execute("INSERT INTO sent VALUES (?, ?)", {m.messageId, orderId});
//     });
//   }, Deduplication::kHandler);
//
// transact() begins a transaction, inserts the inbox row (a duplicate ends it right there:
// Handled::kDuplicate, nothing runs), runs the work, and commits both or neither.
//
// One connection in WAL mode with synchronous=FULL (a commit survives power loss), used by one
// thread at a time (a mutex serialises callers). Keep the database to this inbox and the
// consumer's own tables: the Order Service's database belongs to SqliteStore.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "consumer/inbound_message.hpp"
#include "consumer/inbox.hpp"

namespace orders {

struct SqliteInboxImpl;

/// A value bound to or read from SQL: NULL, integer, text.
using SqlValue = std::variant<std::monostate, std::int64_t, std::string>;
using SqlRow = std::vector<SqlValue>;

class SqliteInbox final : public Inbox {
 public:
  /// Opens or creates the database at `path` and the table consumer_inbox (consumer, message_id,
  /// processed_at; primary key (consumer, message_id)). kUnavailable naming the file otherwise.
  static Result<std::unique_ptr<SqliteInbox>> open(const std::string& path);
  ~SqliteInbox() override;

  Result<bool> contains(std::string_view consumer, std::string_view messageId) override;
  Result<bool> record(std::string_view consumer, std::string_view messageId) override;

  /// Statements inside transact(). Errors are kUnavailable with SQLite's message (a constraint
  /// violation is kConflict), and make transact() roll back.
  class Transaction {
   public:
    Status execute(std::string_view sql, const std::vector<SqlValue>& params = {});
    Result<std::vector<SqlRow>> query(std::string_view sql,
                                      const std::vector<SqlValue>& params = {});

   private:
    friend class SqliteInbox;
    explicit Transaction(struct SqliteInboxImpl& impl) : impl_(impl) {}
    SqliteInboxImpl& impl_;
  };

  /// Records (consumer, messageId) and runs `work` in one transaction. kDuplicate (work not run)
  /// when the record exists; the work's error (rolled back) when it fails; kUnavailable when
  /// SQLite fails. Thread-safe (serialised).
  HandlerResult transact(std::string_view consumer, std::string_view messageId,
                         const std::function<Status(Transaction&)>& work);

  /// A statement outside any inbox transaction (schema set-up). Thread-safe.
  Status execute(std::string_view sql, const std::vector<SqlValue>& params = {});
  Result<std::vector<SqlRow>> query(std::string_view sql, const std::vector<SqlValue>& params = {});

  /// Deletes records processed before `cutoff` (retention: keep them longer than a message can
  /// take to be redelivered, i.e. longer than the longest DLQ stay you would replay). Returns how
  /// many.
  Result<std::int64_t> deleteRecordedBefore(Timestamp cutoff);

 private:
  explicit SqliteInbox(std::unique_ptr<SqliteInboxImpl> impl);
  std::unique_ptr<SqliteInboxImpl> impl_;  // the sqlite3 connection, kept out of this header
  std::mutex mutex_;
  SystemClock clock_;
};

}  // namespace orders
