#pragma once
// `order-events dlq ...`: operations on a consumer's dead-letter queue (docs/consumers.md).
//
//   order-events dlq list    --queue Q [--limit N]              count + one summary line each
//   order-events dlq inspect --queue Q [--limit N]              one JSON object per line
//   order-events dlq replay  --queue Q (--message-id ID | --all) back to the work queue
//   order-events dlq purge   --queue Q                          delete every message
//
// Q is the work queue (order-service.payment-events) or its DLQ (...payment-events.dlq).
// The commands are the command line over operations/dead_letter_operations.hpp, which the
// operator HTTP API (/admin/api/dead-letters) uses too: replays and purges are logged the same
// way, with the shell user as the actor ("cli:<login>").
// Exit codes: 0 done; 1 the broker failed or some messages could not be replayed; 2 bad input
// (a missing or contradictory option, a queue that does not exist, no message with that id).
// The error goes to `err` first. Errors are reported by throwing CLI::RuntimeError(code) from the
// subcommand's callback, which the CLI's usual `catch (const CLI::ParseError& e) { return
// app.exit(e); }` turns into that exit code without printing anything more.
//
// Hooking it up (one line in the CLI's main, after creating the app):
//   orders::tools::addDlqCommands(app);                 // dlq gets its own --amqp-url etc.
//   orders::tools::addDlqCommands(app, &settings);      // or reuse the CLI's connection flags

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "broker/rabbitmq/amqp/connection_settings.hpp"

namespace orders::tools {

/// Adds the `dlq` subcommand and its four subcommands to `app`. Without `sharedConnection`,
/// `dlq` takes the broker connection flags itself (--amqp-url, --amqp-ca-file, ... with their
/// ORDER_EVENTS_* variables, amqp_cli_options.hpp; default amqp://127.0.0.1:5672/%2F as guest);
/// with it, the commands resolve those settings when they run (they must outlive `app`). A bad
/// setting is exit code 2, with the flag named. `out` and `err` must outlive `app` too.
void addDlqCommands(CLI::App& app, const AmqpConnectionSettings* sharedConnection = nullptr,
                    std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace orders::tools
