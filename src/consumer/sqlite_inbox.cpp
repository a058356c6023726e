#include "consumer/sqlite_inbox.hpp"

#include <sqlite3.h>

namespace orders {

struct SqliteInboxImpl {
  std::string path;
  sqlite3* db = nullptr;
  ~SqliteInboxImpl() {
    if (db != nullptr) sqlite3_close_v2(db);
  }
};

namespace {

Error sqliteError(sqlite3* db, const std::string& what) {
  const int code = sqlite3_extended_errcode(db);
  const bool constraint = (code & 0xff) == SQLITE_CONSTRAINT;
  return Error{constraint ? ErrorCode::kConflict : ErrorCode::kUnavailable,
               what + ": " + sqlite3_errmsg(db)};
}

/// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK && stmt_ != nullptr; }

  bool bind(const std::vector<SqlValue>& params) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(stmt_, index, *n);
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text(stmt_, index, s->data(), static_cast<int>(s->size()),
                               SQLITE_TRANSIENT);
      } else {
        rc = sqlite3_bind_null(stmt_, index);
      }
      if (rc != SQLITE_OK) return false;
    }
    return true;
  }

  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }

  SqlRow row() const {
    SqlRow r;
    const int n = sqlite3_column_count(stmt_);
    for (int i = 0; i < n; ++i) {
      switch (sqlite3_column_type(stmt_, i)) {
        case SQLITE_NULL:
          r.emplace_back(std::monostate{});
          break;
        case SQLITE_INTEGER:
          r.emplace_back(std::int64_t{sqlite3_column_int64(stmt_, i)});
          break;
        default: {
          const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
          r.emplace_back(std::string(t == nullptr ? "" : t,
                                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))));
        }
      }
    }
    return r;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

Result<std::vector<SqlRow>> run(sqlite3* db, std::string_view sql,
                                const std::vector<SqlValue>& params) {
  Stmt stmt(db, sql);
  if (!stmt.prepared()) return sqliteError(db, "prepare \"" + std::string(sql) + "\"");
  if (!stmt.bind(params)) return sqliteError(db, "bind");
  std::vector<SqlRow> rows;
  while (true) {
    const int rc = stmt.step();
    if (rc == SQLITE_ROW) {
      rows.push_back(stmt.row());
      continue;
    }
    if (rc == SQLITE_DONE) return rows;
    return sqliteError(db, "\"" + std::string(sql) + "\"");
  }
}

Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    Error e{ErrorCode::kUnavailable, std::string(sql) + ": " + (message ? message : "?")};
    sqlite3_free(message);
    return e;
  }
  return okStatus();
}

}  // namespace

Result<std::unique_ptr<SqliteInbox>> SqliteInbox::open(const std::string& path) {
  auto impl = std::make_unique<SqliteInboxImpl>();
  impl->path = path;
  const int rc =
      sqlite3_open_v2(path.c_str(), &impl->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string reason = impl->db != nullptr ? sqlite3_errmsg(impl->db) : sqlite3_errstr(rc);
    return Error{ErrorCode::kUnavailable, "cannot open the inbox database " + path + ": " + reason};
  }
  sqlite3_busy_timeout(impl->db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                          "CREATE TABLE IF NOT EXISTS consumer_inbox ("
                          "  consumer TEXT NOT NULL,"
                          "  message_id TEXT NOT NULL,"
                          "  processed_at TEXT NOT NULL,"
                          "  PRIMARY KEY (consumer, message_id)) WITHOUT ROWID",
                          "CREATE INDEX IF NOT EXISTS consumer_inbox_processed_at"
                          "  ON consumer_inbox (processed_at)"}) {
    if (auto s = exec(impl->db, sql); !s) {
      return Error{ErrorCode::kUnavailable, "inbox database " + path + ": " + s.error().message};
    }
  }
  return std::unique_ptr<SqliteInbox>(new SqliteInbox(std::move(impl)));
}

SqliteInbox::SqliteInbox(std::unique_ptr<SqliteInboxImpl> impl) : impl_(std::move(impl)) {}

SqliteInbox::~SqliteInbox() = default;

Result<bool> SqliteInbox::contains(std::string_view consumer, std::string_view messageId) {
  std::lock_guard lock(mutex_);
  auto rows = run(impl_->db, "SELECT 1 FROM consumer_inbox WHERE consumer = ? AND message_id = ?",
                  {std::string(consumer), std::string(messageId)});
  if (!rows) return rows.error();
  return !rows->empty();
}

Result<bool> SqliteInbox::record(std::string_view consumer, std::string_view messageId) {
  std::lock_guard lock(mutex_);
  auto rows = run(impl_->db,
                  "INSERT OR IGNORE INTO consumer_inbox (consumer, message_id, processed_at) "
                  "VALUES (?, ?, ?)",
                  {std::string(consumer), std::string(messageId), formatIso8601(clock_.now())});
  if (!rows) return rows.error();
  return sqlite3_changes(impl_->db) > 0;
}

Status SqliteInbox::Transaction::execute(std::string_view sql,
                                         const std::vector<SqlValue>& params) {
  auto rows = run(impl_.db, sql, params);
  if (!rows) return rows.error();
  return okStatus();
}

Result<std::vector<SqlRow>> SqliteInbox::Transaction::query(std::string_view sql,
                                                            const std::vector<SqlValue>& params) {
  return run(impl_.db, sql, params);
}

HandlerResult SqliteInbox::transact(std::string_view consumer, std::string_view messageId,
                                    const std::function<Status(Transaction&)>& work) {
  std::lock_guard lock(mutex_);
  sqlite3* db = impl_->db;
  // IMMEDIATE: take the write lock now, so the inbox check and the work see one state.
  if (auto s = exec(db, "BEGIN IMMEDIATE"); !s) return s.error();
  auto rollback = [db] {
    // Best effort: a failed ROLLBACK leaves SQLite's automatic rollback to do the same.
    (void)exec(db, "ROLLBACK");
  };
  auto inserted = run(db,
                      "INSERT OR IGNORE INTO consumer_inbox (consumer, message_id, processed_at) "
                      "VALUES (?, ?, ?)",
                      {std::string(consumer), std::string(messageId), formatIso8601(clock_.now())});
  if (!inserted) {
    rollback();
    return inserted.error();
  }
  if (sqlite3_changes(db) == 0) {
    rollback();
    return Handled::kDuplicate;
  }
  Transaction tx(*impl_);
  Status done = okStatus();
  try {
    done = work(tx);
  } catch (...) {
    rollback();
    throw;
  }
  if (!done) {
    rollback();
    return done.error();
  }
  if (auto s = exec(db, "COMMIT"); !s) {
    rollback();
    return s.error();
  }
  return Handled::kApplied;
}

Status SqliteInbox::execute(std::string_view sql, const std::vector<SqlValue>& params) {
  std::lock_guard lock(mutex_);
  auto rows = run(impl_->db, sql, params);
  if (!rows) return rows.error();
  return okStatus();
}

Result<std::vector<SqlRow>> SqliteInbox::query(std::string_view sql,
                                               const std::vector<SqlValue>& params) {
  std::lock_guard lock(mutex_);
  return run(impl_->db, sql, params);
}

Result<std::int64_t> SqliteInbox::deleteRecordedBefore(Timestamp cutoff) {
  std::lock_guard lock(mutex_);
  auto rows =
      run(impl_->db, "DELETE FROM consumer_inbox WHERE processed_at < ?", {formatIso8601(cutoff)});
  if (!rows) return rows.error();
  return static_cast<std::int64_t>(sqlite3_changes(impl_->db));
}

}  // namespace orders
