#include "postgres/connection.hpp"

#include <libpq-fe.h>

#include <charconv>

namespace orders::postgres {
namespace {

PGresult* asResult(void* result) {
  return static_cast<PGresult*>(result);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

/// The server's primary message and SQLSTATE only: the DETAIL of a unique violation quotes the
/// key's value, which is data, not something a log line should carry.
PgError errorOf(PGconn* conn, PGresult* result, const std::string& what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  std::string message = primary != nullptr ? primary : trimmed(PQerrorMessage(conn));
  FailureKind kind = classifySqlState(sqlstate);
  if (PQstatus(conn) == CONNECTION_BAD) kind = FailureKind::kConnectionLost;
  return PgError(kind, sqlstate,
                 what + ": " + message + (sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")"));
}

void ignoreNotice(void*, const char*) {
  // NOTICEs ("relation already exists, skipping") are not errors; nothing to report.
}

}  // namespace

FailureKind classifySqlState(std::string_view sqlstate) {
  if (sqlstate.empty()) return FailureKind::kConnectionLost;
  if (sqlstate == "40001" || sqlstate == "40P01") return FailureKind::kRetry;
  if (sqlstate == "23505") return FailureKind::kUniqueViolation;
  if (sqlstate.starts_with("23")) return FailureKind::kConstraint;
  if (sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03") {
    return FailureKind::kConnectionLost;
  }
  return FailureKind::kOther;
}

const char* toString(FailureKind kind) {
  switch (kind) {
    case FailureKind::kRetry:
      return "retry";
    case FailureKind::kUniqueViolation:
      return "unique violation";
    case FailureKind::kConstraint:
      return "constraint violation";
    case FailureKind::kConnectionLost:
      return "connection lost";
    case FailureKind::kOther:
      return "error";
  }
  return "error";
}

// ---------------------------------------------------------------------------------------------
// Rows

Rows::Rows(void* result) : result_(result) {}
Rows::Rows(Rows&& other) noexcept : result_(other.result_) {
  other.result_ = nullptr;
}
Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(asResult(result_));
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}
Rows::~Rows() {
  if (result_ != nullptr) PQclear(asResult(result_));
}
int Rows::size() const {
  return result_ != nullptr ? PQntuples(asResult(result_)) : 0;
}
bool Rows::isNull(int row, int column) const {
  return PQgetisnull(asResult(result_), row, column) != 0;
}
std::string Rows::text(int row, int column) const {
  return std::string(PQgetvalue(asResult(result_), row, column),
                     static_cast<std::size_t>(PQgetlength(asResult(result_), row, column)));
}
std::int64_t Rows::integer(int row, int column) const {
  const char* value = PQgetvalue(asResult(result_), row, column);
  const char* end = value + PQgetlength(asResult(result_), row, column);
  std::int64_t out = 0;
  const auto [ptr, ec] = std::from_chars(value, end, out);
  if (ec != std::errc() || ptr != end) {
    throw PgError(FailureKind::kOther, "", "not an integer: column " + std::to_string(column));
  }
  return out;
}
std::int64_t Rows::affected() const {
  const char* tuples = result_ != nullptr ? PQcmdTuples(asResult(result_)) : "";
  std::int64_t out = 0;
  std::from_chars(tuples, tuples + std::char_traits<char>::length(tuples), out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(const ConnectionSettings& settings) : redactedUrl_(settings.redacted()) {
  // Order matters: later keywords override earlier ones, and dbname expands the URL, so a
  // password in the URL wins over the file's; libpq falls back to PGPASSWORD / ~/.pgpass.
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  keywords.push_back("connect_timeout");
  values.push_back("10");
  if (settings.filePassword()) {
    keywords.push_back("password");
    values.push_back(settings.filePassword()->c_str());
  }
  keywords.push_back("dbname");
  values.push_back(settings.url().c_str());
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), 1);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    // libpq's reason ("password authentication failed for user ...", "connection refused")
    // names the user and host, never the password.
    const std::string reason = conn != nullptr ? trimmed(PQerrorMessage(conn)) : "out of memory";
    if (conn != nullptr) PQfinish(conn);
    throw PgError(FailureKind::kConnectionLost, "",
                  "cannot connect to " + redactedUrl_ + ": " + reason);
  }
  PQsetNoticeProcessor(conn, ignoreNotice, nullptr);
  conn_ = conn;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(static_cast<PGconn*>(conn_));
}

