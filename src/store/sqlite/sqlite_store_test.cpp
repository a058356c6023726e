// Component tests of the SQLite store against real database files in a temporary directory.

#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "store/sqlite/sqlite_connection.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using testing::TempDir;

Timestamp at(std::int64_t ms) {
  return Timestamp(std::chrono::milliseconds(ms));
}

Order sampleOrder(const std::string& id, std::int64_t createdMs = 1000,
                  const std::string& user = "3fa85f64-5717-4562-b3fc-2c963f66afa6") {
  Order order;
  order.id = OrderId(id);
  order.userId = UserId(user);
  order.items = {{"prod-1", 2, 1999}};
  order.customer = {"Zoë Ünicode", "zoe@example.com"};
  order.shippingAddress = {"1 Main St", "Springfield", "12345", "US"};
  order.totalAmount = 3998;
  order.createdAt = at(createdMs);
  order.updatedAt = at(createdMs);
  return order;
}

EncodedMessage event(const std::string& orderId, std::int64_t sequence,
                     const std::string& messageId) {
  EncodedMessage m;
  m.messageId = messageId;
  m.messageType = "OrderCreatedEvent";
  m.messageVersion = "1.0";
  m.partitionKey = orderId;
  m.sequence = sequence;
  m.source = "OrderService";
  m.timestamp = at(1000);
  m.body = "{\"messageId\":\"" + messageId + "\"}";
  return m;
}

Result<WriteOutcome> writeNow(SqliteStore& store, WriteSet writes) {
  std::promise<Result<WriteOutcome>> promise;
  store.write(std::move(writes), [&](Result<WriteOutcome> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

WriteSet newOrderWrite(const Order& order, std::vector<EncodedMessage> events) {
  WriteSet writes;
  writes.order = OrderWrite{order, 0, static_cast<std::int64_t>(events.size()), std::move(events)};
  return writes;
}

constexpr const char* kOrderA = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
constexpr const char* kOrderB = "a47ac10b-58cc-4372-a567-0e02b2c3d479";

TEST(SqliteStore, StoresAnOrderWithItsEventsAndReadsThemBack) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  auto outcome =
      writeNow(*store, newOrderWrite(sampleOrder(kOrderA),
                                     {event(kOrderA, 1, "msg-1"), event(kOrderA, 2, "msg-2")}));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome.value(), WriteOutcome::kCommitted);

  auto found = store->findOrder(OrderId(kOrderA));
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->order.customer.name, "Zoë Ünicode");
  EXPECT_EQ((*found)->order.totalAmount, 3998);
  EXPECT_EQ((*found)->lastEventSequence, 2);

  auto pending = store->fetchUnpublished(0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].messageId, "msg-1");
  EXPECT_EQ((*pending)[1].sequence, 2);
  EXPECT_LT((*pending)[0].id, (*pending)[1].id);
  EXPECT_FALSE(store->findOrder(OrderId(kOrderB))->has_value());
}

TEST(SqliteStore, ReopeningMigratesOnceAndKeepsData) {
  TempDir dir;
  {
    auto store = SqliteStore::open(dir.file("orders.db")).value();
    ASSERT_TRUE(writeNow(*store, newOrderWrite(sampleOrder(kOrderA), {})).ok());
  }
  auto store = SqliteStore::open(dir.file("orders.db"));
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_TRUE((*store)->findOrder(OrderId(kOrderA))->has_value());
}

std::int64_t countRows(const std::string& path, const std::string& table) {
  sqlite::Connection db(path);
  auto& count = db.prepare("SELECT COUNT(*) FROM " + table);
  count.step();
  const auto rows = count.columnInt(0);
  count.reset();
  return rows;
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

TEST(SqliteStore, StaleVersionIsAConflictAndWritesNothing) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  ASSERT_TRUE(
      writeNow(*store, newOrderWrite(sampleOrder(kOrderA), {event(kOrderA, 1, "m1")})).ok());

  Order changed = sampleOrder(kOrderA);
  changed.version = 2;
  changed.status = OrderStatus::kPaymentProcessing;
  WriteSet stale;
  stale.order = OrderWrite{changed, /*expectedVersion=*/7, 2, {event(kOrderA, 2, "m2")}};
  EXPECT_EQ(writeNow(*store, stale).value(), WriteOutcome::kVersionConflict);
  EXPECT_EQ(store->findOrder(OrderId(kOrderA))->value().order.status, OrderStatus::kPendingPayment);
  EXPECT_EQ(store->fetchUnpublished(0, 10)->size(), 1u);

  WriteSet current = stale;
  current.order->expectedVersion = 1;
  EXPECT_EQ(writeNow(*store, current).value(), WriteOutcome::kCommitted);
  EXPECT_EQ(store->findOrder(OrderId(kOrderA))->value().order.version, 2);
}

