#pragma once
// Outbox retention: published rows are kept for a while (to answer "was X sent?" and for
// replays) and then deleted by a periodic job. Pending rows are never touched.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "outbox/outbox_store.hpp"

namespace orders {

struct RetentionOptions {
  /// Published rows confirmed longer ago than this are deleted.
  std::chrono::milliseconds maxAge = std::chrono::hours(24 * 7);
  /// How often the job runs (also once right after start()).
  std::chrono::milliseconds interval = std::chrono::hours(1);
};

/// Runs store.deletePublishedBefore(clock.now() - maxAge) every `interval` on its own thread.
/// A failed run is logged as a warning and retried at the next interval. `store` and `clock`
/// must outlive the job. start()/stop() are thread-safe; stop() waits for a running deletion.
class RetentionJob {
 public:
  RetentionJob(OutboxStore& store, const Clock& clock, RetentionOptions options = {});
  ~RetentionJob();
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  void start();
  void stop();

  /// One run now, on the caller's thread: how many rows were deleted.
  Result<std::int64_t> runOnce();

  /// Rows deleted by this job since it was created.
  std::int64_t deletedTotal() const;

 private:
  void loop();

  OutboxStore& store_;
  const Clock& clock_;
  const RetentionOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::int64_t deletedTotal_ = 0;
  std::thread thread_;
};

}  // namespace orders