void Connection::throwError(void* result, const std::string& what) {
  PgError error = errorOf(static_cast<PGconn*>(conn_), asResult(result), what);
  if (result != nullptr) PQclear(asResult(result));
  throw error;
}

Rows Connection::exec(const std::string& sql, const Params& params) {
  auto* conn = static_cast<PGconn*>(conn_);
  std::vector<const char*> values;
  values.reserve(params.values().size());
  for (const auto& value : params.values()) values.push_back(value ? value->c_str() : nullptr);
  PGresult* result = PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                  values.data(), nullptr, nullptr, 0);
  const auto status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throwError(result, "statement failed");
  return Rows(result);
}

void Connection::execScript(const std::string& sql) {
  auto* conn = static_cast<PGconn*>(conn_);
  PGresult* result = PQexec(conn, sql.c_str());
  const auto status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throwError(result, "statement failed");
  PQclear(result);
}

std::vector<PipelineOutcome> Connection::pipeline(const std::vector<Statement>& statements) {
  auto* conn = static_cast<PGconn*>(conn_);
  if (PQenterPipelineMode(conn) != 1) throwError(nullptr, "cannot enter pipeline mode");
  // Leaves pipeline mode whatever happens, so the connection can serve ordinary statements.
  struct Exit {
    PGconn* conn;
    ~Exit() {
      if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF) PQexitPipelineMode(conn);
    }
  } exitPipeline{conn};
  for (const auto& statement : statements) {
    std::vector<const char*> values;
    for (const auto& value : statement.params.values())
      values.push_back(value ? value->c_str() : nullptr);
    if (PQsendQueryParams(conn, statement.sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0) != 1) {
      throwError(nullptr, "cannot send a statement");
    }
  }
  if (PQpipelineSync(conn) != 1) throwError(nullptr, "cannot send the pipeline");
  // Blocking connection: PQflush returns once everything is written (the results of the
  // statements are small, so the server never blocks on writing them meanwhile).
  if (PQflush(conn) != 0) throwError(nullptr, "cannot send the pipeline");
  std::vector<PipelineOutcome> outcomes(statements.size());
  for (auto& outcome : outcomes) {
    PGresult* result = PQgetResult(conn);
    if (result == nullptr) throwError(nullptr, "the pipeline ended early");
    const auto status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_ABORTED) {
      PQclear(result);
    } else if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      outcome.rows.emplace(result);
    } else {
      outcome.error.emplace(errorOf(conn, result, "statement failed"));
      PQclear(result);
      if (outcome.error->kind() == FailureKind::kConnectionLost) throw *outcome.error;
    }
    // Each statement's results end with a NULL.
    while (PGresult* extra = PQgetResult(conn)) PQclear(extra);
    if (PQstatus(conn) == CONNECTION_BAD) throwError(nullptr, "the connection broke");
  }
  PGresult* sync = PQgetResult(conn);
  const bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  if (sync != nullptr) PQclear(sync);
  if (!synced) throwError(nullptr, "the pipeline did not end with its sync");
  return outcomes;
}

bool Connection::usable() const {
  return PQstatus(static_cast<PGconn*>(conn_)) == CONNECTION_OK;
}

int Connection::backendPid() const {
  return PQbackendPID(static_cast<PGconn*>(conn_));
}

int Connection::socket() const {
  return PQsocket(static_cast<PGconn*>(conn_));
}

std::vector<Connection::Notification> Connection::takeNotifications() {
  auto* conn = static_cast<PGconn*>(conn_);
  if (PQconsumeInput(conn) != 1) throwError(nullptr, "the connection broke");
  std::vector<Notification> notifications;
  while (PGnotify* notify = PQnotifies(conn)) {
    notifications.push_back({notify->relname, notify->be_pid});
    PQfreemem(notify);
  }
  return notifications;
}

}  // namespace orders::postgres
