// The built binary on PostgreSQL (--database postgresql://...) with a real broker: an order it
// creates is readable and its events reach a downstream queue; the database password, given in
// the URL or in a file, appears nowhere in what the service shows (its log, /readyz, --help);
// over TCP with TLS, verified against the server's CA (sslmode=verify-full), it works, and it
// refuses to start against a server it cannot verify.

#include <gtest/gtest.h>
#include <stdio.h>

#include <nlohmann/json.hpp>
#include <set>

#include "broker/rabbitmq/amqp_client.hpp"
#include "order_request.hpp"
#include "publishing/event_factory.hpp"
#include "support/http_client.hpp"
#include "support/postgres_server.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_certificates.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::PostgresServer;
using testing::RabbitMqServer;
using testing::ServiceProcess;

constexpr const char* kDatabase = "service_postgres_pgtest";

std::string commandOutput(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

TEST(ServiceOnPostgres, CreatesAnOrderThatIsReadableAndWhoseEventsReachTheBroker) {
  auto& pg = PostgresServer::shared();
  pg.createDatabase(kDatabase);
  auto& broker = RabbitMqServer::shared();
  // The password in the URL: the most exposed place, so the one whose output is searched.
  const std::string password = pg.info().appPassword;
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         {"--database", pg.appUrlWithPassword(kDatabase), "--amqp-url",
                          broker.amqpUrl(), "--log-level", "debug"});
  HttpClient http("127.0.0.1", service.port());
  // The relay declares the topology when it connects; the downstream queue binds to it then.
  ASSERT_TRUE(testing::waitFor([&] {
    return json::parse(http.get("/readyz").body).at("relay").at("state") == "connected";
  })) << http.get("/readyz").body;
  auto client = AmqpClient::connect(broker.amqpUrl()).value();
  const std::string queue = "blackbox.postgres.all-events";
  ASSERT_TRUE(client->declareQueue(queue, QueueType::kQuorum).ok());
  ASSERT_TRUE(client->purge(queue).ok());
  for (auto type : kPublishedMessageTypes) {
    ASSERT_TRUE(client->bind(queue, "order.events", std::string(type)).ok());
  }

  auto created = http.post("/v1/orders", testing::kBrokerSuiteOrder);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = created.header("location");
  ASSERT_EQ(http.post(location + "/payment", "").status, 200);
  const auto read = http.get(location);
  ASSERT_EQ(read.status, 200) << read.body;
  const std::string orderId = json::parse(read.body).at("orderId");

  ASSERT_TRUE(client->consume(queue, /*autoAck=*/true).ok());
  std::set<std::string> types;
  while (types.size() < 2) {
    auto delivery = client->next(std::chrono::seconds(20));
    ASSERT_TRUE(delivery.ok()) << delivery.error().message;
    ASSERT_TRUE(delivery->has_value()) << "the order's events did not reach the broker";
    const auto* partition = (*delivery)->header("partitionKey");
    ASSERT_NE(partition, nullptr);
    if (std::get<std::string>(partition->value) == orderId) types.insert((*delivery)->type);
  }
  EXPECT_EQ(types.size(), 2u);

  const auto ready = http.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.body.find(password), std::string::npos) << ready.body;
  service.terminate();
  const std::string log = service.output();
  EXPECT_NE(log.find("postgresql://"), std::string::npos) << "the log names the database";
  EXPECT_EQ(log.find(password), std::string::npos) << "the password is in the log";
  EXPECT_TRUE(client->deleteQueue(queue).ok());

  const std::string help = commandOutput(std::string(ORDER_SERVICE_BINARY) + " --database '" +
                                         pg.appUrlWithPassword(kDatabase) + "' --help 2>&1");
  EXPECT_NE(help.find("--database-password-file"), std::string::npos) << help;
  EXPECT_EQ(help.find(password), std::string::npos) << help;
}

