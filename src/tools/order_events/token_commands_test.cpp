// `order-events token mint|jwks` through the CLI's entry point, with keys made by the `openssl`
// command line (as a developer would make them): every token it mints passes the service's
// verifier with the key set it prints.

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "auth/jwt_verifier.hpp"
#include "cli_test_support.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::cli;
using testing::TempDir;

void openssl(const std::string& arguments) {
  ASSERT_EQ(std::system(("openssl " + arguments + " 2>/dev/null").c_str()), 0) << arguments;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

Result<auth::VerifiedToken> verify(const std::string& token, const auth::KeySet& keys) {
  auth::VerifierOptions options;
  options.issuer = "dev";
  options.audience = "order-service";
  return auth::verifyJwt(
      token, keys, options,
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
}

TEST(TokenCommands, MintsRs256AndEs256TokensThatTheJwksOfTheirPublicKeysVerifies) {
  TempDir dir("token-cli");
  openssl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + dir.file("rsa.pem"));
  openssl("pkey -in " + dir.file("rsa.pem") + " -pubout -out " + dir.file("rsa.pub.pem"));
  openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + dir.file("ec.pem"));
  openssl("pkey -in " + dir.file("ec.pem") + " -pubout -out " + dir.file("ec.pub.pem"));

  auto jwks = cli({"token", "jwks", "--public-key", dir.file("rsa.pub.pem"), "--kid", "k-rsa",
                   "--public-key", dir.file("ec.pub.pem"), "--kid", "k-ec"});
  ASSERT_EQ(jwks.code, 0) << jwks.err;
  auto keys = auth::KeySet::fromJwks(jwks.out);
  ASSERT_TRUE(keys) << keys.error().message << "\n" << jwks.out;
  EXPECT_EQ(keys->size(), 2u);

  for (const auto& [pem, kid, alg] : {std::tuple{"rsa.pem", "k-rsa", auth::JwtAlgorithm::kRs256},
                                      std::tuple{"ec.pem", "k-ec", auth::JwtAlgorithm::kEs256}}) {
    auto minted = cli({"token", "mint", "--sub", "3fa85f64-5717-4562-b3fc-2c963f66afa6", "--role",
                       "customer", "--private-key", dir.file(pem), "--kid", kid, "--iss", "dev",
                       "--aud", "order-service", "--ttl", "120"});
    ASSERT_EQ(minted.code, 0) << minted.err;
    auto verified = verify(trimmed(minted.out), keys.value());
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(verified->algorithm, alg);
    EXPECT_EQ(verified->claims.at("roles"), json::array({"customer"}));
  }
}

TEST(TokenCommands, MintsHs256WithASecretFileAndRolesAsScope) {
  TempDir dir("token-cli");
  const std::string secret = "a-development-secret-of-32-bytes-or-more";
  dir.write("secret", secret + "\n");
  auto minted = cli({"token", "mint", "--sub", "payments", "--role", "payment-service", "--role",
                     "operator", "--secret-file", dir.file("secret"), "--roles-claim", "scope",
                     "--iss", "dev", "--aud", "order-service"});
  ASSERT_EQ(minted.code, 0) << minted.err;
  auth::KeySet keys;
  ASSERT_TRUE(keys.add(auth::VerificationKey::hmac("", secret).value()));
  auto verified = verify(trimmed(minted.out), keys);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->claims.at("scope"), "payment-service operator");
}

TEST(TokenCommands, BadInputIsExit2WithAMessage) {
  TempDir dir("token-cli");
  dir.write("short", "too short");
  auto weak = cli({"token", "mint", "--sub", "x", "--secret-file", dir.file("short")});
  EXPECT_EQ(weak.code, 2);
  EXPECT_NE(weak.err.find("32 bytes"), std::string::npos) << weak.err;
  auto both = cli({"token", "mint", "--sub", "x", "--secret-file", dir.file("short"),
                   "--private-key", dir.file("short"), "--kid", "k"});
  EXPECT_EQ(both.code, 2);
  auto notPem = cli({"token", "jwks", "--public-key", dir.file("short"), "--kid", "k"});
  EXPECT_EQ(notPem.code, 2);
  EXPECT_NE(notPem.err.find("not a PEM public key"), std::string::npos) << notPem.err;
  auto missing = cli({"token", "jwks", "--public-key", dir.file("absent.pem"), "--kid", "k"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("absent.pem"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace orders
