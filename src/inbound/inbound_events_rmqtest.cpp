// The Order Service consuming payment and fulfilment events (InboundEvents) against a real broker
// and a real SQLite file: same transitions and outgoing events as the HTTP endpoints, one effect
// per message, permanent failures dead-lettered with the reason.

#include <gtest/gtest.h>

#include <future>
#include <regex>

#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/consumer/dead_letter_admin.hpp"
#include "consumer/consumer_test_support.hpp"
#include "events/event_factory.hpp"
#include "http/order_api.hpp"
#include "inbound/inbound_events.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/rabbitmq_server.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;

class InboundEventsRmqTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)orders::testing::RabbitMqServer::shared(); }

  InboundEventsRmqTest()
      : store_(SqliteStore::open(dir_.file("orders.db")).value()),
        schemas_(SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR).value()),
        events_(schemas_, ids_),
        service_(*store_, events_, clock_, ids_, continuations_) {
    static int counter = 0;
    const std::string prefix = "t" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    options_.connection.url = url();
    options_.paymentExchange = prefix + ".payment.events";
    options_.fulfillmentExchange = prefix + ".fulfillment.events";
    options_.paymentQueue = prefix + ".order-service.payment-events";
    options_.fulfillmentQueue = prefix + ".order-service.fulfillment-events";
    options_.retry.delays = {100ms, 200ms};
    options_.retry.maxRetries = 2;
    options_.workers = 2;
    client_ = AmqpClient::connect(url()).value();
  }

  ~InboundEventsRmqTest() override {
    if (inbound_) inbound_->stop();
    for (const auto& q : {options_.paymentQueue, options_.fulfillmentQueue}) {
      for (const auto& name :
           {q, retryQueueName(q, 1), retryQueueName(q, 2), deadLetterQueueName(q)}) {
        (void)client_->deleteQueue(name);  // cleanup only
      }
    }
    (void)client_->deleteExchange(options_.paymentExchange);
    (void)client_->deleteExchange(options_.fulfillmentExchange);
    store_->close();
  }

  static std::string url() { return orders::testing::RabbitMqServer::shared().amqpUrl(); }

  void startInbound() {
    inbound_ = std::make_unique<InboundEvents>(service_, schemas_, options_);
    auto started = inbound_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  /// A new order (same user and items every time) in PAYMENT_PROCESSING unless told otherwise.
  OrderId createOrder(bool startPayment = true) {
    NewOrder request;
    request.userId = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    request.currency = "USD";
    request.items = {{"prod-456", 2, 1999}, {"prod-789", 1, 5000}};
    request.customer = {"John Doe", "john.doe@example.com"};
    request.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
    RequestContext context;
    context.initiatedBy = "user:" + request.userId;
    auto created = service_.executeAndWait(
        std::nullopt,
        [request](const Order*, const ActionContext& ctx) {
          return orders::createOrder(request, ctx);
        },
        context);
    EXPECT_TRUE(created.ok());
    const OrderId id = created->change.order.id;
    if (startPayment) {
      auto started = service_.executeAndWait(
          id,
          [](const Order* o, const ActionContext& ctx) { return orders::startPayment(*o, ctx); },
          RequestContext{});
      EXPECT_TRUE(started.ok());
    }
    return id;
  }

  Order order(const OrderId& id) { return service_.getOrder(id).value().order; }

  std::string publish(const std::string& exchange, const std::string& type, json payload,
                      const std::string& partitionKey, const std::string& correlationId = "",
                      std::string messageId = "") {
    if (messageId.empty()) messageId = testing::newMessageId();
    auto message = testing::envelope(
        type, "1.0", std::move(payload), messageId, partitionKey,
        exchange == options_.paymentExchange ? "PaymentService" : "FulfillmentService");
    if (correlationId.empty()) {
      message.erase("correlationId");
    } else {
      message["correlationId"] = correlationId;
    }
    BrokerMessage m;
    m.exchange = exchange;
    m.routingKey = type;
    m.messageId = messageId;
    m.body = message.dump();
    EXPECT_TRUE(client_->publish(m).ok());
    return messageId;
  }

  std::string paymentCompleted(const OrderId& id, const std::string& correlationId = "",
                               double amount = 89.98, const std::string& messageId = "") {
    return publish(options_.paymentExchange, "PaymentCompletedEvent",
                   {{"orderId", id.str()},
                    {"paymentTransactionId", "pay-tx-1"},
                    {"amount", amount},
                    {"currency", "USD"},
                    {"completedAt", "2024-05-01T10:00:00.000Z"}},
                   id.str(), correlationId, messageId);
  }

  /// The POST endpoint's answer, waited for.
  http::Response post(const std::string& path, const json& body, const std::string& correlationId) {
    http::OrderApi api(
        service_, ids_, [] { return http::Readiness{}; }, clock_);
    http::Request request;
    request.method = "POST";
    request.target = path;
    http::parseTarget(request);
    request.headers = {{"content-type", "application/json"}, {"x-correlation-id", correlationId}};
    request.body = body.dump();
    std::promise<http::Response> answered;
    auto future = answered.get_future();
    api.handle(request, [&answered](http::Response r) { answered.set_value(std::move(r)); });
    return future.get();
  }

  /// The outbox rows of one order, oldest first.
  std::vector<OutboxMessage> outbox(const OrderId& id) {
    std::vector<OutboxMessage> rows;
    auto all = store_->fetchUnpublished(0, 100000);
    EXPECT_TRUE(all.ok());
    if (!all) return rows;
    for (auto& row : *all) {
      if (row.partitionKey == id.str()) rows.push_back(std::move(row));
    }
    return rows;
  }

  std::vector<DeadLetter> deadLetters(const std::string& queue) {
    RabbitConnectionOptions c;
    c.url = url();
    return DeadLetterAdmin::connect(c).value()->peek(deadLetterQueueName(queue), 100).value();
  }

  testing::TempDir dir_{"inbound-rmq"};
  std::unique_ptr<SqliteStore> store_;
  SchemaRegistry schemas_;
  SystemClock clock_;
  RandomIdGenerator ids_;
  EventFactory events_;
  ThreadPool continuations_{1, "continuations"};
  OrderService service_;
  InboundEventsOptions options_;
  std::unique_ptr<InboundEvents> inbound_;
  std::unique_ptr<AmqpClient> client_;
};

