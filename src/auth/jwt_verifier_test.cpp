// The verifier against tokens made here with freshly generated keys (OpenSSL): what must pass,
// and every way a token must be refused.

#include "auth/jwt_verifier.hpp"

#include <gtest/gtest.h>

#include "auth/base64url.hpp"
#include "auth/jwt_signer.hpp"

namespace orders::auth {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const Timestamp kNow(std::chrono::milliseconds(1714557600000));  // 2024-05-01T10:00:00Z
const long long kNowSeconds = 1714557600;

class JwtVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = SigningKey::generate(JwtAlgorithm::kRs256, "rsa-1").value().release();
    ec_ = SigningKey::generate(JwtAlgorithm::kEs256, "ec-1").value().release();
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
  }

  void SetUp() override {
    auto jwks = json{{"keys", {rsa_->publicJwk().value(), ec_->publicJwk().value()}}};
    auto set = KeySet::fromJwks(jwks.dump());
    ASSERT_TRUE(set) << set.error().message;
    keys_ = std::move(set).value();
    hmac_ = SigningKey::hmac(kSecret).value();
    ASSERT_TRUE(keys_.add(VerificationKey::hmac("", kSecret).value()));
    options_.issuer = "https://issuer.example";
    options_.audience = "order-service";
  }

  static json claims() {
    return {{"sub", "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
            {"iss", "https://issuer.example"},
            {"aud", "order-service"},
            {"exp", kNowSeconds + 300},
            {"iat", kNowSeconds},
            {"roles", {"customer"}}};
  }

  Result<VerifiedToken> verify(const std::string& token) const {
    return verifyJwt(token, keys_, options_, kNow);
  }
  void expectRefused(const std::string& token, const std::string& reason) const {
    auto result = verify(token);
    ASSERT_FALSE(result) << "accepted: " << token;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(result.error().message.find(reason), std::string::npos) << result.error().message;
  }

  /// A token with any header and claims, signed by `key` over exactly what is encoded.
  static std::string craft(const json& header, const json& body, const SigningKey& key) {
    const std::string input = base64UrlEncode(header.dump()) + "." + base64UrlEncode(body.dump());
    return input + "." + base64UrlEncode(key.signature(input).value());
  }

  static inline const std::string kSecret = "0123456789abcdef0123456789abcdef-service-secret";
  static inline SigningKey* rsa_ = nullptr;
  static inline SigningKey* ec_ = nullptr;
  std::unique_ptr<SigningKey> hmac_;
  KeySet keys_;
  VerifierOptions options_;
};

TEST_F(JwtVerifierTest, AcceptsValidTokensOfEachAlgorithm) {
  for (const SigningKey* key : {rsa_, ec_, hmac_.get()}) {
    auto token = key->sign(claims());
    ASSERT_TRUE(token);
    auto verified = verify(*token);
    ASSERT_TRUE(verified) << algorithmName(key->algorithm()) << ": " << verified.error().message;
    EXPECT_EQ(verified->algorithm, key->algorithm());
    EXPECT_EQ(verified->subject, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    EXPECT_EQ(verified->kid, key->kid());
    EXPECT_EQ(verified->claims.at("roles"), json::array({"customer"}));
  }
}

TEST_F(JwtVerifierTest, Es256SignaturesAreRawRAndSOf64Bytes) {
  const std::string token = ec_->sign(claims()).value();
  const auto signature = base64UrlDecode(token.substr(token.rfind('.') + 1));
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->size(), 64u);
  // The same signature in DER (what OpenSSL produces natively) is refused.
  const std::string input = token.substr(0, token.rfind('.'));
  expectRefused(input + "." + base64UrlEncode(std::string(70, '\x30')), "signature is invalid");
  expectRefused(input + "." + base64UrlEncode(signature->substr(0, 63)), "signature is invalid");
}

TEST_F(JwtVerifierTest, AcceptsAnAudienceArrayAndTheLeewayOnExpAndNbf) {
  json body = claims();
  body["aud"] = {"other", "order-service"};
  body["exp"] = kNowSeconds - 10;  // expired 10 s ago: inside the 30 s leeway
  body["nbf"] = kNowSeconds + 10;  // valid in 10 s: inside the leeway
  EXPECT_TRUE(verify(rsa_->sign(body).value()));
  options_.leeway = seconds(5);
  expectRefused(rsa_->sign(body).value(), "expired");
}

