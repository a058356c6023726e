#include "broker/rabbitmq/amqp/detail/confirms.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <variant>

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

namespace {

constexpr std::size_t kFrameHeaderSize = 7;                   // type, channel, payload size
constexpr std::size_t kFrameOverhead = kFrameHeaderSize + 1;  // and the frame-end octet

void putBigEndian(char* at, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    at[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

/// Opens a frame at the end of `out` with room for `room` payload bytes; returns the payload's
/// offset. closeFrame() trims it to the real size and writes size and frame end.
std::size_t openFrame(std::string& out, std::uint8_t type, amqp_channel_t channel,
                      std::size_t room) {
  const std::size_t at = out.size();
  out.resize(at + kFrameHeaderSize + room);
  out[at] = static_cast<char>(type);
  putBigEndian(&out[at + 1], channel, 2);
  return at + kFrameHeaderSize;
}

void closeFrame(std::string& out, std::size_t payloadAt, std::size_t size) {
  putBigEndian(&out[payloadAt - 4], size, 4);
  out.resize(payloadAt + size);
  out.push_back(static_cast<char>(AMQP_FRAME_END));
}

/// Runs `encode(amqp_bytes_t room) -> int` (an amqp_encode_* call) with growing room until it
/// fits; its result (the encoded size, or a negative rabbitmq-c status).
template <class Encode>
int encodeGrowing(std::string& out, std::size_t payloadAt, std::size_t fixed, std::size_t room,
                  Encode&& encode) {
  for (;;) {
    out.resize(payloadAt + fixed + room);
    const int rc = encode(amqp_bytes_t{room, &out[payloadAt + fixed]});
    // The generated encoders report a full buffer as bad data or a too big table.
    if (rc >= 0 || (rc != AMQP_STATUS_BAD_AMQP_DATA && rc != AMQP_STATUS_TABLE_TOO_BIG) ||
        room >= (std::size_t{1} << 20))
      return rc;
    room *= 2;
  }
}

}  // namespace

int ConfirmTracker::encodePublish(const BrokerMessage& m, PublishProperties& properties,
                                  std::size_t frameMax, std::string& out, std::uint64_t& tag) {
  const std::size_t start = out.size();
  auto undo = [&](int rc) {
    out.resize(start);
    return rc;
  };
  if (frameMax <= kFrameOverhead) return AMQP_STATUS_INVALID_PARAMETER;

  // basic.publish: the method id, then its arguments.
  amqp_basic_publish_t method{};
  method.exchange = bytes(m.exchange);
  method.routing_key = bytes(m.routingKey);
  method.mandatory = m.mandatory ? 1 : 0;
  method.immediate = 0;
  std::size_t payloadAt = openFrame(out, AMQP_FRAME_METHOD, channel_, 0);
  int rc = encodeGrowing(out, payloadAt, 4, 16 + m.exchange.size() + m.routingKey.size(),
                         [&](amqp_bytes_t room) {
                           return amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &method, room);
                         });
  if (rc < 0) return undo(rc);
  putBigEndian(&out[payloadAt], AMQP_BASIC_PUBLISH_METHOD, 4);
  closeFrame(out, payloadAt, 4 + static_cast<std::size_t>(rc));

  // Content header: class, weight 0, body size, then property flags and values.
  const amqp_basic_properties_t* props = properties.set(m);
  std::size_t guess = 64 + m.contentType.size() + m.messageId.size() + m.type.size() +
                      m.appId.size() + m.correlationId.size();
  for (const auto& h : m.headers) guess += 16 + h.name.size() + 16;
  for (const auto& h : m.headers)
    if (const auto* text = std::get_if<std::string>(&h.value)) guess += text->size();
  payloadAt = openFrame(out, AMQP_FRAME_HEADER, channel_, 0);
  rc = encodeGrowing(out, payloadAt, 12, guess, [&](amqp_bytes_t room) {
    return amqp_encode_properties(AMQP_BASIC_CLASS, const_cast<amqp_basic_properties_t*>(props),
                                  room);
  });
  if (rc < 0) return undo(rc);
  putBigEndian(&out[payloadAt], AMQP_BASIC_CLASS, 2);
  putBigEndian(&out[payloadAt + 2], 0, 2);
  putBigEndian(&out[payloadAt + 4], m.body.size(), 8);
  closeFrame(out, payloadAt, 12 + static_cast<std::size_t>(rc));

  // Body frames, none for an empty body.
  const std::size_t chunk = frameMax - kFrameOverhead;
  for (std::size_t offset = 0; offset < m.body.size(); offset += chunk) {
    const std::size_t n = std::min(chunk, m.body.size() - offset);
    payloadAt = openFrame(out, AMQP_FRAME_BODY, channel_, n);
    std::memcpy(&out[payloadAt], m.body.data() + offset, n);
    closeFrame(out, payloadAt, n);
  }
  tag = nextTag_++;
  return AMQP_STATUS_OK;
}

Status writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd out{fd, POLLOUT, 0};
      if (::poll(&out, 1, 500) < 0 && errno != EINTR)
        return Error{ErrorCode::kUnavailable, std::string("poll(): ") + std::strerror(errno)};
      continue;
    }
    return Error{ErrorCode::kUnavailable,
                 std::string("send(): ") + (n == 0 ? "nothing written" : std::strerror(errno))};
  }
  return okStatus();
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
