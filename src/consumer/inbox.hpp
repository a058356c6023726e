#pragma once
// The consumer inbox: which messages a consumer has already applied, keyed by (consumer name,
// messageId). Delivery is at-least-once, so every consumer needs one; this is the interface the
// runtime uses for handlers with Deduplication::kRuntime. Implementations: SqliteInbox
// (sqlite_inbox.hpp). The Order Service's own handlers do not use it: their inbox row is written
// by OrderService in the same store transaction as the order change.

#include <string_view>

#include "common/result.hpp"

namespace orders {

class Inbox {
 public:
  virtual ~Inbox() = default;

  /// Whether (consumer, messageId) was recorded. kUnavailable when the store cannot answer (the
  /// runtime then retries the message later). Thread-safe.
  virtual Result<bool> contains(std::string_view consumer, std::string_view messageId) = 0;

  /// Records (consumer, messageId), durably. Returns false when it was already recorded (not an
  /// error). Thread-safe.
  virtual Result<bool> record(std::string_view consumer, std::string_view messageId) = 0;
};

}  // namespace orders
