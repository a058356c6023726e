#include "consumer/message_processor.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <stdexcept>

#include "consumer/testing/consumer_test_support.hpp"
#include "consumer/testing/memory_inbox.hpp"
#include "support/manual_clock.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::MemoryInbox;
using testing::TempDir;
using testing::widget;

Timestamp at(const char* iso) {
  Timestamp t;
  parseIso8601(iso, t);
  return t;
}

const MessageHeader* find(const BrokerMessage& m, const std::string& name) {
  for (const auto& h : m.headers)
    if (h.name == name) return &h;
  return nullptr;
}
std::string text(const BrokerMessage& m, const std::string& name) {
  const auto* h = find(m, name);
  return h == nullptr ? "<absent>" : std::get<std::string>(h->value);
}
std::int64_t number(const BrokerMessage& m, const std::string& name) {
  const auto* h = find(m, name);
  return h == nullptr ? -1 : std::get<std::int64_t>(h->value);
}

class MessageProcessorTest : public ::testing::Test {
 protected:
  MessageProcessorTest() {
    schemas_ = testing::loadTestSchemas(dir_.path());
    options_ = testing::widgetConsumer("svc.widgets", "widgets");
    options_.retry.delays = {std::chrono::milliseconds(100), std::chrono::milliseconds(200)};
    options_.retry.maxRetries = 3;
  }

  MessageProcessor& processor(Deduplication dedup = Deduplication::kRuntime) {
    if (!processor_) {
      processor_ = std::make_unique<MessageProcessor>(options_, *schemas_, clock_, &inbox_, ids_);
      EXPECT_TRUE(processor_
                      ->on(
                          "WidgetEvent", 1,
                          [this](const InboundMessage& m) -> HandlerResult {
                            seen_.push_back(m);
                            if (behaviour) return behaviour(m);
                            return Handled::kApplied;
                          },
                          dedup)
                      .ok());
    }
    return *processor_;
  }

  static TransportDelivery delivery(const std::string& body) {
    TransportDelivery d;
    d.generation = 1;
    d.deliveryTag = 7;
    d.exchange = "widgets";
    d.routingKey = "WidgetEvent";
    d.body = body;
    d.messageId = "amqp-id";
    d.type = "WidgetEvent";
    d.contentType = "application/json";
    d.headers.push_back({"x-producer-header", std::string("kept")});
    return d;
  }

  TempDir dir_;
  std::unique_ptr<SchemaRegistry> schemas_;
  ConsumerOptions options_;
  testing::ManualClock clock_{at("2024-05-01T12:00:00.000Z")};
  MemoryInbox inbox_;
  RandomIdGenerator ids_;
  std::unique_ptr<MessageProcessor> processor_;
  std::vector<InboundMessage> seen_;
  std::function<HandlerResult(const InboundMessage&)> behaviour;
};

TEST_F(MessageProcessorTest, AppliesAValidMessageAndRecordsItInTheInbox) {
  const auto id = testing::newMessageId();
  auto decision = processor().process(delivery(widget(id).dump()));
  EXPECT_EQ(decision.outcome, Outcome::kApplied);
  EXPECT_EQ(decision.settlement.kind, Settlement::Kind::kAck);
  ASSERT_EQ(seen_.size(), 1u);
  const InboundMessage& m = seen_[0];
  EXPECT_EQ(m.messageId, id);
  EXPECT_EQ(m.messageType, "WidgetEvent");
  EXPECT_EQ(m.majorVersion, 1);
  EXPECT_EQ(m.minorVersion, 0);
  EXPECT_EQ(m.payload["widgetId"], "w-1");
  EXPECT_EQ(m.correlationId, "corr-" + id);
  EXPECT_EQ(m.partitionKey, "w-1");
  EXPECT_EQ(m.consumerName, "svc.widgets");
  EXPECT_EQ(m.exchange, "widgets");
  EXPECT_EQ(m.attempt, 1);
  EXPECT_EQ(m.inboxKey(), std::make_pair(std::string("svc.widgets"), id));
  EXPECT_TRUE(inbox_.contains({"svc.widgets", id}).value());
}

