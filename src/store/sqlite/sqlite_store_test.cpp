// The SQLite store against real database files in a temporary directory: the store and inbox
// conformance suites, and what only SQLite has (migrations, files, the inbox table's shape, an
// fsync that fails during COMMIT).

#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>

#include "common/ids.hpp"
#include "consumer/sqlite/sqlite_inbox.hpp"
#include "consumer/testing/inbox_conformance.hpp"
#include "sqlite/connection.hpp"
#include "store/testing/store_conformance.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using testing::at;
using testing::InboxConformance;
using testing::newOrderWrite;
using testing::sampleEvent;
using testing::sampleOrder;
using testing::StoreConformance;
using testing::StoreFactory;
using testing::StoreUnderTest;
using testing::TempDir;
using testing::writeAndWait;

constexpr const char* kOrderA = "f47ac10b-58cc-4372-a567-0e02b2c3d479";

class SqliteStoreUnderTest final : public StoreUnderTest {
 public:
  SqliteStoreUnderTest(std::shared_ptr<TempDir> dir, const Clock& clock)
      : dir_(std::move(dir)), clock_(clock) {
    store_ = SqliteStore::open(dir_->file("orders.db"), {}, &clock_).value();
  }
  OrderStore& orders() override { return *store_; }
  OutboxStore& outbox() override { return *store_; }
  RelayLease& lease() override { return *store_; }
  void close() override { store_->close(); }
  std::unique_ptr<StoreUnderTest> reopen() override {
    store_->close();
    return std::make_unique<SqliteStoreUnderTest>(dir_, clock_);
  }

 private:
  std::shared_ptr<TempDir> dir_;
  const Clock& clock_;
  std::unique_ptr<SqliteStore> store_;
};

StoreFactory sqliteStores() {
  return StoreFactory{"Sqlite", [](const Clock& clock) -> std::unique_ptr<StoreUnderTest> {
                        return std::make_unique<SqliteStoreUnderTest>(std::make_shared<TempDir>(),
                                                                      clock);
                      }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Values(sqliteStores()),
                         testing::storeFactoryName);
INSTANTIATE_TEST_SUITE_P(SqliteStore, InboxConformance,
                         ::testing::Values(testing::orderStoreInbox(sqliteStores())),
                         testing::inboxFactoryName);

std::int64_t countRows(const std::string& path, const std::string& table) {
  sqlite::Connection db(path);
  auto& count = db.prepare("SELECT COUNT(*) FROM " + table);
  count.step();
  const auto rows = count.columnInt(0);
  count.reset();
  return rows;
}

std::vector<SqlRow> query(const std::string& path, const std::string& sql) {
  sqlite::Connection db(path);
  auto statement = db.prepareOnce(sql);
  std::vector<SqlRow> rows;
  while (statement->step()) rows.push_back(statement->row());
  return rows;
}

TEST(SqliteStore, ReopeningMigratesOnceAndKeepsData) {
  TempDir dir;
  {
    auto store = SqliteStore::open(dir.file("orders.db")).value();
    ASSERT_TRUE(writeAndWait(*store, newOrderWrite(sampleOrder(kOrderA), {})).ok());
  }
  auto store = SqliteStore::open(dir.file("orders.db"));
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_TRUE((*store)->findOrder(OrderId(kOrderA))->has_value());
  (*store)->close();
  EXPECT_EQ(query(dir.file("orders.db"), "SELECT version FROM schema_migrations ORDER BY version"),
            (std::vector<SqlRow>{{std::int64_t{1}},
                                 {std::int64_t{2}},
                                 {std::int64_t{3}},
                                 {std::int64_t{4}},
                                 {std::int64_t{5}}}));
}

TEST(SqliteStore, MigratesAVersion1OutboxKeepingWhatWasPublished) {
  TempDir dir;
  const auto path = dir.file("orders.db");
  {
    // The outbox as schema version 1 left it: publication state inside the row.
    sqlite::Connection db(path);
    db.exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);"
        "INSERT INTO schema_migrations VALUES (1, 0);"
        "CREATE TABLE inbox (consumer TEXT NOT NULL, message_id TEXT NOT NULL, processed_at "
        "INTEGER NOT NULL, PRIMARY KEY (consumer, message_id));"
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL,"
        " message_type TEXT NOT NULL, message_version TEXT NOT NULL, partition_key TEXT NOT NULL,"
        " sequence INTEGER NOT NULL, correlation_id TEXT, source TEXT NOT NULL, occurred_at "
        "INTEGER NOT NULL, body TEXT NOT NULL CHECK (body <> ''), published_at INTEGER);"
        "CREATE INDEX outbox_pending ON outbox(id) WHERE published_at IS NULL;"
        "CREATE INDEX outbox_published ON outbox(published_at) WHERE published_at IS NOT NULL;"
        "INSERT INTO outbox (message_id, message_type, message_version, partition_key, sequence,"
        " source, occurred_at, body, published_at) VALUES"
        " ('m1', 'OrderCreatedEvent', '1.0', 'o', 1, 'OrderService', 1000, '{}', 2000),"
        " ('m2', 'OrderCreatedEvent', '1.0', 'o', 2, 'OrderService', 1001, '{}', NULL);");
  }
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto pending = (*store)->fetchUnpublished(0, 10).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].messageId, "m2");
  EXPECT_EQ(pending[0].sequence, 2);
  EXPECT_EQ(pending[0].traceparent, "") << "a row from before the trace columns has no trace";
  auto stats = (*store)->outboxStats().value();
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(stats.published, 1);
  ASSERT_TRUE(stats.oldestPendingAt.has_value());
  EXPECT_EQ(*stats.oldestPendingAt, at(1001));
  EXPECT_EQ((*store)->deletePublishedBefore(at(3000)).value(), 1);
  EXPECT_EQ(countRows(path, "outbox"), 1);
}

