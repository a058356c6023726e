#include "consumer/consumer.hpp"

#include <spdlog/spdlog.h>

#include <functional>

#include "common/log_fields.hpp"
#include "consumer/consumer_observer.hpp"

namespace orders {

const char* toString(TransportState state) {
  switch (state) {
    case TransportState::kStopped:
      return "stopped";
    case TransportState::kConnecting:
      return "connecting";
    case TransportState::kConnected:
      return "connected";
    case TransportState::kReconnecting:
      return "reconnecting";
  }
  return "?";
}

const char* toString(ConsumerStatus::State state) {
  switch (state) {
    case ConsumerStatus::State::kStopped:
      return "stopped";
    case ConsumerStatus::State::kConnecting:
      return "connecting";
    case ConsumerStatus::State::kConnected:
      return "connected";
    case ConsumerStatus::State::kReconnecting:
      return "reconnecting";
    case ConsumerStatus::State::kStopping:
      return "stopping";
  }
  return "?";
}

Consumer::Consumer(ConsumerOptions options, const SchemaRegistry& schemas,
                   std::unique_ptr<ConsumerTransport> transport, Inbox* inbox, const Clock* clock,
                   IdGenerator* ids)
    : options_(std::move(options)),
      clock_(clock != nullptr ? *clock : systemClock_),
      processor_(options_, schemas, clock_, inbox, ids != nullptr ? *ids : randomIds_),
      transport_(std::move(transport)) {}

Consumer::~Consumer() {
  stop();
}

Status Consumer::on(std::string messageType, int majorVersion, MessageHandler handler,
                    Deduplication deduplication) {
  std::lock_guard lock(lifecycleMutex_);
  if (started_) return Error{ErrorCode::kConflict, "register handlers before start()"};
  return processor_.on(std::move(messageType), majorVersion, std::move(handler), deduplication);
}

Status Consumer::start() {
  std::lock_guard lock(lifecycleMutex_);
  if (started_) return Error{ErrorCode::kConflict, "consumer " + options_.name() + " was started"};
  if (auto valid = validateConsumerOptions(options_); !valid) return valid;
  started_ = true;
  for (std::size_t i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>());
  }
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->thread = std::thread([this, worker] { workerLoop(*worker); });
  }
  ConsumerTransport::Callbacks callbacks;
  callbacks.onDelivery = [this](TransportDelivery d) { onDelivery(std::move(d)); };
  callbacks.onConnectionLost = [this](std::uint64_t generation) { onConnectionLost(generation); };
  callbacks.onState = [this](TransportState s, const std::string& e) { onState(s, e); };
  if (auto started = transport_->start(std::move(callbacks)); !started) {
    stopping_ = true;
    for (auto& w : workers_) {
      { std::lock_guard wl(w->mutex); }
      w->changed.notify_all();
      w->thread.join();
    }
    workers_.clear();
    stopped_ = true;
    return started;
  }
  spdlog::info("consumer {}: consuming {} ({} on {}), prefetch {}, {} worker(s)", options_.name(),
               options_.subscription.queue,
               options_.subscription.routingKeys.size() == 1
                   ? options_.subscription.routingKeys[0]
                   : std::to_string(options_.subscription.routingKeys.size()) + " keys",
               options_.subscription.exchange, options_.prefetch, options_.workers);
  return okStatus();
}

