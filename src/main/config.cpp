#include "config.hpp"

#include <CLI/CLI.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>

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
                 "must be sqlite:PATH (e.g. sqlite:./data/orders.db) or postgresql://USER@HOST/DB; "
                 "got '" +
                     postgres::redactDatabaseUrl(url) + "'");
}

Result<ServiceConfig> parseServiceConfig(int argc, char** argv, const std::string& defaultSchemas,
                                         const std::string& defaultTopology) {
  ServiceConfig config;
  config.schemaDirectory = defaultSchemas;
  config.topologyFile = defaultTopology;
  std::string listen = "127.0.0.1:8080";
  std::string database = "sqlite:./data/orders.db";
  std::string databasePasswordFile;
  bool noRelay = false;
  bool noConsumers = false;
  bool noMetrics = false;
  std::vector<std::string> publishVersions;
  std::string auth = "jwt";
  int leewaySeconds = 30;
  AmqpConnectionSettings amqp;

  CLI::App app{
      "order-service: owns orders and publishes every change as a domain event on RabbitMQ "
      "(exchange order.events) through a transactional outbox.",
      "order-service"};
  app.add_option("--listen", listen, "HTTP address to listen on, HOST:PORT")
      ->envname("ORDER_SERVICE_LISTEN")
      ->capture_default_str();
  app.add_option("--database", database,
                 "Order database: sqlite:PATH (the embedded default) or postgresql://USER@HOST/DB "
                 "(password from --database-password-file or PGPASSWORD)")
      ->envname("ORDER_SERVICE_DATABASE")
      ->capture_default_str();
  app.add_option("--database-password-file", databasePasswordFile,
                 "File whose first line is the PostgreSQL password")
      ->envname("ORDER_SERVICE_DATABASE_PASSWORD_FILE");
  app.add_option("--database-writers", config.databaseWriters,
                 "PostgreSQL: the most writer connections of this instance (each commits "
                 "batches of writes; one commits what is queued, the others join only while it "
                 "falls behind); instances on one database add theirs up")
      ->envname("ORDER_SERVICE_DATABASE_WRITERS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
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
  std::int64_t relayLeaseTtlMs = config.relayLeaseTtl.count();
  app.add_option("--relay-lease-ttl-ms", relayLeaseTtlMs,
                 "How long the relay lease lasts: of the instances on one database exactly one "
                 "relays; when it dies or hangs, another takes over after about 4/3 of this")
      ->envname("ORDER_SERVICE_RELAY_LEASE_TTL_MS")
      ->check(CLI::Range(300, 600'000))
      ->capture_default_str();
  app.add_flag("--no-consumers", noConsumers,
               "Do not consume the inbound payment and fulfillment events")
      ->envname("ORDER_SERVICE_NO_CONSUMERS");
  app.add_option("--publish-versions", publishVersions,
                 "Publish a message type at these versions, TYPE=V[,V...] (repeatable; ';' "
                 "separates entries in the variable), e.g. OrderCreatedEvent=1.0,2.0 to publish "
                 "1.0 and 2.0 side by side while consumers migrate. Default: every type at 1.0")
      ->envname("ORDER_SERVICE_PUBLISH_VERSIONS");
  app.add_option("--log-level", config.logLevel, "trace, debug, info, warn, error")
      ->envname("ORDER_SERVICE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log-format", config.logFormat,
                 "text (human-readable lines) or json (one JSON object per line, for log "
                 "collectors)")
      ->envname("ORDER_SERVICE_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("--no-metrics", noMetrics,
               "Do not collect metrics and do not serve GET /metrics (to measure their cost)")
      ->envname("ORDER_SERVICE_NO_METRICS");
  std::string metricsListen;
  app.add_option("--metrics-listen", metricsListen,
                 "Serve GET /metrics on this HOST:PORT, on a listener and thread of its own, "
                 "instead of on --listen (a scrape then never queues behind API requests)")
      ->envname("ORDER_SERVICE_METRICS_LISTEN");
  int metricsSliceUs = static_cast<int>(config.metricsThreadSlice.count());
  app.add_option("--metrics-slice-us", metricsSliceUs,
                 "Time slice in microseconds the --metrics-listen thread asks the kernel for "
                 "(Linux >= 6.12): a short one runs a scrape soon on busy cores; 0: the "
                 "kernel's default")
      ->envname("ORDER_SERVICE_METRICS_SLICE_US")
      ->check(CLI::Range(0, 100'000))
      ->capture_default_str();
  int metricsRefreshMs = static_cast<int>(config.metricsRefresh.count());
  app.add_option("--metrics-refresh-ms", metricsRefreshMs,
                 "How often the --metrics-listen exposition is serialized ahead of the scrapes "
                 "(the most its values lag behind); 0: serialized on each scrape")
      ->envname("ORDER_SERVICE_METRICS_REFRESH_MS")
      ->check(CLI::Range(0, 60'000))
      ->capture_default_str();

  // Limits. Each is a flag and an ORDER_SERVICE_<FLAG> variable; docs/security.md lists them.
  auto& connection = config.connectionLimits;
  auto& body = config.requestLimits.body;
  auto limit = [&app](const std::string& flag, auto& value, const std::string& help, auto check) {
    std::string env = "ORDER_SERVICE_";
    for (char c : flag.substr(2)) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    app.add_option(flag, value, help)
        ->envname(env)
        ->check(check)
        ->capture_default_str()
        ->group("Limits");
  };
  const auto positive = CLI::PositiveNumber;
  limit("--max-body-bytes", connection.maxBodyBytes, "Largest request body (413)", positive);
  limit("--max-header-bytes", connection.maxHeaderBytes,
        "Largest request line + header fields (431)", CLI::Range(1024, 1 << 20));
  limit("--max-header-fields", connection.maxHeaderFields, "Most header field lines (431)",
        CLI::Range(8, 10'000));
  limit("--max-target-bytes", connection.maxTargetBytes, "Longest request target (414)",
        CLI::Range(64, 1 << 20));
  std::int64_t headerTimeoutMs = connection.headerTimeout.count();
  std::int64_t bodyTimeoutMs = connection.bodyTimeout.count();
  std::int64_t idleTimeoutMs = connection.idleTimeout.count();
  limit("--header-timeout-ms", headerTimeoutMs,
        "From a request's first byte to the end of its header; then the connection is closed",
        CLI::Range(100, 3'600'000));
  limit("--body-timeout-ms", bodyTimeoutMs, "For a whole request body; then closed",
        CLI::Range(100, 3'600'000));
  limit("--idle-timeout-ms", idleTimeoutMs, "A keep-alive connection without a request; closed",
        CLI::Range(100, 3'600'000));
  limit("--max-connections", connection.maxConnections,
        "Open connections at once; more are answered 503 and closed", CLI::Range(1, 1'000'000));
  limit("--max-json-depth", body.maxJsonDepth, "Deepest nesting of a JSON body (400)",
        CLI::Range(4, 64));
  limit("--max-items", body.maxItems, "Most items in an order or a shipment (422)",
        CLI::Range(1, 1000));
  limit("--max-name-bytes", body.maxNameBytes, "Longest customer name (422)", CLI::Range(1, 500));
  limit("--max-address-bytes", body.maxAddressBytes, "Longest street or city (422)",
        CLI::Range(1, 500));
  limit("--max-reason-bytes", body.maxReasonBytes,
        "Longest reason (status change, cancellation, refund) or payment message (422)",
        CLI::Range(1, 500));
  limit("--max-change-context-bytes", body.maxChangeContextBytes,
        "Largest changeContext, as compact JSON (422)", CLI::Range(2, 65'536));
  limit("--max-change-context-depth", body.maxChangeContextDepth,
        "Deepest changeContext, itself being 1 (422)", CLI::Range(1, 16));
  std::string changeContextKeys;
  for (const auto& key : body.changeContextKeys) {
    changeContextKeys += (changeContextKeys.empty() ? "" : ",") + key;
  }
  limit("--change-context-keys", changeContextKeys,
        "The keys a caller's changeContext may have, comma-separated (others: 422); empty: none",
        CLI::Validator());
  limit("--rate-limit", config.rateLimit.requestsPerSecond,
        "Requests per second per client (principal, else address); 0 turns it off (429)",
        CLI::Range(0.0, 1e9));
  limit("--rate-burst", config.rateLimit.burst, "Requests a client may send at once above the rate",
        CLI::Range(1.0, 1e9));
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
  if (postgres::isPostgresUrl(database)) {
    auto settings = postgres::ConnectionSettings::fromUrl(database, databasePasswordFile);
    if (!settings) {
      return Error{ErrorCode::kInvalidArgument,
                   "order-service: " + settings.error().field + " " + settings.error().message};
    }
    config.postgres = std::move(settings).value();
  } else {
    auto path = parseDatabaseUrl(database);
    if (!path) {
      return Error{ErrorCode::kInvalidArgument,
                   "order-service: --database / ORDER_SERVICE_DATABASE " + path.error().message};
    }
    config.databasePath = std::move(path).value();
  }
  auto broker = resolveConnectionSettings(amqp, "ORDER_SERVICE_");
  if (!broker)
    return Error{ErrorCode::kInvalidArgument, "order-service: " + broker.error().message};
  config.broker = std::move(broker).value();
  config.brokerWarnings = connectionWarnings(config.broker);
  auto versions = PublishedVersions::parse(publishVersions, "--publish-versions");
  if (!versions) {
    return Error{ErrorCode::kInvalidArgument,
                 "order-service: --publish-versions / ORDER_SERVICE_PUBLISH_VERSIONS " +
                     versions.error().message.substr(std::string("--publish-versions ").size())};
  }
  config.publishedVersions = std::move(versions).value();
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
  config.relayLeaseTtl = std::chrono::milliseconds(relayLeaseTtlMs);
  config.consumersEnabled = !noConsumers;
  config.metricsEnabled = !noMetrics;
  if (!metricsListen.empty()) {
    if (noMetrics) {
      return Error{ErrorCode::kInvalidArgument,
                   "order-service: --metrics-listen and --no-metrics contradict each other: "
                   "there are no metrics to serve"};
    }
    std::string host;
    std::uint16_t port = 0;
    if (auto s = parseListenAddress(metricsListen, "--metrics-listen", host, port); !s) {
      return Error{
          ErrorCode::kInvalidArgument,
          "order-service: --metrics-listen / ORDER_SERVICE_METRICS_LISTEN " + s.error().message};
    }
    config.metricsListen.emplace(std::move(host), port);
  }
  // The kernel takes custom slices of 0.1 ms to 100 ms.
  if (metricsSliceUs != 0 && metricsSliceUs < 100) {
    return Error{ErrorCode::kInvalidArgument,
                 "order-service: --metrics-slice-us / ORDER_SERVICE_METRICS_SLICE_US must be 0 "
                 "(the kernel's default) or 100..100000 microseconds; got " +
                     std::to_string(metricsSliceUs)};
  }
  config.metricsThreadSlice = std::chrono::microseconds(metricsSliceUs);
  config.metricsRefresh = std::chrono::milliseconds(metricsRefreshMs);
  connection.headerTimeout = std::chrono::milliseconds(headerTimeoutMs);
  connection.bodyTimeout = std::chrono::milliseconds(bodyTimeoutMs);
  connection.idleTimeout = std::chrono::milliseconds(idleTimeoutMs);
  // The pipeline holds requests to the same target and header limits as the server.
  config.requestLimits.maxTargetBytes = connection.maxTargetBytes;
  config.requestLimits.maxHeaderFields = connection.maxHeaderFields;
  body.changeContextKeys.clear();
  for (std::size_t start = 0; start < changeContextKeys.size();) {
    auto end = changeContextKeys.find(',', start);
    if (end == std::string::npos) end = changeContextKeys.size();
    std::string key = changeContextKeys.substr(start, end - start);
    while (!key.empty() && key.front() == ' ') key.erase(0, 1);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    if (!key.empty()) body.changeContextKeys.push_back(std::move(key));
    start = end + 1;
  }
  return config;
}

}  // namespace orders
