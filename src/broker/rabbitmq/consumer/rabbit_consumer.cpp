#include "broker/rabbitmq/consumer/rabbit_consumer.hpp"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "broker/rabbitmq/amqp/amqp_url.hpp"
#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"
#include "broker/rabbitmq/amqp/detail/confirms.hpp"
#include "broker/rabbitmq/amqp/detail/connection.hpp"
#include "broker/rabbitmq/amqp/detail/declarer.hpp"
#include "common/backoff.hpp"

namespace orders {
namespace {

using rabbitmq::ArgumentTable;
using rabbitmq::bytes;
using rabbitmq::ConfirmTracker;
using rabbitmq::str;
using std::chrono::milliseconds;

/// Declares the consumer's topology on `channel` (see consumer_options.hpp). A broker refusal
/// (406: exists with other settings, 404: passive exchange missing) is returned with the name of
/// what was refused; the channel is closed by the broker then.
Status declareTopology(rabbitmq::Connection& c, amqp_channel_t channel,
                       const ConsumerOptions& options) {
  const Subscription& s = options.subscription;
  rabbitmq::Declarer d(c, channel, rabbitmq::Declarer::OnConflict::kFail);
  auto declared = [](const Result<bool>& r) { return r ? okStatus() : Status(r.error()); };

  if (s.exchangeDeclaration == ExchangeDeclaration::kPassive) {
    if (auto st = declared(d.existingExchange(s.exchange)); !st) return st;
  } else {
    const char* type = s.exchangeDeclaration == ExchangeDeclaration::kTopic ? "topic" : "direct";
    if (auto st = declared(d.exchange(s.exchange, type)); !st) return st;
  }

  // The work queue dead-letters (only the broker does: a quorum queue's delivery limit) into the
  // DLQ through the default exchange, unless another declaration of it names its own exchange.
  const std::string dlq = deadLetterQueueName(s.queue);
  ArgumentTable work =
      s.workQueueDeadLetterExchange
          ? rabbitmq::workQueueArguments(s.queueType, *s.workQueueDeadLetterExchange, std::nullopt,
                                         s.deliveryLimit)
          : rabbitmq::workQueueArguments(s.queueType, "", dlq, s.deliveryLimit);
  if (auto st = declared(d.queue(s.queue, std::move(work))); !st) return st;
  for (const auto& key : s.routingKeys) {
    if (auto st = declared(d.bind(s.queue, s.exchange, key)); !st) return st;
  }

  if (options.retry.maxRetries > 0) {
    for (std::size_t level = 1; level <= options.retry.delays.size(); ++level) {
      auto retry = rabbitmq::retryQueueArguments(options.retry.delays[level - 1], s.queue);
      if (auto st = declared(d.queue(retryQueueName(s.queue, level), std::move(retry))); !st)
        return st;
    }
  }
  return declared(d.queue(dlq, rabbitmq::quorumQueueArguments()));
}

class RabbitConsumerTransport final : public ConsumerTransport {
 public:
  RabbitConsumerTransport(RabbitConnectionOptions connection, ConsumerOptions options,
                          const Clock* clock)
      : connectionOptions_(std::move(connection)),
        options_(std::move(options)),
        clock_(clock != nullptr ? *clock : systemClock_),
        backoff_(options_.reconnectInitial, options_.reconnectMax) {
    if (connectionOptions_.connectionName.empty() ||
        connectionOptions_.connectionName == RabbitConnectionOptions{}.connectionName) {
      connectionOptions_.connectionName = "consumer " + options_.name();
    }
  }

  ~RabbitConsumerTransport() override {
    close(milliseconds(0));
    if (wakeFd_ >= 0) ::close(wakeFd_);
  }