TEST(SqliteStore, AFailedWriteLeavesNeitherTheChangeNorItsEvents) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  ASSERT_TRUE(
      writeNow(*store, newOrderWrite(sampleOrder(kOrderA), {event(kOrderA, 1, "dup")})).ok());
  // The second order's second event is empty, which the schema refuses: the insert of the order
  // and its first event already ran inside the transaction when the failure happens.
  EncodedMessage broken = event(kOrderB, 2, "broken");
  broken.body.clear();
  auto result =
      writeNow(*store, newOrderWrite(sampleOrder(kOrderB), {event(kOrderB, 1, "fresh"), broken}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(store->findOrder(OrderId(kOrderB))->has_value());
  auto pending = store->fetchUnpublished(0, 10).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].messageId, "dup");
  // The store is still fine for the next write.
  EXPECT_EQ(
      writeNow(*store, newOrderWrite(sampleOrder(kOrderB), {event(kOrderB, 1, "ok")})).value(),
      WriteOutcome::kCommitted);
}

TEST(SqliteStore, DuplicateIdempotencyKeyAndInboxMessageApplyNothing) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  WriteSet first = newOrderWrite(sampleOrder(kOrderA), {event(kOrderA, 1, "m1")});
  first.idempotency = IdempotencyRecord{"key-1", "fp", "response-1"};
  first.inboxMessage = std::make_pair(std::string("consumer"), std::string("msg-in-1"));
  ASSERT_EQ(writeNow(*store, first).value(), WriteOutcome::kCommitted);

  WriteSet sameKey = newOrderWrite(sampleOrder(kOrderB), {event(kOrderB, 1, "m2")});
  sameKey.idempotency = IdempotencyRecord{"key-1", "fp", "response-2"};
  EXPECT_EQ(writeNow(*store, sameKey).value(), WriteOutcome::kDuplicateIdempotencyKey);

  WriteSet sameMessage = newOrderWrite(sampleOrder(kOrderB), {event(kOrderB, 1, "m3")});
  sameMessage.inboxMessage = std::make_pair(std::string("consumer"), std::string("msg-in-1"));
  EXPECT_EQ(writeNow(*store, sameMessage).value(), WriteOutcome::kDuplicateInboxMessage);

  EXPECT_FALSE(store->findOrder(OrderId(kOrderB))->has_value());
  EXPECT_EQ(store->fetchUnpublished(0, 10)->size(), 1u);
  EXPECT_EQ(store->findIdempotencyRecord("key-1")->value().response, "response-1");
  EXPECT_TRUE(store->inboxContains("consumer", "msg-in-1").value());
  EXPECT_FALSE(store->inboxContains("other-consumer", "msg-in-1").value());
}

TEST(SqliteStore, ConcurrentWritesAllCommitAndConflictsStayIsolated) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;
  std::atomic<int> committed{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  RandomIdGenerator ids;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = ids.uuid();
        auto outcome =
            writeNow(*store, newOrderWrite(sampleOrder(id), {event(id, 1, "msg-" + id)}));
        if (outcome.ok() && outcome.value() == WriteOutcome::kCommitted) ++committed;
        // A stale update in the same batch must not disturb the others.
        WriteSet stale;
        stale.order = OrderWrite{sampleOrder(id), 99, 1, {}};
        if (writeNow(*store, stale).value() == WriteOutcome::kVersionConflict) ++conflicts;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(committed.load(), kThreads * kPerThread);
  EXPECT_EQ(conflicts.load(), kThreads * kPerThread);
  EXPECT_EQ(store->outboxStats()->pending, kThreads * kPerThread);
}

