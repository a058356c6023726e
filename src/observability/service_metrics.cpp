#include "observability/service_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <unordered_map>

#include "events/order_event_types.hpp"

namespace orders {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using Buckets = prometheus::Histogram::BucketBoundaries;

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

// Request and handler latencies: 0.5 ms .. 10 s.
const Buckets kLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
// Commit to confirm includes any backlog (a broker outage): up to 5 minutes. 0.02 is the
// objective at half load (docs/benchmarks.md): the share of events within it is exact, not
// interpolated.
const Buckets kDeliveryBuckets{0.001, 0.0025, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.25,
                               0.5,   1,      2.5,   5,    10,   30,    60,   300};
// A group commit: 0.1 ms .. 1 s.
const Buckets kCommitBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                             0.01,   0.025,   0.05,   0.1,   0.25,   1};
// Writes per group commit (SqliteOptions::maxBatch is 1024).
const Buckets kBatchBuckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

/// Observations of one histogram gathered without a lock, handed over with one
/// Histogram::ObserveMultiple (one mutex) per batch.
class HistogramBatch {
 public:
  explicit HistogramBatch(const Buckets& bounds) : bounds_(bounds), counts_(bounds.size() + 1) {}
  void add(double value) {
    // The bucket prometheus-cpp's Observe picks: the first bound >= value, else +Inf.
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    counts_[static_cast<std::size_t>(it - bounds_.begin())] += 1;
    sum_ += value;
    any_ = true;
  }
  void flushTo(Histogram& histogram) {
    if (!any_) return;
    histogram.ObserveMultiple(counts_, sum_);
    std::fill(counts_.begin(), counts_.end(), 0.0);
    sum_ = 0;
    any_ = false;
  }

 private:
  const Buckets& bounds_;
  std::vector<double> counts_;
  double sum_ = 0;
  bool any_ = false;
};

/// A counter per message type: the known types bound at construction (read without a lock),
/// an unknown one added under a mutex on first sight.
class CountersByType {
 public:
  CountersByType(Family<Counter>& family, prometheus::Labels constant) : family_(family) {
    constant_ = std::move(constant);
    for (const auto type : kOrderEventTypes) {
      auto labels = constant_;
      labels["message_type"] = std::string(type);
      known_.emplace(std::string(type), &family_.Add(labels));
    }
  }
  Counter& of(std::string_view type) {
    if (auto it = known_.find(type); it != known_.end()) return *it->second;
    std::lock_guard lock(mutex_);
    auto& counter = others_[std::string(type)];
    if (counter == nullptr) {
      auto labels = constant_;
      labels["message_type"] = std::string(type);
      counter = &family_.Add(labels);
    }
    return *counter;
  }

 private:
  Family<Counter>& family_;
  prometheus::Labels constant_;
  std::map<std::string, Counter*, std::less<>> known_;  // immutable after construction
  std::mutex mutex_;
  std::map<std::string, Counter*, std::less<>> others_;
};

constexpr std::array kRelayStates{RelayStatus::State::kStopped,   RelayStatus::State::kStarting,
                                  RelayStatus::State::kConnected, RelayStatus::State::kDegraded,
                                  RelayStatus::State::kBlocked,   RelayStatus::State::kStandby};
constexpr std::array kPublishFailures{
    PublishFailure::kConnectFailed, PublishFailure::kPublishError, PublishFailure::kConnectionLost,
    PublishFailure::kNack,          PublishFailure::kReturned,     PublishFailure::kConfirmTimeout};
// x-failure-kind values (consumer/failure_headers.hpp).
constexpr std::array<const char*, 4> kDeadLetterReasons{"invalid-message", "unsupported-version",
                                                        "permanent-failure", "retries-exhausted"};

/// Every family and the series bound at start.
struct MetricFamilies {
  const Clock& clock;
  ServiceMetricsOptions options;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  // --- HTTP ---------------------------------------------------------------------------------
  Family<Counter>& httpRequests =
      prometheus::BuildCounter()
          .Name("http_server_requests_total")
          .Help("HTTP requests answered, by method, route template and status class")
          .Register(*registry);
  Family<Histogram>& httpDuration =
      prometheus::BuildHistogram()
          .Name("http_server_request_duration_seconds")
          .Help(
              "Time from a request's arrival in the pipeline to its answer "
              "(OpenTelemetry http.server.request.duration)")
          .Register(*registry);

