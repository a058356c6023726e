// notification-service-example: what a downstream service looks like on the consumer runtime.
//
// It binds its own queue `notification.order-events` to the Order Service's exchange
// `order.events` with the two routing keys it cares about (selective consumption) and "sends" one
// notification per event: an order confirmation for OrderConfirmationNotificationRequestedEvent,
// a "your parcel is on its way" for OrderShippedEvent. Sending is a log line plus a row in its own
// SQLite database; the row and the inbox record commit in one transaction
// (SqliteInbox::transact), so a redelivered message never sends twice through this service. The
// provider call inside the transaction passes the messageId as its idempotency key: if the commit
// fails after the call, the retry calls again with the same key and the provider drops it.
//
//   notification-service-example --amqp-url amqp://guest:guest@127.0.0.1:5672/%2F
//                                --database ./data/notification.db
//
// Needs order.events to exist (the Order Service declares it, or `order-events topology
// declare`). Stops gracefully on SIGTERM / SIGINT.

#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <thread>

#include "broker/rabbitmq/consumer/rabbit_consumer.hpp"
#include "consumer/sqlite/sqlite_inbox.hpp"
#include "events/schema_registry.hpp"

namespace {

using namespace orders;

struct Options {
  std::string amqpUrl = "amqp://guest:guest@127.0.0.1:5672/%2F";
  std::string schemas = ORDER_SERVICE_SCHEMA_DIR;  // the installed package's, or the source tree's
  std::string database = "notification.db";
  std::string queue = "notification.order-events";
  std::string exchange = "order.events";
  int prefetch = 16;
  int workers = 1;
  int sendLatencyMs = 0;
  std::string logLevel = "info";
};

std::string text(const nlohmann::json& payload, const char* key) {
  auto it = payload.find(key);
  return it != payload.end() && it->is_string() ? it->get<std::string>() : "";
}

/// The provider call. Personal data (the recipient's address) stays out of the log.
Status send(const Options& options, const std::string& idempotencyKey, const std::string& channel,
            const std::string& template_, const std::string& orderId, const std::string& userId) {
  if (options.sendLatencyMs > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(options.sendLatencyMs));
  }
  spdlog::info("notification sent: {} '{}' for order {} to user {} (idempotency key {})", channel,
               template_, orderId, userId, idempotencyKey);
  return okStatus();
}

/// One notification: provider call and bookkeeping row in the inbox transaction.
HandlerResult notify(SqliteInbox& inbox, const Options& options, const InboundMessage& m,
                     const std::string& channel, const std::string& template_) {
  const std::string orderId = text(m.payload, "orderId");
  const std::string userId = text(m.payload, "userId");
  return inbox.transact(m.inboxKey(), [&](SqliteInbox::Transaction& tx) -> Status {
    if (auto s = send(options, m.messageId, channel, template_, orderId, userId); !s) return s;
    return tx.execute(
        "INSERT INTO notifications_sent (message_id, message_type, order_id, user_id, channel, "
        "template) VALUES (?, ?, ?, ?, ?, ?)",
        {m.messageId, m.messageType, orderId, userId, channel, template_});
  });
}

int run(const Options& options) {
  spdlog::set_level(spdlog::level::from_str(options.logLevel));
  auto schemas = SchemaRegistry::load(options.schemas);
  if (!schemas) {
    spdlog::error("cannot load the schemas from {}: {}", options.schemas, schemas.error().message);
    return 1;
  }
  auto inbox = SqliteInbox::open(options.database);
  if (!inbox) {
    spdlog::error("{}", inbox.error().message);
    return 1;
  }
  if (auto s =
          (*inbox)->execute("CREATE TABLE IF NOT EXISTS notifications_sent ("
                            "  id INTEGER PRIMARY KEY,"
                            "  message_id TEXT NOT NULL,"
                            "  message_type TEXT NOT NULL,"
                            "  order_id TEXT NOT NULL,"
                            "  user_id TEXT NOT NULL,"
                            "  channel TEXT NOT NULL,"
                            "  template TEXT NOT NULL,"
                            "  sent_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')))");
      !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }

  ConsumerOptions consumerOptions;
  consumerOptions.subscription.queue = options.queue;
  consumerOptions.subscription.exchange = options.exchange;
  consumerOptions.subscription.routingKeys = {"OrderConfirmationNotificationRequestedEvent",
                                              "OrderShippedEvent"};
  // order.events belongs to the Order Service: only check that it is there.
  consumerOptions.subscription.exchangeDeclaration = ExchangeDeclaration::kPassive;
  // The Order Service's topology (config/topology.json) declares this queue too, with its
  // dead-letter exchange: both declarations must agree.
  consumerOptions.subscription.workQueueDeadLetterExchange = "order.events.dlx";
  consumerOptions.prefetch = static_cast<std::uint16_t>(options.prefetch);
  consumerOptions.workers = static_cast<std::size_t>(options.workers);

  RabbitConnectionOptions connection;
  connection.url = options.amqpUrl;
  connection.connectionName = "notification-service-example";
  SqliteInbox& db = **inbox;
  auto consumer = makeRabbitConsumer(connection, consumerOptions, schemas.value());
  auto registered = consumer->on(
      "OrderConfirmationNotificationRequestedEvent", 1,
      [&](const InboundMessage& m) {
        return notify(db, options, m, text(m.payload, "channel"), text(m.payload, "template"));
      },
      Deduplication::kHandler);
  if (registered) {
    registered = consumer->on(
        "OrderShippedEvent", 1,
        [&](const InboundMessage& m) { return notify(db, options, m, "EMAIL", "order-shipped"); },
        Deduplication::kHandler);
  }
  if (!registered) {
    spdlog::error("{}", registered.error().message);
    return 1;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  if (auto started = consumer->start(); !started) {
    spdlog::error("{}", started.error().message);
    return 1;
  }
  spdlog::info("notification-service-example: consuming {}", options.queue);
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("notification-service-example: signal {}, stopping", signal);
  consumer->stop();
  const auto status = consumer->status();
  spdlog::info("notification-service-example: {} sent, {} duplicates, {} retried, {} dead-lettered",
               status.applied, status.duplicates, status.retried, status.deadLettered);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"notification-service-example: sends a notification per order event"};
  app.add_option("--amqp-url", options.amqpUrl, "amqp://USER:PASS@HOST:PORT/VHOST")
      ->envname("NOTIFICATION_AMQP_URL")
      ->capture_default_str();
  app.add_option("--schemas", options.schemas, "Directory of the JSON Schemas")
      ->capture_default_str();
  app.add_option("--database", options.database, "SQLite file: inbox and sent notifications")
      ->capture_default_str();
  app.add_option("--queue", options.queue, "The queue to consume")->capture_default_str();
  app.add_option("--exchange", options.exchange, "The Order Service's exchange")
      ->capture_default_str();
  app.add_option("--prefetch", options.prefetch, "Unacked deliveries held at once")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_option("--workers", options.workers, "Handler threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--send-latency-ms", options.sendLatencyMs,
                 "Simulated duration of one provider call")
      ->check(CLI::Range(0, 60000));
  app.add_option("--log-level", options.logLevel, "trace, debug, info, warn, error")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return run(options);
}
