// `order-events dlq ...` against a real broker: list, inspect, replay (one, all, to a missing
// queue), purge, and the exit codes for bad input.

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>

#include "broker/rabbitmq/consumer/rabbit_consumer.hpp"
#include "broker/rabbitmq/consumer/testing/consumer_rmq_test_support.hpp"
#include "dlq_commands.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;

struct Run {
  int code = 0;
  std::string out;
  std::string err;
};

/// Runs `order-events <line>` through a CLI::App the way the CLI's main does.
Run cli(const std::string& line) {
  std::ostringstream out;
  std::ostringstream err;
  CLI::App app{"order-events"};
  app.require_subcommand(1);
  tools::addDlqCommands(app, nullptr, out, err);
  Run run;
  try {
    app.parse(line, false);
  } catch (const CLI::ParseError& e) {
    run.code = app.exit(e, out, err);
  }
  run.out = out.str();
  run.err = err.str();
  return run;
}

class DlqCommandsRmqTest : public testing::WidgetConsumerRmqTest {
 protected:
  DlqCommandsRmqTest() : WidgetConsumerRmqTest("dlq-widgets") {
    options_.retry.maxRetries = 0;
    RabbitConnectionOptions c;
    c.url = url();
    consumer_ = makeRabbitConsumer(c, options_, *schemas_, inbox_.get());
    EXPECT_TRUE(consumer_
                    ->on("WidgetEvent", 1,
                         [this](const InboundMessage&) -> HandlerResult {
                           ++calls_;
                           if (broken_) return Error{ErrorCode::kNotFound, "no such widget"};
                           return Handled::kApplied;
                         })
                    .ok());
    EXPECT_TRUE(consumer_->start().ok());
  }

  ~DlqCommandsRmqTest() override { consumer_->stop(); }

  std::string publish(const std::string& widgetId) {
    auto id = testing::newMessageId();
    BrokerMessage m;
    m.exchange = exchange_;
    m.routingKey = "WidgetEvent";
    m.messageId = id;
    m.type = "WidgetEvent";
    m.body = testing::widget(id, widgetId).dump();
    EXPECT_TRUE(client_->publish(m).ok());
    return id;
  }

  std::int64_t dlqCount() {
    auto n = client_->messageCount(deadLetterQueueName(queue_));
    return n ? *n : -1;
  }

  /// Three messages in the DLQ.
  std::vector<std::string> fillDlq() {
    std::vector<std::string> ids{publish("w-1"), publish("w-2"), publish("w-3")};
    EXPECT_TRUE(waitFor([&] { return consumer_->status().deadLettered == 3 && dlqCount() == 3; }));
    return ids;
  }

  std::string base() const { return "dlq --amqp-url " + url() + " "; }

  std::unique_ptr<Consumer> consumer_;
  std::atomic<bool> broken_{true};
  std::atomic<int> calls_{0};
};

TEST_F(DlqCommandsRmqTest, ListCountsAndSummarisesWithoutRemoving) {
  const auto ids = fillDlq();
  auto run = cli(base() + "list --queue " + queue_);
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find(queue_ + ".dlq: 3 message(s)"), std::string::npos) << run.out;
  for (const auto& id : ids) EXPECT_NE(run.out.find(id), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("WidgetEvent"), std::string::npos);
  EXPECT_NE(run.out.find("permanent-failure: not-found: no such widget"), std::string::npos)
      << run.out;
  run = cli(base() + "list --queue " + queue_ + ".dlq --limit 1");
  ASSERT_EQ(run.code, 0);
  EXPECT_NE(run.out.find("... and 2 more"), std::string::npos) << run.out;
  // Listed messages stay (the broker requeues them asynchronously).
  EXPECT_TRUE(waitFor([&] { return dlqCount() == 3; }));
}

