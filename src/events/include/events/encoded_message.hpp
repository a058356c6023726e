#pragma once
// One event rendered for publication: its StandardMessage envelope (`body`) and the envelope
// fields that a store and a broker need without parsing it. EventFactory makes them, an
// OrderStore commits them with the change that produced them, and the relay reads them back as
// OutboxMessage (outbox/outbox_message.hpp: the same fields plus the store's row id).

#include <cstdint>
#include <string>

#include "common/clock.hpp"

namespace orders {

struct EncodedMessage {
  std::string messageId;       // "msg-<uuid>", also the AMQP message_id
  std::string messageType;     // routing key, also the AMQP type property
  std::string messageVersion;  // "1.0"
  std::string partitionKey;    // the orderId
  std::int64_t sequence = 0;   // 1, 2, 3... per order: the order's events in commit order
  std::string correlationId;   // empty when the request had none
  std::string source;          // "OrderService"
  Timestamp timestamp;         // the envelope's timestamp
  std::string body;            // the complete StandardMessage JSON
  /// W3C Trace Context of the event, sent as the AMQP headers `traceparent` / `tracestate`:
  /// "00-<trace id>-<the event's own span id>-<flags>", a child span of the work that caused the
  /// event. Empty when the event carries no trace (tracestate: also when the trace has none).
  std::string traceparent;
  std::string tracestate;
};

}  // namespace orders
