#pragma once
// The error vocabulary shared by the domain and the application layer. Adapters translate it:
// http/ maps it to problem+json statuses, the consumer runtime to "retry" or "dead-letter".

#include <string>

namespace orders {

enum class ErrorCode {
  kInvalidArgument,       // the request itself is wrong (bad field, rule violated): 422
  kNotFound,              // the order or sub-resource does not exist: 404
  kTransitionNotAllowed,  // the order's current status forbids this action: 409
  kPreconditionFailed,    // If-Match version did not match: 412
  kConflict,              // e.g. an idempotency key reused for a different request: 409
  kPermissionDenied,      // the caller is known but may not do this (a customer ordering for
                          // another user): 403
  kUnavailable,           // transient infrastructure failure, nothing was stored; retrying may
                          // succeed: 503
  kInDoubt,               // the outcome of a commit is unknown (the connection was lost during
                          // COMMIT): it may or may not have been stored. Re-read before answering;
                          // a blind retry may apply twice unless it is deduplicated: 503
  kInternal,              // a bug or an invariant broken: 500
  kFenced,                // the caller acted on a relay lease epoch that is no longer current
                          // (another instance took the lease, or it was released): nothing was
                          // done, and the caller must stop acting as leader
                          // (outbox/relay_lease.hpp). Never reaches an HTTP client: 500
};

struct Error {
  ErrorCode code;
  std::string message;
  // JSON pointer-ish path of the field at fault ("items/0/quantity"), empty when not about a field.
  std::string field{};
  // For kTransitionNotAllowed: the order's current status, so callers can say where it stands.
  std::string currentStatus{};
};

inline Error invalid(std::string field, std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message), std::move(field)};
}

const char* toString(ErrorCode code);

}  // namespace orders
