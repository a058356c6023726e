#include "outbox/retention.hpp"

#include <spdlog/spdlog.h>

namespace orders {

RetentionJob::RetentionJob(OutboxStore& store, const Clock& clock, RetentionOptions options)
    : store_(store), clock_(clock), options_(options) {}

RetentionJob::~RetentionJob() {
  stop();
}

void RetentionJob::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void RetentionJob::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

Result<std::int64_t> RetentionJob::runOnce() {
  const Timestamp cutoff =
      clock_.now() - std::chrono::duration_cast<std::chrono::milliseconds>(options_.maxAge);
  auto deleted = store_.deletePublishedBefore(cutoff);
  if (deleted.ok()) {
    std::lock_guard lock(mutex_);
    deletedTotal_ += *deleted;
  }
  return deleted;
}

std::int64_t RetentionJob::deletedTotal() const {
  std::lock_guard lock(mutex_);
  return deletedTotal_;
}

void RetentionJob::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto deleted = runOnce();
    if (!deleted.ok()) {
      spdlog::warn("outbox retention: deleting published rows failed, retrying in {} s: {}",
                   std::chrono::duration_cast<std::chrono::seconds>(options_.interval).count(),
                   deleted.error().message);
    } else if (*deleted > 0) {
      spdlog::info("outbox retention: deleted {} published rows older than {} h", *deleted,
                   std::chrono::duration_cast<std::chrono::hours>(options_.maxAge).count());
    }
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace orders
