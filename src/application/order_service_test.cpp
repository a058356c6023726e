// The use cases against a real SQLite file and the real event library and schemas.

#include "application/order_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "store/sqlite/sqlite_store.hpp"
#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

/// The SQLite store behind a decorator that notes which threads call it and complete its
/// writes, and can lose the outcome of the next write (kInDoubt) or report a version conflict.
class ObservedStore final : public OrderStore {
 public:
  enum class Fault {
    kNone,
    kInDoubtAfterCommit,
    kInDoubtWithoutCommit,
    kConflictWithoutCommit,
    kSecondRowBreaksAConstraint,  // the real store must refuse the whole write
  };

  explicit ObservedStore(OrderStore& inner) : inner_(inner) {}

  Result<std::optional<StoredOrder>> findOrder(const OrderId& id) override {
    note(readers_);
    return inner_.findOrder(id);
  }
  Result<OrderPage> listOrders(const OrderQuery& query) override {
    return inner_.listOrders(query);
  }
  Result<std::optional<IdempotencyRecord>> findIdempotencyRecord(const std::string& key) override {
    note(readers_);
    return inner_.findIdempotencyRecord(key);
  }
  Result<bool> contains(const InboxKey& key) override {
    note(readers_);
    return inner_.contains(key);
  }
  Result<bool> record(const InboxKey& key) override { return inner_.record(key); }
  Result<std::int64_t> deleteRecordedBefore(Timestamp cutoff) override {
    return inner_.deleteRecordedBefore(cutoff);
  }
  Result<std::int64_t> deleteIdempotencyRecordsBefore(Timestamp cutoff) override {
    return inner_.deleteIdempotencyRecordsBefore(cutoff);
  }
  void write(WriteSet writes, std::function<void(Result<WriteOutcome>)> done) override {
    const Fault fault = nextFault.exchange(Fault::kNone);
    if (fault == Fault::kInDoubtWithoutCommit || fault == Fault::kConflictWithoutCommit) {
      std::thread([this, fault, done = std::move(done)] {
        note(writers_);
        if (fault == Fault::kConflictWithoutCommit) return done(WriteOutcome::kVersionConflict);
        done(Error{ErrorCode::kInDoubt, "connection lost during COMMIT"});
      }).join();
      return;
    }
    if (fault == Fault::kSecondRowBreaksAConstraint && writes.order &&
        writes.order->events.size() > 1) {
      writes.order->events[1].body.clear();  // outbox.body has CHECK (body <> '')
    }
    inner_.write(std::move(writes), [this, fault, done = std::move(done)](auto outcome) {
      note(writers_);
      if (fault == Fault::kInDoubtAfterCommit) {
        return done(Error{ErrorCode::kInDoubt, "connection lost during COMMIT"});
      }
      done(std::move(outcome));
    });
  }

  /// True when no read ran on a thread that completed a write.
  bool readsStayedOffTheWriters() {
    std::lock_guard lock(mutex_);
    for (auto id : readers_) {
      if (writers_.count(id)) return false;
    }
    return !writers_.empty();
  }
  bool isWriter(std::thread::id id) {
    std::lock_guard lock(mutex_);
    return writers_.count(id) > 0;
  }

  std::atomic<Fault> nextFault{Fault::kNone};

 private:
  void note(std::set<std::thread::id>& threads) {
    std::lock_guard lock(mutex_);
    threads.insert(std::this_thread::get_id());
  }
  OrderStore& inner_;
  std::mutex mutex_;
  std::set<std::thread::id> readers_;
  std::set<std::thread::id> writers_;
};

class OrderServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = SqliteStore::open(dir_.file("orders.db")).value();
    observed_ = std::make_unique<ObservedStore>(*store_);
    schemas_ =
        std::make_unique<SchemaRegistry>(SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR).value());
    events_ = std::make_unique<EventFactory>(*schemas_, ids_);
    service_ = std::make_unique<OrderService>(*observed_, *events_, clock_, ids_, continuations_);
  }
  void TearDown() override {
    service_.reset();
    continuations_.stop();
    store_.reset();
  }

  std::size_t storedOrders() {
    OrderQuery all;
    all.limit = 100;
    return store_->listOrders(all).value().orders.size();
  }

  static NewOrder newOrder() {
    NewOrder order;
    order.userId = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    order.currency = "USD";
    order.items = {{"prod-456", 1, 9999}, {"prod-789", 1, 5000}};
    order.customer = {"John Doe", "john.doe@example.com"};
    order.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
    return order;
  }

  Order create(RequestContext context = {}) {
    auto outcome = service_->executeAndWait(
        std::nullopt,
        [](const Order*, const ActionContext& c) { return createOrder(newOrder(), c); },
        std::move(context));
    EXPECT_TRUE(outcome.ok()) << outcome.error().message;
    return outcome->change.order;
  }

  Result<CommandOutcome> act(const Order& order, OrderAction action, RequestContext context = {}) {
    return service_->executeAndWait(order.id, std::move(action), std::move(context));
  }

  testing::TempDir dir_{"order-service"};
  testing::ManualClock clock_{Timestamp(std::chrono::milliseconds(1700000000123))};
  RandomIdGenerator ids_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ObservedStore> observed_;
  ThreadPool continuations_{2, "continuations"};
  std::unique_ptr<SchemaRegistry> schemas_;
  std::unique_ptr<EventFactory> events_;
  std::unique_ptr<OrderService> service_;
};

