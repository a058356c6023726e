#pragma once
// Who may run a maintenance job now. With one instance of the service that is always this
// process (AlwaysOwner); with several instances on one database, a job such as retention should
// run on one of them only: an implementation then answers from a lease or an advisory lock
// (e.g. PostgreSQL's pg_try_advisory_lock), without any change to the jobs or the scheduler.

#include <string_view>

namespace orders {

class JobOwnership {
 public:
  virtual ~JobOwnership() = default;
  /// Whether this process should run `job` now. Asked before every run, on the scheduler's
  /// thread; may block briefly (a lock query) but should not take long.
  virtual bool owns(std::string_view job) = 0;
};

class AlwaysOwner final : public JobOwnership {
 public:
  bool owns(std::string_view) override { return true; }
};

}  // namespace orders
