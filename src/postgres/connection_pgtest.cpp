// The libpq wrapper against the tests' PostgreSQL server: errors are classified by what the
// caller should do, a killed connection is reported as lost, a wrong password is refused without
// being shown, and a pipeline skips what follows a failed statement.

#include <gtest/gtest.h>

#include "postgres/connection.hpp"
#include "support/postgres_server.hpp"

namespace orders::postgres {
namespace {

using testing::PostgresServer;

class PostgresConnection : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { PostgresServer::shared().createDatabase("connection_pgtest"); }
  static std::unique_ptr<Connection> connect() {
    auto settings = ConnectionSettings::fromUrl(
        PostgresServer::shared().appUrlWithPassword("connection_pgtest"));
    return std::make_unique<Connection>(settings.value());
  }
  static FailureKind kindOf(Connection& db, const std::string& sql) {
    try {
      db.exec(sql);
    } catch (const PgError& e) {
      return e.kind();
    }
    ADD_FAILURE() << sql << " did not fail";
    return FailureKind::kOther;
  }
};

TEST_F(PostgresConnection, ClassifiesUniqueAndOtherConstraintViolations) {
  auto db = connect();
  db->execScript(
      "DROP TABLE IF EXISTS t1; CREATE TABLE t1 (k text PRIMARY KEY, v int CHECK (v > 0))");
  db->exec("INSERT INTO t1 VALUES ($1, $2)", Params().add("a").add(std::int64_t{1}));
  EXPECT_EQ(kindOf(*db, "INSERT INTO t1 VALUES ('a', 2)"), FailureKind::kUniqueViolation);
  EXPECT_EQ(kindOf(*db, "INSERT INTO t1 VALUES ('b', -1)"), FailureKind::kConstraint);
  EXPECT_EQ(kindOf(*db, "SELECT nosuchcolumn FROM t1"), FailureKind::kOther);
  EXPECT_EQ(classifySqlState("40001"), FailureKind::kRetry);
  EXPECT_EQ(classifySqlState("40P01"), FailureKind::kRetry);
  EXPECT_EQ(classifySqlState("57P01"), FailureKind::kConnectionLost);
  EXPECT_TRUE(db->usable());
}

TEST_F(PostgresConnection, ASerializationFailureIsRetry) {
  auto a = connect();
  auto b = connect();
  a->execScript("DROP TABLE IF EXISTS t2; CREATE TABLE t2 (k int PRIMARY KEY, v int)");
  a->execScript("INSERT INTO t2 VALUES (1, 0)");
  a->execScript("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT v FROM t2");
  b->execScript("UPDATE t2 SET v = 1 WHERE k = 1");
  EXPECT_EQ(kindOf(*a, "UPDATE t2 SET v = 2 WHERE k = 1"), FailureKind::kRetry);
  a->execScript("ROLLBACK");
}

TEST_F(PostgresConnection, AKilledConnectionIsLost) {
  auto db = connect();
  auto killer = connect();
  const int pid = db->backendPid();
  // The application role may signal its own sessions (pg_signal_backend is not needed for that).
  killer->exec("SELECT pg_terminate_backend($1)", Params().add(std::int64_t{pid}));
  EXPECT_EQ(kindOf(*db, "SELECT 1"), FailureKind::kConnectionLost);
  EXPECT_FALSE(db->usable());
}

TEST_F(PostgresConnection, AWrongPasswordIsRefusedWithoutShowingIt) {
  auto& server = PostgresServer::shared();
  const std::string url = "postgresql://" + server.info().appUser + ":wrong-MARKER-pw@/" +
                          "connection_pgtest?host=" + server.info().socketDir +
                          "&port=" + std::to_string(server.info().port);
  try {
    Connection db(ConnectionSettings::fromUrl(url).value());
    FAIL() << "connected with a wrong password";
  } catch (const PgError& e) {
    EXPECT_EQ(e.kind(), FailureKind::kConnectionLost);
    EXPECT_NE(std::string(e.what()).find("password authentication failed"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("wrong-MARKER-pw"), std::string::npos) << e.what();
  }
}

TEST_F(PostgresConnection, APipelineSkipsWhatFollowsAFailedStatement) {
  auto db = connect();
  db->execScript("DROP TABLE IF EXISTS t3; CREATE TABLE t3 (k int PRIMARY KEY)");
  const auto outcomes = db->pipeline({{"INSERT INTO t3 VALUES ($1)", Params().add("1")},
                                      {"INSERT INTO t3 VALUES ($1)", Params().add("1")},
                                      {"INSERT INTO t3 VALUES ($1)", Params().add("2")}});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].rows.has_value());
  ASSERT_TRUE(outcomes[1].error.has_value());
  EXPECT_EQ(outcomes[1].error->kind(), FailureKind::kUniqueViolation);
  EXPECT_FALSE(outcomes[2].rows.has_value());
  EXPECT_FALSE(outcomes[2].error.has_value());
  // Without BEGIN the statements up to the sync are one implicit transaction: nothing stays.
  EXPECT_EQ(db->exec("SELECT count(*) FROM t3").integer(0, 0), 0);
  EXPECT_TRUE(db->usable());
}

}  // namespace
}  // namespace orders::postgres
