#include "commands.hpp"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <variant>

#include "amqp_cli_options.hpp"
#include "broker/rabbitmq/amqp/amqp_url.hpp"
#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "broker/topology.hpp"
#include "common/clock.hpp"
#include "common/install_paths.hpp"
#include "dlq_commands.hpp"
#include "schema_commands.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "token_commands.hpp"

namespace orders::tools {
namespace {

using nlohmann::json;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kBadInput = 2;

struct Options {
  AmqpConnectionSettings connection;
  // Installed: <prefix>/share/order-service/topology.json; otherwise the source tree's.
  std::string topologyFile =
      installedOr("topology.json", ORDER_SERVICE_SOURCE_DIR "/config/topology.json");
  std::string database = "sqlite:./data/orders.db";
  std::string partitionKey;
  std::vector<std::string> routingKeys;
  bool allKeys = false;
  std::string exchange = kOrderEventsExchange;
  long long count = 0;
  bool json = false;
};

int fail(std::ostream& err, int code, const std::string& message) {
  err << "order-events: " << message << "\n";
  return code;
}

/// Bad input when the error is about what the user gave us, a failure otherwise.
int exitCodeFor(const Error& e) {
  return e.code == ErrorCode::kInvalidArgument ? kBadInput : kFailed;
}

std::string describe(const TopologyConfig& t) {
  std::string s = "  exchange " + t.exchange + " (direct, durable), alternate exchange " +
                  t.alternateExchange + " (fanout) -> queue " + t.unroutedQueue + "\n" +
                  "  dead letters: " + t.deadLetterExchange + " (fanout) -> queue " +
                  t.deadLetterQueue + " (quorum)\n";
  for (const auto& q : t.queues) {
    s += "  queue " + q.name + " (" + toString(q.type) + ", x-dead-letter-exchange " +
         t.deadLetterExchange;
    if (q.deliveryLimit) s += ", x-delivery-limit " + std::to_string(*q.deliveryLimit);
    s += ") <-";
    for (const auto& k : q.routingKeys) s += " " + k;
    s += "\n";
  }
  return s;
}

int topologyValidate(const Options& o, std::ostream& out, std::ostream& err) {
  auto topology = loadTopologyFile(o.topologyFile);
  if (!topology) return fail(err, kBadInput, topology.error().message);
  out << o.topologyFile << " is valid:\n" << describe(*topology);
  return kOk;
}

/// The connection options from the flags, with the warnings said on `err`; or the exit code.
std::variant<RabbitConnectionOptions, int> connectionOptions(const Options& o,
                                                             const std::string& name,
                                                             std::ostream& err) {
  auto options = resolveConnectionSettings(o.connection, "ORDER_EVENTS_");
  if (!options) return fail(err, kBadInput, options.error().message);
  for (const auto& warning : connectionWarnings(*options))
    err << "order-events: warning: " << warning << "\n";
  options->connectionName = name;
  return std::move(options).value();
}

int topologyDeclare(const Options& o, std::ostream& out, std::ostream& err) {
  auto resolved = connectionOptions(o, "order-events topology declare", err);
  if (const int* code = std::get_if<int>(&resolved)) return *code;
  const auto& connection = std::get<RabbitConnectionOptions>(resolved);
  auto url = AmqpUrl::parse(connection.url);  // the first broker, checked by connectionOptions
  auto topology = loadTopologyFile(o.topologyFile);
  if (!topology) return fail(err, kBadInput, topology.error().message);
  if (auto s = declareTopology(connection, *topology); !s) {
    return fail(err, exitCodeFor(s.error()), s.error().message);
  }
  out << "declared on " << url->redacted() << " (idempotent; nothing existing was changed):\n"
      << describe(*topology);
  return kOk;
}

std::string ageText(std::chrono::milliseconds age) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(age).count();
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  if (s < 172800) return std::to_string(s / 3600) + " h";
  return std::to_string(s / 86400) + " days";
}

/// The --database, opened; or the exit code (after saying why on `err`).
std::variant<std::unique_ptr<SqliteStore>, int> openDatabase(const Options& o, std::ostream& err) {
  constexpr std::string_view kScheme = "sqlite:";
  if (o.database.rfind(kScheme, 0) != 0 || o.database.size() == kScheme.size())
    return fail(
        err, kBadInput,
        "--database must be sqlite:PATH (e.g. sqlite:./data/orders.db), got '" + o.database + "'");
  const std::string path = o.database.substr(kScheme.size());
  // Opening would create (and migrate) a missing file: refuse instead, a typo must not look like
  // an empty outbox.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return fail(err, kBadInput, "--database: no database file at '" + path + "'");
  auto store = SqliteStore::open(path);
  if (!store) return fail(err, kFailed, store.error().message);
  return std::move(store).value();
}

int outboxStatus(const Options& o, std::ostream& out, std::ostream& err) {
  auto opened = openDatabase(o, err);
  if (const int* code = std::get_if<int>(&opened)) return *code;
  auto& store = std::get<std::unique_ptr<SqliteStore>>(opened);
  const std::string path = o.database.substr(std::string_view("sqlite:").size());
  auto stats = store->outboxStats();
  store->close();
  if (!stats) return fail(err, kFailed, stats.error().message);
  const Timestamp now = SystemClock().now();
  std::optional<std::chrono::milliseconds> age;
  if (stats->oldestPendingAt) age = now - *stats->oldestPendingAt;
  if (o.json) {
    json j = {{"database", path}, {"pending", stats->pending}, {"published", stats->published}};
    j["oldestPendingAt"] =
        stats->oldestPendingAt ? json(formatIso8601(*stats->oldestPendingAt)) : json(nullptr);
    j["oldestPendingAgeSeconds"] =
        age ? json(std::chrono::duration_cast<std::chrono::seconds>(*age).count()) : json(nullptr);
    out << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    out << "outbox of " << path << "\n"
        << "  pending (not yet confirmed by the broker): " << stats->pending << "\n"
        << "  published (kept for retention):           " << stats->published << "\n";
    if (stats->oldestPendingAt)
      out << "  oldest pending event: " << formatIso8601(*stats->oldestPendingAt) << " ("
          << ageText(*age) << " ago)\n";
  }
  return kOk;
}

/// The envelope, parsed, as "envelope"; a body that is not JSON as the string "body".
void addBody(json& j, const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    j["body"] = body;
  } else {
    j["envelope"] = std::move(parsed);
  }
}

