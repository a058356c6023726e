#pragma once
// The outbox relay: moves committed outbox rows to the broker, at least once, in order.
//
//   auto factory = makeRabbitPublisherFactory(rabbitOptions);        // broker/rabbitmq
//   Relay relay(store, std::move(*factory), clock, relayOptions);
//   relay.start();
//   ... relay.status() for /readyz ...
//   relay.stop();
//
// Guarantees:
//  - At least once: a row is marked published only after the broker's positive confirm (ack)
//    and only if it was not returned as unroutable. Every other outcome (nack, return, no confirm
//    within confirmTimeout, connection or channel loss, a failed mark) leads to a republish, so
//    consumers may see duplicates (deduplicate by messageId) but nothing is lost.
//  - Order: rows are published in increasing id order on one channel; after a failure the relay
//    reconnects and republishes from the first unconfirmed row, again in id order. Each order's
//    events (same partitionKey, increasing `sequence` header) therefore arrive in commit order,
//    possibly with repeats of already-delivered ones. (A broker that nacks one message and acks a
//    later one, e.g. during a quorum leader change, can make a later event overtake an earlier
//    one; the `sequence` header lets consumers detect that.)
//  - Late rows: a store whose ids can become visible out of order (PostgreSQL sequences are
//    taken at insert and seen at commit; OutboxStore::idsVisibleInCommitOrder() false) may show
//    a row below the relay's cursor after the relay read past it. The relay looks for them (the
//    pending ids below the cursor that it does not hold itself, i.e. not in flight, confirmed but
//    not yet marked, or being marked: OutboxStore::pendingIdsNotHeld, no row read) in two cases:
//      * after every fetch that found rows, below that fetch's start, and publishes what it finds
//        before the fetched rows. This keeps per-order order: an order's next write commits only
//        after its previous one did (the version check), so when a fetch sees the next write's
//        rows, the previous write had committed before that fetch began and the search after it
//        sees that write's rows too. (Searching before the fetch would not: the previous write
//        may commit between the two.) If the search fails, the fetched rows are not published
//        but read again at the next wake-up or poll.
//      * every lateRowSweepInterval, whatever the load, for a late row that no later row of its
//        order follows: it goes out within one sweep interval.
//    SQLite assigns ids in commit order: neither search runs there.
//  - Bounded memory: at most windowMessages / windowBytes messages are in flight and at most one
//    fetch batch is buffered, whatever the backlog.
//  - Latency: a commit wakes the relay through OutboxStore::setOutboxListener, so an idle relay
//    publishes a new event within milliseconds; a slow poll (fallbackPollInterval) is the safety
//    net. A commit that arrives while publishes are still unconfirmed waits up to `linger` (or
//    until they are all confirmed, whichever is first) so that the commits of that time go out
//    as one burst: one write to the broker, which the broker handles far more cheaply than a
//    trickle of single messages. An idle relay (nothing in flight) never lingers. Failures are
//    retried with exponential backoff and jitter (common/backoff.hpp).
//  - connection.blocked (a broker resource alarm) stops publishing until connection.unblocked;
//    confirm deadlines are suspended meanwhile, since the broker said why confirms are late.
//
// Threads: start()/stop()/status() are thread-safe. The relay runs one publishing thread, one
// lease thread when it has a lease, and one watchdog thread (breaks a publish stuck in a full
// socket after confirmTimeout). The store's markPublished callbacks and listener may run on store
// threads; they only touch state shared by the relay under a lock. Deleting published rows is not
// the relay's job: see maintenance/jobs.hpp (outboxRetentionJob).
//
// Time: every deadline, timeout and wait goes through the injected Clock (waits on the broker
// socket are bounded by timeouts computed from it), so tests drive the relay in fake time.
//
// Leadership (several instances on one database): with RelayOptions::lease set, the relay
// publishes only while it holds the relay lease (outbox/relay_lease.hpp). A lease thread acquires
// or renews it every leaseTtl/3. The relay publishes only until (start of its last successful
// renewal request + leaseTtl - leaseSafetyMargin), measured on the injected Clock: if no renewal
// succeeded by then (store down, process paused, network gone) it stops publishing BEFORE the
// store's expiry lets another instance acquire. Stepping down drops the in-flight window and the
// confirmed-but-unmarked rows without marking them (the next leader publishes them again: at
// least once, duplicates possible) and closes the broker connection; the relay then is a
// follower (state kStandby) that keeps trying to acquire. A mark refused as fenced (another
// instance took the lease) makes it step down at once. Every acquisition starts over from the
// oldest pending row, with the new epoch on its marks. stop() releases the lease, so another
// instance takes over without waiting for the expiry. Without a lease the relay always leads
// with epoch kNoLeaseEpoch (one instance per database).
//
// Lifetime: `store`, `clock`, a given `stats` sampler and a given lease must outlive the relay.
// The relay installs its listener on the store at start() and removes it at stop().

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "broker/confirmed_publisher.hpp"
#include "broker/topology.hpp"
#include "common/clock.hpp"
#include "outbox/outbox_message.hpp"
#include "outbox/outbox_stats_sampler.hpp"
#include "outbox/outbox_store.hpp"
#include "outbox/relay_lease.hpp"
#include "outbox/relay_observer.hpp"

