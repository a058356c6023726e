#include "http/problem.hpp"

#include <nlohmann/json.hpp>

namespace orders::http {

Response problemResponse(int status, const std::string& slug, const std::string& title,
                         const std::string& detail, const std::string& field) {
  nlohmann::json body = {
      {"type", "https://order-service.example/problems/" + slug},
      {"title", title},
      {"status", status},
      {"detail", detail},
  };
  if (!field.empty()) body["field"] = field;
  Response response;
  response.status = status;
  response.contentType = "application/problem+json";
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

Response problemFromError(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return problemResponse(422, "validation-failed", "Validation failed", error.message,
                             error.field);
    case ErrorCode::kNotFound:
      return problemResponse(404, "not-found", "Not found", error.message, error.field);
    case ErrorCode::kTransitionNotAllowed: {
      auto response = problemResponse(409, "transition-not-allowed", "Transition not allowed",
                                      error.message, error.field);
      auto body = nlohmann::json::parse(response.body);
      body["currentStatus"] = error.currentStatus;
      response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return response;
    }
    case ErrorCode::kConflict:
      return problemResponse(409, "conflict", "Conflict", error.message, error.field);
    case ErrorCode::kPermissionDenied:
      return problemResponse(403, "forbidden", "Forbidden", error.message, error.field);
    case ErrorCode::kPreconditionFailed:
      return problemResponse(412, "precondition-failed", "Precondition failed", error.message,
                             "If-Match");
    case ErrorCode::kUnavailable: {
      auto response = problemResponse(503, "unavailable", "Service unavailable", error.message, "");
      response.headers.emplace_back("Retry-After", "1");
      return response;
    }
    case ErrorCode::kInDoubt: {
      // Only when re-reading could not settle it either: a retry with the same Idempotency-Key
      // then gets the right answer.
      auto response = problemResponse(503, "commit-outcome-unknown", "Commit outcome unknown",
                                      error.message, "");
      response.headers.emplace_back("Retry-After", "1");
      return response;
    }
    case ErrorCode::kInternal:
    case ErrorCode::kFenced:  // only the relay's marks are fenced; no request gets here
      break;
  }
  return problemResponse(500, "internal", "Internal error", error.message, "");
}

}  // namespace orders::http
