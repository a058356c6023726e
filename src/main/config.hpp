#pragma once
// The service's configuration: command-line flags, each also read from an environment variable,
// validated at start with an error that names the flag or variable at fault.

#include <cstdint>
#include <string>
#include <vector>

#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "common/result.hpp"

namespace orders {

struct ServiceConfig {
  std::string listenHost = "127.0.0.1";
  std::uint16_t listenPort = 8080;
  std::string databasePath = "./data/orders.db";  // from --database sqlite:PATH
  /// Every connection to the broker (topology, relay, inbound consumers) uses exactly these:
  /// URL, password (ORDER_SERVICE_AMQP_PASSWORD / --amqp-password-file), TLS.
  RabbitConnectionOptions broker;
  /// What to warn about at start (plain amqp:// off the machine, TLS verification off).
  std::vector<std::string> brokerWarnings;
  std::string schemaDirectory;
  std::string topologyFile;
  int httpThreads = 2;
  bool relayEnabled = true;      // --no-relay: do not publish the outbox
  bool consumersEnabled = true;  // --no-consumers: do not consume payment/fulfillment events
  std::string logLevel = "info";
};

/// Parses argv (and the ORDER_SERVICE_* environment). Returns the config, or an error whose
/// message is ready to print. `--help` is reported as kNotFound with the help text as message.
Result<ServiceConfig> parseServiceConfig(int argc, char** argv, const std::string& defaultSchemas,
                                         const std::string& defaultTopology);

/// Splits "host:port" (IPv4, [IPv6] or a name); kInvalidArgument naming `field` otherwise.
Status parseListenAddress(const std::string& text, const std::string& field, std::string& host,
                          std::uint16_t& port);

/// "sqlite:PATH" -> PATH. Other schemes are refused with the list of supported ones.
Result<std::string> parseDatabaseUrl(const std::string& url);

}  // namespace orders