TEST_F(JwtVerifierTest, RefusesExpiredAndNotYetValidTokens) {
  json expired = claims();
  expired["exp"] = kNowSeconds - 31;
  expectRefused(rsa_->sign(expired).value(), "has expired");
  json early = claims();
  early["nbf"] = kNowSeconds + 31;
  expectRefused(ec_->sign(early).value(), "not valid yet");
  json noExpiry = claims();
  noExpiry.erase("exp");
  expectRefused(hmac_->sign(noExpiry).value(), "no expiry");
  json textExpiry = claims();
  textExpiry["exp"] = "tomorrow";
  expectRefused(hmac_->sign(textExpiry).value(), "exp is not a number");
}

TEST_F(JwtVerifierTest, RefusesWrongIssuerAndWrongAudience) {
  json issuer = claims();
  issuer["iss"] = "https://evil.example";
  expectRefused(rsa_->sign(issuer).value(), "issuer");
  issuer.erase("iss");
  expectRefused(rsa_->sign(issuer).value(), "issuer");
  json audience = claims();
  audience["aud"] = {"billing", "reports"};
  expectRefused(rsa_->sign(audience).value(), "aud");
  audience.erase("aud");
  expectRefused(rsa_->sign(audience).value(), "aud");
  json noSubject = claims();
  noSubject["sub"] = "";
  expectRefused(rsa_->sign(noSubject).value(), "no subject");
}

TEST_F(JwtVerifierTest, RefusesATamperedPayloadAndATamperedSignature) {
  for (const SigningKey* key : {rsa_, ec_, hmac_.get()}) {
    const std::string token = key->sign(claims()).value();
    const auto dot1 = token.find('.');
    const auto dot2 = token.rfind('.');
    json forged = claims();
    forged["roles"] = {"operator"};
    expectRefused(token.substr(0, dot1 + 1) + base64UrlEncode(forged.dump()) + token.substr(dot2),
                  "signature is invalid");
    std::string signature = base64UrlDecode(token.substr(dot2 + 1)).value();
    signature[signature.size() / 2] ^= 0x01;
    expectRefused(token.substr(0, dot2 + 1) + base64UrlEncode(signature), "signature is invalid");
    expectRefused(token.substr(0, dot2 + 1), "signature is invalid");
  }
}

TEST_F(JwtVerifierTest, RefusesAlgNone) {
  const json header = {{"alg", "none"}, {"typ", "JWT"}};
  const std::string unsecured =
      base64UrlEncode(header.dump()) + "." + base64UrlEncode(claims().dump()) + ".";
  expectRefused(unsecured, "alg 'none' is not accepted");
  const json noneWithKid = {{"alg", "none"}, {"kid", "rsa-1"}};
  expectRefused(base64UrlEncode(noneWithKid.dump()) + "." + base64UrlEncode(claims().dump()) + ".",
                "not accepted");
  const json upper = {{"alg", "NONE"}};
  expectRefused(base64UrlEncode(upper.dump()) + "." + base64UrlEncode(claims().dump()) + ".",
                "not accepted");
}

TEST_F(JwtVerifierTest, RefusesAnRsaPublicKeyUsedAsAnHs256Secret) {
  // Algorithm confusion: the attacker knows the public key and "signs" with it as an HMAC key.
  const std::string pem = rsa_->publicKeyPem().value();
  const std::string jwk = rsa_->publicJwk().value().dump();
  for (const std::string& secret : {pem, jwk}) {
    auto forger = SigningKey::hmac(secret).value();
    expectRefused(craft({{"alg", "HS256"}, {"kid", "rsa-1"}}, claims(), *forger),
                  "is not the algorithm of its key (RS256)");
  }
  // Without the kid, the token lands on the keyless key, the real HS256 secret: still refused.
  auto forger = SigningKey::hmac(pem).value();
  expectRefused(craft({{"alg", "HS256"}}, claims(), *forger), "signature is invalid");
  // And the reverse: an RS256 token naming the HMAC key.
  expectRefused(craft({{"alg", "RS256"}}, claims(), *rsa_), "is not the algorithm of its key");
  // ES256 header on the RSA key.
  expectRefused(craft({{"alg", "ES256"}, {"kid", "rsa-1"}}, claims(), *ec_),
                "is not the algorithm of its key");
}

TEST_F(JwtVerifierTest, RefusesAnUnknownKidAndAMissingKidWithoutAKeylessKey) {
  auto stranger = SigningKey::generate(JwtAlgorithm::kEs256, "ec-unknown").value();
  expectRefused(stranger->sign(claims()).value(), "unknown key id (kid) 'ec-unknown'");
  KeySet onlyRsa = KeySet::fromJwks(json{{"keys", {rsa_->publicJwk().value()}}}.dump()).value();
  auto noKid = craft({{"alg", "RS256"}}, claims(), *rsa_);
  auto result = verifyJwt(noKid, onlyRsa, options_, kNow);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("names no key id"), std::string::npos);
}

