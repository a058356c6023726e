// The PostgreSQL store against the tests' PostgreSQL server (one per ctest run): the store and
// inbox conformance suites unchanged, and what only PostgreSQL has: concurrent migrations,
// several store instances on one database (version checks, notifications), a connection killed
// during COMMIT, a database that goes away and comes back.
//
// Every store under test gets a schema of its own in this binary's database (search_path in the
// URL's options), so the cases are independent without a CREATE DATABASE each.

#include <gtest/gtest.h>

#include <atomic>
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

/// A new empty schema owned by the application role; the URL that works in it.
std::string freshSchemaUrl(const std::string& role = "", const std::string& password = "") {
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
  return base + "&options=-csearch_path%3D" + schema;
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
  ASSERT_EQ(rows.size(), 1);
  EXPECT_EQ(rows.integer(0, 0), 1);
  EXPECT_EQ(rows.integer(0, 1), 1);
  // The lock was transaction-scoped: nothing of it is left in any session.
  EXPECT_EQ(server().adminQuery(kDatabase,
                                "SELECT count(*) FROM pg_locks WHERE locktype = "
                                "'advisory'"),
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

}  // namespace
}  // namespace orders
