#pragma once
// What an operator gives a command (order-service, order-events) to reach the broker, as flags or
// environment variables, turned into the RabbitConnectionOptions every connection uses. The
// command registers the flags (tools/amqp_cli_options.hpp does it for both of ours); this part
// knows no CLI library, so another service can fill it from its own configuration.
//
// The environment names are <PREFIX>AMQP_URL, <PREFIX>AMQP_PASSWORD, <PREFIX>AMQP_PASSWORD_FILE,
// <PREFIX>AMQP_CA_FILE, <PREFIX>AMQP_CERT_FILE, <PREFIX>AMQP_KEY_FILE and
// <PREFIX>AMQP_TLS_INSECURE, with PREFIX "ORDER_SERVICE_" or "ORDER_EVENTS_".

#include <optional>
#include <string>
#include <vector>

#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "common/result.hpp"

namespace orders {

struct AmqpConnectionSettings {
  /// The broker, or the nodes of one cluster: --amqp-url given several times, and/or entries
  /// separated by commas (also in <PREFIX>AMQP_URL). Connections fail over between them in turn
  /// (RabbitConnectionOptions::failoverUrls). All share the password and TLS settings below.
  std::vector<std::string> urls = {"amqp://127.0.0.1:5672/%2F"};  // no user info: guest/guest
  /// The password in the environment (<PREFIX>AMQP_PASSWORD); replaces the URL's.
  std::optional<std::string> password;
  /// A file holding the password (<PREFIX>AMQP_PASSWORD_FILE, e.g. a mounted secret); one
  /// trailing newline is dropped. Replaces the URL's; exclusive with `password`.
  std::string passwordFile;
  std::string caFile;
  std::string certFile;
  std::string keyFile;
  /// --amqp-tls-insecure: no verification of the broker's certificate (development only).
  bool tlsInsecure = false;
};

/// Checks and resolves `settings`: parsable URLs (an error names the bad entry: "entry 2 of 3"),
/// all amqp:// or all amqps://; the password file read; TLS files readable,
/// a certificate only with its key; TLS options only with amqps://. kInvalidArgument with a
/// message that names the flag and the variable (from `envPrefix`) and never contains the
/// password.
Result<RabbitConnectionOptions> resolveConnectionSettings(const AmqpConnectionSettings& settings,
                                                          const std::string& envPrefix);

/// What an operator must be told at start, one sentence each: plain amqp:// to a host that is not
/// the local machine (credentials and events cross the network unencrypted), TLS verification
/// switched off. Empty for a safe configuration.
std::vector<std::string> connectionWarnings(const RabbitConnectionOptions& options);

}  // namespace orders
