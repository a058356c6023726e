#include "store/testing/store_conformance.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/ids.hpp"

namespace orders::testing {

std::string storeFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

namespace {

/// An OrderStore as the inbox suite sees it. A handler's effect is a new order written with the
/// inbox key in one WriteSet; a failing effect is an event the store must refuse (empty body); a
/// throwing effect throws while the WriteSet is built, before anything reaches the store.
class OrderStoreInbox final : public InboxUnderTest {
 public:
  OrderStoreInbox(std::unique_ptr<StoreUnderTest> store, std::shared_ptr<IdGenerator> ids)
      : store_(std::move(store)), ids_(std::move(ids)) {}
  ~OrderStoreInbox() override { store_->close(); }

  Inbox& inbox() override { return store_->orders(); }

  HandlerResult recordWithEffect(const InboxKey& key, Effect effect) override {
    const std::string orderId = ids_->uuid();
    EncodedMessage event = sampleEvent(orderId, 1, "msg-" + orderId);
    if (effect == Effect::kThrows) throw std::runtime_error("the handler threw");
    if (effect == Effect::kFails) event.body.clear();
    WriteSet writes = newOrderWrite(sampleOrder(orderId), {event});
    writes.inboxMessage = key;
    {
      std::lock_guard lock(mutex_);
      orders_.emplace(key.consumer + "/" + key.messageId, orderId);
    }
    auto outcome = writeAndWait(store_->orders(), std::move(writes));
    if (!outcome) return outcome.error();
    switch (*outcome) {
      case WriteOutcome::kCommitted:
        return Handled::kApplied;
      case WriteOutcome::kDuplicateInboxMessage:
        return Handled::kDuplicate;
      default:
        return Error{ErrorCode::kInternal, "unexpected write outcome"};
    }
  }

  std::int64_t effects(const InboxKey& key) override {
    std::vector<std::string> candidates;
    {
      std::lock_guard lock(mutex_);
      auto [begin, end] = orders_.equal_range(key.consumer + "/" + key.messageId);
      for (auto it = begin; it != end; ++it) candidates.push_back(it->second);
    }
    std::int64_t stored = 0;
    for (const auto& id : candidates) {
      if (store_->orders().findOrder(OrderId(id)).value().has_value()) ++stored;
    }
    return stored;
  }

  std::unique_ptr<InboxUnderTest> reopen() override {
    auto reopened = std::make_unique<OrderStoreInbox>(store_->reopen(), ids_);
    std::lock_guard lock(mutex_);
    reopened->orders_ = orders_;
    return reopened;
  }

 private:
  std::unique_ptr<StoreUnderTest> store_;
  std::shared_ptr<IdGenerator> ids_;
  std::mutex mutex_;
  std::multimap<std::string, std::string> orders_;  // "consumer/messageId" -> order ids tried
};

}  // namespace

InboxFactory orderStoreInbox(StoreFactory stores) {
  return InboxFactory{
      std::move(stores.name),
      [open = std::move(stores.open)](const Clock& clock) -> std::unique_ptr<InboxUnderTest> {
        return std::make_unique<OrderStoreInbox>(open(clock),
                                                 std::make_shared<RandomIdGenerator>());
      }};
}

namespace {

using namespace std::chrono_literals;

constexpr const char* kOrderA = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
constexpr const char* kOrderB = "a47ac10b-58cc-4372-a567-0e02b2c3d479";

TEST_P(StoreConformance, StoresAnOrderWithItsEventsAndReadsThemBack) {
  auto outcome = writeAndWait(
      orders(), newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "msg-1"),
                                                     sampleEvent(kOrderA, 2, "msg-2")}));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome.value(), WriteOutcome::kCommitted);

  auto found = orders().findOrder(OrderId(kOrderA));
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->order.customer.name, "Zoë Ünicode");
  EXPECT_EQ((*found)->order.totalAmount, 3998);
  EXPECT_EQ((*found)->order.createdAt, at(1000));
  EXPECT_EQ((*found)->lastEventSequence, 2);

  auto pending = outbox().fetchUnpublished(0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  const OutboxMessage& first = (*pending)[0];
  EXPECT_EQ(first.messageId, "msg-1");
  EXPECT_EQ(first.messageType, "OrderCreatedEvent");
  EXPECT_EQ(first.messageVersion, "1.0");
  EXPECT_EQ(first.partitionKey, kOrderA);
  EXPECT_EQ(first.sequence, 1);
  EXPECT_EQ(first.correlationId, "");
  EXPECT_EQ(first.source, "OrderService");
  EXPECT_EQ(first.timestamp, at(1001));
  EXPECT_EQ(first.body, R"({"messageId":"msg-1"})");
  EXPECT_EQ(first.traceparent, "");
  EXPECT_EQ(first.tracestate, "");
  EXPECT_EQ((*pending)[1].sequence, 2);
  EXPECT_LT(first.id, (*pending)[1].id);
  EXPECT_FALSE(orders().findOrder(OrderId(kOrderB))->has_value());
}

