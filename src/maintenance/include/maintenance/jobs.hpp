#pragma once
// The service's maintenance jobs, for MaintenanceScheduler. Each deletes what is older than its
// maximum age, relative to the wall time of the run.

#include <chrono>

#include "consumer/inbox.hpp"
#include "maintenance/scheduler.hpp"
#include "outbox/outbox_store.hpp"
#include "store/order_store.hpp"

namespace orders {

/// "outbox-retention": published outbox rows are kept `maxAge` (to answer "was X sent?", and for
/// replays), then deleted. Pending rows are never touched.
MaintenanceJob outboxRetentionJob(OutboxStore& store,
                                  std::chrono::milliseconds maxAge = std::chrono::hours(24 * 7),
                                  std::chrono::milliseconds interval = std::chrono::hours(1));

/// "idempotency-expiry": responses recorded under an Idempotency-Key are replayed for `maxAge` (a
/// client retries within minutes, not days), then deleted.
MaintenanceJob idempotencyExpiryJob(OrderStore& store,
                                    std::chrono::milliseconds maxAge = std::chrono::hours(24),
                                    std::chrono::milliseconds interval = std::chrono::minutes(10));

/// "inbox-retention": inbox keys older than `maxAge` are deleted. Keep them longer than a
/// message can take to be redelivered (the longest DLQ stay you would replay): a key deleted
/// earlier lets that message apply again.
MaintenanceJob inboxRetentionJob(Inbox& inbox, std::chrono::milliseconds maxAge,
                                 std::chrono::milliseconds interval = std::chrono::hours(1));

}  // namespace orders
