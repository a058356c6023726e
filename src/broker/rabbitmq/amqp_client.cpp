#include "broker/rabbitmq/amqp_client.hpp"

#include <sys/time.h>

#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"
#include "broker/rabbitmq/amqp/detail/connection.hpp"
#include "broker/rabbitmq/amqp/detail/declarer.hpp"

namespace orders {
namespace {

using rabbitmq::bytes;
using rabbitmq::str;

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

const MessageHeader* Delivery::header(const std::string& name) const {
  for (const auto& h : headers)
    if (h.name == name) return &h;
  return nullptr;
}

struct AmqpClient::Impl {
  std::unique_ptr<rabbitmq::Connection> connection;
  amqp_channel_t channel = 0;

  amqp_connection_state_t raw() { return connection->raw(); }

  /// A usable channel: reopens one after the broker closed the previous over an error.
  Status ensureChannel() {
    if (!connection->usable())
      return Error{ErrorCode::kUnavailable,
                   "connection to " + connection->url().redacted() + " is closed"};
    if (channel != 0) return okStatus();
    auto ch = connection->openChannel();
    if (!ch) return ch.error();
    channel = *ch;
    return okStatus();
  }

  Error fail(std::string_view what) {
    Error e = connection->replyError(amqp_get_rpc_reply(raw()), what, channel);
    channel = 0;  // server exceptions close the channel; library errors kill the connection
    return e;
  }
};

AmqpClient::AmqpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AmqpClient::~AmqpClient() {
  if (impl_ && impl_->connection) impl_->connection->close();
}

Result<std::unique_ptr<AmqpClient>> AmqpClient::connect(const RabbitConnectionOptions& options) {
  auto connection = rabbitmq::openFirstBroker(options);
  if (!connection) return connection.error();
  auto impl = std::make_unique<Impl>();
  impl->connection = std::move(*connection);
  if (auto s = impl->ensureChannel(); !s) return s.error();
  return std::unique_ptr<AmqpClient>(new AmqpClient(std::move(impl)));
}

Result<std::unique_ptr<AmqpClient>> AmqpClient::connect(const std::string& amqpUrl) {
  RabbitConnectionOptions options;
  options.url = amqpUrl;
  options.connectionName = "order-events client";
  return connect(options);
}

Result<std::string> AmqpClient::declareTemporaryQueue(const std::string& exchange,
                                                      const std::vector<std::string>& keys) {
  if (auto s = impl_->ensureChannel(); !s) return s.error();
  auto* ok = amqp_queue_declare(impl_->raw(), impl_->channel, amqp_empty_bytes, 0, 0, 1, 1,
                                amqp_empty_table);
  if (ok == nullptr) return impl_->fail("queue.declare (temporary)");
  std::string name = str(ok->queue);
  for (const auto& key : keys) {
    if (auto s = bind(name, exchange, key); !s) return s.error();
  }
  return name;
}

Status AmqpClient::declareQueue(const std::string& name, QueueType type,
                                const std::string& deadLetterExchange) {
  if (auto s = impl_->ensureChannel(); !s) return s;
  rabbitmq::ArgumentTable arguments = rabbitmq::workQueueArguments(
      type,
      deadLetterExchange.empty() ? std::nullopt : std::optional<std::string>(deadLetterExchange),
      std::nullopt, std::nullopt);
  if (amqp_queue_declare(impl_->raw(), impl_->channel, bytes(name), 0, 1, 0, 0,
                         arguments.table()) == nullptr)
    return impl_->fail("queue.declare '" + name + "'");
  return okStatus();
}

Status AmqpClient::bind(const std::string& queue, const std::string& exchange,
                        const std::string& key) {
  if (auto s = impl_->ensureChannel(); !s) return s;
  if (amqp_queue_bind(impl_->raw(), impl_->channel, bytes(queue), bytes(exchange), bytes(key),
                      amqp_empty_table) == nullptr)
    return impl_->fail("queue.bind '" + queue + "' to '" + exchange + "'");
  return okStatus();
}

Status AmqpClient::consume(const std::string& queue, bool autoAck, std::uint16_t prefetch) {
  if (auto s = impl_->ensureChannel(); !s) return s;
  if (amqp_basic_qos(impl_->raw(), impl_->channel, 0, prefetch, 0) == nullptr)
    return impl_->fail("basic.qos");
  if (amqp_basic_consume(impl_->raw(), impl_->channel, bytes(queue), amqp_empty_bytes, 0,
                         autoAck ? 1 : 0, 0, amqp_empty_table) == nullptr)
    return impl_->fail("basic.consume '" + queue + "'");
  return okStatus();
}

Result<std::optional<Delivery>> AmqpClient::next(std::chrono::milliseconds timeout) {
  if (auto s = impl_->ensureChannel(); !s) return s.error();
  amqp_maybe_release_buffers(impl_->raw());
  amqp_envelope_t envelope;
  timeval tv = toTimeval(timeout);
  amqp_rpc_reply_t reply = amqp_consume_message(impl_->raw(), &envelope, &tv, 0);
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
    Delivery d;
    d.exchange = str(envelope.exchange);
    d.routingKey = str(envelope.routing_key);
    d.deliveryTag = envelope.delivery_tag;
    d.redelivered = envelope.redelivered != 0;
    d.body = str(envelope.message.body);
    d.deliveryMode = rabbitmq::readProperties(envelope.message.properties, d);
    amqp_destroy_envelope(&envelope);
    return std::optional<Delivery>(std::move(d));
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      reply.library_error == AMQP_STATUS_TIMEOUT)
    return std::optional<Delivery>();
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    // Something other than a delivery arrived: a channel/connection close, a consumer cancel...
    amqp_frame_t frame;
    timeval zero{0, 0};
    if (amqp_simple_wait_frame_noblock(impl_->raw(), &frame, &zero) == AMQP_STATUS_OK &&
        frame.frame_type == AMQP_FRAME_METHOD) {
      const auto id = frame.payload.method.id;
      if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
        Error e =
            impl_->connection->closeFrameError(frame.payload.method, "consume", frame.channel);
        impl_->channel = 0;
        return e;
      }
      if (id == AMQP_BASIC_CANCEL_METHOD)
        return Error{ErrorCode::kUnavailable, "the broker cancelled the consumer (queue deleted?)"};
    }
    return std::optional<Delivery>();  // an ack/heartbeat-like frame: nothing for the caller
  }
  Error e = impl_->connection->replyError(reply, "consume", impl_->channel);
  impl_->channel = 0;
  return e;
}

