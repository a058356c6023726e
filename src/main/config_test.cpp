#include "config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace orders {
namespace {

Result<ServiceConfig> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "order-service");
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& arg : args) argv.push_back(arg.data());
  return parseServiceConfig(static_cast<int>(argv.size()), argv.data(), "/schemas", "/topology");
}

/// The other options' tests run in development mode: the default (--auth jwt) needs keys.
Result<ServiceConfig> parseWithoutAuth(std::vector<std::string> args) {
  args.insert(args.end(), {"--auth", "none"});
  return parse(std::move(args));
}

TEST(Config, DefaultsAreTheEmbeddedSetup) {
  auto config = parseWithoutAuth({});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listenHost, "127.0.0.1");
  EXPECT_EQ(config->listenPort, 8080);
  EXPECT_EQ(config->databasePath, "./data/orders.db");
  EXPECT_TRUE(config->relayEnabled);
  EXPECT_TRUE(config->consumersEnabled);
}

TEST(Config, RelayAndConsumersAreSwitchedOffSeparately) {
  auto noRelay = parseWithoutAuth({"--no-relay"});
  ASSERT_TRUE(noRelay.ok());
  EXPECT_FALSE(noRelay->relayEnabled);
  EXPECT_TRUE(noRelay->consumersEnabled);
  auto noConsumers = parseWithoutAuth({"--no-consumers"});
  ASSERT_TRUE(noConsumers.ok());
  EXPECT_TRUE(noConsumers->relayEnabled);
  EXPECT_FALSE(noConsumers->consumersEnabled);
}

TEST(Config, FlagsOverrideAndAreValidated) {
  auto config = parseWithoutAuth({"--listen", "0.0.0.0:9090", "--database", "sqlite:/tmp/x.db"});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listenHost, "0.0.0.0");
  EXPECT_EQ(config->listenPort, 9090);
  EXPECT_EQ(config->databasePath, "/tmp/x.db");

  auto badPort = parseWithoutAuth({"--listen", "127.0.0.1:99999"});
  ASSERT_FALSE(badPort.ok());
  EXPECT_NE(badPort.error().message.find("--listen"), std::string::npos);

  auto badDatabase = parseWithoutAuth({"--database", "mysql://x"});
  ASSERT_FALSE(badDatabase.ok());
  EXPECT_NE(badDatabase.error().message.find("sqlite:PATH"), std::string::npos);

  auto unknownFlag = parse({"--frobnicate"});
  ASSERT_FALSE(unknownFlag.ok());
  EXPECT_EQ(unknownFlag.error().code, ErrorCode::kInvalidArgument);
}

TEST(Config, DatabaseWritersAreAValidatedCount) {
  EXPECT_EQ(parseWithoutAuth({})->databaseWriters, 4u);
  auto two = parseWithoutAuth({"--database-writers", "2"});
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(two->databaseWriters, 2u);
  for (const char* bad : {"0", "65", "many"}) {
    auto refused = parseWithoutAuth({"--database-writers", bad});
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("--database-writers"), std::string::npos)
        << refused.error().message;
  }
}

TEST(Config, EnvironmentVariablesAreRead) {
  setenv("ORDER_SERVICE_LISTEN", "127.0.0.1:7070", 1);
  setenv("ORDER_SERVICE_AMQP_URL", "amqp://u:p@broker:5673/", 1);
  auto config = parseWithoutAuth({});
  unsetenv("ORDER_SERVICE_LISTEN");
  unsetenv("ORDER_SERVICE_AMQP_URL");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listenPort, 7070);
  EXPECT_EQ(config->broker.url, "amqp://u:p@broker:5673/");
  ASSERT_EQ(config->brokerWarnings.size(), 1u);  // plain amqp:// to another machine
  EXPECT_NE(config->brokerWarnings[0].find("plain amqp://"), std::string::npos);
}

