// The service's broker side against a 3-node RabbitMQ cluster (tests/support/rabbitmq_cluster.hpp,
// one per CTest run through the rabbitmq_cluster fixture): quorum queues with a member on every
// node, the relay failing over when the node it publishes to is killed, and the relay with 2 of 3
// nodes down (no quorum: publishes neither acked nor nacked) marking nothing published until a
// node returns. Each test uses its own exchange and queue names and leaves all nodes running.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "broker/rabbitmq/amqp/amqp_url.hpp"
#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/consumer/rabbit_consumer.hpp"
#include "broker/rabbitmq/rabbit_publisher.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "outbox/relay.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/testing/store_samples.hpp"
#include "support/rabbitmq_cluster.hpp"
#include "support/temp_dir.hpp"
#include "support/unique_names.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using testing::RabbitMqCluster;
using testing::TempDir;
using SteadyClock = std::chrono::steady_clock;

RabbitConnectionOptions clusterConnection(const std::string& name) {
  const auto urls = RabbitMqCluster::shared().amqpUrls();
  RabbitConnectionOptions o;
  o.url = urls.front();
  o.failoverUrls.assign(urls.begin() + 1, urls.end());
  o.heartbeat = 5s;
  o.connectTimeout = 1s;
  o.rpcTimeout = 5s;
  o.connectionName = name;
  return o;
}

TopologyConfig topologyFor(const std::string& prefix) {
  TopologyConfig t;
  t.exchange = prefix + ".events";
  t.alternateExchange = prefix + ".unrouted";
  t.unroutedQueue = prefix + ".unrouted";
  t.deadLetterExchange = prefix + ".dlx";
  t.deadLetterQueue = prefix + ".dlq";
  t.queues.push_back(
      {prefix + ".consumer", QueueType::kQuorum, {"OrderCreatedEvent"}, std::nullopt});
  return t;
}

std::string orderIdFor(int n) {
  char id[37];
  std::snprintf(id, sizeof id, "0c1b2a3d-58cc-4372-a567-%012d", n);
  return id;
}

/// Commits order changes through the real store, one event per change, with the per-order
/// sequence numbers the relay publishes as the `sequence` header.
class OutboxWriter {
 public:
  explicit OutboxWriter(SqliteStore& store) : store_(store) {}

  Status write(int n) {
    State& s = orders_[n];
    Order order = testing::sampleOrder(orderIdFor(n));
    order.version = s.version + 1;
    OrderWrite w{order, s.version, s.sequence + 1, {}};
    ++s.sequence;
    OutboxMessage m;
    static_cast<EncodedMessage&>(m) =
        testing::sampleEvent(order.id.str(), s.sequence,
                             "cluster-" + std::to_string(n) + "-" + std::to_string(s.sequence));
    written_.push_back(m.messageId);
    w.events.push_back(std::move(m));
    s.version = order.version;
    WriteSet writes;
    writes.order = std::move(w);
    std::promise<Result<WriteOutcome>> done;
    store_.write(std::move(writes), [&](Result<WriteOutcome> r) { done.set_value(std::move(r)); });
    auto outcome = done.get_future().get();
    if (!outcome) return outcome.error();
    if (*outcome != WriteOutcome::kCommitted) return Error{ErrorCode::kInternal, "not committed"};
    return okStatus();
  }

  const std::vector<std::string>& written() const { return written_; }

 private:
  struct State {
    std::int64_t version = 0;
    std::int64_t sequence = 0;
  };
  SqliteStore& store_;
  std::map<int, State> orders_;
  std::vector<std::string> written_;
};

/// Everything in `queue` (auto-ack) until `distinct` message ids arrived or nothing came for
/// `quiet`.
std::vector<Delivery> drain(const std::string& queue, std::size_t distinct,
                            std::chrono::milliseconds quiet = 10s) {
  std::vector<Delivery> out;
  auto client = AmqpClient::connect(clusterConnection("cluster test reader"));
  EXPECT_TRUE(client.ok()) << client.error().message;
  if (!client.ok()) return out;
  EXPECT_TRUE((*client)->consume(queue, true, 1000).ok());
  std::set<std::string> ids;
  while (ids.size() < distinct) {
    auto d = (*client)->next(quiet);
    EXPECT_TRUE(d.ok()) << d.error().message;
    if (!d.ok() || !d->has_value()) break;
    ids.insert((*d)->messageId);
    out.push_back(std::move(**d));
  }
  return out;
}

/// Every written event arrived at least once; after dropping repeated messageIds exactly once,
/// and each order's events in sequence. Returns how many deliveries were duplicates.
std::size_t expectEveryEventOnceInOrder(const std::vector<Delivery>& got,
                                        const std::vector<std::string>& written) {
  std::set<std::string> seen;
  std::map<std::string, std::int64_t> last;
  std::size_t duplicates = 0;
  for (const auto& d : got) {
    if (!seen.insert(d.messageId).second) {
      ++duplicates;
      continue;
    }
    const auto* partition = d.header("partitionKey");
    const auto* sequence = d.header("sequence");
    EXPECT_TRUE(partition != nullptr && sequence != nullptr) << d.messageId;
    if (partition == nullptr || sequence == nullptr) continue;
    const auto key = std::get<std::string>(partition->value);
    const auto seq = std::get<std::int64_t>(sequence->value);
    EXPECT_EQ(seq, last[key] + 1) << d.messageId << " of " << key << " out of order";
    last[key] = seq;
  }
  std::size_t missing = 0;
  for (const auto& id : written) missing += seen.count(id) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0u) << "of " << written.size() << " events";
  EXPECT_EQ(seen.size(), written.size()) << "events nobody wrote arrived";
  return duplicates;
}

