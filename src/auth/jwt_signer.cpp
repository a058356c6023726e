#include "auth/jwt_signer.hpp"

#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <vector>

#include "auth/base64url.hpp"
#include "openssl_handles.hpp"

namespace orders::auth {

using namespace detail;

struct SigningKey::Material {
  Pkey key;            // RS256, ES256
  std::string secret;  // HS256
};

namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

Error signError(const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, message};
}

Result<JwtAlgorithm> algorithmOfKey(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < 2048) return signError("the RSA key has fewer than 2048 bits");
    return JwtAlgorithm::kRs256;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &length) != 1 ||
        std::string_view(group) != "prime256v1") {
      return signError("the EC key is not on P-256 (prime256v1), the curve of ES256");
    }
    return JwtAlgorithm::kEs256;
  }
  return signError("the key is neither RSA nor EC P-256");
}

std::string bignumBytes(const BIGNUM* number, int width) {
  std::vector<unsigned char> bytes(static_cast<std::size_t>(std::max(width, BN_num_bytes(number))));
  BN_bn2binpad(number, bytes.data(), static_cast<int>(bytes.size()));
  return std::string(bytes.begin(), bytes.end());
}

Result<std::string> bignumParam(EVP_PKEY* key, const char* name, int width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return signError(std::string("the key has no ") + name + " (" + takeOpensslError() + ")");
  }
  Bignum number(raw);
  return base64UrlEncode(bignumBytes(number.get(), width));
}

Result<nlohmann::json> jwkOf(EVP_PKEY* key, JwtAlgorithm algorithm, const std::string& kid) {
  nlohmann::json jwk;
  if (algorithm == JwtAlgorithm::kRs256) {
    auto n = bignumParam(key, OSSL_PKEY_PARAM_RSA_N, 0);
    if (!n) return n.error();
    auto e = bignumParam(key, OSSL_PKEY_PARAM_RSA_E, 0);
    if (!e) return e.error();
    jwk = {{"kty", "RSA"}, {"n", *n}, {"e", *e}};
  } else {
    auto x = bignumParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    if (!x) return x.error();
    auto y = bignumParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    if (!y) return y.error();
    jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"x", *x}, {"y", *y}};
  }
  if (!kid.empty()) jwk["kid"] = kid;
  jwk["use"] = "sig";
  jwk["alg"] = std::string(algorithmName(algorithm));
  return jwk;
}

}  // namespace

SigningKey::SigningKey(JwtAlgorithm algorithm, std::string kid, std::unique_ptr<Material> material)
    : algorithm_(algorithm), kid_(std::move(kid)), material_(std::move(material)) {}

SigningKey::~SigningKey() = default;

Result<std::unique_ptr<SigningKey>> SigningKey::fromPrivateKeyPem(std::string_view pem,
                                                                  std::string kid) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return signError("not a PEM private key (" + takeOpensslError() + ")");
  auto algorithm = algorithmOfKey(key.get());
  if (!algorithm) return algorithm.error();
  auto material = std::make_unique<Material>();
  material->key = std::move(key);
  return std::unique_ptr<SigningKey>(
      new SigningKey(*algorithm, std::move(kid), std::move(material)));
}

Result<std::unique_ptr<SigningKey>> SigningKey::hmac(std::string secret, std::string kid) {
  if (secret.size() < 32) return signError("an HS256 secret needs at least 32 bytes");
  auto material = std::make_unique<Material>();
  material->secret = std::move(secret);
  return std::unique_ptr<SigningKey>(
      new SigningKey(JwtAlgorithm::kHs256, std::move(kid), std::move(material)));
}

Result<std::unique_ptr<SigningKey>> SigningKey::generate(JwtAlgorithm algorithm, std::string kid) {
  if (algorithm == JwtAlgorithm::kHs256) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return signError(takeOpensslError());
    return hmac(std::string(reinterpret_cast<const char*>(bytes), sizeof bytes), std::move(kid));
  }
  EVP_PKEY* raw = algorithm == JwtAlgorithm::kRs256
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (raw == nullptr) return signError("key generation failed (" + takeOpensslError() + ")");
  auto material = std::make_unique<Material>();
  material->key.reset(raw);
  return std::unique_ptr<SigningKey>(
      new SigningKey(algorithm, std::move(kid), std::move(material)));
}

Result<std::string> SigningKey::signature(std::string_view input) const {
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (algorithm_ == JwtAlgorithm::kHs256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), material_->secret.data(), static_cast<int>(material_->secret.size()),
             data, input.size(), mac, &length) == nullptr) {
      return signError(takeOpensslError());
    }
    return std::string(reinterpret_cast<const char*>(mac), length);
  }
  MdCtx context(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!context ||
      EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, material_->key.get()) !=
          1 ||
      EVP_DigestSign(context.get(), nullptr, &length, data, input.size()) != 1) {
    return signError(takeOpensslError());
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     data, input.size()) != 1) {
    return signError(takeOpensslError());
  }
  signature.resize(length);
  if (algorithm_ == JwtAlgorithm::kRs256) return signature;
  // ES256: OpenSSL's DER ECDSA-Sig-Value becomes JWS's r||s (RFC 7518 §3.4).
  const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
  EcdsaSig parsed(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size())));
  if (!parsed) return signError(takeOpensslError());
  return bignumBytes(ECDSA_SIG_get0_r(parsed.get()), 32) +
         bignumBytes(ECDSA_SIG_get0_s(parsed.get()), 32);
}

Result<std::string> SigningKey::sign(const nlohmann::json& claims) const {
  nlohmann::json header = {{"alg", std::string(algorithmName(algorithm_))}, {"typ", "JWT"}};
  if (!kid_.empty()) header["kid"] = kid_;
  const std::string input = base64UrlEncode(header.dump()) + "." + base64UrlEncode(claims.dump());
  auto signed_ = signature(input);
  if (!signed_) return signed_.error();
  return input + "." + base64UrlEncode(*signed_);
}

Result<nlohmann::json> SigningKey::publicJwk() const {
  if (algorithm_ == JwtAlgorithm::kHs256) return signError("an HS256 secret has no public key");
  return jwkOf(material_->key.get(), algorithm_, kid_);
}

Result<std::string> SigningKey::publicKeyPem() const {
  if (algorithm_ == JwtAlgorithm::kHs256) return signError("an HS256 secret has no public key");
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), material_->key.get()) != 1) {
    return signError(takeOpensslError());
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

Result<nlohmann::json> publicJwkFromPem(std::string_view pem, const std::string& kid) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return signError("not a PEM public key (" + takeOpensslError() + ")");
  auto algorithm = algorithmOfKey(key.get());
  if (!algorithm) return algorithm.error();
  return jwkOf(key.get(), *algorithm, kid);
}

}  // namespace orders::auth
