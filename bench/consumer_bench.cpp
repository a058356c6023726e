// consumer_bench: how fast the consumer runtime consumes and applies messages, against a raw
// consume+ack baseline on the same broker in the same run. Not a test: it prints a Markdown table
// for docs/benchmarks.md ("Consumer").
//
//   consumer_bench [--amqp-url URL] [--messages N] [--dir DIR]
//
// Without --amqp-url it boots a private RabbitMQ (tests/support) on free ports. Each scenario
// pre-loads N messages into a fresh quorum queue, then measures from start() until all N are
// settled:
//   raw              AmqpClient consume (manual ack, prefetch 64) + ack per message: the floor
//   runtime          the consumer runtime, schema validation, no-op handler, no inbox
//   runtime+inbox    the same with the SQLite inbox (Deduplication::kRuntime: check + record)
//   order-service/W  InboundEvents applying PaymentCompletedEvent through OrderService on SQLite
//                    (order update + 2 outbox events + inbox row per message), W worker threads
//   duplicates/W     the same N messages delivered again: every one is a duplicate

#include <spdlog/spdlog.h>
#include <sys/utsname.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/consumer/rabbit_consumer.hpp"
#include "consumer/sqlite/sqlite_inbox.hpp"
#include "inbound/inbound_events.hpp"
#include "publishing/event_factory.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/rabbitmq_server.hpp"