TEST_F(OrderServiceTest, CreateStoresTheOrderAndItsEventsInOrder) {
  RequestContext context;
  context.correlationId = "corr-123";
  const Order order = create(context);
  auto stored = service_->getOrder(order.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->lastEventSequence, 3);
  auto outbox = store_->fetchUnpublished(0, 10).value();
  ASSERT_EQ(outbox.size(), 3u);
  for (std::size_t i = 0; i < outbox.size(); ++i) {
    EXPECT_EQ(outbox[i].sequence, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(outbox[i].partitionKey, order.id.str());
    EXPECT_EQ(outbox[i].correlationId, "corr-123");
    EXPECT_TRUE(schemas_->validateMessage(outbox[i].body).ok()) << outbox[i].body;
  }
  EXPECT_EQ(outbox[0].messageType, "OrderCreatedEvent");
}

/// The service with OrderCreatedEvent published at 1.0 and 2.0 side by side, on the same store.
class OrderServiceBothMajorsTest : public OrderServiceTest {
 protected:
  void SetUp() override {
    OrderServiceTest::SetUp();
    useSchemas(ORDER_SERVICE_SCHEMA_DIR);
  }
  void useSchemas(const std::string& directory) {
    service_.reset();
    schemas_ = std::make_unique<SchemaRegistry>(SchemaRegistry::load(directory).value());
    EventFactoryOptions options;
    options.versions = PublishedVersions::parse({"OrderCreatedEvent=1.0,2.0"}).value();
    events_ = std::make_unique<EventFactory>(*schemas_, ids_, options);
    service_ = std::make_unique<OrderService>(*observed_, *events_, clock_, ids_, continuations_);
  }
  Result<CommandOutcome> tryCreate() {
    return service_->executeAndWait(
        std::nullopt,
        [](const Order*, const ActionContext& c) { return createOrder(newOrder(), c); }, {});
  }
};

TEST_F(OrderServiceBothMajorsTest, OneOrderWritesBothMajorsInTheSameCommit) {
  const Order order = create();
  auto outbox = store_->fetchUnpublished(0, 10).value();
  ASSERT_EQ(outbox.size(), 4u) << "1.0 and 2.0 of OrderCreatedEvent, then the other two events";
  EXPECT_EQ(outbox[0].messageType, "OrderCreatedEvent");
  EXPECT_EQ(outbox[0].messageVersion, "1.0");
  EXPECT_EQ(outbox[1].messageType, "OrderCreatedEvent");
  EXPECT_EQ(outbox[1].messageVersion, "2.0");
  EXPECT_NE(outbox[0].messageId, outbox[1].messageId);
  EXPECT_EQ(outbox[0].partitionKey, order.id.str());
  EXPECT_EQ(outbox[1].partitionKey, order.id.str());
  EXPECT_EQ(outbox[0].sequence, 1);
  EXPECT_EQ(outbox[1].sequence, 1) << "one domain event, one sequence number";
  EXPECT_EQ(outbox[2].sequence, 2);
  EXPECT_EQ(outbox[3].sequence, 3);
  for (const auto& row : outbox) {
    EXPECT_TRUE(schemas_->validateMessage(row.body).ok()) << row.body;
  }
  // The order counts its domain events, so the next change continues at 4.
  EXPECT_EQ(service_->getOrder(order.id)->lastEventSequence, 3);
  ASSERT_TRUE(
      act(order, [](const Order* o, const ActionContext& c) { return startPayment(*o, c); }).ok());
  auto after = store_->fetchUnpublished(outbox.back().id, 10).value();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].sequence, 4);
}