TEST(Config, BrokerTlsAndPasswordComeFromFlagsAndEnvironment) {
  const std::string ca = std::string(ORDER_SERVICE_SOURCE_DIR) + "/config/topology.json";
  setenv("ORDER_SERVICE_AMQP_URL", "amqps://svc@b-1.mq.eu-west-1.amazonaws.com/", 1);
  setenv("ORDER_SERVICE_AMQP_PASSWORD", "pw-from-env", 1);
  setenv("ORDER_SERVICE_AMQP_CA_FILE", ca.c_str(), 1);
  auto config = parseWithoutAuth({});
  auto plain = parseWithoutAuth({"--amqp-url", "amqp://127.0.0.1/"});
  unsetenv("ORDER_SERVICE_AMQP_URL");
  unsetenv("ORDER_SERVICE_AMQP_PASSWORD");
  unsetenv("ORDER_SERVICE_AMQP_CA_FILE");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->broker.url, "amqps://svc@b-1.mq.eu-west-1.amazonaws.com/");
  EXPECT_EQ(config->broker.password, "pw-from-env");
  EXPECT_EQ(config->broker.tls.caFile, ca);
  EXPECT_TRUE(config->broker.tls.verify);
  EXPECT_TRUE(config->brokerWarnings.empty());
  // The CA file with a plain URL is refused, naming both.
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().message.find("ORDER_SERVICE_AMQP_CA_FILE is a TLS setting"),
            std::string::npos)
      << plain.error().message;

  auto insecure = parseWithoutAuth({"--amqp-url", "amqps://localhost/", "--amqp-tls-insecure"});
  ASSERT_TRUE(insecure.ok()) << insecure.error().message;
  EXPECT_FALSE(insecure->broker.tls.verify);
  ASSERT_EQ(insecure->brokerWarnings.size(), 1u);
  EXPECT_NE(insecure->brokerWarnings[0].find("TLS VERIFICATION IS OFF"), std::string::npos);
}

TEST(Config, LogFormatLevelAndMetricsByFlagOrEnvironment) {
  auto defaults = parseWithoutAuth({});
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->logFormat, "text");
  EXPECT_EQ(defaults->logLevel, "info");
  EXPECT_TRUE(defaults->metricsEnabled);

  auto flags = parseWithoutAuth({"--log-format", "json", "--log-level", "debug", "--no-metrics"});
  ASSERT_TRUE(flags.ok()) << flags.error().message;
  EXPECT_EQ(flags->logFormat, "json");
  EXPECT_EQ(flags->logLevel, "debug");
  EXPECT_FALSE(flags->metricsEnabled);

  setenv("ORDER_SERVICE_LOG_FORMAT", "json", 1);
  setenv("ORDER_SERVICE_LOG_LEVEL", "warn", 1);
  auto environment = parseWithoutAuth({});
  unsetenv("ORDER_SERVICE_LOG_FORMAT");
  unsetenv("ORDER_SERVICE_LOG_LEVEL");
  ASSERT_TRUE(environment.ok()) << environment.error().message;
  EXPECT_EQ(environment->logFormat, "json");
  EXPECT_EQ(environment->logLevel, "warn");

  auto badFormat = parseWithoutAuth({"--log-format", "xml"});
  ASSERT_FALSE(badFormat.ok());
  EXPECT_NE(badFormat.error().message.find("--log-format"), std::string::npos)
      << badFormat.error().message;
}

