#pragma once
// The service's metrics: one Prometheus registry (prometheus-cpp core) with every metric family
// of the Order Service, and the observers through which the HTTP pipeline, the SQLite store, the
// outbox relay and the consumers feed it. Those layers see only their own small observer
// interfaces (http::RequestObserver, StoreObserver, RelayObserver, ConsumerObserver); no
// prometheus-cpp type appears in this header, so nothing but this library depends on it.
//
//   ServiceMetrics metrics(clock);
//   SqliteOptions storeOptions; storeOptions.observer = &metrics.store();
//   RelayOptions relayOptions; relayOptions.observer = &metrics.relay();
//   consumerOptions.observer = &metrics.consumer(queue);
//   ApiHooks hooks; hooks.observers = {&metrics.http()};
//   metrics.setStateSource([&] { ... relay->status(), outbox counts, consumer states ... });
//   GET /metrics -> metrics.scrape()
//
// Names follow the Prometheus conventions (base units, _seconds, _total); the three OpenTelemetry
// messaging metrics keep their OTel meaning under their Prometheus-translated names
// (messaging_client_sent_messages_total, messaging_client_operation_duration_seconds,
// messaging_process_duration_seconds). docs/operations.md lists every family.
//
// Cost: counters are atomics (lock-free); a histogram takes one uncontended mutex per
// observation, so the per-event hot path (the relay's confirms) is batched: one histogram update
// per broker poll, not per message. Per-message-type and per-queue series are bound once, not
// looked up per event.
//
// Threads: every observer is thread-safe; scrape() may run on any thread, concurrently with
// observations. Lifetime: the observers are owned by the ServiceMetrics and live as long as it;
// `clock` must outlive it.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "consumer/consumer.hpp"
#include "consumer/consumer_observer.hpp"
#include "http/middlewares.hpp"
#include "outbox/outbox_store.hpp"
#include "outbox/relay.hpp"
#include "outbox/relay_observer.hpp"
#include "store/store_observer.hpp"

namespace orders {

/// What the scrape reads from the running components, for the gauges (state, not events).
struct ObservedState {
  /// nullopt: this process runs no relay (--no-relay).
  std::optional<RelayStatus> relay;
  /// This instance holds the relay's leadership (publishes the outbox). With SQLite there is one
  /// instance per database, so it is simply "the relay runs here".
  bool relayLeader = false;
  /// The last outbox count; an error when the store did not answer it.
  std::optional<Result<OutboxStats>> outbox;
  struct ConsumerState {
    std::string queue;
    ConsumerStatus status;
  };
  std::vector<ConsumerState> consumers;
};

struct ServiceMetricsOptions {
  /// The exchange the relay publishes to (a label of the publish metrics).
  std::string exchange = "order.events";
};

class ServiceMetrics {
 public:
  explicit ServiceMetrics(const Clock& clock, ServiceMetricsOptions options = {});
  ~ServiceMetrics();
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  http::RequestObserver& http();
  RelayObserver& relay();
  StoreObserver& store();
  /// The observer of the consumer of `queue`, made on the first call for that queue and the same
  /// object afterwards. Thread-safe.
  ConsumerObserver& consumer(const std::string& queue);

  /// Where scrape() reads the gauges from; called once per scrape, on the scraping thread. Must
  /// be cheap (no unbounded I/O: use rate-limited counts such as OutboxStatsSampler). Set it
  /// before the first scrape.
  void setStateSource(std::function<ObservedState()> source);

  /// Every family in the Prometheus text exposition format (version 0.0.4).
  std::string scrape();

  /// The Content-Type of scrape()'s text.
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orders
