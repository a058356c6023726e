#include "broker/rabbitmq/amqp/amqp_url.hpp"

#include <gtest/gtest.h>

namespace orders {
namespace {

TEST(AmqpUrl, ParsesEveryPart) {
  auto u = AmqpUrl::parse("amqp://orders:s%40cret@rabbit.internal:5673/shop%2Fprod");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->user, "orders");
  EXPECT_EQ(u->password, "s@cret");
  EXPECT_EQ(u->host, "rabbit.internal");
  EXPECT_EQ(u->port, 5673);
  EXPECT_EQ(u->vhost, "shop/prod");
  EXPECT_EQ(u->redacted(), "amqp://orders:***@rabbit.internal:5673/shop%2Fprod");
}

TEST(AmqpUrl, Defaults) {
  auto u = AmqpUrl::parse("amqp://localhost");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->user, "guest");
  EXPECT_EQ(u->password, "guest");
  EXPECT_EQ(u->port, 5672);
  EXPECT_EQ(u->vhost, "/");
  auto v = AmqpUrl::parse("amqp://guest:guest@127.0.0.1:5672/%2F");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->vhost, "/");
  auto w = AmqpUrl::parse("amqp://[::1]:5000/");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->host, "::1");
  EXPECT_EQ(w->port, 5000);
  EXPECT_EQ(w->vhost, "/");
}

TEST(AmqpUrl, AmqpsMeansTlsOnPort5671) {
  auto u = AmqpUrl::parse("amqps://svc:pw@b-1234.mq.eu-west-1.amazonaws.com/prod");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 5671);
  EXPECT_EQ(u->vhost, "prod");
  EXPECT_EQ(u->redacted(), "amqps://svc:***@b-1234.mq.eu-west-1.amazonaws.com:5671/prod");
  EXPECT_FALSE(u->loopback());
  auto explicitPort = AmqpUrl::parse("AMQPS://localhost:5999");
  ASSERT_TRUE(explicitPort.ok());
  EXPECT_TRUE(explicitPort->tls);
  EXPECT_EQ(explicitPort->port, 5999);
  EXPECT_TRUE(explicitPort->loopback());
  auto plain = AmqpUrl::parse("amqp://127.0.0.1");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->port, 5672);
  EXPECT_TRUE(plain->loopback());
  EXPECT_TRUE(AmqpUrl::parse("amqp://[::1]")->loopback());
  EXPECT_FALSE(AmqpUrl::parse("amqp://10.0.0.5")->loopback());
}

TEST(AmqpUrl, ErrorsNameTheBadPartAndHideThePassword) {
  struct Case {
    const char* url;
    const char* part;
  };
  for (const Case& c :
       {Case{"localhost:5672", "missing scheme"}, Case{"http://secret@localhost", "scheme 'http'"},
        Case{"amqpx://localhost", "not amqp or amqps"},
        Case{"amqp://u:topsecret@:5672/", "missing host"},
        Case{"amqp://u:topsecret@host:99999/", "port '99999'"},
        Case{"amqp://u:topsecret@host:abc/", "port 'abc' is not a number"},
        Case{"amqp://u:topsecret/vhost", "'@host' after it is missing"},
        Case{"amqp://u:999999/vhost", "'@host' after it is missing"},
        Case{"amqp://u:topsecret@host:/", "empty port"},
        Case{"amqp://u:topsecret@host/a/b", "encode it as %2F"},
        Case{"amqp://u:topsecret@host/%zz", "percent-encoding in the vhost"},
        Case{"amqp://u:top%4@host/", "percent-encoding in the password"},
        Case{"amqp://u:topsecret@host/?heartbeat=5", "query parameters"},
        Case{"amqp://u:topsecret@ho st/", "host"}}) {
    auto u = AmqpUrl::parse(c.url);
    ASSERT_FALSE(u.ok()) << c.url;
    EXPECT_EQ(u.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(u.error().field, "amqp-url");
    EXPECT_NE(u.error().message.find(c.part), std::string::npos) << u.error().message;
    EXPECT_EQ(u.error().message.find("topsecret"), std::string::npos) << u.error().message;
  }
}

}  // namespace
}  // namespace orders
