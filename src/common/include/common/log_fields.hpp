#pragma once
// The structured fields of log lines written on this thread: which order, message, correlation
// and trace the work is about. A ScopedLogFields sets them for its scope (a consumer's handler,
// an access log line, a relay failure); the JSON log format (observability/logging.hpp) writes
// them as fields of every line logged in that scope, the text format ignores them.
//
//   ScopedLogFields fields({.messageId = id, .messageType = type});
//   spdlog::warn("... dead-lettered ...");   // {"time":..,"msg":..,"messageId":"..",...}
//
// Values are views: the strings must outlive the scope. Never put personal data (names, e-mail
// addresses, streets) here or in a message. Thread-local: a scope covers only its own thread.

#include <string_view>

namespace orders {

struct LogFields {
  std::string_view orderId{};
  std::string_view messageId{};
  std::string_view messageType{};
  std::string_view correlationId{};
  std::string_view traceId{};
  std::string_view spanId{};
};

/// Sets the fields (merged over the enclosing scope's: an empty field keeps the outer value) for
/// the lifetime of the object, then restores the previous ones. Not copyable; nest freely.
class ScopedLogFields {
 public:
  explicit ScopedLogFields(const LogFields& fields);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  LogFields previous_;
};

/// The fields in effect on this thread (all empty outside any scope).
const LogFields& currentLogFields();

}  // namespace orders
