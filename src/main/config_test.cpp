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

TEST(Config, PublishVersionsPutsTwoMajorsSideBySide) {
  auto defaults = parse({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->publishedVersions.of("OrderCreatedEvent"), std::vector<std::string>{"1.0"});

  auto both = parse({"--publish-versions", "OrderCreatedEvent=1.0,2.0"});
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->publishedVersions.of("OrderCreatedEvent"),
            (std::vector<std::string>{"1.0", "2.0"}));

  setenv("ORDER_SERVICE_PUBLISH_VERSIONS", "OrderCreatedEvent=2.0;OrderShippedEvent=1.0", 1);
  auto fromEnvironment = parse({});
  unsetenv("ORDER_SERVICE_PUBLISH_VERSIONS");
  ASSERT_TRUE(fromEnvironment.ok()) << fromEnvironment.error().message;
  EXPECT_EQ(fromEnvironment->publishedVersions.of("OrderCreatedEvent"),
            std::vector<std::string>{"2.0"});

  auto bad = parse({"--publish-versions", "OrderCreatedEvent=9.0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("--publish-versions / ORDER_SERVICE_PUBLISH_VERSIONS "
                                     "'OrderCreatedEvent=9.0': OrderCreatedEvent 9.0 is not a "
                                     "version this build renders (it renders 1.0, 2.0)"),
            std::string::npos)
      << bad.error().message;
}

TEST(Config, HelpIsReportedSeparately) {
  auto help = parse({"--help"});
  ASSERT_FALSE(help.ok());
  EXPECT_EQ(help.error().code, ErrorCode::kNotFound);
  EXPECT_NE(help.error().message.find("ORDER_SERVICE_DATABASE"), std::string::npos);
}

}  // namespace
}  // namespace orders
