#include "broker/rabbitmq/amqp/detail/connection.hpp"

#include <amqp_tcp_socket.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (socket == nullptr) return Error{ErrorCode::kInternal, where + ": cannot create a socket"};
  timeval connectTimeout = toTimeval(options.connectTimeout);
  errno = 0;
  int rc = amqp_socket_open_noblock(socket, url.host.c_str(), url.port, &connectTimeout);
  if (rc != AMQP_STATUS_OK) {
    c->dead_ = true;
    Error e = statusError(rc, where);
    if (rc == AMQP_STATUS_SOCKET_ERROR || rc == AMQP_STATUS_TCP_ERROR)
      e.message += " (" + tcpFailureReason(url.host, url.port, options.connectTimeout) + ")";
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
  amqp_rpc_reply_t reply =
      amqp_login_with_properties(conn, url.vhost.c_str(), 0, 131072, heartbeat, &clientProperties,
                                 AMQP_SASL_METHOD_PLAIN, url.user.c_str(), url.password.c_str());
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    Error e = c->replyError(reply, where, 0);
    c->dead_ = true;
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
      e.message +=
          " (the broker closed the connection during login: wrong user/password or vhost?)";
    }
    return e;
  }
  return c;
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

}  // namespace orders::rabbitmq
