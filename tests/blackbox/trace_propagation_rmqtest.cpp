// W3C Trace Context end to end, on the built binary with a real RabbitMQ: one trace id followed
// from an HTTP request through the outbox and the broker to a downstream queue, then from a
// payment result sent back to the service's inbound queue into the events its handler causes.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "broker/rabbitmq/amqp_client.hpp"
#include "common/trace_context.hpp"
#include "order_request.hpp"
#include "support/http_client.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/unique_names.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::RabbitMqServer;
using testing::ServiceProcess;
using testing::TempDir;

const std::string& kOrder = testing::kBrokerSuiteOrder;

constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kClientSpan = "00f067aa0ba902b7";
constexpr const char* kTracestate = "congo=t61rcWkgMzE";

std::string stringHeader(const Delivery& d, const std::string& name) {
  const MessageHeader* h = d.header(name);
  if (h == nullptr) return "";
  const auto* text = std::get_if<std::string>(&h->value);
  return text != nullptr ? *text : "";
}

/// The next delivery on `client`'s consumer of the given type, skipping other types.
std::optional<Delivery> nextOfType(AmqpClient& client, const std::string& type) {
  for (int i = 0; i < 20; ++i) {
    auto delivery = client.next(std::chrono::seconds(20));
    if (!delivery.ok() || !delivery->has_value()) return std::nullopt;
    if ((*delivery)->type == type) return std::move(**delivery);
  }
  return std::nullopt;
}

/// A PaymentCompletedEvent from the payment service, with `headers` on the AMQP message.
BrokerMessage paymentCompleted(const std::string& orderId, std::vector<MessageHeader> headers) {
  RandomIdGenerator ids;
  const std::string messageId = "msg-" + ids.uuid();
  const json envelope{{"messageId", messageId},
                      {"messageType", "PaymentCompletedEvent"},
                      {"messageVersion", "1.0"},
                      {"timestamp", "2024-05-01T10:00:00.000Z"},
                      {"source", "PaymentService"},
                      {"correlationId", "corr-trace-e2e"},
                      {"partitionKey", orderId},
                      {"payload",
                       {{"orderId", orderId},
                        {"paymentTransactionId", "pay-tx-1"},
                        {"amount", 21.0},
                        {"currency", "EUR"},
                        {"completedAt", "2024-05-01T10:00:00.000Z"}}}};
  BrokerMessage m;
  m.exchange = "payment.events";  // the service consumes PaymentCompletedEvent from there
  m.routingKey = "PaymentCompletedEvent";
  m.messageId = messageId;
  m.contentType = "application/json";
  m.body = envelope.dump();
  m.headers = std::move(headers);
  return m;
}

