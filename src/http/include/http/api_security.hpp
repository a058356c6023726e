#pragma once
// Who may call the API and what each caller may do (docs/security.md, "API: tokens and roles"):
//   - BearerAuthenticator: `Authorization: Bearer <JWT>` verified by auth/jwt_verifier.hpp; the
//     principal is the token's `sub` with the roles of a configurable claim.
//   - RoleAuthorizer: the table of roles -> permissions (RouteOptions::permission). A customer
//     reaches only its own orders (the handlers answer 404 for any other, as if it did not exist).
//   - DevelopmentAuthenticator (--auth none): every caller is the operator "anonymous".

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_verifier.hpp"
#include "http/middlewares.hpp"

namespace orders::http {

inline constexpr std::string_view kRoleCustomer = "customer";
inline constexpr std::string_view kRolePaymentService = "payment-service";
inline constexpr std::string_view kRoleFulfillmentService = "fulfillment-service";
inline constexpr std::string_view kRoleOperator = "operator";

/// The permissions of the routes (http/order_api.cpp gives each route one).
namespace permission {
inline constexpr const char* kListOrders = "orders:list";
inline constexpr const char* kCreateOrder = "orders:create";
inline constexpr const char* kReadOrder = "orders:read";
inline constexpr const char* kUpdateOrder = "orders:update";
inline constexpr const char* kStartPayment = "orders:pay";
inline constexpr const char* kCancelOrder = "orders:cancel";
inline constexpr const char* kRequestRefund = "refunds:request";
inline constexpr const char* kReportPayment = "payments:report";
inline constexpr const char* kProcessRefund = "refunds:process";
inline constexpr const char* kChangeStatus = "orders:status";
inline constexpr const char* kShip = "fulfillment:ship";
inline constexpr const char* kDeliver = "fulfillment:deliver";
/// The operator API and its DLQ tools (/admin/api/..., admin/admin_api.hpp): held by the operator
/// role only (through its "*"), granted to no other role.
inline constexpr const char* kOperate = "operator";
}  // namespace permission

/// The roles this service knows, strongest first (a principal holding several acts with the
/// first that grants the route).
const std::vector<std::string>& knownRoles();

/// The permissions of `role` (empty for an unknown role). The operator has every permission,
/// including those of routes added later; listed here as "*".
std::vector<std::string> permissionsOf(std::string_view role);

/// Who acted, as the events record it (`initiatedBy`, never taken from the request): a customer
/// as "user:<sub>" (the events' convention for users), any other role as "<role>:<sub>"
/// ("payment-service:payments", "operator:alice"); "anonymous" without a principal.
std::string initiatedByOf(const Principal& principal);

/// Roles -> permissions, fixed. Thread-safe (stateless).
class RoleAuthorizer final : public Authorizer {
 public:
  std::optional<Grant> authorize(const Principal& principal, const RouteOptions& route) override;
};

struct BearerOptions {
  /// The claim that holds the roles: an array of strings or a space-separated string (OAuth
  /// `scope`). A dotted path reaches into objects: "realm_access.roles" (Keycloak); a claim whose
  /// whole name has dots ("https://example.com/roles", Auth0) is found as it is first.
  std::string rolesClaim = "roles";
};

/// Thread-safe; `verifier` must outlive it.
class BearerAuthenticator final : public Authenticator {
 public:
  BearerAuthenticator(const auth::JwtVerifier& verifier, BearerOptions options)
      : verifier_(verifier), options_(std::move(options)) {}
  Result<Principal> authenticate(const Request& request) override;

  /// The known roles in `claims` at `rolesClaim` (unknown ones are ignored).
  static std::vector<std::string> rolesOf(const nlohmann::json& claims,
                                          const std::string& rolesClaim);

 private:
  const auth::JwtVerifier& verifier_;
  BearerOptions options_;
};

/// --auth none: no credentials are asked for; every caller is {"anonymous", operator}. For local
/// development only; the service says so at start and in /readyz.
class DevelopmentAuthenticator final : public Authenticator {
 public:
  Result<Principal> authenticate(const Request&) override {
    return Principal{"anonymous", {std::string(kRoleOperator)}};
  }
};

}  // namespace orders::http
