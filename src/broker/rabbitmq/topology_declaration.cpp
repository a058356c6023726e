#include "broker/rabbitmq/topology_declaration.hpp"

#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"
#include "broker/rabbitmq/amqp/detail/connection.hpp"
#include "broker/rabbitmq/amqp/detail/declarer.hpp"

namespace orders {

using rabbitmq::ArgumentTable;
using rabbitmq::Declarer;

Status declareTopology(const RabbitConnectionOptions& options, const TopologyConfig& topology) {
  auto connection = rabbitmq::openFirstBroker(options);
  if (!connection) return connection.error();
  rabbitmq::Connection& c = **connection;
  auto channel = c.openChannel();
  if (!channel) return channel.error();
  Declarer d(c, *channel, Declarer::OnConflict::kRecord);

  // A fanout exchange whose every message a quorum queue keeps.
  auto keptIn = [&](const std::string& exchange, const std::string& queue) -> Status {
    auto x = d.exchange(exchange, "fanout");
    if (!x) return x.error();
    auto q = d.queue(queue, rabbitmq::quorumQueueArguments());
    if (!q) return q.error();
    if (*x && *q) {
      if (auto b = d.bind(queue, exchange, ""); !b) return b.error();
    }
    return okStatus();
  };

  auto run = [&]() -> Status {
    // Dead letters: anything a consumer rejects or that exceeds its delivery limit.
    if (auto s = keptIn(topology.deadLetterExchange, topology.deadLetterQueue); !s) return s;
    // Unroutable events (no binding for their routing key) go to the alternate exchange and are
    // kept in the unrouted queue instead of being dropped.
    if (auto s = keptIn(topology.alternateExchange, topology.unroutedQueue); !s) return s;

    auto events =
        d.exchange(topology.exchange, "direct",
                   ArgumentTable().text("alternate-exchange", topology.alternateExchange));
    if (!events) return events.error();

    for (const auto& q : topology.queues) {
      auto declared =
          d.queue(q.name, rabbitmq::workQueueArguments(q.type, topology.deadLetterExchange,
                                                       std::nullopt, q.deliveryLimit));
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
    std::string message = "the broker at " + c.url().redacted() +
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
