#include "broker/rabbitmq/amqp/connection_settings.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"

namespace orders {
namespace {

constexpr const char* kSecret = "pw-MARKER-7f3a";

std::string write(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path) << content;
  return path.string();
}

TEST(ConnectionSettings, PasswordFromAFileReplacesTheUrlsAndDropsOneNewline) {
  testing::TempDir dir;
  AmqpConnectionSettings s;
  s.urls = {"amqps://svc:ignored@broker.example:5671/prod"};
  s.passwordFile = write(dir.path() / "password", std::string(kSecret) + "\n");
  auto options = resolveConnectionSettings(s, "ORDER_SERVICE_");
  ASSERT_TRUE(options.ok()) << options.error().message;
  ASSERT_TRUE(options->password.has_value());
  EXPECT_EQ(*options->password, kSecret);
  EXPECT_TRUE(options->tls.verify);
}

TEST(ConnectionSettings, ErrorsNameTheFlagAndTheVariableAndNeverThePassword) {
  testing::TempDir dir;
  const std::string ca = write(dir.path() / "ca.pem", "not really a CA, but readable");
  struct Case {
    AmqpConnectionSettings settings;
    std::string expected;
  };
  std::vector<Case> cases;
  {
    AmqpConnectionSettings s;
    s.urls = {std::string("amqp://svc:") + kSecret + "@broker:99999/"};
    cases.push_back({s, "--amqp-url / ORDER_SERVICE_AMQP_URL"});
  }
  {
    AmqpConnectionSettings s;
    s.urls = {std::string("amqp://svc:") + kSecret + "@broker/"};
    s.caFile = ca;
    cases.push_back({s, "--amqp-ca-file / ORDER_SERVICE_AMQP_CA_FILE is a TLS setting"});
  }
  {
    AmqpConnectionSettings s;
    s.urls = {std::string("amqps://svc:") + kSecret + "@broker/"};
    s.caFile = (dir.path() / "missing.pem").string();
    cases.push_back({s, "--amqp-ca-file / ORDER_SERVICE_AMQP_CA_FILE: cannot read"});
  }
  {
    AmqpConnectionSettings s;
    s.urls = {std::string("amqps://svc:") + kSecret + "@broker/"};
    s.certFile = ca;
    cases.push_back({s, "needs its key"});
  }
  {
    AmqpConnectionSettings s;
    s.urls = {"amqps://svc@broker/"};
    s.password = kSecret;
    s.passwordFile = ca;
    cases.push_back({s, "are both set"});
  }
  {
    AmqpConnectionSettings s;
    s.urls = {"amqps://svc@broker/"};
    s.passwordFile = (dir.path() / "nope").string();
    cases.push_back({s, "--amqp-password-file / ORDER_SERVICE_AMQP_PASSWORD_FILE: cannot read"});
  }
  {
    AmqpConnectionSettings s;
    s.urls = {"amqps://svc@broker/"};
    s.passwordFile = write(dir.path() / "empty", "\n");
    cases.push_back({s, "is empty"});
  }
  for (const auto& c : cases) {
    auto options = resolveConnectionSettings(c.settings, "ORDER_SERVICE_");
    ASSERT_FALSE(options.ok()) << c.expected;
    EXPECT_EQ(options.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(options.error().message.find(c.expected), std::string::npos)
        << options.error().message;
    EXPECT_EQ(options.error().message.find(kSecret), std::string::npos) << options.error().message;
  }
}

TEST(ConnectionSettings, SeveralBrokersFromRepeatedFlagsAndCommaListsKeepTheirOrder) {
  AmqpConnectionSettings s;
  s.urls = {"amqp://svc@node-a:5672/", "amqp://svc@node-b:5672/, amqp://svc@node-c:5673/"};
  auto options = resolveConnectionSettings(s, "ORDER_SERVICE_");
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->url, "amqp://svc@node-a:5672/");
  EXPECT_EQ(options->failoverUrls,
            (std::vector<std::string>{"amqp://svc@node-b:5672/", "amqp://svc@node-c:5673/"}));
}

TEST(ConnectionSettings, ABadEntryOfTheBrokerListIsNamedByItsPositionWithoutThePassword) {
  struct Case {
    std::vector<std::string> urls;
    std::string expected;
  };
  const std::string good = std::string("amqp://svc:") + kSecret + "@node-a/";
  const std::vector<Case> cases = {
      {{good + "," + "amqp://svc:" + kSecret + "@node-b:0/"},
       "--amqp-url / ORDER_SERVICE_AMQP_URL entry 2 of 2: "},
      {{good, good, "http://node-c/"}, "entry 3 of 3: "},
      {{good + ",,"}, "entry 2 of 3 is empty (a stray comma?)"},
      {{good, "amqps://svc@node-b/"}, "is amqps:// but entry 1"},
  };
  for (const auto& c : cases) {
    AmqpConnectionSettings s;
    s.urls = c.urls;
    auto options = resolveConnectionSettings(s, "ORDER_SERVICE_");
    ASSERT_FALSE(options.ok()) << c.expected;
    EXPECT_EQ(options.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(options.error().message.find(c.expected), std::string::npos)
        << options.error().message;
    EXPECT_EQ(options.error().message.find(kSecret), std::string::npos) << options.error().message;
  }
}

TEST(ConnectionSettings, WarnsAboutPlainAmqpOffTheMachineAndAboutSwitchedOffVerification) {
  RabbitConnectionOptions local;
  local.url = "amqp://guest:guest@127.0.0.1:5672/";
  EXPECT_TRUE(connectionWarnings(local).empty());
  RabbitConnectionOptions remote;
  remote.url = std::string("amqp://svc:") + kSecret + "@rabbit.internal/";
  auto warnings = connectionWarnings(remote);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("plain amqp://"), std::string::npos);
  EXPECT_EQ(warnings[0].find(kSecret), std::string::npos);
  RabbitConnectionOptions tls;
  tls.url = "amqps://svc@rabbit.internal/";
  EXPECT_TRUE(connectionWarnings(tls).empty());
  tls.tls.verify = false;
  warnings = connectionWarnings(tls);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("TLS VERIFICATION IS OFF"), std::string::npos);
}

}  // namespace
}  // namespace orders
