#include "sqlite/connection.hpp"

namespace orders::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, int code, const std::string& what) {
  throw SqliteError(code, what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(code)));
}

}  // namespace

Error toError(const SqliteError& e, const std::string& what) {
  return Error{e.isConstraintViolation() ? ErrorCode::kConflict : ErrorCode::kUnavailable,
               what + ": " + e.what()};
}

Error commitError(const SqliteError& e, const std::string& what) {
  if (e.isIoError()) {
    return Error{
        ErrorCode::kInDoubt,
        what + ": the commit failed in I/O and may or may not have been stored: " + e.what()};
  }
  return Error{ErrorCode::kUnavailable,
               what + ": the commit failed, nothing was stored: " + e.what()};
}

Statement& Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  if (int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                 SQLITE_TRANSIENT);
      rc != SQLITE_OK) {
    fail(db_, rc, "bind");
  }
  return *this;
}

Statement& Statement::bindNull(int index) {
  if (int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bindOptional(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bindNull(index);
}

Statement& Statement::bindAll(const std::vector<SqlValue>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    if (const auto* n = std::get_if<std::int64_t>(&values[i])) {
      bind(index, *n);
    } else if (const auto* text = std::get_if<std::string>(&values[i])) {
      bind(index, std::string_view(*text));
    } else {
      bindNull(index);
    }
  }
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Read the extended code before reset() clears it.
  const int extended = sqlite3_extended_errcode(db_);
  const std::string message = sqlite3_errmsg(db_);
  sqlite3_reset(stmt_);
  throw SqliteError(extended, "step: " + message);
}

void Statement::run() {
  while (step()) {
  }
}

std::string Statement::columnText(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  const int size = sqlite3_column_bytes(stmt_, index);
  return text ? std::string(text, static_cast<std::size_t>(size)) : std::string();
}

SqlRow Statement::row() const {
  SqlRow row;
  const int columns = sqlite3_column_count(stmt_);
  row.reserve(static_cast<std::size_t>(columns));
  for (int i = 0; i < columns; ++i) {
    switch (sqlite3_column_type(stmt_, i)) {
      case SQLITE_NULL:
        row.emplace_back(std::monostate{});
        break;
      case SQLITE_INTEGER:
        row.emplace_back(columnInt(i));
        break;
      default:
        row.emplace_back(columnText(i));
    }
  }
  return row;
}

Connection::Connection(const std::string& path) {
  // One connection is only ever used by one thread at a time, so SQLite's own mutexes are waste.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr); rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw SqliteError(rc, "cannot open SQLite database " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  // FULL: a commit is on disk (fsync of the WAL) before we answer. Group commit keeps the cost
  // to one fsync per batch of requests.
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
  // 8 MiB of page cache, not more: SQLite 3.40's B-tree rebalance moves a page through the
  // lock-byte page number (262145) as a temporary key, and the commit that follows then walks
  // every page of the cache to drop pages past the end of the file (pcache1TruncateUnsafe). With
  // the random index on user_id that happens at almost every commit; with 64 MiB (16,384 pages) it
  // was 18 % of the writer thread under load. Readers lose nothing: in WAL mode each read
  // transaction after a write starts with an empty cache anyway. Pages that do not fit come from
  // the OS page cache. Measured in docs/benchmarks.md ("SQLite page cache").
  exec("PRAGMA cache_size=-8192");
  // The writer opens a savepoint per request inside each batch; with temp files SQLite keeps the
  // savepoint's undo pages in a new /var/tmp file per batch and wrote ~4 of them per order (4x
  // the WAL's own writes). In memory they cost a memcpy. Bounded: a savepoint covers one request.
  exec("PRAGMA temp_store=MEMORY");
}

Connection::~Connection() {
  statements_.clear();
  sqlite3_close(db_);
}

void Connection::exec(const char* sql) {
  char* message = nullptr;
  if (int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message); rc != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw SqliteError(sqlite3_extended_errcode(db_), std::string("exec '") + sql + "': " + text);
  }
}

void Connection::trackWalFrames() {
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int frames) {
        static_cast<Connection*>(self)->walFrames_ = frames;
        return SQLITE_OK;
      },
      this);
}

std::optional<int> Connection::checkpointPassive() {
  int walFrames = 0;
  int checkpointed = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &walFrames, &checkpointed);
  if (rc == SQLITE_BUSY) return std::nullopt;  // another connection's checkpoint is running
  if (rc != SQLITE_OK) fail(db_, rc, "checkpoint (PASSIVE)");
  return checkpointed;
}

std::unique_ptr<Statement> Connection::prepareOnce(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
      rc != SQLITE_OK) {
    fail(db_, rc, "prepare '" + std::string(sql) + "'");
  }
  if (stmt == nullptr) fail(db_, SQLITE_MISUSE, "prepare '" + std::string(sql) + "': no statement");
  return std::make_unique<Statement>(db_, stmt);
}

Statement& Connection::prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second->reset();
  sqlite3_stmt* stmt = nullptr;
  if (int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      rc != SQLITE_OK) {
    fail(db_, rc, "prepare '" + sql + "'");
  }
  auto& entry = statements_[sql];
  entry = std::make_unique<Statement>(db_, stmt);
  return *entry;
}

Transaction::Transaction(Connection& connection) : connection_(connection) {
  connection_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!open_) return;
  try {
    connection_.exec("ROLLBACK");
  } catch (const SqliteError&) {
    // SQLite already rolled back (it does on some errors); there is nothing left to undo.
  }
}

void Transaction::commit() {
  // On failure open_ stays true: the destructor rolls back what is still open (a COMMIT that
  // failed with BUSY leaves the transaction open; after an I/O error SQLite rolled it back).
  connection_.exec("COMMIT");
  open_ = false;
}

}  // namespace orders::sqlite
