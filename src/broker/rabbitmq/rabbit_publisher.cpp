#include "broker/rabbitmq/rabbit_publisher.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"
#include "broker/rabbitmq/amqp/detail/confirms.hpp"
#include "broker/rabbitmq/amqp/detail/connection.hpp"

namespace orders {
namespace {

using rabbitmq::ConfirmTracker;
using rabbitmq::str;

class RabbitPublisher final : public ConfirmedPublisher {
 public:
  RabbitPublisher(std::unique_ptr<rabbitmq::Connection> connection, amqp_channel_t channel,
                  int wakeFd)
      : connection_(std::move(connection)),
        conn_(connection_->raw()),
        tracker_(channel),
        wakeFd_(wakeFd),
        sockFd_(connection_->fd()),
        frameMax_(static_cast<std::size_t>(amqp_get_frame_max(conn_))),
        where_("connection to " + connection_->url().redacted()) {}

  std::string broker() const override { return connection_->url().redacted(); }

  ~RabbitPublisher() override {
    {
      std::lock_guard lock(fdMutex_);
      sockFd_ = -1;  // abort() must not touch the descriptor once destroy closes it
    }
    connection_.reset();
    ::close(wakeFd_);
  }

  // Messages are framed into one buffer and written per burst (flush): one send() for many
  // messages instead of three per message (amqp_basic_publish writes method, header and body
  // separately), so the broker reads a burst in one go too.
  Result<std::uint64_t> publish(const BrokerMessage& m) override {
    if (failure_) return *failure_;
    std::uint64_t tag = 0;
    if (connection_->tls()) {
      // TLS: the bytes must go through rabbitmq-c's OpenSSL socket; no burst buffer (three
      // TLS writes per message, docs/benchmarks.md).
      if (const int rc = tracker_.publish(conn_, m, properties_, tag); rc != AMQP_STATUS_OK) {
        fail(rabbitmq::statusError(rc, "basic.publish to " + connection_->url().redacted()));
        return *failure_;
      }
      return tag;
    }
    if (const int rc = tracker_.encodePublish(m, properties_, frameMax_, pending_, tag);
        rc != AMQP_STATUS_OK) {
      fail(rabbitmq::statusError(rc, "basic.publish to " + connection_->url().redacted()));
      return *failure_;
    }
    if (pending_.size() >= kFlushBytes) {
      if (auto flushed = flush(); !flushed) return flushed.error();
    }
    return tag;
  }

  Status flush() override {
    if (failure_) return *failure_;
    if (pending_.empty()) return okStatus();
    auto written = rabbitmq::writeAll(connection_->fd(), pending_);
    pending_.clear();
    if (pending_.capacity() > 4 * kFlushBytes) pending_.shrink_to_fit();
    if (!written) {
      fail(Error{ErrorCode::kUnavailable, "basic.publish to " + connection_->url().redacted() +
                                              ": " + written.error().message});
      return *failure_;
    }
    return okStatus();
  }

  PublisherEvents poll(std::chrono::milliseconds timeout) override {
    PublisherEvents events;
    if (!failure_) (void)flush();  // a failure is reported just below
    if (failure_) {
      events.failure = failure_;
      return events;
    }
    auto waited = rabbitmq::awaitFrames(
        conn_, connection_->fd(), wakeFd_, timeout,
        [&](const amqp_frame_t& frame) { return onFrame(frame, events); },
        [&] { return !events.empty(); }, where_);
    if (!waited) {
      fail(waited.error());
      events.failure = failure_;
    }
    // Everything we need from the decoded frames has been copied out.
    amqp_maybe_release_buffers(conn_);
    return events;
  }

  void wakeup() override {
    const std::uint64_t one = 1;
    // A full counter (EAGAIN) already means "wake up"; nothing else can fail here.
    (void)::write(wakeFd_, &one, sizeof one);
  }

  void abort() override {
    std::lock_guard lock(fdMutex_);
    if (sockFd_ >= 0) ::shutdown(sockFd_, SHUT_RDWR);
  }