json outboxEventJson(const OutboxEvent& e) {
  const OutboxMessage& m = e.message;
  json j = {{"id", m.id},
            {"messageId", m.messageId},
            {"messageType", m.messageType},
            {"messageVersion", m.messageVersion},
            {"partitionKey", m.partitionKey},
            {"sequence", m.sequence},
            {"correlationId", m.correlationId.empty() ? json(nullptr) : json(m.correlationId)},
            {"source", m.source},
            {"timestamp", formatIso8601(m.timestamp)},
            {"traceparent", m.traceparent.empty() ? json(nullptr) : json(m.traceparent)},
            {"tracestate", m.tracestate.empty() ? json(nullptr) : json(m.tracestate)},
            {"published", e.publishedAt.has_value()},
            {"publishedAt", e.publishedAt ? json(formatIso8601(*e.publishedAt)) : json(nullptr)}};
  addBody(j, m.body);
  return j;
}

/// Every kept outbox row (pending and published) in id order, optionally of one order: a JSON
/// line each with --json, else one text line each.
int outboxEvents(const Options& o, std::ostream& out, std::ostream& err) {
  auto opened = openDatabase(o, err);
  if (const int* code = std::get_if<int>(&opened)) return *code;
  auto& store = std::get<std::unique_ptr<SqliteStore>>(opened);
  OutboxEventQuery query;
  if (!o.partitionKey.empty()) query.partitionKey = o.partitionKey;
  for (;;) {
    auto page = store->listEvents(query);
    if (!page) {
      store->close();
      return fail(err, kFailed, page.error().message);
    }
    for (const auto& e : *page) {
      if (o.json) {
        out << outboxEventJson(e).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
      } else {
        const OutboxMessage& m = e.message;
        out << m.id << "  " << formatIso8601(m.timestamp) << "  " << m.messageType << "  "
            << m.partitionKey << " #" << m.sequence << "  "
            << (e.publishedAt ? "published " + formatIso8601(*e.publishedAt) : "pending") << "  "
            << m.messageId << "\n";
      }
    }
    if (page->size() < query.limit) break;
    query.afterId = page->back().message.id;
  }
  store->close();
  return kOk;
}

