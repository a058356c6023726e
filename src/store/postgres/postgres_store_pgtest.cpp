// The PostgreSQL store against the tests' PostgreSQL server (one per ctest run): the store and
// inbox conformance suites unchanged, and what only PostgreSQL has: concurrent migrations,
// several store instances on one database (version checks, notifications), a connection killed
// during COMMIT, a database that goes away and comes back.
//
// Every store under test gets a schema of its own in this binary's database (search_path in the
// URL's options), so the cases are independent without a CREATE DATABASE each.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <thread>

#include "postgres/connection.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/testing/store_conformance.hpp"
#include "support/postgres_server.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;
using testing::InboxConformance;
using testing::newOrderWrite;
using testing::PostgresServer;
using testing::sampleEvent;
using testing::sampleOrder;
using testing::StoreConformance;
using testing::StoreFactory;
using testing::StoreUnderTest;
using testing::writeAndWait;

constexpr const char* kDatabase = "postgres_store_pgtest";
constexpr const char* kOrderA = "f47ac10b-58cc-4372-a567-0e02b2c3d479";

PostgresServer& server() {
  static PostgresServer& shared = []() -> PostgresServer& {
    PostgresServer::shared().createDatabase(kDatabase);
    return PostgresServer::shared();
  }();
  return shared;
}

struct Schema {
  std::string name;
  std::string url;  // with search_path set to it
};

/// A new empty schema owned by the application role (or `role`); the URL that works in it.
Schema freshSchema(const std::string& role = "", const std::string& password = "") {
  static std::atomic<int> counter{0};
  const std::string schema = "s" + std::to_string(++counter);
  auto& pg = server();
  const std::string owner = role.empty() ? pg.info().appUser : role;
  pg.adminQuery(kDatabase, "DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema +
                               " AUTHORIZATION " + owner);
  const std::string base = role.empty() ? pg.appUrlWithPassword(kDatabase)
                                        : "postgresql://" + role + ":" + password + "@/" +
                                              kDatabase + "?host=" + pg.info().socketDir +
                                              "&port=" + std::to_string(pg.info().port);
  return Schema{schema, base + "&options=-csearch_path%3D" + schema};
}

std::string freshSchemaUrl() {
  return freshSchema().url;
}

std::unique_ptr<PostgresStore> openStore(const std::string& url, const Clock* clock = nullptr,
                                         PostgresOptions options = {}) {
  auto store =
      PostgresStore::open(postgres::ConnectionSettings::fromUrl(url).value(), options, clock);
  if (!store) throw std::runtime_error(store.error().message);
  return std::move(store).value();
}

class PostgresStoreUnderTest final : public StoreUnderTest {
 public:
  PostgresStoreUnderTest(std::string url, const Clock& clock)
      : url_(std::move(url)), clock_(clock), store_(openStore(url_, &clock_)) {}
  OrderStore& orders() override { return *store_; }
  OutboxStore& outbox() override { return *store_; }
  RelayLease& lease() override { return *store_; }
  /// The store judges leases by the server's clock: wait until it has moved on by `elapsed`.
  void letLeaseTimePass(std::chrono::milliseconds elapsed) override {
    postgres::Connection db(postgres::ConnectionSettings::fromUrl(url_).value());
    const std::string query = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint";
    const std::int64_t start = db.exec(query).integer(0, 0);
    ASSERT_TRUE(testing::waitFor(
        [&] { return db.exec(query).integer(0, 0) >= start + elapsed.count(); }, elapsed + 10s));
  }
  void close() override { store_->close(); }
  std::unique_ptr<StoreUnderTest> reopen() override {
    store_->close();
    return std::make_unique<PostgresStoreUnderTest>(url_, clock_);
  }

 private:
  std::string url_;
  const Clock& clock_;
  std::unique_ptr<PostgresStore> store_;
};

StoreFactory postgresStores() {
  return StoreFactory{"Postgres", [](const Clock& clock) -> std::unique_ptr<StoreUnderTest> {
                        return std::make_unique<PostgresStoreUnderTest>(freshSchemaUrl(), clock);
                      }};
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformance, ::testing::Values(postgresStores()),
                         testing::storeFactoryName);
