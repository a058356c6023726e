#include "auth/key_set.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "auth/base64url.hpp"
#include "events/exact_json.hpp"
#include "openssl_handles.hpp"

namespace orders::auth {

using namespace detail;

struct VerificationKey::Material {
  Pkey publicKey;      // RS256, ES256
  std::string secret;  // HS256
};

namespace {

constexpr int kMinRsaBits = 2048;
constexpr std::size_t kMinHmacSecretBytes = 32;
constexpr std::size_t kP256CoordinateBytes = 32;

Error keyError(const std::string& kid, const std::string& message) {
  return Error{ErrorCode::kInvalidArgument,
               (kid.empty() ? std::string("key") : "key '" + kid + "'") + ": " + message};
}

Result<Bignum> bignumOf(const std::string& kid, const char* member, std::string_view encoded) {
  auto bytes = base64UrlDecode(encoded);
  if (!bytes || bytes->empty()) {
    return keyError(kid, std::string("member '") + member + "' is not base64url");
  }
  Bignum number(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                          static_cast<int>(bytes->size()), nullptr));
  if (!number) return keyError(kid, takeOpensslError());
  return number;
}

Result<Pkey> keyFromParams(const std::string& kid, const char* type, OSSL_PARAM_BLD* builder) {
  Params params(OSSL_PARAM_BLD_to_param(builder));
  PkeyCtx context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) <= 0 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return keyError(
        kid, "not a valid " + std::string(type) + " public key (" + takeOpensslError() + ")");
  }
  return Pkey(key);
}

/// A JWS signature in OpenSSL's form: ES256's r||s becomes a DER ECDSA-Sig-Value.
std::optional<std::string> derEcdsaSignature(std::string_view raw) {
  if (raw.size() != 2 * kP256CoordinateBytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, kP256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kP256CoordinateBytes, kP256CoordinateBytes, nullptr);
  EcdsaSig signature(ECDSA_SIG_new());
  if (!r || !s || !signature || ECDSA_SIG_set0(signature.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(signature.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool verifyWithPublicKey(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  MdCtx context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    ERR_clear_error();
    return false;
  }
  const int verified = EVP_DigestVerify(
      context.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(input.data()), input.size());
  ERR_clear_error();  // a wrong signature leaves errors on the queue; they are not news
  return verified == 1;
}

}  // namespace

std::string_view algorithmName(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kRs256:
      return "RS256";
    case JwtAlgorithm::kEs256:
      return "ES256";
    case JwtAlgorithm::kHs256:
      return "HS256";
  }
  return "?";
}

std::optional<JwtAlgorithm> parseAlgorithm(std::string_view name) {
  if (name == "RS256") return JwtAlgorithm::kRs256;
  if (name == "ES256") return JwtAlgorithm::kEs256;
  if (name == "HS256") return JwtAlgorithm::kHs256;
  return std::nullopt;
}

VerificationKey::VerificationKey(std::string kid, JwtAlgorithm algorithm,
                                 std::unique_ptr<Material> material)
    : kid_(std::move(kid)), algorithm_(algorithm), material_(std::move(material)) {}

VerificationKey::~VerificationKey() = default;

Result<std::shared_ptr<const VerificationKey>> VerificationKey::rsa(std::string kid,
                                                                    std::string_view n,
                                                                    std::string_view e) {
  auto modulus = bignumOf(kid, "n", n);
  if (!modulus) return modulus.error();
  auto exponent = bignumOf(kid, "e", e);
  if (!exponent) return exponent.error();
  if (BN_num_bits(modulus->get()) < kMinRsaBits) {
    return keyError(kid, "RSA modulus of " + std::to_string(BN_num_bits(modulus->get())) +
                             " bits; at least 2048 are required");
  }
  ParamBld builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus->get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent->get()) != 1) {
    return keyError(kid, takeOpensslError());
  }
  auto key = keyFromParams(kid, "RSA", builder.get());
  if (!key) return key.error();
  auto material = std::make_unique<Material>();
  material->publicKey = std::move(key).value();
  return std::shared_ptr<const VerificationKey>(
      new VerificationKey(std::move(kid), JwtAlgorithm::kRs256, std::move(material)));
}

Result<std::shared_ptr<const VerificationKey>> VerificationKey::p256(std::string kid,
                                                                     std::string_view x,
                                                                     std::string_view y) {
  const auto xBytes = base64UrlDecode(x);
  const auto yBytes = base64UrlDecode(y);
  if (!xBytes || xBytes->size() != kP256CoordinateBytes) {
    return keyError(kid, "member 'x' must be 32 bytes of base64url");
  }
  if (!yBytes || yBytes->size() != kP256CoordinateBytes) {
    return keyError(kid, "member 'y' must be 32 bytes of base64url");
  }
  // SEC 1 uncompressed point: 0x04 || x || y.
  const std::string point = std::string(1, '\x04') + *xBytes + *yBytes;
  ParamBld builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return keyError(kid, takeOpensslError());
  }
  auto key = keyFromParams(kid, "EC", builder.get());
  if (!key) return key.error();
  // fromdata decodes the point; the check makes sure it is on the curve (invalid-curve attacks).
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return keyError(kid, "the point (x, y) is not on P-256 (" + takeOpensslError() + ")");
  }
  auto material = std::make_unique<Material>();
  material->publicKey = std::move(key).value();
  return std::shared_ptr<const VerificationKey>(
      new VerificationKey(std::move(kid), JwtAlgorithm::kEs256, std::move(material)));
}

