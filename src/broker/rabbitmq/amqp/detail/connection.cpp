#include "broker/rabbitmq/amqp/detail/connection.hpp"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace orders::rabbitmq {
namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

ErrorCode codeForReply(int replyCode) {
  switch (replyCode) {
    case 403:  // ACCESS_REFUSED: credentials or permissions
    case 530:  // NOT_ALLOWED: e.g. the vhost does not exist
      return ErrorCode::kInvalidArgument;
    case 404:  // NOT_FOUND
      return ErrorCode::kNotFound;
    case 406:  // PRECONDITION_FAILED: an existing entity with other properties
      return ErrorCode::kConflict;
    default:  // 320 CONNECTION_FORCED, 541 INTERNAL_ERROR, ...
      return ErrorCode::kUnavailable;
  }
}

/// Why a TCP connection to host:port fails, e.g. "Connection refused" (rabbitmq-c only says "a
/// socket error occurred"). Only called after rabbitmq-c failed to connect.
std::string tcpFailureReason(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses); rc != 0)
    return std::string("cannot resolve host '") + host + "': " + ::gai_strerror(rc);
  std::string reason = "no address";
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
          socklen_t len = sizeof err;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        } else {
          err = ETIMEDOUT;
        }
      }
    }
    ::close(fd);
    if (err == 0) {
      reason =
          "TCP connect works, the AMQP handshake did not (not a RabbitMQ port, or overloaded?)";
      break;
    }
    reason = std::strerror(err);
  }
  ::freeaddrinfo(addresses);
  return reason;
}

bool ipLiteral(const std::string& host) {
  in6_addr address{};
  return ::inet_pton(AF_INET, host.c_str(), &address) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

/// "CN=..." of a certificate name, for messages.
std::string nameText(const X509_NAME* name) {
  if (name == nullptr) return "?";
  char buffer[256];
  X509_NAME_oneline(name, buffer, sizeof buffer);
  return buffer;
}

/// The DNS and IP names a certificate is valid for (its subjectAltName), e.g. "DNS:localhost,
/// IP:127.0.0.1"; its CN when it has none.
std::string certificateNames(X509* cert) {
  std::string names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
      std::string one;
      if (name->type == GEN_DNS) {
        one = "DNS:" +
              std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                          static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName)));
      } else if (name->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = "?";
        const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
        ::inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text);
        one = std::string("IP:") + text;
      }
      if (one.empty()) continue;
      if (!names.empty()) names += ", ";
      names += one;
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) names = "no subjectAltName, subject " + nameText(X509_get_subject_name(cert));
  return names;
}

/// OpenSSL's verify callback: keeps the first reason a certificate of the broker's chain was
/// refused in the std::string the SSL_CTX's app data points to. Runs inside SSL_connect, on the
/// thread that opens the connection.
int recordVerifyFailure(int ok, X509_STORE_CTX* store) {
  if (ok == 1) return ok;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* failure = ssl == nullptr
                      ? nullptr
                      : static_cast<std::string*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (failure == nullptr || !failure->empty()) return ok;
  const int error = X509_STORE_CTX_get_error(store);
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  *failure = X509_verify_cert_error_string(error);
  if (cert == nullptr) return ok;
  switch (error) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      *failure += " (the certificate is for " + certificateNames(cert) + ")";
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      *failure += ": '" + nameText(X509_get_subject_name(cert)) + "' is issued by '" +
                  nameText(X509_get_issuer_name(cert)) +
                  "', which is not a trusted CA (is --amqp-ca-file the CA that signed the "
                  "broker's certificate?)";
      break;
    default:
      *failure += " (certificate '" + nameText(X509_get_subject_name(cert)) + "')";
  }
  return ok;
}

/// Everything in this thread's OpenSSL error queue, oldest first ("" when empty); empties it.
std::string openSslErrors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    const char* reason = ERR_reason_error_string(code);
    if (!text.empty()) text += "; ";
    text += reason != nullptr ? reason : buffer;
  }
  return text;
}

/// A hint for what OpenSSL's reasons mean when the broker refused us.
std::string tlsHint(const std::string& reasons) {
  if (reasons.find("certificate required") != std::string::npos ||
      reasons.find("handshake failure") != std::string::npos)
    return " (the broker wants a client certificate: give --amqp-cert-file and --amqp-key-file)";
  if (reasons.find("unknown ca") != std::string::npos ||
      reasons.find("bad certificate") != std::string::npos ||
      reasons.find("certificate unknown") != std::string::npos)
    return " (the broker does not trust our client certificate: is it signed by a CA in the "
           "broker's cacertfile?)";
  if (reasons.find("wrong version number") != std::string::npos ||
      reasons.find("packet length too long") != std::string::npos)
    return " (is this a TLS port? plain AMQP listens on 5672, TLS on 5671)";
  if (reasons.find("protocol version") != std::string::npos ||
      reasons.find("unsupported protocol") != std::string::npos)
    return " (the broker offers no TLS version we accept; we need TLS 1.2 or newer)";
  return "";
}

}  // namespace

