#pragma once
// The inbox conformance suite: the contract of consumer/inbox.hpp as value-parameterised
// GoogleTest cases over a factory, so every implementation runs the same cases unchanged:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, InboxConformance,
//                            ::testing::Values(InboxFactory{"SqliteInbox", openSqliteInbox}),
//                            inboxFactoryName);
//
// Instantiated for the tests' MemoryInbox and SqliteInbox
// (src/consumer/sqlite/sqlite_inbox_test.cpp) and for the Order Service's SqliteStore
// (src/store/sqlite/). A PostgreSQL store adds one line.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "consumer/inbox.hpp"
#include "support/manual_clock.hpp"

namespace orders::testing {

/// What the effect of a handler does in recordWithEffect().
enum class Effect {
  kSucceeds,  // writes its effect and succeeds
  kFails,     // writes its effect, then returns an error
  kThrows,    // throws (what it wrote, if anything, must not stay)
};

/// One inbox implementation with its storage, as a test drives it.
class InboxUnderTest {
 public:
  virtual ~InboxUnderTest() = default;
  virtual Inbox& inbox() = 0;
  /// Records `key` together with one effect, in one transaction, the way this implementation's
  /// Deduplication::kHandler handlers do (TransactionalInbox::transact, an OrderStore WriteSet).
  virtual HandlerResult recordWithEffect(const InboxKey& key, Effect effect) = 0;
  /// How many effects recorded with `key` are stored.
  virtual std::int64_t effects(const InboxKey& key) = 0;
  /// Closes and opens the same storage again; nullptr for an implementation that keeps nothing.
  virtual std::unique_ptr<InboxUnderTest> reopen() = 0;
};

struct InboxFactory {
  std::string name;
  /// A fresh, empty inbox whose records are stamped by `clock` (which outlives it).
  std::function<std::unique_ptr<InboxUnderTest>(const Clock& clock)> open;
};

/// For INSTANTIATE_TEST_SUITE_P: the factory's name.
std::string inboxFactoryName(const ::testing::TestParamInfo<InboxFactory>& info);

class InboxConformance : public ::testing::TestWithParam<InboxFactory> {
 protected:
  void SetUp() override { subject_ = GetParam().open(clock_); }
  Inbox& inbox() { return subject_->inbox(); }

  ManualClock clock_;
  std::unique_ptr<InboxUnderTest> subject_;
};

}  // namespace orders::testing
