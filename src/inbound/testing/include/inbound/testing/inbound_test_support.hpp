#pragma once
// Test helpers of the inbound tests (inbound_handlers_test, inbound_events_rmqtest and the
// composition test in tests/component): the Order Service on a temporary SQLite file with the real
// schemas, and orders in the state an inbound message needs.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "application/order_service.hpp"
#include "common/ids.hpp"
#include "events/schema_registry.hpp"
#include "publishing/event_factory.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"

namespace orders::testing {

/// OrderService on its own SQLite file, with the real schemas and a clock that stands still.
class ServiceOnSqlite {
 public:
  explicit ServiceOnSqlite(const std::string& name)
      : dir(name),
        store(SqliteStore::open(dir.file("orders.db")).value()),
        schemas(SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR).value()),
        events(schemas, ids),
        service(*store, events, clock, ids, continuations) {}
  ~ServiceOnSqlite() { store->close(); }
  ServiceOnSqlite(const ServiceOnSqlite&) = delete;
  ServiceOnSqlite& operator=(const ServiceOnSqlite&) = delete;

  /// A new order of the same user and items every time (2 x 19.99 + 50.00 = 89.98 USD), in
  /// PAYMENT_PROCESSING unless `startPayment` is false.
  OrderId createOrder(bool startPayment = true) {
    NewOrder request;
    request.userId = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    request.currency = "USD";
    request.items = {{"prod-456", 2, 1999}, {"prod-789", 1, 5000}};
    request.customer = {"John Doe", "john.doe@example.com"};
    request.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
    RequestContext context;
    context.initiatedBy = "user:" + request.userId;
    auto created = service.executeAndWait(
        std::nullopt,
        [request](const Order*, const ActionContext& ctx) {
          return orders::createOrder(request, ctx);
        },
        context);
    EXPECT_TRUE(created.ok());
    OrderId id = created->change.order.id;
    if (startPayment) {
      auto started = service.executeAndWait(
          id,
          [](const Order* o, const ActionContext& ctx) { return orders::startPayment(*o, ctx); },
          RequestContext{});
      EXPECT_TRUE(started.ok());
    }
    return id;
  }

  Order order(const OrderId& id) { return service.getOrder(id).value().order; }

  /// The outbox rows of one order, oldest first.
  std::vector<OutboxMessage> outbox(const OrderId& id) {
    std::vector<OutboxMessage> rows;
    auto all = store->fetchUnpublished(0, 100000);
    EXPECT_TRUE(all.ok());
    if (!all) return rows;
    for (auto& row : *all) {
      if (row.partitionKey == id.str()) rows.push_back(std::move(row));
    }
    return rows;
  }

  TempDir dir;
  std::unique_ptr<SqliteStore> store;
  SchemaRegistry schemas;
  ManualClock clock;
  RandomIdGenerator ids;
  EventFactory events;
  ThreadPool continuations{1, "continuations"};
  OrderService service;
};

}  // namespace orders::testing