Status AmqpClient::ack(std::uint64_t deliveryTag) {
  if (auto s = impl_->ensureChannel(); !s) return s;
  const int rc = amqp_basic_ack(impl_->raw(), impl_->channel, deliveryTag, 0);
  if (rc != AMQP_STATUS_OK) return rabbitmq::statusError(rc, "basic.ack");
  return okStatus();
}

Status AmqpClient::reject(std::uint64_t deliveryTag, bool requeue) {
  if (auto s = impl_->ensureChannel(); !s) return s;
  const int rc = amqp_basic_reject(impl_->raw(), impl_->channel, deliveryTag, requeue ? 1 : 0);
  if (rc != AMQP_STATUS_OK) return rabbitmq::statusError(rc, "basic.reject");
  return okStatus();
}

Result<std::optional<Delivery>> AmqpClient::get(const std::string& queue) {
  if (auto s = impl_->ensureChannel(); !s) return s.error();
  amqp_maybe_release_buffers(impl_->raw());
  amqp_rpc_reply_t reply = amqp_basic_get(impl_->raw(), impl_->channel, bytes(queue), 1);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    Error e = impl_->connection->replyError(reply, "basic.get '" + queue + "'", impl_->channel);
    impl_->channel = 0;
    return e;
  }
  if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return std::optional<Delivery>();
  auto* ok = static_cast<amqp_basic_get_ok_t*>(reply.reply.decoded);
  Delivery d;
  d.exchange = str(ok->exchange);
  d.routingKey = str(ok->routing_key);
  d.deliveryTag = ok->delivery_tag;
  d.redelivered = ok->redelivered != 0;
  amqp_message_t message;
  amqp_rpc_reply_t read = amqp_read_message(impl_->raw(), impl_->channel, &message, 0);
  if (read.reply_type != AMQP_RESPONSE_NORMAL) {
    Error e = impl_->connection->replyError(read, "basic.get content", impl_->channel);
    impl_->channel = 0;
    return e;
  }
  d.body = str(message.body);
  d.deliveryMode = rabbitmq::readProperties(message.properties, d);
  amqp_destroy_message(&message);
  return std::optional<Delivery>(std::move(d));
}

Result<std::int64_t> AmqpClient::messageCount(const std::string& queue) {
  if (auto s = impl_->ensureChannel(); !s) return s.error();
  auto* ok =
      amqp_queue_declare(impl_->raw(), impl_->channel, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
  if (ok == nullptr) return impl_->fail("queue.declare (passive) '" + queue + "'");
  return static_cast<std::int64_t>(ok->message_count);
}

Result<std::int64_t> AmqpClient::purge(const std::string& queue) {
  if (auto s = impl_->ensureChannel(); !s) return s.error();
  auto* ok = amqp_queue_purge(impl_->raw(), impl_->channel, bytes(queue));
  if (ok == nullptr) return impl_->fail("queue.purge '" + queue + "'");
  return static_cast<std::int64_t>(ok->message_count);
}

Status AmqpClient::deleteQueue(const std::string& queue) {
  if (auto s = impl_->ensureChannel(); !s) return s;
  if (amqp_queue_delete(impl_->raw(), impl_->channel, bytes(queue), 0, 0) == nullptr)
    return impl_->fail("queue.delete '" + queue + "'");
  return okStatus();
}

Status AmqpClient::deleteExchange(const std::string& exchange) {
  if (auto s = impl_->ensureChannel(); !s) return s;
  if (amqp_exchange_delete(impl_->raw(), impl_->channel, bytes(exchange), 0) == nullptr)
    return impl_->fail("exchange.delete '" + exchange + "'");
  return okStatus();
}

Status AmqpClient::publish(const BrokerMessage& m) {
  if (auto s = impl_->ensureChannel(); !s) return s;
  rabbitmq::PublishProperties props(m);
  const int rc = amqp_basic_publish(impl_->raw(), impl_->channel, bytes(m.exchange),
                                    bytes(m.routingKey), 0, 0, props.get(), bytes(m.body));
  if (rc != AMQP_STATUS_OK) return rabbitmq::statusError(rc, "basic.publish");
  return okStatus();
}

}  // namespace orders