  // --- store --------------------------------------------------------------------------------
  Family<Counter>& eventsWrittenFamily =
      prometheus::BuildCounter()
          .Name("order_outbox_events_written_total")
          .Help("Events committed to the outbox, by message type")
          .Register(*registry);
  CountersByType eventsWritten{eventsWrittenFamily, {}};
  Histogram& commitWrites = prometheus::BuildHistogram()
                                .Name("order_store_commit_writes")
                                .Help("Writes (jobs) per group commit of the SQLite store")
                                .Register(*registry)
                                .Add({}, kBatchBuckets);
  Histogram& commitDuration = prometheus::BuildHistogram()
                                  .Name("order_store_commit_duration_seconds")
                                  .Help("Duration of one group commit, BEGIN to durable COMMIT")
                                  .Register(*registry)
                                  .Add({}, kCommitBuckets);
  Counter& commitFailures = prometheus::BuildCounter()
                                .Name("order_store_commit_failures_total")
                                .Help("Group commits that failed as a whole")
                                .Register(*registry)
                                .Add({});

  // --- relay --------------------------------------------------------------------------------
  Family<Counter>& sentFamily =
      prometheus::BuildCounter()
          .Name("messaging_client_sent_messages_total")
          .Help(
              "Events the broker confirmed (acked, not returned), by message type "
              "(OpenTelemetry messaging.client.sent.messages, successful sends only)")
          .Register(*registry);
  CountersByType sent{sentFamily,
                      {{"messaging_system", "rabbitmq"}, {"exchange", options.exchange}}};
  Histogram& publishDuration =
      prometheus::BuildHistogram()
          .Name("messaging_client_operation_duration_seconds")
          .Help(
              "Time from publishing a message to the broker's confirm "
              "(OpenTelemetry messaging.client.operation.duration, operation publish)")
          .Register(*registry)
          .Add({{"messaging_system", "rabbitmq"},
                {"messaging_operation_name", "publish"},
                {"exchange", options.exchange}},
               kLatencyBuckets);
  Histogram& commitToConfirm =
      prometheus::BuildHistogram()
          .Name("order_outbox_commit_to_confirm_seconds")
          .Help(
              "Time from an event's commit (its timestamp) to the broker's confirm, backlog "
              "included")
          .Register(*registry)
          .Add({}, kDeliveryBuckets);
  Family<Counter>& failuresFamily =
      prometheus::BuildCounter()
          .Name("order_relay_publish_failures_total")
          .Help(
              "Publication failures of the outbox relay, by reason; each leads to a reconnect "
              "and a republish")
          .Register(*registry);
  std::array<Counter*, kPublishFailures.size()> failures{};
  Counter& republished = prometheus::BuildCounter()
                             .Name("order_relay_republished_messages_total")
                             .Help(
                                 "Messages published again after a failure (possible "
                                 "duplicates for consumers)")
                             .Register(*registry)
                             .Add({});
  Counter& reconnects = prometheus::BuildCounter()
                            .Name("order_relay_reconnects_total")
                            .Help("Broker connections the relay established after its first")
                            .Register(*registry)
                            .Add({});
  Counter& blockedSeconds =
      prometheus::BuildCounter()
          .Name("order_relay_blocked_seconds_total")
          .Help("Time the broker kept the relay's connection blocked (connection.blocked)")
          .Register(*registry)
          .Add({});
  Family<Gauge>& relayStateFamily =
      prometheus::BuildGauge()
          .Name("order_relay_state")
          .Help(
              "1 for the relay's current state (stopped, starting, connected, degraded, "
              "blocked), 0 for the others")
          .Register(*registry);
  std::array<Gauge*, kRelayStates.size()> relayState{};
  Gauge& relayLeader =
      prometheus::BuildGauge()
          .Name("order_relay_leader")
          .Help("1 when this instance holds the relay lease and publishes the outbox")
          .Register(*registry)
          .Add({});
  Gauge& inFlight = prometheus::BuildGauge()
                        .Name("order_relay_in_flight_messages")
                        .Help("Messages published and not yet confirmed")
                        .Register(*registry)
                        .Add({});
  Gauge& backlog = prometheus::BuildGauge()
                       .Name("order_outbox_backlog_events")
                       .Help(
                           "Outbox rows not yet confirmed by the broker (recounted at most "
                           "once a second)")
                       .Register(*registry)
                       .Add({});
  Gauge& oldestAge = prometheus::BuildGauge()
                         .Name("order_outbox_oldest_unpublished_age_seconds")
                         .Help(
                             "Age of the oldest event not yet confirmed by the broker; 0 "
                             "when there is none")
                         .Register(*registry)
                         .Add({});
  Gauge& storeUp = prometheus::BuildGauge()
                       .Name("order_store_up")
                       .Help("1 when the store answered the last outbox count")
                       .Register(*registry)
                       .Add({});