/// The envelope and payload of an outbox row with what must differ between two orders masked:
/// their ids, the event's own messageId, and timestamps.
json comparable(const OutboxMessage& row, const OrderId& id) {
  static const std::regex timestamp(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");
  std::function<json(const json&)> mask = [&](const json& v) -> json {
    if (v.is_object()) {
      json out = json::object();
      for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = mask(it.value());
      return out;
    }
    if (v.is_array()) {
      json out = json::array();
      for (const auto& e : v) out.push_back(mask(e));
      return out;
    }
    if (v.is_string()) {
      const auto s = v.get<std::string>();
      if (s == id.str()) return "<orderId>";
      if (std::regex_match(s, timestamp)) return "<timestamp>";
    }
    return v;
  };
  json envelope = json::parse(row.body);
  envelope.erase("messageId");
  return mask(envelope);
}

TEST_F(InboundEventsRmqTest, APaymentResultByMessageProducesExactlyTheEventsOfTheHttpEndpoint) {
  startInbound();
  const OrderId byHttp = createOrder();
  const OrderId byMessage = createOrder();
  const OrderId failedByHttp = createOrder();
  const OrderId failedByMessage = createOrder();
  const auto before = outbox(byMessage).size();

  auto response =
      post("/v1/orders/" + byHttp.str() + "/payment/result",
           {{"outcome", "COMPLETED"}, {"paymentTransactionId", "pay-tx-1"}}, "corr-payment-1");
  ASSERT_EQ(response.status, 200) << response.body;
  paymentCompleted(byMessage, "corr-payment-1");

  response = post("/v1/orders/" + failedByHttp.str() + "/payment/result",
                  {{"outcome", "FAILED"},
                   {"paymentTransactionId", "pay-tx-2"},
                   {"failureCode", "card_declined"},
                   {"message", "Insufficient funds"}},
                  "corr-payment-2");
  ASSERT_EQ(response.status, 200) << response.body;
  publish(options_.paymentExchange, "PaymentFailedEvent",
          {{"orderId", failedByMessage.str()},
           {"paymentTransactionId", "pay-tx-2"},
           {"failureCode", "card_declined"},
           {"message", "Insufficient funds"},
           {"failedAt", "2024-05-01T10:00:00.000Z"}},
          failedByMessage.str(), "corr-payment-2");

  ASSERT_TRUE(waitFor([&] { return inbound_->status().payments.applied == 2; }));
  EXPECT_EQ(order(byMessage).status, OrderStatus::kAwaitingFulfillment);
  EXPECT_EQ(order(failedByMessage).status, OrderStatus::kPaymentFailed);
  EXPECT_EQ(order(byMessage).payment.paidAmount, order(byHttp).payment.paidAmount);

  for (const auto& [http, message] :
       {std::pair{byHttp, byMessage}, std::pair{failedByHttp, failedByMessage}}) {
    auto expected = outbox(http);
    auto actual = outbox(message);
    ASSERT_EQ(expected.size(), actual.size());
    std::vector<std::string> types;
    for (std::size_t i = before; i < actual.size(); ++i) {
      EXPECT_EQ(actual[i].messageType, expected[i].messageType);
      EXPECT_EQ(actual[i].sequence, expected[i].sequence);
      EXPECT_EQ(actual[i].correlationId, expected[i].correlationId);
      EXPECT_EQ(comparable(actual[i], message), comparable(expected[i], http))
          << actual[i].body << "\n"
          << expected[i].body;
      types.push_back(actual[i].messageType);
    }
    if (http == byHttp) {
      EXPECT_EQ(types, (std::vector<std::string>{"OrderStatusChangedEvent",
                                                 "OrderPaymentCompletedEvent"}));
      EXPECT_EQ(json::parse(actual.back().body)["payload"]["initiatedBy"], "PaymentService");
    } else {
      EXPECT_EQ(types,
                (std::vector<std::string>{"OrderStatusChangedEvent", "OrderPaymentFailedEvent"}));
    }
  }
}

TEST_F(InboundEventsRmqTest, ARedeliveredPaymentMessageHasOneEffect) {
  startInbound();
  const OrderId id = createOrder();
  const auto messageId = testing::newMessageId();
  for (int i = 0; i < 3; ++i) paymentCompleted(id, "corr-dup", 89.98, messageId);
  ASSERT_TRUE(waitFor([&] { return inbound_->status().payments.settled() == 3; }));
  const auto status = inbound_->status().payments;
  EXPECT_EQ(status.applied, 1u);
  EXPECT_EQ(status.duplicates, 2u);
  EXPECT_EQ(status.deadLettered, 0u);
  const auto rows = outbox(id);
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(),
                          [](const OutboxMessage& r) {
                            return r.messageType == "OrderPaymentCompletedEvent";
                          }),
            1);
  EXPECT_TRUE(store_->inboxContains(options_.paymentQueue, messageId).value());
}