Error statusError(int status, std::string_view what) {
  std::string reason = amqp_error_string2(status);
  const int err = errno;
  // errno is only meaningful for a failed blocking call; a non-blocking connect leaves
  // EINPROGRESS behind, which would mislead.
  if ((status == AMQP_STATUS_SOCKET_ERROR || status == AMQP_STATUS_TCP_ERROR) && err != 0 &&
      err != EINPROGRESS && err != EAGAIN)
    reason += std::string(" (") + std::strerror(err) + ")";
  return Error{ErrorCode::kUnavailable, std::string(what) + ": " + reason};
}

Connection::Connection(amqp_connection_state_t conn, AmqpUrl url,
                       const RabbitConnectionOptions& options)
    : conn_(conn), url_(std::move(url)), options_(options) {}

Connection::~Connection() {
  amqp_destroy_connection(conn_);
}

Result<std::unique_ptr<Connection>> Connection::open(const AmqpUrl& url,
                                                     const RabbitConnectionOptions& options) {
  amqp_connection_state_t conn = amqp_new_connection();
  if (conn == nullptr) return Error{ErrorCode::kInternal, "rabbitmq-c: out of memory"};
  std::unique_ptr<Connection> c(new Connection(conn, url, options));
  const std::string where = "cannot connect to " + url.redacted();

  const std::string endpoint = url.host + ":" + std::to_string(url.port);
  amqp_socket_t* socket = nullptr;
  if (url.tls) {
    auto tls = c->prepareTls(options.tls, where);
    if (!tls) return tls.error();
    socket = *tls;
  } else {
    socket = amqp_tcp_socket_new(conn);
  }
  if (socket == nullptr) return Error{ErrorCode::kInternal, where + ": cannot create a socket"};
  timeval connectTimeout = toTimeval(options.connectTimeout);
  errno = 0;
  ERR_clear_error();
  int rc = amqp_socket_open_noblock(socket, url.host.c_str(), url.port, &connectTimeout);
  if (rc != AMQP_STATUS_OK) {
    c->dead_ = true;
    Error e = statusError(rc, where);
    if (rc == AMQP_STATUS_SOCKET_ERROR || rc == AMQP_STATUS_TCP_ERROR)
      e.message += " (" + tcpFailureReason(url.host, url.port, options.connectTimeout) + ")";
    if (url.tls && !c->tlsVerifyFailure_.empty()) {
      e.message = where + ": TLS: the broker's certificate at " + endpoint +
                  " was refused: " + c->tlsVerifyFailure_;
    } else if (url.tls && rc != AMQP_STATUS_SOCKET_ERROR && rc != AMQP_STATUS_TCP_ERROR &&
               rc != AMQP_STATUS_TIMEOUT) {
      const std::string reasons = openSslErrors();
      e.message = where + ": TLS handshake with " + endpoint +
                  " failed: " + (reasons.empty() ? std::string(amqp_error_string2(rc)) : reasons) +
                  tlsHint(reasons);
    }
    return e;
  }
  amqp_set_handshake_timeout(conn, &connectTimeout);
  timeval rpcTimeout = toTimeval(options.rpcTimeout);
  amqp_set_rpc_timeout(conn, &rpcTimeout);

  // Capabilities beyond rabbitmq-c's defaults: without "connection.blocked" the broker would
  // block us silently on a resource alarm instead of telling us.
  amqp_table_entry_t capabilities[4];
  const char* names[] = {"connection.blocked", "publisher_confirms", "basic.nack",
                         "consumer_cancel_notify"};
  for (int i = 0; i < 4; ++i) {
    capabilities[i].key = amqp_cstring_bytes(names[i]);
    capabilities[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[i].value.value.boolean = 1;
  }
  amqp_table_entry_t properties[2];
  properties[0].key = amqp_cstring_bytes("connection_name");
  properties[0].value.kind = AMQP_FIELD_KIND_UTF8;
  properties[0].value.value.bytes = bytes(options.connectionName);
  properties[1].key = amqp_cstring_bytes("capabilities");
  properties[1].value.kind = AMQP_FIELD_KIND_TABLE;
  properties[1].value.value.table = amqp_table_t{4, capabilities};
  amqp_table_t clientProperties{2, properties};

  const int heartbeat = static_cast<int>(options.heartbeat.count());
  const std::string& password = options.password ? *options.password : url.password;
  ERR_clear_error();
  amqp_rpc_reply_t reply =
      amqp_login_with_properties(conn, url.vhost.c_str(), 0, 131072, heartbeat, &clientProperties,
                                 AMQP_SASL_METHOD_PLAIN, url.user.c_str(), password.c_str());
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    Error e = c->replyError(reply, where, 0);
    c->dead_ = true;
    // With TLS 1.3 the broker checks our certificate after the client considers the handshake
    // done: its refusal arrives as an alert on the first read, i.e. here.
    if (url.tls && reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
      const std::string reasons = openSslErrors();
      if (!reasons.empty()) {
        e.message = where + ": TLS: the broker at " + endpoint +
                    " refused the connection: " + reasons + tlsHint(reasons);
        return e;
      }
      if (reply.library_error == AMQP_STATUS_SSL_ERROR) {
        // OpenSSL's reason did not survive rabbitmq-c's cleanup; what is left to say.
        e.message = where + ": TLS: the broker at " + endpoint +
                    " ended the TLS session before the AMQP login (does it accept our client "
                    "certificate? it must be signed by a CA in the broker's cacertfile)";
        return e;
      }
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
      e.message +=
          " (the broker closed the connection during login: wrong user/password or vhost?)";
    }
    return e;
  }
  return c;
}

