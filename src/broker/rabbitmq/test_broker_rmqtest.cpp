// The test broker launcher itself (tests/support/rabbitmq_server): boots, restarts on the same
// port with its data, survives kill -9, and cleans up after itself.

#include <gtest/gtest.h>

#include <filesystem>

#include "support/rabbitmq_server.hpp"

namespace orders::testing {
namespace {

TEST(TestBroker, StartsRestartsAndCleansUp) {
  std::string dir;
  {
    auto broker = RabbitMqServer::start();
    dir = broker->directory();
    EXPECT_TRUE(broker->running());
    EXPECT_GT(broker->port(), 0);
    std::printf("broker %s booted in %lld ms on port %d\n", broker->nodeName().c_str(),
                static_cast<long long>(broker->bootTime().count()), broker->port());

    std::string out;
    ASSERT_EQ(broker->rabbitmqctl({"add_vhost", "survivor"}, &out), 0) << out;

    const int port = broker->port();
    broker->restart();
    EXPECT_EQ(broker->port(), port);
    std::printf("restart boot: %lld ms\n", static_cast<long long>(broker->bootTime().count()));
    ASSERT_EQ(broker->rabbitmqctl({"list_vhosts"}, &out), 0) << out;
    EXPECT_NE(out.find("survivor"), std::string::npos) << out;

    broker->kill();
    EXPECT_FALSE(broker->running());
    broker->startAgain();
    EXPECT_TRUE(broker->running());
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace orders::testing