namespace {

using namespace orders;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Row {
  std::string scenario;
  std::int64_t messages = 0;
  double seconds = 0;
  std::string note;
  double rate() const { return seconds > 0 ? static_cast<double>(messages) / seconds : 0; }
};

RandomIdGenerator ids;

std::string messageId() {
  return "msg-" + ids.uuid();
}

json paymentCompleted(const std::string& id, const std::string& orderId, double amount) {
  return json{{"messageId", id},
              {"messageType", "PaymentCompletedEvent"},
              {"messageVersion", "1.0"},
              {"timestamp", "2024-05-01T10:00:00.000Z"},
              {"source", "PaymentService"},
              {"correlationId", "corr-" + id},
              {"partitionKey", orderId},
              {"payload",
               {{"orderId", orderId},
                {"paymentTransactionId", "pi_" + id.substr(4, 12)},
                {"amount", amount},
                {"currency", "USD"},
                {"completedAt", "2024-05-01T10:00:00.000Z"}}}};
}

void waitUntil(const std::function<bool()>& done) {
  while (!done()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

/// Publishes bodies to `queue` through the default exchange and waits until they are all there.
void preload(AmqpClient& client, const std::string& queue, const std::vector<std::string>& bodies,
             const std::string& exchange = "", const std::string& routingKey = "") {
  for (const auto& body : bodies) {
    BrokerMessage m;
    m.exchange = exchange;
    m.routingKey = routingKey.empty() ? queue : routingKey;
    m.body = body;
    m.contentType = "application/json";
    if (auto s = client.publish(m); !s) throw std::runtime_error(s.error().message);
  }
  const auto target = static_cast<std::int64_t>(bodies.size());
  waitUntil([&] { return client.messageCount(queue).value() >= target; });
}

Row raw(AmqpClient& client, const std::string& url, const std::vector<std::string>& bodies) {
  const std::string queue = "bench.raw";
  (void)client.deleteQueue(queue);  // a leftover from an earlier run
  if (auto s = client.declareQueue(queue, QueueType::kQuorum); !s)
    throw std::runtime_error(s.error().message);
  preload(client, queue, bodies);
  auto consumer = AmqpClient::connect(url).value();
  const auto start = Clock::now();
  if (auto s = consumer->consume(queue, false, 64); !s) throw std::runtime_error(s.error().message);
  std::size_t received = 0;
  while (received < bodies.size()) {
    auto d = consumer->next(std::chrono::seconds(10));
    if (!d || !*d) throw std::runtime_error("raw consumer: no delivery");
    const auto doc = json::parse((*d)->body);  // the least any consumer does
    if (!doc.is_object()) throw std::runtime_error("raw consumer: not a JSON object");
    if (auto s = consumer->ack((*d)->deliveryTag); !s) throw std::runtime_error(s.error().message);
    ++received;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  consumer.reset();
  (void)client.deleteQueue(queue);
  return {"raw consume + ack (baseline)", static_cast<std::int64_t>(bodies.size()), seconds,
          "AmqpClient (one thread: next, parse, ack), prefetch 64"};
}

Row runtime(AmqpClient& client, const RabbitConnectionOptions& connection,
            const SchemaRegistry& schemas, const std::vector<std::string>& bodies, Inbox* inbox,
            const std::string& name) {
  ConsumerOptions options;
  options.subscription.queue = "bench." + name;
  options.subscription.exchange = "bench.payment.events";
  options.subscription.routingKeys = {"PaymentCompletedEvent"};
  options.prefetch = 64;
  for (const auto& q : {options.subscription.queue, retryQueueName(options.subscription.queue, 1),
                        retryQueueName(options.subscription.queue, 2),
                        retryQueueName(options.subscription.queue, 3),
                        deadLetterQueueName(options.subscription.queue)})
    (void)client.deleteQueue(q);
  // Declare the topology, then stop: the messages wait in the queue for the measured run.
  {
    auto declare = makeRabbitConsumer(connection, options, schemas, inbox);
    (void)declare->on(
        "PaymentCompletedEvent", 1,
        [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; },
        Deduplication::kHandler);
    if (auto s = declare->start(); !s) throw std::runtime_error(s.error().message);
    declare->stop();
  }
  preload(client, options.subscription.queue, bodies);
  auto consumer = makeRabbitConsumer(connection, options, schemas, inbox);
  (void)consumer->on(
      "PaymentCompletedEvent", 1,
      [](const InboundMessage&) -> HandlerResult { return Handled::kApplied; },
      inbox != nullptr ? Deduplication::kRuntime : Deduplication::kHandler);
  const auto start = Clock::now();
  if (auto s = consumer->start(); !s) throw std::runtime_error(s.error().message);
  waitUntil([&] { return consumer->status().settled() >= bodies.size(); });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  consumer->stop();
  return {inbox != nullptr ? "runtime + SQLite inbox, no-op handler" : "runtime, no-op handler",
          static_cast<std::int64_t>(bodies.size()), seconds,
          inbox != nullptr
              ? "schema validation; inbox check + record (1 fsync'd commit) per message"
              : "schema validation, per-key worker dispatch, ack"};
}

struct OrderServiceRows {
  Row fresh;
  Row duplicates;
};

OrderServiceRows orderService(AmqpClient& client, const RabbitConnectionOptions& connection,
                              const SchemaRegistry& schemas, std::size_t n, std::size_t workers,
                              const std::string& dir) {
  const std::string db = dir + "/bench-orders-" + std::to_string(workers) + ".db";
  std::filesystem::remove(db);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  auto store = SqliteStore::open(db).value();
  SystemClock clock;
  RandomIdGenerator ids;
  EventFactory events(schemas, ids);
  ThreadPool continuations(2, "continuations");
  OrderService service(*store, events, clock, ids, continuations);

  // N orders in PAYMENT_PROCESSING, created from 8 threads so SQLite commits them in groups.
  std::vector<std::string> orderIds(n);
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> creators;
  for (int t = 0; t < 8; ++t) {
    creators.emplace_back([&] {
      for (std::size_t i = next++; i < n; i = next++) {
        NewOrder request;
        request.userId = ids.uuid();
        request.currency = "USD";
        request.items = {{"prod-456", 2, 1999}, {"prod-789", 1, 5000}};
        request.customer = {"John Doe", "john.doe@example.com"};
        request.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
        auto created = service.executeAndWait(
            std::nullopt,
            [request](const Order*, const ActionContext& ctx) { return createOrder(request, ctx); },
            RequestContext{});
        const OrderId id = created.value().change.order.id;
        (void)service
            .executeAndWait(
                id, [](const Order* o, const ActionContext& ctx) { return startPayment(*o, ctx); },
                RequestContext{})
            .value();
        orderIds[i] = id.str();
      }
    });
  }
  for (auto& t : creators) t.join();

  InboundEventsOptions options;
  options.connection = connection;
  options.workers = workers;
  options.prefetch = 64;
  options.paymentQueue = "bench.order-service.payment-events." + std::to_string(workers);
  options.fulfillmentQueue = "bench.order-service.fulfillment-events." + std::to_string(workers);
  options.paymentExchange = "bench.payment.events";
  options.fulfillmentExchange = "bench.fulfillment.events";
  for (const auto& base : {options.paymentQueue, options.fulfillmentQueue}) {
    for (const auto& q : {base, retryQueueName(base, 1), retryQueueName(base, 2),
                          retryQueueName(base, 3), deadLetterQueueName(base)})
      (void)client.deleteQueue(q);
  }
  {
    InboundEvents declare(service, schemas, options);
    if (auto s = declare.start(); !s) throw std::runtime_error(s.error().message);
    declare.stop();
  }
  std::vector<std::string> bodies;
  for (const auto& orderId : orderIds)
    bodies.push_back(paymentCompleted(messageId(), orderId, 89.98).dump());
  preload(client, options.paymentQueue, bodies);

  OrderServiceRows rows;
  {
    InboundEvents inbound(service, schemas, options);
    const auto start = Clock::now();
    if (auto s = inbound.start(); !s) throw std::runtime_error(s.error().message);
    waitUntil([&] { return inbound.status().payments.settled() >= n; });
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const auto status = inbound.status().payments;
    inbound.stop();
    if (status.applied != n) throw std::runtime_error("not every payment was applied");
    rows.fresh = {"Order Service: PaymentCompletedEvent, " + std::to_string(workers) + " worker(s)",
                  static_cast<std::int64_t>(n), seconds,
                  "OrderService on SQLite: order + 2 outbox rows + inbox row, durable commit"};
  }
  preload(client, options.paymentQueue, bodies);  // every message again
  {
    InboundEvents inbound(service, schemas, options);
    const auto start = Clock::now();
    if (auto s = inbound.start(); !s) throw std::runtime_error(s.error().message);
    waitUntil([&] { return inbound.status().payments.settled() >= n; });
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const auto status = inbound.status().payments;
    inbound.stop();
    if (status.duplicates != n) throw std::runtime_error("not every redelivery was a duplicate");
    rows.duplicates = {"Order Service: the same messages again (duplicates), " +
                           std::to_string(workers) + " worker(s)",
                       static_cast<std::int64_t>(n), seconds,
                       "inbox lookup (a read), no write, ack"};
  }
  store->close();
  return rows;
}

std::string machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::string model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  uname(&u);
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores, Linux " +
         u.release;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  std::size_t messages = 5000;
  std::string dir = std::filesystem::temp_directory_path().string();
  CLI::App app{"consumer_bench: consumer runtime throughput vs raw consume+ack"};
  app.add_option("--amqp-url", url, "Broker to use (default: boot a private one)");
  app.add_option("--messages", messages, "Messages per scenario")->check(CLI::Range(100, 1000000));
  app.add_option("--dir", dir, "Where the SQLite files go")->check(CLI::ExistingDirectory);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  std::unique_ptr<orders::testing::RabbitMqServer> broker;
  if (url.empty()) {
    broker = orders::testing::RabbitMqServer::start();
    url = broker->amqpUrl();
  }
  RabbitConnectionOptions connection;
  connection.url = url;
  auto schemas = SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR).value();
  auto client = AmqpClient::connect(url).value();

  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < messages; ++i)
    bodies.push_back(paymentCompleted(messageId(), ids.uuid(), 89.98).dump());

  std::vector<Row> rows;
  rows.push_back(raw(*client, url, bodies));
  std::cerr << "raw done\n";
  rows.push_back(runtime(*client, connection, schemas, bodies, nullptr, "runtime"));
  std::cerr << "runtime done\n";
  auto inboxFile = dir + "/bench-inbox.db";
  std::filesystem::remove(inboxFile);
  auto inbox = SqliteInbox::open(inboxFile).value();
  rows.push_back(runtime(*client, connection, schemas, bodies, inbox.get(), "runtime-inbox"));
  std::cerr << "runtime + inbox done\n";
  for (std::size_t workers : {std::size_t{1}, std::size_t{4}}) {
    auto r = orderService(*client, connection, schemas, messages, workers, dir);
    rows.push_back(r.fresh);
    rows.push_back(r.duplicates);
    std::cerr << "order service with " << workers << " worker(s) done\n";
  }

  const auto now = std::time(nullptr);
  std::ostringstream date;
  date << std::put_time(std::gmtime(&now), "%Y-%m-%d %H:%M UTC");
  std::cout << "Machine: " << machine() << "\n";
  std::cout << "Date: " << date.str() << "\n";
  std::cout << "Command: consumer_bench --messages " << messages << "\n";
  std::cout << "SQLite files in: " << dir << "\n\n";
  std::cout << "| Scenario | Messages | Seconds | Messages/s | vs. baseline | What it includes |\n";
  std::cout << "|---|---:|---:|---:|---:|---|\n";
  const double baseline = rows.front().rate();
  for (const auto& r : rows) {
    std::cout << "| " << r.scenario << " | " << r.messages << " | " << std::fixed
              << std::setprecision(2) << r.seconds << " | " << std::setprecision(0) << r.rate()
              << " | " << std::setprecision(2) << (baseline > 0 ? r.rate() / baseline : 0) << "x | "
              << r.note << " |\n";
  }
  return 0;
}
