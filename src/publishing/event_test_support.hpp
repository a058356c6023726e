#pragma once
// Test support for the event library: predictable ids and clock, and realistic orders driven
// through the real domain actions, so every event a test renders is one the service can produce.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "events/schema_registry.hpp"
#include "orders/order_actions.hpp"

namespace orders::testing {

inline constexpr const char* kUserId = "3fa85f64-5717-4562-b3fc-2c963f66afa6";  // seed 003
/// Seed 003's order id (f47ac10b-58cc-4372-a567-0e02b2c3d479) as the service makes it: a
/// time-ordered UUID (common/ids.hpp) whose first 48 bits are the stories' creation time,
/// 2023-11-21T12:34:56.789Z, and whose random bits are the seed's. Handed to FixedIds, it comes
/// back unchanged from createOrder at that time.
inline constexpr const char* kOrderId = "018bf1e0-6495-7372-a567-0e02b2c3d479";
inline constexpr const char* kUser = "user:3fa85f64-5717-4562-b3fc-2c963f66afa6";
inline constexpr const char* kCorrelationId = "corr-12345678-1234-1234-1234-123456789012";

/// Hands out the given ids first, then version 4 UUIDs from a fixed pseudo-random sequence:
/// realistic-looking, identical on every run.
class FixedIds final : public IdGenerator {
 public:
  explicit FixedIds(std::deque<std::string> first = {}, std::uint64_t seed = 42)
      : first_(std::move(first)), state_(seed) {}

  std::string uuid() override {
    if (!first_.empty()) {
      std::string id = std::move(first_.front());
      first_.pop_front();
      return id;
    }
    const std::uint64_t hi = next();
    const std::uint64_t lo = next();
    char text[37];
    std::snprintf(text, sizeof text, "%08x-%04x-4%03x-%04x-%012llx",
                  static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                  static_cast<unsigned>(hi & 0xfff),
                  static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3fff)),
                  static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return text;
  }

 private:
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::deque<std::string> first_;
  std::uint64_t state_;
};

/// The schemas/ of this repository, loaded once (a failure fails the test that asked).
inline const SchemaRegistry& publishedSchemas() {
  static const SchemaRegistry loaded = [] {
    auto result = SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR);
    if (!result) ADD_FAILURE() << result.error().message;
    return std::move(result).value();
  }();
  return loaded;
}

inline Timestamp at(const std::string& iso8601) {
  Timestamp t{};
  EXPECT_TRUE(parseIso8601(iso8601, t)) << iso8601;
  return t;
}

/// The seed's order: John Doe buys prod-456 (99.99) and prod-789 (50.00), 149.99 USD in all.
inline NewOrder seedOrder() {
  NewOrder order;
  order.userId = kUserId;
  order.currency = "USD";
  order.items = {{"prod-456", 1, 9999}, {"prod-789", 1, 5000}};
  order.customer = {"John Doe", "john.doe@example.com"};
  order.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
  return order;
}

/// Applies a domain action and fails the test (returning the unchanged input) if it is refused.
template <typename Action>
Change step(Action&& action) {
  auto result = std::forward<Action>(action)();
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return result.ok() ? std::move(result).value() : Change{};
}

