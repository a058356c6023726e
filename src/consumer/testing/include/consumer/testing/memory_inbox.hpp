#pragma once
// The tests' in-memory Inbox (one copy, for every test that needs an inbox without a database).
// Its "transaction" stages the effect's writes and commits them with the key, under one lock.
// `unavailable` makes every call fail with kUnavailable, like a store that is down.

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "consumer/inbox.hpp"

namespace orders::testing {

struct MemoryInboxTransaction {
  /// What the effect wrote; kept only when the transaction commits.
  std::vector<std::string> writes;
};

class MemoryInbox final : public TransactionalInbox<MemoryInboxTransaction> {
 public:
  using Transaction = MemoryInboxTransaction;

  /// `clock` stamps the records (the system clock when null) and must outlive the inbox.
  explicit MemoryInbox(const Clock* clock = nullptr)
      : clock_(clock != nullptr ? *clock : systemClock_) {}

  Result<bool> contains(const InboxKey& key) override {
    std::lock_guard lock(mutex_);
    if (unavailable) return down();
    return recorded_.count({key.consumer, key.messageId}) != 0;
  }
  Result<bool> record(const InboxKey& key) override {
    std::lock_guard lock(mutex_);
    if (unavailable) return down();
    return insert(key);
  }
  Result<std::int64_t> deleteRecordedBefore(Timestamp cutoff) override {
    std::lock_guard lock(mutex_);
    if (unavailable) return down();
    std::int64_t deleted = 0;
    for (auto it = recorded_.begin(); it != recorded_.end();) {
      if (it->second < cutoff) {
        it = recorded_.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
    return deleted;
  }
  HandlerResult transact(const InboxKey& key,
                         const std::function<Status(Transaction&)>& effect) override {
    std::lock_guard lock(mutex_);
    if (unavailable) return down();
    if (recorded_.count({key.consumer, key.messageId}) != 0) return Handled::kDuplicate;
    Transaction tx;
    if (Status done = effect(tx); !done) return done.error();  // a throw also stores nothing
    insert(key);
    for (auto& write : tx.writes) writes_.push_back(std::move(write));
    return Handled::kApplied;
  }

  std::size_t size() {
    std::lock_guard lock(mutex_);
    return recorded_.size();
  }
  /// Every write of a committed transaction, in commit order.
  std::vector<std::string> writes() {
    std::lock_guard lock(mutex_);
    return writes_;
  }

  std::atomic<bool> unavailable{false};

 private:
  static Error down() { return Error{ErrorCode::kUnavailable, "inbox down"}; }
  bool insert(const InboxKey& key) {
    return recorded_.emplace(std::make_pair(key.consumer, key.messageId), clock_.now()).second;
  }

  SystemClock systemClock_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Timestamp> recorded_;  // -> recorded at
  std::vector<std::string> writes_;
};

}  // namespace orders::testing
