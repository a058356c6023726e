#pragma once
// Periodic maintenance jobs (retention, expiry) on one thread, in time read and waited for only
// through the injected Clock:
//
//   AlwaysOwner owner;
//   MaintenanceScheduler jobs(clock, owner, {outboxRetentionJob(store),
//   idempotencyExpiryJob(store)}); jobs.start();   // every job runs once right away, then every
//   `interval` after its last run
//   ...
//   jobs.stop();    // waits for a running job, runs nothing afterwards
//
// Before each run the scheduler asks JobOwnership whether this process should run the job; when
// it should not, the run is skipped and asked again an interval later. A failed run is logged as
// a warning, counted in status(), and retried at the next interval. Jobs run one after the other,
// never concurrently, and must be safe to run again after a failure (deleting "older than" is).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "maintenance/job_ownership.hpp"

namespace orders {

struct MaintenanceJob {
  std::string name;  // e.g. "outbox-retention", for logs, status and JobOwnership
  std::chrono::milliseconds interval;
  /// One run at wall time `now`: returns how many rows it deleted (0 is fine).
  std::function<Result<std::int64_t>(Timestamp now)> run;
};

struct MaintenanceJobStatus {
  std::string name;
  std::uint64_t runs = 0;      // finished runs, successful or not
  std::uint64_t failures = 0;  // runs that returned an error
  std::uint64_t skipped = 0;   // runs JobOwnership declined
  std::int64_t deletedTotal = 0;
  std::optional<Timestamp> lastRunAt;  // wall time the last finished run started
  std::string lastError;               // empty once a run succeeded again
};

class MaintenanceScheduler {
 public:
  /// `clock` and `ownership` must outlive the scheduler.
  MaintenanceScheduler(const Clock& clock, JobOwnership& ownership,
                       std::vector<MaintenanceJob> jobs);
  /// Calls stop().
  ~MaintenanceScheduler();
  MaintenanceScheduler(const MaintenanceScheduler&) = delete;
  MaintenanceScheduler& operator=(const MaintenanceScheduler&) = delete;

  /// Starts the thread; every job is due at once. No effect if running.
  void start();
  /// Stops the thread after the running job (if any) finished. No effect if not running.
  void stop();

  /// One entry per job, in the order given. Thread-safe.
  std::vector<MaintenanceJobStatus> status() const;

 private:
  void loop();

  const Clock& clock_;
  JobOwnership& ownership_;
  const std::vector<MaintenanceJob> jobs_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<MaintenanceJobStatus> status_;
  std::thread thread_;
};

}  // namespace orders