json headerValue(const MessageHeader& h) {
  if (const auto* s = std::get_if<std::string>(&h.value)) return *s;
  return std::get<std::int64_t>(h.value);
}

/// One delivery as a JSON object: routing info, AMQP properties, headers, and the envelope
/// (parsed when the body is JSON, else the raw body as a string).
json deliveryJson(const Delivery& d) {
  json props = json::object();
  if (!d.contentType.empty()) props["contentType"] = d.contentType;
  if (d.deliveryMode) props["deliveryMode"] = *d.deliveryMode;
  if (!d.messageId.empty()) props["messageId"] = d.messageId;
  if (!d.type.empty()) props["type"] = d.type;
  if (!d.appId.empty()) props["appId"] = d.appId;
  if (!d.correlationId.empty()) props["correlationId"] = d.correlationId;
  if (d.timestampSeconds) props["timestamp"] = *d.timestampSeconds;
  json headers = json::object();
  for (const auto& h : d.headers) headers[h.name] = headerValue(h);
  json j = {{"exchange", d.exchange},
            {"routingKey", d.routingKey},
            {"redelivered", d.redelivered},
            {"properties", props},
            {"headers", headers}};
  addBody(j, d.body);
  return j;
}

int tail(const Options& o, std::ostream& out, std::ostream& err, const RunControl& control) {
  auto resolved = connectionOptions(o, "order-events tail", err);
  if (const int* code = std::get_if<int>(&resolved)) return *code;
  const auto& connection = std::get<RabbitConnectionOptions>(resolved);
  auto url = AmqpUrl::parse(connection.url);  // the first broker, checked by connectionOptions
  std::vector<std::string> keys = o.routingKeys;
  const auto& known = knownMessageTypes();
  if (o.allKeys) keys = known;
  if (keys.empty())
    return fail(err, kBadInput, "give at least one --routing-key (a message type) or --all");
  for (const auto& k : keys) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string list;
      for (const auto& t : known) {
        if (!list.empty()) list += ", ";
        list += t;
      }
      return fail(err, kBadInput,
                  "--routing-key '" + k + "' is not a message type (known: " + list + ")");
    }
  }
  auto client = AmqpClient::connect(connection);
  if (!client) return fail(err, exitCodeFor(client.error()), client.error().message);
  auto queue = (*client)->declareTemporaryQueue(o.exchange, keys);
  if (!queue) return fail(err, kFailed, queue.error().message);
  if (auto s = (*client)->consume(*queue, /*autoAck=*/true, 200); !s)
    return fail(err, kFailed, s.error().message);
  err << "order-events: tailing " << o.exchange << " on " << url->redacted() << " via " << *queue
      << " (" << keys.size() << " routing keys); Ctrl-C to stop\n";
  if (control.onTailing) control.onTailing();
  long long received = 0;
  while (o.count <= 0 || received < o.count) {
    if (control.interrupted != nullptr && control.interrupted->load()) break;
    auto d = (*client)->next(std::chrono::milliseconds(200));
    if (!d) return fail(err, kFailed, d.error().message);
    if (!d->has_value()) continue;
    // A message from outside may hold any bytes: show invalid UTF-8 as U+FFFD, never throw.
    out << deliveryJson(**d).dump(-1, ' ', false, json::error_handler_t::replace) << "\n"
        << std::flush;
    ++received;
  }
  return kOk;
}

}  // namespace

int runOrderEvents(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                   const std::atomic<bool>* interrupted) {
  RunControl control;
  control.interrupted = interrupted;
  return runOrderEvents(argc, argv, out, err, control);
}

