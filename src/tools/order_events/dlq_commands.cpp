#include "dlq_commands.hpp"

#include <memory>
#include <optional>

#include "amqp_cli_options.hpp"
#include "broker/rabbitmq/consumer/dead_letter_admin.hpp"
#include "consumer/consumer_options.hpp"

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

/// The DLQ of what the user named: the work queue or the DLQ itself.
std::string dlqName(const std::string& queue) {
  return queue.ends_with(".dlq") ? queue : deadLetterQueueName(queue);
}

[[noreturn]] void fail(const DlqArgs& args, const std::string& command, int code,
                       const std::string& message) {
  *args.err << "order-events dlq " << command << ": " << message << "\n";
  throw CLI::RuntimeError(code);
}

int codeFor(const Error& e) {
  return e.code == ErrorCode::kNotFound || e.code == ErrorCode::kInvalidArgument ? kBadInput
                                                                                 : kFailed;
}

std::unique_ptr<DeadLetterAdmin> connect(const DlqArgs& args, const std::string& command) {
  if (args.queue.empty()) fail(args, command, kBadInput, "--queue is required");
  auto options = resolveConnectionSettings(args.settings(), "ORDER_EVENTS_");
  if (!options) fail(args, command, kBadInput, options.error().message);
  for (const auto& warning : connectionWarnings(*options))
    *args.err << "order-events dlq " << command << ": warning: " << warning << "\n";
  options->connectionName = "order-events dlq " + command;
  auto admin = DeadLetterAdmin::connect(*options);
  if (!admin) fail(args, command, codeFor(admin.error()), admin.error().message);
  return std::move(admin).value();
}

std::string oneLine(std::string s, std::size_t max) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

void list(const DlqArgs& args) {
  auto admin = connect(args, "list");
  const std::string dlq = dlqName(args.queue);
  auto count = admin->count(dlq);
  if (!count) fail(args, "list", codeFor(count.error()), count.error().message);
  *args.out << dlq << ": " << *count << " message(s)\n";
  if (*count == 0) return;
  auto letters = admin->peek(dlq, args.limit);
  if (!letters) fail(args, "list", codeFor(letters.error()), letters.error().message);
  for (const auto& l : *letters) {
    *args.out << (l.failedAt.empty() ? "-" : l.failedAt) << "  "
              << (l.messageType.empty() ? "-" : l.messageType) << "  "
              << (l.messageId.empty() ? "-" : l.messageId) << "  attempts=" << l.attempts << "  "
              << (l.failureKind.empty() ? "-" : l.failureKind) << ": "
              << oneLine(l.failureReason, 200) << "\n";
  }
  if (static_cast<std::int64_t>(letters->size()) < *count) {
    *args.out << "... and " << (*count - static_cast<std::int64_t>(letters->size()))
              << " more (--limit)\n";
  }
}

void inspect(const DlqArgs& args) {
  auto admin = connect(args, "inspect");
  auto letters = admin->peek(dlqName(args.queue), args.limit);
  if (!letters) fail(args, "inspect", codeFor(letters.error()), letters.error().message);
  // Dead letters hold whatever was sent: show invalid UTF-8 as U+FFFD, never throw.
  for (const auto& l : *letters) {
    *args.out << l.toJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
}

void replay(const DlqArgs& args) {
  if (args.all == !args.messageId.empty()) {
    fail(args, "replay", kBadInput, "give exactly one of --message-id ID and --all");
  }
  auto admin = connect(args, "replay");
  const std::string dlq = dlqName(args.queue);
  std::optional<std::string> only;
  if (!args.all) only = args.messageId;
  auto report = admin->replay(dlq, only);
  if (!report) fail(args, "replay", codeFor(report.error()), report.error().message);
  for (const auto& problem : report->problems)
    *args.err << "order-events dlq replay: " << problem << "\n";
  *args.out << "replayed " << report->replayed << " message(s) from " << dlq
            << " to their work queue\n";
  if (only && report->replayed == 0 && report->problems.empty()) {
    fail(args, "replay", kBadInput, "no message with id " + *only + " in " + dlq);
  }
  if (!report->problems.empty()) throw CLI::RuntimeError(kFailed);
}

void purge(const DlqArgs& args) {
  auto admin = connect(args, "purge");
  const std::string dlq = dlqName(args.queue);
  auto purged = admin->purge(dlq);
  if (!purged) fail(args, "purge", codeFor(purged.error()), purged.error().message);
  *args.out << "purged " << *purged << " message(s) from " << dlq << "\n";
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
