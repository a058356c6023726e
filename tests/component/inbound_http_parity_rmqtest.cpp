// The Order Service composed as src/main composes it: the same use case reached through the HTTP
// API (OrderApi) and through a message on the broker (InboundEvents) must produce exactly the same
// transitions and outgoing events. A composition-level test: it links the HTTP adapter and the
// inbound consumers together, which no library in src/ may do.

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <regex>

#include "http/api_security.hpp"
#include "http/order_api.hpp"
#include "inbound/testing/inbound_rmq_test_support.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::waitFor;

/// The payment service as the API knows it once its token is verified.
struct PaymentServiceCaller final : http::Authenticator {
  Result<http::Principal> authenticate(const http::Request&) override {
    return http::Principal{"payments", {std::string(http::kRolePaymentService)}};
  }
};

class InboundHttpParityRmqTest : public testing::InboundEventsRmqTest {
 protected:
  /// The POST endpoint's answer, waited for.
  http::Response post(const std::string& path, const json& body, const std::string& correlationId) {
    PaymentServiceCaller caller;
    http::RoleAuthorizer roles;
    http::ApiHooks hooks;
    hooks.authenticator = &caller;
    hooks.authorizer = &roles;
    http::OrderApi api(
        service_, env_.ids, [] { return http::Readiness{}; }, env_.clock, std::move(hooks));
    http::Request request;
    request.method = "POST";
    request.target = path;
    http::parseTarget(request);
    request.headers = {{"content-type", "application/json"}, {"x-correlation-id", correlationId}};
    request.body = body.dump();
    std::promise<http::Response> answered;
    auto future = answered.get_future();
    api.handle(request, [&answered](http::Response r) { answered.set_value(std::move(r)); });
    return future.get();
  }
};

/// The envelope and payload of an outbox row with what must differ between two orders masked:
/// their ids, the event's own messageId, timestamps, and who acted (initiatedBy: the token's
/// principal over HTTP, the consuming service's name for a message; checked apart).
json comparable(const OutboxMessage& row, const OrderId& id) {
  static const std::regex timestamp(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");
  std::function<json(const json&)> mask = [&](const json& v) -> json {
    if (v.is_object()) {
      json out = json::object();
      for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = mask(it.value());
      return out;
    }
    if (v.is_array()) {
      json out = json::array();
      for (const auto& e : v) out.push_back(mask(e));
      return out;
    }
    if (v.is_string()) {
      const auto s = v.get<std::string>();
      if (s == id.str()) return "<orderId>";
      if (std::regex_match(s, timestamp)) return "<timestamp>";
    }
    return v;
  };
  json envelope = json::parse(row.body);
  envelope.erase("messageId");
  if (envelope.contains("payload")) envelope["payload"].erase("initiatedBy");
  return mask(envelope);
}

TEST_F(InboundHttpParityRmqTest, APaymentResultByMessageProducesExactlyTheEventsOfTheHttpEndpoint) {
  startInbound();
  const OrderId byHttp = createOrder();
  const OrderId byMessage = createOrder();
  const OrderId failedByHttp = createOrder();
  const OrderId failedByMessage = createOrder();
  const auto before = outbox(byMessage).size();

  auto response =
      post("/v1/orders/" + byHttp.str() + "/payment/result",
           {{"outcome", "COMPLETED"}, {"paymentTransactionId", "pay-tx-1"}}, "corr-payment-1");
  ASSERT_EQ(response.status, 200) << response.body;
  paymentCompleted(byMessage, "corr-payment-1");

  response = post("/v1/orders/" + failedByHttp.str() + "/payment/result",
                  {{"outcome", "FAILED"},
                   {"paymentTransactionId", "pay-tx-2"},
                   {"failureCode", "card_declined"},
                   {"message", "Insufficient funds"}},
                  "corr-payment-2");
  ASSERT_EQ(response.status, 200) << response.body;
  publish(options_.paymentExchange, "PaymentFailedEvent",
          {{"orderId", failedByMessage.str()},
           {"paymentTransactionId", "pay-tx-2"},
           {"failureCode", "card_declined"},
           {"message", "Insufficient funds"},
           {"failedAt", "2024-05-01T10:00:00.000Z"}},
          failedByMessage.str(), "corr-payment-2");

  ASSERT_TRUE(waitFor([&] { return inbound_->status().payments.applied == 2; }));
  EXPECT_EQ(order(byMessage).status, OrderStatus::kAwaitingFulfillment);
  EXPECT_EQ(order(failedByMessage).status, OrderStatus::kPaymentFailed);
  EXPECT_EQ(order(byMessage).payment.paidAmount, order(byHttp).payment.paidAmount);

  for (const auto& [http, message] :
       {std::pair{byHttp, byMessage}, std::pair{failedByHttp, failedByMessage}}) {
    auto expected = outbox(http);
    auto actual = outbox(message);
    ASSERT_EQ(expected.size(), actual.size());
    std::vector<std::string> types;
    for (std::size_t i = before; i < actual.size(); ++i) {
      EXPECT_EQ(actual[i].messageType, expected[i].messageType);
      EXPECT_EQ(actual[i].sequence, expected[i].sequence);
      EXPECT_EQ(actual[i].correlationId, expected[i].correlationId);
      EXPECT_EQ(comparable(actual[i], message), comparable(expected[i], http))
          << actual[i].body << "\n"
          << expected[i].body;
      types.push_back(actual[i].messageType);
    }
    if (http == byHttp) {
      EXPECT_EQ(types, (std::vector<std::string>{"OrderStatusChangedEvent",
                                                 "OrderPaymentCompletedEvent"}));
      EXPECT_EQ(json::parse(actual.back().body)["payload"]["initiatedBy"], "PaymentService");
      EXPECT_EQ(json::parse(expected.back().body)["payload"]["initiatedBy"],
                "payment-service:payments");
    } else {
      EXPECT_EQ(types,
                (std::vector<std::string>{"OrderStatusChangedEvent", "OrderPaymentFailedEvent"}));
    }
  }
}

}  // namespace
}  // namespace orders
