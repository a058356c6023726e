#include "outbox/relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/backoff.hpp"
#include "common/log_fields.hpp"
#include "events/routing_key.hpp"

namespace orders {
namespace {

using std::chrono::milliseconds;

/// A message published and not yet confirmed. Delivery tags of consecutive entries are
/// consecutive (we publish in window order and only ever pop the front), so a tag's entry is
/// found by subtraction. Ids are increasing except for late rows (see the sweep).
struct InFlight {
  std::int64_t id;
  std::uint64_t tag;
  std::size_t bytes;
  SteadyTime sentAt;
  bool acked = false;
  std::string messageId;
  const std::string* messageType;  // interned by the relay thread (typeNames): no copy per row
  Timestamp eventTime;
};

}  // namespace

const char* toString(PublishFailure failure) {
  switch (failure) {
    case PublishFailure::kConnectFailed:
      return "connect_failed";
    case PublishFailure::kPublishError:
      return "publish_error";
    case PublishFailure::kConnectionLost:
      return "connection_lost";
    case PublishFailure::kNack:
      return "nack";
    case PublishFailure::kReturned:
      return "returned";
    case PublishFailure::kConfirmTimeout:
      return "confirm_timeout";
  }
  return "unknown";
}

const char* toString(RelayStatus::State state) {
  switch (state) {
    case RelayStatus::State::kStopped:
      return "stopped";
    case RelayStatus::State::kStarting:
      return "starting";
    case RelayStatus::State::kConnected:
      return "connected";
    case RelayStatus::State::kDegraded:
      return "degraded";
    case RelayStatus::State::kBlocked:
      return "blocked";
  }
  return "unknown";
}

/// State shared between the relay thread, the watchdog, status() callers and store callbacks
/// (which can outlive the Relay object, hence the shared_ptr).
struct Relay::Shared {
  mutable std::mutex mutex;
  std::condition_variable changed;
  bool running = false;
  bool stopRequested = false;
  bool wakeRequested = false;
  std::uint64_t commits = 0;  // listener calls: the watchdog recounts after a commit
  RelayStatus status;
  /// The live publisher, so other threads can wake it up or abort it. Set and cleared by the
  /// relay thread only, and destroyed by it only after clearing this under the mutex.
  ConfirmedPublisher* publisher = nullptr;
  /// Set while the relay thread is inside publish(), for the watchdog.
  std::optional<SteadyTime> publishStartedAt;
  /// The ids of each markPublished call whose callback has not run yet, by call number: still
  /// unpublished in the store, but not to be published again by the late-row sweep.
  std::map<std::uint64_t, std::vector<std::int64_t>> marking;
  /// Lowest row id whose mark failed (republish from there); 0 = none.
  std::int64_t rewindBelow = 0;
  std::thread relayThread;
  std::thread watchdogThread;

  void wake() {
    std::lock_guard lock(mutex);
    wakeRequested = true;
    ++commits;
    if (publisher != nullptr) publisher->wakeup();
    changed.notify_all();
  }

  void setState(RelayStatus::State state, std::string reason) {
    std::lock_guard lock(mutex);
    status.state = state;
    status.reason = std::move(reason);
  }

  void recordError(const std::string& message, Timestamp at) {
    std::lock_guard lock(mutex);
    status.lastError = message;
    status.lastErrorAt = at;
  }
};

Relay::Relay(OutboxStore& store, PublisherFactory publisherFactory, const Clock& clock,
             RelayOptions options, OutboxStatsSampler* stats)
    : store_(store),
      factory_(std::move(publisherFactory)),
      clock_(clock),
      options_(std::move(options)),
      ownStats_(stats != nullptr
                    ? nullptr
                    : std::make_unique<OutboxStatsSampler>(store_, clock_, options_.statsInterval)),
      stats_(stats != nullptr ? *stats : *ownStats_),
      shared_(std::make_shared<Shared>()) {}

Relay::~Relay() {
  stop();
}

void Relay::start() {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->running) return;
    shared_->running = true;
    shared_->stopRequested = false;
    shared_->wakeRequested = true;
    shared_->rewindBelow = 0;
    RelayStatus fresh;
    fresh.state = RelayStatus::State::kStarting;
    fresh.backlog = shared_->status.backlog;
    fresh.oldestPendingAt = shared_->status.oldestPendingAt;
    shared_->status = fresh;
  }
  std::weak_ptr<Shared> weak = shared_;
  store_.setOutboxListener([weak] {
    if (auto shared = weak.lock()) shared->wake();
  });
  shared_->relayThread = std::thread([this] { run(); });
  shared_->watchdogThread = std::thread([this] { watchdog(); });
}

