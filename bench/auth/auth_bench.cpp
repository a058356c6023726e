// What API authentication costs per request (docs/benchmarks.md, "API authentication").
//
//   auth_bench KEYDIR [google-benchmark flags]
//       Google Benchmark, wall time: verifying a token (verifyJwt) and the whole per-request work
//       (BearerAuthenticator::authenticate + RoleAuthorizer::authorize) for RS256, ES256, HS256,
//       and the --auth none path for comparison.
//   auth_bench KEYDIR count ALG N
//       Runs the per-request work N times and nothing else but the fixed set-up, for callgrind:
//       (instructions at N=1000 - instructions at N=0) / 1000 = instructions per request, free of
//       this machine's noise.
// KEYDIR holds rsa.pem and ec.pem (made by run_auth_bench.sh with openssl, so that two runs
// load the same keys and do the same set-up work).

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "auth/jwt_signer.hpp"
#include "auth/jwt_verifier.hpp"
#include "common/clock.hpp"
#include "http/api_security.hpp"

namespace {

using namespace orders;

std::string keyDir;

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return text.str();
}

/// One algorithm's key set, verifier and a token as an identity provider would issue it.
struct Setup {
  SystemClock clock;
  std::unique_ptr<auth::SigningKey> signer;
  std::unique_ptr<auth::FixedKeys> keys;
  std::unique_ptr<auth::JwtVerifier> verifier;
  std::unique_ptr<http::BearerAuthenticator> authenticator;
  http::RoleAuthorizer authorizer;
  std::string token;
  http::Request request;

  explicit Setup(auth::JwtAlgorithm algorithm) {
    auth::KeySet set;
    const std::string secret = "a-benchmark-secret-of-32-bytes-or-more!!";
    if (algorithm == auth::JwtAlgorithm::kHs256) {
      signer = auth::SigningKey::hmac(secret).value();
      (void)set.add(auth::VerificationKey::hmac("", secret).value());
    } else {
      const char* file = algorithm == auth::JwtAlgorithm::kRs256 ? "/rsa.pem" : "/ec.pem";
      signer = auth::SigningKey::fromPrivateKeyPem(readFile(keyDir + file), "k1").value();
      set = auth::KeySet::fromJwks(nlohmann::json{{"keys", {signer->publicJwk().value()}}}.dump())
                .value();
    }
    keys = std::make_unique<auth::FixedKeys>(std::move(set));
    auth::VerifierOptions options;
    options.issuer = "https://id.example.com/realms/shop";
    options.audience = "order-service";
    verifier = std::make_unique<auth::JwtVerifier>(*keys, clock, options);
    authenticator = std::make_unique<http::BearerAuthenticator>(*verifier, http::BearerOptions{});
    const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    // A typical access token: ~10 claims (Keycloak's carry more).
    token = signer
                ->sign({{"sub", "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
                        {"iss", "https://id.example.com/realms/shop"},
                        {"aud", {"order-service", "account"}},
                        {"iat", now},
                        {"exp", now + 3600},
                        {"jti", "8d7f9a1c-2b3e-4f50-9a61-7c8d9e0f1a2b"},
                        {"azp", "web-shop"},
                        {"scope", "openid profile email"},
                        {"email", "john.doe@example.com"},
                        {"roles", {"customer"}}})
                .value();
    request.headers["authorization"] = "Bearer " + token;
  }

  /// What the pipeline does per request with --auth jwt: authenticate, then authorise.
  bool perRequest() {
    auto principal = authenticator->authenticate(request);
    if (!principal) return false;
    return authorizer.authorize(*principal, http::RouteOptions{http::permission::kReadOrder})
        .has_value();
  }
};

/// The same with --auth none.
bool perRequestWithoutAuth(const http::Request& request) {
  http::DevelopmentAuthenticator none;
  http::RoleAuthorizer authorizer;
  auto principal = none.authenticate(request);
  return authorizer.authorize(*principal, http::RouteOptions{http::permission::kReadOrder})
      .has_value();
}

auth::JwtAlgorithm algorithmOf(int64_t index) {
  return std::array{auth::JwtAlgorithm::kRs256, auth::JwtAlgorithm::kEs256,
                    auth::JwtAlgorithm::kHs256}[static_cast<std::size_t>(index)];
}

void BM_VerifyJwt(benchmark::State& state) {
  Setup setup(algorithmOf(state.range(0)));
  state.SetLabel(std::string(auth::algorithmName(algorithmOf(state.range(0)))));
  for (auto _ : state) benchmark::DoNotOptimize(setup.verifier->verify(setup.token));
}
BENCHMARK(BM_VerifyJwt)->DenseRange(0, 2);

void BM_AuthenticateAndAuthorize(benchmark::State& state) {
  Setup setup(algorithmOf(state.range(0)));
  state.SetLabel(std::string(auth::algorithmName(algorithmOf(state.range(0)))));
  for (auto _ : state) benchmark::DoNotOptimize(setup.perRequest());
}
BENCHMARK(BM_AuthenticateAndAuthorize)->DenseRange(0, 2);

void BM_AuthNone(benchmark::State& state) {
  http::Request request;
  for (auto _ : state) benchmark::DoNotOptimize(perRequestWithoutAuth(request));
}
BENCHMARK(BM_AuthNone);

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: auth_bench KEYDIR [count ALG N | benchmark flags]\n");
    return 2;
  }
  keyDir = argv[1];
  if (argc == 5 && std::strcmp(argv[2], "count") == 0) {
    const std::string alg = argv[3];
    const long n = std::atol(argv[4]);
    if (alg == "none") {
      http::Request request;
      long passed = 0;
      for (long i = 0; i < n; ++i) passed += perRequestWithoutAuth(request) ? 1 : 0;
      return passed == n ? 0 : 1;
    }
    const auto algorithm = auth::parseAlgorithm(alg);
    if (!algorithm) return 2;
    Setup setup(*algorithm);
    long passed = 0;
    for (long i = 0; i < n; ++i) passed += setup.perRequest() ? 1 : 0;
    return passed == n ? 0 : 1;
  }
  argv[1] = argv[0];
  --argc;
  ++argv;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