int runOrderEvents(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                   const RunControl& control) {
  Options o;
  CLI::App app{
      "order-events: operate the Order Service's events on RabbitMQ and its transactional "
      "outbox.\nExit codes: 0 success, 1 broker/database failure, 2 bad input.",
      "order-events"};
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the subcommand too
  addAmqpConnectionOptions(app, o.connection, "ORDER_EVENTS_");

  CLI::App* topology = app.add_subcommand("topology", "The exchanges and queues we own");
  topology->require_subcommand(1);
  CLI::App* declare = topology->add_subcommand(
      "declare",
      "Declare the topology from the file (idempotent); fails naming any existing queue or "
      "exchange whose settings differ");
  CLI::App* validate =
      topology->add_subcommand("validate", "Check the topology file without a broker");
  for (CLI::App* cmd : {declare, validate}) {
    cmd->add_option("--topology", o.topologyFile, "Topology file (JSON, see docs/broker.md)")
        ->envname("ORDER_EVENTS_TOPOLOGY")
        ->capture_default_str();
  }

  CLI::App* outbox = app.add_subcommand("outbox", "The service's transactional outbox");
  outbox->require_subcommand(1);
  CLI::App* status = outbox->add_subcommand(
      "status", "Pending and published row counts and the age of the oldest pending event");
  status->add_option("--database", o.database, "The service's database, sqlite:PATH")
      ->envname("ORDER_EVENTS_DATABASE")
      ->capture_default_str();
  status->add_flag("--json", o.json, "Print one JSON object")->envname("ORDER_EVENTS_JSON");
  CLI::App* events = outbox->add_subcommand(
      "events",
      "The events kept in the outbox (pending and published, until retention deletes them) in "
      "commit order, with their envelopes");
  events->add_option("--database", o.database, "The service's database, sqlite:PATH")
      ->envname("ORDER_EVENTS_DATABASE")
      ->capture_default_str();
  events->add_option("--partition-key", o.partitionKey, "Only the events of this order (its id)")
      ->envname("ORDER_EVENTS_PARTITION_KEY");
  events->add_flag("--json", o.json, "Print one JSON object per event and line")
      ->envname("ORDER_EVENTS_JSON");

  CLI::App* tailCmd = app.add_subcommand(
      "tail",
      "Print events as they are published, one JSON line each (envelope + AMQP properties), "
      "through a temporary exclusive queue bound to the events exchange");
  tailCmd
      ->add_option("--routing-key", o.routingKeys,
                   "A message type to bind, e.g. OrderShippedEvent (repeatable)")
      ->envname("ORDER_EVENTS_ROUTING_KEYS")
      ->delimiter(',');
  tailCmd->add_flag("--all", o.allKeys, "Bind all 13 message types");
  tailCmd->add_option("--count", o.count, "Stop after N messages (default: until Ctrl-C)")
      ->envname("ORDER_EVENTS_COUNT")
      ->check(CLI::NonNegativeNumber);
  tailCmd->add_option("--exchange", o.exchange, "The events exchange")
      ->envname("ORDER_EVENTS_EXCHANGE")
      ->capture_default_str();

  addDlqCommands(app, &o.connection, out, err);
  addSchemaCommands(app, out, err);
  const SystemClock clock;
  addTokenCommands(app, clock, out, err);

  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a dlq command failed; it already said why
  } catch (const CLI::CallForHelp&) {
    // Help for the deepest subcommand given, e.g. `order-events tail --help`.
    const CLI::App* deepest = &app;
    while (!deepest->get_subcommands().empty()) deepest = deepest->get_subcommands().front();
    out << deepest->help();
    return kOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kOk;
  } catch (const CLI::ParseError& e) {
    err << "order-events: " << e.what() << "\nRun with --help for the options.\n";
    return kBadInput;
  }

  if (declare->parsed()) return topologyDeclare(o, out, err);
  if (validate->parsed()) return topologyValidate(o, out, err);
  if (status->parsed()) return outboxStatus(o, out, err);
  if (events->parsed()) return outboxEvents(o, out, err);
  if (tailCmd->parsed()) return tail(o, out, err, control);
  return kOk;  // dlq commands ran in their callbacks
}

}  // namespace orders::tools