TEST_P(StoreConformance, KeepsEverythingAcrossAReopen) {
  WriteSet writes = newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "msg-1")});
  writes.idempotency = IdempotencyRecord{"key-1", "fp", "response-1"};
  writes.inboxMessage = InboxKey{"consumer", "msg-in-1"};
  ASSERT_EQ(writeAndWait(orders(), writes).value(), WriteOutcome::kCommitted);
  const auto id = outbox().fetchUnpublished(0, 10).value().at(0).id;
  ASSERT_TRUE(markAndWait(outbox(), {id}, at(5000)).ok());
  ASSERT_TRUE(writeAndWait(orders(),
                           newOrderWrite(sampleOrder(kOrderB), {sampleEvent(kOrderB, 1, "msg-2")}))
                  .ok());

  store_ = store_->reopen();
  EXPECT_TRUE(orders().findOrder(OrderId(kOrderA))->has_value());
  EXPECT_EQ(orders().findIdempotencyRecord("key-1")->value().response, "response-1");
  EXPECT_TRUE(orders().contains({"consumer", "msg-in-1"}).value());
  auto pending = outbox().fetchUnpublished(0, 10).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].messageId, "msg-2");
  EXPECT_GT(pending[0].id, id) << "ids only grow";
  EXPECT_EQ(outbox().outboxStats()->published, 1);
}

TEST_P(StoreConformance, AStaleVersionIsAConflictAndWritesNothing) {
  ASSERT_TRUE(
      writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "m1")}))
          .ok());
  Order changed = sampleOrder(kOrderA);
  changed.version = 2;
  changed.status = OrderStatus::kPaymentProcessing;
  WriteSet stale;
  stale.order = OrderWrite{changed, /*expectedVersion=*/7, 2, {sampleEvent(kOrderA, 2, "m2")}};
  stale.idempotency = IdempotencyRecord{"key-stale", "fp", "response"};
  stale.inboxMessage = InboxKey{"consumer", "msg-stale"};
  EXPECT_EQ(writeAndWait(orders(), stale).value(), WriteOutcome::kVersionConflict);
  EXPECT_EQ(orders().findOrder(OrderId(kOrderA))->value().order.status,
            OrderStatus::kPendingPayment);
  EXPECT_EQ(outbox().fetchUnpublished(0, 10)->size(), 1u);
  EXPECT_FALSE(orders().findIdempotencyRecord("key-stale")->has_value());
  EXPECT_FALSE(orders().contains({"consumer", "msg-stale"}).value());

  WriteSet current = stale;
  current.order->expectedVersion = 1;
  EXPECT_EQ(writeAndWait(orders(), current).value(), WriteOutcome::kCommitted);
  EXPECT_EQ(orders().findOrder(OrderId(kOrderA))->value().order.version, 2);
  EXPECT_EQ(orders().findOrder(OrderId(kOrderA))->value().lastEventSequence, 2);
}

TEST_P(StoreConformance, CreatingAnOrderThatExistsIsAVersionConflict) {
  ASSERT_TRUE(writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderA), {})).ok());
  EXPECT_EQ(writeAndWait(orders(),
                         newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "again")}))
                .value(),
            WriteOutcome::kVersionConflict);
  EXPECT_TRUE(outbox().fetchUnpublished(0, 10)->empty());
}

