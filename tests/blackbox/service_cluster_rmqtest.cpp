// The built binary with the nodes of the 3-node cluster (rabbitmq_cluster fixture) as its
// brokers, given as a repeated --amqp-url and a comma list behind a node that is down: the relay
// and the inbound consumers connect past the dead entry, events are published, and /readyz says
// which node the relay publishes to (without the password). Failover on a lost connection (a
// killed node) is broker_cluster_rmqtest's.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "broker/rabbitmq/amqp/amqp_url.hpp"
#include "order_request.hpp"
#include "support/http_client.hpp"
#include "support/rabbitmq_cluster.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::HttpClient;
using testing::RabbitMqCluster;
using testing::ServiceProcess;

json readiness(int port) {
  HttpClient http("127.0.0.1", port);
  return json::parse(http.get("/readyz").body);
}

/// The relay's broker on /readyz as a port, 0 while it has none.
int relayBrokerPort(const json& ready) {
  const auto& relay = ready.at("relay");
  if (!relay.contains("broker")) return 0;
  auto url = AmqpUrl::parse(relay.at("broker").get<std::string>());
  return url ? url->port : 0;
}

/// A loopback port nothing listens on: a node that is down.
int closedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(ServiceWithCluster, SkipsADownNodeAndReportsTheNodeItPublishesTo) {
  RabbitMqCluster& cluster = RabbitMqCluster::shared();
  cluster.restoreAll();
  const auto urls = cluster.amqpUrls();
  const int down = closedPort();
  testing::TempDir dir;
  // The first entry is a node that is down; the cluster's nodes follow as a comma list.
  ServiceProcess service(
      ORDER_SERVICE_BINARY,
      {"--database", "sqlite:" + dir.file("orders.db"), "--amqp-url",
       "amqp://guest:guest@127.0.0.1:" + std::to_string(down) + "/%2F", "--amqp-url",
       urls[0] + "," + urls[1] + "," + urls[2], "--log-level", "warn"});
  HttpClient http("127.0.0.1", service.port());
  ASSERT_EQ(http.post("/v1/orders", testing::kBrokerSuiteOrder).status, 201);
  json ready;
  EXPECT_TRUE(testing::waitFor(
      [&] {
        ready = readiness(service.port());
        return ready.at("relay").at("state") == "connected" && relayBrokerPort(ready) > 0 &&
               ready.at("outbox").at("pending") == 0 &&
               ready.at("consumers").at("payments").at("state") == "connected" &&
               ready.at("consumers").at("fulfillment").at("state") == "connected";
      },
      60s))
      << ready.dump();
  EXPECT_EQ(ready.dump().find("guest:guest"), std::string::npos) << "a password on /readyz";
  std::set<int> nodes;
  for (std::size_t i = 0; i < cluster.size(); ++i) nodes.insert(cluster.node(i).port());
  EXPECT_EQ(nodes.count(relayBrokerPort(ready)), 1u) << ready.dump();
  EXPECT_EQ(service.terminate(), 0) << service.output();
}

}  // namespace
}  // namespace orders