namespace orders {

struct RelayOptions {
  /// The exchange every event is published to; the routing key is the messageType.
  std::string exchange = kOrderEventsExchange;
  /// Most messages published but not yet confirmed.
  std::size_t windowMessages = 1000;
  /// Most body bytes published but not yet confirmed.
  std::size_t windowBytes = 8u << 20;
  /// Most rows read from the store at once.
  std::size_t fetchBatch = 500;
  /// A commit notification that arrives while messages are in flight is held for at most this
  /// long (less when the window empties first), gathering the commits of that time into one
  /// burst (see "Latency" above). 0: publish at every notification.
  std::chrono::milliseconds linger{1};
  /// Confirmed rows are marked published in batches of up to markBatch ids, at the latest
  /// markDelay after the first of them was confirmed, or as soon as nothing is in flight and no
  /// commit is waiting to be published (a commit that is waiting brings more confirms soon; its
  /// marks join the same store transaction). Bigger batches mean fewer store transactions; a
  /// crash re-publishes confirmed-but-unmarked rows (duplicates), so the delay bounds how many.
  std::size_t markBatch = 2000;
  std::chrono::milliseconds markDelay{200};
  /// A publish with neither ack nor nack after this long counts as failed (reconnect and
  /// republish). Also bounds how long a single publish call may block.
  std::chrono::milliseconds confirmTimeout{5000};
  /// The store is polled this often even without a commit notification.
  std::chrono::milliseconds fallbackPollInterval{2000};
  /// How often pending rows below the cursor are looked for (see "Late rows" above).
  std::chrono::milliseconds lateRowSweepInterval{2000};
  /// Reconnect backoff: initial delay, doubled per consecutive failure up to backoffMax, each
  /// delay randomized by +-20% (jitter) so many relays do not reconnect in lockstep.
  std::chrono::milliseconds backoffInitial{100};
  std::chrono::milliseconds backoffMax{30000};
  /// Seed of the backoff's jitter (a fixed sequence for tests); nullopt: random.
  std::optional<std::uint64_t> backoffSeed;
  /// stop() waits this long for in-flight confirms and pending marks before giving up (what is
  /// left is republished by the next start: a duplicate, not a loss).
  std::chrono::milliseconds drainTimeout{5000};
  /// How often the backlog (pending rows) shown by status() is recounted from the store; never
  /// more often than every 20x the duration of the last count (counting a large backlog is not
  /// free). Ignored when the relay is given a shared OutboxStatsSampler.
  std::chrono::milliseconds statsInterval{1000};
  /// Told about confirms, failures, connections and blocks (metrics), on the publishing thread;
  /// null: nobody. Not owned; must outlive the relay.
  RelayObserver* observer = nullptr;
  /// Leadership among several instances (see "Leadership" above); null: this relay always
  /// publishes, marking with kNoLeaseEpoch (one instance per database). Not owned; must outlive
  /// the relay.
  RelayLease* lease = nullptr;
  /// This instance's id in the lease, unique per process (e.g. host/pid/random). Required with a
  /// lease.
  std::string leaseHolder;
  /// How long each grant lasts by the store's clock; renewed every leaseTtl/3. When the leader
  /// dies or hangs, another instance takes over after about leaseTtl + leaseTtl/3.
  std::chrono::milliseconds leaseTtl{3000};
  /// The relay stops publishing this long before its grant's expiry would come by its own
  /// clock: room for the store's and this clock's rates to differ and for messages still on
  /// their way to the broker. Must be below 2/3 of leaseTtl (a renewal must fit before it).
  std::chrono::milliseconds leaseSafetyMargin{600};
};

struct RelayStatus {
  enum class State {
    kStopped,    // not started, or stopped
    kStarting,   // started, first connection attempt not finished yet
    kConnected,  // publishing normally
    kDegraded,   // broker unreachable or failing (see reason); retrying with backoff
    kBlocked,    // the broker blocked the connection (resource alarm); waiting for unblock
    kStandby,    // a follower: it does not hold the relay lease (another instance publishes, or
                 // the lease could not be renewed in time); it keeps trying to acquire it
  };
  enum class Role {
    kLeader,    // holds the relay lease (or has no lease to hold): this relay may publish
    kFollower,  // does not hold it: publishes nothing
  };
  State state = State::kStopped;
  Role role = Role::kFollower;
  /// The lease epoch of the current leadership, or of the last one while a follower; 0 without a
  /// lease (kNoLeaseEpoch) or before the first acquisition.
  std::int64_t epoch = 0;
  /// This instance's lease holder id (RelayOptions::leaseHolder); empty without a lease.
  std::string leaseHolder;
  /// Times this relay became leader, and stepped down, since start().
  std::uint64_t leaderTerms = 0;
  std::uint64_t stepDownCount = 0;
  std::optional<Timestamp> leaderSince;
  /// Why the state is not kConnected, e.g. "broker unreachable: cannot connect to amqp://...",
  /// "no confirm within 5000 ms", "blocked by the broker: low on memory". Empty when connected.
  std::string reason;
  /// Pending (unconfirmed) outbox rows, recounted every statsInterval; -1 until first counted.
  std::int64_t backlog = -1;
  std::optional<Timestamp> oldestPendingAt;
  /// Messages published and not yet confirmed right now.
  std::int64_t inFlight = 0;
  /// Rows confirmed by the broker and marked published since start().
  std::uint64_t publishedCount = 0;
  /// Messages sent again after a failure (each is a possible duplicate for consumers).
  std::uint64_t republishedCount = 0;
  /// Rows found below the cursor, committed after the relay had read past their ids (both
  /// searches of "Late rows" above; 0 on SQLite). /readyz shows it as relay.lateRows.
  std::uint64_t lateRowCount = 0;
  std::uint64_t nackCount = 0;
  std::uint64_t returnCount = 0;
  std::uint64_t timeoutCount = 0;
  /// Successful connections since start() (1 = never reconnected).
  std::uint64_t connectCount = 0;
  /// Attribution counters since start(), for benchmarks: messages handed to the publisher
  /// (republishes included), bursts written (ConfirmedPublisher::flush calls that had messages:
  /// sentCount / burstCount = messages per write), commit notifications held back by `linger`,
  /// and markPublished calls (publishedCount / markCallCount = rows per mark).
  std::uint64_t sentCount = 0;
  std::uint64_t burstCount = 0;
  std::uint64_t lingerCount = 0;
  std::uint64_t markCallCount = 0;
  std::string lastError;
  std::optional<Timestamp> lastErrorAt;
  std::optional<Timestamp> lastConfirmAt;
  /// The broker of the current connection (ConfirmedPublisher::broker(), no password); empty
  /// while not connected. With several brokers (a cluster), the node publishing goes to.
  std::string broker;