int portOf(const std::string& redactedUrl) {
  auto url = AmqpUrl::parse(redactedUrl);
  return url ? url->port : -1;
}

double secondsSince(SteadyClock::time_point since) {
  return std::chrono::duration<double>(SteadyClock::now() - since).count();
}

struct BrokerClusterTest : ::testing::Test {
  TempDir dir;
  SystemClock clock;
  std::unique_ptr<SqliteStore> store;

  void SetUp() override {
    RabbitMqCluster::shared().restoreAll();  // a failed test before may have left one down
    auto opened = SqliteStore::open(dir.file("orders.db"));
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store = std::move(*opened);
  }
  void TearDown() override { RabbitMqCluster::shared().restoreAll(); }

  std::unique_ptr<Relay> relayFor(const TopologyConfig& t,
                                  std::chrono::milliseconds confirmTimeout) {
    auto factory = makeRabbitPublisherFactory(clusterConnection("cluster test relay"));
    EXPECT_TRUE(factory.ok());
    RelayOptions o;
    o.exchange = t.exchange;
    o.confirmTimeout = confirmTimeout;
    o.backoffInitial = 50ms;
    o.backoffMax = 1s;
    o.fallbackPollInterval = 200ms;
    o.statsInterval = 50ms;
    return std::make_unique<Relay>(*store, std::move(*factory), clock, o);
  }

  std::int64_t pending() {
    auto stats = store->outboxStats();
    EXPECT_TRUE(stats.ok());
    return stats.ok() ? stats->pending : -1;
  }
};

TEST_F(BrokerClusterTest, ConsumerQueuesAreQuorumQueuesWithAMemberOnEveryNode) {
  const std::string prefix = testing::uniqueName("cluster-quorum");
  const auto t = topologyFor(prefix);
  ASSERT_TRUE(declareTopology(clusterConnection("cluster test topology"), t).ok());
  // An inbound consumer's queues as the service declares them (inbound_events.cpp): work queue,
  // retry queues and DLQ, all from the consumer runtime's transport.
  ConsumerOptions inbound;
  inbound.subscription.queue = prefix + ".inbound";
  inbound.subscription.exchange = prefix + ".inbound-exchange";
  inbound.subscription.routingKeys = {"PaymentCompletedEvent"};
  inbound.subscription.exchangeDeclaration = ExchangeDeclaration::kDirect;
  inbound.subscription.queueType = QueueType::kQuorum;
  inbound.retry.delays = {1s, 5s};
  inbound.retry.maxRetries = 2;
  auto transport = makeRabbitConsumerTransport(clusterConnection("cluster test consumer"), inbound);
  std::atomic<bool> connected{false};
  ConsumerTransport::Callbacks callbacks;
  callbacks.onDelivery = [](TransportDelivery) {};
  callbacks.onConnectionLost = [](std::uint64_t) {};
  callbacks.onState = [&](TransportState state, const std::string&) {
    if (state == TransportState::kConnected) connected = true;
  };
  ASSERT_TRUE(transport->start(std::move(callbacks)).ok());
  ASSERT_TRUE(testing::waitFor([&] { return connected.load(); }, 30s));
  transport->close(2s);
  std::string out;
  ASSERT_EQ(RabbitMqCluster::shared().rabbitmqctl(
                {"list_queues", "--quiet", "--no-table-headers", "name", "type", "members"}, &out),
            0)
      << out;
  std::size_t checked = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const std::string name = line.substr(0, line.find('\t'));
    if (name == t.unroutedQueue)
      continue;  // the alternate exchange's queue: ours, not a consumer's
    EXPECT_NE(line.find("\tquorum\t"), std::string::npos) << line;
    for (std::size_t i = 0; i < RabbitMqCluster::shared().size(); ++i)
      EXPECT_NE(line.find(RabbitMqCluster::shared().node(i).nodeName()), std::string::npos)
          << name << " has no member on " << RabbitMqCluster::shared().node(i).nodeName() << ": "
          << line;
    ++checked;
  }
  // The relay's consumer queue and DLQ; the inbound work queue, its 2 retry queues and its DLQ.
  EXPECT_EQ(checked, 6u) << out;
}