void Consumer::stop() {
  std::lock_guard lock(lifecycleMutex_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  {
    std::lock_guard sl(statusMutex_);
    status_.state = ConsumerStatus::State::kStopping;
  }
  // 1. Nothing new starts: what is queued but not started goes back to the broker when the
  //    channel closes (it was never acked), and so does whatever arrives until the cancel-ok.
  stopping_ = true;
  for (auto& w : workers_) {
    {
      std::lock_guard wl(w->mutex);
      w->queue.clear();
    }
    w->changed.notify_all();
  }
  // 2. No new deliveries.
  transport_->cancel(options_.shutdownTimeout);
  // 3. Handlers that started finish and settle.
  for (auto& w : workers_) w->thread.join();
  // 4. Acks and confirmed copies go out, then the connection closes.
  transport_->close(options_.shutdownTimeout);
  {
    std::lock_guard sl(statusMutex_);
    status_.state = ConsumerStatus::State::kStopped;
  }
  spdlog::info("consumer {}: stopped", options_.name());
}

ConsumerStatus Consumer::status() const {
  std::lock_guard lock(statusMutex_);
  return status_;
}

void Consumer::recordError(const std::string& error) {
  std::lock_guard lock(statusMutex_);
  status_.lastError = error;
  status_.lastErrorAt = clock_.now();
}

void Consumer::onDelivery(TransportDelivery delivery) {
  {
    std::lock_guard lock(statusMutex_);
    ++status_.received;
  }
  if (options_.observer != nullptr) options_.observer->received();
  if (stopping_) return;  // not acked: the broker gives it back when the channel closes
  // Parsed here once: the partition key picks the worker, and the worker reuses the document.
  auto parsed = parseExactJson(delivery.body);
  WorkItem item{std::move(delivery),
                parsed ? std::optional<ExactJson>(std::move(parsed).value()) : std::nullopt};
  std::size_t index = 0;
  if (workers_.size() > 1 && item.parsed) {
    index = std::hash<std::string>{}(MessageProcessor::partitionKey(item.parsed->value)) %
            workers_.size();
  }
  Worker& worker = *workers_[index];
  {
    std::lock_guard lock(worker.mutex);
    worker.queue.push_back(std::move(item));
  }
  worker.changed.notify_one();
}

void Consumer::onConnectionLost(std::uint64_t generation) {
  // The broker requeued every unacked delivery of that connection: handling the queued copies
  // would only apply them a second time (with the redelivered copy).
  for (auto& w : workers_) {
    std::lock_guard lock(w->mutex);
    std::erase_if(w->queue,
                  [generation](const WorkItem& i) { return i.delivery.generation == generation; });
  }
}

void Consumer::onState(TransportState state, const std::string& error) {
  std::lock_guard lock(statusMutex_);
  if (!error.empty()) {
    status_.lastError = error;
    status_.lastErrorAt = clock_.now();
  }
  if (stopping_ && state != TransportState::kStopped) return;  // stays "stopping"
  ConsumerObserver* observer = options_.observer;
  switch (state) {
    case TransportState::kStopped:
      status_.state = ConsumerStatus::State::kStopped;
      break;
    case TransportState::kConnecting:
      status_.state = ConsumerStatus::State::kConnecting;
      break;
    case TransportState::kConnected:
      status_.state = ConsumerStatus::State::kConnected;
      if (everConnected_) ++status_.reconnects;
      if (observer != nullptr) observer->connectionChanged(true, everConnected_);
      everConnected_ = true;
      break;
    case TransportState::kReconnecting:
      if (observer != nullptr && status_.state == ConsumerStatus::State::kConnected)
        observer->connectionChanged(false, false);
      status_.state = ConsumerStatus::State::kReconnecting;
      break;
  }
}

void Consumer::workerLoop(Worker& worker) {
  while (true) {
    WorkItem item;
    {
      std::unique_lock lock(worker.mutex);
      worker.changed.wait(lock, [&] { return stopping_ || !worker.queue.empty(); });
      if (stopping_) return;
      item = std::move(worker.queue.front());
      worker.queue.pop_front();
    }
    handle(item);
  }
}

void Consumer::handle(WorkItem& item) {
  const TransportDelivery& d = item.delivery;
  // What the handler logs is about this message (JSON logs carry these fields).
  const ScopedLogFields deliveryFields(
      {.messageId = d.messageId, .messageType = d.type, .correlationId = d.correlationId});
  const SteadyTime started = clock_.steadyNow();
  Decision decision = processor_.process(d, item.parsed ? &*item.parsed : nullptr);
  // The envelope's values, when it could be read, win over the AMQP properties.
  const ScopedLogFields decisionFields(
      {.messageId = decision.messageId, .messageType = decision.messageType});
  const SettledDelivery observed{
      decision.outcome, decision.attempt, {}, clock_.steadyNow() - started};
  const Outcome outcome = decision.outcome;
  switch (outcome) {
    case Outcome::kApplied:
    case Outcome::kDuplicate:
      spdlog::debug("consumer {}: {} {} {}", options_.name(), decision.messageType,
                    decision.messageId, toString(outcome));
      break;
    case Outcome::kRetried:
      spdlog::info("consumer {}: {} {} failed on attempt {}, retrying later: {}", options_.name(),
                   decision.messageType, decision.messageId, decision.attempt, decision.reason);
      break;
    case Outcome::kDeadLettered:
      spdlog::warn("consumer {}: {} {} goes to the dead-letter queue {} after {} attempt(s): {}",
                   options_.name(), decision.messageType.empty() ? "message" : decision.messageType,
                   decision.messageId.empty() ? "without id" : decision.messageId,
                   deadLetterQueueName(options_.subscription.queue), decision.attempt,
                   decision.reason);
      break;
  }
  transport_->settle(
      d.generation, d.deliveryTag, std::move(decision.settlement),
      [this, outcome, observed, id = decision.messageId,
       failureKind = decision.failureKind](const Status& settled) {
        if (!settled) {
          // Not lost: the broker redelivers the original, and the inbox absorbs a repeat.
          spdlog::warn(
              "consumer {}: message {} was handled ({}) but not settled: {}; the broker "
              "will redeliver it",
              options_.name(), id, toString(outcome), settled.error().message);
          recordError(settled.error().message);
          return;
        }
        if (options_.observer != nullptr) {
          SettledDelivery delivery = observed;
          delivery.failureKind = failureKind;
          options_.observer->settled(delivery);
        }
        std::lock_guard lock(statusMutex_);
        switch (outcome) {
          case Outcome::kApplied:
            ++status_.applied;
            break;
          case Outcome::kDuplicate:
            ++status_.duplicates;
            break;
          case Outcome::kRetried:
            ++status_.retried;
            break;
          case Outcome::kDeadLettered:
            ++status_.deadLettered;
            break;
        }
      });
}

}  // namespace orders
