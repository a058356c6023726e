#pragma once
// The broker connection flags shared by order-service and every order-events command that
// connects (topology declare, tail, dlq ...), each with its environment variable:
//
//   --amqp-url URL               <PREFIX>AMQP_URL amqp[s]://USER[:PASS]@HOST[:PORT]/VHOST
//                                <PREFIX>AMQP_PASSWORD       the password (no flag: a flag's value
//                                is
//                                                            visible in the process list; read when
//                                                            the options are added)
//   --amqp-password-file FILE    <PREFIX>AMQP_PASSWORD_FILE  the password, from a file
//   --amqp-ca-file FILE          <PREFIX>AMQP_CA_FILE        CA bundle (PEM); default: system store
//   --amqp-cert-file FILE        <PREFIX>AMQP_CERT_FILE      client certificate (mutual TLS)
//   --amqp-key-file FILE         <PREFIX>AMQP_KEY_FILE       its private key
//   --amqp-tls-insecure          <PREFIX>AMQP_TLS_INSECURE   no certificate verification (dev only)
//
// The flags are added to `app` and fill `settings`; after parsing, resolveConnectionSettings
// (broker/rabbitmq/amqp/connection_settings.hpp) checks them and makes the connection options.
// --help shows no password: the default URL has none, and CLI11 shows defaults, not the values
// of the environment.

#include <CLI/CLI.hpp>
#include <string>

#include "broker/rabbitmq/amqp/connection_settings.hpp"

namespace orders::tools {

/// `envPrefix` is "ORDER_SERVICE_" or "ORDER_EVENTS_". `settings` must outlive `app`.
void addAmqpConnectionOptions(CLI::App& app, AmqpConnectionSettings& settings,
                              const std::string& envPrefix);

}  // namespace orders::tools