TEST_F(InboundEventsRmqTest, ATransitionTheOrderCannotMakeIsDeadLetteredWithTheReason) {
  startInbound();
  const OrderId pending = createOrder(/*startPayment=*/false);
  const OrderId processing = createOrder();
  const auto notAllowed = paymentCompleted(pending);
  const auto unknownOrder = paymentCompleted(OrderId(testing::newUuid()));
  const auto wrongAmount = paymentCompleted(processing, "", 10.00);
  ASSERT_TRUE(waitFor([&] { return inbound_->status().payments.deadLettered == 3; }));
  EXPECT_EQ(inbound_->status().payments.retried, 0u);  // permanent: no retry loop
  EXPECT_EQ(order(pending).status, OrderStatus::kPendingPayment);
  EXPECT_EQ(order(processing).status, OrderStatus::kPaymentProcessing);
  std::map<std::string, DeadLetter> byId;
  for (auto& l : deadLetters(options_.paymentQueue)) byId[l.messageId] = l;
  ASSERT_EQ(byId.size(), 3u);
  EXPECT_EQ(byId[notAllowed].failureKind, "permanent-failure");
  EXPECT_NE(byId[notAllowed].failureReason.find("transition-not-allowed"), std::string::npos)
      << byId[notAllowed].failureReason;
  EXPECT_NE(byId[notAllowed].failureReason.find("PENDING_PAYMENT"), std::string::npos);
  EXPECT_NE(byId[unknownOrder].failureReason.find("not-found"), std::string::npos)
      << byId[unknownOrder].failureReason;
  EXPECT_NE(byId[wrongAmount].failureReason.find("does not match"), std::string::npos)
      << byId[wrongAmount].failureReason;
  EXPECT_EQ(byId[wrongAmount].originalExchange, options_.paymentExchange);
  EXPECT_EQ(byId[wrongAmount].originalRoutingKey, "PaymentCompletedEvent");
}