TEST_F(DlqCommandsRmqTest, InspectPrintsOneJsonObjectPerMessageWithTheFailureHeaders) {
  fillDlq();
  auto run = cli(base() + "inspect --queue " + queue_ + " --limit 2");
  ASSERT_EQ(run.code, 0) << run.err;
  std::istringstream lines(run.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const json j = json::parse(line);
    EXPECT_EQ(j["failureKind"], "permanent-failure");
    EXPECT_EQ(j["failureReason"], "not-found: no such widget");
    EXPECT_EQ(j["attempts"], 1);
    EXPECT_EQ(j["originalQueue"], queue_);
    EXPECT_EQ(j["originalExchange"], exchange_);
    EXPECT_EQ(j["originalRoutingKey"], "WidgetEvent");
    EXPECT_EQ(j["headers"]["x-failure-kind"], "permanent-failure");
    EXPECT_TRUE(j["headers"].contains("x-failed-at"));
    EXPECT_EQ(j["body"]["messageType"], "WidgetEvent");  // the body as JSON
  }
  EXPECT_EQ(n, 2);
  EXPECT_TRUE(waitFor([&] { return dlqCount() == 3; }));
}

TEST_F(DlqCommandsRmqTest, ReplayOneThenAllBringsThemBackAndTheyAreProcessed) {
  const auto ids = fillDlq();
  broken_ = false;
  auto run = cli(base() + "replay --queue " + queue_ + " --message-id " + ids[1]);
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("replayed 1 message(s)"), std::string::npos) << run.out;
  ASSERT_TRUE(waitFor([&] { return consumer_->status().applied == 1; }));
  EXPECT_TRUE(inbox_->contains({queue_, ids[1]}).value());
  ASSERT_TRUE(waitFor([&] { return dlqCount() == 2; }));  // the other two were given back

  run = cli(base() + "replay --queue " + queue_ + ".dlq --all");
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("replayed 2 message(s)"), std::string::npos) << run.out;
  ASSERT_TRUE(waitFor([&] { return consumer_->status().applied == 3; }));
  EXPECT_EQ(dlqCount(), 0);

  run = cli(base() + "replay --queue " + queue_ + " --message-id " + ids[0]);
  EXPECT_EQ(run.code, 2);  // nothing with that id left
  EXPECT_NE(run.err.find("no message with id"), std::string::npos) << run.err;
}

TEST_F(DlqCommandsRmqTest, AReplayThatCannotBeDeliveredLeavesTheMessageInTheDlq) {
  fillDlq();
  consumer_->stop();
  ASSERT_TRUE(client_->deleteQueue(queue_).ok());  // the work queue is gone
  auto run = cli(base() + "replay --queue " + queue_ + " --all");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("left in the DLQ"), std::string::npos) << run.err;
  EXPECT_TRUE(waitFor([&] { return dlqCount() == 3; }));
}

TEST_F(DlqCommandsRmqTest, PurgeEmptiesTheDlq) {
  fillDlq();
  auto run = cli(base() + "purge --queue " + queue_);
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("purged 3 message(s)"), std::string::npos) << run.out;
  EXPECT_EQ(dlqCount(), 0);
}

TEST_F(DlqCommandsRmqTest, BadInputExitsWithTwoAndSaysWhy) {
  auto run = cli(base() + "replay --queue " + queue_);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("exactly one of --message-id ID and --all"), std::string::npos);
  run = cli(base() + "replay --queue " + queue_ + " --all --message-id msg-x");
  EXPECT_EQ(run.code, 2);
  run = cli(base() + "list");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("--queue is required"), std::string::npos) << run.err;
  run = cli(base() + "list --queue no-such-queue-" + queue_);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("does not exist"), std::string::npos) << run.err;
  run = cli("dlq --amqp-url http://localhost list --queue " + queue_);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("scheme"), std::string::npos) << run.err;
  // An unreachable broker is not bad input.
  run = cli("dlq --amqp-url amqp://guest:guest@127.0.0.1:1/%2F list --queue " + queue_);
  EXPECT_EQ(run.code, 1) << run.err;
}

}  // namespace
}  // namespace orders
