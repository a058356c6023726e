// The raw database limit the order benchmark is compared with: the same rows a created order
// writes (one ~1 KB order row, three ~0.8 KB outbox rows and their publication rows, with the
// service's tables and indexes), in WAL mode with synchronous=FULL, committed (a) one order per
// transaction and (b) 64 orders per transaction. Nothing else: no HTTP, no JSON, no validation.
//
//   sqlite_commit_baseline DIR SECONDS   -> prints "BASELINE single_tps=...
//   batched_orders_per_s=..."

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite: %s: %s\n", sql, error);
    std::exit(1);
  }
}

std::string uuid(std::mt19937_64& random) {
  char text[37];
  std::snprintf(text, sizeof text, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                static_cast<unsigned long long>(random() & 0xffffffff),
                static_cast<unsigned long long>(random() & 0xffff),
                static_cast<unsigned long long>(random() & 0xfff),
                static_cast<unsigned long long>(random() & 0xfff),
                static_cast<unsigned long long>(random() & 0xffffffffffff));
  return text;
}

double run(const std::string& path, int ordersPerCommit, double seconds) {
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=FULL");
  exec(db, "PRAGMA cache_size=-65536");
  // As in the service, checkpoints are not part of a commit. The service runs them concurrently
  // on another thread; the baseline leaves them out, which makes it an upper bound.
  exec(db, "PRAGMA wal_autocheckpoint=0");
  exec(
      db,
      "CREATE TABLE orders (order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL,"
      " version INTEGER NOT NULL, last_event_sequence INTEGER NOT NULL, created_at INTEGER NOT "
      "NULL,"
      " updated_at INTEGER NOT NULL, document TEXT NOT NULL);"
      "CREATE INDEX orders_by_user ON orders(user_id, created_at DESC, order_id DESC);"
      "CREATE INDEX orders_by_status ON orders(status, created_at DESC, order_id DESC);"
      "CREATE INDEX orders_by_created ON orders(created_at DESC, order_id DESC);"
      "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL,"
      " message_type TEXT NOT NULL, message_version TEXT NOT NULL, partition_key TEXT NOT NULL,"
      " sequence INTEGER NOT NULL, correlation_id TEXT, source TEXT NOT NULL, occurred_at INTEGER"
      " NOT NULL, body TEXT NOT NULL CHECK (body <> ''));"
      "CREATE TABLE outbox_publication (id INTEGER PRIMARY KEY, published_at INTEGER);"
      "CREATE INDEX outbox_publication_pending ON outbox_publication(id)"
      " WHERE published_at IS NULL;"
      "CREATE INDEX outbox_publication_published ON outbox_publication(published_at)"
      " WHERE published_at IS NOT NULL;");
  sqlite3_stmt* insertOrder = nullptr;
  sqlite3_stmt* insertEvent = nullptr;
  sqlite3_stmt* insertPublication = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO orders VALUES (?1, ?2, 'PENDING_PAYMENT', 1, 3, ?3, ?3, ?4)",
                     -1, &insertOrder, nullptr);
  sqlite3_prepare_v2(db,
                     "INSERT INTO outbox (message_id, message_type, message_version, partition_key,"
                     " sequence, source, occurred_at, body) VALUES (?1, 'OrderCreatedEvent', '1.0',"
                     " ?2, ?3, 'OrderService', ?4, ?5)",
                     -1, &insertEvent, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO outbox_publication (id) VALUES (last_insert_rowid())", -1,
                     &insertPublication, nullptr);
  const std::string document(1000, 'd');
  const std::string body(800, 'b');
  std::mt19937_64 random(42);
  long orders = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    exec(db, "BEGIN IMMEDIATE");
    for (int i = 0; i < ordersPerCommit; ++i, ++orders) {
      const std::string orderId = uuid(random);
      sqlite3_bind_text(insertOrder, 1, orderId.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insertOrder, 2, "3fa85f64-5717-4562-b3fc-2c963f66afa6", -1, SQLITE_STATIC);
      sqlite3_bind_int64(insertOrder, 3, orders);
      sqlite3_bind_text(insertOrder, 4, document.c_str(), -1, SQLITE_STATIC);
      sqlite3_step(insertOrder);
      sqlite3_reset(insertOrder);
      for (int e = 1; e <= 3; ++e) {
        const std::string messageId = "msg-" + uuid(random);
        sqlite3_bind_text(insertEvent, 1, messageId.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insertEvent, 2, orderId.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(insertEvent, 3, e);
        sqlite3_bind_int64(insertEvent, 4, orders);
        sqlite3_bind_text(insertEvent, 5, body.c_str(), -1, SQLITE_STATIC);
        sqlite3_step(insertEvent);
        sqlite3_reset(insertEvent);
        sqlite3_step(insertPublication);
        sqlite3_reset(insertPublication);
      }
    }
    exec(db, "COMMIT");
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  sqlite3_finalize(insertOrder);
  sqlite3_finalize(insertEvent);
  sqlite3_finalize(insertPublication);
  sqlite3_close(db);
  std::remove(path.c_str());
  return orders / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR SECONDS\n", argv[0]);
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/baseline.db";
  const double seconds = std::atof(argv[2]);
  const double single = run(path, 1, seconds);
  const double batched = run(path, 64, seconds);
  std::printf("BASELINE single_commit_orders_per_s=%.0f batched64_orders_per_s=%.0f\n", single,
              batched);
  return 0;
}