TEST(SqliteStore, OpenFailureNamesTheFile) {
  auto store = SqliteStore::open("/nonexistent-dir/orders.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(store.error().message.find("/nonexistent-dir/orders.db"), std::string::npos);
}

TEST(SqliteStore, RetentionDeletesTheOutboxRowNotOnlyItsMark) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  ASSERT_TRUE(
      writeAndWait(*store, newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "m1")}))
          .ok());
  ASSERT_TRUE(testing::markAndWait(*store, {store->fetchUnpublished(0, 1)->at(0).id}, at(5000)));
  EXPECT_EQ(store->deletePublishedBefore(at(6000)).value(), 1);
  EXPECT_EQ(countRows(dir.file("orders.db"), "outbox"), 0);
  EXPECT_EQ(countRows(dir.file("orders.db"), "outbox_publication"), 0);
}

// Background checkpoints only when the writer asks for one, or also every 2 ms (then they take
// turns with the writer's own).
class SqliteWalBound : public ::testing::TestWithParam<std::chrono::milliseconds> {};

INSTANTIATE_TEST_SUITE_P(BackgroundInterval, SqliteWalBound,
                         ::testing::Values(std::chrono::hours(1), std::chrono::milliseconds(2)));

TEST_P(SqliteWalBound, TheWriterKeepsTheWalFromGrowingUnderSteadyWrites) {
  TempDir dir;
  SqliteOptions options;
  options.checkpointInterval = GetParam();
  options.walResetFrames = 32;
  auto store = SqliteStore::open(dir.file("orders.db"), options).value();
  constexpr std::uintmax_t kFrameBytes = 4096 + 24;  // a page and its frame header
  std::uintmax_t largestWal = 0;
  RandomIdGenerator ids;
  for (int i = 0; i < 400; ++i) {
    const std::string id = ids.uuid();
    ASSERT_TRUE(
        writeAndWait(*store, newOrderWrite(sampleOrder(id), {sampleEvent(id, 1, "msg-" + id)}))
            .ok());
    largestWal = std::max(largestWal, std::filesystem::file_size(dir.file("orders.db-wal")));
  }
  // 400 commits of ~11 pages each are ~4,600 frames without the writer's checkpoints. Past the
  // limit (32 frames) the writer asks for a pass and copies the tail after the next commit, or
  // whatever is left once the WAL passes 64 frames; the margin is for commits that find a pass
  // still running (the writer then checks again after the next one).
  EXPECT_LT(largestWal, 256 * kFrameBytes);
  EXPECT_EQ(countRows(dir.file("orders.db"), "orders"), 400);
}

TEST(SqliteStore, TheInboxTableHasTheShapeOfEverySqliteInbox) {
  TempDir dir;
  SqliteStore::open(dir.file("orders.db")).value()->close();
  SqliteInbox::open(dir.file("inbox.db")).value().reset();
  for (const char* pragma : {"PRAGMA table_info(inbox)", "PRAGMA index_list(inbox)",
                             "PRAGMA index_info(inbox_by_processed_at)",
                             "PRAGMA index_info(sqlite_autoindex_inbox_1)"}) {
    EXPECT_EQ(query(dir.file("orders.db"), pragma), query(dir.file("inbox.db"), pragma)) << pragma;
  }
  EXPECT_FALSE(query(dir.file("orders.db"), "PRAGMA index_list(inbox)").empty());
}

// ---------------------------------------------------------------------------------------------
// A VFS that forwards to the default one and can make the fsync of WAL files fail, the way a
// disk that errors at COMMIT does. Registered as the default VFS for the test's duration.

std::atomic<int> failingWalSyncs{0};

struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;  // the default VFS's file, allocated right after this struct
  bool wal;
};

