// Issue 13's integration test: three order-service processes on one PostgreSQL database (the
// `postgres` fixture) and the 3-node RabbitMQ cluster (the `rabbitmq_cluster` fixture), with load
// spread over the instances, and mid-load:
//   1. the relay leader's process killed (SIGKILL),
//   2. the next leader hung (SIGSTOP; continued later, when it must find itself fenced),
//   3. the broker node the leader publishes to killed.
// Afterwards every event committed to the outbox is in a quorum queue bound to every type at
// least once, exactly once after messageId dedup, and each order's events arrive in sequence;
// every acknowledged order and payment is committed, and an order whose create was retried on
// another instance with the same Idempotency-Key exists once. The failover times are printed as
// "[ figures ]" lines and recorded as test properties.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "broker/rabbitmq/amqp/amqp_url.hpp"
#include "broker/rabbitmq/amqp_client.hpp"
#include "order_request.hpp"
#include "publishing/event_factory.hpp"
#include "support/http_client.hpp"
#include "support/postgres_server.hpp"
#include "support/rabbitmq_cluster.hpp"
#include "support/service_process.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::HttpClient;
using testing::HttpTimeout;
using testing::PostgresServer;
using testing::RabbitMqCluster;
using testing::ServiceProcess;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kDatabase = "scale_out_failover";
constexpr const char* kQueue = "scaleout.all-events";
constexpr std::size_t kInstances = 3;
constexpr int kLoadThreads = 4;
// A hung instance costs a client this long per request before it tries the next instance.
constexpr auto kRequestTimeout = 1500ms;

double secondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