Result<amqp_socket_t*> Connection::prepareTls(const AmqpTlsOptions& tls, const std::string& where) {
  amqp_socket_t* socket = amqp_ssl_socket_new(conn_);
  if (socket == nullptr)
    return Error{ErrorCode::kInternal,
                 where + ": TLS: cannot create an OpenSSL socket: " + openSslErrors()};
  if (amqp_ssl_socket_set_ssl_versions(socket, AMQP_TLSv1_2, AMQP_TLSvLATEST) != AMQP_STATUS_OK)
    return Error{ErrorCode::kInternal, where + ": TLS: this OpenSSL cannot do TLS 1.2"};
  auto* context = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
  ERR_clear_error();
  if (!tls.caFile.empty()) {
    if (amqp_ssl_socket_set_cacert(socket, tls.caFile.c_str()) != AMQP_STATUS_OK)
      return Error{ErrorCode::kInvalidArgument, where + ": TLS: cannot load the CA file '" +
                                                    tls.caFile + "': " + openSslErrors()};
  } else if (SSL_CTX_set_default_verify_paths(context) != 1) {
    return Error{ErrorCode::kInternal,
                 where + ": TLS: cannot load the system CA store: " + openSslErrors()};
  }
  if (!tls.certFile.empty()) {
    if (amqp_ssl_socket_set_key(socket, tls.certFile.c_str(), tls.keyFile.c_str()) !=
        AMQP_STATUS_OK)
      return Error{ErrorCode::kInvalidArgument,
                   where + ": TLS: cannot load the client certificate '" + tls.certFile +
                       "' with the key '" + tls.keyFile + "': " + openSslErrors()};
  }
  const bool ip = ipLiteral(url_.host);
  amqp_ssl_socket_set_verify_peer(socket, tls.verify ? 1 : 0);
  // rabbitmq-c 0.11 matches the host only against DNS names: for an IP literal the name check
  // is OpenSSL's (set below), which knows IP address SANs.
  amqp_ssl_socket_set_verify_hostname(socket, tls.verify && !ip ? 1 : 0);
  if (tls.verify) {
    // Verify during the handshake: a refused certificate stops it before a byte of AMQP (and
    // of our password) is sent, and the callback says why.
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(context);
    const int named = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str())
                         : X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), 0);
    if (named != 1)
      return Error{ErrorCode::kInternal,
                   where + ": TLS: cannot set the expected host name: " + openSslErrors()};
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_CTX_set_app_data(context, &tlsVerifyFailure_);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, recordVerifyFailure);
  }
  return socket;
}

int Connection::fd() const {
  amqp_socket_t* socket = amqp_get_socket(conn_);
  return socket == nullptr ? -1 : amqp_socket_get_sockfd(socket);
}

Result<amqp_channel_t> Connection::openChannel() {
  const amqp_channel_t channel = nextChannel_++;
  if (amqp_channel_open(conn_, channel) == nullptr) {
    Error e = replyError(amqp_get_rpc_reply(conn_), "channel.open", channel);
    return e;
  }
  return channel;
}

