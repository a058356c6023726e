#include "maintenance/jobs.hpp"

namespace orders {

MaintenanceJob outboxRetentionJob(OutboxStore& store, std::chrono::milliseconds maxAge,
                                  std::chrono::milliseconds interval) {
  return {"outbox-retention", interval,
          [&store, maxAge](Timestamp now) { return store.deletePublishedBefore(now - maxAge); }};
}

MaintenanceJob idempotencyExpiryJob(OrderStore& store, std::chrono::milliseconds maxAge,
                                    std::chrono::milliseconds interval) {
  return {"idempotency-expiry", interval, [&store, maxAge](Timestamp now) {
            return store.deleteIdempotencyRecordsBefore(now - maxAge);
          }};
}

MaintenanceJob inboxRetentionJob(Inbox& inbox, std::chrono::milliseconds maxAge,
                                 std::chrono::milliseconds interval) {
  return {"inbox-retention", interval,
          [&inbox, maxAge](Timestamp now) { return inbox.deleteRecordedBefore(now - maxAge); }};
}

}  // namespace orders
