#pragma once
// amqp://user:password@host:port/vhost, parsed and validated.
//
// Rules (RabbitMQ's URI spec, https://www.rabbitmq.com/uri-spec.html, minus TLS and query
// parameters): scheme "amqp" only; user and password optional (default guest/guest),
// percent-encoded; host required (name, IPv4, or [IPv6]); port 1-65535, default 5672; the vhost
// is one percent-encoded path segment ("/%2F" is the default vhost "/"; no path also means "/").

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace orders {

struct AmqpUrl {
  std::string user = "guest";
  std::string password = "guest";
  std::string host;
  int port = 5672;
  std::string vhost = "/";

  /// kInvalidArgument with field "amqp-url" and a message naming the bad part (scheme, user
  /// info, host, port, vhost, percent-encoding). The password never appears in messages.
  static Result<AmqpUrl> parse(std::string_view url);

  /// The URL with the password replaced by "***", for logs and error messages.
  std::string redacted() const;
};

}  // namespace orders
