// The inbox conformance suite for the tests' MemoryInbox and for SqliteInbox, and what only
// SqliteInbox does: the consumer's own tables, SQL errors, the file, the legacy table.

#include "consumer/sqlite/sqlite_inbox.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "consumer/testing/inbox_conformance.hpp"
#include "consumer/testing/memory_inbox.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using testing::Effect;
using testing::InboxConformance;
using testing::InboxFactory;
using testing::InboxUnderTest;
using testing::TempDir;

Status effectOutcome(Effect effect) {
  if (effect == Effect::kThrows) throw std::runtime_error("the handler threw");
  if (effect == Effect::kFails) return Error{ErrorCode::kUnavailable, "provider down"};
  return okStatus();
}

class MemoryInboxUnderTest final : public InboxUnderTest {
 public:
  explicit MemoryInboxUnderTest(const Clock& clock) : inbox_(&clock) {}
  Inbox& inbox() override { return inbox_; }
  HandlerResult recordWithEffect(const InboxKey& key, Effect effect) override {
    return inbox_.transact(key, [&](testing::MemoryInbox::Transaction& tx) {
      tx.writes.push_back(key.consumer + "/" + key.messageId);
      return effectOutcome(effect);
    });
  }
  std::int64_t effects(const InboxKey& key) override {
    const auto writes = inbox_.writes();
    return std::count(writes.begin(), writes.end(), key.consumer + "/" + key.messageId);
  }
  std::unique_ptr<InboxUnderTest> reopen() override { return nullptr; }

 private:
  testing::MemoryInbox inbox_;
};

class SqliteInboxUnderTest final : public InboxUnderTest {
 public:
  SqliteInboxUnderTest(std::shared_ptr<TempDir> dir, const Clock& clock)
      : dir_(std::move(dir)), clock_(clock) {
    inbox_ = SqliteInbox::open(dir_->file("inbox.db"), &clock_).value();
    EXPECT_TRUE(
        inbox_->execute("CREATE TABLE IF NOT EXISTS effects (consumer TEXT, message_id TEXT)")
            .ok());
  }
  Inbox& inbox() override { return *inbox_; }
  HandlerResult recordWithEffect(const InboxKey& key, Effect effect) override {
    return inbox_->transact(key, [&](SqliteInbox::Transaction& tx) -> Status {
      if (auto s = tx.execute("INSERT INTO effects VALUES (?, ?)", {key.consumer, key.messageId});
          !s) {
        return s;
      }
      return effectOutcome(effect);
    });
  }
  std::int64_t effects(const InboxKey& key) override {
    auto rows = inbox_->query("SELECT COUNT(*) FROM effects WHERE consumer = ? AND message_id = ?",
                              {key.consumer, key.messageId});
    return std::get<std::int64_t>(rows.value().at(0).at(0));
  }
  std::unique_ptr<InboxUnderTest> reopen() override {
    inbox_.reset();
    return std::make_unique<SqliteInboxUnderTest>(dir_, clock_);
  }

 private:
  std::shared_ptr<TempDir> dir_;
  const Clock& clock_;
  std::unique_ptr<SqliteInbox> inbox_;
};

INSTANTIATE_TEST_SUITE_P(
    Inboxes, InboxConformance,
    ::testing::Values(InboxFactory{"MemoryInbox",
                                   [](const Clock& clock) -> std::unique_ptr<InboxUnderTest> {
                                     return std::make_unique<MemoryInboxUnderTest>(clock);
                                   }},
                      InboxFactory{"SqliteInbox",
                                   [](const Clock& clock) -> std::unique_ptr<InboxUnderTest> {
                                     return std::make_unique<SqliteInboxUnderTest>(
                                         std::make_shared<TempDir>(), clock);
                                   }}),
    testing::inboxFactoryName);

class SqliteInboxTest : public ::testing::Test {
 protected:
  SqliteInboxTest() {
    inbox_ = SqliteInbox::open(dir_.file("inbox.db")).value();
    EXPECT_TRUE(inbox_->execute("CREATE TABLE effects (message_id TEXT, value INTEGER)").ok());
  }

  TempDir dir_;
  std::unique_ptr<SqliteInbox> inbox_;
};

TEST_F(SqliteInboxTest, TheConsumersOwnTablesTakeParametersAndReturnRows) {
  ASSERT_TRUE(inbox_->execute("INSERT INTO effects VALUES (?, ?)", {std::string("m"), 7}).ok());
  ASSERT_TRUE(inbox_->execute("INSERT INTO effects VALUES (?, ?)", {std::monostate{}, 8}).ok());
  auto rows = inbox_->query("SELECT message_id, value FROM effects ORDER BY value").value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (SqlRow{std::string("m"), std::int64_t{7}}));
  EXPECT_EQ(rows[1], (SqlRow{std::monostate{}, std::int64_t{8}}));
}

TEST_F(SqliteInboxTest, BadSqlIsAnErrorAndRollsBackTheKey) {
  auto bad = inbox_->transact({"c", "msg-3"}, [](SqliteInbox::Transaction& tx) {
    return tx.execute("INSERT INTO nowhere VALUES (1)");
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(bad.error().message.find("no such table: nowhere"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(inbox_->contains({"c", "msg-3"}).value());
  EXPECT_EQ(inbox_->execute("CREATE TABLE unique_things (id TEXT PRIMARY KEY)").ok(), true);
  ASSERT_TRUE(inbox_->execute("INSERT INTO unique_things VALUES ('a')").ok());
  EXPECT_EQ(inbox_->execute("INSERT INTO unique_things VALUES ('a')").error().code,
            ErrorCode::kConflict);
}

TEST_F(SqliteInboxTest, KeysOfTheEarlierConsumerInboxTableAreMovedIntoTheInboxTable) {
  inbox_.reset();
  {
    auto db = SqliteInbox::open(dir_.file("legacy.db")).value();
    ASSERT_TRUE(db->execute("CREATE TABLE consumer_inbox (consumer TEXT NOT NULL, message_id TEXT "
                            "NOT NULL, processed_at TEXT NOT NULL, PRIMARY KEY (consumer, "
                            "message_id)) WITHOUT ROWID")
                    .ok());
    ASSERT_TRUE(db->execute("INSERT INTO consumer_inbox VALUES ('c', 'legacy-1', "
                            "'2024-05-01T10:00:00.250Z')")
                    .ok());
  }
  auto db = SqliteInbox::open(dir_.file("legacy.db")).value();
  EXPECT_TRUE(db->contains({"c", "legacy-1"}).value());
  auto at = db->query("SELECT processed_at FROM inbox WHERE message_id = 'legacy-1'").value();
  EXPECT_EQ(std::get<std::int64_t>(at.at(0).at(0)), 1714557600250);
  EXPECT_TRUE(db->query("SELECT name FROM sqlite_master WHERE name = 'consumer_inbox'")->empty());
}

TEST(SqliteInboxOpen, ReportsTheFile) {
  auto inbox = SqliteInbox::open("/nonexistent-dir/x/inbox.db");
  ASSERT_FALSE(inbox.ok());
  EXPECT_NE(inbox.error().message.find("/nonexistent-dir/x/inbox.db"), std::string::npos);
}

}  // namespace
}  // namespace orders