INSTANTIATE_TEST_SUITE_P(PostgresStore, InboxConformance,
                         ::testing::Values(testing::orderStoreInbox(postgresStores())),
                         testing::inboxFactoryName);

TEST(PostgresStore, MigratesOnceWhenSeveralInstancesOpenTogether) {
  const std::string url = freshSchemaUrl();
  std::vector<std::future<Result<std::unique_ptr<PostgresStore>>>> opening;
  opening.reserve(4);
  for (int i = 0; i < 4; ++i) {
    opening.push_back(std::async(std::launch::async, [&url] {
      return PostgresStore::open(postgres::ConnectionSettings::fromUrl(url).value());
    }));
  }
  for (auto& store : opening) {
    auto opened = store.get();
    ASSERT_TRUE(opened.ok()) << opened.error().message;
  }
  postgres::Connection db(postgres::ConnectionSettings::fromUrl(url).value());
  const auto rows = db.exec("SELECT version, count(*) FROM schema_migrations GROUP BY version");
  ASSERT_EQ(rows.size(), 2) << "two migrations";
  for (int i = 0; i < rows.size(); ++i)
    EXPECT_EQ(rows.integer(i, 1), 1) << "applied more than once";
  // The lock was transaction-scoped: nothing of it is left in any session of this database
  // (pg_locks is the whole server's: other test binaries migrate their databases meanwhile).
  EXPECT_EQ(server().adminQuery(kDatabase,
                                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                                "database = (SELECT oid FROM pg_database WHERE datname = '" +
                                    std::string(kDatabase) + "')"),
            std::vector<std::string>{"0"});
}

TEST(PostgresStore, TwoInstancesUpdatingOneOrderCommitOnceAndTheOtherConflicts) {
  const std::string url = freshSchemaUrl();
  auto first = openStore(url);
  auto second = openStore(url);
  Order order = sampleOrder(kOrderA);
  ASSERT_EQ(writeAndWait(*first, newOrderWrite(order, {})).value(), WriteOutcome::kCommitted);
  Order changed = order;
  changed.version = 2;
  changed.status = OrderStatus::kPaymentProcessing;
  auto update = [&](PostgresStore& store) {
    WriteSet writes;
    writes.order = OrderWrite{changed, 1, 1, {sampleEvent(kOrderA, 1, "m-update")}};
    return std::async(std::launch::async, [&store, writes] { return writeAndWait(store, writes); });
  };
  auto a = update(*first);
  auto b = update(*second);
  const auto outcomeA = a.get().value();
  const auto outcomeB = b.get().value();
  EXPECT_EQ((outcomeA == WriteOutcome::kCommitted) + (outcomeB == WriteOutcome::kCommitted), 1);
  EXPECT_EQ(
      (outcomeA == WriteOutcome::kVersionConflict) + (outcomeB == WriteOutcome::kVersionConflict),
      1);
  EXPECT_EQ(first->fetchUnpublished(0, 10)->size(), 1u) << "the loser's event is not stored";
}

TEST(PostgresStore, ACommitOfAnotherInstanceWakesTheListener) {
  const std::string url = freshSchemaUrl();
  auto relaying = openStore(url);
  auto writing = openStore(url);
  std::atomic<int> woken{0};
  relaying->setOutboxListener([&] { ++woken; });
  const int before = woken.load();
  // The relaying instance's LISTEN may not be in place yet when the first commit is sent:
  // commit until one wakes it (each commit of the writing instance is its own NOTIFY).
  int written = 0;
  const bool wokenByOther = testing::waitFor(
      [&] {
        const std::string id = "0000000" + std::to_string(written % 10) +
                               "-58cc-4372-a567-0e02b2c3d4" + std::to_string(10 + written);
        ++written;
        EXPECT_EQ(writeAndWait(*writing, newOrderWrite(sampleOrder(id), {sampleEvent(id, 1, id)}))
                      .value(),
                  WriteOutcome::kCommitted);
        return testing::waitFor([&] { return woken.load() > before; }, 200ms);
      },
      10s);
  EXPECT_TRUE(wokenByOther) << "no NOTIFY of the other instance's commits arrived";
}

