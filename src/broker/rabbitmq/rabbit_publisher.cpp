#include "broker/rabbitmq/rabbit_publisher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "broker/rabbitmq/detail/amqp_fields.hpp"
#include "broker/rabbitmq/detail/connection.hpp"

namespace orders {
namespace {

using rabbitmq::bytes;
using rabbitmq::str;
using SteadyClock = std::chrono::steady_clock;

class RabbitPublisher final : public ConfirmedPublisher {
 public:
  RabbitPublisher(std::unique_ptr<rabbitmq::Connection> connection, amqp_channel_t channel,
                  int wakeFd)
      : connection_(std::move(connection)),
        conn_(connection_->raw()),
        channel_(channel),
        wakeFd_(wakeFd),
        sockFd_(connection_->fd()) {}

  ~RabbitPublisher() override {
    {
      std::lock_guard lock(fdMutex_);
      sockFd_ = -1;  // abort() must not touch the descriptor once destroy closes it
    }
    connection_.reset();
    ::close(wakeFd_);
  }

  Result<std::uint64_t> publish(const BrokerMessage& m) override {
    if (failure_) return *failure_;
    const int rc = amqp_basic_publish(conn_, channel_, bytes(m.exchange), bytes(m.routingKey),
                                      m.mandatory ? 1 : 0, 0, properties_.set(m), bytes(m.body));
    if (rc != AMQP_STATUS_OK) {
      fail(rabbitmq::statusError(rc, "basic.publish to " + connection_->url().redacted()));
      return *failure_;
    }
    return nextTag_++;
  }