sqlite3_file* realOf(sqlite3_file* file) {
  return reinterpret_cast<FaultFile*>(file)->real;
}

int faultSync(sqlite3_file* file, int flags) {
  if (reinterpret_cast<FaultFile*>(file)->wal && failingWalSyncs > 0) {
    --failingWalSyncs;
    return SQLITE_IOERR_FSYNC;
  }
  return realOf(file)->pMethods->xSync(realOf(file), flags);
}

const sqlite3_io_methods* faultMethods(const sqlite3_io_methods* real) {
  static sqlite3_io_methods methods = [real] {
    sqlite3_io_methods m{};
    m.iVersion = real->iVersion;
    m.xClose = [](sqlite3_file* f) { return realOf(f)->pMethods->xClose(realOf(f)); };
    m.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
      return realOf(f)->pMethods->xRead(realOf(f), b, n, o);
    };
    m.xWrite = [](sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
      return realOf(f)->pMethods->xWrite(realOf(f), b, n, o);
    };
    m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      return realOf(f)->pMethods->xTruncate(realOf(f), size);
    };
    m.xSync = faultSync;
    m.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
      return realOf(f)->pMethods->xFileSize(realOf(f), size);
    };
    m.xLock = [](sqlite3_file* f, int l) { return realOf(f)->pMethods->xLock(realOf(f), l); };
    m.xUnlock = [](sqlite3_file* f, int l) { return realOf(f)->pMethods->xUnlock(realOf(f), l); };
    m.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      return realOf(f)->pMethods->xCheckReservedLock(realOf(f), out);
    };
    m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      return realOf(f)->pMethods->xFileControl(realOf(f), op, arg);
    };
    m.xSectorSize = [](sqlite3_file* f) { return realOf(f)->pMethods->xSectorSize(realOf(f)); };
    m.xDeviceCharacteristics = [](sqlite3_file* f) {
      return realOf(f)->pMethods->xDeviceCharacteristics(realOf(f));
    };
    m.xShmMap = [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return realOf(f)->pMethods->xShmMap(realOf(f), page, size, extend, out);
    };
    m.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
      return realOf(f)->pMethods->xShmLock(realOf(f), offset, n, flags);
    };
    m.xShmBarrier = [](sqlite3_file* f) { realOf(f)->pMethods->xShmBarrier(realOf(f)); };
    m.xShmUnmap = [](sqlite3_file* f, int deleteFlag) {
      return realOf(f)->pMethods->xShmUnmap(realOf(f), deleteFlag);
    };
    m.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** out) {
      return realOf(f)->pMethods->xFetch(realOf(f), o, n, out);
    };
    m.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
      return realOf(f)->pMethods->xUnfetch(realOf(f), o, p);
    };
    return m;
  }();
  return &methods;
}

class FaultVfs {
 public:
  FaultVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "fault";
    vfs_.szOsFile = static_cast<int>(sizeof(FaultFile)) + real_->szOsFile;
    vfs_.pAppData = real_;
    vfs_.xOpen = [](sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                    int* outFlags) {
      auto* real = static_cast<sqlite3_vfs*>(vfs->pAppData);
      auto* fault = reinterpret_cast<FaultFile*>(file);
      fault->real = reinterpret_cast<sqlite3_file*>(fault + 1);
      fault->wal = (flags & SQLITE_OPEN_WAL) != 0;
      const int rc = real->xOpen(real, name, fault->real, flags, outFlags);
      // SQLite calls xClose only when pMethods is set, so leave it null when the open failed.
      file->pMethods = fault->real->pMethods ? faultMethods(fault->real->pMethods) : nullptr;
      return rc;
    };
    sqlite3_vfs_register(&vfs_, /*makeDefault=*/1);
  }
  ~FaultVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, /*makeDefault=*/1);
  }

 private:
  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
};

TEST(SqliteStore, ACommitWhoseFsyncFailsIsInDoubtNotUnavailable) {
  FaultVfs vfs;
  TempDir dir;
  {
    auto store = SqliteStore::open(dir.file("orders.db")).value();
    failingWalSyncs = 1;
    auto outcome =
        writeAndWait(*store, newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "m1")}));
    failingWalSyncs = 0;
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.error().code, ErrorCode::kInDoubt) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("may or may not have been stored"), std::string::npos)
        << outcome.error().message;

    // The store goes on: the next write commits, and the in-doubt one can be re-read.
    const std::string other = "a47ac10b-58cc-4372-a567-0e02b2c3d479";
    EXPECT_EQ(writeAndWait(*store, newOrderWrite(sampleOrder(other), {})).value(),
              WriteOutcome::kCommitted);
    EXPECT_TRUE(store->findOrder(OrderId(other))->has_value());
    EXPECT_TRUE(store->findOrder(OrderId(kOrderA)).ok());
  }
}

}  // namespace
}  // namespace orders