TEST(ServiceOnPostgres, TakesThePasswordFromAFileAndSaysWhenTheDatabaseIsUnreachable) {
  auto& pg = PostgresServer::shared();
  pg.createDatabase(std::string(kDatabase) + "_file");
  testing::TempDir dir;
  dir.write("password", pg.info().appPassword + "\n");
  {
    ServiceProcess service(
        ORDER_SERVICE_BINARY,
        {"--database", pg.appUrl(std::string(kDatabase) + "_file"), "--database-password-file",
         dir.file("password"), "--no-relay", "--no-consumers"});
    HttpClient http("127.0.0.1", service.port());
    EXPECT_EQ(http.post("/v1/orders", testing::kBrokerSuiteOrder).status, 201);
  }
  // A wrong password: the service does not start, and says why without the password.
  dir.write("wrong", "wrong-MARKER-password\n");
  const std::string refused = commandOutput(
      std::string(ORDER_SERVICE_BINARY) + " --auth none --listen 127.0.0.1:0 --database '" +
      pg.appUrl(std::string(kDatabase) + "_file") + "' --database-password-file " +
      dir.file("wrong") + " 2>&1");
  EXPECT_NE(refused.find("password authentication failed"), std::string::npos) << refused;
  EXPECT_EQ(refused.find("wrong-MARKER-password"), std::string::npos) << refused;
}

TEST(ServiceOnPostgres, UsesVerifiedTlsAndRefusesAServerItCannotVerify) {
  auto& pg = PostgresServer::shared();
  const std::string database = PostgresServer::kTlsOnlyDatabase;
  pg.createDatabase(database);
  testing::TempDir dir;
  dir.write("password", pg.info().appPassword + "\n");
  const std::string tcpUrl = "postgresql://" + pg.info().appUser +
                             "@localhost:" + std::to_string(pg.info().port) + "/" + database;
  const std::string passwordFlags = " --database-password-file " + dir.file("password");
  const std::string startOnly =
      std::string(ORDER_SERVICE_BINARY) + " --auth none --listen 127.0.0.1:0 --database '";
  {
    ServiceProcess service(
        ORDER_SERVICE_BINARY,
        {"--database", tcpUrl + "?sslmode=verify-full&sslrootcert=" + pg.info().caFile,
         "--database-password-file", dir.file("password"), "--no-relay", "--no-consumers"});
    HttpClient http("127.0.0.1", service.port());
    EXPECT_EQ(http.post("/v1/orders", testing::kBrokerSuiteOrder).status, 201);
    // The server's view: the service's sessions on this database are encrypted.
    const auto plain = pg.adminQuery(
        "postgres",
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE "
        "a.datname = '" +
            database + "' AND a.usename = '" + pg.info().appUser + "' AND NOT s.ssl");
    const auto encrypted = pg.adminQuery(
        "postgres",
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE "
        "a.datname = '" +
            database + "' AND a.usename = '" + pg.info().appUser + "' AND s.ssl");
    EXPECT_EQ(plain.at(0), "0");
    EXPECT_NE(encrypted.at(0), "0");
  }
  // Without TLS this database refuses the connection: the service says so and does not start.
  const std::string unencrypted =
      commandOutput(startOnly + tcpUrl + "?sslmode=disable'" + passwordFlags + " 2>&1");
  EXPECT_NE(unencrypted.find("no encryption"), std::string::npos) << unencrypted;
  // A server whose certificate does not chain to the CA it is given: refused.
  testing::TlsCertificates certificates(dir.path());
  const auto otherCa = certificates.authority("another-ca");
  const std::string unverified =
      commandOutput(startOnly + tcpUrl + "?sslmode=verify-full&sslrootcert=" + otherCa.certFile +
                    "'" + passwordFlags + " 2>&1");
  EXPECT_NE(unverified.find("certificate verify failed"), std::string::npos) << unverified;
  EXPECT_EQ(unverified.find("LISTENING"), std::string::npos) << unverified;
}

}  // namespace
}  // namespace orders