/// The broker suites' order body with a userId (a UUID) unique to `n`: the test counts orders per
/// user.
std::string orderBody(std::uint64_t n) {
  char userId[40];
  std::snprintf(userId, sizeof userId, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  json body = json::parse(testing::kBrokerSuiteOrder);
  body["userId"] = userId;
  return body.dump();
}

/// "exited", "stopped" (SIGSTOP) or "running, state S" (from /proc/<pid>/stat).
std::string processState(const ServiceProcess& process) {
  if (!process.running()) return "exited";
  std::ifstream stat("/proc/" + std::to_string(process.pid()) + "/stat");
  std::string pid, name, state;
  stat >> pid >> name >> state;  // the name is "(order-service)": no spaces in it
  return state == "T" ? "stopped" : state.empty() ? "gone" : "running, state " + state;
}

/// The three instances and what the test did to each: the load skips an instance that is dead
/// or hung, as a load balancer's health check would.
class Instances {
 public:
  Instances(const std::string& databaseUrl, const std::vector<std::string>& brokerUrls) {
    for (std::size_t i = 0; i < kInstances; ++i) {
      // Each instance lists the nodes from a different one: their connections spread.
      std::string urls;
      for (std::size_t k = 0; k < brokerUrls.size(); ++k) {
        urls += (k ? "," : "") + brokerUrls[(i + k) % brokerUrls.size()];
      }
      processes_.push_back(std::make_unique<ServiceProcess>(
          ORDER_SERVICE_BINARY,
          std::vector<std::string>{"--database", databaseUrl, "--amqp-url", urls, "--log-level",
                                   "warn", "--rate-limit", "0"}));
      usable_[i] = true;
    }
  }

  ServiceProcess& process(std::size_t i) { return *processes_.at(i); }
  int port(std::size_t i) const { return processes_.at(i)->port(); }
  bool usable(std::size_t i) const { return usable_[i].load(); }
  void setUsable(std::size_t i, bool usable) { usable_[i] = usable; }

  /// /readyz of instance i, or nullopt when it does not answer within 500 ms (hung or dead).
  std::optional<json> readiness(std::size_t i) const {
    try {
      HttpClient http("127.0.0.1", port(i), 500ms);
      return json::parse(http.get("/readyz").body);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  /// The instance whose relay leads and is connected, among those not in `excluded`.
  std::optional<std::size_t> connectedLeader(const std::set<std::size_t>& excluded = {}) const {
    for (std::size_t i = 0; i < kInstances; ++i) {
      if (excluded.count(i) || !processes_[i]->running()) continue;
      const auto ready = readiness(i);
      if (!ready) continue;
      const auto& relay = ready->at("relay");
      if (relay.value("role", "") == "leader" && relay.value("state", "") == "connected") return i;
    }
    return std::nullopt;
  }

  /// Waits until an instance not in `excluded` leads with a connected relay; returns it and the
  /// seconds since `since`. On a timeout the failure names `phase` and shows every instance.
  std::optional<std::pair<std::size_t, double>> awaitLeader(const std::set<std::size_t>& excluded,
                                                            SteadyClock::time_point since,
                                                            const char* phase) const {
    std::optional<std::size_t> leader;
    if (!testing::waitFor([&] { return (leader = connectedLeader(excluded)).has_value(); }, 60s)) {
      ADD_FAILURE() << phase
                    << ": no connected relay leader among the other instances within 60 s\n"
                    << describe();
      return std::nullopt;
    }
    return std::pair{*leader, secondsSince(since)};
  }

  /// For a failure message: each instance's process state, the relay and store parts of its
  /// /readyz, and the end of its log (it runs at --log-level warn, so that is what went wrong).
  std::string describe() const {
    std::string text;
    for (std::size_t i = 0; i < kInstances; ++i) {
      const ServiceProcess& process = *processes_[i];
      text += "instance " + std::to_string(i) + " (pid " + std::to_string(process.pid()) + ", " +
              processState(process) + "): ";
      if (const auto ready = readiness(i)) {
        text += "relay " + ready->value("relay", json::object()).dump() + ", store " +
                ready->value("store", json::object()).dump();
      } else {
        text += "/readyz did not answer within 500 ms";
      }
      const std::string log = process.output();
      const std::size_t tailStart = log.size() > 2000 ? log.size() - 2000 : 0;
      text += "\n  log tail:\n" + log.substr(tailStart) + "\n";
    }
    return text;
  }

  /// The AMQP port of the node instance i's relay publishes to, 0 when it has none.
  int relayBrokerPort(std::size_t i) const {
    const auto ready = readiness(i);
    if (!ready || !ready->at("relay").contains("broker")) return 0;
    const auto url = AmqpUrl::parse(ready->at("relay").at("broker").get<std::string>());
    return url ? url->port : 0;
  }

 private:
  std::vector<std::unique_ptr<ServiceProcess>> processes_;
  std::atomic<bool> usable_[kInstances];
};

/// What the load's clients were told.
struct Acknowledged {
  std::mutex mutex;
  std::set<std::string> orders;            // 201 to a create
  std::set<std::string> paidOrders;        // 200 to a payment
  std::set<std::uint64_t> retriedCreates;  // creates whose first try had no answer
  std::uint64_t unanswered = 0;            // requests that failed or timed out
};

/// Creates orders and pays them, round-robin over the usable instances (the payment on another
/// instance than the create). A create without an answer is sent again, with the same
/// Idempotency-Key, to the next instance, until one answers.
void runLoad(Instances& instances, int thread, const std::atomic<bool>& stop, Acknowledged& acked) {
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (std::size_t i = 0; i < kInstances; ++i) {
    clients.push_back(
        std::make_unique<HttpClient>("127.0.0.1", instances.port(i), kRequestTimeout));
  }
  std::size_t next = static_cast<std::size_t>(thread);
  auto nextUsable = [&] {
    for (std::size_t tries = 0; tries < kInstances; ++tries) {
      const std::size_t i = next++ % kInstances;
      if (instances.usable(i)) return i;
    }
    return next++ % kInstances;
  };
  for (std::uint64_t n = 0; !stop.load(); ++n) {
    const std::uint64_t userNumber = (static_cast<std::uint64_t>(thread) << 32) | n;
    const std::string key = "scale-out-" + std::to_string(userNumber);
    std::string location;
    for (int attempt = 0; location.empty() && attempt < 10; ++attempt) {
      if (attempt > 0) {
        std::lock_guard lock(acked.mutex);
        acked.retriedCreates.insert(userNumber);
      }
      try {
        const auto created = clients[nextUsable()]->post("/v1/orders", orderBody(userNumber),
                                                         {{"Idempotency-Key", key}});
        if (created.status == 201) location = created.header("location");
      } catch (const std::exception&) {
        std::lock_guard lock(acked.mutex);
        ++acked.unanswered;
      }
    }
    if (location.empty()) continue;
    const std::string orderId = location.substr(location.rfind('/') + 1);
    {
      std::lock_guard lock(acked.mutex);
      acked.orders.insert(orderId);
    }
    try {
      if (clients[nextUsable()]->post(location + "/payment", "").status == 200) {
        std::lock_guard lock(acked.mutex);
        acked.paidOrders.insert(orderId);
      }
    } catch (const std::exception&) {
      std::lock_guard lock(acked.mutex);
      ++acked.unanswered;
    }
  }
}

struct OutboxRow {
  std::string messageId;
  std::string messageType;
  std::string orderId;
  std::int64_t sequence = 0;
};

std::vector<OutboxRow> committedEvents(PostgresServer& pg) {
  std::vector<OutboxRow> rows;
  for (const auto& line : pg.adminQuery(
           kDatabase,
           "SELECT message_id || ' ' || message_type || ' ' || partition_key || ' ' || sequence "
           "FROM outbox ORDER BY id")) {
    OutboxRow row;
    char id[64], type[96], order[96];
    long long sequence = 0;
    if (std::sscanf(line.c_str(), "%63s %95s %95s %lld", id, type, order, &sequence) != 4) {
      throw std::runtime_error("unexpected outbox row: " + line);
    }
    rows.push_back({id, type, order, sequence});
  }
  return rows;
}

TEST(ScaleOut, ThreeInstancesLoseNothingWhenTheLeaderDiesOrHangsAndABrokerNodeDies) {
  auto& pg = PostgresServer::shared();
  pg.createDatabase(kDatabase);
  RabbitMqCluster& cluster = RabbitMqCluster::shared();
  cluster.restoreAll();

  Instances instances(pg.appUrlWithPassword(kDatabase), cluster.amqpUrls());
  const auto started = SteadyClock::now();
  const auto elected = instances.awaitLeader({}, started, "start");
  ASSERT_TRUE(elected.has_value());
  const auto [firstLeader, electedAfter] = *elected;

  // A quorum queue on all three nodes, bound to every type, declared once the exchange exists.
  auto admin = AmqpClient::connect(cluster.amqpUrls()[0]).value();
  ASSERT_TRUE(admin->declareQueue(kQueue, QueueType::kQuorum).ok());
  ASSERT_TRUE(admin->purge(kQueue).ok());
  for (auto type : kPublishedMessageTypes) {
    ASSERT_TRUE(admin->bind(kQueue, "order.events", std::string(type)).ok());
  }
  admin.reset();

  std::atomic<bool> stop{false};
  Acknowledged acked;
  std::vector<std::thread> load;
  // Joined on every way out of the test, an ASSERT's early return included: a joinable thread
  // destroyed would abort the binary before it reports what failed.
  auto stopLoad = [&] {
    stop = true;
    for (auto& t : load) {
      if (t.joinable()) t.join();
    }
  };
  struct JoinOnExit {
    std::function<void()> join;
    ~JoinOnExit() { join(); }
  } joinLoadOnExit{stopLoad};
  for (int t = 0; t < kLoadThreads; ++t) {
    load.emplace_back([&, t] { runLoad(instances, t, stop, acked); });
  }
  auto ordersSoFar = [&] {
    std::lock_guard lock(acked.mutex);
    return acked.orders.size();
  };
  auto loadFor = [&](std::size_t moreOrders) {
    const std::size_t target = ordersSoFar() + moreOrders;
    EXPECT_TRUE(testing::waitFor([&] { return ordersSoFar() >= target; }, 60s))
        << "the load stalled at " << ordersSoFar() << " orders\n"
        << instances.describe();
  };

  // 1. The leader's process dies.
  loadFor(60);
  const std::size_t killed = firstLeader;
  instances.setUsable(killed, false);
  const auto killedAt = SteadyClock::now();
  instances.process(killed).kill();
  const auto afterLeaderKill =
      instances.awaitLeader({killed}, killedAt, "after SIGKILL to the leader");
  ASSERT_TRUE(afterLeaderKill.has_value());
  const auto [secondLeader, afterKill] = *afterLeaderKill;

  // 2. The next leader hangs; once a third leads, it continues (and must not publish).
  loadFor(60);
  // The load keeps sending to it until a create has timed out there and been sent again, with
  // its key, to another instance: the hung one holds that request and acts on it when continued.
  const std::size_t hung = secondLeader;
  const auto stoppedAt = SteadyClock::now();
  ASSERT_EQ(::kill(instances.process(hung).pid(), SIGSTOP), 0);
  EXPECT_TRUE(testing::waitFor(
      [&] {
        std::lock_guard lock(acked.mutex);
        return !acked.retriedCreates.empty();
      },
      30s));
  instances.setUsable(hung, false);
  const auto afterLeaderStop =
      instances.awaitLeader({killed, hung}, stoppedAt, "after SIGSTOP to the leader");
  ASSERT_TRUE(afterLeaderStop.has_value());
  const auto [thirdLeader, afterStop] = *afterLeaderStop;
  loadFor(30);
  ASSERT_EQ(::kill(instances.process(hung).pid(), SIGCONT), 0);
  instances.setUsable(hung, true);

  // 3. The node the leader publishes to dies.
  loadFor(60);
  const int brokerPort = instances.relayBrokerPort(thirdLeader);
  ASSERT_NE(brokerPort, 0);
  auto& deadNode = cluster.nodeWithPort(brokerPort);
  const auto nodeKilledAt = SteadyClock::now();
  deadNode.kill();
  double afterNodeKill = 0;
  EXPECT_TRUE(testing::waitFor(
      [&] {
        const int port = instances.relayBrokerPort(thirdLeader);
        const auto leader = instances.connectedLeader({killed});
        if (!leader || port == 0 || port == brokerPort) return false;
        afterNodeKill = secondsSince(nodeKilledAt);
        return true;
      },
      60s))
      << "the relay did not publish to another node\n"
      << instances.describe();
  loadFor(60);
  stopLoad();
  const auto loadStoppedAt = SteadyClock::now();

  // Everything committed gets published: the backlog (shared by the instances) drains.
  std::optional<json> ready;
  EXPECT_TRUE(testing::waitFor(
      [&] {
        ready = instances.readiness(thirdLeader);
        return ready && ready->at("outbox").at("pending") == 0;
      },
      60s))
      << (ready ? ready->dump() : "no answer");
  const double drainedAfter = secondsSince(loadStoppedAt);

  // The continued instance follows: it found its lease taken and did not take it back.
  const auto hungReady = instances.readiness(hung);
  ASSERT_TRUE(hungReady.has_value()) << "the continued instance does not answer";
  EXPECT_EQ(hungReady->at("relay").value("role", ""), "follower") << hungReady->dump();

  const std::vector<OutboxRow> committed = committedEvents(pg);
  std::set<std::string> committedOrders;
  std::map<std::string, std::set<std::string>> typesByOrder;
  for (const auto& row : committed) {
    committedOrders.insert(row.orderId);
    typesByOrder[row.orderId].insert(row.messageType);
  }
  for (const auto& order : acked.orders) {
    EXPECT_EQ(committedOrders.count(order), 1u) << "acknowledged order " << order << " is lost";
  }
  for (const auto& order : acked.paidOrders) {
    EXPECT_EQ(typesByOrder[order].count("OrderPaymentProcessingInitiatedEvent"), 1u)
        << "acknowledged payment of " << order << " has no event";
  }
  // A create retried with its key on another instance made one order, not two.
  const auto usersWithTwoOrders =
      pg.adminQuery(kDatabase, "SELECT user_id FROM orders GROUP BY user_id HAVING count(*) > 1");
  EXPECT_TRUE(usersWithTwoOrders.empty())
      << usersWithTwoOrders.size() << " users have two orders, e.g. " << usersWithTwoOrders[0];

  // The queue, read from a node that runs: every committed event, in each order's sequence.
  std::map<std::string, const OutboxRow*> byMessageId;
  for (const auto& row : committed) byMessageId[row.messageId] = &row;
  std::string liveNode;
  for (const auto& url : cluster.amqpUrls()) {
    if (AmqpUrl::parse(url)->port != brokerPort) liveNode = url;
  }
  auto reader = AmqpClient::connect(liveNode).value();
  ASSERT_TRUE(reader->consume(kQueue, /*autoAck=*/true).ok());
  std::set<std::string> seen;
  std::map<std::string, std::int64_t> lastSequence;
  std::size_t deliveries = 0, outOfSequence = 0, unknown = 0;
  while (true) {
    auto delivery = reader->next(seen.size() < byMessageId.size() ? 20s : 1s);
    ASSERT_TRUE(delivery.ok()) << delivery.error().message;
    if (!delivery->has_value()) break;
    ++deliveries;
    const auto& message = **delivery;
    const auto row = byMessageId.find(message.messageId);
    if (row == byMessageId.end()) {
      ++unknown;
      continue;
    }
    if (!seen.insert(message.messageId).second) continue;  // a redelivery: dedup drops it
    auto [last, first] = lastSequence.try_emplace(row->second->orderId, 0);
    if (row->second->sequence <= last->second) {
      ++outOfSequence;
      ADD_FAILURE() << "order " << row->second->orderId << ": event " << row->second->sequence
                    << " after " << last->second;
    }
    last->second = row->second->sequence;
  }
  EXPECT_EQ(seen.size(), byMessageId.size()) << "committed events missing from the queue";
  EXPECT_EQ(unknown, 0u) << "events in the queue that were never committed";
  EXPECT_EQ(outOfSequence, 0u);

  std::printf(
      "[ figures ] %zu orders acknowledged (%zu paid, %zu creates retried with their key, %llu "
      "requests unanswered), %zu events committed, %zu deliveries (%zu duplicates)\n"
      "[ figures ] first leader after %.2f s; leader SIGKILL -> new leader connected after "
      "%.2f s; leader SIGSTOP -> new leader after %.2f s; broker node kill -> relay on another "
      "node after %.2f s; backlog drained %.2f s after the load stopped\n",
      acked.orders.size(), acked.paidOrders.size(), acked.retriedCreates.size(),
      static_cast<unsigned long long>(acked.unanswered), committed.size(), deliveries,
      deliveries - seen.size() - unknown, electedAfter, afterKill, afterStop, afterNodeKill,
      drainedAfter);
  RecordProperty("failover_after_sigkill_s", std::to_string(afterKill));
  RecordProperty("failover_after_sigstop_s", std::to_string(afterStop));
  RecordProperty("relay_on_other_node_after_s", std::to_string(afterNodeKill));

  ASSERT_TRUE(reader->deleteQueue(kQueue).ok());
  reader.reset();
  for (std::size_t i = 0; i < kInstances; ++i) {
    if (i != killed) {
      EXPECT_EQ(instances.process(i).terminate(), 0);
    }
  }
  cluster.restoreAll();
}

}  // namespace
}  // namespace orders
