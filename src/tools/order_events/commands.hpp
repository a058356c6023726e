#pragma once
// `order-events`: the operator CLI for the Order Service's events.
//
//   order-events topology declare  --amqp-url URL --topology config/topology.json
//   order-events topology validate --topology config/topology.json
//   order-events outbox status     --database sqlite:./data/orders.db [--json]
//   order-events outbox events     --database sqlite:./data/orders.db [--partition-key ID] [--json]
//   order-events tail              --amqp-url URL --routing-key K [--routing-key K ...] [--count N]
//   order-events dlq list|inspect|replay|purge ...        (consumer DLQs, see dlq_commands.hpp)
//
// Every option can also come from an environment variable (ORDER_EVENTS_AMQP_URL and the other
// broker connection settings of amqp_cli_options.hpp: ORDER_EVENTS_AMQP_PASSWORD,
// ORDER_EVENTS_AMQP_PASSWORD_FILE, ORDER_EVENTS_AMQP_CA_FILE, ORDER_EVENTS_AMQP_CERT_FILE,
// ORDER_EVENTS_AMQP_KEY_FILE, ORDER_EVENTS_AMQP_TLS_INSECURE; ORDER_EVENTS_TOPOLOGY,
// ORDER_EVENTS_DATABASE, ORDER_EVENTS_PARTITION_KEY, ORDER_EVENTS_ROUTING_KEYS (comma-separated),
// ORDER_EVENTS_COUNT, ORDER_EVENTS_EXCHANGE, ORDER_EVENTS_JSON); `--help` on any command lists
// them. Exit codes: 0 success, 1 the broker or the database failed (unreachable, conflicting
// topology...), 2 bad input (unknown option, malformed URL, invalid topology file, unknown
// routing key, missing database file).

#include <atomic>
#include <functional>
#include <iosfwd>

namespace orders::tools {

/// How a caller running the CLI in-process follows and stops a long-running command (tail).
struct RunControl {
  /// Polled by long-running commands to stop early, e.g. set from a SIGINT handler.
  const std::atomic<bool>* interrupted = nullptr;
  /// Called once by `tail` when its queue is bound and consumed: every matching event published
  /// from then on is printed. On the command's thread; must not block.
  std::function<void()> onTailing;
};

/// Runs the CLI with `argv` in-process. Output goes to `out` (data) and `err` (errors and
/// progress).
int runOrderEvents(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                   const RunControl& control);
/// The same with only `interrupted` (see RunControl).
int runOrderEvents(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                   const std::atomic<bool>* interrupted = nullptr);

}  // namespace orders::tools
