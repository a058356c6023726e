#pragma once
// The one libpq wrapper: a connection, its results as RAII values, parameterised statements
// only (values never go into SQL text), and SQLSTATE-based error classes that say what the
// caller should do, as libpqxx's exception classes do. No libpq type appears in this header.
//
// A Connection is used by one thread at a time. Errors are thrown as PgError (the store turns
// them into common/result.hpp Errors at its boundary).

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "postgres/connection_settings.hpp"

namespace orders::postgres {

/// What the caller should do about a failed statement.
enum class FailureKind {
  kRetry,            // 40001 serialization_failure, 40P01 deadlock_detected: rolled back; rerun
  kUniqueViolation,  // 23505: a duplicate (conflict, duplicate key)
  kConstraint,       // any other integrity violation (class 23): the data is refused
  kConnectionLost,   // no usable connection (class 08, 57P01-57P03 shutdown, a broken socket):
                     // reconnect; a COMMIT that was in flight is in doubt
  kOther,            // anything else (a bug in SQL, a permission): retrying will not help
};

/// The class of an SQLSTATE ("" when the server sent none: the connection is gone).
FailureKind classifySqlState(std::string_view sqlstate);
const char* toString(FailureKind kind);

class PgError : public std::runtime_error {
 public:
  PgError(FailureKind kind, std::string sqlstate, const std::string& message)
      : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)) {}
  FailureKind kind() const { return kind_; }
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  FailureKind kind_;
  std::string sqlstate_;
};

/// Statement parameters in text format; nullopt is NULL.
class Params {
 public:
  Params& add(std::string value) {
    values_.emplace_back(std::move(value));
    return *this;
  }
  Params& add(std::int64_t value) { return add(std::to_string(value)); }
  Params& add(std::optional<std::string> value) {
    values_.push_back(std::move(value));
    return *this;
  }
  Params& add(const char* value) { return add(std::string(value)); }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

/// The rows of one statement's result (owns the PGresult).
class Rows {
 public:
  Rows() = default;
  explicit Rows(void* result);  // takes a PGresult*
  Rows(Rows&&) noexcept;
  Rows& operator=(Rows&&) noexcept;
  ~Rows();

  int size() const;
  bool isNull(int row, int column) const;
  std::string text(int row, int column) const;  // "" for NULL
  std::int64_t integer(int row, int column) const;
  /// Rows changed by an INSERT/UPDATE/DELETE.
  std::int64_t affected() const;

 private:
  void* result_ = nullptr;
};

struct Statement {
  std::string sql;
  Params params;
};

/// One statement's share of a pipeline: its rows, or the error it failed with, or neither
/// (aborted: an earlier statement of the pipeline failed, so the server skipped it).
struct PipelineOutcome {
  std::optional<Rows> rows;
  std::optional<PgError> error;
};

class Connection {
 public:
  /// Connects (blocking; libpq's connect_timeout applies, 10 s when the URL sets none).
  /// Throws PgError(kConnectionLost) whose message names the redacted URL and libpq's reason.
  explicit Connection(const ConnectionSettings& settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// One parameterised statement (extended protocol, text values). Throws PgError.
  Rows exec(const std::string& sql, const Params& params = {});
  /// Several statements without parameters (simple protocol): migrations, BEGIN, COMMIT.
  void execScript(const std::string& sql);
  /// Sends every statement, then one sync, in libpq's pipeline mode: one round trip for all.
  /// A failed statement makes the server skip the rest (their outcome has neither rows nor
  /// error). Throws PgError(kConnectionLost) when the connection breaks meanwhile.
  std::vector<PipelineOutcome> pipeline(const std::vector<Statement>& statements);

  /// Whether the connection is still usable (false after it broke).
  bool usable() const;
  /// The server process serving this connection (pg_backend_pid()).
  int backendPid() const;
  /// The socket, to wait for notifications with poll().
  int socket() const;
  /// One NOTIFY received: its channel and the server process that sent it.
  struct Notification {
    std::string channel;
    int senderPid = 0;
  };
  /// Reads what arrived on the socket (without blocking) and returns the NOTIFYs received since
  /// the last call. Throws PgError(kConnectionLost) when the connection broke.
  std::vector<Notification> takeNotifications();

 private:
  [[noreturn]] void throwError(void* result, const std::string& what);
  void* conn_ = nullptr;  // PGconn*
  std::string redactedUrl_;
};

}  // namespace orders::postgres