TEST(Config, LimitsHaveSafeDefaultsFlagsAndVariables) {
  auto defaults = parseWithoutAuth({});
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->connectionLimits.maxBodyBytes, 256u * 1024);
  EXPECT_EQ(defaults->connectionLimits.headerTimeout, std::chrono::seconds(10));
  EXPECT_TRUE(defaults->rateLimit.enabled());
  EXPECT_EQ(defaults->requestLimits.body.changeContextKeys,
            http::BodyLimits::defaultChangeContextKeys());

  setenv("ORDER_SERVICE_MAX_BODY_BYTES", "1000", 1);
  setenv("ORDER_SERVICE_RATE_LIMIT", "0", 1);
  auto config =
      parseWithoutAuth({"--header-timeout-ms", "1500", "--max-target-bytes", "512",
                        "--change-context-keys", " warehouse ,carrier,", "--max-items", "10"});
  unsetenv("ORDER_SERVICE_MAX_BODY_BYTES");
  unsetenv("ORDER_SERVICE_RATE_LIMIT");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->connectionLimits.maxBodyBytes, 1000u);
  EXPECT_FALSE(config->rateLimit.enabled());
  EXPECT_EQ(config->connectionLimits.headerTimeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(config->requestLimits.maxTargetBytes, 512u);  // the pipeline holds the same limit
  EXPECT_EQ(config->requestLimits.body.maxItems, 10u);
  EXPECT_EQ(config->requestLimits.body.changeContextKeys,
            (std::vector<std::string>{"warehouse", "carrier"}));
  EXPECT_TRUE(parseWithoutAuth({"--change-context-keys", ""})
                  ->requestLimits.body.changeContextKeys.empty());

  // Body limits only tighten the domain's contract (500 bytes of text, 1000 items).
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--max-name-bytes", "501"},
                                                        {"--max-items", "1001"},
                                                        {"--max-body-bytes", "0"},
                                                        {"--header-timeout-ms", "abc"},
                                                        {"--rate-limit", "-1"}}) {
    auto refused = parseWithoutAuth({flag, value});
    ASSERT_FALSE(refused.ok()) << flag;
    EXPECT_NE(refused.error().message.find(flag), std::string::npos) << refused.error().message;
  }
}

TEST(Config, PublishVersionsPutsTwoMajorsSideBySide) {
  auto defaults = parseWithoutAuth({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->publishedVersions.of("OrderCreatedEvent"), std::vector<std::string>{"1.0"});

  auto both = parseWithoutAuth({"--publish-versions", "OrderCreatedEvent=1.0,2.0"});
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->publishedVersions.of("OrderCreatedEvent"),
            (std::vector<std::string>{"1.0", "2.0"}));

  setenv("ORDER_SERVICE_PUBLISH_VERSIONS", "OrderCreatedEvent=2.0;OrderShippedEvent=1.0", 1);
  auto fromEnvironment = parseWithoutAuth({});
  unsetenv("ORDER_SERVICE_PUBLISH_VERSIONS");
  ASSERT_TRUE(fromEnvironment.ok()) << fromEnvironment.error().message;
  EXPECT_EQ(fromEnvironment->publishedVersions.of("OrderCreatedEvent"),
            std::vector<std::string>{"2.0"});

  auto bad = parseWithoutAuth({"--publish-versions", "OrderCreatedEvent=9.0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("--publish-versions / ORDER_SERVICE_PUBLISH_VERSIONS "
                                     "'OrderCreatedEvent=9.0': OrderCreatedEvent 9.0 is not a "
                                     "version this build renders (it renders 1.0, 2.0)"),
            std::string::npos)
      << bad.error().message;
}

TEST(Config, JwtIsTheDefaultAndNeedsKeys) {
  auto none = parse({});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("--jwks-file"), std::string::npos) << none.error().message;
  EXPECT_NE(none.error().message.find("--auth none"), std::string::npos);

  auto jwt =
      parse({"--jwks-file", "/keys/jwks.json", "--jwt-issuer", "https://id.example",
             "--jwt-audience", "order-service", "--jwt-roles-claim", "scope", "--jwt-leeway", "5"});
  ASSERT_TRUE(jwt.ok()) << jwt.error().message;
  EXPECT_EQ(jwt->authMode, ServiceConfig::AuthMode::kJwt);
  EXPECT_EQ(jwt->jwksFile, "/keys/jwks.json");
  EXPECT_EQ(jwt->jwtIssuer, "https://id.example");
  EXPECT_EQ(jwt->jwtAudience, "order-service");
  EXPECT_EQ(jwt->rolesClaim, "scope");
  EXPECT_EQ(jwt->jwtLeeway, std::chrono::seconds(5));
  EXPECT_FALSE(parse({"--jwks-file", "/k", "--jwt-leeway", "-1"}).ok());
  EXPECT_FALSE(parse({"--auth", "basic"}).ok());

  setenv("ORDER_SERVICE_JWT_HS256_SECRET", "from-the-environment-0123456789abcdef", 1);
  auto fromEnvironment = parse({});
  unsetenv("ORDER_SERVICE_JWT_HS256_SECRET");
  ASSERT_TRUE(fromEnvironment.ok()) << fromEnvironment.error().message;
  EXPECT_EQ(fromEnvironment->hs256Secret, "from-the-environment-0123456789abcdef");

  setenv("ORDER_SERVICE_AUTH", "none", 1);
  auto development = parse({});
  unsetenv("ORDER_SERVICE_AUTH");
  ASSERT_TRUE(development.ok());
  EXPECT_EQ(development->authMode, ServiceConfig::AuthMode::kNone);
}

