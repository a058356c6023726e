#pragma once
// The store conformance suite: what every OrderStore + OutboxStore adapter guarantees, as
// value-parameterised GoogleTest cases over a factory. The SQLite store instantiates it
// (src/store/sqlite/sqlite_store_test.cpp); a PostgreSQL store adds its own one-line
// instantiation and runs the same cases unchanged:
//
//   INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformance,
//                            ::testing::Values(StoreFactory{"Postgres", openPostgresStore}),
//                            storeFactoryName);
//
// The same factory also runs the inbox conformance suite against the store (orderStoreInbox()).
// Cases for one backend only (migrations, files, fault injection) stay in that backend's test.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "consumer/testing/inbox_conformance.hpp"
#include "outbox/outbox_store.hpp"
#include "outbox/relay_lease.hpp"
#include "store/order_store.hpp"
#include "store/testing/store_samples.hpp"
#include "support/manual_clock.hpp"

namespace orders::testing {

/// One store with its storage, as a test drives it.
class StoreUnderTest {
 public:
  virtual ~StoreUnderTest() = default;
  virtual OrderStore& orders() = 0;
  virtual OutboxStore& outbox() = 0;
  /// The store's relay lease, on the same storage as outbox() (its epochs fence outbox() marks).
  virtual RelayLease& lease() = 0;
  /// Returns once the clock the store judges lease expiry by has moved on by at least `elapsed`.
  /// The suite has already advanced the store's injected clock (the factory's ManualClock) by
  /// `elapsed`, which is all a store that judges leases by that clock (SQLite) needs: the default
  /// does nothing. A store that judges by its server's time (PostgreSQL) waits until the server's
  /// clock has moved that far (the suite keeps lease ttls short for it).
  virtual void letLeaseTimePass(std::chrono::milliseconds elapsed) { (void)elapsed; }
  /// Finishes what is queued and stops the store: later calls fail with kUnavailable.
  virtual void close() = 0;
  /// Closes this store and opens the same storage again, with the same clock.
  virtual std::unique_ptr<StoreUnderTest> reopen() = 0;
};

struct StoreFactory {
  std::string name;
  /// A fresh, empty store whose clock is `clock` (which outlives it).
  std::function<std::unique_ptr<StoreUnderTest>(const Clock& clock)> open;
};

/// For INSTANTIATE_TEST_SUITE_P: the factory's name.
std::string storeFactoryName(const ::testing::TestParamInfo<StoreFactory>& info);

/// The inbox conformance suite's view of a store: its Inbox, and a handler's effect as an order
/// written in the same WriteSet as the inbox key (the Order Service's Deduplication::kHandler).
InboxFactory orderStoreInbox(StoreFactory stores);

class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam().open(clock_); }
  OrderStore& orders() { return store_->orders(); }
  OutboxStore& outbox() { return store_->outbox(); }
  RelayLease& lease() { return store_->lease(); }
  /// Lets `elapsed` of lease time pass: the injected clock and, for a store that judges by its
  /// server's time, that time too (StoreUnderTest::letLeaseTimePass).
  void letLeaseTimePass(std::chrono::milliseconds elapsed) {
    clock_.advance(elapsed);
    store_->letLeaseTimePass(elapsed);
  }

  ManualClock clock_;
  std::unique_ptr<StoreUnderTest> store_;
};

}  // namespace orders::testing
