#include "maintenance/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace orders {

MaintenanceScheduler::MaintenanceScheduler(const Clock& clock, JobOwnership& ownership,
                                           std::vector<MaintenanceJob> jobs)
    : clock_(clock), ownership_(ownership), jobs_(std::move(jobs)) {
  for (const auto& job : jobs_) {
    MaintenanceJobStatus status;
    status.name = job.name;
    status_.push_back(std::move(status));
  }
}

MaintenanceScheduler::~MaintenanceScheduler() {
  stop();
}

void MaintenanceScheduler::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void MaintenanceScheduler::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

std::vector<MaintenanceJobStatus> MaintenanceScheduler::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void MaintenanceScheduler::loop() {
  std::vector<SteadyTime> due(jobs_.size(), clock_.steadyNow());
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    for (std::size_t i = 0; i < jobs_.size() && !stopping_; ++i) {
      if (clock_.steadyNow() < due[i]) continue;
      const MaintenanceJob& job = jobs_[i];
      lock.unlock();
      const bool owner = ownership_.owns(job.name);
      std::optional<Result<std::int64_t>> outcome;
      const Timestamp startedAt = clock_.now();
      if (owner) outcome.emplace(job.run(startedAt));
      lock.lock();
      due[i] = clock_.steadyNow() + job.interval;
      MaintenanceJobStatus& status = status_[i];
      if (!outcome) {
        ++status.skipped;
        continue;
      }
      ++status.runs;
      status.lastRunAt = startedAt;
      if (!outcome->ok()) {
        ++status.failures;
        status.lastError = outcome->error().message;
        spdlog::warn("maintenance: {} failed, retrying in {} s: {}", job.name,
                     std::chrono::duration_cast<std::chrono::seconds>(job.interval).count(),
                     status.lastError);
        continue;
      }
      status.lastError.clear();
      status.deletedTotal += **outcome;
      if (**outcome > 0) spdlog::info("maintenance: {} deleted {} rows", job.name, **outcome);
    }
    if (jobs_.empty()) {
      wake_.wait(lock, [this] { return stopping_; });
      break;
    }
    clock_.waitUntil(lock, wake_, *std::min_element(due.begin(), due.end()),
                     [this] { return stopping_; });
  }
}

}  // namespace orders
