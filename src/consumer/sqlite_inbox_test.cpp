#include "consumer/sqlite_inbox.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "consumer/consumer_test_support.hpp"

namespace orders {
namespace {

class SqliteInboxTest : public ::testing::Test {
 protected:
  SqliteInboxTest() {
    inbox_ = SqliteInbox::open(dir_.file("inbox.db")).value();
    EXPECT_TRUE(inbox_->execute("CREATE TABLE effects (message_id TEXT, value INTEGER)").ok());
  }
  std::int64_t effects() {
    auto rows = inbox_->query("SELECT COUNT(*) FROM effects").value();
    return std::get<std::int64_t>(rows.at(0).at(0));
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteInbox> inbox_;
};

TEST_F(SqliteInboxTest, RecordsAndFindsMessagesPerConsumer) {
  EXPECT_FALSE(inbox_->contains("a", "msg-1").value());
  EXPECT_TRUE(inbox_->record("a", "msg-1").value());
  EXPECT_FALSE(inbox_->record("a", "msg-1").value());  // already there: not an error
  EXPECT_TRUE(inbox_->contains("a", "msg-1").value());
  EXPECT_FALSE(inbox_->contains("b", "msg-1").value());
}

TEST_F(SqliteInboxTest, TransactAppliesOnceAndReportsDuplicates) {
  auto work = [](SqliteInbox::Transaction& tx) {
    return tx.execute("INSERT INTO effects VALUES (?, ?)", {std::string("msg-1"), std::int64_t{1}});
  };
  EXPECT_EQ(inbox_->transact("c", "msg-1", work).value(), Handled::kApplied);
  EXPECT_EQ(inbox_->transact("c", "msg-1", work).value(), Handled::kDuplicate);
  EXPECT_EQ(effects(), 1);
  EXPECT_TRUE(inbox_->contains("c", "msg-1").value());
}

TEST_F(SqliteInboxTest, AFailedWorkRollsBackTheInboxRecordToo) {
  auto failing = [](SqliteInbox::Transaction& tx) -> Status {
    if (auto s = tx.execute("INSERT INTO effects VALUES ('msg-2', 2)"); !s) return s;
    return Error{ErrorCode::kUnavailable, "provider down"};
  };
  auto result = inbox_->transact("c", "msg-2", failing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(effects(), 0);
  EXPECT_FALSE(inbox_->contains("c", "msg-2").value());
  // A throwing work rolls back and rethrows.
  EXPECT_THROW((void)inbox_->transact(
                   "c", "msg-2",
                   [](SqliteInbox::Transaction&) -> Status { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_FALSE(inbox_->contains("c", "msg-2").value());
  // Bad SQL is an error, not a crash.
  auto bad = inbox_->transact("c", "msg-3", [](SqliteInbox::Transaction& tx) {
    return tx.execute("INSERT INTO nowhere VALUES (1)");
  });
  EXPECT_EQ(bad.error().code, ErrorCode::kUnavailable);
}

TEST_F(SqliteInboxTest, ConcurrentTransactsOfOneMessageApplyOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> applied{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto r = inbox_->transact("c", "msg-x", [](SqliteInbox::Transaction& tx) {
        return tx.execute("INSERT INTO effects VALUES ('msg-x', 1)");
      });
      if (r.ok() && r.value() == Handled::kApplied) ++applied;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(applied.load(), 1);
  EXPECT_EQ(effects(), 1);
}

TEST_F(SqliteInboxTest, SurvivesReopenAndDeletesOldRecords) {
  ASSERT_TRUE(inbox_->record("c", "old").value());
  inbox_.reset();
  inbox_ = SqliteInbox::open(dir_.file("inbox.db")).value();
  EXPECT_TRUE(inbox_->contains("c", "old").value());
  const auto future = SystemClock().now() + std::chrono::hours(1);
  EXPECT_EQ(inbox_->deleteRecordedBefore(future).value(), 1);
  EXPECT_FALSE(inbox_->contains("c", "old").value());
}

TEST(SqliteInboxOpen, ReportsTheFile) {
  auto inbox = SqliteInbox::open("/nonexistent-dir/x/inbox.db");
  ASSERT_FALSE(inbox.ok());
  EXPECT_NE(inbox.error().message.find("/nonexistent-dir/x/inbox.db"), std::string::npos);
}

}  // namespace
}  // namespace orders
