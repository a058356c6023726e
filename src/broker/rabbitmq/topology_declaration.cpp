#include "broker/rabbitmq/topology_declaration.hpp"

#include <vector>

#include "broker/rabbitmq/detail/amqp_fields.hpp"
#include "broker/rabbitmq/detail/connection.hpp"

namespace orders {
namespace {

using rabbitmq::ArgumentTable;
using rabbitmq::bytes;

class Declarer {
 public:
  explicit Declarer(rabbitmq::Connection& c) : c_(c) {}

  Status openChannel() {
    auto ch = c_.openChannel();
    if (!ch) return ch.error();
    channel_ = *ch;
    return okStatus();
  }

  /// false = a conflict was recorded (the caller skips what depends on it); error = give up.
  Result<bool> exchange(const std::string& name, const char* type, ArgumentTable args = {}) {
    amqp_table_t table = args.table();
    amqp_exchange_declare(c_.raw(), channel_, bytes(name), amqp_cstring_bytes(type), 0, 1, 0, 0,
                          table);
    return outcome("exchange '" + name + "'", "exchange.declare '" + name + "'");
  }

  Result<bool> queue(const std::string& name, ArgumentTable args) {
    amqp_table_t table = args.table();
    amqp_queue_declare(c_.raw(), channel_, bytes(name), 0, 1, 0, 0, table);
    return outcome("queue '" + name + "'", "queue.declare '" + name + "'");
  }

  Result<bool> bind(const std::string& queue, const std::string& exchange, const std::string& key) {
    amqp_queue_bind(c_.raw(), channel_, bytes(queue), bytes(exchange), bytes(key),
                    amqp_empty_table);
    return outcome("binding of queue '" + queue + "' to '" + exchange + "' with key '" + key + "'",
                   "queue.bind '" + queue + "'");
  }

  const std::vector<std::string>& conflicts() const { return conflicts_; }

 private:
  Result<bool> outcome(const std::string& what, const std::string& call) {
    amqp_rpc_reply_t reply = amqp_get_rpc_reply(c_.raw());
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return true;
    Error e = c_.replyError(reply, call, channel_);
    if (e.code != ErrorCode::kConflict || !c_.usable()) return e;
    // 406 PRECONDITION_FAILED closed the channel (acknowledged by replyError): record the
    // broker's reason, which names the differing argument, and carry on with a new channel so
    // one run reports every conflict.
    conflicts_.push_back(what + " exists with other settings: " + e.message);
    if (auto s = openChannel(); !s) return s.error();
    return false;
  }

  rabbitmq::Connection& c_;
  amqp_channel_t channel_ = 0;
  std::vector<std::string> conflicts_;
};

}  // namespace

Status declareTopology(const RabbitConnectionOptions& options, const TopologyConfig& topology) {
  auto url = AmqpUrl::parse(options.url);
  if (!url) return url.error();
  auto connection = rabbitmq::Connection::open(*url, options);
  if (!connection) return connection.error();
  rabbitmq::Connection& c = **connection;
  Declarer d(c);
  if (auto s = d.openChannel(); !s) return s;

  auto run = [&]() -> Status {
    // Dead letters: anything a consumer rejects or that exceeds its delivery limit.
    auto dlx = d.exchange(topology.deadLetterExchange, "fanout");
    if (!dlx) return dlx.error();
    auto dlq = d.queue(topology.deadLetterQueue, ArgumentTable().text("x-queue-type", "quorum"));
    if (!dlq) return dlq.error();
    if (*dlx && *dlq) {
      if (auto b = d.bind(topology.deadLetterQueue, topology.deadLetterExchange, ""); !b)
        return b.error();
    }

    // Unroutable events (no binding for their routing key) go to the alternate exchange and are
    // kept in the unrouted queue instead of being dropped.
    auto ae = d.exchange(topology.alternateExchange, "fanout");
    if (!ae) return ae.error();
    auto unrouted = d.queue(topology.unroutedQueue, ArgumentTable().text("x-queue-type", "quorum"));
    if (!unrouted) return unrouted.error();
    if (*ae && *unrouted) {
      if (auto b = d.bind(topology.unroutedQueue, topology.alternateExchange, ""); !b)
        return b.error();
    }

    auto events =
        d.exchange(topology.exchange, "direct",
                   ArgumentTable().text("alternate-exchange", topology.alternateExchange));
    if (!events) return events.error();

    for (const auto& q : topology.queues) {
      ArgumentTable args;
      args.text("x-queue-type", toString(q.type));
      args.text("x-dead-letter-exchange", topology.deadLetterExchange);
      if (q.deliveryLimit) args.number("x-delivery-limit", *q.deliveryLimit);
      auto declared = d.queue(q.name, std::move(args));
      if (!declared) return declared.error();
      if (!*declared || !*events) continue;
      for (const auto& key : q.routingKeys) {
        if (auto b = d.bind(q.name, topology.exchange, key); !b) return b.error();
      }
    }
    return okStatus();
  };

  Status status = run();
  c.close();
  if (!status) return status;
  if (!d.conflicts().empty()) {
    std::string message = "the broker at " + url->redacted() +
                          " has a topology that conflicts with ours (nothing was changed; delete "
                          "or migrate these, or fix the topology file): ";
    for (std::size_t i = 0; i < d.conflicts().size(); ++i)
      message += (i == 0 ? "" : "; ") + d.conflicts()[i];
    return Error{ErrorCode::kConflict, message};
  }
  return okStatus();
}

Status declareTopology(const std::string& amqpUrl, const TopologyConfig& topology) {
  RabbitConnectionOptions options;
  options.url = amqpUrl;
  options.connectionName = "order-service topology";
  return declareTopology(options, topology);
}

}  // namespace orders
