#pragma once
// The keys tokens are verified with (RFC 7517 JWK / JWKS, and an HS256 shared secret), each
// pinned to exactly one algorithm: a key verifies only tokens of its own algorithm, so neither
// `alg: none` nor an RSA public key reused as an HMAC secret (algorithm confusion) can pass.
// OpenSSL stays inside auth/: no OpenSSL type appears in these headers.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace orders::auth {

/// The JWS algorithms (RFC 7518 §3.1) this service accepts. Nothing else, in particular not
/// "none".
enum class JwtAlgorithm { kRs256, kEs256, kHs256 };

std::string_view algorithmName(JwtAlgorithm algorithm);
/// "RS256", "ES256", "HS256" (case-sensitive, as RFC 7518 spells them); nullopt otherwise.
std::optional<JwtAlgorithm> parseAlgorithm(std::string_view name);

/// One verification key: an RSA (>= 2048 bits) or P-256 public key, or an HMAC secret
/// (>= 32 bytes, RFC 7518 §3.2). Immutable once made; safe to share between threads.
class VerificationKey {
 public:
  ~VerificationKey();
  VerificationKey(const VerificationKey&) = delete;
  VerificationKey& operator=(const VerificationKey&) = delete;

  /// An RSA public key from its JWK members `n` and `e` (base64url big-endian integers).
  static Result<std::shared_ptr<const VerificationKey>> rsa(std::string kid, std::string_view n,
                                                            std::string_view e);
  /// A P-256 public key from its JWK members `x` and `y` (32 bytes each, base64url). The point
  /// must be on the curve.
  static Result<std::shared_ptr<const VerificationKey>> p256(std::string kid, std::string_view x,
                                                             std::string_view y);
  /// An HS256 secret (the raw bytes). `kid` may be empty.
  static Result<std::shared_ptr<const VerificationKey>> hmac(std::string kid, std::string secret);

  const std::string& kid() const { return kid_; }
  JwtAlgorithm algorithm() const { return algorithm_; }

  /// Whether `signature` (the decoded JWS signature) signs `signingInput` with this key, under
  /// this key's own algorithm. HMACs are compared in constant time; an ES256 signature must be
  /// the 64 bytes r||s of RFC 7518 §3.4 (anything else is false).
  bool verify(std::string_view signingInput, std::string_view signature) const;

  struct Material;  // the OpenSSL side (key_set.cpp)

 private:
  VerificationKey(std::string kid, JwtAlgorithm algorithm, std::unique_ptr<Material> material);
  std::string kid_;
  JwtAlgorithm algorithm_;
  std::unique_ptr<Material> material_;
};

/// A set of verification keys, looked up by `kid`. At most one key may have no kid (the HS256
/// secret, typically): it answers tokens whose header carries no `kid`. Immutable once built
/// and shared by reference count, so a reload swaps whole sets.
class KeySet {
 public:
  /// Parses a JWKS document ({"keys": [...]}, RFC 7517 §5). Usable keys: kty "RSA" (n, e) and
  /// kty "EC" with crv "P-256" (x, y), with `alg` absent or matching the key type (RS256, ES256)
  /// and `use` absent or "sig". Keys of other types or uses (an "enc" key, an "oct" key, RSA-OAEP)
  /// are skipped and described in `skipped`; a usable-looking key that is malformed, a duplicate
  /// kid, or a document without a single usable key is an error naming the key.
  static Result<KeySet> fromJwks(std::string_view document,
                                 std::vector<std::string>* skipped = nullptr);

  /// Adds `key`; kInvalidArgument if its kid (or, for an empty kid, the keyless slot) is taken.
  Status add(std::shared_ptr<const VerificationKey> key);

  /// The key for a token whose header has `kid` (nullopt: no kid in the header), or null.
  const VerificationKey* find(const std::optional<std::string>& kid) const;

  std::size_t size() const { return keys_.size(); }
  const std::vector<std::shared_ptr<const VerificationKey>>& keys() const { return keys_; }

 private:
  std::vector<std::shared_ptr<const VerificationKey>> keys_;
};

}  // namespace orders::auth
