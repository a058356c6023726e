#pragma once
// RFC 9457 problem details (application/problem+json): the only shape errors leave the API in.
// Every `type` is a stable URI under https://order-service.example/problems/ and documented in
// docs/api.md.

#include <string>

#include "common/error.hpp"
#include "http/message.hpp"

namespace orders::http {

/// A problem response. `slug` becomes the type URI; `field` (a JSON pointer into the request,
/// or a header name) is included when not empty.
Response problemResponse(int status, const std::string& slug, const std::string& title,
                         const std::string& detail, const std::string& field);

/// Maps the domain/application error vocabulary to HTTP: 422 invalid, 404 not found,
/// 409 transition not allowed (with currentStatus) or conflict, 412 precondition failed,
/// 503 unavailable, 500 internal.
Response problemFromError(const Error& error);

}  // namespace orders::http