TEST_P(StoreConformance, AFailedWriteLeavesNeitherTheChangeNorItsEvents) {
  ASSERT_TRUE(
      writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "dup")}))
          .ok());
  // Every store refuses an event without a body. It is the write's second event: the order and
  // its first event were already written inside the transaction when the failure happens.
  EncodedMessage broken = sampleEvent(kOrderB, 2, "broken");
  broken.body.clear();
  WriteSet failing =
      newOrderWrite(sampleOrder(kOrderB), {sampleEvent(kOrderB, 1, "fresh"), broken});
  failing.idempotency = IdempotencyRecord{"key-failing", "fp", "response"};
  failing.inboxMessage = InboxKey{"consumer", "msg-failing"};
  auto result = writeAndWait(orders(), failing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(orders().findOrder(OrderId(kOrderB))->has_value());
  EXPECT_FALSE(orders().findIdempotencyRecord("key-failing")->has_value());
  EXPECT_FALSE(orders().contains({"consumer", "msg-failing"}).value());
  auto pending = outbox().fetchUnpublished(0, 10).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].messageId, "dup");
  // The store is still fine for the next write.
  EXPECT_EQ(
      writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderB), {sampleEvent(kOrderB, 1, "ok")}))
          .value(),
      WriteOutcome::kCommitted);
}

TEST_P(StoreConformance, DuplicateIdempotencyKeyAndInboxMessageApplyNothing) {
  WriteSet first = newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "m1")});
  first.idempotency = IdempotencyRecord{"key-1", "fp", "response-1"};
  first.inboxMessage = InboxKey{"consumer", "msg-in-1"};
  ASSERT_EQ(writeAndWait(orders(), first).value(), WriteOutcome::kCommitted);

  WriteSet sameKey = newOrderWrite(sampleOrder(kOrderB), {sampleEvent(kOrderB, 1, "m2")});
  sameKey.idempotency = IdempotencyRecord{"key-1", "fp", "response-2"};
  EXPECT_EQ(writeAndWait(orders(), sameKey).value(), WriteOutcome::kDuplicateIdempotencyKey);

  WriteSet sameMessage = newOrderWrite(sampleOrder(kOrderB), {sampleEvent(kOrderB, 1, "m3")});
  sameMessage.inboxMessage = InboxKey{"consumer", "msg-in-1"};
  EXPECT_EQ(writeAndWait(orders(), sameMessage).value(), WriteOutcome::kDuplicateInboxMessage);

  EXPECT_FALSE(orders().findOrder(OrderId(kOrderB))->has_value());
  EXPECT_EQ(outbox().fetchUnpublished(0, 10)->size(), 1u);
  const auto record = orders().findIdempotencyRecord("key-1")->value();
  EXPECT_EQ(record.fingerprint, "fp");
  EXPECT_EQ(record.response, "response-1");
  EXPECT_TRUE(orders().contains({"consumer", "msg-in-1"}).value());
  EXPECT_FALSE(orders().contains({"other-consumer", "msg-in-1"}).value());
}

TEST_P(StoreConformance, ConcurrentWritesAllCommitAndConflictsStayIsolated) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 40;
  std::atomic<int> committed{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  RandomIdGenerator ids;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = ids.uuid();
        auto outcome = writeAndWait(
            orders(), newOrderWrite(sampleOrder(id), {sampleEvent(id, 1, "msg-" + id)}));
        if (outcome.ok() && outcome.value() == WriteOutcome::kCommitted) ++committed;
        // A stale update, possibly committed together with the others, must not disturb them.
        WriteSet stale;
        stale.order = OrderWrite{sampleOrder(id), 99, 1, {}};
        if (writeAndWait(orders(), stale).value() == WriteOutcome::kVersionConflict) ++conflicts;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(committed.load(), kThreads * kPerThread);
  EXPECT_EQ(conflicts.load(), kThreads * kPerThread);
  EXPECT_EQ(outbox().outboxStats()->pending, kThreads * kPerThread);
}