  /// For /readyz: true when connected and publishing, or standing by as a follower while another
  /// instance publishes.
  bool ready() const { return state == State::kConnected || state == State::kStandby; }
};

const char* toString(RelayStatus::State state);

class Relay {
 public:
  /// `stats`: the sampler that status()'s backlog comes from, shared with other readers of the
  /// counts (the readiness probe); null: the relay's own, recounting every statsInterval.
  Relay(OutboxStore& store, PublisherFactory publisherFactory, const Clock& clock,
        RelayOptions options = {}, OutboxStatsSampler* stats = nullptr);
  /// Calls stop().
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  /// Starts the relay threads and returns at once (connecting happens in the background; see
  /// status()). No effect if already running.
  void start();

  /// Stops publishing new rows, waits up to drainTimeout for in-flight confirms and pending marks,
  /// closes the broker connection, joins the threads and releases the lease (if held). No effect
  /// if not running. Can be started again afterwards.
  void stop();

  /// A consistent snapshot; cheap (no I/O), callable from any thread at any rate.
  RelayStatus status() const;

  /// The broker message for an outbox row: exchange `exchange`, routing key = messageType for
  /// a 1.x message and "<messageType>.v<major>" for a later major (events/routing_key.hpp),
  /// mandatory, body = the envelope JSON, content_type application/json, delivery_mode 2,
  /// message_id, type = messageType, timestamp (seconds), app_id = source, correlation_id when
  /// present, headers messageVersion, partitionKey (strings) and sequence (integer), and the
  /// row's traceparent and tracestate (strings) when it has them.
  static BrokerMessage toBrokerMessage(const OutboxMessage& row, const std::string& exchange);

 private:
  struct Shared;
  void run();
  void watchdog();
  void holdLease();

  OutboxStore& store_;
  PublisherFactory factory_;
  const Clock& clock_;
  const RelayOptions options_;
  std::unique_ptr<OutboxStatsSampler> ownStats_;  // when none was given
  OutboxStatsSampler& stats_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace orders