TEST_F(BrokerClusterTest, RelayFailsOverWhenItsNodeIsKilledAndLosesNoEvent) {
  RabbitMqCluster& cluster = RabbitMqCluster::shared();
  const auto t = topologyFor(testing::uniqueName("cluster-failover"));
  ASSERT_TRUE(declareTopology(clusterConnection("cluster test topology"), t).ok());
  auto relay = relayFor(t, 3s);
  relay->start();
  ASSERT_TRUE(testing::waitFor([&] { return relay->status().ready(); }, 30s));

  // A steady stream of commits over 20 orders while the relay publishes them.
  OutboxWriter writer(*store);
  std::atomic<bool> writing{true};
  std::atomic<int> commits{0};
  std::thread producer([&] {
    for (int i = 0; writing.load(); ++i) {
      if (!writer.write(i % 20).ok()) return;
      commits.fetch_add(1);
      std::this_thread::sleep_for(2ms);  // paces the stream: ~400 events/s, not a benchmark
    }
  });
  ASSERT_TRUE(testing::waitFor([&] { return relay->status().publishedCount >= 200; }, 30s));

  const RelayStatus before = relay->status();
  const int port = portOf(before.broker);
  ASSERT_GT(port, 0) << "the relay says which node it publishes to: '" << before.broker << "'";
  testing::RabbitMqServer& victim = cluster.nodeWithPort(port);
  const auto killedAt = SteadyClock::now();
  victim.kill();
  // Failed over: connected again, to another node, and confirms flow again.
  double failover = 0;
  EXPECT_TRUE(testing::waitFor(
      [&] {
        const RelayStatus now = relay->status();
        if (now.connectCount <= before.connectCount || portOf(now.broker) == port ||
            now.publishedCount < before.publishedCount + 200)
          return false;
        failover = secondsSince(killedAt);
        return true;
      },
      60s));
  const RelayStatus after = relay->status();
  std::printf(
      "[ figures ] killed %s: publishing confirmed again on %s after %.2f s (%llu "
      "reconnects, %llu nacks, %llu confirm timeouts, %llu republished)\n",
      victim.nodeName().c_str(), after.broker.c_str(), failover,
      static_cast<unsigned long long>(after.connectCount - before.connectCount),
      static_cast<unsigned long long>(after.nackCount - before.nackCount),
      static_cast<unsigned long long>(after.timeoutCount - before.timeoutCount),
      static_cast<unsigned long long>(after.republishedCount - before.republishedCount));
  writing = false;
  producer.join();
  ASSERT_TRUE(testing::waitFor([&] { return pending() == 0; }, 60s)) << pending() << " pending";
  relay->stop();

  victim.launchInBackground();  // boots while we read: two nodes are a majority
  const auto got = drain(t.queues[0].name, writer.written().size());
  const std::size_t duplicates = expectEveryEventOnceInOrder(got, writer.written());
  victim.waitUntilStarted();
  cluster.waitForRunningNodes(cluster.size());
  std::printf("[ figures ] %zu events committed, %zu deliveries, %zu duplicates\n",
              writer.written().size(), got.size(), duplicates);
}

TEST_F(BrokerClusterTest, WithTwoOfThreeNodesDownNothingIsMarkedPublishedUntilOneReturns) {
  RabbitMqCluster& cluster = RabbitMqCluster::shared();
  const auto t = topologyFor(testing::uniqueName("cluster-minority"));
  ASSERT_TRUE(declareTopology(clusterConnection("cluster test topology"), t).ok());
  OutboxWriter writer(*store);
  // Nodes b and c down; a alone has no quorum, so the queue has no leader.
  cluster.node(1).kill();
  cluster.node(2).kill();
  constexpr int kEvents = 50;
  for (int i = 0; i < kEvents; ++i) ASSERT_TRUE(writer.write(i % 5).ok());
  auto relay = relayFor(t, 1500ms);
  relay->start();
  // Published but never confirmed: the confirm timeout fails the attempt, more than once.
  ASSERT_TRUE(testing::waitFor([&] { return relay->status().timeoutCount >= 2; }, 30s))
      << relay->status().lastError;
  RelayStatus stalled = relay->status();
  EXPECT_EQ(stalled.publishedCount, 0u);
  EXPECT_EQ(pending(), kEvents) << "rows marked published without a confirm";
  EXPECT_GT(stalled.sentCount, 0u) << "the relay did publish (to the minority node)";
  std::printf("[ figures ] 2 of 3 down: %llu sent, %llu confirm timeouts, %llu nacks, 0 marked\n",
              static_cast<unsigned long long>(stalled.sentCount),
              static_cast<unsigned long long>(stalled.timeoutCount),
              static_cast<unsigned long long>(stalled.nackCount));

  const auto returnedAt = SteadyClock::now();
  cluster.node(1).startAgain();
  ASSERT_TRUE(testing::waitFor([&] { return pending() == 0; }, 60s)) << pending() << " pending";
  std::printf("[ figures ] a node returned: all %d events confirmed %.2f s after it was started\n",
              kEvents, secondsSince(returnedAt));
  relay->stop();
  cluster.node(2).launchInBackground();
  const auto got = drain(t.queues[0].name, writer.written().size());
  expectEveryEventOnceInOrder(got, writer.written());
  cluster.node(2).waitUntilStarted();
  cluster.waitForRunningNodes(cluster.size());
}

}  // namespace
}  // namespace orders
