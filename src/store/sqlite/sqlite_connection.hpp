#pragma once
// Thin RAII wrappers over the sqlite3 C API, private to the SQLite adapter. Failures throw
// SqliteError; SqliteStore translates them into Result errors at its interface.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace orders::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }
  /// UNIQUE / PRIMARY KEY violations: the caller decides what a duplicate means.
  bool isConstraintViolation() const { return (code_ & 0xff) == SQLITE_CONSTRAINT; }
  bool isBusy() const { return (code_ & 0xff) == SQLITE_BUSY || (code_ & 0xff) == SQLITE_LOCKED; }

 private:
  int code_;
};

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
  /// Returns true while there is a row to read; false when done.
  bool step();
  /// Steps a statement that returns no rows.
  void run();

  std::int64_t columnInt(int index) const { return sqlite3_column_int64(stmt_, index); }
  bool columnIsNull(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
  std::string columnText(int index) const;

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
  /// to bind.
  Statement& prepare(const std::string& sql);
  std::int64_t lastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
};

}  // namespace orders::sqlite