  // --- consumers ----------------------------------------------------------------------------
  Family<Counter>& consumedFamily =
      prometheus::BuildCounter()
          .Name("messaging_client_consumed_messages_total")
          .Help(
              "Deliveries taken from the broker, redeliveries included "
              "(OpenTelemetry messaging.client.consumed.messages)")
          .Register(*registry);
  Family<Counter>& processedFamily = prometheus::BuildCounter()
                                         .Name("order_consumer_messages_processed_total")
                                         .Help("Messages whose handler succeeded (acked)")
                                         .Register(*registry);
  Family<Counter>& duplicatesFamily =
      prometheus::BuildCounter()
          .Name("order_consumer_duplicates_skipped_total")
          .Help("Messages acked without effect because their messageId was applied already")
          .Register(*registry);
  Family<Counter>& retriedFamily =
      prometheus::BuildCounter()
          .Name("order_consumer_messages_retried_total")
          .Help("Messages sent to a retry queue, by the attempt that failed")
          .Register(*registry);
  Family<Counter>& deadLetteredFamily =
      prometheus::BuildCounter()
          .Name("order_consumer_messages_dead_lettered_total")
          .Help("Messages sent to the dead-letter queue, by reason class (x-failure-kind)")
          .Register(*registry);
  Family<Histogram>& processFamily =
      prometheus::BuildHistogram()
          .Name("messaging_process_duration_seconds")
          .Help(
              "Parse, validation, inbox and handler time of one delivery, by outcome "
              "(OpenTelemetry messaging.process.duration)")
          .Register(*registry);
  Family<Gauge>& consumerConnectedFamily =
      prometheus::BuildGauge()
          .Name("order_consumer_connected")
          .Help("1 when the consumer of the queue is connected and subscribed")
          .Register(*registry);
  Family<Counter>& consumerReconnectsFamily =
      prometheus::BuildCounter()
          .Name("order_consumer_reconnects_total")
          .Help("Connections the consumer established after its first")
          .Register(*registry);

  // connection.blocked time: accounted at unblock and at every scrape.
  std::mutex blockedMutex;
  std::optional<SteadyTime> blockedAccountedUpTo;  // set while blocked

  MetricFamilies(const Clock& c, ServiceMetricsOptions o) : clock(c), options(std::move(o)) {
    for (std::size_t i = 0; i < kPublishFailures.size(); ++i)
      failures[i] = &failuresFamily.Add({{"reason", toString(kPublishFailures[i])}});
    for (std::size_t i = 0; i < kRelayStates.size(); ++i)
      relayState[i] = &relayStateFamily.Add({{"state", toString(kRelayStates[i])}});
  }

  void accountBlocked(bool stillBlocked) {
    std::lock_guard lock(blockedMutex);
    const SteadyTime now = clock.steadyNow();
    if (blockedAccountedUpTo) {
      blockedSeconds.Increment(seconds(now - *blockedAccountedUpTo));
    }
    if (stillBlocked) {
      blockedAccountedUpTo = now;
    } else {
      blockedAccountedUpTo.reset();
    }
  }
  void startBlocked() {
    std::lock_guard lock(blockedMutex);
    if (!blockedAccountedUpTo) blockedAccountedUpTo = clock.steadyNow();
  }
};

// Status classes: "1xx".."5xx" (anything else is "other").
std::string_view statusClass(int status) {
  static constexpr std::array<std::string_view, 6> kClasses{"other", "1xx", "2xx",
                                                            "3xx",   "4xx", "5xx"};
  const int index = status / 100;
  return index >= 1 && index <= 5 ? kClasses[static_cast<std::size_t>(index)] : kClasses[0];
}

class HttpMetrics final : public http::RequestObserver {
 public:
  explicit HttpMetrics(MetricFamilies& m) : m_(m) {}
  void requestCompleted(const http::CompletedRequest& request) override {
    const std::string_view cls = statusClass(request.status);
    Series* series = nullptr;
    {
      // Route templates are few (the routing table), so the series are too; the key is built
      // per request, the series only once.
      std::string key;
      key.reserve(request.method.size() + request.routeTemplate.size() + 5);
      key.append(request.method).append(" ").append(request.routeTemplate).append(" ").append(cls);
      std::lock_guard lock(mutex_);
      auto& slot = series_[key];
      if (slot.requests == nullptr) {
        const prometheus::Labels labels{{"method", std::string(knownMethod(request.method))},
                                        {"route", std::string(request.routeTemplate)},
                                        {"status_class", std::string(cls)}};
        slot.requests = &m_.httpRequests.Add(labels);
        slot.duration = &m_.httpDuration.Add(labels, kLatencyBuckets);
      }
      series = &slot;
    }
    series->requests->Increment();
    series->duration->Observe(seconds(request.duration));
  }

