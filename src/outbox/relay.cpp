#include "outbox/relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
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
    case RelayStatus::State::kStandby:
      return "standby";
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

  // Leadership. Grants come from the lease thread; the relay thread gives it up when its deadline
  // passes, and a fenced mark when another instance took the lease. The relay thread acts on it.
  bool leading = false;                // holds the lease, until leaderUntil
  std::int64_t epoch = kNoLeaseEpoch;  // of the lease held (or last held)
  std::uint64_t term = 0;              // +1 whenever `leading` becomes true: the relay starts over
  SteadyTime leaderUntil{};            // publishing stops here unless a renewal moves it
  std::string notLeadingReason;        // why not leading, for status()
  bool leaseStopRequested = false;
  bool leaseRetryNow = false;      // a fenced mark: ask the store again at once
  std::uint64_t leaseAnswers = 0;  // +1 per answer of the lease thread: a follower re-reports
  std::thread leaseThread;

  /// Whether the relay may publish at `now`. Under the mutex.
  bool mayPublish(SteadyTime now) const { return leading && now < leaderUntil; }

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
      shared_(std::make_shared<Shared>()) {
  if (options_.lease != nullptr) {
    if (options_.leaseHolder.empty()) {
      throw std::invalid_argument("outbox relay: a relay lease needs a holder id");
    }
    if (options_.leaseTtl <= milliseconds::zero() ||
        options_.leaseSafetyMargin < milliseconds::zero() ||
        options_.leaseSafetyMargin * 3 >= options_.leaseTtl * 2) {
      throw std::invalid_argument("outbox relay: the lease safety margin (" +
                                  std::to_string(options_.leaseSafetyMargin.count()) +
                                  " ms) must be at least 0 and below 2/3 of the lease ttl (" +
                                  std::to_string(options_.leaseTtl.count()) + " ms)");
    }
  }
}

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
    shared_->leaseStopRequested = false;
    shared_->leaseRetryNow = false;
    if (options_.lease == nullptr) {
      // One instance per database: it always leads, unfenced.
      shared_->leading = true;
      shared_->epoch = kNoLeaseEpoch;
      ++shared_->term;
      shared_->leaderUntil = SteadyTime::max();
      shared_->notLeadingReason.clear();
    } else {
      shared_->leading = false;
      shared_->notLeadingReason = "acquiring the relay lease";
    }
    RelayStatus fresh;
    fresh.state = RelayStatus::State::kStarting;
    fresh.reason = shared_->notLeadingReason;
    fresh.leaseHolder = options_.lease != nullptr ? options_.leaseHolder : "";
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
  if (options_.lease != nullptr) shared_->leaseThread = std::thread([this] { holdLease(); });
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
  // The lease is renewed until the drain is over, then given back: the next instance need not
  // wait for its expiry.
  {
    std::lock_guard lock(shared_->mutex);
    shared_->leaseStopRequested = true;
  }
  shared_->changed.notify_all();
  if (shared_->leaseThread.joinable()) shared_->leaseThread.join();
  if (options_.lease != nullptr) {
    std::int64_t epoch = kNoLeaseEpoch;
    {
      std::lock_guard lock(shared_->mutex);
      epoch = shared_->epoch;
      shared_->leading = false;
      shared_->notLeadingReason = "stopped";
    }
    if (epoch != kNoLeaseEpoch) {
      // Frees it only if this holder still holds this epoch; a failure leaves it to expire.
      const Status released = options_.lease->release(options_.leaseHolder, epoch);
      if (released) {
        spdlog::info("outbox relay: released the relay lease (epoch {})", epoch);
      } else {
        spdlog::warn(
            "outbox relay: releasing the relay lease (epoch {}) failed ({}); it expires within "
            "{} ms",
            epoch, released.error().message, options_.leaseTtl.count());
      }
    }
  }
  {
    std::lock_guard lock(shared_->mutex);
    shared_->running = false;  // also ends the watchdog
    shared_->status.role = RelayStatus::Role::kFollower;
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

void Relay::holdLease() {
  Shared& s = *shared_;
  RelayLease& lease = *options_.lease;
  const milliseconds period = std::max(options_.leaseTtl / 3, milliseconds(1));
  std::unique_lock lock(s.mutex);
  while (!s.leaseStopRequested) {
    s.leaseRetryNow = false;
    lock.unlock();
    // The grant lasts leaseTtl from when the store handled the request, which is after this:
    // measuring from here, on this process's clock, errs on the safe side.
    const SteadyTime sent = clock_.steadyNow();
    auto grant = lease.acquireOrRenew(options_.leaseHolder, options_.leaseTtl);
    const Timestamp at = clock_.now();
    lock.lock();
    if (!grant) {
      // Unknown outcome: neither lost nor kept. Publishing stops at the last grant's deadline
      // (the relay thread watches it); until then, and after, keep asking.
      const std::string reason = "relay lease unavailable: " + grant.error().message;
      spdlog::warn("outbox relay: {}; {}", reason,
                   s.leading ? "publishing stops at the last grant's deadline unless a retry "
                               "succeeds first"
                             : "retrying");
      s.status.lastError = reason;
      s.status.lastErrorAt = at;
      if (!s.leading) s.notLeadingReason = reason;
    } else if (!grant->has_value()) {
      if (s.leading) spdlog::warn("outbox relay: another instance holds the relay lease");
      s.leading = false;
      s.notLeadingReason = "another instance holds the relay lease";
    } else {
      const std::int64_t epoch = (*grant)->epoch;
      // A different epoch while leading: the store let this holder's lease lapse and it was
      // taken again (by this holder). A new term either way: the relay starts over.
      if (s.leading && epoch != s.epoch) s.leading = false;
      if (!s.leading) {
        s.leading = true;
        s.epoch = epoch;
        ++s.term;
      }
      s.leaderUntil = sent + options_.leaseTtl - options_.leaseSafetyMargin;
      s.notLeadingReason.clear();
    }
    ++s.leaseAnswers;
    if (s.publisher != nullptr) s.publisher->wakeup();
    s.changed.notify_all();
    clock_.waitUntil(lock, s.changed, sent + period,
                     [&] { return s.leaseStopRequested || s.leaseRetryNow; });
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
  std::vector<std::int64_t> held;  // ids in flight, to mark or being marked: reused by the sweep
  BrokerMessage message;           // reused for every publish
  SteadyTime firstUnmarkedAt = clock_.steadyNow();
  bool lingerStarted = false;  // a commit is being held back (see RelayOptions::linger)
  SteadyTime lingerSince{};    // since then
  Backoff backoff(options_.backoffInitial, options_.backoffMax, 0.2,
                  options_.backoffSeed.value_or(std::random_device{}()));
  RelayObserver* const observer = options_.observer;
  std::set<std::string, std::less<>> typeNames;    // the message types seen, for InFlight
  std::vector<ConfirmedPublication> confirmedNow;  // reused: the confirms of one poll
  bool everConnected = false;
  std::uint64_t activeTerm = 0;             // the leadership term being published in; 0: none
  std::int64_t epochInUse = kNoLeaseEpoch;  // its lease epoch, on every mark
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
        std::move(toMark), at, epochInUse,
        [weak, lowest, count, at, call, epoch = epochInUse](const Status& status) {
          auto shared = weak.lock();
          if (!shared) return;  // the relay is gone; a lost mark only means a republish later
          std::lock_guard lock(shared->mutex);
          shared->marking.erase(call);
          if (status.ok()) {
            shared->status.publishedCount += count;
            shared->status.lastConfirmAt = at;
          } else if (status.error().code == ErrorCode::kFenced) {
            // Another instance took the lease: stop at once (no rewind: stepping down drops
            // everything, and whoever leads publishes these rows again).
            spdlog::warn("outbox relay: marking {} rows published was refused: {}", count,
                         status.error().message);
            shared->status.lastError = "fenced: " + status.error().message;
            shared->status.lastErrorAt = at;
            if (shared->leading && shared->epoch == epoch) {
              shared->leading = false;
              shared->notLeadingReason = "fenced: " + status.error().message;
              shared->leaseRetryNow = true;
              if (shared->publisher != nullptr) shared->publisher->wakeup();
            }
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

  // Leadership lost (deadline passed, another holder, fenced, or a new term): drop everything not
  // yet marked, without marking it (the next leader publishes it again), and drop the connection
  // without flushing anything buffered.
  auto stepDown = [&](const std::string& reason) {
    const std::size_t unconfirmed = window.size() - static_cast<std::size_t>(std::count_if(
                                                        window.begin(), window.end(),
                                                        [](const InFlight& f) { return f.acked; }));
    const std::size_t unmarked = toMark.size();
    toMark.clear();
    window.clear();
    windowBytes = 0;
    buffer.clear();
    cursor = 0;
    caughtUp = false;
    lingerStarted = false;
    if (blocked && observer != nullptr) observer->blockedChanged(false);
    blocked = false;
    if (publisher) {
      publisher->abort();  // never flush: nothing more may reach the broker from this term
      setPublisher(nullptr);
    }
    spdlog::warn(
        "outbox relay: stepping down as relay leader (lease epoch {}): {}; {} unconfirmed and {} "
        "confirmed but unmarked messages dropped (whoever leads next publishes them again)",
        epochInUse, reason, unconfirmed, unmarked);
    std::lock_guard lock(s.mutex);
    // Given up here when only the deadline passed, so the next grant starts a new term.
    if (s.term == activeTerm) {
      s.leading = false;
      if (s.notLeadingReason.empty()) s.notLeadingReason = reason;
    }
    activeTerm = 0;
    s.status.role = RelayStatus::Role::kFollower;
    s.status.state = RelayStatus::State::kStandby;
    s.status.reason = reason;
    s.status.inFlight = 0;
    ++s.status.stepDownCount;
  };

  // A new leadership term: start over from the oldest pending row, with the new epoch.
  auto startTerm = [&] {
    const SteadyTime now = clock_.steadyNow();
    cursor = 0;
    buffer.clear();
    caughtUp = false;
    nextAttempt = now;
    nextFallbackPoll = now;
    nextSweep = now + options_.lateRowSweepInterval;
    backoff.reset();
    std::lock_guard lock(s.mutex);
    activeTerm = s.term;
    epochInUse = s.epoch;
    s.rewindBelow = 0;
    s.wakeRequested = true;
    s.status.role = RelayStatus::Role::kLeader;
    s.status.epoch = epochInUse;
    s.status.state = RelayStatus::State::kStarting;
    s.status.reason.clear();
    ++s.status.leaderTerms;
    s.status.leaderSince = clock_.now();
    if (options_.lease != nullptr) {
      spdlog::info(
          "outbox relay: leading with relay lease epoch {} (holder {}); publishing from the "
          "oldest pending row",
          epochInUse, options_.leaseHolder);
    }
  };
  // Whether this term may still publish now.
  auto leadingNow = [&] {
    std::lock_guard lock(s.mutex);
    return activeTerm != 0 && s.term == activeTerm && s.mayPublish(clock_.steadyNow());
  };

  // Rows that became visible at or below `upTo` (the cursor, or where the fetch just made began)
  // after the fetch that passed them: pending ids there that the relay does not hold itself go
  // to the front of the buffer, ahead of any fetched rows (whose ids are all above `upTo`).
  // False when the store could not answer (nothing is known about late rows then).
  auto sweepLateRows = [&](std::int64_t upTo) -> bool {
    held.clear();
    {
      std::lock_guard lock(s.mutex);
      if (s.rewindBelow != 0) return true;  // a failed mark is republished from there anyway
      for (const auto& [call, ids] : s.marking) held.insert(held.end(), ids.begin(), ids.end());
    }
    for (const auto& f : window) held.push_back(f.id);
    held.insert(held.end(), toMark.begin(), toMark.end());
    std::sort(held.begin(), held.end());
    auto lateIds = store_.pendingIdsNotHeld(upTo, held, options_.fetchBatch);
    if (!lateIds) {
      spdlog::warn("outbox relay: looking for late rows failed: {}", lateIds.error().message);
      return false;
    }
    if (lateIds->empty()) return true;
    // One read for all of them; a row marked meanwhile is simply not returned.
    auto late = store_.fetchUnpublishedIds(*lateIds);
    if (!late) {
      spdlog::warn("outbox relay: reading {} late rows failed: {}", lateIds->size(),
                   late.error().message);
      return false;
    }
    if (late->empty()) return true;
    const std::size_t found = late->size();
    buffer.insert(buffer.begin(), std::make_move_iterator(late->begin()),
                  std::make_move_iterator(late->end()));
    // Routine on PostgreSQL with concurrent batches (not a fault): counted on /readyz.
    spdlog::debug(
        "outbox relay: {} rows became visible at or below id {} after the relay had read past "
        "them (their ids committed out of order); publishing them now",
        found, upTo);
    std::lock_guard lock(s.mutex);
    s.status.lateRowCount += found;
    return true;
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
    // --- leadership -----------------------------------------------------------------------------
    {
      bool mayLead = false;
      std::uint64_t term = 0;
      std::string why;
      {
        std::lock_guard lock(s.mutex);
        mayLead = s.mayPublish(clock_.steadyNow());
        term = s.term;
        why = s.notLeadingReason;
      }
      if (activeTerm != 0 && (!mayLead || term != activeTerm)) {
        if (mayLead) {
          why = "the relay lease was acquired again with a new epoch";
        } else if (why.empty()) {
          why = "the relay lease was not renewed in time (publishing stops before it can expire)";
        }
        stepDown(why);
      }
      if (activeTerm == 0) {
        if (stopRequested) break;
        if (!mayLead) {
          std::unique_lock lock(s.mutex);
          s.status.role = RelayStatus::Role::kFollower;
          s.status.inFlight = 0;
          if (s.status.state != RelayStatus::State::kStarting ||
              why != "acquiring the relay lease") {
            s.status.state = RelayStatus::State::kStandby;
            s.status.reason = why;
          }
          const std::uint64_t answers = s.leaseAnswers;
          clock_.waitFor(lock, s.changed, milliseconds(1000), [&] {
            return s.stopRequested || s.leaseAnswers != answers || s.mayPublish(clock_.steadyNow());
          });
          continue;
        }
        startTerm();
      }
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
        clock_.waitUntil(lock, s.changed, nextAttempt, [&] {
          return s.stopRequested || s.term != activeTerm || !s.mayPublish(clock_.steadyNow());
        });
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
    bool leadershipLost = false;  // found before a publish or the flush: step down, send nothing
    bool lingering = false;       // a commit is waiting for the linger to end
    std::uint64_t burst = 0;      // messages published in this turn, written by one flush()
    while (!stopRequested && !blocked && window.size() < options_.windowMessages &&
           windowBytes < options_.windowBytes) {
      if (buffer.empty() && clock_.steadyNow() >= nextSweep && !store_.idsVisibleInCommitOrder()) {
        // On its own deadline, not only when idle: under steady load the fetches never stop.
        nextSweep = clock_.steadyNow() + options_.lateRowSweepInterval;
        if (cursor > 0) sweepLateRows(cursor);
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
        const std::int64_t fetchedAfter = cursor;
        cursor = buffer.back().id;
        // After the fetch, not before: see "Late rows" in relay.hpp. Without an answer the fetched
        // rows could overtake a late row of their order: they wait for the next read instead.
        if (fetchedAfter > 0 && !store_.idsVisibleInCommitOrder() && !sweepLateRows(fetchedAfter)) {
          buffer.clear();
          cursor = fetchedAfter;
          const std::string reason = "outbox store unreadable: looking for late rows failed";
          s.setState(RelayStatus::State::kDegraded, reason);
          s.recordError(reason, clock_.now());
          caughtUp = true;
          break;
        }
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
        const SteadyTime now = clock_.steadyNow();
        leadershipLost = s.term != activeTerm || !s.mayPublish(now);
        if (!leadershipLost) s.publishStartedAt = now;
      }
      if (leadershipLost) break;
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
    if (!leadershipLost && !publishFailed && burst > 0) {
      // One write for the whole burst; watched like a publish (it can block on a full socket).
      {
        std::lock_guard lock(s.mutex);
        const SteadyTime now = clock_.steadyNow();
        leadershipLost = s.term != activeTerm || !s.mayPublish(now);
        if (!leadershipLost) s.publishStartedAt = now;
      }
    }
    if (leadershipLost) continue;  // the leadership check at the top steps down
    if (!publishFailed && burst > 0) {
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
    {
      // Wake up in time to stop at the lease deadline (a renewal or a fence also wakes it).
      std::lock_guard lock(s.mutex);
      if (s.leaderUntil != SteadyTime::max()) {
        const auto untilDeadline =
            std::chrono::duration_cast<milliseconds>(s.leaderUntil - clock_.steadyNow());
        timeout = std::clamp(untilDeadline, milliseconds(1), timeout);
      }
    }
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
  if (activeTerm != 0 && leadingNow()) flushMarks();
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
