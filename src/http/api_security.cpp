#include "http/api_security.hpp"

#include <algorithm>

namespace orders::http {
namespace {

using nlohmann::json;

struct RolePolicy {
  std::string_view role;
  std::vector<std::string_view> permissions;  // "*": every permission
  bool ownOrdersOnly = false;
};

const std::vector<RolePolicy>& policies() {
  using namespace permission;
  static const std::vector<RolePolicy> kPolicies{
      {kRoleOperator, {"*"}, false},
      {kRolePaymentService, {kReportPayment, kProcessRefund}, false},
      {kRoleFulfillmentService, {kChangeStatus, kShip, kDeliver}, false},
      {kRoleCustomer,
       {kListOrders, kCreateOrder, kReadOrder, kUpdateOrder, kStartPayment, kCancelOrder,
        kRequestRefund},
       true},
  };
  return kPolicies;
}

bool hasRole(const Principal& principal, std::string_view role) {
  return std::find(principal.roles.begin(), principal.roles.end(), role) != principal.roles.end();
}

void addRoles(const json& value, std::vector<std::string>& names) {
  if (value.is_string()) {
    // OAuth 2.0 `scope` (RFC 8693 §4.2): space-separated.
    const std::string text = value.get<std::string>();
    std::size_t start = 0;
    while (start < text.size()) {
      const auto end = std::min(text.find(' ', start), text.size());
      if (end > start) names.push_back(text.substr(start, end - start));
      start = end + 1;
    }
  } else if (value.is_array()) {
    for (const auto& entry : value) {
      if (entry.is_string()) names.push_back(entry.get<std::string>());
    }
  }
}

/// "Bearer <token>": the scheme is case-insensitive (RFC 9110 §11.1), one space, a token68.
std::optional<std::string_view> bearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.find(' ') != token.npos) return std::nullopt;
  return token;
}

}  // namespace

const std::vector<std::string>& knownRoles() {
  static const std::vector<std::string> kRoles = [] {
    std::vector<std::string> roles;
    for (const auto& policy : policies()) roles.emplace_back(policy.role);
    return roles;
  }();
  return kRoles;
}

std::vector<std::string> permissionsOf(std::string_view role) {
  for (const auto& policy : policies()) {
    if (policy.role == role) return {policy.permissions.begin(), policy.permissions.end()};
  }
  return {};
}

std::string initiatedByOf(const Principal& principal) {
  if (principal.anonymous()) return "anonymous";
  if (principal.actingRole.empty()) return principal.subject;
  if (principal.actingRole == kRoleCustomer) return "user:" + principal.subject;
  return principal.actingRole + ":" + principal.subject;
}

std::optional<Grant> RoleAuthorizer::authorize(const Principal& principal,
                                               const RouteOptions& route) {
  for (const auto& policy : policies()) {
    if (!hasRole(principal, policy.role)) continue;
    for (const auto& granted : policy.permissions) {
      if (granted == "*" || granted == route.permission) {
        return Grant{std::string(policy.role), policy.ownOrdersOnly};
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> BearerAuthenticator::rolesOf(const json& claims,
                                                      const std::string& rolesClaim) {
  const json* node = &claims;
  std::size_t start = 0;
  // A claim named with dots (Auth0's namespaced "https://example.com/roles") is taken whole
  // first; otherwise the dots are a path into objects.
  if (const auto whole = claims.find(rolesClaim); whole != claims.end()) {
    node = &*whole;
    start = rolesClaim.size() + 1;
  }
  while (node != nullptr && start <= rolesClaim.size()) {
    const auto end = std::min(rolesClaim.find('.', start), rolesClaim.size());
    const std::string name = rolesClaim.substr(start, end - start);
    const auto it = node->is_object() ? node->find(name) : node->end();
    node = node->is_object() && it != node->end() ? &*it : nullptr;
    start = end + 1;
  }
  std::vector<std::string> names;
  if (node != nullptr) addRoles(*node, names);
  std::vector<std::string> roles;
  for (const auto& known : knownRoles()) {
    if (std::find(names.begin(), names.end(), known) != names.end()) roles.push_back(known);
  }
  return roles;
}

Result<Principal> BearerAuthenticator::authenticate(const Request& request) {
  const auto header = request.header("authorization");
  if (!header) {
    return invalid("Authorization", "a bearer token is required (Authorization: Bearer <JWT>)");
  }
  const auto token = bearerToken(*header);
  if (!token) return invalid("Authorization", "must be 'Bearer <JWT>'");
  auto verified = verifier_.verify(*token);
  if (!verified) return invalid("Authorization", verified.error().message);
  if (!isSafeToken(verified->subject)) {
    // It becomes part of initiatedBy, idempotency scopes and logs.
    return invalid("Authorization", "the token's sub must be 1-200 printable ASCII characters");
  }
  Principal principal;
  principal.subject = std::move(verified->subject);
  principal.roles = rolesOf(verified->claims, options_.rolesClaim);
  return principal;
}

}  // namespace orders::http