 private:
  struct Series {
    Counter* requests = nullptr;
    Histogram* duration = nullptr;
  };
  // A client can send any method name: unknown ones share one label value.
  static std::string_view knownMethod(std::string_view method) {
    static constexpr std::array<std::string_view, 9> kMethods{
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"};
    for (auto known : kMethods)
      if (known == method) return known;
    return "_OTHER";  // as OpenTelemetry's http.request.method does
  }
  MetricFamilies& m_;
  std::mutex mutex_;
  std::unordered_map<std::string, Series> series_;
};

class StoreMetrics final : public StoreObserver {
 public:
  explicit StoreMetrics(MetricFamilies& m) : m_(m) {}
  void batchCommitted(std::size_t writes, std::chrono::nanoseconds duration, bool ok) override {
    m_.commitWrites.Observe(static_cast<double>(writes));
    m_.commitDuration.Observe(seconds(duration));
    if (!ok) m_.commitFailures.Increment();
  }
  void eventWritten(std::string_view messageType) override {
    m_.eventsWritten.of(messageType).Increment();
  }

 private:
  MetricFamilies& m_;
};

class RelayMetrics final : public RelayObserver {
 public:
  explicit RelayMetrics(MetricFamilies& m)
      : m_(m), publish_(kLatencyBuckets), delivery_(kDeliveryBuckets) {}
  // Only the relay thread calls these, so the batches need no lock.
  void confirmed(std::span<const ConfirmedPublication> messages, Timestamp at) override {
    std::string_view lastType;
    Counter* counter = nullptr;
    double sameType = 0;
    for (const auto& message : messages) {
      if (counter == nullptr || message.messageType != lastType) {
        if (counter != nullptr) counter->Increment(sameType);
        counter = &m_.sent.of(message.messageType);
        lastType = message.messageType;
        sameType = 0;
      }
      sameType += 1;
      publish_.add(seconds(message.publishToConfirm));
      delivery_.add(std::max(0.0, seconds(at - message.eventTime)));
    }
    if (counter != nullptr) counter->Increment(sameType);
    publish_.flushTo(m_.publishDuration);
    delivery_.flushTo(m_.commitToConfirm);
  }
  void publishFailed(PublishFailure failure, std::uint64_t unconfirmed) override {
    for (std::size_t i = 0; i < kPublishFailures.size(); ++i)
      if (kPublishFailures[i] == failure) m_.failures[i]->Increment();
    if (unconfirmed > 0) m_.republished.Increment(static_cast<double>(unconfirmed));
  }
  void connected(bool reconnect) override {
    if (reconnect) m_.reconnects.Increment();
  }
  void blockedChanged(bool blocked) override {
    if (blocked) {
      m_.startBlocked();
    } else {
      m_.accountBlocked(false);
    }
  }

 private:
  MetricFamilies& m_;
  HistogramBatch publish_;
  HistogramBatch delivery_;
};

class ConsumerMetrics final : public ConsumerObserver {
 public:
  ConsumerMetrics(MetricFamilies& m, const std::string& queue)
      : m_(m),
        queue_(queue),
        consumed_(m.consumedFamily.Add({{"messaging_system", "rabbitmq"}, {"queue", queue}})),
        processed_(m.processedFamily.Add({{"queue", queue}})),
        duplicates_(m.duplicatesFamily.Add({{"queue", queue}})),
        connected_(m.consumerConnectedFamily.Add({{"queue", queue}})),
        reconnects_(m.consumerReconnectsFamily.Add({{"queue", queue}})) {
    for (const char* reason : kDeadLetterReasons)
      deadLettered_.emplace(reason,
                            &m.deadLetteredFamily.Add({{"queue", queue}, {"reason", reason}}));
    for (Outcome outcome :
         {Outcome::kApplied, Outcome::kDuplicate, Outcome::kRetried, Outcome::kDeadLettered})
      duration_[static_cast<std::size_t>(outcome)] = &m.processFamily.Add(
          {{"messaging_system", "rabbitmq"}, {"queue", queue}, {"outcome", toString(outcome)}},
          kLatencyBuckets);
  }
  void received() override { consumed_.Increment(); }
  void settled(const SettledDelivery& delivery) override {
    duration_[static_cast<std::size_t>(delivery.outcome)]->Observe(
        seconds(delivery.processingTime));
    switch (delivery.outcome) {
      case Outcome::kApplied:
        processed_.Increment();
        break;
      case Outcome::kDuplicate:
        duplicates_.Increment();
        break;
      case Outcome::kRetried:
        m_.retriedFamily.Add({{"queue", queue_}, {"attempt", std::to_string(delivery.attempt)}})
            .Increment();
        break;
      case Outcome::kDeadLettered: {
        auto it = deadLettered_.find(delivery.failureKind);
        if (it != deadLettered_.end()) {
          it->second->Increment();
        } else {
          m_.deadLetteredFamily
              .Add({{"queue", queue_},
                    {"reason",
                     delivery.failureKind.empty() ? "unknown" : std::string(delivery.failureKind)}})
              .Increment();
        }
        break;
      }
    }
  }
  void connectionChanged(bool connected, bool reconnect) override {
    connected_.Set(connected ? 1 : 0);
    if (connected && reconnect) reconnects_.Increment();
  }
  void setConnected(bool connected) { connected_.Set(connected ? 1 : 0); }

