#pragma once
// How the RabbitMQ adapters connect. One struct for every connection the service and the tools
// open (the relay's publisher, the topology declaration, the inbound consumers, the DLQ admin and
// the AMQP client of the CLI and the tests), so TLS and credentials are set in one place and
// reach all of them through one code path (detail/connection.cpp).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace orders {

/// TLS of an amqps:// connection (ignored for amqp://; resolveConnectionSettings refuses TLS
/// files with an amqp:// URL, so a typo cannot silently mean plain text). Minimum TLS 1.2.
struct AmqpTlsOptions {
  /// PEM bundle of the CAs the broker's certificate must chain to. Empty: the system store
  /// (/etc/ssl/certs, Debian's ca-certificates), which holds the public CA of Amazon MQ's
  /// certificates.
  std::string caFile;
  /// Client certificate (PEM, may hold the chain) and its unencrypted private key, for brokers
  /// that ask for one (mutual TLS, RabbitMQ's fail_if_no_peer_cert). Both or neither.
  std::string certFile;
  std::string keyFile;
  /// Verify the broker's certificate chain AND that it names the host of the URL (DNS name or
  /// IP address, RFC 6125). Only ever false when an operator explicitly asked for it
  /// (--amqp-tls-insecure); every connection then logs a warning.
  bool verify = true;
};

struct RabbitConnectionOptions {
  /// amqp[s]://user:password@host:port/vhost (see amqp_url.hpp). The password is never logged.
  std::string url = "amqp://guest:guest@127.0.0.1:5672/%2F";
  /// The other nodes of the same cluster (same user, password, vhost and TLS settings as `url`),
  /// for failover. Every connection goes to the first broker that answers, in turn from the one
  /// after the broker of the previous connection (round robin, detail/connection.hpp's
  /// BrokerRotation); empty: `url` is the only broker.
  std::vector<std::string> failoverUrls{};
  /// Replaces the URL's password when set (from an environment variable or a file, so it does
  /// not have to be in the URL, where process listings and shell histories see it).
  std::optional<std::string> password{};
  AmqpTlsOptions tls{};
  /// AMQP heartbeat interval we ask for (the broker may lower it); 0 disables heartbeats. A dead
  /// peer is detected after about two intervals without any traffic.
  std::chrono::seconds heartbeat{10};
  /// TCP connect + TLS handshake + AMQP handshake.
  std::chrono::milliseconds connectTimeout{5000};
  /// Any synchronous AMQP call (declare, bind, confirm.select, close).
  std::chrono::milliseconds rpcTimeout{10000};
  /// Shown in the management UI's connection list.
  std::string connectionName = "order-service";
};

}  // namespace orders
