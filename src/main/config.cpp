#include "config.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>

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
  std::string auth = "jwt";
  int leewaySeconds = 30;

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
  app.add_option("--amqp-url", config.amqpUrl,
                 "RabbitMQ the outbox relay publishes to, amqp://USER:PASS@HOST:PORT/VHOST")
      ->envname("ORDER_SERVICE_AMQP_URL")
      ->capture_default_str();
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
  app.add_option("--auth", auth,
                 "API authentication: jwt (bearer tokens, the default) or none (development only: "
                 "every caller is an operator)")
      ->envname("ORDER_SERVICE_AUTH")
      ->check(CLI::IsMember({"jwt", "none"}))
      ->capture_default_str();
  app.add_option("--jwks-file", config.jwksFile,
                 "JWKS file (RFC 7517) of the RS256/ES256 keys tokens are verified with, e.g. the "
                 "document of the identity provider's jwks_uri; reloaded on change and SIGHUP")
      ->envname("ORDER_SERVICE_JWKS_FILE");
  app.add_option(
         "--jwt-hs256-secret-file", config.hs256SecretFile,
         "File holding the HS256 shared secret (>= 32 bytes) of service-to-service tokens "
         "without a kid; the secret itself may instead be in ORDER_SERVICE_JWT_HS256_SECRET")
      ->envname("ORDER_SERVICE_JWT_HS256_SECRET_FILE");
  app.add_option("--jwt-issuer", config.jwtIssuer, "Required iss of tokens (empty: not checked)")
      ->envname("ORDER_SERVICE_JWT_ISSUER");
  app.add_option("--jwt-audience", config.jwtAudience,
                 "Required member of the tokens' aud (empty: not checked)")
      ->envname("ORDER_SERVICE_JWT_AUDIENCE");
  app.add_option("--jwt-roles-claim", config.rolesClaim,
                 "Claim holding the roles: an array or a space-separated string (scope); a dotted "
                 "path reaches into objects (realm_access.roles)")
      ->envname("ORDER_SERVICE_JWT_ROLES_CLAIM")
      ->capture_default_str();
  app.add_option("--jwt-leeway", leewaySeconds, "Clock skew allowed on exp and nbf, in seconds")
      ->envname("ORDER_SERVICE_JWT_LEEWAY")
      ->check(CLI::Range(0, 300))
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
  if (!config.amqpUrl.starts_with("amqp://") && !config.amqpUrl.starts_with("amqps://")) {
    return Error{ErrorCode::kInvalidArgument,
                 "order-service: --amqp-url / ORDER_SERVICE_AMQP_URL must start with amqp:// or "
                 "amqps://"};
  }
  config.authMode = auth == "none" ? ServiceConfig::AuthMode::kNone : ServiceConfig::AuthMode::kJwt;
  config.jwtLeeway = std::chrono::seconds(leewaySeconds);
  // The secret itself only from the environment: a flag's value is visible to every local user
  // (ps, /proc/<pid>/cmdline).
  if (const char* secret = std::getenv("ORDER_SERVICE_JWT_HS256_SECRET"); secret && *secret) {
    config.hs256Secret = secret;
  }
  if (config.authMode == ServiceConfig::AuthMode::kJwt && config.jwksFile.empty() &&
      config.hs256SecretFile.empty() && !config.hs256Secret) {
    return Error{ErrorCode::kInvalidArgument,
                 "order-service: --auth jwt (the default) needs the keys to verify tokens with: "
                 "--jwks-file / ORDER_SERVICE_JWKS_FILE, --jwt-hs256-secret-file / "
                 "ORDER_SERVICE_JWT_HS256_SECRET_FILE or ORDER_SERVICE_JWT_HS256_SECRET. For local "
                 "development without authentication: --auth none"};
  }
  if (config.rolesClaim.empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "order-service: --jwt-roles-claim / ORDER_SERVICE_JWT_ROLES_CLAIM must not be "
                 "empty"};
  }
  config.relayEnabled = !noRelay;
  config.consumersEnabled = !noConsumers;
  return config;
}

}  // namespace orders
