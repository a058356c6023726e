#pragma once
// amqp[s]://user:password@host:port/vhost, parsed and validated.
//
// Rules (RabbitMQ's URI spec, https://www.rabbitmq.com/uri-spec.html, minus query parameters):
// scheme "amqp" (plain TCP, default port 5672) or "amqps" (TLS, default port 5671); user and
// password optional (default guest/guest), percent-encoded; host required (name, IPv4, or
// [IPv6]); port 1-65535; the vhost is one percent-encoded path segment ("/%2F" is the default
// vhost "/"; no path also means "/").

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace orders {

struct AmqpUrl {
  bool tls = false;  // amqps://
  std::string user = "guest";
  std::string password = "guest";
  std::string host;
  int port = 5672;
  std::string vhost = "/";

  /// kInvalidArgument with field "amqp-url" and a message naming the bad part (scheme, user
  /// info, host, port, vhost, percent-encoding). The password never appears in messages, also
  /// not when the '@host' part is missing and it would be taken for a port.
  static Result<AmqpUrl> parse(std::string_view url);

  /// The URL with the password replaced by "***", for logs and error messages.
  std::string redacted() const;
  /// True for localhost, 127.0.0.0/8 and ::1: plain AMQP there never leaves the machine.
  bool loopback() const;
};

}  // namespace orders
