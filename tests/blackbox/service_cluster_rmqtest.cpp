// The built binary with the nodes of the 3-node cluster (rabbitmq_cluster fixture) as its
// brokers: given as a repeated --amqp-url and a comma list, it says on /readyz which node the
// relay publishes to (without the password), and when that node is killed it moves to another
// one and keeps publishing.

#include <gtest/gtest.h>

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

TEST(ServiceWithCluster, ReportsItsNodeAndMovesToAnotherWhenThatNodeIsKilled) {
  RabbitMqCluster& cluster = RabbitMqCluster::shared();
  cluster.restoreAll();
  const auto urls = cluster.amqpUrls();
  testing::TempDir dir;
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         {"--database", "sqlite:" + dir.file("orders.db"), "--amqp-url", urls[0],
                          "--amqp-url", urls[1] + "," + urls[2], "--log-level", "warn"});
  json ready;
  ASSERT_TRUE(testing::waitFor(
      [&] {
        ready = readiness(service.port());
        return ready.at("relay").at("state") == "connected" && relayBrokerPort(ready) > 0;
      },
      60s))
      << ready.dump();
  EXPECT_EQ(ready.dump().find("guest:guest"), std::string::npos) << "a password on /readyz";
  const int first = relayBrokerPort(ready);
  std::set<int> ports;
  for (std::size_t i = 0; i < cluster.size(); ++i) ports.insert(cluster.node(i).port());
  EXPECT_EQ(ports.count(first), 1u) << ready.dump();

  HttpClient http("127.0.0.1", service.port());
  ASSERT_EQ(http.post("/v1/orders", testing::kBrokerSuiteOrder).status, 201);
  cluster.nodeWithPort(first).kill();
  ASSERT_EQ(http.post("/v1/orders", testing::kBrokerSuiteOrder).status, 201)
      << "orders are taken while the relay fails over";
  EXPECT_TRUE(testing::waitFor(
      [&] {
        ready = readiness(service.port());
        const int now = relayBrokerPort(ready);
        return ready.at("relay").at("state") == "connected" && now != 0 && now != first &&
               ready.at("outbox").at("pending") == 0;
      },
      60s))
      << ready.dump();
  cluster.restoreAll();
  EXPECT_EQ(service.terminate(), 0) << service.output();
}

}  // namespace
}  // namespace orders