  Status start(Callbacks callbacks) override {
    auto brokers = rabbitmq::parseBrokerUrls(connectionOptions_);
    if (!brokers) return brokers.error();
    url_ = brokers->front();
    brokers_ = std::make_unique<rabbitmq::BrokerRotation>(std::move(brokers).value());
    if (auto valid = validateConsumerOptions(options_); !valid) return valid;
    wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd_ < 0) return Error{ErrorCode::kInternal, std::string("eventfd: ") + strerror(errno)};
    callbacks_ = std::move(callbacks);

    setState(TransportState::kConnecting, "");
    auto first = connect();
    if (!first) {
      if (first.error().code != ErrorCode::kUnavailable) {
        setState(TransportState::kStopped, first.error().message);
        return Error{first.error().code,
                     "consumer " + options_.name() + ": " + first.error().message};
      }
      // Degraded, not fatal: the broker may come up later. Keep trying in the background.
      spdlog::warn("consumer {}: {}; retrying in the background", options_.name(),
                   first.error().message);
      setState(TransportState::kReconnecting, first.error().message);
      backoff_.reset();
      nextAttempt_ = clock_.steadyNow() + backoff_.next();
    }
    {
      std::lock_guard lock(mutex_);
      started_ = true;
    }
    thread_ = std::thread([this] { run(); });
    return okStatus();
  }

  void settle(std::uint64_t generation, std::uint64_t deliveryTag, Settlement settlement,
              std::function<void(Status)> done) override {
    {
      std::lock_guard lock(mutex_);
      settles_.push_back(
          PendingSettle{generation, deliveryTag, std::move(settlement), std::move(done)});
    }
    wake();
  }

  void cancel(milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    if (!started_ || threadDone_) return;
    cancelRequested_ = true;
    lock.unlock();
    wake();
    lock.lock();
    clock_.waitFor(lock, cv_, timeout, [this] { return cancelDone_ || threadDone_; });
  }