Result<std::shared_ptr<const VerificationKey>> VerificationKey::hmac(std::string kid,
                                                                     std::string secret) {
  if (secret.size() < kMinHmacSecretBytes) {
    return keyError(kid, "an HS256 secret needs at least 32 bytes (RFC 7518 §3.2); it has " +
                             std::to_string(secret.size()));
  }
  auto material = std::make_unique<Material>();
  material->secret = std::move(secret);
  return std::shared_ptr<const VerificationKey>(
      new VerificationKey(std::move(kid), JwtAlgorithm::kHs256, std::move(material)));
}

bool VerificationKey::verify(std::string_view signingInput, std::string_view signature) const {
  switch (algorithm_) {
    case JwtAlgorithm::kHs256: {
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      if (HMAC(EVP_sha256(), material_->secret.data(), static_cast<int>(material_->secret.size()),
               reinterpret_cast<const unsigned char*>(signingInput.data()), signingInput.size(),
               mac, &length) == nullptr) {
        ERR_clear_error();
        return false;
      }
      // The length is public (32); the bytes are compared in constant time.
      return signature.size() == length && CRYPTO_memcmp(mac, signature.data(), length) == 0;
    }
    case JwtAlgorithm::kRs256:
      return verifyWithPublicKey(material_->publicKey.get(), signingInput, signature);
    case JwtAlgorithm::kEs256: {
      const auto der = derEcdsaSignature(signature);
      return der && verifyWithPublicKey(material_->publicKey.get(), signingInput, *der);
    }
  }
  return false;
}

Status KeySet::add(std::shared_ptr<const VerificationKey> key) {
  for (const auto& existing : keys_) {
    if (existing->kid() == key->kid()) {
      return Error{ErrorCode::kInvalidArgument,
                   key->kid().empty() ? std::string("two keys without a kid: only one key may "
                                                    "answer tokens that name no kid")
                                      : "two keys with kid '" + key->kid() + "'"};
    }
  }
  keys_.push_back(std::move(key));
  return okStatus();
}

const VerificationKey* KeySet::find(const std::optional<std::string>& kid) const {
  const std::string wanted = kid.value_or("");
  for (const auto& key : keys_) {
    if (key->kid() == wanted) return key.get();
  }
  return nullptr;
}

Result<KeySet> KeySet::fromJwks(std::string_view document, std::vector<std::string>* skipped) {
  auto parsed = parseExactJson(document, JsonLimits{8});
  if (!parsed) return Error{ErrorCode::kInvalidArgument, "JWKS: " + parsed.error().message};
  const nlohmann::json& root = parsed->value;
  if (!root.is_object() || !root.contains("keys") || !root["keys"].is_array()) {
    return Error{ErrorCode::kInvalidArgument, "JWKS: must be an object with a \"keys\" array"};
  }
  auto member = [](const nlohmann::json& jwk, const char* name) -> std::optional<std::string> {
    auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  KeySet set;
  std::size_t index = 0;
  for (const auto& jwk : root["keys"]) {
    const std::string where = "JWKS keys/" + std::to_string(index++);
    if (!jwk.is_object()) return Error{ErrorCode::kInvalidArgument, where + ": not an object"};
    const std::string kid = member(jwk, "kid").value_or("");
    const std::string kty = member(jwk, "kty").value_or("");
    const auto use = member(jwk, "use");
    const auto alg = member(jwk, "alg");
    auto skip = [&](const std::string& why) {
      if (skipped) skipped->push_back(where + " (kid '" + kid + "'): " + why);
    };
    if (use && *use != "sig") {
      skip("use '" + *use + "' is not for signatures");
      continue;
    }
    std::shared_ptr<const VerificationKey> key;
    if (kty == "RSA") {
      if (alg && *alg != "RS256") {
        skip("alg '" + *alg + "' is not accepted (RS256 only for RSA keys)");
        continue;
      }
      const auto n = member(jwk, "n");
      const auto e = member(jwk, "e");
      if (!n || !e) return Error{ErrorCode::kInvalidArgument, where + ": an RSA key needs n and e"};
      auto made = VerificationKey::rsa(kid, *n, *e);
      if (!made) return Error{ErrorCode::kInvalidArgument, where + ": " + made.error().message};
      key = std::move(made).value();
    } else if (kty == "EC") {
      const std::string crv = member(jwk, "crv").value_or("");
      if (crv != "P-256" || (alg && *alg != "ES256")) {
        skip("curve '" + crv + "' / alg '" + alg.value_or("") +
             "' is not accepted (P-256 with ES256 only)");
        continue;
      }
      const auto x = member(jwk, "x");
      const auto y = member(jwk, "y");
      if (!x || !y) return Error{ErrorCode::kInvalidArgument, where + ": an EC key needs x and y"};
      auto made = VerificationKey::p256(kid, *x, *y);
      if (!made) return Error{ErrorCode::kInvalidArgument, where + ": " + made.error().message};
      key = std::move(made).value();
    } else {
      // Symmetric ("oct") keys are not taken from a JWKS: a published key set is public, a
      // shared secret must not be (--jwt-hs256-secret-file).
      skip("kty '" + kty + "' is not accepted (RSA or EC)");
      continue;
    }
    if (auto added = set.add(std::move(key)); !added) {
      return Error{ErrorCode::kInvalidArgument, where + ": " + added.error().message};
    }
  }
  if (set.size() == 0) {
    return Error{ErrorCode::kInvalidArgument,
                 "JWKS: no usable signing key (RS256 RSA or ES256 P-256) in the document"};
  }
  return set;
}

}  // namespace orders::auth
