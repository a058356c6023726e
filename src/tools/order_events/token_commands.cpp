#include "token_commands.hpp"

#include <memory>
#include <nlohmann/json.hpp>

#include "auth/jwt_signer.hpp"
#include "auth/key_files.hpp"

namespace orders::tools {
namespace {

constexpr int kBadInput = 2;

struct TokenOptions {
  std::string subject;
  std::vector<std::string> roles;
  std::string secretFile;
  std::string privateKey;
  std::string kid;
  std::string issuer;
  std::string audience;
  long long ttlSeconds = 3600;
  std::string rolesClaim = "roles";
  std::vector<std::string> publicKeys;
  std::vector<std::string> kids;
};

[[noreturn]] void fail(std::ostream& err, const std::string& message) {
  err << "order-events token: " << message << "\n";
  throw CLI::RuntimeError(kBadInput);
}

void mint(const TokenOptions& o, const Clock& clock, std::ostream& out, std::ostream& err) {
  if (o.secretFile.empty() == o.privateKey.empty()) {
    fail(err, "give exactly one of --secret-file (HS256) and --private-key (RS256/ES256)");
  }
  Result<std::unique_ptr<auth::SigningKey>> key = Error{ErrorCode::kInternal, ""};
  if (!o.secretFile.empty()) {
    auto secret = auth::readKeyFile(o.secretFile);
    if (!secret) fail(err, secret.error().message);
    if (secret->ends_with("\n")) secret->pop_back();
    if (secret->ends_with("\r")) secret->pop_back();
    key = auth::SigningKey::hmac(std::move(secret).value(), o.kid);
  } else {
    if (o.kid.empty()) fail(err, "--private-key needs --kid (the key's id in the JWKS)");
    auto pem = auth::readKeyFile(o.privateKey);
    if (!pem) fail(err, pem.error().message);
    key = auth::SigningKey::fromPrivateKeyPem(*pem, o.kid);
  }
  if (!key) fail(err, key.error().message);
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  nlohmann::json claims = {{"sub", o.subject}, {"iat", now}, {"exp", now + o.ttlSeconds}};
  if (!o.issuer.empty()) claims["iss"] = o.issuer;
  if (!o.audience.empty()) claims["aud"] = o.audience;
  if (o.rolesClaim == "scope") {
    std::string scope;
    for (const auto& role : o.roles) scope += (scope.empty() ? "" : " ") + role;
    claims["scope"] = scope;
  } else {
    claims[o.rolesClaim] = o.roles;
  }
  auto token = (*key)->sign(claims);
  if (!token) fail(err, token.error().message);
  out << *token << "\n";
}

void jwks(const TokenOptions& o, std::ostream& out, std::ostream& err) {
  if (o.publicKeys.size() != o.kids.size()) {
    fail(err, "give one --kid for each --public-key, in the same order");
  }
  nlohmann::json keys = nlohmann::json::array();
  for (std::size_t i = 0; i < o.publicKeys.size(); ++i) {
    auto pem = auth::readKeyFile(o.publicKeys[i]);
    if (!pem) fail(err, pem.error().message);
    auto jwk = auth::publicJwkFromPem(*pem, o.kids[i]);
    if (!jwk) fail(err, o.publicKeys[i] + ": " + jwk.error().message);
    keys.push_back(std::move(jwk).value());
  }
  out << nlohmann::json{{"keys", keys}}.dump(2) << "\n";
}

}  // namespace

void addTokenCommands(CLI::App& app, const Clock& clock, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<TokenOptions>();
  CLI::App* token = app.add_subcommand("token", "Development tokens and key sets for the API");
  token->require_subcommand(1);
  CLI::App* mintCmd = token->add_subcommand("mint", "Print a signed JWT (HS256, RS256, ES256)");
  mintCmd->add_option("--sub", options->subject, "The subject (a customer: its userId)")
      ->required();
  mintCmd->add_option("--role", options->roles,
                      "customer, payment-service, fulfillment-service or operator (repeatable)");
  mintCmd->add_option("--secret-file", options->secretFile, "HS256 secret (>= 32 bytes)");
  mintCmd->add_option("--private-key", options->privateKey, "RSA or P-256 private key, PEM");
  mintCmd->add_option("--kid", options->kid, "Key id written into the header");
  mintCmd->add_option("--iss", options->issuer, "Issuer claim");
  mintCmd->add_option("--aud", options->audience, "Audience claim");
  mintCmd->add_option("--ttl", options->ttlSeconds, "Lifetime in seconds")
      ->check(CLI::Range(1LL, 366LL * 24 * 3600))
      ->capture_default_str();
  mintCmd->add_option("--roles-claim", options->rolesClaim, "Claim of the roles")
      ->capture_default_str();
  mintCmd->callback([options, &clock, &out, &err] { mint(*options, clock, out, err); });

  CLI::App* jwksCmd = token->add_subcommand("jwks", "Print the JWKS of PEM public keys");
  jwksCmd->add_option("--public-key", options->publicKeys, "RSA or P-256 public key, PEM")
      ->required();
  jwksCmd->add_option("--kid", options->kids, "The key's id (one per --public-key)")->required();
  jwksCmd->callback([options, &out, &err] { jwks(*options, out, err); });
}

}  // namespace orders::tools
