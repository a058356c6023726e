// The broker side of docs/security.md against real brokers: TLS with certificates made here with
// `openssl` (a CA, the broker's certificate, a client certificate; an unrelated CA, a broker
// certificate with another name), the built order-service and order-events over TLS, passwords
// that never appear in any output, and the least-privilege user of scripts/rabbitmq-user.sh.
//
// Two private brokers: `mutual` requires a client certificate (verify_peer,
// fail_if_no_peer_cert) and presents a certificate for localhost/127.0.0.1 signed by the test CA;
// `misnamed` presents a certificate of the same CA for wrong.example.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "broker/rabbitmq/amqp/connection_settings.hpp"
#include "broker/rabbitmq/amqp_client.hpp"
#include "order_request.hpp"
#include "support/http_client.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_certificates.hpp"

extern char** environ;

namespace orders {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::RabbitMqServer;
using testing::ServiceProcess;
using testing::TempDir;
using testing::TlsIdentity;

const std::string& kOrder = testing::kBrokerSuiteOrder;

struct ProcessRun {
  int exitCode = -1;
  std::string output;  // stdout and stderr
};

/// Runs `binary` with `args` and `env` added to our environment; stdout and stderr together.
ProcessRun runBinary(const std::string& binary, const std::vector<std::string>& args,
                     const std::vector<std::string>& env = {}) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> environment(env);
  for (char** e = environ; *e != nullptr; ++e) environment.emplace_back(*e);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  ProcessRun run;
  char buffer[65536];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) run.output.append(buffer, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

/// Sets environment variables for the lifetime of the object (the service inherits them).
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, std::string>> vars)
      : vars_(std::move(vars)) {
    for (const auto& [k, v] : vars_) setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : vars_) unsetenv(k.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

json readiness(int port) {
  HttpClient http("127.0.0.1", port);
  return json::parse(http.get("/readyz").body);
}

bool waitForBrokerSide(int port, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const json ready = readiness(port);
    if (ready.at("status") == "ok") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class BrokerSecurity : public ::testing::Test {
 protected:
  struct Shared {
    TempDir dir{"broker-security"};
    TlsIdentity ca, otherCa, server, misnamedServer, client, strangerClient;
    std::unique_ptr<RabbitMqServer> mutual, misnamed;
  };
  static inline Shared* shared_ = nullptr;

  static void SetUpTestSuite() {
    shared_ = new Shared;
    testing::TlsCertificates certs(shared_->dir.path());
    shared_->ca = certs.authority("order-test-ca");
    shared_->otherCa = certs.authority("unrelated-ca");
    shared_->server = certs.issue(shared_->ca, "broker", {"DNS:localhost", "IP:127.0.0.1"});
    shared_->misnamedServer = certs.issue(shared_->ca, "misnamed-broker", {"DNS:wrong.example"});
    shared_->client = certs.issue(shared_->ca, "order-service", {}, /*client=*/true);
    shared_->strangerClient = certs.issue(shared_->otherCa, "stranger", {}, /*client=*/true);

    testing::RabbitMqServerOptions mutual;
    mutual.tls = testing::RabbitMqTlsOptions{shared_->ca.certFile, shared_->server.certFile,
                                             shared_->server.keyFile, true};
    shared_->mutual = RabbitMqServer::start(mutual);
    testing::RabbitMqServerOptions misnamed;
    misnamed.tls =
        testing::RabbitMqTlsOptions{shared_->ca.certFile, shared_->misnamedServer.certFile,
                                    shared_->misnamedServer.keyFile, false};
    shared_->misnamed = RabbitMqServer::start(misnamed);
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  static RabbitMqServer& mutual() { return *shared_->mutual; }

  /// Options for the mutual-TLS broker: our CA and, unless `withCertificate` is false, the
  /// client certificate.
  static RabbitConnectionOptions tlsOptions(bool withCertificate = true) {
    RabbitConnectionOptions o;
    o.url = mutual().amqpsUrl();
    o.tls.caFile = shared_->ca.certFile;
    if (withCertificate) {
      o.tls.certFile = shared_->client.certFile;
      o.tls.keyFile = shared_->client.keyFile;
    }
    o.connectionName = "broker-security test";
    return o;
  }

  static std::string refusal(const RabbitConnectionOptions& options) {
    auto client = AmqpClient::connect(options);
    if (client.ok()) return "(connected)";
    return client.error().message;
  }

  /// The environment that points order-service (PREFIX ORDER_SERVICE_) or order-events
  /// (ORDER_EVENTS_) at the mutual-TLS broker with the client certificate.
  static std::vector<std::pair<std::string, std::string>> tlsEnvironment(const std::string& prefix,
                                                                         const std::string& url) {
    return {{prefix + "AMQP_URL", url},
            {prefix + "AMQP_CA_FILE", shared_->ca.certFile},
            {prefix + "AMQP_CERT_FILE", shared_->client.certFile},
            {prefix + "AMQP_KEY_FILE", shared_->client.keyFile}};
  }

  static std::vector<std::string> asList(
      const std::vector<std::pair<std::string, std::string>>& vars) {
    std::vector<std::string> list;
    for (const auto& [k, v] : vars) list.push_back(k + "=" + v);
    return list;
  }

  /// Creates an order over HTTP, starts its payment, and returns its path (/v1/orders/ID).
  static std::string createOrderAwaitingPayment(int port) {
    HttpClient http("127.0.0.1", port);
    auto created = http.post("/v1/orders", kOrder);
    EXPECT_EQ(created.status, 201) << created.body;
    const std::string path = created.header("location");
    EXPECT_EQ(http.post(path + "/payment", "").status, 200);
    return path;
  }

  /// Publishes a PaymentCompletedEvent for the order at `path` (21.00 EUR) on payment.events
  /// through `client`, as the Payment Service would.
  static void publishPaymentCompleted(AmqpClient& client, const std::string& path) {
    const std::string id = path.substr(path.rfind('/') + 1);
    static int counter = 0;
    const std::string messageId =
        "msg-6f1c2a3b-0000-4000-8000-" + std::to_string(100000000000 + ++counter);
    json envelope = {{"messageId", messageId},
                     {"messageType", "PaymentCompletedEvent"},
                     {"messageVersion", "1.0"},
                     {"timestamp", "2024-05-01T10:00:00.000Z"},
                     {"source", "PaymentService"},
                     {"partitionKey", id},
                     {"payload",
                      {{"orderId", id},
                       {"paymentTransactionId", "pay-tx-tls"},
                       {"amount", 21.0},
                       {"currency", "EUR"},
                       {"completedAt", "2024-05-01T10:00:00.000Z"}}}};
    BrokerMessage m;
    m.exchange = "payment.events";
    m.routingKey = "PaymentCompletedEvent";
    m.messageId = messageId;
    m.contentType = "application/json";
    m.body = envelope.dump();
    ASSERT_TRUE(client.publish(m).ok());
  }

  static bool waitForStatus(int port, const std::string& path, const std::string& status) {
    HttpClient http("127.0.0.1", port);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (json::parse(http.get(path).body).at("status") == status) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  /// The relay publishes over `observer`'s broker: an OrderCreatedEvent of the order at `path`
  /// arrives in a queue bound before the order was created.
  static void expectOrderCreatedEvent(AmqpClient& observer, const std::string& queue,
                                      const std::string& path) {
    const std::string id = path.substr(path.rfind('/') + 1);
    for (;;) {
      auto delivery = observer.next(std::chrono::seconds(15));
      ASSERT_TRUE(delivery.ok()) << delivery.error().message;
      ASSERT_TRUE(delivery->has_value()) << "no OrderCreatedEvent of " << id << " in " << queue;
      if (json::parse((*delivery)->body).at("partitionKey") == id) return;
    }
  }
};

TEST_F(BrokerSecurity, MutualTlsWithTheRightCertificatesConnectsAndEveryRefusalSaysWhy) {
  const std::string endpoint = "localhost:" + std::to_string(mutual().tlsPort());

  auto client = AmqpClient::connect(tlsOptions());
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_TRUE((*client)->declareTemporaryQueue("amq.direct", {"tls-probe"}).ok());

  // The IP literal is checked against the certificate's IP address SAN (OpenSSL's check:
  // rabbitmq-c's own only knows DNS names).
  RabbitConnectionOptions byAddress = tlsOptions();
  byAddress.url = "amqps://guest:guest@127.0.0.1:" + std::to_string(mutual().tlsPort()) + "/%2F";
  EXPECT_EQ(refusal(byAddress), "(connected)");

  // fail_if_no_peer_cert: no client certificate, no connection.
  const std::string noCertificate = refusal(tlsOptions(/*withCertificate=*/false));
  EXPECT_NE(noCertificate.find("TLS"), std::string::npos) << noCertificate;
  EXPECT_NE(noCertificate.find(endpoint), std::string::npos) << noCertificate;
  EXPECT_NE(noCertificate.find("client certificate"), std::string::npos) << noCertificate;

  // A client certificate of a CA the broker does not trust.
  RabbitConnectionOptions stranger = tlsOptions();
  stranger.tls.certFile = shared_->strangerClient.certFile;
  stranger.tls.keyFile = shared_->strangerClient.keyFile;
  const std::string strangerRefusal = refusal(stranger);
  EXPECT_NE(strangerRefusal.find("TLS"), std::string::npos) << strangerRefusal;
  EXPECT_NE(strangerRefusal.find(endpoint), std::string::npos) << strangerRefusal;

  // We trust only the unrelated CA: the broker's certificate (signed by the test CA) is refused
  // before a byte of AMQP is sent.
  RabbitConnectionOptions otherCa = tlsOptions();
  otherCa.tls.caFile = shared_->otherCa.certFile;
  const std::string untrusted = refusal(otherCa);
  EXPECT_NE(untrusted.find("TLS: the broker's certificate at " + endpoint + " was refused"),
            std::string::npos)
      << untrusted;
  EXPECT_NE(untrusted.find("not a trusted CA"), std::string::npos) << untrusted;
  EXPECT_NE(untrusted.find("order-test-ca"), std::string::npos) << untrusted;

  // No CA file: the system store, which does not hold the test CA.
  RabbitConnectionOptions systemStore = tlsOptions();
  systemStore.tls.caFile.clear();
  EXPECT_NE(refusal(systemStore).find("not a trusted CA"), std::string::npos);

  // amqps:// to the plain AMQP port.
  RabbitConnectionOptions plainPort = tlsOptions();
  plainPort.url = "amqps://guest:guest@localhost:" + std::to_string(mutual().port()) + "/%2F";
  const std::string notTls = refusal(plainPort);
  EXPECT_NE(notTls.find("TLS"), std::string::npos) << notTls;
  EXPECT_NE(notTls.find("is this a TLS port?"), std::string::npos) << notTls;
}

TEST_F(BrokerSecurity, ABrokerWhoseCertificateNamesAnotherHostIsRefused) {
  const RabbitMqServer& misnamed = *shared_->misnamed;
  RabbitConnectionOptions o;
  o.url = misnamed.amqpsUrl();  // localhost
  o.tls.caFile = shared_->ca.certFile;
  const std::string mismatch = refusal(o);
  EXPECT_NE(mismatch.find("TLS: the broker's certificate at localhost:" +
                          std::to_string(misnamed.tlsPort()) + " was refused"),
            std::string::npos)
      << mismatch;
  EXPECT_NE(mismatch.find("hostname mismatch"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("DNS:wrong.example"), std::string::npos) << mismatch;

  // The same by IP address.
  o.url = "amqps://guest:guest@127.0.0.1:" + std::to_string(misnamed.tlsPort()) + "/%2F";
  const std::string ipMismatch = refusal(o);
  EXPECT_NE(ipMismatch.find("mismatch"), std::string::npos) << ipMismatch;

  // --amqp-tls-insecure connects anyway, and is warned about.
  o.url = misnamed.amqpsUrl();
  o.tls.verify = false;
  EXPECT_EQ(refusal(o), "(connected)");
  ASSERT_EQ(connectionWarnings(o).size(), 1u);
}

TEST_F(BrokerSecurity, TheServiceRelaysAndConsumesOverMutualTls) {
  TempDir dir;
  auto observer = AmqpClient::connect(tlsOptions());
  ASSERT_TRUE(observer.ok()) << observer.error().message;

  ScopedEnv env(tlsEnvironment("ORDER_SERVICE_", mutual().amqpsUrl()));
  ServiceProcess service(ORDER_SERVICE_BINARY,
                         {"--database", "sqlite:" + dir.file("orders.db"), "--log-level", "info"});
  ASSERT_TRUE(waitForBrokerSide(service.port(), std::chrono::seconds(30)))
      << readiness(service.port()).dump() << service.output();

  auto queue = (*observer)->declareTemporaryQueue("order.events", {"OrderCreatedEvent"});
  ASSERT_TRUE(queue.ok()) << queue.error().message;
  ASSERT_TRUE((*observer)->consume(*queue).ok());
  const std::string path = createOrderAwaitingPayment(service.port());
  expectOrderCreatedEvent(**observer, *queue, path);

  // Inbound: a payment result published over TLS is consumed by the service over TLS.
  publishPaymentCompleted(**observer, path);
  EXPECT_TRUE(waitForStatus(service.port(), path, "AWAITING_FULFILLMENT")) << service.output();

  // order-events over TLS, from the ORDER_EVENTS_* variables.
  const auto cliEnv = asList(tlsEnvironment("ORDER_EVENTS_", mutual().amqpsUrl()));
  const ProcessRun declared = runBinary(ORDER_EVENTS_BINARY, {"topology", "declare"}, cliEnv);
  EXPECT_EQ(declared.exitCode, 0) << declared.output;
  EXPECT_NE(declared.output.find("amqps://guest:***@localhost"), std::string::npos)
      << declared.output;
  const ProcessRun dlq = runBinary(
      ORDER_EVENTS_BINARY, {"dlq", "list", "--queue", "order-service.payment-events"}, cliEnv);
  EXPECT_EQ(dlq.exitCode, 0) << dlq.output;
  // ... and refused without the client certificate, saying why.
  const ProcessRun refused = runBinary(ORDER_EVENTS_BINARY, {"topology", "declare"},
                                       {"ORDER_EVENTS_AMQP_URL=" + mutual().amqpsUrl(),
                                        "ORDER_EVENTS_AMQP_CA_FILE=" + shared_->ca.certFile});
  EXPECT_EQ(refused.exitCode, 1) << refused.output;
  EXPECT_NE(refused.output.find("client certificate"), std::string::npos) << refused.output;
  EXPECT_EQ(service.terminate(), 0) << service.output();
}

TEST_F(BrokerSecurity, PasswordsNeverAppearInLogsErrorsReadinessOrHelp) {
  const std::string marker = "Pw-MARKER-3f9c1d";
  const std::string wrongMarker = "Wrong-MARKER-77ab";
  ASSERT_EQ(mutual().rabbitmqctl({"add_user", "marker-user", marker}), 0);
  ASSERT_EQ(mutual().rabbitmqctl({"set_permissions", "-p", "/", "marker-user", ".*", ".*", ".*"}),
            0);
  TempDir dir;
  const std::string plainUrl =
      "amqp://marker-user@127.0.0.1:" + std::to_string(mutual().port()) + "/%2F";
  std::string everything;

  {  // success, password from the environment
    ScopedEnv env({{"ORDER_SERVICE_AMQP_URL", plainUrl}, {"ORDER_SERVICE_AMQP_PASSWORD", marker}});
    ServiceProcess service(ORDER_SERVICE_BINARY,
                           {"--database", "sqlite:" + dir.file("a.db"), "--log-level", "debug"});
    ASSERT_TRUE(waitForBrokerSide(service.port(), std::chrono::seconds(30)))
        << readiness(service.port()).dump();
    createOrderAwaitingPayment(service.port());
    everything += readiness(service.port()).dump();
    service.terminate();
    everything += service.output();
  }
  {  // broker unreachable, password in the URL: started degraded, the error is on /readyz
    ScopedEnv env(
        {{"ORDER_SERVICE_AMQP_URL", "amqp://marker-user:" + marker + "@127.0.0.1:1/%2F"}});
    ServiceProcess service(ORDER_SERVICE_BINARY,
                           {"--database", "sqlite:" + dir.file("b.db"), "--log-level", "debug"});
    HttpClient http("127.0.0.1", service.port());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json ready;
    while (std::chrono::steady_clock::now() < deadline) {
      ready = readiness(service.port());
      if (ready.at("relay").contains("lastError")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(ready.at("relay").contains("lastError")) << ready.dump();
    EXPECT_NE(ready.dump().find("marker-user:***@127.0.0.1:1"), std::string::npos) << ready.dump();
    everything += ready.dump();
    service.terminate();
    everything += service.output();
  }
  {  // wrong password from a file: the broker refuses the login, the service does not start
    const std::string file = dir.file("password");
    std::ofstream(file) << wrongMarker << "\n";
    const ProcessRun refused = runBinary(
        ORDER_SERVICE_BINARY,
        {"--listen", "127.0.0.1:0", "--database", "sqlite:" + dir.file("c.db"), "--amqp-url",
         plainUrl, "--amqp-password-file", file, "--log-level", "debug", "--auth", "none"});
    EXPECT_EQ(refused.exitCode, 1) << refused.output;
    EXPECT_NE(refused.output.find("ACCESS_REFUSED"), std::string::npos) << refused.output;
    everything += refused.output;
  }
  {  // --help, with the password in the environment and in the URL flag
    const ProcessRun help =
        runBinary(ORDER_SERVICE_BINARY,
                  {"--amqp-url", "amqp://marker-user:" + wrongMarker + "@somewhere/", "--help"},
                  {"ORDER_SERVICE_AMQP_PASSWORD=" + marker,
                   "ORDER_SERVICE_AMQP_URL=amqp://u:" + marker + "@h/"});
    EXPECT_EQ(help.exitCode, 0);
    EXPECT_NE(help.output.find("ORDER_SERVICE_AMQP_PASSWORD_FILE"), std::string::npos);
    everything += help.output;
    const ProcessRun cliHelp = runBinary(ORDER_EVENTS_BINARY, {"tail", "--help"},
                                         {"ORDER_EVENTS_AMQP_URL=amqp://u:" + marker + "@h/",
                                          "ORDER_EVENTS_AMQP_PASSWORD=" + marker});
    EXPECT_EQ(cliHelp.exitCode, 0);
    everything += cliHelp.output;
  }
  {  // order-events: a success and an authentication failure
    const ProcessRun ok =
        runBinary(ORDER_EVENTS_BINARY, {"topology", "declare"},
                  {"ORDER_EVENTS_AMQP_URL=" + plainUrl, "ORDER_EVENTS_AMQP_PASSWORD=" + marker});
    EXPECT_EQ(ok.exitCode, 0) << ok.output;
    everything += ok.output;
    const ProcessRun failed =
        runBinary(ORDER_EVENTS_BINARY,
                  {"dlq", "list", "--queue", "order-service.payment-events", "--amqp-url",
                   "amqp://marker-user:" + wrongMarker +
                       "@127.0.0.1:" + std::to_string(mutual().port()) + "/%2F"});
    EXPECT_NE(failed.exitCode, 0) << failed.output;
    EXPECT_NE(failed.output.find("marker-user:***@"), std::string::npos) << failed.output;
    everything += failed.output;
    const ProcessRun malformed =
        runBinary(ORDER_EVENTS_BINARY,
                  {"topology", "declare", "--amqp-url", "amqp://marker-user:" + marker + "/vhost"});
    EXPECT_EQ(malformed.exitCode, 2) << malformed.output;
    everything += malformed.output;
  }
  EXPECT_EQ(everything.find(marker), std::string::npos) << everything;
  EXPECT_EQ(everything.find(wrongMarker), std::string::npos) << everything;
}

TEST_F(BrokerSecurity, TheLeastPrivilegeUserRunsTheServiceAndIsRefusedEverythingElse) {
  TempDir dir;
  // rabbitmqctl of the private broker: its node and its Erlang cookie (in its HOME).
  const std::string ctl = dir.file("rabbitmqctl");
  std::ofstream(ctl) << "#!/bin/sh\nHOME='" << mutual().directory()
                     << "/home' exec /usr/lib/rabbitmq/bin/rabbitmqctl \"$@\"\n";
  std::filesystem::permissions(ctl, std::filesystem::perms::owner_all);
  const std::string password = "least-privilege-pw";
  const ProcessRun created =
      runBinary("/bin/bash",
                {std::string(ORDER_SERVICE_SOURCE_DIR) + "/scripts/rabbitmq-user.sh", "--user",
                 "order-svc", "--node", mutual().nodeName(), "--rabbitmqctl", ctl},
                {"RABBITMQ_USER_PASSWORD=" + password});
  ASSERT_EQ(created.exitCode, 0) << created.output;
  EXPECT_EQ(created.output.find(password), std::string::npos) << created.output;

  // A queue of another team, and an observer bound to the events (as guest).
  auto guest = AmqpClient::connect(tlsOptions());
  ASSERT_TRUE(guest.ok()) << guest.error().message;
  ASSERT_TRUE((*guest)->declareQueue("other-team.orders", QueueType::kClassic).ok());
  auto observed = (*guest)->declareTemporaryQueue("order.events", {"OrderCreatedEvent"});
  ASSERT_TRUE(observed.ok()) << observed.error().message;
  ASSERT_TRUE((*guest)->consume(*observed).ok());

  // The real service as that user, over TLS: topology, relay and inbound consumers work.
  const std::string passwordFile = dir.file("password");
  std::ofstream(passwordFile) << password << "\n";
  const std::string url =
      "amqps://order-svc@localhost:" + std::to_string(mutual().tlsPort()) + "/%2F";
  auto vars = tlsEnvironment("ORDER_SERVICE_", url);
  vars.emplace_back("ORDER_SERVICE_AMQP_PASSWORD_FILE", passwordFile);
  {
    ScopedEnv env(vars);
    ServiceProcess service(ORDER_SERVICE_BINARY, {"--database", "sqlite:" + dir.file("orders.db")});
    ASSERT_TRUE(waitForBrokerSide(service.port(), std::chrono::seconds(30)))
        << readiness(service.port()).dump() << service.output();
    const std::string path = createOrderAwaitingPayment(service.port());
    expectOrderCreatedEvent(**guest, *observed, path);
    publishPaymentCompleted(**guest, path);
    EXPECT_TRUE(waitForStatus(service.port(), path, "AWAITING_FULFILLMENT")) << service.output();
    EXPECT_EQ(service.output().find("ACCESS_REFUSED"), std::string::npos) << service.output();
    EXPECT_EQ(service.terminate(), 0) << service.output();
  }

  // The same user outside its permissions.
  RabbitConnectionOptions restricted = tlsOptions();
  restricted.url = url;
  restricted.password = password;
  auto client = AmqpClient::connect(restricted);
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto readOther = (*client)->get("other-team.orders");
  ASSERT_FALSE(readOther.ok());
  EXPECT_NE(readOther.error().message.find("ACCESS_REFUSED"), std::string::npos)
      << readOther.error().message;
  EXPECT_NE(readOther.error().message.find("other-team.orders"), std::string::npos)
      << readOther.error().message;
  const Status declareOther = (*client)->declareQueue("other-team.new-queue", QueueType::kQuorum);
  ASSERT_FALSE(declareOther.ok());
  EXPECT_NE(declareOther.error().message.find("ACCESS_REFUSED"), std::string::npos)
      << declareOther.error().message;
  // Tapping the events with a queue of its own (what `order-events tail` does) is refused too.
  auto tap = (*client)->declareTemporaryQueue("order.events", {"OrderCreatedEvent"});
  ASSERT_FALSE(tap.ok());
  EXPECT_NE(tap.error().message.find("ACCESS_REFUSED"), std::string::npos) << tap.error().message;
  (void)(*guest)->deleteQueue("other-team.orders");
}

}  // namespace
}  // namespace orders