  void close(std::chrono::milliseconds timeout) override {
    if (!failure_) (void)flush();  // their confirms are not awaited: republished after a restart
    if (failure_ || !connection_->usable()) return;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    amqp_set_rpc_timeout(conn_, &tv);
    connection_->closeChannel(tracker_.channel());
    connection_->close();
    fail(Error{ErrorCode::kUnavailable, "publisher closed"});
  }

 private:
  void fail(Error error) {
    if (!failure_) failure_ = std::move(error);
    connection_->markDead();
  }

  /// One frame: confirms and returns through the tracker, flow control and channel errors here.
  /// false once the publisher failed (nothing more is read then).
  bool onFrame(const amqp_frame_t& frame, PublisherEvents& events) {
    switch (tracker_.onFrame(frame, events.confirms, events.returns)) {
      case ConfirmTracker::Frame::kTaken:
        return true;
      case ConfirmTracker::Frame::kProtocolError:
        fail(
            Error{ErrorCode::kUnavailable, "protocol error: method frame inside returned content"});
        events.failure = failure_;
        return false;
      case ConfirmTracker::Frame::kOther:
        break;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) return true;
    const amqp_method_t& method = frame.payload.method;
    switch (method.id) {
      case AMQP_CONNECTION_BLOCKED_METHOD: {
        auto* blocked = static_cast<amqp_connection_blocked_t*>(method.decoded);
        events.flow = PublisherEvents::Flow::kBlocked;
        events.blockedReason = str(blocked->reason);
        return true;
      }
      case AMQP_CONNECTION_UNBLOCKED_METHOD:
        events.flow = PublisherEvents::Flow::kUnblocked;
        events.blockedReason.clear();
        return true;
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        fail(connection_->closeFrameError(method, "publishing channel", frame.channel));
        events.failure = failure_;
        return false;
      default:
        return true;  // nothing else is expected on a publishing channel
    }
  }

  std::unique_ptr<rabbitmq::Connection> connection_;
  amqp_connection_state_t conn_;
  ConfirmTracker tracker_;
  const int wakeFd_;
  std::mutex fdMutex_;
  int sockFd_;
  const std::size_t frameMax_;
  /// Framed publishes not yet written; flushed at kFlushBytes, so a burst never holds much.
  static constexpr std::size_t kFlushBytes = std::size_t{256} * 1024;
  std::string pending_;
  const std::string where_;  // "connection to amqp://...", for errors
  std::optional<Error> failure_;
  rabbitmq::PublishProperties properties_;  // reused: no allocation per publish
};

/// A connection + confirm-mode channel to the next broker of `brokers` that answers.
Result<std::unique_ptr<ConfirmedPublisher>> openPublisher(rabbitmq::BrokerRotation& brokers,
                                                          const RabbitConnectionOptions& options) {
  auto connection = brokers.open(options);
  if (!connection) return connection.error();
  auto& conn = **connection;
  auto channel = conn.openChannel();
  if (!channel) return channel.error();
  if (amqp_confirm_select(conn.raw(), *channel) == nullptr) {
    return conn.replyError(amqp_get_rpc_reply(conn.raw()), "confirm.select", *channel);
  }
  const int wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd < 0)
    return Error{ErrorCode::kInternal, std::string("eventfd(): ") + std::strerror(errno)};
  return std::unique_ptr<ConfirmedPublisher>(
      std::make_unique<RabbitPublisher>(std::move(*connection), *channel, wakeFd));
}

}  // namespace

Result<std::unique_ptr<ConfirmedPublisher>> openRabbitPublisher(
    const RabbitConnectionOptions& options) {
  auto brokers = rabbitmq::parseBrokerUrls(options);
  if (!brokers) return brokers.error();
  rabbitmq::BrokerRotation rotation(std::move(brokers).value());
  return openPublisher(rotation, options);
}

Result<PublisherFactory> makeRabbitPublisherFactory(RabbitConnectionOptions options) {
  auto brokers = rabbitmq::parseBrokerUrls(options);
  if (!brokers) return brokers.error();
  // Shared by every copy of the factory: each new publisher goes to the next broker in turn.
  auto rotation = std::make_shared<rabbitmq::BrokerRotation>(std::move(brokers).value());
  return PublisherFactory(
      [options = std::move(options), rotation] { return openPublisher(*rotation, options); });
}

}  // namespace orders
