#include "config.hpp"

#include <CLI/CLI.hpp>
#include <charconv>

#include "amqp_cli_options.hpp"

namespace orders {

Status parseListenAddress(const std::string& text, const std::string& field, std::string& host,
                          std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return invalid(field, "must be HOST:PORT, like 127.0.0.1:8080 (got '" + text + "')");
  }
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || stop != end || value > 65535) {
    return invalid(field, "has an invalid port in '" + text + "' (0-65535)");
  }
  port = static_cast<std::uint16_t>(value);
  return okStatus();
}

Result<std::string> parseDatabaseUrl(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite) && url.size() > kSqlite.size()) {
    return url.substr(kSqlite.size());
  }
  return invalid("--database",
                 "must be sqlite:PATH (e.g. sqlite:./data/orders.db); got '" + url + "'");
}

Result<ServiceConfig> parseServiceConfig(int argc, char** argv, const std::string& defaultSchemas,
                                         const std::string& defaultTopology) {
  ServiceConfig config;
  config.schemaDirectory = defaultSchemas;
  config.topologyFile = defaultTopology;
  std::string listen = "127.0.0.1:8080";
  std::string database = "sqlite:./data/orders.db";
  bool noRelay = false;
  bool noConsumers = false;
  AmqpConnectionSettings amqp;

  CLI::App app{
      "order-service: owns orders and publishes every change as a domain event on RabbitMQ "
      "(exchange order.events) through a transactional outbox.",
      "order-service"};
  app.add_option("--listen", listen, "HTTP address to listen on, HOST:PORT")
      ->envname("ORDER_SERVICE_LISTEN")
      ->capture_default_str();
  app.add_option("--database", database, "Order database; sqlite:PATH is the embedded default")
      ->envname("ORDER_SERVICE_DATABASE")
      ->capture_default_str();
  // --amqp-url, the password file and the TLS files (tools/order_events/amqp_cli_options.hpp).
  tools::addAmqpConnectionOptions(app, amqp, "ORDER_SERVICE_");
  app.add_option("--schemas", config.schemaDirectory, "Directory of the event JSON Schemas")
      ->envname("ORDER_SERVICE_SCHEMAS")
      ->capture_default_str();
  app.add_option("--topology", config.topologyFile,
                 "Consumer queues and bindings to declare on the broker (JSON)")
      ->envname("ORDER_SERVICE_TOPOLOGY")
      ->capture_default_str();
  app.add_option("--http-threads", config.httpThreads, "HTTP I/O threads")
      ->envname("ORDER_SERVICE_HTTP_THREADS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_flag("--no-relay", noRelay,
               "Do not publish the outbox (another instance or a test does it); events stay "
               "committed in the outbox")
      ->envname("ORDER_SERVICE_NO_RELAY");
  app.add_flag("--no-consumers", noConsumers,
               "Do not consume the inbound payment and fulfillment events")
      ->envname("ORDER_SERVICE_NO_CONSUMERS");
  app.add_option("--log-level", config.logLevel, "trace, debug, info, warn, error")
      ->envname("ORDER_SERVICE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return Error{ErrorCode::kNotFound, app.help()};
  } catch (const CLI::ParseError& e) {
    return Error{ErrorCode::kInvalidArgument,
                 std::string("order-service: ") + e.what() + "\nRun with --help for the options."};
  }
  if (auto s = parseListenAddress(listen, "--listen", config.listenHost, config.listenPort); !s) {
    return Error{ErrorCode::kInvalidArgument,
                 "order-service: --listen / ORDER_SERVICE_LISTEN " + s.error().message};
  }
  auto path = parseDatabaseUrl(database);
  if (!path) {
    return Error{ErrorCode::kInvalidArgument,
                 "order-service: --database / ORDER_SERVICE_DATABASE " + path.error().message};
  }
  config.databasePath = std::move(path).value();
  auto broker = resolveConnectionSettings(amqp, "ORDER_SERVICE_");
  if (!broker)
    return Error{ErrorCode::kInvalidArgument, "order-service: " + broker.error().message};
  config.broker = std::move(broker).value();
  config.brokerWarnings = connectionWarnings(config.broker);
  config.relayEnabled = !noRelay;
  config.consumersEnabled = !noConsumers;
  return config;
}

}  // namespace orders