  PublisherEvents poll(std::chrono::milliseconds timeout) override {
    PublisherEvents events;
    if (failure_) {
      events.failure = failure_;
      return events;
    }
    const auto deadline = SteadyClock::now() + timeout;
    while (true) {
      drainFrames(events);
      if (!events.empty()) break;
      const auto now = SteadyClock::now();
      if (now >= deadline) break;
      // Wait in slices of at most 500 ms: rabbitmq-c sends our heartbeats only while we call
      // into it.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      const int waitMs = static_cast<int>(std::clamp<std::int64_t>(left.count(), 1, 500));
      pollfd fds[2] = {{connection_->fd(), POLLIN, 0}, {wakeFd_, POLLIN, 0}};
      const int n = ::poll(fds, 2, waitMs);
      if (n < 0 && errno != EINTR) {
        fail(Error{ErrorCode::kUnavailable, std::string("poll(): ") + std::strerror(errno)});
        events.failure = failure_;
        break;
      }
      if (n > 0 && (fds[1].revents & POLLIN) != 0) {
        std::uint64_t count = 0;
        // Only resets the eventfd counter; EAGAIN (already drained) is fine.
        (void)::read(wakeFd_, &count, sizeof count);
        drainFrames(events);
        break;
      }
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
    if (failure_ || !connection_->usable()) return;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    amqp_set_rpc_timeout(conn_, &tv);
    connection_->closeChannel(channel_);
    connection_->close();
    fail(Error{ErrorCode::kUnavailable, "publisher closed"});
  }

 private:
  void fail(Error error) {
    if (!failure_) failure_ = std::move(error);
    connection_->markDead();
  }

  /// Reads every complete frame already available, without blocking.
  void drainFrames(PublisherEvents& events) {
    for (int i = 0; i < 100000; ++i) {
      amqp_frame_t frame;
      timeval zero{0, 0};
      const int rc = amqp_simple_wait_frame_noblock(conn_, &frame, &zero);
      if (rc == AMQP_STATUS_TIMEOUT) return;
      if (rc != AMQP_STATUS_OK) {
        fail(rabbitmq::statusError(rc, "connection to " + connection_->url().redacted()));
        events.failure = failure_;
        return;
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;  // stray content of a return
      const amqp_method_t& method = frame.payload.method;
      switch (method.id) {
        case AMQP_BASIC_ACK_METHOD: {
          auto* ack = static_cast<amqp_basic_ack_t*>(method.decoded);
          events.confirms.push_back({ack->delivery_tag, ack->multiple != 0, true});
          break;
        }
        case AMQP_BASIC_NACK_METHOD: {
          auto* nack = static_cast<amqp_basic_nack_t*>(method.decoded);
          events.confirms.push_back({nack->delivery_tag, nack->multiple != 0, false});
          break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
          auto* ret = static_cast<amqp_basic_return_t*>(method.decoded);
          BrokerReturn r;
          r.replyCode = ret->reply_code;
          r.replyText = str(ret->reply_text);
          r.exchange = str(ret->exchange);
          r.routingKey = str(ret->routing_key);
          if (!readReturnedContent(frame.channel, r, events)) return;
          events.returns.push_back(std::move(r));
          break;
        }
        case AMQP_CONNECTION_BLOCKED_METHOD: {
          auto* blocked = static_cast<amqp_connection_blocked_t*>(method.decoded);
          events.flow = PublisherEvents::Flow::kBlocked;
          events.blockedReason = str(blocked->reason);
          break;
        }
        case AMQP_CONNECTION_UNBLOCKED_METHOD:
          events.flow = PublisherEvents::Flow::kUnblocked;
          events.blockedReason.clear();
          break;
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
          fail(connection_->closeFrameError(method, "publishing channel", frame.channel));
          events.failure = failure_;
          return;
        default:
          break;  // nothing else is expected on a publishing channel
      }
    }
  }

  /// After basic.return: the content header (which carries message_id) and the body frames.
  bool readReturnedContent(amqp_channel_t channel, BrokerReturn& r, PublisherEvents& events) {
    std::uint64_t bodySize = 0;
    std::uint64_t received = 0;
    bool haveHeader = false;
    while (!haveHeader || received < bodySize) {
      amqp_frame_t frame;
      timeval wait{5, 0};
      const int rc = amqp_simple_wait_frame_noblock(conn_, &frame, &wait);
      if (rc != AMQP_STATUS_OK) {
        fail(rabbitmq::statusError(rc, "reading a returned message"));
        events.failure = failure_;
        return false;
      }
      if (frame.channel != channel) continue;
      if (frame.frame_type == AMQP_FRAME_HEADER) {
        auto* props = static_cast<amqp_basic_properties_t*>(frame.payload.properties.decoded);
        if ((props->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0) r.messageId = str(props->message_id);
        bodySize = frame.payload.properties.body_size;
        haveHeader = true;
      } else if (frame.frame_type == AMQP_FRAME_BODY) {
        received += frame.payload.body_fragment.len;
      } else if (frame.frame_type == AMQP_FRAME_METHOD) {
        fail(
            Error{ErrorCode::kUnavailable, "protocol error: method frame inside returned content"});
        events.failure = failure_;
        return false;
      }
    }
    return true;
  }

  std::unique_ptr<rabbitmq::Connection> connection_;
  amqp_connection_state_t conn_;
  const amqp_channel_t channel_;
  const int wakeFd_;
  std::mutex fdMutex_;
  int sockFd_;
  std::uint64_t nextTag_ = 1;
  std::optional<Error> failure_;
  rabbitmq::PublishProperties properties_;  // reused: no allocation per publish
};

}  // namespace

Result<std::unique_ptr<ConfirmedPublisher>> openRabbitPublisher(
    const RabbitConnectionOptions& options) {
  auto url = AmqpUrl::parse(options.url);
  if (!url) return url.error();
  auto connection = rabbitmq::Connection::open(*url, options);
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

Result<PublisherFactory> makeRabbitPublisherFactory(RabbitConnectionOptions options) {
  auto url = AmqpUrl::parse(options.url);
  if (!url) return url.error();
  return PublisherFactory([options = std::move(options)] { return openRabbitPublisher(options); });
}

}  // namespace orders
