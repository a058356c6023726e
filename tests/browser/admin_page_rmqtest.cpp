// The operator page and the operator API against the real binary and a real broker (started by
// the test): a poison message dead-lettered by the service's own payment consumer is listed in its
// failure group, inspected, refused a discard without confirmation, then replayed from the page
// in headless Chromium (admin_page.js) once the order can take it, and applied; a second one is
// discarded with confirmation. Every replay and discard is in the log with the operator's subject
// and the messageId.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "auth/jwt_signer.hpp"
#include "blackbox/order_request.hpp"
#include "broker/rabbitmq/amqp_client.hpp"
#include "common/ids.hpp"
#include "support/http_client.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using auth::JwtAlgorithm;
using auth::SigningKey;
using nlohmann::json;
using testing::HttpClient;
using testing::RabbitMqServer;
using testing::ServiceProcess;
using testing::TempDir;
using testing::waitFor;
using namespace std::chrono_literals;
using Headers = std::map<std::string, std::string>;

const std::string kPaymentQueue = "order-service.payment-events";
const std::string kDeadLetters = "/admin/api/dead-letters/" + kPaymentQueue;

/// A PaymentCompletedEvent of the Payment Service for `orderId` (21.00 EUR: the broker suites'
/// order), published as the payment service would.
BrokerMessage paymentCompleted(const std::string& orderId, const std::string& messageId) {
  const json envelope{{"messageId", messageId},
                      {"messageType", "PaymentCompletedEvent"},
                      {"messageVersion", "1.0"},
                      {"timestamp", "2026-05-01T10:00:00.000Z"},
                      {"source", "PaymentService"},
                      {"correlationId", "corr-admin-page"},
                      {"partitionKey", orderId},
                      {"payload",
                       {{"orderId", orderId},
                        {"paymentTransactionId", "pay-tx-admin"},
                        {"amount", 21.0},
                        {"currency", "EUR"},
                        {"completedAt", "2026-05-01T10:00:00.000Z"}}}};
  BrokerMessage m;
  m.exchange = "payment.events";
  m.routingKey = "PaymentCompletedEvent";
  m.messageId = messageId;
  m.type = "PaymentCompletedEvent";
  m.contentType = "application/json";
  m.body = envelope.dump();
  return m;
}

std::string shellQuoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs `command` (stderr too); its exit status and output.
std::pair<int, std::string> run(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "cannot run " + command};
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  return {pclose(pipe), output};
}

class AdminPageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("admin-page-test");
    key_ = SigningKey::generate(JwtAlgorithm::kEs256, "ec-1").value().release();
    dir_->write("jwks.json", json{{"keys", {key_->publicJwk().value()}}}.dump());
    auto& broker = RabbitMqServer::shared();
    service_ = new ServiceProcess(
        ORDER_SERVICE_BINARY,
        {"--database", "sqlite:" + dir_->file("orders.db"), "--amqp-url", broker.amqpUrl(),
         "--log-level", "info", "--auth", "jwt", "--jwks-file", dir_->file("jwks.json"),
         "--jwt-issuer", "test", "--jwt-audience", "order-service"});
  }
  static void TearDownTestSuite() {
    delete service_;
    delete key_;
    delete dir_;
  }

  static std::string operatorToken() {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return key_
        ->sign({{"sub", "ops-alice"},
                {"iss", "test"},
                {"aud", "order-service"},
                {"iat", now},
                {"exp", now + 600},
                {"roles", {"operator"}}})
        .value();
  }
  static Headers ops() { return {{"Authorization", "Bearer " + operatorToken()}}; }
  static HttpClient http() { return HttpClient("127.0.0.1", service_->port()); }

  /// The payment DLQ as the API lists it.
  static json paymentDlq() {
    const auto response = http().get("/admin/api/dead-letters", ops());
    if (response.status != 200) return json::object();
    const json body = json::parse(response.body);
    for (const auto& q : body.at("queues"))
      if (q.at("queue") == kPaymentQueue) return q;
    return json::object();
  }
  static bool inDlq(const std::string& messageId) {
    const json q = paymentDlq();
    if (!q.contains("messages")) return false;
    for (const auto& m : q.at("messages"))
      if (m.at("messageId") == messageId) return true;
    return false;
  }

  /// A new order, its events published; the payment consumer connected.
  static std::string publishedOrder() {
    EXPECT_TRUE(waitFor(
        [] {
          const auto r = http().get("/admin/api/consumers", ops());
          if (r.status != 200) return false;
          const json c = json::parse(r.body).at("consumers").at(0);
          return c.at("state") == "connected" && c.at("queueState").value("consumers", 0) == 1;
        },
        30s));
    const auto created = http().post("/v1/orders", testing::kBrokerSuiteOrder, ops());
    EXPECT_EQ(created.status, 201) << created.body;
    const std::string orderId = json::parse(created.body).at("orderId");
    EXPECT_TRUE(waitFor(
        [&] {
          const auto r = http().get("/admin/api/orders/" + orderId + "/events", ops());
          if (r.status != 200) return false;
          const json history = json::parse(r.body);
          for (const auto& e : history.at("events"))
            if (e.at("status") != "published") return false;
          return true;
        },
        20s));
    return orderId;
  }

  static std::string poison(const std::string& orderId) {
    RandomIdGenerator ids;
    const std::string messageId = "msg-" + ids.uuid();
    auto client = AmqpClient::connect(RabbitMqServer::shared().amqpUrl()).value();
    EXPECT_TRUE(client->publish(paymentCompleted(orderId, messageId)).ok());
    EXPECT_TRUE(waitFor([&] { return inDlq(messageId); }, 20s)) << paymentDlq().dump();
    return messageId;
  }

  static TempDir* dir_;
  static SigningKey* key_;
  static ServiceProcess* service_;
};
TempDir* AdminPageTest::dir_ = nullptr;
SigningKey* AdminPageTest::key_ = nullptr;
ServiceProcess* AdminPageTest::service_ = nullptr;

