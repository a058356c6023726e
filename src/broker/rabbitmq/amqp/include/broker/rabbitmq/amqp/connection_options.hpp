#pragma once
// How the RabbitMQ adapter connects. Shared by the publisher, the topology declaration and the
// AMQP client used by the CLI and the tests.

#include <chrono>
#include <string>

namespace orders {

struct RabbitConnectionOptions {
  /// amqp://user:password@host:port/vhost (see amqp_url.hpp). The password is never logged.
  std::string url = "amqp://guest:guest@127.0.0.1:5672/%2F";
  /// AMQP heartbeat interval we ask for (the broker may lower it); 0 disables heartbeats. A dead
  /// peer is detected after about two intervals without any traffic.
  std::chrono::seconds heartbeat{10};
  /// TCP connect + AMQP handshake.
  std::chrono::milliseconds connectTimeout{5000};
  /// Any synchronous AMQP call (declare, bind, confirm.select, close).
  std::chrono::milliseconds rpcTimeout{10000};
  /// Shown in the management UI's connection list.
  std::string connectionName = "order-service";
};

}  // namespace orders
