// Key files: loaded at start, reloaded when they change (polled on the manual clock) or when
// asked (SIGHUP in the service); a bad new file keeps the keys in force.

#include "auth/key_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "auth/jwt_signer.hpp"
#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"

namespace orders::auth {
namespace {

using nlohmann::json;

class KeyFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    first_ = SigningKey::generate(JwtAlgorithm::kEs256, "k1").value();
    second_ = SigningKey::generate(JwtAlgorithm::kEs256, "k2").value();
    writeJwks({first_.get()});
  }
  void writeJwks(const std::vector<const SigningKey*>& keys) {
    json list = json::array();
    for (const auto* key : keys) list.push_back(key->publicJwk().value());
    // Via a rename, as a deployment replaces a file: a new inode, never a half-written file.
    dir_.write("jwks.json.tmp", json{{"keys", list}}.dump());
    std::filesystem::rename(dir_.file("jwks.json.tmp"), dir_.file("jwks.json"));
  }
  std::string token(const SigningKey& key) const {
    return key.sign({{"sub", "svc"}, {"exp", clock_.now().time_since_epoch().count() / 1000 + 60}})
        .value();
  }
  bool accepts(JwtVerifier& verifier, const SigningKey& key) const {
    return verifier.verify(token(key)).ok();
  }

  testing::TempDir dir_;
  testing::ManualClock clock_;
  std::unique_ptr<SigningKey> first_;
  std::unique_ptr<SigningKey> second_;
};

TEST_F(KeyFilesTest, AChangedJwksFileIsPickedUpAfterThePollInterval) {
  auto keys = ReloadingKeySet::open({.jwksFile = dir_.file("jwks.json")}, clock_);
  ASSERT_TRUE(keys) << keys.error().message;
  JwtVerifier verifier(**keys, clock_, {});
  EXPECT_TRUE(accepts(verifier, *first_));
  EXPECT_FALSE(accepts(verifier, *second_));

  writeJwks({second_.get()});  // key rotation: k1 retired, k2 in
  EXPECT_TRUE(accepts(verifier, *first_)) << "looked before the poll interval";
  clock_.advance(std::chrono::milliseconds(1000));
  EXPECT_TRUE(accepts(verifier, *second_));
  EXPECT_FALSE(accepts(verifier, *first_));
  EXPECT_EQ((*keys)->reloadCount(), 1u);
}

TEST_F(KeyFilesTest, ABadNewFileKeepsTheKeysInForceUntilItIsFixed) {
  auto keys = ReloadingKeySet::open({.jwksFile = dir_.file("jwks.json")}, clock_);
  ASSERT_TRUE(keys);
  JwtVerifier verifier(**keys, clock_, {});
  dir_.write("jwks.json", R"({"keys": [)");
  clock_.advance(std::chrono::seconds(2));
  EXPECT_TRUE(accepts(verifier, *first_));
  EXPECT_NE((*keys)->lastError().find("jwks.json"), std::string::npos) << (*keys)->lastError();
  EXPECT_FALSE((*keys)->reload());  // asked explicitly (SIGHUP): the same refusal
  EXPECT_TRUE(accepts(verifier, *first_));

  writeJwks({first_.get(), second_.get()});
  clock_.advance(std::chrono::seconds(2));
  EXPECT_TRUE(accepts(verifier, *second_));
  EXPECT_EQ((*keys)->lastError(), "");
}

TEST_F(KeyFilesTest, ReloadReadsTheFilesNowAndTheSecretFileLosesItsTrailingNewline) {
  const std::string secret = "a-shared-secret-of-more-than-32-bytes";
  dir_.write("secret", secret + "\n");
  auto keys = ReloadingKeySet::open(
      {.jwksFile = dir_.file("jwks.json"), .hs256SecretFile = dir_.file("secret")}, clock_);
  ASSERT_TRUE(keys) << keys.error().message;
  JwtVerifier verifier(**keys, clock_, {});
  EXPECT_TRUE(accepts(verifier, *SigningKey::hmac(secret).value()));
  EXPECT_TRUE(accepts(verifier, *first_));

  writeJwks({second_.get()});
  ASSERT_TRUE((*keys)->reload());  // no clock advance needed
  EXPECT_TRUE(accepts(verifier, *second_));
}

TEST_F(KeyFilesTest, StartFailsWithAMessageNamingTheFile) {
  auto missing = ReloadingKeySet::open({.jwksFile = dir_.file("absent.json")}, clock_);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("absent.json"), std::string::npos);
  dir_.write("short", "abc");
  auto weak = ReloadingKeySet::open({.hs256SecretFile = dir_.file("short")}, clock_);
  ASSERT_FALSE(weak);
  EXPECT_NE(weak.error().message.find("at least 32 bytes"), std::string::npos);
  EXPECT_FALSE(ReloadingKeySet::open({}, clock_));
}

}  // namespace
}  // namespace orders::auth
