#pragma once
// Turns the domain events of one change into outbox rows: each a StandardMessage<T> envelope
// (messageId, messageType, messageVersion, timestamp, source, correlationId, partitionKey,
// payload) rendered from the order as it is after the change, and validated against its schema.

#include <cstdint>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "common/result.hpp"
#include "events/schema_registry.hpp"
#include "orders/order_actions.hpp"
#include "outbox/outbox_message.hpp"

namespace orders {

inline constexpr const char* kEventSource = "OrderService";

class EventFactory {
 public:
  /// Both must outlive the factory. Thread-safe if `ids` is.
  EventFactory(const SchemaRegistry& schemas, IdGenerator& ids);

  /// The envelopes of `change.events`, in order, with per-order sequence numbers
  /// firstSequence, firstSequence + 1, ... An event that fails its schema is a bug: kInternal,
  /// naming the event type and the schema violation, and nothing is returned.
  Result<std::vector<OutboxMessage>> render(const Change& change, std::int64_t firstSequence,
                                            const std::string& correlationId) const;

 private:
  const SchemaRegistry& schemas_;
  IdGenerator& ids_;
};

}  // namespace orders
