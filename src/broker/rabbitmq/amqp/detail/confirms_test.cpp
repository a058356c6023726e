// The confirm tracker without a broker, fed synthetic frames as rabbitmq-c decodes them: single
// and multiple acks, nacks, a basic.return with its content before the ack, frames of other
// channels, and a method inside returned content. And the framing of basic.publish into a buffer
// (encodePublish), byte for byte against what amqp_basic_publish writes to a socket.

#include "broker/rabbitmq/amqp/detail/confirms.hpp"

#include <amqp_tcp_socket.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace orders::rabbitmq {
namespace {

constexpr amqp_channel_t kChannel = 2;

/// Owns the decoded structs a frame points to, as rabbitmq-c's buffers would.
class Frames {
 public:
  amqp_frame_t ack(std::uint64_t tag, bool multiple, amqp_channel_t channel = kChannel) {
    ack_ = amqp_basic_ack_t{tag, multiple ? amqp_boolean_t(1) : amqp_boolean_t(0)};
    return method(channel, AMQP_BASIC_ACK_METHOD, &ack_);
  }
  amqp_frame_t nack(std::uint64_t tag, bool multiple, amqp_channel_t channel = kChannel) {
    nack_ = amqp_basic_nack_t{tag, multiple ? amqp_boolean_t(1) : amqp_boolean_t(0), 0};
    return method(channel, AMQP_BASIC_NACK_METHOD, &nack_);
  }
  amqp_frame_t basicReturn(std::uint16_t code, const char* text, const char* routingKey,
                           amqp_channel_t channel = kChannel) {
    return_ = amqp_basic_return_t{code, amqp_cstring_bytes(text), amqp_cstring_bytes(""),
                                  amqp_cstring_bytes(routingKey)};
    return method(channel, AMQP_BASIC_RETURN_METHOD, &return_);
  }
  amqp_frame_t channelClose(amqp_channel_t channel = kChannel) {
    close_ = amqp_channel_close_t{404, amqp_cstring_bytes("NOT_FOUND"), 60, 40};
    return method(channel, AMQP_CHANNEL_CLOSE_METHOD, &close_);
  }
  amqp_frame_t header(std::uint64_t bodySize, const char* messageId,
                      amqp_channel_t channel = kChannel) {
    properties_ = amqp_basic_properties_t{};
    if (messageId != nullptr) {
      properties_._flags = AMQP_BASIC_MESSAGE_ID_FLAG;
      properties_.message_id = amqp_cstring_bytes(messageId);
    }
    amqp_frame_t f{};
    f.frame_type = AMQP_FRAME_HEADER;
    f.channel = channel;
    f.payload.properties.class_id = AMQP_BASIC_CLASS;
    f.payload.properties.body_size = bodySize;
    f.payload.properties.decoded = &properties_;
    return f;
  }
  amqp_frame_t body(const std::string& part, amqp_channel_t channel = kChannel) {
    body_ = part;
    amqp_frame_t f{};
    f.frame_type = AMQP_FRAME_BODY;
    f.channel = channel;
    f.payload.body_fragment = amqp_bytes_t{body_.size(), body_.data()};
    return f;
  }

 private:
  static amqp_frame_t method(amqp_channel_t channel, amqp_method_number_t id, void* decoded) {
    amqp_frame_t f{};
    f.frame_type = AMQP_FRAME_METHOD;
    f.channel = channel;
    f.payload.method.id = id;
    f.payload.method.decoded = decoded;
    return f;
  }

  amqp_basic_ack_t ack_{};
  amqp_basic_nack_t nack_{};
  amqp_basic_return_t return_{};
  amqp_channel_close_t close_{};
  amqp_basic_properties_t properties_{};
  std::string body_;
};

class ConfirmTrackerTest : public ::testing::Test {
 protected:
  ConfirmTracker::Frame feed(const amqp_frame_t& frame) {
    return tracker_.onFrame(frame, confirms_, returns_);
  }

