#pragma once
// INTERNAL to src/broker/rabbitmq: the one implementation of publisher confirms on a rabbitmq-c
// connection, used by the relay's publisher (rabbit_publisher.cpp), the consumer transport's
// retry/DLQ copies (consumer/rabbit_consumer.cpp) and the DLQ replay
// (consumer/dead_letter_admin.cpp):
//
//  - ConfirmTracker: the delivery tags of one confirm-mode channel and what its frames mean
//    (basic.ack / basic.nack, also with `multiple`; basic.return with its content), and the
//    framing of basic.publish into a buffer (encodePublish) so a burst goes out in one write;
//  - writeAll(): such a buffer onto the connection's socket;
//  - drainFrames(): every frame that is already readable, without blocking;
//  - waitForFrames(): poll(2) on the socket and an eventfd;
//  - awaitFrames(): the wait loop of the two, until a condition holds or a timeout passes;
//  - publishAndAwaitConfirm(): one publish and its confirm, synchronously.
//
// The relay publishes through this path: nothing here allocates or goes through std::function
// per frame (the callbacks are template parameters).
//
// rabbitmq-c types appear here: include this header only from .cpp files in src/broker/rabbitmq/.

#include <amqp.h>
#include <amqp_framing.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"
#include "broker/rabbitmq/amqp/detail/connection.hpp"
#include "common/result.hpp"
#include "events/messaging.hpp"

namespace orders::rabbitmq {

/// Publishes on one confirm-mode channel (confirm.select done) and reads the broker's answers.
/// Not thread-safe: one I/O thread owns it, as it owns the connection.
class ConfirmTracker {
 public:
  explicit ConfirmTracker(amqp_channel_t channel = 0) { reset(channel); }

  /// A new confirm-mode channel: delivery tags start at 1 again, a return being read is dropped.
  void reset(amqp_channel_t channel);
  amqp_channel_t channel() const { return channel_; }
  /// The delivery tag the next successful publish gets.
  std::uint64_t nextTag() const { return nextTag_; }

  /// basic.publish of `m` (mandatory when m.mandatory) with `properties` (reused storage).
  /// AMQP_STATUS_OK and the message's delivery tag in `tag`; otherwise the rabbitmq-c status, and
  /// the connection is unusable.
  int publish(amqp_connection_state_t conn, const BrokerMessage& m, PublishProperties& properties,
              std::uint64_t& tag);

  /// The same basic.publish, appended to `out` as AMQP frames instead of written: the method
  /// frame, the content header and the body in frames of at most `frameMax` bytes (the
  /// negotiated amqp_get_frame_max), byte for byte what amqp_basic_publish writes. The caller
  /// writes `out` (writeAll) before it calls into rabbitmq-c again, so no frame of rabbitmq-c's
  /// own (a heartbeat) can come between; the tag counts from here, so a buffer that is never
  /// written means a dead connection. AMQP_STATUS_OK and the delivery tag in `tag`; otherwise the
  /// rabbitmq-c status of the encoder (`out` unchanged, no tag taken).
  int encodePublish(const BrokerMessage& m, PublishProperties& properties, std::size_t frameMax,
                    std::string& out, std::uint64_t& tag);

  enum class Frame {
    kOther,          // not this channel's confirm traffic: the caller handles it
    kTaken,          // an ack/nack, or part of a returned message
    kProtocolError,  // a method frame inside a returned message's content
  };
  /// Interprets one frame. Acks and nacks of this channel are appended to `confirms`; a
  /// basic.return is appended to `returns` once its content header (which carries message_id) and
  /// body have arrived, so it comes before the ack the broker sends for the same message
  /// afterwards. Everything else, including channel.close on this channel and every
  /// connection-level method, is kOther.
  Frame onFrame(const amqp_frame_t& frame, std::vector<BrokerConfirm>& confirms,
                std::vector<BrokerReturn>& returns);

