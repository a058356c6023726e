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

TEST(Config, EnvironmentVariablesAreRead) {
  setenv("ORDER_SERVICE_LISTEN", "127.0.0.1:7070", 1);
  setenv("ORDER_SERVICE_AMQP_URL", "amqp://u:p@broker:5673/", 1);
  auto config = parseWithoutAuth({});
  unsetenv("ORDER_SERVICE_LISTEN");
  unsetenv("ORDER_SERVICE_AMQP_URL");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listenPort, 7070);
  EXPECT_EQ(config->amqpUrl, "amqp://u:p@broker:5673/");
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
}

}  // namespace
}  // namespace orders
