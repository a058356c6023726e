// The real relay on the PostgreSQL store with a real broker: outbox ids come from a sequence and
// become visible in commit order, so a slow transaction holding a low id commits after the relay
// has published (and moved its cursor past) many higher ids. Its row must still be published:
// the relay's late-row sweep (OutboxStore::pendingIds) finds it.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/rabbit_publisher.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "outbox/relay.hpp"
#include "postgres/connection.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/testing/store_samples.hpp"
#include "support/postgres_server.hpp"
#include "support/rabbitmq_server.hpp"
#include "support/unique_names.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using testing::PostgresServer;
using testing::RabbitMqServer;

constexpr const char* kDatabase = "postgres_relay_pgtest";

std::string orderIdFor(int n) {
  char id[37];
  std::snprintf(id, sizeof id, "f47ac10b-58cc-4372-a567-%012d", n);
  return id;
}

WriteSet orderWithOneEvent(int n) {
  const std::string id = orderIdFor(n);
  return testing::newOrderWrite(
      testing::sampleOrder(id),
      {testing::sampleEvent(id, 1, "late-row-test-" + std::to_string(n))});
}

RabbitConnectionOptions connection() {
  RabbitConnectionOptions o;
  o.url = RabbitMqServer::shared().amqpUrl();
  o.connectTimeout = 2s;
  o.rpcTimeout = 2s;
  o.connectionName = "postgres_relay_pgtest";
  return o;
}

TEST(PostgresRelay, ARowCommittedLateBelowTheCursorIsPublished) {
  auto& pg = PostgresServer::shared();
  pg.createDatabase(kDatabase);
  auto settings = postgres::ConnectionSettings::fromUrl(pg.appUrlWithPassword(kDatabase)).value();
  auto store = PostgresStore::open(settings).value();

  const std::string prefix = testing::uniqueName("late");
  TopologyConfig topology;
  topology.exchange = prefix + ".events";
  topology.alternateExchange = prefix + ".unrouted";
  topology.unroutedQueue = prefix + ".unrouted";
  topology.deadLetterExchange = prefix + ".dlx";
  topology.deadLetterQueue = prefix + ".dlq";
  topology.queues.push_back(
      {prefix + ".consumer", QueueType::kQuorum, {"OrderCreatedEvent"}, std::nullopt});
  ASSERT_TRUE(declareTopology(connection(), topology).ok());

  SystemClock clock;
  RelayOptions options;
  options.exchange = topology.exchange;
  options.lateRowSweepInterval = 200ms;
  options.fallbackPollInterval = 500ms;
  auto factory = makeRabbitPublisherFactory(connection());
  ASSERT_TRUE(factory.ok()) << factory.error().message;
  Relay relay(*store, std::move(*factory), clock, options);
  relay.start();

  // The slow transaction takes the first id and keeps it uncommitted.
  postgres::Connection slow(settings);
  slow.execScript("BEGIN");
  const auto slowId =
      slow.exec(
              "INSERT INTO outbox (message_id, message_type, message_version, partition_key, "
              "sequence, source, occurred_at, body) VALUES ('late-row-test-slow', "
              "'OrderCreatedEvent', '1.0', $1, 1, 'OrderService', 1700000000000, "
              "'{\"messageId\":\"late-row-test-slow\"}') RETURNING id",
              postgres::Params().add(orderIdFor(100000)))
          .integer(0, 0);
  slow.exec("INSERT INTO outbox_publication (id) VALUES ($1)", postgres::Params().add(slowId));

  // Many concurrent writers commit higher ids meanwhile; the relay publishes them.
  constexpr int kWriters = 8;
  constexpr int kWritesEach = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  writers.reserve(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kWritesEach; ++i) {
        std::promise<Result<WriteOutcome>> done;
        store->write(orderWithOneEvent(w * kWritesEach + i + 1),
                     [&](Result<WriteOutcome> r) { done.set_value(std::move(r)); });
        auto outcome = done.get_future().get();
        if (!outcome.ok() || *outcome != WriteOutcome::kCommitted) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(testing::waitFor([&] { return store->outboxStats()->pending == 0; }, 30s))
      << "the committed rows were not published";
  // Concurrent batches on several writer connections commit out of id order too: the sweep may
  // have found some of their rows already.
  const auto lateBefore = relay.status().lateRowCount;

  slow.execScript("COMMIT");
  EXPECT_TRUE(testing::waitFor([&] { return store->outboxStats()->pending == 0; }, 30s))
      << "the late row below the relay's cursor was never published";
  EXPECT_GT(relay.status().lateRowCount, lateBefore) << "the sweep did not find it";
  relay.stop();

  // And the broker has every row, the late one included.
  auto client = AmqpClient::connect(connection()).value();
  ASSERT_TRUE(client->consume(topology.queues[0].name, true, 1000).ok());
  std::set<std::string> received;
  while (received.size() < kWriters * kWritesEach + 1) {
    auto delivery = client->next(10s);
    ASSERT_TRUE(delivery.ok()) << delivery.error().message;
    if (!delivery->has_value()) break;
    received.insert((*delivery)->messageId);
  }
  EXPECT_EQ(received.size(), static_cast<std::size_t>(kWriters * kWritesEach + 1));
  EXPECT_EQ(received.count("late-row-test-slow"), 1u);
  store->close();
}

}  // namespace
}  // namespace orders
