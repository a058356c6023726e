#include "common/error.hpp"

namespace orders {

const char* toString(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid-argument";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kTransitionNotAllowed:
      return "transition-not-allowed";
    case ErrorCode::kPreconditionFailed:
      return "precondition-failed";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kPermissionDenied:
      return "permission-denied";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInDoubt:
      return "in-doubt";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kFenced:
      return "fenced";
  }
  return "internal";
}

}  // namespace orders