TEST(SqliteStore, ListsNewestFirstWithFiltersAndCursor) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  const std::string userA = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
  const std::string userB = "4fa85f64-5717-4562-b3fc-2c963f66afa6";
  RandomIdGenerator ids;
  std::vector<std::string> userAOrders;
  for (int i = 0; i < 5; ++i) {
    const std::string id = ids.uuid();
    userAOrders.push_back(id);
    ASSERT_TRUE(writeNow(*store, newOrderWrite(sampleOrder(id, 1000 + i, userA), {})).ok());
  }
  ASSERT_TRUE(writeNow(*store, newOrderWrite(sampleOrder(ids.uuid(), 1002, userB), {})).ok());

  OrderQuery query;
  query.userId = userA;
  query.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto result = store->listOrders(query);
    ASSERT_TRUE(result.ok()) << result.error().message;
    for (const auto& order : result->orders) seen.push_back(order.id.str());
    if (result->nextCursor.empty()) break;
    query.cursor = result->nextCursor;
  }
  ASSERT_EQ(seen.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(seen[i], userAOrders[4 - i]);

  OrderQuery byStatus;
  byStatus.status = OrderStatus::kCancelled;
  EXPECT_TRUE(store->listOrders(byStatus)->orders.empty());

  OrderQuery bad;
  bad.cursor = "garbage";
  auto rejected = store->listOrders(bad);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().field, "cursor");
}

TEST(SqliteStore, MarksPublishedNotifiesAndPurgesByRetention) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  std::atomic<int> notified{0};
  store->setOutboxListener([&] { ++notified; });
  ASSERT_TRUE(writeNow(*store, newOrderWrite(sampleOrder(kOrderA),
                                             {event(kOrderA, 1, "m1"), event(kOrderA, 2, "m2")}))
                  .ok());
  EXPECT_GE(notified.load(), 1);
  auto pending = store->fetchUnpublished(0, 10).value();
  std::promise<Status> marked;
  store->markPublished({pending[0].id}, at(5000), [&](Status s) { marked.set_value(s); });
  ASSERT_TRUE(marked.get_future().get().ok());

  auto stats = store->outboxStats().value();
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(stats.published, 1);
  EXPECT_EQ(store->fetchUnpublished(0, 10)->size(), 1u);
  EXPECT_EQ(store->fetchUnpublished(pending[1].id, 10)->size(), 0u);

  EXPECT_EQ(store->deletePublishedBefore(at(4000)).value(), 0);
  EXPECT_EQ(store->deletePublishedBefore(at(6000)).value(), 1);
  EXPECT_EQ(store->outboxStats()->published, 0);
  EXPECT_EQ(store->outboxStats()->pending, 1);
  EXPECT_EQ(countRows(dir.file("orders.db"), "outbox"), 1);  // the row itself, not only its mark
  EXPECT_EQ(store->fetchUnpublished(0, 10)->front().messageId, "m2");
}

TEST(SqliteStore, IdempotencyRecordsExpire) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  WriteSet writes;
  writes.idempotency = IdempotencyRecord{"key-old", "fp", "response"};
  ASSERT_EQ(writeNow(*store, writes).value(), WriteOutcome::kCommitted);
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  EXPECT_EQ(store->deleteIdempotencyRecordsBefore(now - std::chrono::hours(1)).value(), 0);
  EXPECT_TRUE(store->findIdempotencyRecord("key-old")->has_value());
  EXPECT_EQ(store->deleteIdempotencyRecordsBefore(now + std::chrono::seconds(1)).value(), 1);
  EXPECT_FALSE(store->findIdempotencyRecord("key-old")->has_value());
}

TEST(SqliteStore, WritesAfterCloseFailCleanly) {
  TempDir dir;
  auto store = SqliteStore::open(dir.file("orders.db")).value();
  store->close();
  auto result = writeNow(*store, newOrderWrite(sampleOrder(kOrderA), {}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace orders