TEST(Config, HelpIsReportedSeparately) {
  auto help = parse({"--help"});
  ASSERT_FALSE(help.ok());
  EXPECT_EQ(help.error().code, ErrorCode::kNotFound);
  EXPECT_NE(help.error().message.find("ORDER_SERVICE_DATABASE"), std::string::npos);
  for (const char* name :
       {"ORDER_SERVICE_AMQP_CA_FILE", "ORDER_SERVICE_AMQP_CERT_FILE", "ORDER_SERVICE_AMQP_KEY_FILE",
        "ORDER_SERVICE_AMQP_PASSWORD_FILE", "ORDER_SERVICE_AMQP_TLS_INSECURE"})
    EXPECT_NE(help.error().message.find(name), std::string::npos) << name;
}

TEST(Config, MetricsListenIsAnAddressOfItsOwn) {
  auto defaults = parseWithoutAuth({});
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_FALSE(defaults->metricsListen.has_value());  // /metrics on --listen

  auto flag = parseWithoutAuth({"--metrics-listen", "0.0.0.0:9464"});
  ASSERT_TRUE(flag.ok()) << flag.error().message;
  ASSERT_TRUE(flag->metricsListen.has_value());
  EXPECT_EQ(flag->metricsListen->first, "0.0.0.0");
  EXPECT_EQ(flag->metricsListen->second, 9464);

  setenv("ORDER_SERVICE_METRICS_LISTEN", "127.0.0.1:0", 1);
  auto environment = parseWithoutAuth({});
  unsetenv("ORDER_SERVICE_METRICS_LISTEN");
  ASSERT_TRUE(environment.ok()) << environment.error().message;
  ASSERT_TRUE(environment->metricsListen.has_value());
  EXPECT_EQ(environment->metricsListen->second, 0);

  auto badPort = parseWithoutAuth({"--metrics-listen", "127.0.0.1:70000"});
  ASSERT_FALSE(badPort.ok());
  EXPECT_NE(badPort.error().message.find("--metrics-listen"), std::string::npos)
      << badPort.error().message;
  EXPECT_NE(badPort.error().message.find("70000"), std::string::npos) << badPort.error().message;

  EXPECT_EQ(flag->metricsThreadSlice, std::chrono::microseconds(500));
  EXPECT_EQ(flag->metricsRefresh, std::chrono::milliseconds(1000));
  auto perScrape = parseWithoutAuth({"--metrics-refresh-ms", "0"});
  ASSERT_TRUE(perScrape.ok()) << perScrape.error().message;
  EXPECT_EQ(perScrape->metricsRefresh, std::chrono::milliseconds(0));
  auto negative = parseWithoutAuth({"--metrics-refresh-ms", "-5"});
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("--metrics-refresh-ms"), std::string::npos)
      << negative.error().message;
  auto slice = parseWithoutAuth({"--metrics-slice-us", "0"});
  ASSERT_TRUE(slice.ok()) << slice.error().message;
  EXPECT_EQ(slice->metricsThreadSlice, std::chrono::microseconds(0));
  auto tooShort = parseWithoutAuth({"--metrics-slice-us", "50"});
  ASSERT_FALSE(tooShort.ok());
  EXPECT_NE(tooShort.error().message.find("--metrics-slice-us"), std::string::npos)
      << tooShort.error().message;
  EXPECT_NE(tooShort.error().message.find("50"), std::string::npos) << tooShort.error().message;

  auto contradiction = parseWithoutAuth({"--metrics-listen", "127.0.0.1:9464", "--no-metrics"});
  ASSERT_FALSE(contradiction.ok());
  EXPECT_NE(contradiction.error().message.find("--no-metrics"), std::string::npos)
      << contradiction.error().message;
}

}  // namespace
}  // namespace orders