  void close(milliseconds timeout) override {
    {
      std::lock_guard lock(mutex_);
      if (!started_) return;
      if (!closeRequested_) {
        closeRequested_ = true;
        closeDeadline_ = clock_.steadyNow() + timeout;
      }
    }
    wake();
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct PendingSettle {
    std::uint64_t generation;
    std::uint64_t deliveryTag;
    Settlement settlement;
    std::function<void(Status)> done;
  };
  struct PendingConfirm {
    std::uint64_t deliveryTag;  // of the original on the consuming channel
    std::string target;         // the queue the copy is for, for logs
    std::function<void(Status)> done;
  };

  void wake() {
    if (wakeFd_ < 0) return;
    const std::uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the loop wakes up either way.
    (void)::write(wakeFd_, &one, sizeof one);
  }

  void setState(TransportState state, const std::string& error) {
    if (callbacks_.onState) callbacks_.onState(state, error);
  }

  /// A connection with the topology declared, confirms enabled and the consumer started.
  Status connect() {
    auto opened = brokers_->open(connectionOptions_);
    if (!opened) return opened.error();
    std::unique_ptr<rabbitmq::Connection> c = std::move(opened).value();
    url_ = c->url();
    auto consumeChannel = c->openChannel();
    if (!consumeChannel) return consumeChannel.error();
    if (auto declared = declareTopology(*c, *consumeChannel, options_); !declared) return declared;
    if (amqp_basic_qos(c->raw(), *consumeChannel, 0, options_.prefetch, 0) == nullptr)
      return c->replyError(amqp_get_rpc_reply(c->raw()), "basic.qos", *consumeChannel);
    auto publishChannel = c->openChannel();
    if (!publishChannel) return publishChannel.error();
    if (amqp_confirm_select(c->raw(), *publishChannel) == nullptr)
      return c->replyError(amqp_get_rpc_reply(c->raw()), "confirm.select", *publishChannel);
    auto* ok = amqp_basic_consume(c->raw(), *consumeChannel, bytes(options_.subscription.queue),
                                  amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    if (ok == nullptr) {
      return c->replyError(amqp_get_rpc_reply(c->raw()),
                           "basic.consume '" + options_.subscription.queue + "'", *consumeChannel);
    }
    consumerTag_ = str(ok->consumer_tag);
    conn_ = std::move(c);
    consumeChannel_ = *consumeChannel;
    tracker_.reset(*publishChannel);
    ++generation_;
    assembling_.reset();
    cancelSent_ = false;
    if (generation_ > 1) {
      spdlog::info("consumer {}: reconnected to {}", options_.name(), url_.redacted());
    }
    setState(TransportState::kConnected, "");
    return okStatus();
  }

  /// The connection is gone: everything unsettled on it is the broker's again.
  void fail(const Error& error) {
    if (!conn_) return;
    conn_->markDead();
    conn_.reset();
    auto confirms = std::move(pendingConfirms_);
    pendingConfirms_.clear();
    const Error lost{ErrorCode::kUnavailable,
                     "connection lost before the copy was confirmed: " + error.message};
    for (auto& [tag, pending] : confirms) pending.done(lost);
    if (callbacks_.onConnectionLost) callbacks_.onConnectionLost(generation_);
    bool closing;
    {
      std::lock_guard lock(mutex_);
      closing = closeRequested_ || cancelRequested_;
    }
    if (closing) {
      spdlog::warn("consumer {}: connection lost while stopping: {}", options_.name(),
                   error.message);
      return;
    }
    backoff_.reset();
    nextAttempt_ = clock_.steadyNow() + backoff_.next();
    spdlog::warn("consumer {}: connection to {} lost: {}; reconnecting", options_.name(),
                 url_.redacted(), error.message);
    setState(TransportState::kReconnecting, error.message);
  }

  void run() {
    while (true) {
      bool closing;
      bool cancelling;
      {
        std::lock_guard lock(mutex_);
        closing = closeRequested_;
        cancelling = cancelRequested_;
      }
      processSettles();
      if (conn_ && cancelling && !cancelSent_) sendCancel();
      if (!conn_ && cancelling) {
        // Nothing to cancel: without a connection there is no subscription.
        {
          std::lock_guard lock(mutex_);
          cancelDone_ = true;
        }
        cv_.notify_all();
      }
      if (conn_) drainFrames();
      if (closing &&
          (!conn_ || pendingConfirms_.empty() || clock_.steadyNow() >= closeDeadlineCopy())) {
        processSettles();
        break;
      }
      if (!conn_ && !closing && !cancelling && clock_.steadyNow() >= nextAttempt_) {
        setState(TransportState::kConnecting, "");
        if (auto connected = connect(); !connected) {
          ++failedAttempts_;
          const auto wait = backoff_.next();
          nextAttempt_ = clock_.steadyNow() + wait;
          spdlog::warn("consumer {}: cannot connect to {} (attempt {}): {}; next attempt in {} ms",
                       options_.name(),
                       brokers_->brokers().size() == 1
                           ? url_.redacted()
                           : "any of " + std::to_string(brokers_->brokers().size()) + " brokers",
                       failedAttempts_, connected.error().message, wait.count());
          setState(TransportState::kReconnecting, connected.error().message);
        } else {
          failedAttempts_ = 0;
        }
        continue;
      }
      waitForWork(/*reconnectDue=*/!conn_ && !closing && !cancelling);
    }
    if (conn_) {
      if (!pendingConfirms_.empty()) {
        spdlog::warn(
            "consumer {}: closing with {} unconfirmed retry/DLQ copies; their originals "
            "return to the queue",
            options_.name(), pendingConfirms_.size());
        const Error lost{ErrorCode::kUnavailable, "closed before the copy was confirmed"};
        for (auto& [tag, pending] : pendingConfirms_) pending.done(lost);
        pendingConfirms_.clear();
      }
      // connection.close also closes both channels: unacked deliveries return to the queue.
      conn_->close();
      conn_.reset();
    }
    {
      std::lock_guard lock(mutex_);
      threadDone_ = true;
      cancelDone_ = true;
    }
    cv_.notify_all();
    setState(TransportState::kStopped, "");
  }

  SteadyTime closeDeadlineCopy() {
    std::lock_guard lock(mutex_);
    return closeDeadline_;
  }

  /// Sleeps until the socket is readable, someone calls wake(), or a timer is due.
  void waitForWork(bool reconnectDue) {
    auto timeout = milliseconds(200);  // heartbeats are sent from drainFrames()
    if (reconnectDue) {
      const auto untilAttempt =
          std::chrono::duration_cast<milliseconds>(nextAttempt_ - clock_.steadyNow());
      timeout = std::clamp(untilAttempt, milliseconds(1), milliseconds(200));
    }
    // Whatever woke it (or a failed poll, which the next socket read reports), the loop looks
    // at everything again.
    (void)rabbitmq::waitForFrames(conn_ ? conn_->fd() : -1, wakeFd_, timeout);
  }

  void sendCancel() {
    amqp_basic_cancel_t request{};
    request.consumer_tag = bytes(consumerTag_);
    request.nowait = 0;
    cancelSent_ = true;
    const int rc =
        amqp_send_method(conn_->raw(), consumeChannel_, AMQP_BASIC_CANCEL_METHOD, &request);
    if (rc != AMQP_STATUS_OK) fail(rabbitmq::statusError(rc, "basic.cancel"));
  }

  void processSettles() {
    std::deque<PendingSettle> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(settles_);
    }
    for (auto& s : batch) {
      if (!conn_ || s.generation != generation_) {
        s.done(Error{ErrorCode::kUnavailable,
                     "the connection the message arrived on is gone; the broker redelivers it"});
        continue;
      }
      switch (s.settlement.kind) {
        case Settlement::Kind::kAck:
          sent(amqp_basic_ack(conn_->raw(), consumeChannel_, s.deliveryTag, 0), "basic.ack",
               s.done);
          break;
        case Settlement::Kind::kRequeue:
          sent(amqp_basic_reject(conn_->raw(), consumeChannel_, s.deliveryTag, 1), "basic.reject",
               s.done);
          break;
        case Settlement::Kind::kRepublishThenAck: {
          const BrokerMessage& m = s.settlement.copy;
          std::uint64_t tag = 0;
          if (const int rc = tracker_.publish(conn_->raw(), m, properties_, tag);
              rc != AMQP_STATUS_OK) {
            sent(rc, "basic.publish to '" + m.routingKey + "'", s.done);
            break;
          }
          pendingConfirms_.emplace(tag,
                                   PendingConfirm{s.deliveryTag, m.routingKey, std::move(s.done)});
          break;
        }
      }
    }
  }

  /// Completes a settlement whose ack, reject or publish was just sent with status `rc`: a send
  /// that failed broke the connection.
  void sent(int rc, const std::string& what, const std::function<void(Status)>& done) {
    if (rc == AMQP_STATUS_OK) {
      done(okStatus());
      return;
    }
    Error e = rabbitmq::statusError(rc, what);
    fail(e);
    done(e);
  }

  void confirm(std::uint64_t tag, bool multiple, bool ack) {
    auto begin = pendingConfirms_.begin();
    auto end = pendingConfirms_.end();
    if (multiple) {
      end = pendingConfirms_.upper_bound(tag);
    } else {
      begin = pendingConfirms_.find(tag);
      if (begin == pendingConfirms_.end()) return;
      end = std::next(begin);
    }
    if (begin == end) return;
    std::vector<PendingConfirm> confirmed;
    for (auto it = begin; it != end; ++it) confirmed.push_back(std::move(it->second));
    pendingConfirms_.erase(begin, end);
    if (!ack) {
      // The broker could not take the copy: do not ack the original. Starting over on a new
      // connection gives the broker time and requeues the original.
      Error e{ErrorCode::kUnavailable,
              "the broker refused (nack) the copy for '" + confirmed.front().target + "'"};
      for (auto& c : confirmed) c.done(e);
      fail(e);
      return;
    }
    for (auto& c : confirmed) {
      if (!conn_) {
        c.done(Error{ErrorCode::kUnavailable, "connection lost before the ack"});
        continue;
      }
      sent(amqp_basic_ack(conn_->raw(), consumeChannel_, c.deliveryTag, 0), "basic.ack", c.done);
    }
  }

  void drainFrames() {
    const int rc = rabbitmq::drainFrames(
        conn_->raw(),
        [this](const amqp_frame_t& frame) {
          onFrame(frame);
          return conn_ != nullptr;  // a failure dropped the connection: stop reading
        },
        10000);
    if (rc != AMQP_STATUS_OK) {
      fail(rabbitmq::statusError(rc, "consumer connection to " + url_.redacted()));
      return;
    }
    if (conn_) amqp_maybe_release_buffers(conn_->raw());
  }

  void onFrame(const amqp_frame_t& frame) {
    switch (tracker_.onFrame(frame, confirms_, returns_)) {
      case ConfirmTracker::Frame::kTaken:
        onConfirms();
        return;
      case ConfirmTracker::Frame::kProtocolError:
        fail(Error{ErrorCode::kUnavailable,
                   "protocol error: method frame inside a returned retry/DLQ copy"});
        return;
      case ConfirmTracker::Frame::kOther:
        break;
    }
    switch (frame.frame_type) {
      case AMQP_FRAME_METHOD:
        onMethod(frame.channel, frame.payload.method);
        return;
      case AMQP_FRAME_HEADER: {
        const auto bodySize = frame.payload.properties.body_size;
        if (frame.channel == consumeChannel_ && assembling_) {
          const auto& properties =
              *static_cast<amqp_basic_properties_t*>(frame.payload.properties.decoded);
          if (auto mode = rabbitmq::readProperties(properties, *assembling_))
            assembling_->persistent = *mode == AMQP_DELIVERY_PERSISTENT;
          expectedBody_ = bodySize;
          assembling_->body.reserve(bodySize);
          if (bodySize == 0) deliver();
        }
        return;
      }
      case AMQP_FRAME_BODY: {
        const auto& part = frame.payload.body_fragment;
        if (frame.channel == consumeChannel_ && assembling_) {
          assembling_->body.append(static_cast<const char*>(part.bytes), part.len);
          if (assembling_->body.size() >= expectedBody_) deliver();
        }
        return;
      }
      default:
        return;  // heartbeats are handled by rabbitmq-c
    }
  }

  void deliver() {
    TransportDelivery d = std::move(*assembling_);
    assembling_.reset();
    if (callbacks_.onDelivery) callbacks_.onDelivery(std::move(d));
  }

  /// What the tracker read on the publishing channel: confirms of retry/DLQ copies, returns.
  void onConfirms() {
    if (!returns_.empty()) {
      // A copy no queue took (its retry queue or DLQ was deleted under us). Treat it as a broken
      // connection: the reconnect re-declares the topology, and the original, never acked, comes
      // back.
      const BrokerReturn& r = returns_.front();
      const std::string why = "a retry/DLQ copy was returned by the broker: " + r.replyText + " (" +
                              std::to_string(r.replyCode) + ") for '" + r.routingKey + "'";
      returns_.clear();
      confirms_.clear();
      fail(Error{ErrorCode::kUnavailable, why});
      return;
    }
    for (const auto& c : confirms_) {
      confirm(c.deliveryTag, c.multiple, c.ack);
      if (!conn_) break;  // a nack failed the connection
    }
    confirms_.clear();
  }

  void onMethod(amqp_channel_t channel, const amqp_method_t& method) {
    switch (method.id) {
      case AMQP_BASIC_DELIVER_METHOD: {
        auto* m = static_cast<amqp_basic_deliver_t*>(method.decoded);
        TransportDelivery d;
        d.generation = generation_;
        d.deliveryTag = m->delivery_tag;
        d.exchange = str(m->exchange);
        d.routingKey = str(m->routing_key);
        d.redelivered = m->redelivered != 0;
        assembling_ = std::move(d);
        expectedBody_ = 0;
        return;
      }
      case AMQP_BASIC_CANCEL_OK_METHOD: {
        {
          std::lock_guard lock(mutex_);
          cancelDone_ = true;
        }
        cv_.notify_all();
        return;
      }
      case AMQP_BASIC_CANCEL_METHOD:
        // consumer_cancel_notify: the queue was deleted, or its leader moved away.
        fail(Error{ErrorCode::kUnavailable, "the broker cancelled the consumer of '" +
                                                options_.subscription.queue +
                                                "' (queue deleted?)"});
        return;
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        fail(conn_->closeFrameError(method, "consumer of '" + options_.subscription.queue + "'",
                                    channel));
        return;
      case AMQP_CONNECTION_BLOCKED_METHOD: {
        auto* m = static_cast<amqp_connection_blocked_t*>(method.decoded);
        spdlog::warn("consumer {}: the broker blocked the connection ({}): retry/DLQ copies wait",
                     options_.name(), str(m->reason));
        return;
      }
      case AMQP_CONNECTION_UNBLOCKED_METHOD:
        spdlog::info("consumer {}: the broker unblocked the connection", options_.name());
        return;
      default:
        return;
    }
  }

  RabbitConnectionOptions connectionOptions_;
  const ConsumerOptions options_;
  SystemClock systemClock_;
  const Clock& clock_;
  /// The brokers of connectionOptions_, tried in turn at every (re)connect.
  std::unique_ptr<rabbitmq::BrokerRotation> brokers_;
  AmqpUrl url_;  // the broker of the current (or last) connection, for messages
  Callbacks callbacks_;
  int wakeFd_ = -1;
  std::thread thread_;

  // Shared with other threads.
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<PendingSettle> settles_;
  bool started_ = false;
  bool cancelRequested_ = false;
  bool cancelDone_ = false;
  bool closeRequested_ = false;
  bool threadDone_ = false;
  SteadyTime closeDeadline_;

  // The I/O thread's own (start() uses them before the thread exists).
  std::unique_ptr<rabbitmq::Connection> conn_;
  amqp_channel_t consumeChannel_ = 0;
  std::string consumerTag_;
  bool cancelSent_ = false;
  std::uint64_t generation_ = 0;
  // The publishing channel of the retry/DLQ copies (confirm mode): tags, confirms, returns.
  ConfirmTracker tracker_;
  rabbitmq::PublishProperties properties_;
  std::vector<BrokerConfirm> confirms_;  // reused by every frame
  std::vector<BrokerReturn> returns_;
  std::map<std::uint64_t, PendingConfirm> pendingConfirms_;
  std::optional<TransportDelivery> assembling_;
  std::uint64_t expectedBody_ = 0;
  // Reconnect delays: reconnectInitial doubling up to reconnectMax, +-20 % jitter.
  Backoff backoff_;
  SteadyTime nextAttempt_{};
  int failedAttempts_ = 0;
};

}  // namespace

std::unique_ptr<ConsumerTransport> makeRabbitConsumerTransport(RabbitConnectionOptions connection,
                                                               ConsumerOptions options,
                                                               const Clock* clock) {
  return std::make_unique<RabbitConsumerTransport>(std::move(connection), std::move(options),
                                                   clock);
}

std::unique_ptr<Consumer> makeRabbitConsumer(RabbitConnectionOptions connection,
                                             ConsumerOptions options, const SchemaRegistry& schemas,
                                             Inbox* inbox, const Clock* clock) {
  auto transport = makeRabbitConsumerTransport(std::move(connection), options, clock);
  return std::make_unique<Consumer>(std::move(options), schemas, std::move(transport), inbox,
                                    clock);
}

}  // namespace orders