void Connection::closeChannel(amqp_channel_t channel) {
  if (dead_ || closed_) return;
  amqp_rpc_reply_t reply = amqp_channel_close(conn_, channel, AMQP_REPLY_SUCCESS);
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) dead_ = true;
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  if (dead_) return;
  // Result ignored on purpose: we are leaving either way, and destroy closes the socket.
  (void)amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  dead_ = true;
}

Error Connection::closeFrameError(const amqp_method_t& method, std::string_view what,
                                  amqp_channel_t channel) {
  if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* m = static_cast<amqp_connection_close_t*>(method.decoded);
    const int code = m->reply_code;
    std::string text = str(m->reply_text);
    amqp_connection_close_ok_t ok{};
    (void)amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);  // best effort
    dead_ = true;
    return Error{codeForReply(code), std::string(what) + ": connection closed by the broker: " +
                                         text + " (" + std::to_string(code) + ")"};
  }
  if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* m = static_cast<amqp_channel_close_t*>(method.decoded);
    const int code = m->reply_code;
    std::string text = str(m->reply_text);
    amqp_channel_close_ok_t ok{};
    if (amqp_send_method(conn_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK)
      dead_ = true;
    return Error{codeForReply(code),
                 std::string(what) + ": " + text + " (" + std::to_string(code) + ")"};
  }
  return Error{ErrorCode::kUnavailable,
               std::string(what) + ": unexpected method " + amqp_method_name(method.id)};
}

Error Connection::replyError(const amqp_rpc_reply_t& reply, std::string_view what,
                             amqp_channel_t channel) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return Error{ErrorCode::kInternal, std::string(what) + ": no error"};
    case AMQP_RESPONSE_NONE:
      dead_ = true;
      return Error{ErrorCode::kUnavailable, std::string(what) + ": no reply from the broker"};
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      dead_ = true;
      return statusError(reply.library_error, what);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      return closeFrameError(reply.reply, what, channel);
  }
  dead_ = true;
  return Error{ErrorCode::kInternal, std::string(what) + ": unknown reply type"};
}

Status Connection::checkRpc(std::string_view what, amqp_channel_t channel) {
  amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn_);
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return okStatus();
  return replyError(reply, what, channel);
}

Result<std::vector<AmqpUrl>> parseBrokerUrls(const RabbitConnectionOptions& options) {
  std::vector<std::string> texts{options.url};
  texts.insert(texts.end(), options.failoverUrls.begin(), options.failoverUrls.end());
  std::vector<AmqpUrl> brokers;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto url = AmqpUrl::parse(texts[i]);
    if (!url) {
      if (texts.size() == 1) return url.error();
      return Error{url.error().code,
                   "broker " + std::to_string(i + 1) + " of " + std::to_string(texts.size()) +
                       ": " + url.error().message,
                   url.error().field};
    }
    brokers.push_back(std::move(url).value());
  }
  return brokers;
}

BrokerRotation::BrokerRotation(std::vector<AmqpUrl> brokers) : brokers_(std::move(brokers)) {}

Result<std::unique_ptr<Connection>> BrokerRotation::open(const RabbitConnectionOptions& options) {
  std::size_t first = 0;
  {
    std::lock_guard lock(mutex_);
    first = next_;
  }
  const std::size_t n = brokers_.size();
  std::string failures;
  std::optional<ErrorCode> code;
  bool anyUnreachable = false;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (first + k) % n;
    auto connection = Connection::open(brokers_[i], options);
    if (connection) {
      std::lock_guard lock(mutex_);
      next_ = (i + 1) % n;
      return connection;
    }
    if (n == 1) return connection.error();
    if (!code) code = connection.error().code;
    anyUnreachable = anyUnreachable || connection.error().code == ErrorCode::kUnavailable;
    if (!failures.empty()) failures += "; ";
    failures += connection.error().message;
  }
  {
    // The next round starts one further on, so that a node that hangs (connect timeout) is not
    // always the first one waited for.
    std::lock_guard lock(mutex_);
    next_ = (first + 1) % n;
  }
  return Error{anyUnreachable ? ErrorCode::kUnavailable : *code,
               "no broker of " + std::to_string(n) + " answered: " + failures};
}

Result<std::unique_ptr<Connection>> openFirstBroker(const RabbitConnectionOptions& options) {
  auto brokers = parseBrokerUrls(options);
  if (!brokers) return brokers.error();
  BrokerRotation rotation(std::move(brokers).value());
  return rotation.open(options);
}

}  // namespace orders::rabbitmq
