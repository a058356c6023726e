#include "broker/rabbitmq/amqp/detail/confirms.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace orders::rabbitmq {

void ConfirmTracker::reset(amqp_channel_t channel) {
  channel_ = channel;
  nextTag_ = 1;
  returning_.reset();
  haveHeader_ = false;
  bodyLeft_ = 0;
}

int ConfirmTracker::publish(amqp_connection_state_t conn, const BrokerMessage& m,
                            PublishProperties& properties, std::uint64_t& tag) {
  const int rc = amqp_basic_publish(conn, channel_, bytes(m.exchange), bytes(m.routingKey),
                                    m.mandatory ? 1 : 0, 0, properties.set(m), bytes(m.body));
  if (rc == AMQP_STATUS_OK) tag = nextTag_++;
  return rc;
}

ConfirmTracker::Frame ConfirmTracker::onFrame(const amqp_frame_t& frame,
                                              std::vector<BrokerConfirm>& confirms,
                                              std::vector<BrokerReturn>& returns) {
  if (frame.channel != channel_) return Frame::kOther;
  if (frame.frame_type == AMQP_FRAME_METHOD) {
    if (returning_) return Frame::kProtocolError;
    const amqp_method_t& method = frame.payload.method;
    switch (method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(method.decoded);
        confirms.push_back({ack->delivery_tag, ack->multiple != 0, true});
        return Frame::kTaken;
      }
      case AMQP_BASIC_NACK_METHOD: {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(method.decoded);
        confirms.push_back({nack->delivery_tag, nack->multiple != 0, false});
        return Frame::kTaken;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        const auto* ret = static_cast<const amqp_basic_return_t*>(method.decoded);
        returning_.emplace();
        returning_->replyCode = ret->reply_code;
        returning_->replyText = str(ret->reply_text);
        returning_->exchange = str(ret->exchange);
        returning_->routingKey = str(ret->routing_key);
        haveHeader_ = false;
        bodyLeft_ = 0;
        return Frame::kTaken;
      }
      default:
        return Frame::kOther;
    }
  }
  // A confirm-mode channel that does not consume receives content only after basic.return; any
  // other content on it is skipped.
  if (frame.frame_type == AMQP_FRAME_HEADER) {
    if (returning_ && !haveHeader_) {
      const auto& properties =
          *static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
      if ((properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0)
        returning_->messageId = str(properties.message_id);
      haveHeader_ = true;
      bodyLeft_ = frame.payload.properties.body_size;
    }
  } else if (frame.frame_type == AMQP_FRAME_BODY) {
    if (returning_ && haveHeader_)
      bodyLeft_ -= std::min<std::uint64_t>(bodyLeft_, frame.payload.body_fragment.len);
  } else {
    return Frame::kOther;  // heartbeats are rabbitmq-c's
  }
  if (returning_ && haveHeader_ && bodyLeft_ == 0) {
    returns.push_back(std::move(*returning_));
    returning_.reset();
    haveHeader_ = false;
  }
  return Frame::kTaken;
}

Result<Wake> waitForFrames(int socketFd, int wakeFd, std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{socketFd, POLLIN, 0}, {wakeFd, POLLIN, 0}};
  const int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (n < 0) {
    if (errno == EINTR) return Wake::kTimeout;
    return Error{ErrorCode::kUnavailable, std::string("poll(): ") + std::strerror(errno)};
  }
  if (n > 0 && (fds[1].revents & POLLIN) != 0) {
    std::uint64_t count = 0;
    // Only resets the eventfd counter; EAGAIN (already drained) is fine.
    (void)::read(wakeFd, &count, sizeof count);
    return Wake::kWoken;
  }
  return n > 0 ? Wake::kReadable : Wake::kTimeout;
}

Status publishAndAwaitConfirm(Connection& connection, ConfirmTracker& tracker,
                              const BrokerMessage& m, PublishProperties& properties,
                              std::chrono::milliseconds timeout) {
  std::uint64_t tag = 0;
  if (const int rc = tracker.publish(connection.raw(), m, properties, tag); rc != AMQP_STATUS_OK) {
    connection.markDead();
    return statusError(rc, "basic.publish");
  }
  std::vector<BrokerConfirm> confirms;
  std::vector<BrokerReturn> returns;
  std::optional<BrokerReturn> returned;
  std::optional<Status> answer;
  auto onFrame = [&](const amqp_frame_t& frame) {
    switch (tracker.onFrame(frame, confirms, returns)) {
      case ConfirmTracker::Frame::kTaken:
        if (!returns.empty()) returned = std::move(returns.back());
        returns.clear();
        for (const auto& c : confirms) {
          if (!c.covers(tag)) continue;
          if (!c.ack) {
            answer = Error{ErrorCode::kUnavailable, "the broker refused the message (nack)"};
          } else if (returned) {
            answer = Error{ErrorCode::kNotFound,
                           "no queue '" + m.routingKey + "' took it: " + returned->replyText};
          } else {
            answer = okStatus();
          }
        }
        confirms.clear();
        break;
      case ConfirmTracker::Frame::kProtocolError:
        connection.markDead();
        answer =
            Error{ErrorCode::kUnavailable, "protocol error: method frame inside returned content"};
        break;
      case ConfirmTracker::Frame::kOther:
        if (frame.frame_type == AMQP_FRAME_METHOD &&
            (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
             frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) &&
            (frame.channel == tracker.channel() || frame.channel == 0)) {
          answer = connection.closeFrameError(frame.payload.method, "publish", frame.channel);
        }
        break;
    }
    return !answer;
  };
  auto waited = awaitFrames(
      connection.raw(), connection.fd(), -1, timeout, onFrame, [&] { return answer.has_value(); },
      "waiting for the publisher confirm");
  if (!waited) {
    connection.markDead();
    return waited.error();
  }
  if (*waited != Awaited::kDone) {
    connection.markDead();
    return statusError(AMQP_STATUS_TIMEOUT, "waiting for the publisher confirm");
  }
  return *answer;
}

}  // namespace orders::rabbitmq
