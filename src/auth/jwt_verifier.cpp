#include "auth/jwt_verifier.hpp"

#include <cmath>
#include <limits>

#include "auth/base64url.hpp"
#include "events/exact_json.hpp"

namespace orders::auth {
namespace {

using nlohmann::json;

constexpr JsonLimits kTokenJsonLimits{16};

Error refused(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}

/// A NumericDate (RFC 7519 §2: seconds since the epoch, possibly fractional) as a Timestamp,
/// clamped to what the type holds.
std::optional<Timestamp> numericDate(const json& value) {
  if (!value.is_number()) return std::nullopt;
  const double seconds = value.get<double>();
  if (!std::isfinite(seconds)) return std::nullopt;
  constexpr double kLimit = 9.0e12;  // ~285,000 years: far inside int64 milliseconds
  const double clamped = std::max(-kLimit, std::min(kLimit, seconds));
  return Timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(clamped * 1000.0)));
}

Result<json> decodeJsonPart(std::string_view part, const char* what) {
  auto bytes = base64UrlDecode(part);
  if (!bytes) return refused(std::string("the token's ") + what + " is not base64url");
  auto parsed = parseExactJson(*bytes, kTokenJsonLimits);
  if (!parsed) {
    return refused(std::string("the token's ") + what + " is not JSON: " + parsed.error().message);
  }
  if (!parsed->value.is_object()) {
    return refused(std::string("the token's ") + what + " is not a JSON object");
  }
  return std::move(parsed->value);
}

}  // namespace

Result<VerifiedToken> verifyJwt(std::string_view token, const KeySet& keys,
                                const VerifierOptions& options, Timestamp now) {
  if (token.empty()) return refused("the bearer token is empty");
  if (token.size() > options.maxTokenBytes) {
    return refused("the bearer token is longer than " + std::to_string(options.maxTokenBytes) +
                   " bytes");
  }
  const auto firstDot = token.find('.');
  const auto secondDot =
      firstDot == std::string_view::npos ? firstDot : token.find('.', firstDot + 1);
  if (secondDot == std::string_view::npos || token.find('.', secondDot + 1) != token.npos) {
    return refused("the bearer token is not a JWS: it must be three base64url parts joined by '.'");
  }
  const std::string_view signingInput = token.substr(0, secondDot);
  const std::string_view headerPart = token.substr(0, firstDot);
  const std::string_view claimsPart = token.substr(firstDot + 1, secondDot - firstDot - 1);
  const std::string_view signaturePart = token.substr(secondDot + 1);

  auto header = decodeJsonPart(headerPart, "header");
  if (!header) return header.error();
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return refused("the token's header has no alg");
  const auto algorithm = parseAlgorithm(alg->get<std::string>());
  if (!algorithm) {
    return refused("the token's alg '" + alg->get<std::string>() +
                   "' is not accepted (RS256, ES256, HS256)");
  }
  if (header->contains("crit")) {
    return refused("the token's header has crit extensions, none of which this service supports");
  }
  if (const auto typ = header->find("typ"); typ != header->end()) {
    const std::string type = typ->is_string() ? typ->get<std::string>() : "";
    if (type != "JWT" && type != "at+jwt" && type != "application/at+jwt") {
      return refused("the token's typ must be JWT or at+jwt");
    }
  }
  std::optional<std::string> kid;
  if (const auto member = header->find("kid"); member != header->end()) {
    if (!member->is_string()) return refused("the token's kid is not a string");
    kid = member->get<std::string>();
  }
  const VerificationKey* key = keys.find(kid);
  if (key == nullptr) {
    return refused(kid ? "unknown key id (kid) '" + *kid + "'"
                       : std::string("the token names no key id (kid), and no key answers "
                                     "tokens without one"));
  }
  if (key->algorithm() != *algorithm) {
    // The algorithm is the key's, never the token's: this refuses algorithm confusion (an RSA
    // public key presented as an HMAC secret) and downgrades.
    return refused("the token's alg " + std::string(algorithmName(*algorithm)) +
                   " is not the algorithm of its key (" +
                   std::string(algorithmName(key->algorithm())) + ")");
  }
  const auto signature = base64UrlDecode(signaturePart);
  if (!signature) return refused("the token's signature is not base64url");
  if (!key->verify(signingInput, *signature)) return refused("the token's signature is invalid");

  // Only a token signed by a trusted key gets its claims read.
  auto claims = decodeJsonPart(claimsPart, "claims");
  if (!claims) return claims.error();
  VerifiedToken verified;
  verified.kid = kid.value_or("");
  verified.algorithm = *algorithm;
  const auto sub = claims->find("sub");
  if (sub == claims->end() || !sub->is_string() || sub->get<std::string>().empty()) {
    return refused("the token has no subject (sub)");
  }
  verified.subject = sub->get<std::string>();
  const auto exp = claims->find("exp");
  if (exp == claims->end()) return refused("the token has no expiry (exp)");
  const auto expiresAt = numericDate(*exp);
  if (!expiresAt) return refused("the token's exp is not a number of seconds");
  verified.expiresAt = *expiresAt;
  if (now >= *expiresAt + options.leeway) return refused("the token has expired");
  if (const auto nbf = claims->find("nbf"); nbf != claims->end()) {
    const auto notBefore = numericDate(*nbf);
    if (!notBefore) return refused("the token's nbf is not a number of seconds");
    if (now + options.leeway < *notBefore) return refused("the token is not valid yet (nbf)");
  }
  if (const auto iss = claims->find("iss"); iss != claims->end()) {
    if (!iss->is_string()) return refused("the token's iss is not a string");
    verified.issuer = iss->get<std::string>();
  }
  if (options.issuer && verified.issuer != options.issuer) {
    return refused("the token's issuer (iss) is not the one this service trusts");
  }
  if (const auto aud = claims->find("aud"); aud != claims->end()) {
    if (aud->is_string()) {
      verified.audience.push_back(aud->get<std::string>());
    } else if (aud->is_array()) {
      for (const auto& entry : *aud) {
        if (!entry.is_string()) return refused("the token's aud holds a non-string");
        verified.audience.push_back(entry.get<std::string>());
      }
    } else {
      return refused("the token's aud is neither a string nor an array of strings");
    }
  }
  if (options.audience) {
    bool found = false;
    for (const auto& audience : verified.audience) found = found || audience == *options.audience;
    if (!found) return refused("the token is not meant for this service (aud)");
  }
  verified.claims = std::move(claims).value();
  return verified;
}

}  // namespace orders::auth