TEST_P(StoreConformance, ListsNewestFirstWithFiltersAndCursor) {
  const std::string userA = kSampleUser;
  const std::string userB = "4fa85f64-5717-4562-b3fc-2c963f66afa6";
  RandomIdGenerator ids;
  std::vector<std::string> userAOrders;
  for (int i = 0; i < 5; ++i) {
    const std::string id = ids.uuid();
    userAOrders.push_back(id);
    ASSERT_TRUE(writeAndWait(orders(), newOrderWrite(sampleOrder(id, 1000 + i, userA), {})).ok());
  }
  ASSERT_TRUE(writeAndWait(orders(), newOrderWrite(sampleOrder(ids.uuid(), 1002, userB), {})).ok());

  OrderQuery query;
  query.userId = userA;
  query.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto result = orders().listOrders(query);
    ASSERT_TRUE(result.ok()) << result.error().message;
    for (const auto& order : result->orders) seen.push_back(order.id.str());
    if (result->nextCursor.empty()) break;
    query.cursor = result->nextCursor;
  }
  ASSERT_EQ(seen.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(seen[i], userAOrders[4 - i]);

  OrderQuery everyone;
  EXPECT_EQ(orders().listOrders(everyone)->orders.size(), 6u);
  OrderQuery pending;
  pending.status = OrderStatus::kPendingPayment;
  pending.userId = userB;
  EXPECT_EQ(orders().listOrders(pending)->orders.size(), 1u);
  OrderQuery byStatus;
  byStatus.status = OrderStatus::kCancelled;
  EXPECT_TRUE(orders().listOrders(byStatus)->orders.empty());

  OrderQuery bad;
  bad.cursor = "garbage";
  auto rejected = orders().listOrders(bad);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(rejected.error().field, "cursor");
}

TEST_P(StoreConformance, MarksPublishedNotifiesAndDeletesByRetention) {
  std::atomic<int> notified{0};
  outbox().setOutboxListener([&] { ++notified; });
  ASSERT_TRUE(
      writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "m1"),
                                                                  sampleEvent(kOrderA, 2, "m2")}))
          .ok());
  const int afterEvents = notified.load();
  EXPECT_GE(afterEvents, 1) << "the listener ran before the write completed";
  ASSERT_TRUE(writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderB), {})).ok());
  EXPECT_EQ(notified.load(), afterEvents) << "a write without events wakes nobody";
  outbox().setOutboxListener({});

  auto pending = outbox().fetchUnpublished(0, 10).value();
  ASSERT_EQ(pending.size(), 2u);
  ASSERT_TRUE(markAndWait(outbox(), {pending[0].id}, at(5000)).ok());
  ASSERT_TRUE(markAndWait(outbox(), {pending[0].id}, at(9000)).ok()) << "marking twice is fine";

  auto stats = outbox().outboxStats().value();
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(stats.published, 1);
  ASSERT_TRUE(stats.oldestPendingAt.has_value());
  EXPECT_EQ(*stats.oldestPendingAt, at(1002));
  EXPECT_EQ(outbox().fetchUnpublished(0, 10)->size(), 1u);
  EXPECT_EQ(outbox().fetchUnpublished(pending[1].id, 10)->size(), 0u);

  EXPECT_EQ(outbox().deletePublishedBefore(at(4000)).value(), 0);
  EXPECT_EQ(outbox().deletePublishedBefore(at(6000)).value(), 1) << "the first mark counts";
  EXPECT_EQ(outbox().outboxStats()->published, 0);
  EXPECT_EQ(outbox().outboxStats()->pending, 1);
  EXPECT_EQ(outbox().listEvents({})->size(), 1u) << "the row itself is gone, not only its mark";
  EXPECT_EQ(outbox().fetchUnpublished(0, 10)->front().messageId, "m2");
  EXPECT_EQ(outbox().deletePublishedBefore(at(1'000'000)).value(), 0) << "never a pending row";
}

/// Creates order A with `count` events (messageIds m1, m2, ...) and returns its outbox rows.
std::vector<OutboxMessage> createOrderWithEvents(OrderStore& orders, OutboxStore& outbox,
                                                 int count) {
  std::vector<EncodedMessage> events;
  for (int i = 1; i <= count; ++i) {
    events.push_back(sampleEvent(kOrderA, i, "m" + std::to_string(i)));
  }
  EXPECT_TRUE(writeAndWait(orders, newOrderWrite(sampleOrder(kOrderA), events)).ok());
  return outbox.fetchUnpublished(0, 100).value();
}

