// The roles table and bearer authentication, with tokens signed here (auth/jwt_signer.hpp).

#include "http/api_security.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "auth/jwt_signer.hpp"
#include "support/manual_clock.hpp"

namespace orders::http {
namespace {

using nlohmann::json;

std::optional<Grant> grant(std::vector<std::string> roles, const char* permission) {
  RoleAuthorizer authorizer;
  return authorizer.authorize(Principal{"someone", std::move(roles)}, RouteOptions{permission});
}

TEST(RoleAuthorizer, EachRoleHoldsExactlyItsPermissions) {
  using namespace permission;
  const std::vector<const char*> all{kListOrders,    kCreateOrder,  kReadOrder,     kUpdateOrder,
                                     kStartPayment,  kCancelOrder,  kRequestRefund, kReportPayment,
                                     kProcessRefund, kChangeStatus, kShip,          kDeliver,
                                     kOperate};
  const std::map<std::string, std::set<std::string>> expected{
      {"customer",
       {kListOrders, kCreateOrder, kReadOrder, kUpdateOrder, kStartPayment, kCancelOrder,
        kRequestRefund}},
      {"payment-service", {kReportPayment, kProcessRefund}},
      {"fulfillment-service", {kChangeStatus, kShip, kDeliver}},
      {"operator", {all.begin(), all.end()}},  // kOperate (the /admin/api routes) only here
      {"auditor", {}},                         // unknown roles grant nothing
  };
  for (const auto& [role, permissions] : expected) {
    for (const char* permission : all) {
      const auto granted = grant({role}, permission);
      EXPECT_EQ(granted.has_value(), permissions.count(permission) == 1)
          << role << " " << permission;
      if (granted) {
        EXPECT_EQ(granted->role, role);
        EXPECT_EQ(granted->ownOrdersOnly, role == "customer");
      }
    }
  }
  EXPECT_TRUE(grant({"operator"}, "operator:dlq"));  // routes added later: operators only
  EXPECT_FALSE(grant({"customer", "payment-service"}, "operator:dlq"));
  EXPECT_FALSE(grant({}, kReadOrder));
}

TEST(RoleAuthorizer, TheStrongestGrantingRoleActs) {
  auto both = grant({"customer", "operator"}, permission::kReadOrder);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->role, "operator");
  EXPECT_FALSE(both->ownOrdersOnly);
  auto mixed = grant({"customer", "payment-service"}, permission::kReadOrder);
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->role, "customer");
  EXPECT_TRUE(mixed->ownOrdersOnly);
}

TEST(InitiatedBy, NamesTheRoleAndTheSubject) {
  EXPECT_EQ(initiatedByOf(Principal{"3fa85f64", {"customer"}, "customer", true}), "user:3fa85f64");
  EXPECT_EQ(initiatedByOf(Principal{"payments", {"payment-service"}, "payment-service"}),
            "payment-service:payments");
  EXPECT_EQ(initiatedByOf(Principal{}), "anonymous");
}

TEST(BearerAuthenticator, RolesComeFromAnArrayAScopeStringOrANestedClaim) {
  const json claims = {{"roles", {"customer", "admin"}},
                       {"scope", "openid fulfillment-service profile"},
                       {"realm_access", {{"roles", {"operator"}}}}};
  EXPECT_EQ(BearerAuthenticator::rolesOf(claims, "roles"), std::vector<std::string>{"customer"});
  EXPECT_EQ(BearerAuthenticator::rolesOf(claims, "scope"),
            std::vector<std::string>{"fulfillment-service"});
  EXPECT_EQ(BearerAuthenticator::rolesOf(claims, "realm_access.roles"),
            std::vector<std::string>{"operator"});
  EXPECT_TRUE(BearerAuthenticator::rolesOf(claims, "groups").empty());
  EXPECT_EQ(BearerAuthenticator::rolesOf({{"https://shop.example/roles", {"operator"}}},
                                         "https://shop.example/roles"),
            std::vector<std::string>{"operator"});
  EXPECT_TRUE(BearerAuthenticator::rolesOf(claims, "realm_access.roles.x").empty());
  EXPECT_TRUE(BearerAuthenticator::rolesOf({{"roles", 7}}, "roles").empty());
}

TEST(BearerAuthenticator, VerifiesTheTokenOfTheAuthorizationHeader) {
  testing::ManualClock clock;
  const std::string secret = "0123456789abcdef0123456789abcdef";
  auth::KeySet keys;
  ASSERT_TRUE(keys.add(auth::VerificationKey::hmac("", secret).value()));
  auth::FixedKeys provider(std::move(keys));
  auth::JwtVerifier verifier(provider, clock, {});
  BearerAuthenticator authenticator(verifier, {"scope"});
  auto signer = auth::SigningKey::hmac(secret).value();
  const auto exp = clock.now().time_since_epoch().count() / 1000 + 60;
  const std::string token =
      signer->sign({{"sub", "svc-1"}, {"exp", exp}, {"scope", "payment-service"}}).value();
  auto withAuthorization = [](std::string value) {
    Request request;
    request.headers["authorization"] = std::move(value);
    return request;
  };
  auto principal = authenticator.authenticate(withAuthorization("Bearer " + token));
  ASSERT_TRUE(principal) << principal.error().message;
  EXPECT_EQ(principal->subject, "svc-1");
  EXPECT_EQ(principal->roles, std::vector<std::string>{"payment-service"});
  EXPECT_TRUE(authenticator.authenticate(withAuthorization("bearer " + token)));

  for (const std::string& refused :
       std::vector<std::string>{"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", token,
                                "Bearer " + token + "x"}) {
    auto result = authenticator.authenticate(withAuthorization(refused));
    ASSERT_FALSE(result) << refused;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  }
  auto missing = authenticator.authenticate(Request{});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("bearer token is required"), std::string::npos);
  const std::string spaced =
      signer->sign({{"sub", "has space"}, {"exp", exp}, {"scope", "operator"}}).value();
  EXPECT_FALSE(authenticator.authenticate(withAuthorization("Bearer " + spaced)));
}

}  // namespace
}  // namespace orders::http
