#pragma once
// The one wrapper over the sqlite3 C API, for the SQLite adapters only (store/sqlite and the
// consumer runtime's SqliteInbox): RAII connections, cached prepared statements and
// transactions. Failures throw SqliteError; an adapter turns them into Result errors at its
// interface with toError() / commitError(). No public header of the service includes this.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "sqlite/sql_value.hpp"

namespace orders::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  /// The extended result code.
  int code() const { return code_; }
  /// UNIQUE / PRIMARY KEY violations: the caller decides what a duplicate means.
  bool isConstraintViolation() const { return (code_ & 0xff) == SQLITE_CONSTRAINT; }
  bool isBusy() const { return (code_ & 0xff) == SQLITE_BUSY || (code_ & 0xff) == SQLITE_LOCKED; }
  /// A read, write or fsync of the database or WAL file failed (SQLITE_IOERR_*).
  bool isIoError() const { return (code_ & 0xff) == SQLITE_IOERR; }

 private:
  int code_;
};

/// A statement failed: kConflict for a constraint violation, kUnavailable otherwise (nothing of
/// the statement took effect). `what` says what was being done.
Error toError(const SqliteError& e, const std::string& what);
/// A COMMIT failed. An I/O error while writing or syncing the commit leaves its outcome unknown:
/// the commit record may already be on disk and be replayed at the next open, so it is kInDoubt.
/// Anything else (disk full, busy, out of memory) means nothing was stored: kUnavailable.
Error commitError(const SqliteError& e, const std::string& what);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  /// Resets the statement so it can be bound and stepped again.
  Statement& reset();
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bindNull(int index);
  Statement& bindOptional(int index, const std::optional<std::string>& value);
  /// Binds values[i] to parameter i + 1.
  Statement& bindAll(const std::vector<SqlValue>& values);
  /// Returns true while there is a row to read; false when done.
  bool step();
  /// Steps a statement that returns no rows.
  void run();

  std::int64_t columnInt(int index) const { return sqlite3_column_int64(stmt_, index); }
  bool columnIsNull(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
  std::string columnText(int index) const;
  /// Every column of the current row (integers as integers, NULL as monostate, the rest as text).
  SqlRow row() const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  /// Opens (creating if needed) the database file with WAL, durable commits and a busy timeout.
  explicit Connection(const std::string& path);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  void exec(const char* sql);
  /// A prepared statement cached (by its text) for the connection's lifetime, reset and ready
  /// to bind. For the adapter's own fixed SQL.
  Statement& prepare(const std::string& sql);
  /// A statement prepared for one use and not cached: for SQL the adapter does not control.
  std::unique_ptr<Statement> prepareOnce(std::string_view sql);
  std::int64_t lastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }

  /// From now on, walFrames() follows the WAL's size as of this connection's last commit. Replaces
  /// SQLite's automatic checkpoint on this connection (which uses the same hook): whoever calls
  /// this checkpoints the WAL themselves.
  void trackWalFrames();
  /// Frames in the WAL after this connection's last commit (0 before trackWalFrames()). A new
  /// commit after a complete checkpoint writes the WAL from its start again, and this drops.
  int walFrames() const { return walFrames_; }

  /// PRAGMA wal_checkpoint(PASSIVE) through the C API: copies what it can into the database
  /// file without waiting for anyone. Returns how many of the WAL's frames are in the database
  /// file now (earlier passes' too; all of them: the next commit restarts the WAL from its
  /// beginning; fewer: a reader still needs the others or a commit came meanwhile), or nullopt
  /// when another connection's checkpoint was running. Throws SqliteError on any other failure.
  std::optional<int> checkpointPassive();

 private:
  sqlite3* db_ = nullptr;
  int walFrames_ = 0;
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
};

/// BEGIN IMMEDIATE (the write lock is taken at once, so what the transaction reads is what it
/// writes over) on construction; commit() commits; destruction without commit() rolls back.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// Throws SqliteError when COMMIT fails (see commitError() for what that means); the
  /// transaction is then rolled back.
  void commit();

 private:
  Connection& connection_;
  bool open_ = true;
};

}  // namespace orders::sqlite
