#pragma once
// Leadership of the outbox relay among several service instances on one database: a lease held
// by one holder at a time, fenced by an epoch. Implemented by every store adapter (store/sqlite,
// store/postgres), in the same database as the outbox, so that OutboxStore::markPublished can
// check the epoch in the transaction that writes the marks.
//
// Why a lease row with an epoch and not a session lock: an advisory lock lives as long as a
// database session, and a process whose session was dropped may still believe it leads (split
// brain); session locks also stack, so one unlock may not free them. A lease is a row with an
// expiry judged by one clock (the store's) and an epoch that every new acquisition increases:
// a holder that lost the lease finds out at its next renewal or at its next mark (kFenced),
// and stops publishing at its own deadline before anyone else can acquire (see below).
//
// Contract for a holder (the relay):
//  - Call acquireOrRenew(holder, ttl) every ttl/3 or so. A grant means: the store recorded that
//    `holder` holds the lease until (store time when it processed the call) + ttl. Since the store
//    processed the call after the caller sent it, the caller may act as leader until
//    (its own clock when it SENT the call) + ttl - a safety margin for clock rate differences,
//    and no longer unless a later renewal succeeds. Nobody else can be granted the lease before
//    the store's expiry.
//  - kUnavailable (the store could not answer, or the outcome is unknown): the caller must NOT
//    assume it lost or kept the lease. It keeps the deadline of its last successful grant, stops
//    acting as leader when that deadline passes, and retries.
//  - The epoch of a grant is unchanged by renewals and increases by one on every new acquisition
//    (a free, released or expired lease taken by anyone, the former holder included). The caller
//    passes it to markPublished; a mark with an epoch that is no longer current fails with
//    ErrorCode::kFenced, and the caller must stop acting as leader.
//  - release(holder, epoch) on a clean shutdown frees the lease at once, so the next instance
//    need not wait for the expiry.
//
// Time: the store judges expiry by ITS clock: the database server's time for PostgreSQL (one
// clock for every instance, whatever their own clocks say), the injected Clock for SQLite (one
// machine). Holders never compare their clock with the store's; they only measure durations on
// their own (steady) clock.
//
// Threads: thread-safe; both calls block on the store (I/O) and return its answer.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace orders {

/// The epoch of "no lease": a caller that does not take part in leadership (a single instance
/// without a lease, tests, tools). markPublished accepts it only while no lease was ever granted
/// on this database; once any holder acquired the lease, an epoch-0 mark is fenced (kFenced), so
/// a process without a lease can never mark behind a leader's back.
inline constexpr std::int64_t kNoLeaseEpoch = 0;

struct LeaseGrant {
  /// >= 1. Unchanged by renewals; +1 on every new acquisition.
  std::int64_t epoch = 0;
};

class RelayLease {
 public:
  virtual ~RelayLease() = default;

  /// Takes the lease if it is free, released or expired (a new epoch), or renews it if `holder`
  /// holds it unexpired (same epoch); either way it then lasts `ttl` from now by the store's
  /// clock. nullopt: another holder's unexpired lease stands (nothing changed). kUnavailable:
  /// the store could not answer (see the contract above). kInvalidArgument: empty holder or a
  /// ttl that is not positive.
  virtual Result<std::optional<LeaseGrant>> acquireOrRenew(const std::string& holder,
                                                           std::chrono::milliseconds ttl) = 0;

  /// Frees the lease at once if `holder` holds it with `epoch`; no effect (and ok) otherwise,
  /// e.g. when that epoch is no longer current. The epoch stays, so the next acquisition gets
  /// epoch + 1 and a late mark of the released epoch is fenced.
  virtual Status release(const std::string& holder, std::int64_t epoch) = 0;
};

}  // namespace orders
