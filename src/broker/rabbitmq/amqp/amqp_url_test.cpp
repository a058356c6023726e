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

TEST(AmqpUrl, ErrorsNameTheBadPartAndHideThePassword) {
  struct Case {
    const char* url;
    const char* part;
  };
  for (const Case& c :
       {Case{"localhost:5672", "missing scheme"}, Case{"http://secret@localhost", "scheme 'http'"},
        Case{"amqps://localhost", "amqps"}, Case{"amqp://u:topsecret@:5672/", "missing host"},
        Case{"amqp://u:topsecret@host:99999/", "port '99999'"},
        Case{"amqp://u:topsecret@host:abc/", "port 'abc'"},
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
