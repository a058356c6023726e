// The JSON log format: every line is one JSON object with time, level, msg and the scope's fields,
// whatever the message contains.

#include "observability/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/log_fields.hpp"

namespace orders {
namespace {

struct CapturedLog {
  std::ostringstream lines;
  std::shared_ptr<spdlog::logger> logger;
  CapturedLog() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
    sink->set_formatter(std::make_unique<JsonLogFormatter>());
    logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::trace);
  }
  std::vector<nlohmann::json> parsed() const {
    std::vector<nlohmann::json> result;
    std::istringstream in(lines.str());
    std::string line;
    while (std::getline(in, line)) result.push_back(nlohmann::json::parse(line));  // throws if not
    return result;
  }
};

TEST(JsonLogFormatter, WritesOneObjectPerLineWithTheScopeFields) {
  CapturedLog log;
  log.logger->info("outside any scope");
  {
    const std::string messageId = "m-1";
    ScopedLogFields outer({.orderId = "o-1", .correlationId = "c-1"});
    ScopedLogFields inner({.messageId = messageId, .messageType = "PaymentCompletedEvent"});
    log.logger->warn("dead-lettered {}", messageId);
  }
  log.logger->error("after the scope");
  const auto lines = log.parsed();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].at("msg"), "outside any scope");
  EXPECT_EQ(lines[0].at("level"), "info");
  EXPECT_FALSE(lines[0].contains("messageId"));
  EXPECT_EQ(lines[1].at("msg"), "dead-lettered m-1");
  EXPECT_EQ(lines[1].at("level"), "warn");
  EXPECT_EQ(lines[1].at("messageId"), "m-1");
  EXPECT_EQ(lines[1].at("messageType"), "PaymentCompletedEvent");
  EXPECT_EQ(lines[1].at("orderId"), "o-1");
  EXPECT_EQ(lines[1].at("correlationId"), "c-1");
  EXPECT_FALSE(lines[2].contains("orderId")) << "the scope restored the outer fields";
  const std::string time = lines[2].at("time");
  EXPECT_EQ(time.size(), std::string("2026-12-01T16:20:00.123Z").size()) << time;
  EXPECT_EQ(time.back(), 'Z');
}

TEST(JsonLogFormatter, EscapesQuotesControlCharactersAndInvalidUtf8) {
  CapturedLog log;
  const std::string nasty =
      std::string("a \"quoted\" \\ back\nslash\ttab \x01 ") + "\xff\xfe" + " caf\xc3\xa9";
  ScopedLogFields fields({.messageId = nasty});
  log.logger->info("{}", nasty);
  const auto lines = log.parsed();
  ASSERT_EQ(lines.size(), 1u) << "a newline in a message must not split the line";
  const std::string msg = lines[0].at("msg");
  EXPECT_NE(msg.find("a \"quoted\" \\ back\nslash\ttab \x01 "), std::string::npos) << msg;
  EXPECT_NE(msg.find("\xef\xbf\xbd"), std::string::npos) << "invalid UTF-8 becomes U+FFFD";
  EXPECT_NE(msg.find("caf\xc3\xa9"), std::string::npos) << "valid UTF-8 is kept";
  EXPECT_EQ(lines[0].at("messageId"), msg);
}

TEST(ConfigureLogging, RefusesUnknownFormatsAndLevels) {
  EXPECT_EQ(configureLogging("xml", "info").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(configureLogging("json", "loud").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(configureLogging("text", "info").ok());
}

}  // namespace
}  // namespace orders
