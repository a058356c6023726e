#include "consumer/testing/inbox_conformance.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace orders::testing {

std::string inboxFactoryName(const ::testing::TestParamInfo<InboxFactory>& info) {
  return info.param.name;
}

namespace {

using namespace std::chrono_literals;

TEST_P(InboxConformance, RecordsAndFindsKeysPerConsumer) {
  EXPECT_FALSE(inbox().contains({"a", "msg-1"}).value());
  EXPECT_TRUE(inbox().record({"a", "msg-1"}).value());
  EXPECT_FALSE(inbox().record({"a", "msg-1"}).value()) << "already there: false, not an error";
  EXPECT_TRUE(inbox().contains({"a", "msg-1"}).value());
  EXPECT_FALSE(inbox().contains({"b", "msg-1"}).value()) << "another consumer's key";
  EXPECT_FALSE(inbox().contains({"a", "msg-2"}).value());
}

TEST_P(InboxConformance, AKeyIsTheExactPairOfItsParts) {
  ASSERT_TRUE(inbox().record({"a:b", "c"}).value());
  EXPECT_FALSE(inbox().contains({"a", "b:c"}).value());
  EXPECT_FALSE(inbox().contains({"a:b", "C"}).value()) << "message ids are case-sensitive";
  EXPECT_TRUE(inbox().record({"a", "b:c"}).value());
  EXPECT_TRUE(inbox().contains({"a:b", "c"}).value());
}

TEST_P(InboxConformance, AnEffectIsAppliedOnceAndItsRedeliveryIsADuplicate) {
  const InboxKey key{"orders.payments", "msg-1"};
  EXPECT_EQ(subject_->recordWithEffect(key, Effect::kSucceeds).value(), Handled::kApplied);
  EXPECT_EQ(subject_->recordWithEffect(key, Effect::kSucceeds).value(), Handled::kDuplicate);
  EXPECT_EQ(subject_->effects(key), 1);
  EXPECT_TRUE(inbox().contains(key).value());
}

TEST_P(InboxConformance, AFailedEffectStoresNeitherTheEffectNorTheKey) {
  const InboxKey key{"orders.payments", "msg-2"};
  auto failed = subject_->recordWithEffect(key, Effect::kFails);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(subject_->effects(key), 0);
  EXPECT_FALSE(inbox().contains(key).value());
  // The redelivery applies it.
  EXPECT_EQ(subject_->recordWithEffect(key, Effect::kSucceeds).value(), Handled::kApplied);
  EXPECT_EQ(subject_->effects(key), 1);
}

TEST_P(InboxConformance, AThrowingEffectStoresNothingAndPropagates) {
  const InboxKey key{"orders.payments", "msg-3"};
  EXPECT_THROW((void)subject_->recordWithEffect(key, Effect::kThrows), std::runtime_error);
  EXPECT_EQ(subject_->effects(key), 0);
  EXPECT_FALSE(inbox().contains(key).value());
  EXPECT_EQ(subject_->recordWithEffect(key, Effect::kSucceeds).value(), Handled::kApplied);
}

TEST_P(InboxConformance, ConcurrentDeliveriesOfOneMessageApplyOnce) {
  const InboxKey key{"orders.payments", "msg-x"};
  std::atomic<int> applied{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> recorded{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto r = subject_->recordWithEffect(key, Effect::kSucceeds);
      if (r.ok() && r.value() == Handled::kApplied) ++applied;
      if (r.ok() && r.value() == Handled::kDuplicate) ++duplicates;
      if (inbox().record({"other", "msg-x"}).value()) ++recorded;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(applied.load(), 1);
  EXPECT_EQ(duplicates.load(), 3);
  EXPECT_EQ(subject_->effects(key), 1);
  EXPECT_EQ(recorded.load(), 1) << "record() of one key from four threads: true exactly once";
}

TEST_P(InboxConformance, KeysSurviveAReopen) {
  ASSERT_TRUE(inbox().record({"c", "kept"}).value());
  ASSERT_EQ(subject_->recordWithEffect({"c", "kept-too"}, Effect::kSucceeds).value(),
            Handled::kApplied);
  auto reopened = subject_->reopen();
  if (!reopened) GTEST_SKIP() << GetParam().name << " keeps nothing across a reopen";
  subject_ = std::move(reopened);
  EXPECT_TRUE(inbox().contains({"c", "kept"}).value());
  EXPECT_TRUE(inbox().contains({"c", "kept-too"}).value());
  EXPECT_EQ(subject_->recordWithEffect({"c", "kept-too"}, Effect::kSucceeds).value(),
            Handled::kDuplicate);
}

TEST_P(InboxConformance, RetentionDeletesOnlyKeysRecordedBeforeTheCutoff) {
  const Timestamp start = clock_.now();
  ASSERT_TRUE(inbox().record({"c", "old"}).value());
  ASSERT_EQ(subject_->recordWithEffect({"c", "old-effect"}, Effect::kSucceeds).value(),
            Handled::kApplied);
  clock_.advance(2h);
  ASSERT_TRUE(inbox().record({"c", "new"}).value());

  EXPECT_EQ(inbox().deleteRecordedBefore(start).value(), 0) << "nothing is older than the start";
  EXPECT_EQ(inbox().deleteRecordedBefore(start + 1h).value(), 2);
  EXPECT_FALSE(inbox().contains({"c", "old"}).value());
  EXPECT_FALSE(inbox().contains({"c", "old-effect"}).value());
  EXPECT_TRUE(inbox().contains({"c", "new"}).value());
  EXPECT_EQ(inbox().deleteRecordedBefore(clock_.now() + 1ms).value(), 1);
  EXPECT_FALSE(inbox().contains({"c", "new"}).value());
}

}  // namespace
}  // namespace orders::testing
