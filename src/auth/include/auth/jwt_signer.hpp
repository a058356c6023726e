#pragma once
// Making tokens and key sets, for development, tests and benchmarks (`order-events token`):
// signing with an HS256 secret or an RS256/ES256 private key in PEM, and the JWK (RFC 7517) of a
// public key. The service itself never signs; it only verifies (auth/jwt_verifier.hpp).

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/key_set.hpp"
#include "common/result.hpp"

namespace orders::auth {

/// A signing key pinned to one algorithm, like its VerificationKey counterpart.
class SigningKey {
 public:
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  /// An RSA (RS256) or P-256 (ES256) private key in PEM (PKCS#8 or traditional). The algorithm
  /// follows from the key type; other key types are kInvalidArgument.
  static Result<std::unique_ptr<SigningKey>> fromPrivateKeyPem(std::string_view pem,
                                                               std::string kid);
  static Result<std::unique_ptr<SigningKey>> hmac(std::string secret, std::string kid = "");
  /// A fresh key made here (tests, benchmarks): RSA 2048 for RS256, P-256 for ES256.
  static Result<std::unique_ptr<SigningKey>> generate(JwtAlgorithm algorithm, std::string kid);

  JwtAlgorithm algorithm() const { return algorithm_; }
  const std::string& kid() const { return kid_; }

  /// The compact JWS of `claims`: header {"alg", "typ": "JWT", "kid" when set}.
  Result<std::string> sign(const nlohmann::json& claims) const;
  /// The signature of `signingInput` as JWS wants it (ES256: r||s, 64 bytes).
  Result<std::string> signature(std::string_view signingInput) const;

  /// The public half as a JWK ({"kty","kid","use":"sig","alg",...}); HS256 keys have none
  /// (kInvalidArgument).
  Result<nlohmann::json> publicJwk() const;
  /// The public half in PEM (SubjectPublicKeyInfo); not for HS256.
  Result<std::string> publicKeyPem() const;

  struct Material;

 private:
  SigningKey(JwtAlgorithm algorithm, std::string kid, std::unique_ptr<Material> material);
  JwtAlgorithm algorithm_;
  std::string kid_;
  std::unique_ptr<Material> material_;
};

/// The JWK of a public key in PEM (RSA: RS256, P-256: ES256), with `kid`.
Result<nlohmann::json> publicJwkFromPem(std::string_view pem, const std::string& kid);

}  // namespace orders::auth
