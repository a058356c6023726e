#pragma once
// Verifying bearer tokens: JWS compact serialisation (RFC 7515) of JWT claims (RFC 7519), signed
// RS256, ES256 or HS256 (RFC 7518). What a token must be to pass, in the order it is checked:
//   - at most VerifierOptions::maxTokenBytes, three base64url parts (strict: auth/base64url.hpp);
//   - a header that is a JSON object with a supported `alg` (never "none"), no `crit`, `typ`
//     absent, "JWT" or "at+jwt";
//   - a key for its `kid` (or, without a kid, the key set's keyless key) whose own algorithm is
//     the header's `alg`: the algorithm is pinned to the key, never chosen by the token;
//   - a valid signature;
//   - claims that are a JSON object with a non-empty string `sub`, a numeric `exp` in the future
//     and `nbf` (if present) in the past, both with the leeway; `iss` equal to the configured
//     issuer and `aud` (a string or an array) containing the configured audience, when those are
//     configured.
// Every refusal is kInvalidArgument with a message that says which rule failed (and never
// echoes key material); the HTTP layer answers 401 with it.

#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/key_set.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace orders::auth {

struct VerifierOptions {
  std::optional<std::string> issuer;    // required `iss`; nullopt: not checked
  std::optional<std::string> audience;  // required member of `aud`; nullopt: not checked
  std::chrono::seconds leeway{30};      // clock skew allowed on exp and nbf
  std::size_t maxTokenBytes = std::size_t{8} * 1024;
};

struct VerifiedToken {
  std::string kid;
  JwtAlgorithm algorithm = JwtAlgorithm::kRs256;
  std::string subject;
  std::optional<std::string> issuer;
  std::vector<std::string> audience;
  Timestamp expiresAt{};
  nlohmann::json claims;  // the whole claims object, for roles and the like
};

/// Verifies `token` against `keys` at wall time `now`. Pure; never throws, whatever the input
/// (fuzzed: tests/fuzz/jwt_fuzz.cpp).
Result<VerifiedToken> verifyJwt(std::string_view token, const KeySet& keys,
                                const VerifierOptions& options, Timestamp now);

/// Where a verifier gets the key set in force. Implementations are thread-safe; the set they
/// return stays valid as long as it is held, whatever reloads meanwhile.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual std::shared_ptr<const KeySet> current() = 0;
};

/// A KeyProvider of one fixed set (tests, benchmarks).
class FixedKeys final : public KeyProvider {
 public:
  explicit FixedKeys(KeySet keys) : keys_(std::make_shared<const KeySet>(std::move(keys))) {}
  std::shared_ptr<const KeySet> current() override { return keys_; }

 private:
  std::shared_ptr<const KeySet> keys_;
};

/// verifyJwt with the provider's current keys and the clock's time. Thread-safe; references must
/// outlive it.
class JwtVerifier {
 public:
  JwtVerifier(KeyProvider& keys, const Clock& clock, VerifierOptions options)
      : keys_(keys), clock_(clock), options_(std::move(options)) {}

  Result<VerifiedToken> verify(std::string_view token) const {
    return verifyJwt(token, *keys_.current(), options_, clock_.now());
  }
  const VerifierOptions& options() const { return options_; }

 private:
  KeyProvider& keys_;
  const Clock& clock_;
  VerifierOptions options_;
};

}  // namespace orders::auth
