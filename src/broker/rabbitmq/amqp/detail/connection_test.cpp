// The broker list of RabbitConnectionOptions without a broker: parsing names the bad entry, and
// a round over brokers that all refuse says what each one said. Failover between live nodes is
// tested against a real cluster (tests/component/broker_cluster_rmqtest.cpp).
#include "broker/rabbitmq/amqp/detail/connection.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace orders::rabbitmq {
namespace {

constexpr const char* kSecret = "pw-MARKER-91c2";

/// A loopback port nothing listens on (bound, then closed again).
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

std::string urlFor(int port) {
  return "amqp://svc:" + std::string(kSecret) + "@127.0.0.1:" + std::to_string(port) + "/%2F";
}

TEST(BrokerUrls, ABadFailoverUrlIsNamedByItsPosition) {
  RabbitConnectionOptions options;
  options.url = urlFor(5672);
  options.failoverUrls = {urlFor(5673), "amqp://svc:" + std::string(kSecret) + "@:5674/"};
  auto brokers = parseBrokerUrls(options);
  ASSERT_FALSE(brokers.ok());
  EXPECT_EQ(brokers.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(brokers.error().message.rfind("broker 3 of 3: ", 0), 0u) << brokers.error().message;
  EXPECT_EQ(brokers.error().message.find(kSecret), std::string::npos) << brokers.error().message;
}

TEST(BrokerRotation, WhenEveryBrokerRefusesTheErrorSaysWhatEachOneSaidAndIsRetryable) {
  RabbitConnectionOptions options;
  const int a = closedPort();
  const int b = closedPort();
  options.url = urlFor(a);
  options.failoverUrls = {urlFor(b)};
  options.connectTimeout = std::chrono::milliseconds(500);
  auto brokers = parseBrokerUrls(options);
  ASSERT_TRUE(brokers.ok()) << brokers.error().message;
  BrokerRotation rotation(std::move(brokers).value());
  auto connection = rotation.open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().code, ErrorCode::kUnavailable);
  const std::string& message = connection.error().message;
  EXPECT_EQ(message.rfind("no broker of 2 answered: ", 0), 0u) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(a)), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(b)), std::string::npos) << message;
  EXPECT_NE(message.find("Connection refused"), std::string::npos) << message;
  EXPECT_EQ(message.find(kSecret), std::string::npos) << message;
  // The next round starts with the other broker, so a hung first node is not always waited for.
  auto again = rotation.open(options);
  ASSERT_FALSE(again.ok());
  EXPECT_LT(again.error().message.find("127.0.0.1:" + std::to_string(b)),
            again.error().message.find("127.0.0.1:" + std::to_string(a)))
      << again.error().message;
}

TEST(BrokerRotation, OneBrokerKeepsItsOwnError) {
  RabbitConnectionOptions options;
  options.url = urlFor(closedPort());
  auto connection = openFirstBroker(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().message.rfind("cannot connect to amqp://svc:***@127.0.0.1:", 0), 0u)
      << connection.error().message;
}

}  // namespace
}  // namespace orders::rabbitmq