 private:
  amqp_channel_t channel_ = 0;
  std::uint64_t nextTag_ = 1;
  std::optional<BrokerReturn> returning_;  // basic.return seen, content not complete yet
  bool haveHeader_ = false;
  std::uint64_t bodyLeft_ = 0;
};

/// Writes all of `data` to the socket `fd` (non-blocking, as rabbitmq-c leaves it), waiting in
/// poll(2) while it is full, like amqp_basic_publish with no time limit: a broker that stops
/// reading is the relay watchdog's business (it shuts the socket down, which fails this).
/// kUnavailable naming errno when the socket fails.
Status writeAll(int fd, std::string_view data);

/// Hands every frame that is already readable to `onFrame(const amqp_frame_t&) -> bool` (false:
/// stop here) without blocking, at most `maxFrames`. AMQP_STATUS_OK when nothing more was
/// readable, the limit was reached or onFrame stopped; otherwise the rabbitmq-c status that broke
/// the connection. A frame points into rabbitmq-c's buffers: copy what you need; release them with
/// amqp_maybe_release_buffers() after the drain.
template <class OnFrame>
int drainFrames(amqp_connection_state_t conn, OnFrame&& onFrame, int maxFrames) {
  for (int i = 0; i < maxFrames; ++i) {
    amqp_frame_t frame;
    timeval zero{0, 0};
    const int rc = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) return AMQP_STATUS_OK;
    if (rc != AMQP_STATUS_OK) return rc;
    if (!onFrame(frame)) return AMQP_STATUS_OK;
  }
  return AMQP_STATUS_OK;
}

enum class Wake { kReadable, kWoken, kTimeout };
/// Sleeps in poll(2) until `socketFd` is readable, `wakeFd` (an eventfd) is signalled, or
/// `timeout` passes; either descriptor may be -1. A signalled eventfd is reset. Call it only after
/// drainFrames() found nothing more (rabbitmq-c may hold frames it already read). Real time: it
/// waits for a socket. kUnavailable naming errno when poll(2) fails (not for EINTR: kTimeout).
Result<Wake> waitForFrames(int socketFd, int wakeFd, std::chrono::milliseconds timeout);

/// How awaitFrames() ended.
enum class Awaited { kDone, kWoken, kTimedOut };

/// The confirm-wait loop: drains the frames of `conn` into `onFrame` (see drainFrames) until
/// `done()` holds, `wakeFd` is signalled (-1: none) or `timeout` passes, sleeping in
/// waitForFrames() in between in slices of at most 500 ms (rabbitmq-c sends our heartbeats only
/// while we call into it). An error means the connection broke: `what` names it in the message
/// (e.g. "connection to amqp://...").
template <class OnFrame, class Done>
Result<Awaited> awaitFrames(amqp_connection_state_t conn, int socketFd, int wakeFd,
                            std::chrono::milliseconds timeout, OnFrame&& onFrame, Done&& done,
                            std::string_view what) {
  constexpr int kMaxFrames = 100000;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (const int rc = drainFrames(conn, onFrame, kMaxFrames); rc != AMQP_STATUS_OK)
      return statusError(rc, what);
    if (done()) return Awaited::kDone;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return Awaited::kTimedOut;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    auto woke = waitForFrames(
        socketFd, wakeFd,
        std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(500)));
    if (!woke) return woke.error();
    if (*woke == Wake::kWoken) {
      if (const int rc = drainFrames(conn, onFrame, kMaxFrames); rc != AMQP_STATUS_OK)
        return statusError(rc, what);
      return done() ? Awaited::kDone : Awaited::kWoken;
    }
  }
}

/// Publishes `m` through `tracker` and waits up to `timeout` for the broker's answer: ok on an
/// ack; kNotFound when the message was returned first (no queue took it; the broker acks a
/// returned message too); kUnavailable on a nack, a timeout or a broken connection (then marked
/// dead); the broker's reason when it closes the channel or the connection. For a connection
/// without consumers: frames of other channels are read and dropped.
Status publishAndAwaitConfirm(Connection& connection, ConfirmTracker& tracker,
                              const BrokerMessage& m, PublishProperties& properties,
                              std::chrono::milliseconds timeout);

}  // namespace orders::rabbitmq
