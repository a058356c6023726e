#pragma once
// The broker topology the Order Service owns, as data: the events exchange with its
// alternate exchange (unroutable events are kept, not dropped), the dead-letter exchange and
// queue, and the consumer queues with the routing keys (message types) each one binds.
// Read from config/topology.json; declared by declareTopology() (broker/rabbitmq/topology.hpp)
// at service start and by `order-events topology declare`.
//
// File format (every key except "queues" is optional and defaults to the names below):
//   {
//     "exchange": "order.events",                    // direct, durable; routing key = messageType
//     "alternateExchange": "order.events.unrouted",  // fanout, durable
//     "unroutedQueue": "order.events.unrouted",      // quorum, bound to the alternate exchange
//     "deadLetterExchange": "order.events.dlx",      // fanout, durable
//     "deadLetterQueue": "order.events.dlq",         // quorum, bound to the dead-letter exchange
//     "queues": [
//       { "name": "notification.order-events",
//         "type": "quorum",                          // "quorum" (default) or "classic"
//         "routingKeys": ["OrderShippedEvent"],      // knownRoutingKeys() only
//         "deliveryLimit": 5 }                       // optional, quorum only: x-delivery-limit
//     ]
//   }
// Every consumer queue is durable and gets x-dead-letter-exchange = deadLetterExchange.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "events/messaging.hpp"  // QueueType

namespace orders {

inline constexpr const char* kOrderEventsExchange = "order.events";
inline constexpr const char* kUnroutedExchange = "order.events.unrouted";
inline constexpr const char* kUnroutedQueue = "order.events.unrouted";
inline constexpr const char* kDeadLetterExchange = "order.events.dlx";
inline constexpr const char* kDeadLetterQueue = "order.events.dlq";

/// The message types the Order Service publishes (= their routing keys at major 1).
const std::vector<std::string>& knownMessageTypes();

/// Every routing key the Order Service can publish with: knownMessageTypes() (major 1) and
/// "<messageType>.v<major>" of each newer major it can publish (kOrderEventNewerMajors,
/// events/routing_key.hpp), e.g. "OrderCreatedEvent.v2".
const std::vector<std::string>& knownRoutingKeys();

struct ConsumerQueue {
  std::string name;
  QueueType type = QueueType::kQuorum;
  std::vector<std::string> routingKeys;
  std::optional<std::int64_t> deliveryLimit;
};

struct TopologyConfig {
  std::string exchange = kOrderEventsExchange;
  std::string alternateExchange = kUnroutedExchange;
  std::string unroutedQueue = kUnroutedQueue;
  std::string deadLetterExchange = kDeadLetterExchange;
  std::string deadLetterQueue = kDeadLetterQueue;
  std::vector<ConsumerQueue> queues;
};

/// Parses and validates the JSON text. kInvalidArgument naming the key at fault in `field`
/// (e.g. "queues[1].routingKeys[0]") and in the message: unknown keys, wrong types, empty or
/// reserved ("amq.") names, duplicate queue names, routing keys not in knownRoutingKeys(),
/// deliveryLimit on a classic queue.
Result<TopologyConfig> parseTopology(std::string_view text);

/// Reads `path` and parses it; the error message starts with the path.
Result<TopologyConfig> loadTopologyFile(const std::string& path);

}  // namespace orders