void Relay::stop() {
  {
    std::lock_guard lock(shared_->mutex);
    if (!shared_->running) return;
    shared_->stopRequested = true;
    if (shared_->publisher != nullptr) shared_->publisher->wakeup();
  }
  shared_->changed.notify_all();
  if (shared_->relayThread.joinable()) shared_->relayThread.join();
  {
    std::lock_guard lock(shared_->mutex);
    shared_->running = false;  // also ends the watchdog
  }
  shared_->changed.notify_all();
  if (shared_->watchdogThread.joinable()) shared_->watchdogThread.join();
  // After this returns no listener call is in progress (the store calls it under its lock).
  store_.setOutboxListener({});
  shared_->setState(RelayStatus::State::kStopped, "");
}

RelayStatus Relay::status() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->status;
}

namespace {

/// Fills `m` for `row`, reusing its buffers (the relay keeps one message for all publishes, so
/// the hot path does not allocate).
void fillBrokerMessage(const OutboxMessage& row, const std::string& exchange, BrokerMessage& m) {
  m.exchange = exchange;
  // Per major version (events/routing_key.hpp): 1.x keeps the messageType, 2.x gets ".v2".
  assignRoutingKey(m.routingKey, row.messageType, row.messageVersion);
  m.body = row.body;
  m.mandatory = true;
  m.contentType = "application/json";
  m.persistent = true;
  m.messageId = row.messageId;
  m.type = row.messageType;
  m.appId = row.source;
  m.correlationId = row.correlationId;
  m.timestampSeconds =
      std::chrono::duration_cast<std::chrono::seconds>(row.timestamp.time_since_epoch()).count();
  const std::size_t traced = row.traceparent.empty() ? 0 : row.tracestate.empty() ? 1 : 2;
  m.headers.resize(3 + traced);
  m.headers[0].name = "messageVersion";
  m.headers[0].value = row.messageVersion;
  m.headers[1].name = "partitionKey";
  m.headers[1].value = row.partitionKey;
  m.headers[2].name = "sequence";
  m.headers[2].value = row.sequence;
  // The event's own span (written with the row), so a consumer's work joins the trace of the
  // request that caused the event; tracestate only travels next to its traceparent.
  if (traced > 0) {
    m.headers[3].name = kTraceparentHeader;
    m.headers[3].value = row.traceparent;
  }
  if (traced > 1) {
    m.headers[4].name = kTracestateHeader;
    m.headers[4].value = row.tracestate;
  }
}

}  // namespace

BrokerMessage Relay::toBrokerMessage(const OutboxMessage& row, const std::string& exchange) {
  BrokerMessage m;
  fillBrokerMessage(row, exchange, m);
  return m;
}

void Relay::watchdog() {
  Shared& s = *shared_;
  // Often enough to catch a stuck publish and to recount every statsInterval.
  const milliseconds tick =
      std::min(std::clamp(options_.confirmTimeout / 4, milliseconds(20), milliseconds(250)),
               std::max(options_.statsInterval, milliseconds(1)));
  std::optional<SteadyTime> countedAt;  // of the last count seen, to report each failure once
  std::uint64_t commitsSeen = 0;
  std::unique_lock lock(s.mutex);
  while (s.running) {
    // A publish that cannot finish (the socket is full because the broker stopped reading)
    // would block the relay forever; breaking the connection turns it into an ordinary failure.
    if (s.publishStartedAt && elapsedSince(clock_, *s.publishStartedAt) > options_.confirmTimeout &&
        s.publisher != nullptr) {
      spdlog::warn(
          "outbox relay: a publish has been blocked for more than {} ms, dropping the "
          "connection",
          options_.confirmTimeout.count());
      s.publisher->abort();
      s.publishStartedAt.reset();
    }
    // Counting pending rows is a store query: here, not on the publishing thread, and only as
    // often as the sampler allows.
    lock.unlock();
    const OutboxStatsSampler::Sample sample = stats_.sample();
    lock.lock();
    if (sample.stats.ok()) {
      s.status.backlog = sample.stats->pending;
      s.status.oldestPendingAt = sample.stats->oldestPendingAt;
    } else if (countedAt != sample.countedAt) {
      s.status.lastError = "counting pending outbox rows failed: " + sample.stats.error().message;
      s.status.lastErrorAt = clock_.now();
    }
    countedAt = sample.countedAt;
    // A commit wakes it too, so the backlog follows the writes (as often as the sampler allows).
    commitsSeen = s.commits;
    clock_.waitFor(lock, s.changed, tick, [&] { return !s.running || s.commits != commitsSeen; });
  }
}