TEST_F(OrderServiceBothMajorsTest, AStoreFailureOnTheSecondRowWritesNeitherRowNorTheOrder) {
  observed_->nextFault = ObservedStore::Fault::kSecondRowBreaksAConstraint;
  auto outcome = tryCreate();
  ASSERT_FALSE(outcome.ok()) << "the real store refused the row";
  EXPECT_EQ(storedOrders(), 0u);
  EXPECT_TRUE(store_->fetchUnpublished(0, 10)->empty()) << "not even the valid 1.0 row";
  create();  // the store is fine afterwards
  EXPECT_EQ(store_->fetchUnpublished(0, 10)->size(), 4u);
}

TEST_F(OrderServiceBothMajorsTest, A2Point0ThatFailsItsSchemaWritesNeitherVersion) {
  testing::TempDir drifted("drifted-schemas");
  std::filesystem::copy(ORDER_SERVICE_SCHEMA_DIR, drifted.path(),
                        std::filesystem::copy_options::recursive);
  const auto file = drifted.path() / "events" / "OrderCreatedEvent" / "2.0.json";
  auto schema = nlohmann::json::parse(std::ifstream(file));
  schema["required"].push_back("loyaltyTier");
  std::ofstream(file) << schema.dump(2);
  useSchemas(drifted.path().string());

  auto outcome = tryCreate();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, ErrorCode::kInternal);
  EXPECT_EQ(storedOrders(), 0u);
  EXPECT_TRUE(store_->fetchUnpublished(0, 10)->empty());
}

TEST_F(OrderServiceTest, LaterEventsContinueTheOrdersSequence) {
  const Order order = create();
  ASSERT_TRUE(
      act(order, [](const Order* o, const ActionContext& c) { return startPayment(*o, c); }).ok());
  auto outbox = store_->fetchUnpublished(0, 10).value();
  ASSERT_EQ(outbox.size(), 5u);
  EXPECT_EQ(outbox[3].sequence, 4);
  EXPECT_EQ(outbox[3].messageType, "OrderStatusChangedEvent");
  EXPECT_EQ(outbox[4].sequence, 5);
}

TEST_F(OrderServiceTest, ARefusedActionWritesNothing) {
  const Order order = create();
  auto refused = act(order, [](const Order* o, const ActionContext& c) {
    return applyPaymentResult(*o, {PaymentOutcome::kCompleted, "txn", "", ""}, c);
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kTransitionNotAllowed);
  EXPECT_EQ(service_->getOrder(order.id)->order.version, 1);
  EXPECT_EQ(store_->fetchUnpublished(0, 10)->size(), 3u);
}

TEST_F(OrderServiceTest, UnknownOrderIsNotFound) {
  Order ghost;
  ghost.id = OrderId("00000000-0000-4000-8000-000000000000");
  auto result =
      act(ghost, [](const Order* o, const ActionContext& c) { return startPayment(*o, c); });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
}

TEST_F(OrderServiceTest, IfMatchMismatchIsPreconditionFailed) {
  const Order order = create();
  auto pay = [](const Order* o, const ActionContext& c) { return startPayment(*o, c); };
  RequestContext context;
  context.acceptedVersions = std::vector<std::int64_t>{7};
  auto result = act(order, pay, context);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(result.error().message, "the order is at version 1; If-Match accepts 7");
  // A tag list that names no version of this API ("bogus") matches nothing.
  context.acceptedVersions = std::vector<std::int64_t>{};
  result = act(order, pay, context);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(result.error().message, "the order is at version 1; If-Match names no version of it");
  // Any listed version matches.
  context.acceptedVersions = std::vector<std::int64_t>{5, 1};
  EXPECT_TRUE(act(order, pay, context).ok());
}

TEST_F(OrderServiceTest, IdempotencyKeyReplaysTheFirstResponse) {
  RequestContext context;
  context.idempotencyKey = "POST /v1/orders|abc";
  context.requestFingerprint = "fp-1";
  int recorded = 0;
  auto recorder = [&recorded](const Change& change) {
    ++recorded;
    return "created " + change.order.id.str();
  };
  auto action = [](const Order*, const ActionContext& c) { return createOrder(newOrder(), c); };
  auto first = service_->executeAndWait(std::nullopt, action, context, recorder);
  ASSERT_TRUE(first.ok());
  auto second = service_->executeAndWait(std::nullopt, action, context, recorder);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->replayedResponse.has_value());
  EXPECT_EQ(*second->replayedResponse, "created " + first->change.order.id.str());
  EXPECT_EQ(recorded, 1);
  EXPECT_EQ(store_->fetchUnpublished(0, 100)->size(), 3u);  // one order, not two

  context.requestFingerprint = "fp-other";
  auto reused = service_->executeAndWait(std::nullopt, action, context, recorder);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, ErrorCode::kConflict);
}

