// libFuzzer target: bearer tokens and key sets (src/auth). The input is used three ways,
// selected by its first byte:
//   0: the rest is a compact JWS, verified against a key set with an HS256 secret, an RSA and a
//      P-256 key (the header, kid lookup, algorithm pinning and signature paths);
//   1: the rest is "<header JSON>\n<claims JSON>", encoded and signed here with the HS256 secret
//      and verified, so that the claims checks (exp, nbf, iss, aud, sub) see arbitrary claims
//      behind a valid signature;
//   2: the rest is a JWKS document (KeySet::fromJwks);
//   else: base64url: decoding then encoding must give back the text, and encoding then decoding
//      the bytes.
// Nothing may throw, crash or trip a sanitizer; a token must never pass unless it is signed by
// the fuzzer's own key (checked: mode 0 has no key the fuzzer could sign with but the secret,
// and a token accepted in mode 0 must carry alg HS256).

#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/base64url.hpp"
#include "auth/jwt_signer.hpp"
#include "auth/jwt_verifier.hpp"

namespace {

using namespace orders;
using namespace orders::auth;

const std::string kSecret = "fuzzing-secret-fuzzing-secret-0123456789";
const Timestamp kNow(std::chrono::milliseconds(1714557600000));  // 2024-05-01T10:00:00Z

struct Fixture {
  KeySet keys;
  std::unique_ptr<SigningKey> hmac;
  VerifierOptions options;
  Fixture() {
    hmac = SigningKey::hmac(kSecret).value();
    auto rsa = SigningKey::generate(JwtAlgorithm::kRs256, "rsa-1").value();
    auto ec = SigningKey::generate(JwtAlgorithm::kEs256, "ec-1").value();
    const nlohmann::json jwks = {{"keys", {rsa->publicJwk().value(), ec->publicJwk().value()}}};
    keys = KeySet::fromJwks(jwks.dump()).value();
    (void)keys.add(VerificationKey::hmac("", kSecret).value());
    options.issuer = "https://issuer.example";
    options.audience = "order-service";
  }
};

const Fixture& fixture() {
  static const Fixture instance;
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Fixture& f = fixture();
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 0: {
      auto verified = verifyJwt(input, f.keys, f.options, kNow);
      if (verified && verified->algorithm != JwtAlgorithm::kHs256) __builtin_trap();
      break;
    }
    case 1: {
      const auto newline = input.find('\n');
      if (newline == std::string::npos) break;
      const std::string signingInput = base64UrlEncode(input.substr(0, newline)) + "." +
                                       base64UrlEncode(input.substr(newline + 1));
      const std::string token =
          signingInput + "." + base64UrlEncode(f.hmac->signature(signingInput).value());
      (void)verifyJwt(token, f.keys, f.options, kNow);
      break;
    }
    case 2: {
      std::vector<std::string> skipped;
      (void)KeySet::fromJwks(input, &skipped);
      break;
    }
    default: {
      if (auto decoded = base64UrlDecode(input); decoded && base64UrlEncode(*decoded) != input) {
        __builtin_trap();  // two spellings of one value: the decoder is not strict
      }
      if (base64UrlDecode(base64UrlEncode(input)) != input) __builtin_trap();
      break;
    }
  }
  return 0;
}