TEST_F(AdminPageTest, ADeadLetteredPaymentIsReplayedFromThePageInABrowserAndApplied) {
  const std::string orderId = publishedOrder();
  // The order waits for nothing yet: a payment for it cannot be applied, it is dead-lettered.
  const std::string messageId = poison(orderId);

  // The API: the message in its failure group, inspectable, not discarded without confirmation.
  const json dlq = paymentDlq();
  json group;
  for (const auto& g : dlq.at("groups")) {
    for (const auto& id : g.at("messageIds"))
      if (id == messageId) group = g;
  }
  ASSERT_TRUE(group.is_object()) << dlq.dump();
  EXPECT_EQ(group.at("messageType"), "PaymentCompletedEvent");
  EXPECT_EQ(group.at("failureKind"), "permanent-failure") << group.dump();
  const std::string reason = group.at("exampleReason");
  ASSERT_FALSE(reason.empty());
  const auto inspected = http().get(kDeadLetters + ".dlq/messages/" + messageId, ops());
  ASSERT_EQ(inspected.status, 200) << inspected.body;
  EXPECT_EQ(json::parse(inspected.body).at("body").at("payload").at("orderId"), orderId);
  EXPECT_EQ(json::parse(inspected.body).at("originalQueue"), kPaymentQueue);
  const auto unconfirmed = http().post(
      kDeadLetters + "/discard", json{{"messageIds", json::array({messageId})}}.dump(), ops());
  EXPECT_EQ(unconfirmed.status, 400) << unconfirmed.body;
  EXPECT_TRUE(inDlq(messageId)) << "a refused discard touched the DLQ";

  // Now the order awaits its payment: the replayed message will apply.
  ASSERT_EQ(http().post("/v1/orders/" + orderId + "/payment", "", ops()).status, 200);

  const char* screenshots = std::getenv("ORDER_SERVICE_SCREENSHOTS");
  const std::string command = std::string(NODE_BINARY) + " " + ADMIN_PAGE_SCRIPT +
                              " --url http://127.0.0.1:" + std::to_string(service_->port()) +
                              " --token " + operatorToken() + " --order-id " + orderId +
                              " --message-id " + messageId + " --reason " + shellQuoted(reason) +
                              " --expect-event OrderPaymentCompletedEvent" + " --screenshots " +
                              shellQuoted(screenshots != nullptr ? screenshots : SCREENSHOT_DIR);
  const auto [status, output] = run(command);
  EXPECT_EQ(status, 0) << output;

  // Applied: gone from the DLQ, the order paid, and the replay in the log with who and what.
  EXPECT_FALSE(inDlq(messageId));
  const auto order = http().get("/v1/orders/" + orderId, ops());
  EXPECT_EQ(json::parse(order.body).at("status"), "AWAITING_FULFILLMENT") << order.body;
  EXPECT_NE(service_->output().find("audit: operator:ops-alice replayed dead-lettered message " +
                                    messageId),
            std::string::npos)
      << service_->output();
}

TEST_F(AdminPageTest, AConfirmedDiscardDeletesOnlyTheSelectedMessagesAndIsLogged) {
  const std::string orderId = publishedOrder();
  const std::string discarded = poison(orderId);
  const std::string kept = poison(orderId);
  const auto response = http().post(
      kDeadLetters + "/discard",
      json{{"messageIds", json::array({discarded, "msg-not-there"})}, {"confirm", "discard"}}
          .dump(),
      ops());
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = json::parse(response.body);
  EXPECT_EQ(body.at("discarded"), json::array({discarded}));
  EXPECT_EQ(body.at("notFound"), json::array({"msg-not-there"}));
  EXPECT_EQ(body.at("by"), "operator:ops-alice");
  EXPECT_FALSE(inDlq(discarded));
  EXPECT_TRUE(inDlq(kept));
  EXPECT_NE(service_->output().find("audit: operator:ops-alice discarded dead-lettered message " +
                                    discarded),
            std::string::npos);

  // A group replay takes the group as it is now; the order still cannot take a payment, so the
  // message fails again and is back in the DLQ: never lost.
  json group;
  const json listing = paymentDlq();
  for (const auto& g : listing.at("groups"))
    for (const auto& id : g.at("messageIds"))
      if (id == kept) group = g;
  ASSERT_TRUE(group.is_object());
  const auto replayed =
      http().post(kDeadLetters + "/replay", json{{"groupId", group.at("groupId")}}.dump(), ops());
  ASSERT_EQ(replayed.status, 200) << replayed.body;
  EXPECT_NE(json::parse(replayed.body).at("replayed").dump().find(kept), std::string::npos);
  EXPECT_TRUE(waitFor([&] { return inDlq(kept); }, 20s)) << "the replayed message was lost";
  const auto cleanup =
      http().post(kDeadLetters + "/discard",
                  json{{"messageIds", json::array({kept})}, {"confirm", "discard"}}.dump(), ops());
  EXPECT_EQ(cleanup.status, 200);
}

}  // namespace
}  // namespace orders
