#pragma once
// Sample orders and events for the tests of stores and of what runs on them (the conformance
// suites, a backend's own tests, the relay and cluster tests), and blocking forms of the stores'
// asynchronous calls. Only the sample data and the waiting: no test cases (linking this adds no
// tests to a binary, unlike store_conformance.hpp's suites).

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "outbox/outbox_store.hpp"
#include "outbox/relay_lease.hpp"
#include "store/order_store.hpp"

namespace orders::testing {

inline constexpr const char* kSampleUser = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
Timestamp at(std::int64_t millis);
/// A PENDING_PAYMENT order of one item (the customer's name is not ASCII).
Order sampleOrder(const std::string& id, std::int64_t createdMs = 1000,
                  const std::string& user = kSampleUser);
EncodedMessage sampleEvent(const std::string& orderId, std::int64_t sequence,
                           const std::string& messageId);
/// Inserts `order` with `events` (sequences as given).
WriteSet newOrderWrite(const Order& order, std::vector<EncodedMessage> events);
/// OrderStore::write, waiting for `done`.
Result<WriteOutcome> writeAndWait(OrderStore& store, WriteSet writes);
/// OutboxStore::markPublished under lease `epoch`, waiting for `done`.
Status markAndWait(OutboxStore& store, std::vector<std::int64_t> ids, Timestamp at,
                   std::int64_t epoch = kNoLeaseEpoch);

}  // namespace orders::testing