TEST_F(InboundEventsRmqTest, ShipmentsDeliveriesAndRefundsFollowTheLifecycle) {
  startInbound();
  const OrderId id = createOrder();
  paymentCompleted(id);
  ASSERT_TRUE(waitFor([&] { return order(id).status == OrderStatus::kAwaitingFulfillment; }));

  publish(options_.fulfillmentExchange, "ShipmentDispatchedEvent",
          {{"orderId", id.str()},
           {"carrier", "DHL"},
           {"trackingNumber", "JD0146000033"},
           {"dispatchedAt", "2024-05-02T08:00:00.000Z"}},
          id.str(), "corr-ship");
  ASSERT_TRUE(waitFor([&] { return order(id).status == OrderStatus::kShipped; }));
  const Order shipped = order(id);
  ASSERT_EQ(shipped.shipments.size(), 1u);
  EXPECT_EQ(shipped.shipments[0].carrier, "DHL");
  auto rows = outbox(id);
  const json shippedEvent = json::parse(rows.back().body);
  EXPECT_EQ(shippedEvent["messageType"], "OrderShippedEvent");
  EXPECT_EQ(shippedEvent["correlationId"], "corr-ship");
  EXPECT_EQ(shippedEvent["payload"]["initiatedBy"], "FulfillmentService");
  EXPECT_EQ(shippedEvent["payload"]["shipmentId"], shipped.shipments[0].id.str());

  publish(options_.fulfillmentExchange, "ShipmentDeliveredEvent",
          {{"orderId", id.str()},
           {"shipmentId", shipped.shipments[0].id.str()},
           {"deliveredAt", "2024-05-03T08:00:00.000Z"}},
          id.str());
  ASSERT_TRUE(waitFor([&] { return order(id).status == OrderStatus::kDelivered; }));

  // A refund requested through the API, paid out by the Payment Service.
  auto requested = service_.executeAndWait(
      id,
      [](const Order* o, const ActionContext& ctx) {
        return requestRefund(*o, 1999, "damaged item", ctx);
      },
      RequestContext{});
  ASSERT_TRUE(requested.ok());
  const RefundId refundId = requested->change.order.refunds.back().id;
  publish(options_.paymentExchange, "RefundProcessedEvent",
          {{"orderId", id.str()},
           {"refundId", refundId.str()},
           {"refundTransactionId", "refund-tx-9"},
           {"amount", 19.99},
           {"currency", "USD"},
           {"processedAt", "2024-05-04T08:00:00.000Z"}},
          id.str());
  ASSERT_TRUE(waitFor([&] {
    const Order current = order(id);
    const Refund* r = current.findRefund(refundId);
    return r != nullptr && r->status == RefundStatus::kProcessed;
  }));
  EXPECT_EQ(order(id).findRefund(refundId)->refundTransactionId, "refund-tx-9");
  EXPECT_EQ(outbox(id).back().messageType, "OrderRefundProcessedEvent");

  // Delivering the same shipment again (a new message, not a redelivery) is refused for good.
  publish(options_.fulfillmentExchange, "ShipmentDeliveredEvent",
          {{"orderId", id.str()}, {"pickup", true}, {"deliveredAt", "2024-05-05T08:00:00.000Z"}},
          id.str());
  ASSERT_TRUE(waitFor([&] { return inbound_->status().fulfillment.deadLettered == 1; }));
  const auto status = inbound_->status();
  EXPECT_EQ(status.payments.applied, 2u);
  EXPECT_EQ(status.fulfillment.applied, 2u);
  EXPECT_EQ(status.payments.state, ConsumerStatus::State::kConnected);
}

TEST_F(InboundEventsRmqTest, QueuesAreQuorumAndBoundToExactlyTheirRoutingKeys) {
  startInbound();
  std::string output;
  auto& broker = orders::testing::RabbitMqServer::shared();
  ASSERT_EQ(broker.rabbitmqctl({"list_bindings", "-q", "--no-table-headers", "source_name",
                                "destination_name", "routing_key"},
                               &output),
            0)
      << output;
  std::set<std::string> payment;
  std::set<std::string> fulfillment;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string source, destination, key;
    fields >> source >> destination >> key;
    if (source == options_.paymentExchange && destination == options_.paymentQueue)
      payment.insert(key);
    if (source == options_.fulfillmentExchange && destination == options_.fulfillmentQueue)
      fulfillment.insert(key);
  }
  EXPECT_EQ(payment, (std::set<std::string>{"PaymentCompletedEvent", "PaymentFailedEvent",
                                            "RefundProcessedEvent"}));
  EXPECT_EQ(fulfillment,
            (std::set<std::string>{"ShipmentDeliveredEvent", "ShipmentDispatchedEvent"}));
  ASSERT_EQ(
      broker.rabbitmqctl({"list_queues", "-q", "--no-table-headers", "name", "type"}, &output), 0);
  std::map<std::string, std::string> types;
  std::istringstream queues(output);
  for (std::string line; std::getline(queues, line);) {
    std::istringstream fields(line);
    std::string name, type;
    fields >> name >> type;
    types[name] = type;
  }
  for (const auto& q : {options_.paymentQueue, options_.fulfillmentQueue}) {
    EXPECT_EQ(types[q], "quorum") << q;
    EXPECT_EQ(types[deadLetterQueueName(q)], "quorum") << q;
    EXPECT_EQ(types[retryQueueName(q, 1)], "quorum") << q;
    EXPECT_EQ(types[retryQueueName(q, 2)], "quorum") << q;
  }
}

}  // namespace
}  // namespace orders
