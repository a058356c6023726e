#pragma once
// INTERNAL to src/broker/rabbitmq: a rabbitmq-c connection with RAII, channel bookkeeping and
// translation of rabbitmq-c replies into orders::Error. rabbitmq-c types appear here and must
// not leak further: include this header only from .cpp files in src/broker/rabbitmq/.

#include <amqp.h>
#include <amqp_framing.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/rabbitmq/amqp/amqp_url.hpp"
#include "broker/rabbitmq/amqp/connection_options.hpp"
#include "common/result.hpp"

namespace orders::rabbitmq {

inline amqp_bytes_t bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
inline std::string str(amqp_bytes_t b) {
  return b.bytes == nullptr ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

/// Error for a rabbitmq-c status code (amqp_status_enum): kUnavailable "<what>: <reason>".
Error statusError(int status, std::string_view what);

class Connection {
 public:
  /// TCP connect (for amqps:// a TLS handshake, see below), AMQP handshake and login with
  /// options.password when set (else the URL's), announcing the connection.blocked,
  /// publisher_confirms and basic.nack capabilities. kUnavailable when the broker cannot be
  /// reached; the broker's reply (e.g. 403 ACCESS_REFUSED, 530 NOT_ALLOWED for a missing vhost)
  /// otherwise.
  ///
  /// TLS (url.tls): rabbitmq-c's OpenSSL socket, TLS 1.2 or newer, options.tls's CA file (else
  /// the system store) and client certificate. With options.tls.verify, OpenSSL checks the chain
  /// and the host name (or IP address) during the handshake, and rabbitmq-c checks them again
  /// after it (amqp_ssl_socket_set_verify_peer/_hostname; its own name check only knows DNS
  /// names, so for an IP literal the name is left to OpenSSL's, which knows IP SANs). A refused
  /// certificate is kUnavailable "TLS: the broker's certificate at HOST:PORT was refused: <why>"
  /// (unknown CA, name mismatch with the names it has, expired...); a broker that refuses us
  /// (no or unknown client certificate) is reported with OpenSSL's reason and a hint.
  static Result<std::unique_ptr<Connection>> open(const AmqpUrl& url,
                                                  const RabbitConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  amqp_connection_state_t raw() const { return conn_; }
  /// The socket, for poll(2) and shutdown(2); -1 when closed.
  int fd() const;
  const AmqpUrl& url() const { return url_; }
  /// amqps://: bytes must go through rabbitmq-c (amqp_send_frame), never straight to fd().
  bool tls() const { return url_.tls; }
  /// False once the broker closed the connection or an I/O error happened.
  bool usable() const { return !dead_; }
  void markDead() { dead_ = true; }

  /// Opens a new channel (a fresh number each time, so late frames for a closed channel cannot
  /// be mistaken for the new one).
  Result<amqp_channel_t> openChannel();
  /// channel.close, ignoring errors (the channel is gone either way).
  void closeChannel(amqp_channel_t channel);
  /// connection.close within the rpc timeout; the connection is unusable afterwards.
  void close();

  /// Translates an RPC reply that was not AMQP_RESPONSE_NORMAL. A broker-initiated channel.close
  /// (e.g. 406 PRECONDITION_FAILED) is acknowledged, so the connection stays usable and a new
  /// channel can be opened; a connection.close marks the connection dead. Codes: 403/530 ->
  /// kInvalidArgument, 404 -> kNotFound, 406 -> kConflict, I/O and others -> kUnavailable.
  Error replyError(const amqp_rpc_reply_t& reply, std::string_view what, amqp_channel_t channel);
  /// Same for a method frame already received (channel.close / connection.close).
  Error closeFrameError(const amqp_method_t& method, std::string_view what, amqp_channel_t channel);
  /// Checks amqp_get_rpc_reply() after a call that returned nullptr / had to be checked.
  Status checkRpc(std::string_view what, amqp_channel_t channel);

 private:
  Connection(amqp_connection_state_t conn, AmqpUrl url, const RabbitConnectionOptions& options);
  /// The TLS socket of an amqps:// connection, configured from `tls` (not yet opened).
  Result<amqp_socket_t*> prepareTls(const AmqpTlsOptions& tls, const std::string& where);

  amqp_connection_state_t conn_;
  AmqpUrl url_;
  RabbitConnectionOptions options_;
  /// Why OpenSSL refused the broker's certificate, written by the verify callback during the
  /// handshake (the SSL_CTX's app data points here).
  std::string tlsVerifyFailure_;
  amqp_channel_t nextChannel_ = 1;
  bool dead_ = false;
  bool closed_ = false;
};

/// The brokers of `options`: url, then failoverUrls, parsed. kInvalidArgument naming the entry
/// ("broker 2 of 3 (amqp://...)") when one does not parse; the password never appears.
Result<std::vector<AmqpUrl>> parseBrokerUrls(const RabbitConnectionOptions& options);

/// Round robin over the brokers of a cluster for a connection that is opened again after every
/// failure (publisher, consumer). open() tries each broker once, starting with the one after the
/// broker of the previous successful open, so a reconnect after a lost connection goes to
/// another node first; waiting between rounds is the caller's backoff (common/backoff.hpp).
/// Thread-safe.
class BrokerRotation {
 public:
  /// `brokers` must not be empty.
  explicit BrokerRotation(std::vector<AmqpUrl> brokers);

  /// The first connection that opens. With one broker its error unchanged; with several,
  /// "no broker of N answered: <url>: <why>; ..." with kUnavailable if any of them was
  /// unreachable (a node may come back), else the first broker's error code (e.g. credentials
  /// refused everywhere).
  Result<std::unique_ptr<Connection>> open(const RabbitConnectionOptions& options);

  const std::vector<AmqpUrl>& brokers() const { return brokers_; }

 private:
  const std::vector<AmqpUrl> brokers_;
  std::mutex mutex_;
  std::size_t next_ = 0;  // guarded by mutex_
};

/// One connection to the first broker of `options` that answers, in list order (one-shot
/// clients: topology declaration, tools). Errors as for parseBrokerUrls and BrokerRotation::open.
Result<std::unique_ptr<Connection>> openFirstBroker(const RabbitConnectionOptions& options);

}  // namespace orders::rabbitmq