/// Which sessions of `role` (or of any role, in `query`) the server still has.
std::size_t sessions(const std::string& condition) {
  return std::stoul(
      server()
          .adminQuery(kDatabase, "SELECT count(*) FROM pg_stat_activity WHERE " + condition)
          .front());
}

/// The id of the n-th order of a test.
std::string nthOrderId(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "%08x-58cc-4372-a567-0e02b2c3d479", n);
  return id;
}

TEST(PostgresStore, OneWriterCommitsEverythingWhileItKeepsUp) {
  PostgresOptions options;
  options.writers = 4;
  // Only a full batch may bring in another writer: a busy test machine that delays the first
  // writer's wake-up by a millisecond must not (that path has a test of its own below).
  options.minSpillDelay = std::chrono::minutes(1);
  auto store = openStore(freshSchemaUrl(), nullptr, options);
  for (int i = 0; i < 100; ++i) {
    const std::string id = nthOrderId(i);
    ASSERT_EQ(
        writeAndWait(*store, newOrderWrite(sampleOrder(id), {sampleEvent(id, 1, id)})).value(),
        WriteOutcome::kCommitted);
  }
  EXPECT_EQ(store->writerConnectionsOpened(), 1u)
      << "one write at a time never waits for a busy writer: no other connection is opened";
}

TEST(PostgresStore, MoreWritersJoinWhileMoreThanABatchIsWaiting) {
  PostgresOptions options;
  options.writers = 4;
  options.maxBatch = 4;
  std::atomic<int> committed{0};  // outlives the store, whose close() runs what is left
  auto store = openStore(freshSchemaUrl(), nullptr, options);
  constexpr int kWrites = 200;  // queued at once: 50 batches
  for (int i = 0; i < kWrites; ++i) {
    const std::string id = nthOrderId(i);
    store->write(newOrderWrite(sampleOrder(id), {sampleEvent(id, 1, id)}),
                 [&](Result<WriteOutcome> outcome) {
                   if (outcome.ok() && *outcome == WriteOutcome::kCommitted) ++committed;
                 });
  }
  ASSERT_TRUE(testing::waitFor([&] { return committed.load() == kWrites; }, 60s));
  EXPECT_GT(store->writerConnectionsOpened(), 1u);
  EXPECT_EQ(store->fetchUnpublished(0, 1000)->size(), static_cast<std::size_t>(kWrites));
}

TEST(PostgresStore, AnotherWriterCommitsWhileTheFirstIsStuckOnALock) {
  const Schema schema = freshSchema();
  PostgresOptions options;
  options.writers = 2;
  auto store = openStore(schema.url, nullptr, options);
  Order order = sampleOrder(kOrderA);
  ASSERT_EQ(writeAndWait(*store, newOrderWrite(order, {})).value(), WriteOutcome::kCommitted);

  // Another session holds order A's row: the next update of A waits for its lock.
  postgres::Connection blocker(postgres::ConnectionSettings::fromUrl(schema.url).value());
  blocker.execScript("BEGIN");
  blocker.exec("SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE",
               postgres::Params().add(std::string(kOrderA)));
  Order changed = order;
  changed.version = 2;
  changed.status = OrderStatus::kPaymentProcessing;
  WriteSet update;
  update.order = OrderWrite{changed, 1, 1, {sampleEvent(kOrderA, 1, "m-update")}};
  auto stuck = std::async(std::launch::async, [&] { return writeAndWait(*store, update); });
  const std::string waiting =
      "datname = '" + std::string(kDatabase) +
      "' AND wait_event_type = 'Lock' AND query LIKE '%order_service_write%'";
  ASSERT_TRUE(testing::waitFor([&] { return sessions(waiting) == 1; }, 20s));

  const std::string other = nthOrderId(7);
  EXPECT_EQ(writeAndWait(*store, newOrderWrite(sampleOrder(other), {})).value(),
            WriteOutcome::kCommitted)
      << "a write queued behind the stuck batch goes out on the second writer";
  EXPECT_EQ(stuck.wait_for(0s), std::future_status::timeout) << "the first is still waiting";
  EXPECT_EQ(store->writerConnectionsOpened(), 2u);

  blocker.execScript("ROLLBACK");
  EXPECT_EQ(stuck.get().value(), WriteOutcome::kCommitted);
}

