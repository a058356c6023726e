// libFuzzer target: arbitrary bytes as the body of a delivery on the service's inbound queues,
// through the consumer runtime's decision (MessageProcessor: JSON, envelope and payload schema
// validation against the real schemas/, dispatch by type and major version) into the service's
// own handlers' reading of the payload (inbound::toCommand: ids, amounts as written, items). The
// command is built, not executed (no store). Properties: no crash, no exception escapes, every
// delivery is settled with a decision.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "consumer/message_processor.hpp"
#include "inbound/inbound_handlers.hpp"
#include "support/manual_clock.hpp"

namespace {

using namespace orders;

struct Harness {
  Harness() : schemas(loadSchemas()), processor(options(), schemas, clock, nullptr, ids) {
    for (const auto* types :
         {&inbound::paymentMessageTypes(), &inbound::fulfillmentMessageTypes()}) {
      for (const auto& type : *types) {
        auto registered = processor.on(
            type, 1,
            [](const InboundMessage& message) -> HandlerResult {
              auto command = inbound::toCommand(message);
              if (!command) return command.error();
              return Handled::kApplied;
            },
            Deduplication::kHandler);
        if (!registered) std::abort();
      }
    }
  }
  static SchemaRegistry loadSchemas() {
    auto loaded = SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR);
    if (!loaded) std::abort();
    return std::move(loaded).value();
  }
  static ConsumerOptions options() {
    ConsumerOptions options;
    options.subscription.queue = inbound::kPaymentQueue;
    options.subscription.exchange = inbound::kPaymentExchange;
    options.subscription.routingKeys = inbound::paymentMessageTypes();
    return options;
  }
  orders::testing::ManualClock clock;
  SchemaRegistry schemas;
  RandomIdGenerator ids;  // the span ids of the deliveries' trace context
  MessageProcessor processor;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness* harness = new Harness();
  TransportDelivery delivery;
  delivery.deliveryTag = 1;
  delivery.exchange = inbound::kPaymentExchange;
  delivery.routingKey = "PaymentCompletedEvent";
  delivery.contentType = "application/json";
  delivery.body.assign(reinterpret_cast<const char*>(data), size);
  const Decision decision = harness->processor.process(delivery);
  (void)decision;
  return 0;
}