  Frames frames_;
  ConfirmTracker tracker_{kChannel};
  std::vector<BrokerConfirm> confirms_;
  std::vector<BrokerReturn> returns_;
};

TEST_F(ConfirmTrackerTest, ReportsSingleAndMultipleAcksAndNacksInOrder) {
  EXPECT_EQ(feed(frames_.ack(1, false)), ConfirmTracker::Frame::kTaken);
  EXPECT_EQ(feed(frames_.ack(5, true)), ConfirmTracker::Frame::kTaken);
  EXPECT_EQ(feed(frames_.nack(6, false)), ConfirmTracker::Frame::kTaken);
  EXPECT_EQ(feed(frames_.nack(9, true)), ConfirmTracker::Frame::kTaken);
  ASSERT_EQ(confirms_.size(), 4u);
  EXPECT_TRUE(confirms_[0].ack && !confirms_[0].multiple && confirms_[0].deliveryTag == 1);
  EXPECT_TRUE(confirms_[1].ack && confirms_[1].multiple && confirms_[1].deliveryTag == 5);
  EXPECT_TRUE(!confirms_[2].ack && !confirms_[2].multiple && confirms_[2].deliveryTag == 6);
  EXPECT_TRUE(!confirms_[3].ack && confirms_[3].multiple && confirms_[3].deliveryTag == 9);
  EXPECT_TRUE(returns_.empty());
}

TEST_F(ConfirmTrackerTest, AMultipleAckCoversEveryTagUpToItsOwn) {
  const BrokerConfirm multiple{5, true, true};
  EXPECT_TRUE(multiple.covers(1));
  EXPECT_TRUE(multiple.covers(5));
  EXPECT_FALSE(multiple.covers(6));
  const BrokerConfirm single{5, false, true};
  EXPECT_FALSE(single.covers(4));
  EXPECT_TRUE(single.covers(5));
}

TEST_F(ConfirmTrackerTest, AReturnIsReportedWithItsMessageIdOnceItsContentArrivedBeforeTheAck) {
  EXPECT_EQ(feed(frames_.basicReturn(312, "NO_ROUTE", "no-such-queue")),
            ConfirmTracker::Frame::kTaken);
  EXPECT_EQ(feed(frames_.header(7, "msg-returned")), ConfirmTracker::Frame::kTaken);
  EXPECT_EQ(feed(frames_.body("{\"a\"")), ConfirmTracker::Frame::kTaken);
  EXPECT_TRUE(returns_.empty()) << "the body is not complete yet";
  EXPECT_EQ(feed(frames_.body(":1}")), ConfirmTracker::Frame::kTaken);
  ASSERT_EQ(returns_.size(), 1u);
  EXPECT_EQ(returns_[0].messageId, "msg-returned");
  EXPECT_EQ(returns_[0].replyCode, 312);
  EXPECT_EQ(returns_[0].replyText, "NO_ROUTE");
  EXPECT_EQ(returns_[0].routingKey, "no-such-queue");
  EXPECT_TRUE(confirms_.empty());
  EXPECT_EQ(feed(frames_.ack(1, false)), ConfirmTracker::Frame::kTaken);
  ASSERT_EQ(confirms_.size(), 1u);
  EXPECT_TRUE(confirms_[0].ack);
}

TEST_F(ConfirmTrackerTest, AReturnWithoutBodyIsCompleteWithItsHeader) {
  feed(frames_.basicReturn(312, "NO_ROUTE", "q"));
  EXPECT_EQ(feed(frames_.header(0, nullptr)), ConfirmTracker::Frame::kTaken);
  ASSERT_EQ(returns_.size(), 1u);
  EXPECT_EQ(returns_[0].messageId, "");
}

TEST_F(ConfirmTrackerTest, FramesOfOtherChannelsAreLeftToTheCaller) {
  EXPECT_EQ(feed(frames_.ack(1, false, 1)), ConfirmTracker::Frame::kOther);
  // Content of a delivery on the consuming channel, interleaved with a return on ours.
  feed(frames_.basicReturn(312, "NO_ROUTE", "q"));
  EXPECT_EQ(feed(frames_.header(3, "delivered", 1)), ConfirmTracker::Frame::kOther);
  EXPECT_EQ(feed(frames_.header(2, "ours")), ConfirmTracker::Frame::kTaken);
  EXPECT_EQ(feed(frames_.body("abc", 1)), ConfirmTracker::Frame::kOther);
  EXPECT_EQ(feed(frames_.body("{}")), ConfirmTracker::Frame::kTaken);
  ASSERT_EQ(returns_.size(), 1u);
  EXPECT_EQ(returns_[0].messageId, "ours");
  EXPECT_TRUE(confirms_.empty());
  // channel.close is the caller's too (it knows what the channel was for).
  EXPECT_EQ(feed(frames_.channelClose()), ConfirmTracker::Frame::kOther);
}

TEST_F(ConfirmTrackerTest, AMethodInsideReturnedContentIsAProtocolError) {
  feed(frames_.basicReturn(312, "NO_ROUTE", "q"));
  feed(frames_.header(10, "m"));
  EXPECT_EQ(feed(frames_.ack(1, false)), ConfirmTracker::Frame::kProtocolError);
}

TEST_F(ConfirmTrackerTest, ResetStartsTheTagsAgainAndForgetsAReturnInProgress) {
  EXPECT_EQ(tracker_.nextTag(), 1u);
  feed(frames_.basicReturn(312, "NO_ROUTE", "q"));
  tracker_.reset(7);
  EXPECT_EQ(tracker_.channel(), 7);
  EXPECT_EQ(tracker_.nextTag(), 1u);
  EXPECT_EQ(feed(frames_.ack(3, false, 7)), ConfirmTracker::Frame::kTaken);
  EXPECT_EQ(feed(frames_.ack(3, false)), ConfirmTracker::Frame::kOther);
}

// ---------------------------------------------------------------------------------------------
// Framing

/// Everything that can be read from `fd` until the peer closes it.
std::string readToEnd(int fd) {
  std::string all;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    all.append(chunk, static_cast<std::size_t>(n));
  }
  return all;
}