TEST_F(JwtVerifierTest, RefusesMalformedTokens) {
  const std::string good = ec_->sign(claims()).value();
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  expectRefused("", "empty");
  expectRefused("abc", "three base64url parts");
  expectRefused("a.b", "three base64url parts");
  expectRefused(good + ".x", "three base64url parts");
  expectRefused("=" + good, "header is not base64url");
  // Claims that are not base64url: refused by the signature, before they are ever decoded.
  expectRefused(good.substr(0, dot2) + "+" + good.substr(dot2), "signature is invalid");
  expectRefused(base64UrlEncode("{\"alg\":") + good.substr(dot1), "header is not JSON");
  expectRefused(base64UrlEncode("[1]") + good.substr(dot1), "not a JSON object");
  expectRefused(
      base64UrlEncode(R"({"alg":"ES256","alg":"ES256","kid":"ec-1"})") + good.substr(dot1),
      "header is not JSON");  // duplicate keys
  expectRefused(good.substr(0, dot2 + 1) + "*", "signature is not base64url");
  expectRefused(craft({{"alg", "ES256"}, {"kid", "ec-1"}, {"crit", {"exp"}}}, claims(), *ec_),
                "crit");
  expectRefused(craft({{"alg", "ES256"}, {"kid", 7}}, claims(), *ec_), "kid is not a string");
  expectRefused(craft({{"alg", "ES256"}, {"kid", "ec-1"}, {"typ", "JOSE+JSON"}}, claims(), *ec_),
                "typ");
  // A validly signed token whose claims are not JSON.
  const json header = {{"alg", "HS256"}};
  const std::string input = base64UrlEncode(header.dump()) + "." + base64UrlEncode("not json");
  expectRefused(input + "." + base64UrlEncode(hmac_->signature(input).value()),
                "claims is not JSON");
  options_.maxTokenBytes = 64;
  expectRefused(good, "longer than 64 bytes");
}

TEST_F(JwtVerifierTest, KeysFromPemFilesRoundTripThroughTheirJwk) {
  auto pem = ec_->publicKeyPem().value();
  auto jwk = publicJwkFromPem(pem, "from-pem");
  ASSERT_TRUE(jwk) << jwk.error().message;
  EXPECT_EQ(jwk->at("kty"), "EC");
  EXPECT_EQ(jwk->at("alg"), "ES256");
  KeySet set = KeySet::fromJwks(json{{"keys", {*jwk}}}.dump()).value();
  const std::string token = craft({{"alg", "ES256"}, {"kid", "from-pem"}}, claims(), *ec_);
  EXPECT_TRUE(verifyJwt(token, set, options_, kNow));
  EXPECT_FALSE(
      publicJwkFromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", ""));
}

TEST(KeySetTest, SkipsKeysOfOtherUsesAndTypesAndRefusesMalformedOnes) {
  auto rsa = SigningKey::generate(JwtAlgorithm::kRs256, "sig").value();
  json signing = rsa->publicJwk().value();
  json encryption = signing;
  encryption["kid"] = "enc";
  encryption["use"] = "enc";
  encryption["alg"] = "RSA-OAEP";
  const json oct = {{"kty", "oct"}, {"kid", "sym"}, {"k", "c2VjcmV0"}};
  std::vector<std::string> skipped;
  auto set = KeySet::fromJwks(json{{"keys", {encryption, signing, oct}}}.dump(), &skipped);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->size(), 1u);
  EXPECT_EQ(skipped.size(), 2u);

  EXPECT_FALSE(KeySet::fromJwks(json{{"keys", {encryption}}}.dump()));        // nothing usable
  EXPECT_FALSE(KeySet::fromJwks(json{{"keys", {signing, signing}}}.dump()));  // duplicate kid
  EXPECT_FALSE(KeySet::fromJwks("{\"keys\": 1}"));
  EXPECT_FALSE(KeySet::fromJwks("not json"));
  json shortKey = signing;
  shortKey["n"] = base64UrlEncode(std::string(128, '\x7f'));  // 1024 bits
  auto refused = KeySet::fromJwks(json{{"keys", {shortKey}}}.dump());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("at least 2048"), std::string::npos);
  json offCurve = SigningKey::generate(JwtAlgorithm::kEs256, "ec").value()->publicJwk().value();
  offCurve["y"] = base64UrlEncode(std::string(32, '\x01'));
  refused = KeySet::fromJwks(json{{"keys", {offCurve}}}.dump());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("key 'ec'"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(VerificationKey::hmac("", "too short"));
}

}  // namespace
}  // namespace orders::auth