TEST_P(StoreConformance, PendingIdsAreTheUnpublishedIdsInTheRange) {
  const auto rows = createOrderWithEvents(orders(), outbox(), 6);
  ASSERT_EQ(rows.size(), 6u);
  ASSERT_TRUE(markAndWait(outbox(), {rows[1].id, rows[4].id}, at(5000)).ok());

  EXPECT_EQ(outbox().pendingIds(0, rows[5].id, 10).value(),
            (std::vector<std::int64_t>{rows[0].id, rows[2].id, rows[3].id, rows[5].id}));
  EXPECT_EQ(outbox().pendingIds(rows[0].id, rows[4].id, 10).value(),
            (std::vector<std::int64_t>{rows[2].id, rows[3].id}))
      << "afterId excluded, upToId included";
  EXPECT_EQ(outbox().pendingIds(0, rows[5].id, 2).value(),
            (std::vector<std::int64_t>{rows[0].id, rows[2].id}))
      << "the lowest ids first, at most limit";
  EXPECT_TRUE(outbox().pendingIds(rows[5].id, rows[5].id + 100, 10)->empty());
}

TEST_P(StoreConformance, PendingIdsNotHeldLeaveOutTheHeldIds) {
  const auto rows = createOrderWithEvents(orders(), outbox(), 8);
  ASSERT_EQ(rows.size(), 8u);
  auto id = [&](std::size_t i) { return rows[i].id; };
  ASSERT_TRUE(markAndWait(outbox(), {id(1), id(5)}, at(5000)).ok());
  // Pending: 0, 2, 3, 4, 6, 7. Held: 2, 4, 6 (and 5, marked since, as a relay may still list it).
  const std::vector<std::int64_t> held{id(2), id(4), id(5), id(6)};

  EXPECT_EQ(outbox().pendingIdsNotHeld(id(6), held, 10).value(),
            (std::vector<std::int64_t>{id(0), id(3)}))
      << "below the lowest held id, and between held ids";
  EXPECT_EQ(outbox().pendingIdsNotHeld(id(7), held, 10).value(),
            (std::vector<std::int64_t>{id(0), id(3), id(7)}))
      << "upToId included";
  EXPECT_EQ(outbox().pendingIdsNotHeld(id(7), held, 1).value(), (std::vector<std::int64_t>{id(0)}))
      << "the lowest ids first, at most limit";
  EXPECT_EQ(outbox().pendingIdsNotHeld(id(7), {}, 10).value(),
            (std::vector<std::int64_t>{id(0), id(2), id(3), id(4), id(6), id(7)}))
      << "nothing held";
  EXPECT_EQ(outbox().pendingIdsNotHeld(id(3), {id(6)}, 10).value(),
            (std::vector<std::int64_t>{id(0), id(2), id(3)}))
      << "held ids above upToId";
  // Far more ids between the held ones than exist (a store may search differently then).
  EXPECT_EQ(outbox().pendingIdsNotHeld(id(7) + 100'000, {id(0), id(3)}, 10).value(),
            (std::vector<std::int64_t>{id(2), id(4), id(6), id(7)}));
}

TEST_P(StoreConformance, FetchUnpublishedIdsReadsThePendingRowsAmongTheIdsInIdOrder) {
  ASSERT_TRUE(
      writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderA), {sampleEvent(kOrderA, 1, "a1"),
                                                                  sampleEvent(kOrderA, 2, "a2"),
                                                                  sampleEvent(kOrderA, 3, "a3")}))
          .ok());
  const auto rows = outbox().fetchUnpublished(0, 10).value();
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(markAndWait(outbox(), {rows[1].id}, at(5000)).ok());

  const auto got =
      outbox().fetchUnpublishedIds({rows[0].id, rows[1].id, rows[2].id, rows[2].id + 1000}).value();
  ASSERT_EQ(got.size(), 2u) << "a published row and an id without a row are not returned";
  EXPECT_EQ(got[0].id, rows[0].id);
  EXPECT_EQ(got[0].messageId, "a1");
  EXPECT_EQ(got[0].body, rows[0].body);
  EXPECT_EQ(got[1].id, rows[2].id);
  EXPECT_EQ(got[1].messageId, "a3");
  EXPECT_TRUE(outbox().fetchUnpublishedIds({}).value().empty());
}