/// The frame_max of a new rabbitmq-c connection (the one bytesOfBasicPublish frames with).
std::size_t initialFrameMax() {
  amqp_connection_state_t conn = amqp_new_connection();
  const int frameMax = amqp_get_frame_max(conn);
  amqp_destroy_connection(conn);
  return static_cast<std::size_t>(frameMax);
}

/// The bytes amqp_basic_publish writes for `messages` on channel kChannel (frame_max of a new
/// connection), captured through a socketpair (no broker needed).
std::string bytesOfBasicPublish(const std::vector<BrokerMessage>& messages) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  std::string written;
  std::thread reader([&] { written = readToEnd(fds[1]); });
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  amqp_tcp_socket_set_sockfd(socket, fds[0]);
  ConfirmTracker tracker(kChannel);
  PublishProperties properties;
  for (const auto& m : messages) {
    std::uint64_t tag = 0;
    EXPECT_EQ(tracker.publish(conn, m, properties, tag), AMQP_STATUS_OK);
  }
  amqp_destroy_connection(conn);  // closes fds[0]: the reader sees the end
  reader.join();
  ::close(fds[1]);
  return written;
}

BrokerMessage relayLikeMessage(std::size_t bodySize, std::string correlationId = "corr-1") {
  BrokerMessage m;
  m.exchange = "order.events";
  m.routingKey = "OrderCreatedEvent";
  m.mandatory = true;
  m.persistent = true;
  m.contentType = "application/json";
  m.messageId = "msg-3fa85f64-5717-4562-b3fc-2c963f66afa6";
  m.type = "OrderCreatedEvent";
  m.appId = "OrderService";
  m.correlationId = std::move(correlationId);
  m.timestampSeconds = 1700000000;
  m.headers = {{"messageVersion", std::string("1.0")},
               {"partitionKey", std::string("3fa85f64-5717-4562-b3fc-2c963f66afa6")},
               {"sequence", std::int64_t{3}}};
  m.body.resize(bodySize);
  for (std::size_t i = 0; i < bodySize; ++i) m.body[i] = static_cast<char>('a' + i % 26);
  return m;
}