void Relay::run() {
  Shared& s = *shared_;
  std::unique_ptr<ConfirmedPublisher> publisher;
  std::deque<InFlight> window;
  std::size_t windowBytes = 0;
  std::deque<OutboxMessage> buffer;  // fetched, not yet published (late rows first)
  std::int64_t cursor = 0;           // rows with id <= cursor were fetched already
  bool caughtUp = false;             // the last fetch returned everything there was
  bool blocked = false;
  SteadyTime nextFallbackPoll = clock_.steadyNow();
  SteadyTime nextSweep = clock_.steadyNow() + options_.lateRowSweepInterval;
  SteadyTime nextAttempt = clock_.steadyNow();
  std::optional<SteadyTime> drainDeadline;
  std::vector<std::int64_t> toMark;
  std::uint64_t markCalls = 0;
  std::vector<std::int64_t> owned;  // reused by the sweep
  BrokerMessage message;            // reused for every publish
  SteadyTime firstUnmarkedAt = clock_.steadyNow();
  bool lingerStarted = false;  // a commit is being held back (see RelayOptions::linger)
  SteadyTime lingerSince{};    // since then
  Backoff backoff(options_.backoffInitial, options_.backoffMax, 0.2,
                  options_.backoffSeed.value_or(std::random_device{}()));
  RelayObserver* const observer = options_.observer;
  std::set<std::string, std::less<>> typeNames;    // the message types seen, for InFlight
  std::vector<ConfirmedPublication> confirmedNow;  // reused: the confirms of one poll
  bool everConnected = false;
  auto internType = [&typeNames](const std::string& type) -> const std::string* {
    auto it = typeNames.find(type);
    if (it == typeNames.end()) it = typeNames.insert(type).first;
    return &*it;
  };

  auto setPublisher = [&](std::unique_ptr<ConfirmedPublisher> p) {
    std::unique_ptr<ConfirmedPublisher> old;
    {
      std::lock_guard lock(s.mutex);
      s.publisher = p.get();
      old = std::move(publisher);
      publisher = std::move(p);
    }
    old.reset();  // destroyed outside the lock: nobody can reach it any more
  };

  auto flushMarks = [&] {
    if (toMark.empty()) return;
    const std::int64_t lowest = *std::min_element(toMark.begin(), toMark.end());
    const std::size_t count = toMark.size();
    const std::uint64_t call = ++markCalls;
    {
      std::lock_guard lock(s.mutex);
      s.marking.emplace(call, toMark);
      ++s.status.markCallCount;
    }
    std::weak_ptr<Shared> weak = shared_;
    const Timestamp at = clock_.now();
    store_.markPublished(
        std::move(toMark), at, kNoLeaseEpoch,
        [weak, lowest, count, at, call](const Status& status) {
          auto shared = weak.lock();
          if (!shared) return;  // the relay is gone; a lost mark only means a republish later
          std::lock_guard lock(shared->mutex);
          shared->marking.erase(call);
          if (status.ok()) {
            shared->status.publishedCount += count;
            shared->status.lastConfirmAt = at;
          } else {
            // The broker has these messages, but the store does not know: publish them again
            // (duplicates) rather than risk never marking them.
            spdlog::warn(
                "outbox relay: marking {} rows published failed ({}); they will be "
                "published again",
                count, status.error().message);
            shared->status.lastError = "marking rows published failed: " + status.error().message;
            shared->status.lastErrorAt = at;
            shared->rewindBelow =
                shared->rewindBelow == 0 ? lowest : std::min(shared->rewindBelow, lowest);
          }
          shared->changed.notify_all();
        });
    toMark.clear();
  };

  // Drops the connection; the next connection republishes from the first unconfirmed row (the
  // lowest id: a late row may sit behind higher ids in the window).
  auto fail = [&](const std::string& reason, RelayStatus::State state, PublishFailure kind) {
    const bool timedOut = kind == PublishFailure::kConfirmTimeout;
    flushMarks();
    std::int64_t firstUnconfirmed = 0;
    std::uint64_t unconfirmed = 0;
    // The message the failure is logged with: the first one that goes out again.
    std::string failedMessageId;
    std::string failedMessageType;
    for (const auto& f : window) {
      if (f.acked) continue;
      if (firstUnconfirmed == 0 || f.id < firstUnconfirmed) {
        firstUnconfirmed = f.id;
        failedMessageId = f.messageId;
        failedMessageType = *f.messageType;
      }
      ++unconfirmed;
    }
    if (!buffer.empty() && (firstUnconfirmed == 0 || buffer.front().id < firstUnconfirmed)) {
      firstUnconfirmed = buffer.front().id;
      failedMessageId = buffer.front().messageId;
      failedMessageType = buffer.front().messageType;
    }
    if (firstUnconfirmed != 0) cursor = std::min(cursor, firstUnconfirmed - 1);
    window.clear();
    windowBytes = 0;
    buffer.clear();
    caughtUp = false;
    if (blocked && observer != nullptr) observer->blockedChanged(false);
    blocked = false;
    setPublisher(nullptr);
    if (observer != nullptr) observer->publishFailed(kind, unconfirmed);
    const milliseconds delay = backoff.next();
    nextAttempt = clock_.steadyNow() + delay;
    {
      const ScopedLogFields fields(
          {.messageId = failedMessageId, .messageType = failedMessageType});
      spdlog::warn(
          "outbox relay: {}; {} unconfirmed messages will be published again, from message {} "
          "(outbox row {}); reconnecting in {} ms",
          reason, unconfirmed, failedMessageId.empty() ? "none" : failedMessageId, firstUnconfirmed,
          delay.count());
    }
    const Timestamp now = clock_.now();
    std::lock_guard lock(s.mutex);
    s.status.state = state;
    s.status.reason = reason;
    s.status.lastError = reason;
    s.status.lastErrorAt = now;
    s.status.inFlight = 0;
    s.status.broker.clear();
    s.status.republishedCount += unconfirmed;
    if (timedOut) ++s.status.timeoutCount;  // with lastError, so snapshots are consistent
  };

  // Rows that became visible below the cursor after the fetch that passed them: pending ids at or
  // below the cursor that the relay does not hold itself go to the front of the (empty) buffer.
  auto sweepLateRows = [&] {
    owned.clear();
    {
      std::lock_guard lock(s.mutex);
      if (s.rewindBelow != 0) return;  // a failed mark is republished from there anyway
      for (const auto& [call, ids] : s.marking) owned.insert(owned.end(), ids.begin(), ids.end());
    }
    for (const auto& f : window) owned.push_back(f.id);
    owned.insert(owned.end(), toMark.begin(), toMark.end());
    std::sort(owned.begin(), owned.end());
    auto ids = store_.pendingIds(0, cursor, owned.size() + options_.fetchBatch);
    if (!ids) {
      spdlog::warn("outbox relay: looking for late rows failed (next sweep in {} ms): {}",
                   options_.lateRowSweepInterval.count(), ids.error().message);
      return;
    }
    std::size_t found = 0;
    for (const std::int64_t id : *ids) {
      if (std::binary_search(owned.begin(), owned.end(), id)) continue;
      // Read by id; it may have been marked meanwhile (then the next pending row comes back).
      auto row = store_.fetchUnpublished(id - 1, 1);
      if (!row || row->empty() || row->front().id != id) continue;
      buffer.push_back(std::move(row->front()));
      ++found;
      if (buffer.size() >= options_.fetchBatch) break;
    }
    if (found == 0) return;
    spdlog::warn(
        "outbox relay: {} rows became visible below the last fetched id {} (their ids committed "
        "out of order); publishing them now",
        found, cursor);
    std::lock_guard lock(s.mutex);
    s.status.lateRowCount += found;
  };

  while (true) {
    bool stopRequested = false;
    bool wakeRequested = false;
    {
      std::lock_guard lock(s.mutex);
      stopRequested = s.stopRequested;
      wakeRequested = s.wakeRequested;
      if (s.rewindBelow != 0) {
        cursor = std::min(cursor, s.rewindBelow - 1);
        s.rewindBelow = 0;
        buffer.clear();
        caughtUp = false;
      }
      s.status.inFlight = static_cast<std::int64_t>(window.size());
    }
    if (stopRequested && !drainDeadline) drainDeadline = clock_.steadyNow() + options_.drainTimeout;
    if (stopRequested && (!publisher || window.empty() || clock_.steadyNow() >= *drainDeadline)) {
      break;
    }

    // --- connect ------------------------------------------------------------------------------
    if (!publisher) {
      const auto now = clock_.steadyNow();
      if (now < nextAttempt) {
        std::unique_lock lock(s.mutex);
        clock_.waitUntil(lock, s.changed, nextAttempt, [&] { return s.stopRequested; });
        continue;
      }
      auto opened = factory_();
      if (!opened) {
        const milliseconds delay = backoff.next();
        nextAttempt = clock_.steadyNow() + delay;
        const std::string reason = "broker unreachable: " + opened.error().message;
        spdlog::warn("outbox relay: {}; retrying in {} ms", reason, delay.count());
        if (observer != nullptr) observer->publishFailed(PublishFailure::kConnectFailed, 0);
        const Timestamp at = clock_.now();
        std::lock_guard lock(s.mutex);
        s.status.state = RelayStatus::State::kDegraded;
        s.status.reason = reason;
        s.status.lastError = reason;
        s.status.lastErrorAt = at;
        continue;
      }
      setPublisher(std::move(*opened));
      caughtUp = false;
      spdlog::info("outbox relay: connected, publishing to exchange '{}'", options_.exchange);
      if (observer != nullptr) observer->connected(everConnected);
      everConnected = true;
      std::lock_guard lock(s.mutex);
      s.status.state = RelayStatus::State::kConnected;
      s.status.reason.clear();
      s.status.broker = publisher->broker();
      ++s.status.connectCount;
    }

    // --- fill the window ----------------------------------------------------------------------
    bool publishFailed = false;
    bool lingering = false;   // a commit is waiting for the linger to end
    std::uint64_t burst = 0;  // messages published in this turn, written by one flush()
    while (!stopRequested && !blocked && window.size() < options_.windowMessages &&
           windowBytes < options_.windowBytes) {
      if (buffer.empty() && clock_.steadyNow() >= nextSweep) {
        // On its own deadline, not only when idle: under steady load the fetches never stop.
        nextSweep = clock_.steadyNow() + options_.lateRowSweepInterval;
        if (cursor > 0) sweepLateRows();
      }
      if (buffer.empty()) {
        const bool fallbackDue = clock_.steadyNow() >= nextFallbackPoll;
        if (caughtUp && !wakeRequested && !fallbackDue) break;
        // Gather: while earlier messages await their confirms, a new commit waits up to `linger`
        // for the commits behind it, so they all go out as one burst. Never with nothing in
        // flight (an idle relay publishes at once) nor with a backlog (caughtUp false).
        if (caughtUp && !fallbackDue && !window.empty() && options_.linger.count() > 0) {
          if (!lingerStarted) {
            lingerStarted = true;
            lingerSince = clock_.steadyNow();
            std::lock_guard lock(s.mutex);
            ++s.status.lingerCount;
          }
          if (clock_.steadyNow() - lingerSince < options_.linger) {
            lingering = true;
            break;
          }
        }
        lingerStarted = false;
        {
          std::lock_guard lock(s.mutex);
          s.wakeRequested = false;  // before reading: a commit after this sets it again
        }
        wakeRequested = false;
        const std::size_t limit =
            std::min(options_.fetchBatch, options_.windowMessages - window.size());
        auto rows = store_.fetchUnpublished(cursor, limit);
        nextFallbackPoll = clock_.steadyNow() + options_.fallbackPollInterval;
        if (!rows) {
          const std::string reason = "outbox store unreadable: " + rows.error().message;
          spdlog::warn("outbox relay: {}; retrying in {} ms", reason,
                       options_.fallbackPollInterval.count());
          s.setState(RelayStatus::State::kDegraded, reason);
          s.recordError(reason, clock_.now());
          caughtUp = true;
          break;
        }
        caughtUp = rows->size() < limit;
        for (auto& row : *rows) buffer.push_back(std::move(row));
        if (buffer.empty()) break;
        cursor = buffer.back().id;
        {
          std::lock_guard lock(s.mutex);
          if (s.status.state == RelayStatus::State::kDegraded && !blocked) {
            s.status.state = RelayStatus::State::kConnected;  // the store recovered
            s.status.reason.clear();
          }
        }
      }
      const OutboxMessage& row = buffer.front();
      fillBrokerMessage(row, options_.exchange, message);
      {
        std::lock_guard lock(s.mutex);
        s.publishStartedAt = clock_.steadyNow();
      }
      auto tag = publisher->publish(message);
      {
        std::lock_guard lock(s.mutex);
        s.publishStartedAt.reset();
      }
      if (!tag) {
        fail("publish failed: " + tag.error().message, RelayStatus::State::kDegraded,
             PublishFailure::kPublishError);
        publishFailed = true;
        break;
      }
      window.push_back(InFlight{row.id, *tag, row.body.size(), clock_.steadyNow(), false,
                                row.messageId, internType(row.messageType), row.timestamp});
      windowBytes += row.body.size();
      buffer.pop_front();
      ++burst;
    }
    if (!publishFailed && burst > 0) {
      // One write for the whole burst; watched like a publish (it can block on a full socket).
      {
        std::lock_guard lock(s.mutex);
        s.publishStartedAt = clock_.steadyNow();
      }
      auto flushed = publisher->flush();
      {
        std::lock_guard lock(s.mutex);
        s.publishStartedAt.reset();
        s.status.sentCount += burst;
        ++s.status.burstCount;
      }
      if (!flushed) {
        fail("publish failed: " + flushed.error().message, RelayStatus::State::kDegraded,
             PublishFailure::kPublishError);
        publishFailed = true;
      }
    }
    if (publishFailed) continue;
    {
      std::lock_guard lock(s.mutex);
      s.status.inFlight = static_cast<std::int64_t>(window.size());
    }

    // --- wait for the broker --------------------------------------------------------------------
    milliseconds timeout(200);
    if (window.empty()) {
      const auto untilPoll = std::chrono::duration_cast<milliseconds>(
          std::min(nextFallbackPoll, nextSweep) - clock_.steadyNow());
      timeout = std::clamp(untilPoll, milliseconds(1), milliseconds(1000));
    } else if (!blocked) {
      const auto untilDeadline =
          options_.confirmTimeout - elapsedSince(clock_, window.front().sentAt);
      timeout = std::clamp(untilDeadline, milliseconds(1), milliseconds(200));
    }
    if (lingering) {
      const auto left = std::chrono::duration_cast<milliseconds>(
          options_.linger - (clock_.steadyNow() - lingerSince));
      timeout = std::min(timeout, std::max(left, milliseconds(1)));
    }
    if (stopRequested) timeout = std::min(timeout, milliseconds(50));
    PublisherEvents events = publisher->poll(timeout);

    std::optional<std::string> failure;
    RelayStatus::State failureState = RelayStatus::State::kDegraded;
    PublishFailure failureKind = PublishFailure::kConnectionLost;
    for (const auto& r : events.returns) {
      // Mandatory + alternate exchange: a return means even the alternate exchange could not
      // take the message (missing or misconfigured). The ack that follows it is not a delivery.
      std::int64_t rowId = 0;
      for (const auto& f : window)
        if (f.messageId == r.messageId) rowId = f.id;
      {
        std::lock_guard lock(s.mutex);
        ++s.status.returnCount;
      }
      if (!failure) {
        failureKind = PublishFailure::kReturned;
        failure = "message " + r.messageId + " (outbox row " + std::to_string(rowId) +
                  ", routing key '" + r.routingKey +
                  "') was returned by the broker: " + std::to_string(r.replyCode) + " " +
                  r.replyText + " (is the alternate exchange declared?)";
      }
    }
    std::uint64_t nacks = 0;
    for (const auto& c : events.confirms) {
      if (failure) break;
      if (window.empty()) continue;
      const std::uint64_t first = window.front().tag;
      const std::uint64_t last = window.back().tag;
      if (c.deliveryTag < first) continue;  // already handled (duplicate multiple-ack)
      const std::uint64_t from = c.multiple ? first : c.deliveryTag;
      const std::uint64_t to = std::min(c.deliveryTag, last);
      for (std::uint64_t t = from; t <= to; ++t) {
        InFlight& f = window[t - first];
        if (f.acked) continue;
        if (!c.ack) {
          ++nacks;
          if (!failure) {
            failureKind = PublishFailure::kNack;
            failure = "the broker nacked message " + f.messageId + " (outbox row " +
                      std::to_string(f.id) + ")";
          }
          break;
        }
        f.acked = true;
        if (observer != nullptr) {
          const SteadyTime now = clock_.steadyNow();
          confirmedNow.push_back(ConfirmedPublication{*f.messageType, f.eventTime, now - f.sentAt});
        }
        if (toMark.empty()) firstUnmarkedAt = clock_.steadyNow();
        toMark.push_back(f.id);
      }
    }
    if (nacks > 0) {
      std::lock_guard lock(s.mutex);
      s.status.nackCount += nacks;
    }
    if (!confirmedNow.empty()) {
      observer->confirmed(confirmedNow, clock_.now());
      confirmedNow.clear();
    }
    // Completed prefix leaves the window; progress resets the backoff.
    bool progressed = false;
    while (!window.empty() && window.front().acked) {
      windowBytes -= window.front().bytes;
      window.pop_front();
      progressed = true;
    }
    if (progressed) backoff.reset();
    // With nothing in flight the marks go now, unless a commit is already waiting to be
    // published: its confirms come within a round trip and their marks can share one store
    // transaction with these (markDelay still bounds the wait).
    bool commitWaiting = false;
    if (window.empty() && !toMark.empty()) {
      std::lock_guard lock(s.mutex);
      commitWaiting = s.wakeRequested && !s.stopRequested;
    }
    if (toMark.size() >= options_.markBatch || (window.empty() && !commitWaiting) || failure ||
        events.failure ||
        (!toMark.empty() && clock_.steadyNow() - firstUnmarkedAt >= options_.markDelay))
      flushMarks();

    if (events.flow == PublisherEvents::Flow::kBlocked) {
      blocked = true;
      const std::string reason = "blocked by the broker: " + events.blockedReason;
      spdlog::warn("outbox relay: connection {}; publishing paused until unblocked", reason);
      s.setState(RelayStatus::State::kBlocked, reason);
      s.recordError(reason, clock_.now());
      if (observer != nullptr) observer->blockedChanged(true);
    } else if (events.flow == PublisherEvents::Flow::kUnblocked) {
      blocked = false;
      spdlog::info("outbox relay: connection unblocked, publishing again");
      if (observer != nullptr) observer->blockedChanged(false);
      s.setState(RelayStatus::State::kConnected, "");
      // Confirm deadlines were suspended while blocked; they restart now.
      for (auto& f : window) f.sentAt = clock_.steadyNow();
    }

    if (events.failure && !failure) {
      failureKind = PublishFailure::kConnectionLost;
      failure = "connection lost: " + events.failure->message;
    }
    if (!failure && !blocked && !window.empty() &&
        elapsedSince(clock_, window.front().sentAt) > options_.confirmTimeout) {
      failure = "no confirm within " + std::to_string(options_.confirmTimeout.count()) +
                " ms for message " + window.front().messageId + " (outbox row " +
                std::to_string(window.front().id) + ")";
      failureKind = PublishFailure::kConfirmTimeout;
    }
    if (failure) fail(*failure, failureState, failureKind);
  }

  // --- shut down -------------------------------------------------------------------------------
  flushMarks();
  if (publisher) {
    if (!window.empty())
      spdlog::warn(
          "outbox relay: stopping with {} unconfirmed messages; they will be published "
          "again at the next start",
          window.size());
    publisher->close(milliseconds(1000));
    setPublisher(nullptr);
  }
  // Wait for the store to finish our marks, so no callback is pending when stop() returns.
  std::unique_lock lock(s.mutex);
  const auto deadline = drainDeadline.value_or(clock_.steadyNow()) + milliseconds(1000);
  clock_.waitUntil(lock, s.changed, deadline, [&] { return s.marking.empty(); });
  s.status.inFlight = 0;
}

}  // namespace orders