TEST(TracePropagation, OneTraceFromARequestThroughTheBrokerAndAConsumerIntoTheNextEvents) {
  auto& broker = RabbitMqServer::shared();
  TempDir dir;
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         {"--database", "sqlite:" + dir.file("orders.db"), "--amqp-url",
                          broker.amqpUrl(), "--log-level", "warn"});
  auto client = AmqpClient::connect(broker.amqpUrl()).value();
  const std::string queue = testing::uniqueName("blackbox.trace");
  ASSERT_TRUE(client->declareQueue(queue, QueueType::kClassic).ok());
  for (const char* type : {"OrderCreatedEvent", "OrderPaymentProcessingInitiatedEvent",
                           "OrderPaymentCompletedEvent", "OrderStatusChangedEvent"}) {
    ASSERT_TRUE(client->bind(queue, "order.events", type).ok());
  }
  ASSERT_TRUE(client->consume(queue, /*autoAck=*/true).ok());

  // 1. The request carries the caller's trace: the event has the same trace id, a span of its own.
  HttpClient http("127.0.0.1", service.port());
  const std::string traceparent = std::string("00-") + kTraceId + "-" + kClientSpan + "-01";
  const auto created =
      http.post("/v1/orders", kOrder, {{"traceparent", traceparent}, {"tracestate", kTracestate}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string orderId = json::parse(created.body).at("orderId");
  const auto createdEvent = nextOfType(*client, "OrderCreatedEvent");
  ASSERT_TRUE(createdEvent);
  const auto createdTrace = parseTraceparent(stringHeader(*createdEvent, "traceparent"));
  ASSERT_TRUE(createdTrace) << "OrderCreatedEvent has no valid traceparent header";
  EXPECT_EQ(createdTrace->traceId, kTraceId);
  EXPECT_NE(createdTrace->parentId, kClientSpan) << "the event has a span id of its own";
  EXPECT_EQ(createdTrace->flags, 1);
  EXPECT_EQ(stringHeader(*createdEvent, "tracestate"), kTracestate);

  // 2. A request without traceparent starts a new trace (its events are not in the caller's).
  ASSERT_EQ(http.post("/v1/orders/" + orderId + "/payment", "").status, 200);
  const auto initiated = nextOfType(*client, "OrderPaymentProcessingInitiatedEvent");
  ASSERT_TRUE(initiated);
  const auto initiatedTrace = parseTraceparent(stringHeader(*initiated, "traceparent"));
  ASSERT_TRUE(initiatedTrace);
  EXPECT_NE(initiatedTrace->traceId, kTraceId);
  EXPECT_EQ(stringHeader(*initiated, "tracestate"), "");
  // (its OrderStatusChangedEvent to PAYMENT_PROCESSING came before it and was skipped)

  // 3. The payment service answers in the trace of the OrderCreatedEvent it read: the events the
  // service's handler causes are in that trace too, each with a new span.
  ASSERT_TRUE(client
                  ->publish(paymentCompleted(
                      orderId, {{"traceparent", stringHeader(*createdEvent, "traceparent")},
                                {"tracestate", std::string(kTracestate)}}))
                  .ok());
  std::set<std::string> spans{kClientSpan, createdTrace->parentId};
  // The change's events in their order (docs/events/README.md): status first, then payment.
  for (const char* type : {"OrderStatusChangedEvent", "OrderPaymentCompletedEvent"}) {
    const auto event = nextOfType(*client, type);
    ASSERT_TRUE(event) << type << " never arrived";
    const auto trace = parseTraceparent(stringHeader(*event, "traceparent"));
    ASSERT_TRUE(trace) << type;
    EXPECT_EQ(trace->traceId, kTraceId) << type;
    EXPECT_TRUE(spans.insert(trace->parentId).second) << type << " reuses span " << trace->parentId;
    EXPECT_EQ(stringHeader(*event, "tracestate"), kTracestate) << type;
  }
  EXPECT_EQ(json::parse(http.get("/v1/orders/" + orderId).body).at("status"),
            "AWAITING_FULFILLMENT");
  EXPECT_TRUE(client->deleteQueue(queue).ok());
}

TEST(TracePropagation, AMalformedTraceparentOnAnInboundMessageStartsANewTraceNeverAnError) {
  auto& broker = RabbitMqServer::shared();
  TempDir dir;
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         {"--database", "sqlite:" + dir.file("orders.db"), "--amqp-url",
                          broker.amqpUrl(), "--log-level", "warn"});
  auto client = AmqpClient::connect(broker.amqpUrl()).value();
  const std::string queue = testing::uniqueName("blackbox.trace-bad");
  ASSERT_TRUE(client->declareQueue(queue, QueueType::kClassic).ok());
  ASSERT_TRUE(client->bind(queue, "order.events", "OrderPaymentCompletedEvent").ok());
  ASSERT_TRUE(client->consume(queue, /*autoAck=*/true).ok());

  HttpClient http("127.0.0.1", service.port());
  const auto created = http.post("/v1/orders", kOrder);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string orderId = json::parse(created.body).at("orderId");
  ASSERT_EQ(http.post("/v1/orders/" + orderId + "/payment", "").status, 200);
  const std::string malformed = std::string("00-") + kTraceId + "-0000000000000000-01";
  ASSERT_TRUE(client->publish(paymentCompleted(orderId, {{"traceparent", malformed}})).ok());

  const auto completed = nextOfType(*client, "OrderPaymentCompletedEvent");
  ASSERT_TRUE(completed) << "the message was applied despite its traceparent";
  const auto trace = parseTraceparent(stringHeader(*completed, "traceparent"));
  ASSERT_TRUE(trace);
  EXPECT_NE(trace->traceId, kTraceId) << "an all-zero parent id is not a trace to continue";
  EXPECT_TRUE(client->deleteQueue(queue).ok());
}

}  // namespace
}  // namespace orders