std::string encodeAll(const std::vector<BrokerMessage>& messages, std::size_t frameMax,
                      std::vector<std::uint64_t>* tags = nullptr) {
  ConfirmTracker tracker(kChannel);
  PublishProperties properties;
  std::string out;
  for (const auto& m : messages) {
    std::uint64_t tag = 0;
    EXPECT_EQ(tracker.encodePublish(m, properties, frameMax, out, tag), AMQP_STATUS_OK);
    if (tags != nullptr) tags->push_back(tag);
  }
  return out;
}

TEST(EncodePublish, WritesExactlyTheBytesOfAmqpBasicPublish) {
  const std::vector<BrokerMessage> messages = {relayLikeMessage(803)};
  const std::string expected = bytesOfBasicPublish(messages);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(encodeAll(messages, initialFrameMax()), expected);
}

TEST(EncodePublish, ABurstIsTheConcatenationOfItsPublishesWithConsecutiveTags) {
  std::vector<BrokerMessage> messages;
  for (int i = 0; i < 30; ++i) {
    auto m = relayLikeMessage(100 + 37 * static_cast<std::size_t>(i), i % 2 ? "" : "corr-x");
    m.headers[2].value = std::int64_t{i};
    if (i == 7) m.mandatory = false;
    messages.push_back(std::move(m));
  }
  std::vector<std::uint64_t> tags;
  EXPECT_EQ(encodeAll(messages, initialFrameMax(), &tags), bytesOfBasicPublish(messages));
  ASSERT_EQ(tags.size(), 30u);
  for (std::size_t i = 0; i < tags.size(); ++i) EXPECT_EQ(tags[i], i + 1);
}

TEST(EncodePublish, SplitsABodyLargerThanAFrameLikeAmqpBasicPublish) {
  // frame_max - 8 body bytes per frame: one exactly full, one just over, one of several frames.
  const std::size_t frameMax = initialFrameMax();
  const std::vector<BrokerMessage> messages = {
      relayLikeMessage(frameMax - 8), relayLikeMessage(frameMax - 7),
      relayLikeMessage(3 * frameMax + 5), relayLikeMessage(0)};
  const std::string expected = bytesOfBasicPublish(messages);
  EXPECT_GT(expected.size(), 5 * frameMax);
  EXPECT_EQ(encodeAll(messages, frameMax), expected);
}

TEST(EncodePublish, ABareMessageWithoutPropertiesOrHeaders) {
  BrokerMessage m;
  m.exchange = "";
  m.routingKey = "q";
  m.body = "{}";
  EXPECT_EQ(encodeAll({m}, initialFrameMax()), bytesOfBasicPublish({m}));
}

TEST(EncodePublish, AnArgumentTheProtocolCannotCarryLeavesTheBufferAndTheTagsAlone) {
  ConfirmTracker tracker(kChannel);
  PublishProperties properties;
  std::string out = "before";
  BrokerMessage m = relayLikeMessage(10);
  m.routingKey.assign(300, 'k');  // a shortstr holds at most 255 bytes
  std::uint64_t tag = 0;
  EXPECT_NE(tracker.encodePublish(m, properties, 131072, out, tag), AMQP_STATUS_OK);
  EXPECT_EQ(out, "before");
  EXPECT_EQ(tracker.nextTag(), 1u);
}

TEST(WriteAll, WritesEverythingThroughAFullNonBlockingSocket) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ASSERT_EQ(::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK), 0);
  std::string data(8 << 20, 'x');  // far more than the socket buffer
  for (std::size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i / 4096);
  std::string received;
  std::thread reader([&] { received = readToEnd(fds[1]); });
  EXPECT_TRUE(writeAll(fds[0], data).ok());
  ::close(fds[0]);
  reader.join();
  ::close(fds[1]);
  EXPECT_EQ(received, data);
}

TEST(WriteAll, AShutDownSocketIsAnError) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::shutdown(fds[0], SHUT_RDWR);
  const auto written = writeAll(fds[0], "abc");
  EXPECT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kUnavailable);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace orders::rabbitmq
