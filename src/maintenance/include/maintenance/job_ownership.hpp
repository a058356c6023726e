#pragma once
// Who may run a maintenance job now. With several instances on one database a job such as
// retention should run on one of them only: the service asks RelayLeaderOwnership, which answers
// from the relay lease (outbox/relay_lease.hpp), without any change to the jobs or the scheduler.
// AlwaysOwner is for tests and tools that run jobs themselves.

#include <string_view>

#include "outbox/relay.hpp"

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

/// Every job runs only on the instance whose relay leads right now, so each runs on one instance
/// at a time (and a single instance, which always leads, runs them all). Null `relay` (a process
/// started with --no-relay): it never leads, so it owns no job; some instance with the relay
/// runs them. A job already running when leadership moves finishes: the jobs delete rows older
/// than a cutoff, so overlapping with the new leader's run is harmless.
class RelayLeaderOwnership final : public JobOwnership {
 public:
  /// `relay`, when given, must outlive this.
  explicit RelayLeaderOwnership(const Relay* relay) : relay_(relay) {}
  bool owns(std::string_view) override {
    return relay_ != nullptr && relay_->status().role == RelayStatus::Role::kLeader;
  }

 private:
  const Relay* relay_;
};

}  // namespace orders
