#pragma once
// The AsyncAPI 3.0 document of the Order Service's messages (docs/asyncapi.yaml), generated from
// what the code and the schema directory say, so that it cannot drift from them:
//  - the events it publishes: knownMessageTypes() (broker/topology.hpp), on the exchange of
//    config/topology.json (direct, durable), one channel per routing key: the messageType for
//    major 1, "<messageType>.v<major>" for each later major (events/routing_key.hpp), with the
//    AMQP properties
//    and headers the outbox relay sets (outbox/relay.cpp: persistent, mandatory, messageVersion,
//    partitionKey, sequence; traceparent/tracestate when present);
//  - the messages it consumes: inbound/inbound_handlers.hpp (payment.events, fulfillment.events);
//  - each message's payload: the StandardMessage envelope with its `payload` referring to the
//    newest minor of each major version in the schema directory (referenced, not copied).

#include <string>
#include <vector>

#include "broker/topology.hpp"
#include "common/result.hpp"

namespace orders::tools {

struct InboundChannel {
  std::string exchange;  // "payment.events"
  std::string queue;     // the Order Service's queue, "order-service.payment-events"
  std::string producer;  // "PaymentService"
  std::vector<std::string> messageTypes;
};

struct AsyncApiInputs {
  std::string schemaDirectory;  // read for the versions and descriptions of each message
  /// How the document refers to the schema files: "<prefix><file relative to the schema
  /// directory>". The default fits docs/asyncapi.yaml next to schemas/.
  std::string schemaRefPrefix = "../schemas/";
  TopologyConfig topology;
  std::vector<std::string> publishedTypes;  // default: knownMessageTypes()
  std::vector<InboundChannel> inbound;      // default: payment.events and fulfillment.events
};

/// The inputs the service itself has: knownMessageTypes() and the two inbound exchanges.
AsyncApiInputs defaultAsyncApiInputs(std::string schemaDirectory, TopologyConfig topology);

/// The document as YAML (deterministic: the same inputs give the same bytes). kInvalidArgument
/// when the schema directory cannot be listed, a message type has no schema, or a schema file is
/// not for a type published or consumed.
Result<std::string> renderAsyncApi(const AsyncApiInputs& inputs);

}  // namespace orders::tools