TEST_P(StoreConformance, KeepsEachEventsTraceContext) {
  constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";
  WriteSet a = newOrderWrite(sampleOrder(kOrderA),
                             {sampleEvent(kOrderA, 1, "a1"), sampleEvent(kOrderA, 2, "a2"),
                              sampleEvent(kOrderA, 3, "a3")});
  a.order->events[0].traceparent = kTraceparent;
  a.order->events[0].tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
  a.order->events[1].traceparent = kTraceparent;  // a trace without vendor data
  ASSERT_TRUE(writeAndWait(orders(), a).ok());    // a3: no trace at all

  const auto check = [&](const std::vector<OutboxMessage>& rows) {
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].traceparent, kTraceparent);
    EXPECT_EQ(rows[0].tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    EXPECT_EQ(rows[1].traceparent, kTraceparent);
    EXPECT_EQ(rows[1].tracestate, "");
    EXPECT_EQ(rows[2].traceparent, "");
    EXPECT_EQ(rows[2].tracestate, "");
  };
  check(outbox().fetchUnpublished(0, 10).value());
  std::vector<OutboxMessage> listed;
  const auto events = outbox().listEvents({}).value();
  listed.reserve(events.size());
  for (const auto& event : events) listed.push_back(event.message);
  check(listed);
  store_ = store_->reopen();
  check(outbox().fetchUnpublished(0, 10).value());
}

TEST_P(StoreConformance, ListEventsShowsTheKeptRowsWithTheirPublication) {
  WriteSet a = newOrderWrite(sampleOrder(kOrderA),
                             {sampleEvent(kOrderA, 1, "a1"), sampleEvent(kOrderA, 2, "a2")});
  a.order->events[1].correlationId = "corr-1";
  ASSERT_TRUE(writeAndWait(orders(), a).ok());
  ASSERT_TRUE(
      writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderB), {sampleEvent(kOrderB, 1, "b1")}))
          .ok());
  const auto pending = outbox().fetchUnpublished(0, 10).value();
  ASSERT_TRUE(markAndWait(outbox(), {pending[0].id}, at(5000)).ok());

  const auto all = outbox().listEvents({}).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].message.messageId, "a1");
  EXPECT_EQ(all[0].publishedAt, at(5000));
  EXPECT_EQ(all[1].message.messageId, "a2");
  EXPECT_EQ(all[1].message.correlationId, "corr-1");
  EXPECT_EQ(all[1].message.body, R"({"messageId":"a2"})");
  EXPECT_EQ(all[1].publishedAt, std::nullopt);
  EXPECT_EQ(all[2].message.messageId, "b1");
  EXPECT_EQ(all[2].message.id, pending[2].id);

  OutboxEventQuery ofB;
  ofB.partitionKey = kOrderB;
  const auto onlyB = outbox().listEvents(ofB).value();
  ASSERT_EQ(onlyB.size(), 1u);
  EXPECT_EQ(onlyB[0].message.messageId, "b1");

  OutboxEventQuery page;
  page.afterId = all[0].message.id;
  page.limit = 1;
  const auto second = outbox().listEvents(page).value();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].message.messageId, "a2");
}

TEST_P(StoreConformance, IdempotencyRecordsExpireByTheTimeTheStoreRecordedThem) {
  WriteSet writes;
  writes.idempotency = IdempotencyRecord{"key-old", "fp", "response"};
  ASSERT_EQ(writeAndWait(orders(), writes).value(), WriteOutcome::kCommitted);
  const Timestamp recorded = clock_.now();
  clock_.advance(25h);
  WriteSet later;
  later.idempotency = IdempotencyRecord{"key-new", "fp", "response"};
  ASSERT_EQ(writeAndWait(orders(), later).value(), WriteOutcome::kCommitted);

  EXPECT_EQ(orders().deleteIdempotencyRecordsBefore(recorded).value(), 0);
  EXPECT_TRUE(orders().findIdempotencyRecord("key-old")->has_value());
  EXPECT_EQ(orders().deleteIdempotencyRecordsBefore(clock_.now() - 24h).value(), 1);
  EXPECT_FALSE(orders().findIdempotencyRecord("key-old")->has_value());
  EXPECT_TRUE(orders().findIdempotencyRecord("key-new")->has_value());
}