/// One order's whole life, every step through the real actions and with its own time and actor.
/// Shared by the per-event tests and the generated examples of docs/events/.
struct OrderStory {
  explicit OrderStory(FixedIds& ids) : ids_(ids) {
    const auto ctx = [&](const char* time, std::string who) {
      return ActionContext{at(time), std::move(who), ids_};
    };
    created =
        step([&] { return createOrder(seedOrder(), ctx("2023-11-21T12:34:56.789Z", kUser)); });
    OrderPatch patch;
    patch.shippingAddress = Address{"456 Oak Ave", "Anytown", "12345", "US"};
    updated = step(
        [&] { return updateOrder(created.order, patch, ctx("2023-11-21T12:40:00.000Z", kUser)); });
    paymentStarted =
        step([&] { return startPayment(updated.order, ctx("2023-11-22T14:30:00.000Z", kUser)); });
    paymentFailed = step([&] {
      return applyPaymentResult(
          paymentStarted.order,
          {PaymentOutcome::kFailed, "txn_098zyx765wvu", "card_declined", "Insufficient funds"},
          ctx("2023-11-22T14:31:10.250Z", "PaymentServiceCallback"));
    });
    paymentRetried = step(
        [&] { return startPayment(paymentFailed.order, ctx("2023-11-22T14:33:00.000Z", kUser)); });
    paid = step([&] {
      return applyPaymentResult(paymentRetried.order,
                                {PaymentOutcome::kCompleted, "txn_123abc456efg", "", ""},
                                ctx("2023-11-22T14:35:12.487Z", "PaymentServiceCallback"));
    });
    shippedPart = step([&] {
      return shipOrder(paid.order, {"UPS", "1Z999AA10123456784", {{"prod-456", 1}}},
                       ctx("2023-11-23T09:15:00.000Z", "FulfillmentService"));
    });
    shippedRest = step([&] {
      return shipOrder(shippedPart.order, {"DHL", "JD014600006281230704", {}},
                       ctx("2023-11-23T16:45:00.000Z", "FulfillmentService"));
    });
    deliveredFirst = step([&] {
      return deliverOrder(shippedRest.order, {shippedPart.order.shipments.at(0).id, false},
                          ctx("2023-11-24T11:02:33.000Z", "FulfillmentService"));
    });
    deliveredAll = step([&] {
      return deliverOrder(deliveredFirst.order, {shippedRest.order.shipments.at(1).id, false},
                          ctx("2023-11-25T10:20:00.000Z", "FulfillmentService"));
    });
    refundRequested = step([&] {
      return requestRefund(deliveredAll.order, 5000, "Item arrived damaged",
                           ctx("2023-11-28T08:00:00.000Z", "CustomerSupport"));
    });
    refundProcessed = step([&] {
      return markRefundProcessed(refundRequested.order, refundRequested.order.refunds.at(0).id,
                                 "rf_txn_789xyz",
                                 ctx("2023-11-29T16:20:00.000Z", "PaymentServiceCallback"));
    });
  }

  FixedIds& ids_;
  Change created, updated, paymentStarted, paymentFailed, paymentRetried, paid, shippedPart,
      shippedRest, deliveredFirst, deliveredAll, refundRequested, refundProcessed;
};

/// The seed order created, its payment started and completed by `transactionId`: where the
/// stories below begin.
inline Change paidSeedOrder(FixedIds& ids, const char* transactionId) {
  const auto ctx = [&](const char* time, std::string who) {
    return ActionContext{at(time), std::move(who), ids};
  };
  const auto created =
      step([&] { return createOrder(seedOrder(), ctx("2023-11-21T10:00:00.000Z", kUser)); });
  const auto started =
      step([&] { return startPayment(created.order, ctx("2023-11-21T10:01:00.000Z", kUser)); });
  return step([&] {
    return applyPaymentResult(started.order, {PaymentOutcome::kCompleted, transactionId, "", ""},
                              ctx("2023-11-21T10:01:05.000Z", "PaymentServiceCallback"));
  });
}

/// A paid order that the customer collects in a store: AWAITING_PICKUP set through the generic
/// status action with a caller-supplied changeContext, then handed over.
struct PickupStory {
  explicit PickupStory(FixedIds& ids) {
    const auto ctx = [&](const char* time, std::string who) {
      return ActionContext{at(time), std::move(who), ids};
    };
    const auto paid = paidSeedOrder(ids, "txn_555pickup");
    StatusChangeRequest request{OrderStatus::kAwaitingPickup, "Ready for pickup in store",
                                ChangeContext{R"({"pickupLocationId":"store-007",)"
                                              R"("pickupReadyBy":"2023-11-24T17:00:00Z"})",
                                              {}}};
    readyForPickup = step([&] {
      return changeStatus(paid.order, request, ctx("2023-11-23T08:00:00.000Z", "store-007"));
    });
    pickedUp = step([&] {
      return deliverOrder(readyForPickup.order, {std::nullopt, true},
                          ctx("2023-11-24T12:10:00.000Z", "store-007"));
    });
  }

  Change readyForPickup, pickedUp;
};

/// A paid order cancelled before fulfilment: the refund is still owed.
struct CancelStory {
  explicit CancelStory(FixedIds& ids) {
    const auto ctx = [&](const char* time, std::string who) {
      return ActionContext{at(time), std::move(who), ids};
    };
    const auto paid = paidSeedOrder(ids, "txn_777cancel");
    cancelled = step([&] {
      return cancelOrder(paid.order, "Customer changed their mind",
                         ctx("2023-11-21T18:30:00.000Z", kUser));
    });
  }

  Change cancelled;
};

}  // namespace orders::testing
