#include "broker/rabbitmq/amqp/detail/declarer.hpp"

namespace orders::rabbitmq {

ArgumentTable workQueueArguments(QueueType type,
                                 const std::optional<std::string>& deadLetterExchange,
                                 const std::optional<std::string>& deadLetterRoutingKey,
                                 std::optional<std::int64_t> deliveryLimit) {
  ArgumentTable args;
  args.text("x-queue-type", toString(type));
  if (deadLetterExchange) {
    args.text("x-dead-letter-exchange", *deadLetterExchange);
    if (deadLetterRoutingKey) args.text("x-dead-letter-routing-key", *deadLetterRoutingKey);
  }
  if (deliveryLimit) args.number("x-delivery-limit", *deliveryLimit);
  return args;
}

ArgumentTable retryQueueArguments(std::chrono::milliseconds delay, const std::string& workQueue) {
  ArgumentTable args;
  args.text("x-queue-type", "quorum")
      .number("x-message-ttl", delay.count())
      .text("x-dead-letter-exchange", "")
      .text("x-dead-letter-routing-key", workQueue)
      .text("x-dead-letter-strategy", "at-least-once")
      .text("x-overflow", "reject-publish");
  return args;
}

ArgumentTable quorumQueueArguments() {
  ArgumentTable args;
  args.text("x-queue-type", "quorum");
  return args;
}

Result<bool> Declarer::exchange(const std::string& name, const char* type, ArgumentTable args) {
  amqp_exchange_declare(c_.raw(), channel_, bytes(name), amqp_cstring_bytes(type), 0, 1, 0, 0,
                        args.table());
  return outcome("exchange '" + name + "'", "exchange.declare '" + name + "'");
}

Result<bool> Declarer::existingExchange(const std::string& name) {
  amqp_exchange_declare(c_.raw(), channel_, bytes(name), amqp_cstring_bytes("direct"), 1, 1, 0, 0,
                        amqp_empty_table);
  auto found = outcome("exchange '" + name + "'", "exchange.declare '" + name + "'");
  if (!found && found.error().code == ErrorCode::kNotFound) {
    return Error{ErrorCode::kNotFound, "exchange '" + name +
                                           "' does not exist; its owner declares it (" +
                                           found.error().message + ")"};
  }
  return found;
}

Result<bool> Declarer::queue(const std::string& name, ArgumentTable args) {
  amqp_queue_declare(c_.raw(), channel_, bytes(name), 0, 1, 0, 0, args.table());
  return outcome("queue '" + name + "'", "queue.declare '" + name + "'");
}

Result<bool> Declarer::bind(const std::string& queue, const std::string& exchange,
                            const std::string& key) {
  amqp_queue_bind(c_.raw(), channel_, bytes(queue), bytes(exchange), bytes(key), amqp_empty_table);
  return outcome("binding of queue '" + queue + "' to '" + exchange + "' with key '" + key + "'",
                 "queue.bind '" + queue + "' to '" + exchange + "' key '" + key + "'");
}

Result<bool> Declarer::outcome(const std::string& what, const std::string& call) {
  amqp_rpc_reply_t reply = amqp_get_rpc_reply(c_.raw());
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return true;
  Error e = c_.replyError(reply, call, channel_);
  if (e.code != ErrorCode::kConflict) return e;
  if (mode_ == OnConflict::kFail) {
    e.message += " (it exists with other settings)";
    return e;
  }
  if (!c_.usable()) return e;
  // 406 PRECONDITION_FAILED closed the channel (acknowledged by replyError): record the broker's
  // reason, which names the differing argument, and carry on with a new channel.
  conflicts_.push_back(what + " exists with other settings: " + e.message);
  auto reopened = c_.openChannel();
  if (!reopened) return reopened.error();
  channel_ = *reopened;
  return false;
}

}  // namespace orders::rabbitmq
