#include "amqp_cli_options.hpp"

#include <cstdlib>

namespace orders::tools {

void addAmqpConnectionOptions(CLI::App& app, AmqpConnectionSettings& settings,
                              const std::string& envPrefix) {
  app.add_option("--amqp-url", settings.urls,
                 "RabbitMQ, amqp://USER:PASS@HOST:PORT/VHOST or amqps:// for TLS (default port "
                 "5671); no user: guest. The nodes of a cluster: repeat the flag or separate "
                 "them with commas; connections fail over between them in turn. Prefer the "
                 "password from " +
                     envPrefix + "AMQP_PASSWORD or --amqp-password-file")
      ->envname(envPrefix + "AMQP_URL")
      ->capture_default_str();
  // The password itself has no flag: the process list shows flags. Only the environment.
  if (const char* password = std::getenv((envPrefix + "AMQP_PASSWORD").c_str()))
    settings.password = password;
  app.add_option("--amqp-password-file", settings.passwordFile,
                 "File holding the broker password (replaces the URL's)")
      ->envname(envPrefix + "AMQP_PASSWORD_FILE");
  app.add_option("--amqp-ca-file", settings.caFile,
                 "amqps://: CA certificates (PEM) the broker's certificate must chain to; "
                 "default: the system store")
      ->envname(envPrefix + "AMQP_CA_FILE");
  app.add_option("--amqp-cert-file", settings.certFile,
                 "amqps://: client certificate (PEM) for brokers that require one (mutual TLS)")
      ->envname(envPrefix + "AMQP_CERT_FILE");
  app.add_option("--amqp-key-file", settings.keyFile,
                 "amqps://: private key (PEM, unencrypted) of --amqp-cert-file")
      ->envname(envPrefix + "AMQP_KEY_FILE");
  app.add_flag("--amqp-tls-insecure", settings.tlsInsecure,
               "amqps:// WITHOUT checking the broker's certificate or name: development only, "
               "warned about at every start")
      ->envname(envPrefix + "AMQP_TLS_INSECURE");
}

}  // namespace orders::tools
