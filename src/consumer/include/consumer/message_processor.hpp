#pragma once
// The consumer runtime's decisions, free of threads and I/O so they can be unit-tested: one
// delivery in, one settlement out. Used by Consumer (consumer.hpp) on its worker threads.
//
//   body --parse--> JSON --SchemaRegistry--> envelope + payload valid
//        --(type, major)--> handler? --inbox--> new? --handler--> ack | retry | dead-letter
//
// Failure headers on retry and dead-letter copies: consumer/failure_headers.hpp.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "consumer/consumer_options.hpp"
#include "consumer/failure_headers.hpp"
#include "consumer/inbound_message.hpp"
#include "consumer/inbox.hpp"
#include "consumer/transport.hpp"
#include "events/exact_json.hpp"
#include "events/schema_registry.hpp"

namespace orders {

enum class FailureClass { kTransient, kPermanent };
/// kUnavailable and kInternal are transient (retrying may help; a bug that fails every time
/// still ends in the DLQ after the last retry); every other code is permanent.
FailureClass classify(ErrorCode code);

/// What happened to one delivery, for counters and logs.
enum class Outcome {
  kApplied,
  kDuplicate,
  kRetried,       // a transient failure: a copy goes to a retry queue
  kDeadLettered,  // a copy goes to the DLQ
};
const char* toString(Outcome outcome);

struct Decision {
  Outcome outcome = Outcome::kApplied;
  Settlement settlement;
  std::string reason;     // why it failed (empty when applied/duplicate)
  std::string messageId;  // from the envelope when it could be read, for logs
  std::string messageType;
  int attempt = 1;
  /// Dead-lettered only: the x-failure-kind (invalid-message, unsupported-version,
  /// permanent-failure, retries-exhausted), a low-cardinality class of `reason`.
  std::string failureKind;
};

class MessageProcessor {
 public:
  /// `schemas`, `clock`, `inbox` (may be null) and `ids` must outlive the processor. `ids`
  /// makes the span ids of InboundMessage::trace (and trace ids of new traces); it must be
  /// thread-safe when several workers process at once.
  MessageProcessor(const ConsumerOptions& options, const SchemaRegistry& schemas,
                   const Clock& clock, Inbox* inbox, IdGenerator& ids);

  /// Registers the handler of `messageType` messages of major version `majorVersion`. A
  /// message of a registered type whose major has no handler is dead-lettered
  /// (unsupported-version), as is one of a type without any handler. kInvalidArgument for a
  /// second handler of the same type and major, for kRuntime deduplication without an inbox,
  /// or when the registry has no schema for that type and major. Call before processing starts.
  Status on(std::string messageType, int majorVersion, MessageHandler handler,
            Deduplication deduplication);

  /// The decision for one delivery. Runs the handler (catching exceptions). Thread-safe: may be
  /// called from several workers at once (handlers then run concurrently too).
  Decision process(const TransportDelivery& delivery, const ExactJson* parsed = nullptr);

  /// The partition a delivery belongs to (its envelope's partitionKey; empty when unreadable).
  static std::string partitionKey(const nlohmann::json& parsed);

 private:
  struct Registered {
    MessageHandler handler;
    Deduplication deduplication;
  };
  Decision deadLetter(const TransportDelivery& delivery, Decision decision,
                      const std::string& kind) const;
  Decision retryOrDeadLetter(const TransportDelivery& delivery, Decision decision) const;
  BrokerMessage copyOf(const TransportDelivery& delivery, int retryCount) const;

  ConsumerOptions options_;
  const SchemaRegistry& schemas_;
  const Clock& clock_;
  Inbox* inbox_;
  IdGenerator& ids_;
  std::map<std::pair<std::string, int>, Registered> handlers_;
};

}  // namespace orders
