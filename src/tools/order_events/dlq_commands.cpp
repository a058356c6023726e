#include "dlq_commands.hpp"

#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "amqp_cli_options.hpp"
#include "operations/dead_letter_operations.hpp"

namespace orders::tools {
namespace {

constexpr int kFailed = 1;
constexpr int kBadInput = 2;

struct DlqArgs {
  AmqpConnectionSettings connection;
  const AmqpConnectionSettings* sharedConnection = nullptr;
  std::string queue;
  std::size_t limit = 0;
  std::string messageId;
  bool all = false;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;

  const AmqpConnectionSettings& settings() const {
    return sharedConnection != nullptr ? *sharedConnection : connection;
  }
};

[[noreturn]] void fail(const DlqArgs& args, const std::string& command, int code,
                       const std::string& message) {
  *args.err << "order-events dlq " << command << ": " << message << "\n";
  throw CLI::RuntimeError(code);
}

int codeFor(const Error& e) {
  return e.code == ErrorCode::kNotFound || e.code == ErrorCode::kInvalidArgument ? kBadInput
                                                                                 : kFailed;
}

/// Who acts, for the audit log of replays and purges: the login of the shell user.
std::string actor() {
  for (const char* name : {"SUDO_USER", "USER", "LOGNAME"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0')
      return std::string("cli:") + value;
  }
  return "cli:uid-" + std::to_string(getuid());
}

operations::DeadLetterOperations operationsFor(const DlqArgs& args, const std::string& command) {
  if (args.queue.empty()) fail(args, command, kBadInput, "--queue is required");
  auto options = resolveConnectionSettings(args.settings(), "ORDER_EVENTS_");
  if (!options) fail(args, command, kBadInput, options.error().message);
  for (const auto& warning : connectionWarnings(*options))
    *args.err << "order-events dlq " << command << ": warning: " << warning << "\n";
  options->connectionName = "order-events dlq";
  return operations::DeadLetterOperations(*options);
}

std::string oneLine(std::string s, std::size_t max) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

void list(const DlqArgs& args) {
  const auto ops = operationsFor(args, "list");
  auto listing = ops.list(args.queue, args.limit);
  if (!listing) fail(args, "list", codeFor(listing.error()), listing.error().message);
  *args.out << listing->dlq << ": " << listing->count << " message(s)\n";
  for (const auto& l : listing->letters) {
    *args.out << (l.failedAt.empty() ? "-" : l.failedAt) << "  "
              << (l.messageType.empty() ? "-" : l.messageType) << "  "
              << (l.messageId.empty() ? "-" : l.messageId) << "  attempts=" << l.attempts << "  "
              << (l.failureKind.empty() ? "-" : l.failureKind) << ": "
              << oneLine(l.failureReason, 200) << "\n";
  }
  if (listing->truncated) {
    *args.out << "... and " << (listing->count - static_cast<std::int64_t>(listing->letters.size()))
              << " more (--limit)\n";
  }
}

void inspect(const DlqArgs& args) {
  const auto ops = operationsFor(args, "inspect");
  auto listing = ops.list(args.queue, args.limit);
  if (!listing) fail(args, "inspect", codeFor(listing.error()), listing.error().message);
  // Dead letters hold whatever was sent: show invalid UTF-8 as U+FFFD, never throw.
  for (const auto& l : listing->letters) {
    *args.out << l.toJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
}

void replay(const DlqArgs& args) {
  if (args.all == !args.messageId.empty()) {
    fail(args, "replay", kBadInput, "give exactly one of --message-id ID and --all");
  }
  const auto ops = operationsFor(args, "replay");
  operations::Selection selection;
  selection.all = args.all;
  if (!args.all) selection.messageIds.insert(args.messageId);
  auto outcome = ops.replay(args.queue, selection, actor());
  if (!outcome) fail(args, "replay", codeFor(outcome.error()), outcome.error().message);
  for (const auto& problem : outcome->problems)
    *args.err << "order-events dlq replay: " << problem << "\n";
  *args.out << "replayed " << outcome->replayed.size() << " message(s) from " << outcome->dlq
            << " to their work queue\n";
  if (!args.all && outcome->replayed.empty() && outcome->problems.empty()) {
    fail(args, "replay", kBadInput, "no message with id " + args.messageId + " in " + outcome->dlq);
  }
  if (!outcome->problems.empty()) throw CLI::RuntimeError(kFailed);
}

void purge(const DlqArgs& args) {
  const auto ops = operationsFor(args, "purge");
  auto purged = ops.purge(args.queue, actor());
  if (!purged) fail(args, "purge", codeFor(purged.error()), purged.error().message);
  *args.out << "purged " << *purged << " message(s) from "
            << operations::deadLetterQueueOf(args.queue) << "\n";
}

}  // namespace

void addDlqCommands(CLI::App& app, const AmqpConnectionSettings* sharedConnection,
                    std::ostream& out, std::ostream& err) {
  auto args = std::make_shared<DlqArgs>();
  args->sharedConnection = sharedConnection;
  args->out = &out;
  args->err = &err;

  CLI::App* dlq = app.add_subcommand(
      "dlq", "Dead-letter queues of the consumers: list, inspect, replay, purge");
  dlq->require_subcommand(1);
  if (sharedConnection == nullptr)
    addAmqpConnectionOptions(*dlq, args->connection, "ORDER_EVENTS_");
  const char* queueHelp = "The work queue (e.g. order-service.payment-events) or its .dlq";

  CLI::App* listCmd = dlq->add_subcommand("list", "How many messages, and a line about each");
  listCmd->add_option("--queue", args->queue, queueHelp);
  listCmd->add_option("--limit", args->limit, "Most summary lines")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000}));
  listCmd->preparse_callback([args](std::size_t) { args->limit = 20; });
  listCmd->callback([args] { list(*args); });

  CLI::App* inspectCmd =
      dlq->add_subcommand("inspect", "The messages as JSON lines with their failure headers");
  inspectCmd->add_option("--queue", args->queue, queueHelp);
  inspectCmd->add_option("--limit", args->limit, "Most messages")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  inspectCmd->preparse_callback([args](std::size_t) { args->limit = 10; });
  inspectCmd->callback([args] { inspect(*args); });

  CLI::App* replayCmd = dlq->add_subcommand(
      "replay", "Send messages back to their work queue (confirmed, then removed from the DLQ)");
  replayCmd->add_option("--queue", args->queue, queueHelp);
  replayCmd->add_option("--message-id", args->messageId, "Only this message (every copy of it)");
  replayCmd->add_flag("--all", args->all, "Every message in the DLQ");
  replayCmd->callback([args] { replay(*args); });

  CLI::App* purgeCmd = dlq->add_subcommand("purge", "Delete every message in the DLQ");
  purgeCmd->add_option("--queue", args->queue, queueHelp);
  purgeCmd->callback([args] { purge(*args); });
}

}  // namespace orders::tools