// Lease cases. kLeaseTtl is short because a store that judges lease time by its server's clock
// really waits it out (letLeaseTimePass); it is long enough that the calls between an
// acquisition and the check that it still stands take far less.
constexpr auto kLeaseTtl = 1000ms;
constexpr const char* kHolderA = "host-a/1/aaaa";
constexpr const char* kHolderB = "host-b/2/bbbb";
constexpr const char* kHolderC = "host-c/3/cccc";

std::optional<LeaseGrant> acquire(RelayLease& lease, const std::string& holder) {
  auto grant = lease.acquireOrRenew(holder, kLeaseTtl);
  EXPECT_TRUE(grant.ok()) << (grant.ok() ? "" : grant.error().message);
  return grant.ok() ? *grant : std::nullopt;
}

TEST_P(StoreConformance, ALeaseIsRenewedByItsHolderWithTheSameEpochAndRefusedToOthers) {
  const auto first = acquire(lease(), kHolderA);
  ASSERT_TRUE(first.has_value()) << "a lease never granted is free";
  EXPECT_GE(first->epoch, 1);
  EXPECT_NE(first->epoch, kNoLeaseEpoch);
  for (int i = 0; i < 3; ++i) {
    const auto renewed = acquire(lease(), kHolderA);
    ASSERT_TRUE(renewed.has_value());
    EXPECT_EQ(renewed->epoch, first->epoch) << "a renewal keeps the epoch";
  }
  EXPECT_FALSE(acquire(lease(), kHolderB).has_value()) << "another holder's lease stands";

  // The lease is stored, not kept in memory: it stands across a reopen.
  store_ = store_->reopen();
  EXPECT_FALSE(acquire(lease(), kHolderB).has_value());
  const auto afterReopen = acquire(lease(), kHolderA);
  ASSERT_TRUE(afterReopen.has_value());
  EXPECT_EQ(afterReopen->epoch, first->epoch);
}

TEST_P(StoreConformance, AnExpiredLeaseGoesToTheNextHolderWithTheNextEpoch) {
  const auto first = acquire(lease(), kHolderA);
  ASSERT_TRUE(first.has_value());
  letLeaseTimePass(kLeaseTtl / 4);
  EXPECT_FALSE(acquire(lease(), kHolderB).has_value()) << "refused until the lease expires";

  letLeaseTimePass(kLeaseTtl);
  const auto second = acquire(lease(), kHolderB);
  ASSERT_TRUE(second.has_value()) << "an expired lease is free";
  EXPECT_EQ(second->epoch, first->epoch + 1);
  EXPECT_FALSE(acquire(lease(), kHolderA).has_value())
      << "the former holder cannot renew a lease another holder took";

  // The former holder expiring without anyone taking over is a new acquisition too: whatever it
  // did under the old epoch is fenced from then on.
  letLeaseTimePass(kLeaseTtl + kLeaseTtl / 4);
  const auto third = acquire(lease(), kHolderB);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->epoch, second->epoch + 1) << "re-taking one's own expired lease";
}

TEST_P(StoreConformance, ReleaseFreesTheLeaseAtOnceButOnlyForItsHolderAndEpoch) {
  const auto first = acquire(lease(), kHolderA);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(lease().release(kHolderB, first->epoch).ok()) << "not B's lease: no effect";
  ASSERT_TRUE(lease().release(kHolderA, first->epoch + 1).ok()) << "not that epoch: no effect";
  EXPECT_FALSE(acquire(lease(), kHolderB).has_value());

  ASSERT_TRUE(lease().release(kHolderA, first->epoch).ok());
  const auto second = acquire(lease(), kHolderB);
  ASSERT_TRUE(second.has_value()) << "released: free at once, without waiting for the expiry";
  EXPECT_EQ(second->epoch, first->epoch + 1);

  ASSERT_TRUE(lease().release(kHolderA, first->epoch).ok()) << "a late release changes nothing";
  EXPECT_FALSE(acquire(lease(), kHolderC).has_value()) << "B still holds it";

  ASSERT_TRUE(lease().release(kHolderB, second->epoch).ok());
  const auto third = acquire(lease(), kHolderB);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->epoch, second->epoch + 1) << "re-taking a released lease is a new epoch";
}

