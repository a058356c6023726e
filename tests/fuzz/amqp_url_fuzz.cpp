// libFuzzer target: arbitrary bytes as --amqp-url (broker/rabbitmq/amqp/amqp_url.hpp).
// Properties: no crash; a URL that parses has a host and a port in range; its redacted form
// parses back to the same user, host, port and vhost, with "***" where a password was: the
// password itself is not in it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "broker/rabbitmq/amqp/amqp_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto url = orders::AmqpUrl::parse(text);
  if (!url) {
    // The error names the part at fault, never the password: it may be logged.
    return 0;
  }
  if (url->host.empty() || url->port < 1 || url->port > 65535) std::abort();
  const std::string redacted = url->redacted();
  const auto again = orders::AmqpUrl::parse(redacted);
  if (!again || again->user != url->user || again->host != url->host || again->port != url->port ||
      again->vhost != url->vhost) {
    std::abort();
  }
  if (again->password != (url->password.empty() ? "" : "***")) std::abort();
  return 0;
}
