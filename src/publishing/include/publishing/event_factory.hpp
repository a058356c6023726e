#pragma once
// Turns the domain events of one change into encoded messages: each a StandardMessage<T> envelope
// (messageId, messageType, messageVersion, timestamp, source, correlationId, partitionKey,
// payload) rendered from the order as it is after the change, and validated against its schema.
// The payload of every message type is documented in docs/events/ and fixed by schemas/events/.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.hpp"
#include "common/result.hpp"
#include "common/trace_context.hpp"
#include "events/encoded_message.hpp"
#include "events/schema_registry.hpp"
#include "orders/order_actions.hpp"
#include "publishing/published_versions.hpp"

namespace orders {

inline constexpr const char* kEventSource = "OrderService";
/// The exchange every event is published to; the routing key is the messageType.
inline constexpr const char* kEventExchange = "order.events";
/// The messageVersion every event is published at unless PublishedVersions says otherwise.
inline constexpr const char* kEventVersion = "1.0";

/// Every messageType the Order Service publishes (defined with the domain events).
inline constexpr const auto& kPublishedMessageTypes = kOrderEventTypes;

/// Fails (kInvalidArgument, naming the first missing type and version) unless `schemas` has a
/// schema for every version `versions` publishes of every type in kPublishedMessageTypes. Call it
/// at start-up, so a missing schema stops the service instead of failing the first order that
/// needs it.
Status checkPublishedSchemas(const SchemaRegistry& schemas,
                             const PublishedVersions& versions = PublishedVersions());

struct EventFactoryOptions {
  /// Every event is validated against its schema when 1 (the default, and always in debug
  /// builds). N > 1: the first event of each type after start and then one event in N; the
  /// others are not validated, because an event rendered from typed domain values cannot break
  /// its schema unless the code and the schema drifted apart, which the first event of the type
  /// and the contract tests catch (the argument, constraint by constraint, is in
  /// docs/events/README.md, "Validation of our own events"). Events from outside are not made
  /// here and are always validated.
  std::uint32_t validateOneIn = 1;
  /// The version(s) each type is rendered at; by default every type at kEventVersion.
  PublishedVersions versions;
};

class EventFactory {
 public:
  /// Both must outlive the factory. Thread-safe if `ids` is.
  EventFactory(const SchemaRegistry& schemas, IdGenerator& ids, EventFactoryOptions options = {});
  ~EventFactory();
  EventFactory(EventFactory&&) noexcept;
  EventFactory& operator=(EventFactory&&) = delete;

  /// The envelopes of `change.events`, in order, with per-order sequence numbers
  /// firstSequence, firstSequence + 1, ... (one number per domain event). A type published at
  /// several versions (EventFactoryOptions::versions) gives one envelope per version, in
  /// ascending version order, right after each other: each with its own messageId and its own
  /// messageVersion, the same partitionKey, timestamp, correlationId and the SAME sequence (the
  /// sequence numbers the order's changes, so a consumer of either major sees 1, 2, 3... without
  /// gaps). The result may thus hold more envelopes than `change.events`; the next change starts
  /// at firstSequence + change.events.size(). An event that fails its schema (when validated, see
  /// EventFactoryOptions) is a bug: kInternal, naming the event type, version and the schema
  /// violation, and nothing is returned (so nothing of the change is written).
  /// Every EncodedMessage field is filled; `body` is the compact JSON text of the envelope;
  /// `correlationId` is left out of the envelope when empty.
  /// `cause` is the trace context of the work that made the change (an HTTP request, a consumed
  /// message's handler): each event gets a span of its own, a child of `cause` (same trace id,
  /// new span id), as its `traceparent`, and `cause`'s tracestate. With an empty `cause.traceId`
  /// the events carry no trace context. The trace is not part of the envelope (it is transport
  /// metadata, sent as AMQP headers).
  Result<std::vector<EncodedMessage>> render(const Change& change, std::int64_t firstSequence,
                                             const std::string& correlationId,
                                             const TraceContext& cause) const;

 private:
  struct Sampling;
  /// Whether to validate this event (see EventFactoryOptions); `slot` is one per type and
  /// version (renderableVersions() index).
  bool shouldValidate(std::size_t slot) const;

  const SchemaRegistry& schemas_;
  IdGenerator& ids_;
  EventFactoryOptions options_;
  std::unique_ptr<Sampling> sampling_;
};

}  // namespace orders
