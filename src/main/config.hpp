#pragma once
// The service's configuration: command-line flags, each also read from an environment variable,
// validated at start with an error that names the flag or variable at fault.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "common/result.hpp"
#include "http/middlewares.hpp"
#include "http/rate_limiter.hpp"
#include "http/server.hpp"
#include "postgres/connection_settings.hpp"
#include "publishing/published_versions.hpp"

namespace orders {

struct ServiceConfig {
  std::string listenHost = "127.0.0.1";
  std::uint16_t listenPort = 8080;
  std::string databasePath = "./data/orders.db";  // from --database sqlite:PATH
  /// From --database postgresql://... (with --database-password-file): the PostgreSQL store
  /// instead of SQLite. Its redacted() form is what logs show.
  std::optional<postgres::ConnectionSettings> postgres;
  /// --database-writers: the PostgreSQL store's writer connections (group commit), per instance.
  /// Several instances on one database add theirs up (docs/scaling.md).
  std::size_t databaseWriters = 4;
  /// Every connection to the broker (topology, relay, inbound consumers) uses exactly these:
  /// URL, password (ORDER_SERVICE_AMQP_PASSWORD / --amqp-password-file), TLS.
  RabbitConnectionOptions broker;
  /// What to warn about at start (plain amqp:// off the machine, TLS verification off).
  std::vector<std::string> brokerWarnings;
  std::string schemaDirectory;
  std::string topologyFile;
  int httpThreads = 2;
  bool relayEnabled = true;  // --no-relay: do not publish the outbox
  /// --relay-lease-ttl-ms: how long the relay lease lasts (exactly one instance on a database
  /// relays; another takes over about 4/3 of this after it dies or hangs). docs/scaling.md.
  std::chrono::milliseconds relayLeaseTtl{3000};
  bool consumersEnabled = true;  // --no-consumers: do not consume payment/fulfillment events
  std::string logLevel = "info";
  std::string logFormat = "text";  // --log-format text|json
  bool metricsEnabled = true;      // --no-metrics: no observers, no /metrics route
  /// --metrics-listen HOST:PORT: GET /metrics on a listener and thread of its own instead of the
  /// API listener (docs/operations.md, "Scraping"). Empty: /metrics is served on --listen.
  std::optional<std::pair<std::string, std::uint16_t>> metricsListen;
  /// --metrics-slice-us: the time slice the --metrics-listen thread asks the kernel for (Linux
  /// >= 6.12; http::ServerOptions::threadSlice). 0: the kernel's default.
  std::chrono::microseconds metricsThreadSlice{500};
  /// --metrics-refresh-ms: how often the --metrics-listen exposition is serialized ahead of the
  /// scrapes (the most its values lag); 0: serialized on each scrape.
  std::chrono::milliseconds metricsRefresh{1000};
  // Limits (docs/security.md, "Limits"): of a connection, of a request, of a client's rate.
  http::ConnectionLimits connectionLimits;
  http::RequestLimits requestLimits;
  http::RateLimitOptions rateLimit;
  /// --publish-versions: the version(s) of each event type; default every type at 1.0.
  PublishedVersions publishedVersions;

  /// API authentication (docs/security.md, "API: tokens and roles"). kNone only when asked for
  /// explicitly (--auth none): local development.
  enum class AuthMode { kJwt, kNone };
  AuthMode authMode = AuthMode::kJwt;
  std::string jwksFile;                    // --jwks-file
  std::string hs256SecretFile;             // --jwt-hs256-secret-file
  std::optional<std::string> hs256Secret;  // ORDER_SERVICE_JWT_HS256_SECRET (environment only)
  std::string jwtIssuer;                   // empty: iss not checked
  std::string jwtAudience;                 // empty: aud not checked
  std::string rolesClaim = "roles";
  std::chrono::seconds jwtLeeway{30};
};

/// Parses argv (and the ORDER_SERVICE_* environment). Returns the config, or an error whose
/// message is ready to print. `--help` is reported as kNotFound with the help text as message.
Result<ServiceConfig> parseServiceConfig(int argc, char** argv, const std::string& defaultSchemas,
                                         const std::string& defaultTopology);

/// Splits "host:port" (IPv4, [IPv6] or a name); kInvalidArgument naming `field` otherwise.
Status parseListenAddress(const std::string& text, const std::string& field, std::string& host,
                          std::uint16_t& port);

/// "sqlite:PATH" -> PATH. Other schemes are refused with the list of supported ones
/// (postgresql:// URLs are parsed by postgres::ConnectionSettings).
Result<std::string> parseDatabaseUrl(const std::string& url);

}  // namespace orders
