#pragma once
// The Order Service's topology shape (broker/topology.hpp) under a test's own names, for the
// component tests that declare it on the shared broker. Header-only: "support/rmq_topology.hpp".
//
//   auto t = prefixedTopology("relay1", {"OrderCreatedEvent"});
//   // relay1.events -> relay1.consumer, alternate exchange relay1.unrouted, dead letters
//   relay1.dlx

#include <string>
#include <utility>
#include <vector>

#include "broker/topology.hpp"

namespace orders::testing {

/// Exchange <prefix>.events, alternate exchange and unrouted queue <prefix>.unrouted, dead-letter
/// exchange <prefix>.dlx and queue <prefix>.dlq; no consumer queues.
inline TopologyConfig prefixedTopology(const std::string& prefix) {
  TopologyConfig t;
  t.exchange = prefix + ".events";
  t.alternateExchange = prefix + ".unrouted";
  t.unroutedQueue = prefix + ".unrouted";
  t.deadLetterExchange = prefix + ".dlx";
  t.deadLetterQueue = prefix + ".dlq";
  return t;
}

/// The same with one quorum consumer queue, <prefix>.consumer, bound to `routingKeys`.
inline TopologyConfig prefixedTopology(const std::string& prefix,
                                       std::vector<std::string> routingKeys) {
  TopologyConfig t = prefixedTopology(prefix);
  t.queues.push_back({prefix + ".consumer", QueueType::kQuorum, std::move(routingKeys), {}});
  return t;
}

}  // namespace orders::testing
