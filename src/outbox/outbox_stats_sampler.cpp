#include "outbox/outbox_stats_sampler.hpp"

#include <algorithm>

namespace orders {

OutboxStatsSampler::OutboxStatsSampler(OutboxStore& store, const Clock& clock,
                                       std::chrono::milliseconds interval)
    : store_(store), clock_(clock), interval_(interval) {}

OutboxStatsSampler::Sample OutboxStatsSampler::sample() {
  std::unique_lock lock(mutex_);
  if (last_ && (counting_ || clock_.steadyNow() < next_)) return *last_;
  // Not a timed wait: the first count is under way on another thread and ends by itself.
  counted_.wait(lock, [this] { return !counting_; });
  if (last_ && clock_.steadyNow() < next_) return *last_;
  counting_ = true;
  lock.unlock();
  const SteadyTime started = clock_.steadyNow();
  Result<OutboxStats> stats = store_.outboxStats();
  const SteadyTime finished = clock_.steadyNow();
  lock.lock();
  counting_ = false;
  last_.emplace(Sample{std::move(stats), finished});
  next_ = finished + std::max<SteadyTime::duration>(interval_, 20 * (finished - started));
  counted_.notify_all();
  return *last_;
}

}  // namespace orders
