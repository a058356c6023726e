#pragma once
// The routing key of a message on a direct exchange such as order.events, per major version:
//  - major 1: the messageType itself ("OrderCreatedEvent"), as it always was, so the queues that
//    consumers bound before a second major existed keep receiving exactly what they received;
//  - major N >= 2: "<messageType>.v<N>" ("OrderCreatedEvent.v2"): a consumer binds it when it
//    has moved to that major, and a queue bound to the 1.x key never receives it.
// The producer (outbox relay), the topology, the AsyncAPI document and consumers all derive the
// key here (docs/events/versioning.md, "Two major versions side by side").

#include <optional>
#include <string>
#include <string_view>

namespace orders {

/// The routing key of `messageType` messages of major version `major` (>= 1).
std::string routingKeyFor(std::string_view messageType, int major);

/// The same, from a messageVersion text "<major>.<minor>" ("2.0" -> "...v2"). A version whose
/// major cannot be read is treated as major 1 (the key is the messageType): the outbox holds only
/// messages validated against their schema, whose messageVersion always has a major.
std::string routingKeyFor(std::string_view messageType, std::string_view messageVersion);

/// Writes routingKeyFor(messageType, messageVersion) into `out`, reusing its buffer (the relay's
/// hot path does not allocate).
void assignRoutingKey(std::string& out, std::string_view messageType,
                      std::string_view messageVersion);

struct ParsedRoutingKey {
  std::string messageType;
  int major = 1;
};

/// The inverse: "OrderCreatedEvent" -> {OrderCreatedEvent, 1}, "OrderCreatedEvent.v2" ->
/// {OrderCreatedEvent, 2}. nullopt for ".v1" (major 1 has no suffix), ".v0", ".v" with anything
/// but digits after it, or an empty type.
std::optional<ParsedRoutingKey> parseRoutingKey(std::string_view routingKey);

}  // namespace orders