TEST_F(OrderServiceTest, InboxMakesARedeliveredMessageANoOp) {
  const Order order = create();
  RequestContext context;
  context.inboxMessage = std::make_pair(std::string("payments"), std::string("msg-1"));
  auto action = [](const Order* o, const ActionContext& c) { return startPayment(*o, c); };
  auto first = act(order, action, context);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  auto again = act(order, action, context);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(service_->getOrder(order.id)->order.version, 2);
}

TEST_F(OrderServiceTest, ConcurrentChangesOfOneOrderAllApplyInSequence) {
  const Order order = create();
  ASSERT_TRUE(
      act(order, [](const Order* o, const ActionContext& c) { return startPayment(*o, c); }).ok());
  ASSERT_TRUE(act(order, [](const Order* o, const ActionContext& c) {
                return applyPaymentResult(*o, {PaymentOutcome::kCompleted, "txn", "", ""}, c);
              }).ok());
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> succeeded{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto result = act(order, [](const Order* o, const ActionContext& c) {
        return requestRefund(*o, 100, "partial", c);
      });
      if (result.ok()) ++succeeded;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), kThreads);
  auto stored = service_->getOrder(order.id).value();
  EXPECT_EQ(stored.order.refunds.size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(stored.order.version, 3 + kThreads);
  auto outbox = store_->fetchUnpublished(0, 100).value();
  for (std::size_t i = 0; i < outbox.size(); ++i) {
    EXPECT_EQ(outbox[i].sequence, static_cast<std::int64_t>(i + 1));
  }
}

}  // namespace
}  // namespace orders

namespace orders {
namespace {

TEST_F(OrderServiceTest, NothingButCommitsRunsOnTheStoresWriterThread) {
  const Order order = create();
  // A version conflict makes the service re-read and re-apply: that must not happen on the
  // thread that completed the write, nor may the caller's completion run there.
  observed_->nextFault = ObservedStore::Fault::kConflictWithoutCommit;
  std::promise<std::thread::id> doneOn;
  service_->execute(
      order.id, [](const Order* o, const ActionContext& c) { return startPayment(*o, c); }, {}, {},
      [&doneOn](const Result<CommandOutcome>& outcome) {
        EXPECT_TRUE(outcome.ok());
        doneOn.set_value(std::this_thread::get_id());
      });
  EXPECT_FALSE(observed_->isWriter(doneOn.get_future().get()));
  EXPECT_TRUE(observed_->readsStayedOffTheWriters());
  EXPECT_EQ(service_->getOrder(order.id)->order.status, OrderStatus::kPaymentProcessing);
}

TEST_F(OrderServiceTest, AnInDoubtCommitThatHappenedIsASuccessNotARetry) {
  observed_->nextFault = ObservedStore::Fault::kInDoubtAfterCommit;
  const Order order = create();
  EXPECT_EQ(storedOrders(), 1u);
  EXPECT_EQ(service_->getOrder(order.id)->order.version, 1);
  EXPECT_EQ(store_->fetchUnpublished(0, 10).value().size(), 3u);  // its events, once
}

TEST_F(OrderServiceTest, AnInDoubtCommitThatDidNotHappenIsAppliedAgain) {
  observed_->nextFault = ObservedStore::Fault::kInDoubtWithoutCommit;
  const Order order = create();
  EXPECT_EQ(storedOrders(), 1u);
  EXPECT_TRUE(service_->getOrder(order.id).ok());

  observed_->nextFault = ObservedStore::Fault::kInDoubtWithoutCommit;
  auto paid =
      act(order, [](const Order* o, const ActionContext& c) { return startPayment(*o, c); });
  ASSERT_TRUE(paid.ok()) << paid.error().message;
  EXPECT_EQ(service_->getOrder(order.id)->order.version, 2);  // applied exactly once
}

TEST_F(OrderServiceTest, AnInDoubtCommitWithAnIdempotencyKeyIsSettledByItsRecord) {
  RequestContext context;
  context.idempotencyKey = "POST /v1/orders|in-doubt";
  context.requestFingerprint = "fp";
  observed_->nextFault = ObservedStore::Fault::kInDoubtAfterCommit;
  const Order first = create(context);
  EXPECT_FALSE(first.id.empty());
  // The retry a client would make: the recorded answer, not a second order.
  auto again = service_->executeAndWait(
      std::nullopt, [](const Order*, const ActionContext& c) { return createOrder(newOrder(), c); },
      context, [](const Change&) { return std::string("recorded"); });
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayedResponse.has_value());
  EXPECT_EQ(storedOrders(), 1u);
}

}  // namespace
}  // namespace orders
