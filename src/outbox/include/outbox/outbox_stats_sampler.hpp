#pragma once
// Rate-limited outbox counts. OutboxStore::outboxStats() is a query that grows with the backlog
// (SQLite walks the pending index), so no caller should run it per request: the relay's
// watchdog and the readiness probe both read the counts through one sampler, which recounts at
// most every `interval`, and never more often than every 20x the duration of the last count
// (keeping counting under ~5 % of one core whatever the backlog).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "outbox/outbox_store.hpp"

namespace orders {

class OutboxStatsSampler {
 public:
  struct Sample {
    Result<OutboxStats> stats;
    SteadyTime countedAt;  // when this count finished: a new value means a new count
  };

  /// `store` and `clock` must outlive the sampler.
  OutboxStatsSampler(OutboxStore& store, const Clock& clock, std::chrono::milliseconds interval);

  /// The latest count, recounted on the caller's thread first when it is due. While another
  /// thread counts, returns the previous count at once (only the very first caller waits).
  /// Thread-safe.
  Sample sample();

 private:
  OutboxStore& store_;
  const Clock& clock_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable counted_;
  std::optional<Sample> last_;
  SteadyTime next_{};
  bool counting_ = false;
};

}  // namespace orders