 private:
  MetricFamilies& m_;
  const std::string queue_;
  Counter& consumed_;
  Counter& processed_;
  Counter& duplicates_;
  Gauge& connected_;
  Counter& reconnects_;
  std::map<std::string, Counter*, std::less<>> deadLettered_;  // immutable after construction
  std::array<Histogram*, 4> duration_{};
};

}  // namespace

struct ServiceMetrics::Impl {
  Impl(const Clock& clock, ServiceMetricsOptions options)
      : families(clock, std::move(options)), http(families), store(families), relay(families) {}
  MetricFamilies families;
  HttpMetrics http;
  StoreMetrics store;
  RelayMetrics relay;
  std::mutex mutex;  // consumers, stateSource
  std::map<std::string, std::unique_ptr<ConsumerMetrics>> consumers;
  std::function<ObservedState()> stateSource;
};

ServiceMetrics::ServiceMetrics(const Clock& clock, ServiceMetricsOptions options)
    : impl_(std::make_unique<Impl>(clock, std::move(options))) {}

ServiceMetrics::~ServiceMetrics() = default;

http::RequestObserver& ServiceMetrics::http() {
  return impl_->http;
}
RelayObserver& ServiceMetrics::relay() {
  return impl_->relay;
}
StoreObserver& ServiceMetrics::store() {
  return impl_->store;
}

ConsumerObserver& ServiceMetrics::consumer(const std::string& queue) {
  std::lock_guard lock(impl_->mutex);
  auto& slot = impl_->consumers[queue];
  if (!slot) slot = std::make_unique<ConsumerMetrics>(impl_->families, queue);
  return *slot;
}

void ServiceMetrics::setStateSource(std::function<ObservedState()> source) {
  std::lock_guard lock(impl_->mutex);
  impl_->stateSource = std::move(source);
}

std::string ServiceMetrics::scrape() {
  MetricFamilies& m = impl_->families;
  std::function<ObservedState()> source;
  {
    std::lock_guard lock(impl_->mutex);
    source = impl_->stateSource;
  }
  if (source) {
    const ObservedState state = source();
    const Timestamp now = m.clock.now();
    for (std::size_t i = 0; i < kRelayStates.size(); ++i)
      m.relayState[i]->Set(state.relay && state.relay->state == kRelayStates[i] ? 1 : 0);
    if (!state.relay) m.relayState[0]->Set(1);  // not running here: stopped
    m.relayLeader.Set(state.relay && state.relayLeader ? 1 : 0);
    m.inFlight.Set(state.relay ? static_cast<double>(state.relay->inFlight) : 0);
    m.accountBlocked(state.relay && state.relay->state == RelayStatus::State::kBlocked);
    if (state.outbox) {
      const Result<OutboxStats>& stats = *state.outbox;
      m.storeUp.Set(stats.ok() ? 1 : 0);
      if (stats.ok()) {
        m.backlog.Set(static_cast<double>(stats->pending));
        m.oldestAge.Set(
            stats->oldestPendingAt ? std::max(0.0, seconds(now - *stats->oldestPendingAt)) : 0.0);
      }
    }
    for (const auto& consumer : state.consumers) {
      auto& observer = static_cast<ConsumerMetrics&>(this->consumer(consumer.queue));
      observer.setConnected(consumer.status.state == ConsumerStatus::State::kConnected);
    }
  }
  return prometheus::TextSerializer().Serialize(m.registry->Collect());
}

}  // namespace orders
