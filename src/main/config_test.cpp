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
  EXPECT_EQ(config->broker.url, "amqp://u:p@broker:5673/");
  ASSERT_EQ(config->brokerWarnings.size(), 1u);  // plain amqp:// to another machine
  EXPECT_NE(config->brokerWarnings[0].find("plain amqp://"), std::string::npos);
}

TEST(Config, BrokerTlsAndPasswordComeFromFlagsAndEnvironment) {
  const std::string ca = std::string(ORDER_SERVICE_SOURCE_DIR) + "/config/topology.json";
  setenv("ORDER_SERVICE_AMQP_URL", "amqps://svc@b-1.mq.eu-west-1.amazonaws.com/", 1);
  setenv("ORDER_SERVICE_AMQP_PASSWORD", "pw-from-env", 1);
  setenv("ORDER_SERVICE_AMQP_CA_FILE", ca.c_str(), 1);
  auto config = parse({});
  auto plain = parse({"--amqp-url", "amqp://127.0.0.1/"});
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

  auto insecure = parse({"--amqp-url", "amqps://localhost/", "--amqp-tls-insecure"});
  ASSERT_TRUE(insecure.ok()) << insecure.error().message;
  EXPECT_FALSE(insecure->broker.tls.verify);
  ASSERT_EQ(insecure->brokerWarnings.size(), 1u);
  EXPECT_NE(insecure->brokerWarnings[0].find("TLS VERIFICATION IS OFF"), std::string::npos);
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

}  // namespace
}  // namespace orders
