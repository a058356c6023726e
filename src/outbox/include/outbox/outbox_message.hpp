#pragma once
// One event waiting in (or already relayed from) the transactional outbox.

#include <cstdint>

#include "events/encoded_message.hpp"

namespace orders {

/// An EncodedMessage as the store holds it: with the id the store assigned when it committed the
/// row. Rows are relayed in increasing id order.
struct OutboxMessage : EncodedMessage {
  std::int64_t id = 0;
};

}  // namespace orders
