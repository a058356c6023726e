#include "store/testing/store_samples.hpp"

#include <future>
#include <utility>

namespace orders::testing {

Timestamp at(std::int64_t millis) {
  return Timestamp(std::chrono::milliseconds(millis));
}

Order sampleOrder(const std::string& id, std::int64_t createdMs, const std::string& user) {
  Order order;
  order.id = OrderId(id);
  order.userId = UserId(user);
  order.items = {{"prod-1", 2, 1999}};
  order.customer = {"Zoë Ünicode", "zoe@example.com"};
  order.shippingAddress = {"1 Main St", "Springfield", "12345", "US"};
  order.totalAmount = 3998;
  order.createdAt = at(createdMs);
  order.updatedAt = at(createdMs);
  return order;
}

EncodedMessage sampleEvent(const std::string& orderId, std::int64_t sequence,
                           const std::string& messageId) {
  EncodedMessage m;
  m.messageId = messageId;
  m.messageType = "OrderCreatedEvent";
  m.messageVersion = "1.0";
  m.partitionKey = orderId;
  m.sequence = sequence;
  m.source = "OrderService";
  m.timestamp = at(1000 + sequence);
  m.body = "{\"messageId\":\"" + messageId + "\"}";
  return m;
}

WriteSet newOrderWrite(const Order& order, std::vector<EncodedMessage> events) {
  WriteSet writes;
  writes.order = OrderWrite{order, 0, static_cast<std::int64_t>(events.size()), std::move(events)};
  return writes;
}

Result<WriteOutcome> writeAndWait(OrderStore& store, WriteSet writes) {
  std::promise<Result<WriteOutcome>> promise;
  store.write(std::move(writes), [&](Result<WriteOutcome> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

Status markAndWait(OutboxStore& store, std::vector<std::int64_t> ids, Timestamp at,
                   std::int64_t epoch) {
  std::promise<Status> promise;
  store.markPublished(std::move(ids), at, epoch,
                      [&](Status s) { promise.set_value(std::move(s)); });
  return promise.get_future().get();
}

}  // namespace orders::testing
