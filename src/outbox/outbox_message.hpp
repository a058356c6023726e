#pragma once
// One event waiting in (or already relayed from) the transactional outbox.

#include <cstdint>
#include <string>

#include "common/clock.hpp"

namespace orders {

struct OutboxMessage {
  /// Assigned by the store when the row is written; rows are relayed in increasing id order.
  std::int64_t id = 0;
  std::string messageId;       // "msg-<uuid>", also the AMQP message_id
  std::string messageType;     // routing key, also the AMQP type property
  std::string messageVersion;  // "1.0"
  std::string partitionKey;    // the orderId
  std::int64_t sequence = 0;   // 1, 2, 3... per order: the order's events in commit order
  std::string correlationId;   // empty when the request had none
  std::string source;          // "OrderService"
  Timestamp timestamp;         // the envelope's timestamp
  std::string body;            // the complete StandardMessage JSON
};

}  // namespace orders