TEST_P(StoreConformance, RejectsALeaseWithoutHolderOrDuration) {
  auto noHolder = lease().acquireOrRenew("", kLeaseTtl);
  ASSERT_FALSE(noHolder.ok());
  EXPECT_EQ(noHolder.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(noHolder.error().field, "holder");
  auto noDuration = lease().acquireOrRenew(kHolderA, 0ms);
  ASSERT_FALSE(noDuration.ok());
  EXPECT_EQ(noDuration.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(noDuration.error().field, "ttl");
  EXPECT_TRUE(acquire(lease(), kHolderA).has_value()) << "a refused call took nothing";
}

TEST_P(StoreConformance, MarksOfAnEpochThatIsNotCurrentAreFencedAndMarkNothing) {
  std::vector<EncodedMessage> events;
  for (int i = 1; i <= 4; ++i) events.push_back(sampleEvent(kOrderA, i, "f" + std::to_string(i)));
  ASSERT_TRUE(writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderA), events)).ok());
  const auto rows = outbox().fetchUnpublished(0, 10).value();
  ASSERT_EQ(rows.size(), 4u);
  auto pendingCount = [&] { return outbox().outboxStats().value().pending; };

  ASSERT_TRUE(markAndWait(outbox(), {rows[0].id}, at(5000), kNoLeaseEpoch).ok())
      << "no lease was ever granted: epoch 0 (single instance without a lease) marks";
  ASSERT_EQ(pendingCount(), 3);

  const auto first = acquire(lease(), kHolderA);
  ASSERT_TRUE(first.has_value());
  auto expectFenced = [&](std::vector<std::int64_t> ids, std::int64_t epoch, const char* why) {
    const Status marked = markAndWait(outbox(), std::move(ids), at(5000), epoch);
    ASSERT_FALSE(marked.ok()) << why;
    EXPECT_EQ(marked.error().code, ErrorCode::kFenced) << why << ": " << marked.error().message;
  };
  expectFenced({rows[1].id, rows[2].id}, kNoLeaseEpoch, "epoch 0 once a lease exists");
  expectFenced({rows[1].id, rows[2].id}, first->epoch + 1, "an epoch not granted yet");
  EXPECT_EQ(pendingCount(), 3) << "a fenced batch marks none of its rows";

  ASSERT_TRUE(markAndWait(outbox(), {rows[1].id}, at(5000), first->epoch).ok());
  EXPECT_EQ(pendingCount(), 2);

  ASSERT_TRUE(lease().release(kHolderA, first->epoch).ok());
  expectFenced({rows[2].id}, first->epoch, "the epoch of a released lease");
  const auto second = acquire(lease(), kHolderB);
  ASSERT_TRUE(second.has_value());
  expectFenced({rows[2].id, rows[3].id}, first->epoch, "a stale epoch: another holder leads");
  EXPECT_EQ(pendingCount(), 2);
  ASSERT_TRUE(markAndWait(outbox(), {rows[2].id, rows[3].id}, at(5000), second->epoch).ok());
  EXPECT_EQ(pendingCount(), 0);
}

TEST_P(StoreConformance, CallsAfterCloseFailCleanly) {
  store_->close();
  auto result = writeAndWait(orders(), newOrderWrite(sampleOrder(kOrderA), {}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  auto marked = markAndWait(outbox(), {1}, at(5000));
  ASSERT_FALSE(marked.ok());
  EXPECT_EQ(marked.error().code, ErrorCode::kUnavailable);
  auto deleted = orders().deleteIdempotencyRecordsBefore(at(5000));
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().code, ErrorCode::kUnavailable);
  auto leased = lease().acquireOrRenew(kHolderA, kLeaseTtl);
  ASSERT_FALSE(leased.ok());
  EXPECT_EQ(leased.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace orders::testing