TEST_F(MessageProcessorTest, HandlersSeePayloadNumbersAsWritten) {
  std::string body = widget(testing::newMessageId()).dump();
  body.replace(body.find("\"widgetId\""), 0, R"("price":10.0000000000000001,"n":2,)");
  auto decision = processor().process(delivery(body));
  ASSERT_EQ(decision.outcome, Outcome::kApplied) << decision.reason;
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].payload["price"].get<double>(), 10.0);  // what the double keeps
  EXPECT_EQ(seen_[0].writtenNumber("/price"), "10.0000000000000001");
  EXPECT_EQ(seen_[0].writtenNumber("/n"), "2");
  EXPECT_EQ(seen_[0].writtenNumber("/widgetId"), std::nullopt);
  EXPECT_EQ(seen_[0].writtenNumber("/missing"), std::nullopt);
}

TEST_F(MessageProcessorTest, ANumberBeyondADoubleIsDeadLetteredAsInvalid) {
  std::string body = widget(testing::newMessageId()).dump();
  body.replace(body.find("\"widgetId\""), 0, R"("n":1e400,)");
  auto decision = processor().process(delivery(body));
  EXPECT_EQ(decision.outcome, Outcome::kDeadLettered);
  EXPECT_NE(decision.reason.find("number overflow"), std::string::npos) << decision.reason;
  EXPECT_TRUE(seen_.empty());
}

TEST_F(MessageProcessorTest, ADuplicateIsAckedWithoutRunningTheHandler) {
  const auto body = widget(testing::newMessageId()).dump();
  EXPECT_EQ(processor().process(delivery(body)).outcome, Outcome::kApplied);
  auto second = processor().process(delivery(body));
  EXPECT_EQ(second.outcome, Outcome::kDuplicate);
  EXPECT_EQ(second.settlement.kind, Settlement::Kind::kAck);
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(MessageProcessorTest, HandlerDeduplicationIsLeftToTheHandler) {
  processor(Deduplication::kHandler);
  behaviour = [](const InboundMessage&) -> HandlerResult { return Handled::kDuplicate; };
  auto decision = processor().process(delivery(widget(testing::newMessageId()).dump()));
  EXPECT_EQ(decision.outcome, Outcome::kDuplicate);
  EXPECT_EQ(inbox_.size(), 0u);
}

TEST_F(MessageProcessorTest, ANewerMinorVersionWithUnknownFieldsReachesTheMajorHandler) {
  auto message = widget(testing::newMessageId(), "w-9", "1.1");
  message["payload"]["addedIn11"] = {{"nested", true}};
  auto decision = processor().process(delivery(message.dump()));
  EXPECT_EQ(decision.outcome, Outcome::kApplied) << decision.reason;
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].messageVersion, "1.1");
  EXPECT_EQ(seen_[0].minorVersion, 1);
  EXPECT_TRUE(seen_[0].payload["addedIn11"]["nested"].get<bool>());
}

