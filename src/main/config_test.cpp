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

TEST(Config, DefaultsAreTheEmbeddedSetup) {
  auto config = parse({});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listenHost, "127.0.0.1");
  EXPECT_EQ(config->listenPort, 8080);
  EXPECT_EQ(config->databasePath, "./data/orders.db");
  EXPECT_TRUE(config->relayEnabled);
  EXPECT_TRUE(config->consumersEnabled);
}

TEST(Config, RelayAndConsumersAreSwitchedOffSeparately) {
  auto noRelay = parse({"--no-relay"});
  ASSERT_TRUE(noRelay.ok());
  EXPECT_FALSE(noRelay->relayEnabled);
  EXPECT_TRUE(noRelay->consumersEnabled);
  auto noConsumers = parse({"--no-consumers"});
  ASSERT_TRUE(noConsumers.ok());
  EXPECT_TRUE(noConsumers->relayEnabled);
  EXPECT_FALSE(noConsumers->consumersEnabled);
}

TEST(Config, FlagsOverrideAndAreValidated) {
  auto config = parse({"--listen", "0.0.0.0:9090", "--database", "sqlite:/tmp/x.db"});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listenHost, "0.0.0.0");
  EXPECT_EQ(config->listenPort, 9090);
  EXPECT_EQ(config->databasePath, "/tmp/x.db");

  auto badPort = parse({"--listen", "127.0.0.1:99999"});
  ASSERT_FALSE(badPort.ok());
  EXPECT_NE(badPort.error().message.find("--listen"), std::string::npos);

  auto badDatabase = parse({"--database", "mysql://x"});
  ASSERT_FALSE(badDatabase.ok());
  EXPECT_NE(badDatabase.error().message.find("sqlite:PATH"), std::string::npos);

  auto unknownFlag = parse({"--frobnicate"});
  ASSERT_FALSE(unknownFlag.ok());
  EXPECT_EQ(unknownFlag.error().code, ErrorCode::kInvalidArgument);
}

TEST(Config, EnvironmentVariablesAreRead) {
  setenv("ORDER_SERVICE_LISTEN", "127.0.0.1:7070", 1);
  setenv("ORDER_SERVICE_AMQP_URL", "amqp://u:p@broker:5673/", 1);
  auto config = parse({});
  unsetenv("ORDER_SERVICE_LISTEN");
  unsetenv("ORDER_SERVICE_AMQP_URL");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listenPort, 7070);
  EXPECT_EQ(config->amqpUrl, "amqp://u:p@broker:5673/");
}

TEST(Config, LogFormatLevelAndMetricsByFlagOrEnvironment) {
  auto defaults = parse({});
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->logFormat, "text");
  EXPECT_EQ(defaults->logLevel, "info");
  EXPECT_TRUE(defaults->metricsEnabled);

  auto flags = parse({"--log-format", "json", "--log-level", "debug", "--no-metrics"});
  ASSERT_TRUE(flags.ok()) << flags.error().message;
  EXPECT_EQ(flags->logFormat, "json");
  EXPECT_EQ(flags->logLevel, "debug");
  EXPECT_FALSE(flags->metricsEnabled);

  setenv("ORDER_SERVICE_LOG_FORMAT", "json", 1);
  setenv("ORDER_SERVICE_LOG_LEVEL", "warn", 1);
  auto environment = parse({});
  unsetenv("ORDER_SERVICE_LOG_FORMAT");
  unsetenv("ORDER_SERVICE_LOG_LEVEL");
  ASSERT_TRUE(environment.ok()) << environment.error().message;
  EXPECT_EQ(environment->logFormat, "json");
  EXPECT_EQ(environment->logLevel, "warn");

  auto badFormat = parse({"--log-format", "xml"});
  ASSERT_FALSE(badFormat.ok());
  EXPECT_NE(badFormat.error().message.find("--log-format"), std::string::npos)
      << badFormat.error().message;
}

TEST(Config, HelpIsReportedSeparately) {
  auto help = parse({"--help"});
  ASSERT_FALSE(help.ok());
  EXPECT_EQ(help.error().code, ErrorCode::kNotFound);
  EXPECT_NE(help.error().message.find("ORDER_SERVICE_DATABASE"), std::string::npos);
}

}  // namespace
}  // namespace orders