TEST(PostgresStore, AConnectionLostDuringCommitIsInDoubtAndTheStoreReconnects) {
  const Schema schema = freshSchema();
  PostgresOptions options;
  options.writers = 1;
  auto store = openStore(schema.url, nullptr, options);
  // A deferred constraint trigger runs at COMMIT: this one makes the COMMIT of an order insert
  // last until the test has killed the session that runs it.
  server().adminQuery(kDatabase, "CREATE FUNCTION " + schema.name +
                                     ".slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
                                     "$$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$; "
                                     "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON " +
                                     schema.name +
                                     ".orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                                     "EXECUTE FUNCTION " +
                                     schema.name + ".slow_commit()");
  auto pending = std::async(std::launch::async, [&] {
    return writeAndWait(*store,
                        newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "m1")}));
  });
  const std::string committing = "datname = '" + std::string(kDatabase) +
                                 "' AND state = 'active' AND query = 'COMMIT' AND wait_event = "
                                 "'PgSleep'";
  ASSERT_TRUE(testing::waitFor([&] { return sessions(committing) == 1; }, 20s));
  server().adminQuery(kDatabase,
                      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE " + committing);
  const auto outcome = pending.get();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, ErrorCode::kInDoubt) << outcome.error().message;
  // What re-reading tells: this COMMIT did not happen.
  EXPECT_FALSE(store->findOrder(OrderId(kOrderA)).value().has_value());

  server().adminQuery(kDatabase, "DROP TRIGGER slow_commit ON " + schema.name + ".orders");
  EXPECT_EQ(writeAndWait(*store, newOrderWrite(sampleOrder(kOrderA), {})).value(),
            WriteOutcome::kCommitted)
      << "the writer reconnects after the lost connection";
}

TEST(PostgresStore, ADatabaseThatRefusesConnectionsIsUnavailableUntilItIsBack) {
  const std::string role = "flaky_" + std::to_string(::getpid());
  const std::string password = "flaky-MARKER-pw";
  server().adminQuery(kDatabase, "DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role +
                                     " LOGIN PASSWORD '" + password + "'");
  const Schema schema = freshSchema(role, password);
  PostgresOptions options;
  options.reconnectInitial = 20ms;
  options.reconnectMax = 200ms;
  auto store = openStore(schema.url, nullptr, options);
  ASSERT_EQ(writeAndWait(*store, newOrderWrite(sampleOrder(kOrderA), {})).value(),
            WriteOutcome::kCommitted);

  // The outage: the role may no longer log in, and its sessions are gone.
  // NOLOGIN commits first: a session the store opens while a terminate runs in the same
  // transaction would still log in. Sessions opened before it took effect are terminated too.
  server().adminQuery(kDatabase, "ALTER ROLE " + role + " NOLOGIN");
  ASSERT_TRUE(testing::waitFor(
      [&] {
        server().adminQuery(kDatabase,
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                            "usename = '" +
                                role + "'");
        return sessions("usename = '" + role + "'") == 0;
      },
      20s));
  auto refused = writeAndWait(*store, newOrderWrite(sampleOrder(testing::kSampleUser), {}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().message;
  EXPECT_TRUE(testing::waitFor([&] { return !store->available(); }, 10s));
  auto stats = store->outboxStats();
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.error().message.find("database unavailable"), std::string::npos)
      << stats.error().message;
  EXPECT_EQ(stats.error().message.find(password), std::string::npos) << stats.error().message;
  EXPECT_EQ(refused.error().message.find(password), std::string::npos) << refused.error().message;

  server().adminQuery(kDatabase, "ALTER ROLE " + role + " LOGIN");
  EXPECT_TRUE(testing::waitFor(
      [&] {
        return writeAndWait(*store, newOrderWrite(sampleOrder(testing::kSampleUser), {})).ok();
      },
      20s));
  EXPECT_TRUE(testing::waitFor([&] { return store->available(); }, 10s));
  store->close();
  server().adminQuery(kDatabase, "DROP SCHEMA " + schema.name + " CASCADE; DROP ROLE " + role);
}

}  // namespace
}  // namespace orders