TEST_F(MessageProcessorTest, BadJsonIsDeadLetteredAtOnceWithTheFailureHeaders) {
  auto decision = processor().process(delivery("{not json"));
  EXPECT_EQ(decision.outcome, Outcome::kDeadLettered);
  ASSERT_EQ(decision.settlement.kind, Settlement::Kind::kRepublishThenAck);
  const BrokerMessage& copy = decision.settlement.copy;
  EXPECT_EQ(copy.exchange, "");
  EXPECT_EQ(copy.routingKey, "svc.widgets.dlq");
  EXPECT_EQ(copy.body, "{not json");
  EXPECT_EQ(text(copy, kHeaderFailureKind), "invalid-message");
  EXPECT_NE(text(copy, kHeaderFailureReason).find("not JSON"), std::string::npos);
  EXPECT_EQ(text(copy, kHeaderFailedAt), "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(number(copy, kHeaderAttempts), 1);
  EXPECT_EQ(number(copy, kHeaderRetryCount), 0);
  EXPECT_EQ(text(copy, kHeaderOriginalExchange), "widgets");
  EXPECT_EQ(text(copy, kHeaderOriginalRoutingKey), "WidgetEvent");
  EXPECT_EQ(text(copy, kHeaderOriginalQueue), "svc.widgets");
  EXPECT_EQ(text(copy, kHeaderConsumer), "svc.widgets");
  EXPECT_EQ(text(copy, "x-producer-header"), "kept");
  EXPECT_EQ(copy.messageId, "amqp-id");
  EXPECT_TRUE(copy.persistent);
  EXPECT_TRUE(copy.mandatory);
  EXPECT_TRUE(seen_.empty());
}

TEST_F(MessageProcessorTest, ASchemaViolationIsDeadLetteredNamingTheField) {
  auto message = widget(testing::newMessageId());
  message["payload"]["widgetId"] = "";
  auto decision = processor().process(delivery(message.dump()));
  EXPECT_EQ(decision.outcome, Outcome::kDeadLettered);
  EXPECT_EQ(text(decision.settlement.copy, kHeaderFailureKind), "invalid-message");
  EXPECT_NE(decision.reason.find("payload/widgetId"), std::string::npos) << decision.reason;
  EXPECT_TRUE(seen_.empty());
}

TEST_F(MessageProcessorTest, AnEnvelopeViolationIsDeadLettered) {
  auto message = widget(testing::newMessageId());
  message.erase("messageId");
  auto decision = processor().process(delivery(message.dump()));
  EXPECT_EQ(decision.outcome, Outcome::kDeadLettered);
  EXPECT_NE(decision.reason.find("messageId"), std::string::npos) << decision.reason;
}

TEST_F(MessageProcessorTest, AnUnknownTypeIsDeadLettered) {
  auto message = testing::envelope("GadgetEvent", "1.0", {{"x", 1}}, testing::newMessageId());
  auto decision = processor().process(delivery(message.dump()));
  EXPECT_EQ(decision.outcome, Outcome::kDeadLettered);
  EXPECT_EQ(text(decision.settlement.copy, kHeaderFailureKind), "invalid-message");
  EXPECT_NE(decision.reason.find("GadgetEvent"), std::string::npos);
}

TEST_F(MessageProcessorTest, AMajorVersionWithoutHandlerIsDeadLetteredNotProcessedBlindly) {
  // 2.0 has a schema, and the message is valid 2.0, but this consumer only handles 1.x.
  auto v2 = testing::envelope("WidgetEvent", "2.0", {{"widgetId", "w"}, {"colour", "red"}},
                              testing::newMessageId());
  auto decision = processor().process(delivery(v2.dump()));
  EXPECT_EQ(decision.outcome, Outcome::kDeadLettered);
  EXPECT_EQ(text(decision.settlement.copy, kHeaderFailureKind), "unsupported-version");
  EXPECT_NE(decision.reason.find("messageVersion 2.0"), std::string::npos) << decision.reason;
  // 3.0: no schema, no handler.
  auto v3 = widget(testing::newMessageId(), "w", "3.0");
  decision = processor().process(delivery(v3.dump()));
  EXPECT_EQ(text(decision.settlement.copy, kHeaderFailureKind), "unsupported-version");
  EXPECT_TRUE(seen_.empty());
}

TEST_F(MessageProcessorTest, TransientFailuresClimbTheRetryLevelsThenDeadLetter) {
  behaviour = [](const InboundMessage&) -> HandlerResult {
    return Error{ErrorCode::kUnavailable, "database is locked"};
  };
  auto d = delivery(widget(testing::newMessageId()).dump());
  // maxRetries 3 with two levels: retry.1, retry.2, retry.2 (the last level repeats), DLQ.
  const std::vector<std::string> expected{"svc.widgets.retry.1", "svc.widgets.retry.2",
                                          "svc.widgets.retry.2"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto decision = processor().process(d);
    ASSERT_EQ(decision.outcome, Outcome::kRetried) << i;
    const BrokerMessage& copy = decision.settlement.copy;
    EXPECT_EQ(copy.exchange, "");
    EXPECT_EQ(copy.routingKey, expected[i]);
    EXPECT_EQ(number(copy, kHeaderRetryCount), static_cast<std::int64_t>(i) + 1);
    EXPECT_NE(text(copy, kHeaderFailureReason).find("database is locked"), std::string::npos);
    // What the retry queue dead-letters back: the default exchange, routing key = the queue.
    d.exchange = "";
    d.routingKey = "svc.widgets";
    d.headers.clear();
    for (const auto& h : copy.headers) d.headers.push_back(h);
    d.headers.push_back({"x-death", std::string(R"([{"count":1,"reason":"expired"}])")});
  }
  auto last = processor().process(d);
  EXPECT_EQ(last.outcome, Outcome::kDeadLettered);
  const BrokerMessage& copy = last.settlement.copy;
  EXPECT_EQ(copy.routingKey, "svc.widgets.dlq");
  EXPECT_EQ(text(copy, kHeaderFailureKind), "retries-exhausted");
  EXPECT_EQ(number(copy, kHeaderAttempts), 4);
  EXPECT_NE(text(copy, kHeaderFailureReason).find("gave up after 4 attempts"), std::string::npos);
  // The first exchange and routing key survive the trip through the retry queues.
  EXPECT_EQ(text(copy, kHeaderOriginalExchange), "widgets");
  EXPECT_EQ(text(copy, kHeaderOriginalRoutingKey), "WidgetEvent");
  EXPECT_EQ(find(copy, "x-death"), nullptr);
  EXPECT_EQ(text(copy, "x-producer-header"), "kept");
  ASSERT_EQ(seen_.size(), 4u);
  EXPECT_EQ(seen_[3].attempt, 4);
  EXPECT_EQ(seen_[3].exchange, "widgets");
  EXPECT_EQ(inbox_.size(), 0u);
}

TEST_F(MessageProcessorTest, PermanentFailuresGoToTheDlqAtOnce) {
  for (auto code :
       {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kTransitionNotAllowed,
        ErrorCode::kConflict, ErrorCode::kPreconditionFailed}) {
    behaviour = [code](const InboundMessage&) -> HandlerResult {
      return Error{code, "cannot ship an order in status CANCELLED", "", "CANCELLED"};
    };
    auto decision = processor().process(delivery(widget(testing::newMessageId()).dump()));
    EXPECT_EQ(decision.outcome, Outcome::kDeadLettered) << toString(code);
    EXPECT_EQ(text(decision.settlement.copy, kHeaderFailureKind), "permanent-failure");
    EXPECT_EQ(text(decision.settlement.copy, kHeaderFailureReason),
              std::string(toString(code)) + ": cannot ship an order in status CANCELLED");
    EXPECT_EQ(number(decision.settlement.copy, kHeaderAttempts), 1);
  }
}

TEST_F(MessageProcessorTest, AnExceptionIsTransient) {
  behaviour = [](const InboundMessage&) -> HandlerResult { throw std::runtime_error("boom"); };
  auto decision = processor().process(delivery(widget(testing::newMessageId()).dump()));
  EXPECT_EQ(decision.outcome, Outcome::kRetried);
  EXPECT_NE(decision.reason.find("boom"), std::string::npos);
}

TEST_F(MessageProcessorTest, AnUnavailableInboxIsTransient) {
  processor();
  inbox_.unavailable = true;
  auto decision = processor().process(delivery(widget(testing::newMessageId()).dump()));
  EXPECT_EQ(decision.outcome, Outcome::kRetried);
  EXPECT_TRUE(seen_.empty());
}

TEST_F(MessageProcessorTest, NoRetriesMeansTheFirstTransientFailureDeadLetters) {
  options_.retry.maxRetries = 0;
  behaviour = [](const InboundMessage&) -> HandlerResult {
    return Error{ErrorCode::kInternal, "bug"};
  };
  auto decision = processor().process(delivery(widget(testing::newMessageId()).dump()));
  EXPECT_EQ(decision.outcome, Outcome::kDeadLettered);
  EXPECT_EQ(text(decision.settlement.copy, kHeaderFailureKind), "retries-exhausted");
}

TEST_F(MessageProcessorTest, TheHandlerWorksInAChildSpanOfTheMessagesTraceparent) {
  auto d = delivery(widget(testing::newMessageId()).dump());
  d.headers.push_back(
      {kTraceparentHeader, std::string("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")});
  d.headers.push_back({kTracestateHeader, std::string("congo=t61rcWkgMzE")});
  const TraceContext* current = nullptr;
  TraceContext seenInHandler;
  behaviour = [&](const InboundMessage&) -> HandlerResult {
    current = currentTraceContext();
    if (current != nullptr) seenInHandler = *current;
    return Handled::kApplied;
  };
  EXPECT_EQ(processor().process(d).outcome, Outcome::kApplied);
  ASSERT_EQ(seen_.size(), 1u);
  const TraceContext& trace = seen_[0].trace;
  EXPECT_EQ(trace.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(trace.parentSpanId, "00f067aa0ba902b7");
  EXPECT_EQ(trace.spanId.size(), 16u);
  EXPECT_NE(trace.spanId, "00f067aa0ba902b7");
  EXPECT_EQ(trace.flags, 1);
  EXPECT_EQ(trace.traceState, "congo=t61rcWkgMzE");
  ASSERT_NE(current, nullptr) << "the handler runs with its context as the thread's current one";
  EXPECT_EQ(seenInHandler.spanId, trace.spanId);
  EXPECT_EQ(currentTraceContext(), nullptr) << "and only while it runs";
}

TEST_F(MessageProcessorTest, AMessageWithoutOrWithABadTraceparentStartsANewTrace) {
  const std::vector<std::optional<MessageHeader>> headers{
      std::nullopt, MessageHeader{kTraceparentHeader, std::string("00-not-a-trace-01")},
      MessageHeader{kTraceparentHeader, std::string("00-00000000000000000000000000000000-"
                                                    "00f067aa0ba902b7-01")},
      MessageHeader{kTraceparentHeader, std::int64_t{42}}};
  for (const auto& header : headers) {
    auto d = delivery(widget(testing::newMessageId()).dump());
    if (header) d.headers.push_back(*header);
    d.headers.push_back({kTracestateHeader, std::string("congo=t61rcWkgMzE")});
    seen_.clear();
    EXPECT_EQ(processor().process(d).outcome, Outcome::kApplied) << "never an error";
    ASSERT_EQ(seen_.size(), 1u);
    const TraceContext& trace = seen_[0].trace;
    EXPECT_EQ(trace.traceId.size(), 32u);
    EXPECT_NE(trace.traceId, "00000000000000000000000000000000");
    EXPECT_EQ(trace.parentSpanId, "");
    EXPECT_EQ(trace.traceState, "") << "tracestate only next to a valid traceparent";
    EXPECT_TRUE(parseTraceparent(trace.traceparent()));
  }
}

TEST_F(MessageProcessorTest, RegistrationErrors) {
  MessageProcessor p(options_, *schemas_, clock_, nullptr, ids_);
  auto noop = [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; };
  EXPECT_EQ(p.on("WidgetEvent", 1, noop, Deduplication::kRuntime).error().code,
            ErrorCode::kInvalidArgument);  // no inbox
  EXPECT_TRUE(p.on("WidgetEvent", 1, noop, Deduplication::kHandler).ok());
  EXPECT_FALSE(p.on("WidgetEvent", 1, noop, Deduplication::kHandler).ok());  // twice
  EXPECT_FALSE(p.on("WidgetEvent", 7, noop, Deduplication::kHandler).ok());  // no schema
  EXPECT_FALSE(p.on("GadgetEvent", 1, noop, Deduplication::kHandler).ok());
}

TEST(Classify, TransientAndPermanentCodes) {
  EXPECT_EQ(classify(ErrorCode::kUnavailable), FailureClass::kTransient);
  EXPECT_EQ(classify(ErrorCode::kInternal), FailureClass::kTransient);
  EXPECT_EQ(classify(ErrorCode::kInvalidArgument), FailureClass::kPermanent);
  EXPECT_EQ(classify(ErrorCode::kNotFound), FailureClass::kPermanent);
  EXPECT_EQ(classify(ErrorCode::kTransitionNotAllowed), FailureClass::kPermanent);
  EXPECT_EQ(classify(ErrorCode::kConflict), FailureClass::kPermanent);
  EXPECT_EQ(classify(ErrorCode::kPreconditionFailed), FailureClass::kPermanent);
}

TEST(ConsumerOptions, Validation) {
  ConsumerOptions o;
  o.subscription.queue = "q";
  o.subscription.exchange = "x";
  o.subscription.routingKeys = {"K"};
  EXPECT_TRUE(validateConsumerOptions(o).ok());
  EXPECT_EQ(o.name(), "q");
  auto bad = [&](auto change, const std::string& field) {
    ConsumerOptions copy = o;
    change(copy);
    auto s = validateConsumerOptions(copy);
    ASSERT_FALSE(s.ok()) << field;
    EXPECT_EQ(s.error().field, field);
  };
  bad([](ConsumerOptions& c) { c.subscription.queue = ""; }, "queue");
  bad([](ConsumerOptions& c) { c.subscription.exchange = "amq.direct"; }, "exchange");
  bad([](ConsumerOptions& c) { c.subscription.routingKeys.clear(); }, "routingKeys");
  bad([](ConsumerOptions& c) { c.retry.maxRetries = -1; }, "maxRetries");
  bad([](ConsumerOptions& c) { c.retry.delays.clear(); }, "delays");
  bad([](ConsumerOptions& c) { c.retry.delays[1] = std::chrono::milliseconds(0); }, "delays[1]");
  bad([](ConsumerOptions& c) { c.prefetch = 0; }, "prefetch");
  bad([](ConsumerOptions& c) { c.workers = 0; }, "workers");
  bad(
      [](ConsumerOptions& c) {
        c.subscription.queueType = QueueType::kClassic;
        c.subscription.deliveryLimit = 3;
      },
      "deliveryLimit");
  EXPECT_EQ(retryQueueName("q", 2), "q.retry.2");
  EXPECT_EQ(deadLetterQueueName("q"), "q.dlq");
}

}  // namespace
}  // namespace orders
