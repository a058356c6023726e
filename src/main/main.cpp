// order-service: wires the store, the event library, the application layer, the HTTP API, the
// outbox relay and the maintenance jobs together, and shuts them down in reverse order on
// SIGTERM/SIGINT.

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "application/order_service.hpp"
#include "broker/rabbitmq/rabbit_publisher.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "broker/topology.hpp"
#include "common/install_paths.hpp"
#include "config.hpp"
#include "events/schema_registry.hpp"
#include "http/order_api.hpp"
#include "http/server.hpp"
#include "inbound/inbound_events.hpp"
#include "maintenance/jobs.hpp"
#include "maintenance/scheduler.hpp"
#include "outbox/outbox_stats_sampler.hpp"
#include "outbox/relay.hpp"
#include "publishing/event_factory.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

nlohmann::json consumerJson(const orders::ConsumerStatus& status) {
  nlohmann::json json = {{"state", orders::toString(status.state)},
                         {"applied", status.applied},
                         {"duplicates", status.duplicates},
                         {"retried", status.retried},
                         {"deadLettered", status.deadLettered}};
  if (!status.lastError.empty()) json["lastError"] = status.lastError;
  return json;
}

nlohmann::json relayJson(const orders::RelayStatus& status) {
  nlohmann::json json = {{"state", orders::toString(status.state)},
                         {"backlog", status.backlog},
                         {"inFlight", status.inFlight},
                         {"published", status.publishedCount},
                         {"republished", status.republishedCount},
                         {"connects", status.connectCount},
                         {"sent", status.sentCount},
                         {"bursts", status.burstCount},
                         {"lingered", status.lingerCount},
                         {"markCalls", status.markCallCount}};
  if (!status.reason.empty()) json["reason"] = status.reason;
  if (status.oldestPendingAt)
    json["oldestPendingAt"] = orders::formatIso8601(*status.oldestPendingAt);
  if (!status.lastError.empty()) json["lastError"] = status.lastError;
  return json;
}

int run(const orders::ServiceConfig& config) {
  using namespace orders;
  spdlog::set_level(spdlog::level::from_str(config.logLevel));
  for (const auto& warning : config.brokerWarnings) spdlog::warn("{}", warning);

  const auto directory = std::filesystem::path(config.databasePath).parent_path();
  if (!directory.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) {
      spdlog::error("cannot create the database directory {}: {}", directory.string(),
                    ec.message());
      return 1;
    }
  }
  SystemClock clock;
  auto store = SqliteStore::open(config.databasePath, {}, &clock);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  auto schemas = SchemaRegistry::load(config.schemaDirectory);
  if (!schemas) {
    spdlog::error("cannot load the event schemas from {}: {}", config.schemaDirectory,
                  schemas.error().message);
    return 1;
  }
  // Every event we may publish must have its schema: refuse to start rather than fail per order.
  if (auto s = checkPublishedSchemas(schemas.value()); !s) {
    spdlog::error("event schemas in {} are incomplete: {}", config.schemaDirectory,
                  s.error().message);
    return 1;
  }
  RandomIdGenerator ids;
  // Our own events are validated against their schemas for the first of each type and then one
  // in 64 (all of them in debug builds and in the tests): docs/events/README.md says why.
  EventFactory events(schemas.value(), ids, EventFactoryOptions{64});
  // Answers, conflict retries and replays run here, not on the store's writer thread.
  ThreadPool continuations(2, "continuations");
  OrderService service(**store, events, clock, ids, continuations);

  // Retention of published outbox rows and expiry of idempotency records: maintenance jobs,
  // whether or not this process relays (--no-relay). One instance per database today, so this
  // process owns every job; several instances would each ask a JobOwnership backed by a lease.
  AlwaysOwner jobOwner;
  MaintenanceScheduler maintenance(clock, jobOwner,
                                   {outboxRetentionJob(**store), idempotencyExpiryJob(**store)});
  maintenance.start();

  // The outbox counts of /readyz and of the relay's status, recounted at most once a second
  // however often the probe asks (counting reads the whole pending index).
  OutboxStatsSampler outboxCounts(**store, clock, std::chrono::seconds(1));

  // The broker side: topology, the outbox relay and the inbound consumers. A broker that does not
  // answer is not a startup error: orders are accepted and wait in the outbox (the relay reports
  // itself degraded on /readyz); a broker that refuses our topology or credentials is.
  std::unique_ptr<Relay> relay;
  std::unique_ptr<InboundEvents> inbound;
  if (config.relayEnabled || config.consumersEnabled) {
    auto topology = loadTopologyFile(config.topologyFile);
    if (!topology) {
      spdlog::error("topology file {}: {}", config.topologyFile, topology.error().message);
      return 1;
    }
    // One set of connection options (URL, password, TLS) for every connection we open.
    RabbitConnectionOptions topologyConnection = config.broker;
    topologyConnection.connectionName = "order-service topology";
    if (auto declared = declareTopology(topologyConnection, topology.value()); !declared) {
      if (declared.error().code != ErrorCode::kUnavailable) {
        spdlog::error("cannot declare the broker topology: {}", declared.error().message);
        return 1;
      }
      spdlog::warn("broker not reachable at start ({}); orders wait in the outbox until it is",
                   declared.error().message);
    }
    RabbitConnectionOptions connection = config.broker;
    auto publishers = makeRabbitPublisherFactory(connection);
    if (!publishers) {
      spdlog::error("--amqp-url: {}", publishers.error().message);
      return 1;
    }
    // Declare the topology on every (re)connection: a broker that came up empty (or was not
    // reachable at start) gets its exchanges and queues before the first event is published.
    PublisherFactory declaringFactory =
        [topologyConnection, topologyConfig = topology.value(),
         open = std::move(publishers).value()]() -> Result<std::unique_ptr<ConfirmedPublisher>> {
      if (auto declared = declareTopology(topologyConnection, topologyConfig); !declared)
        return declared.error();
      return open();
    };
    if (config.consumersEnabled) {
      InboundEventsOptions inboundOptions;
      inboundOptions.connection = connection;
      inbound = std::make_unique<InboundEvents>(service, schemas.value(), inboundOptions);
      if (auto started = inbound->start(); !started) {
        spdlog::error("cannot start the inbound consumers: {}", started.error().message);
        return 1;
      }
    }
    if (config.relayEnabled) {
      relay = std::make_unique<Relay>(**store, std::move(declaringFactory), clock, RelayOptions{},
                                      &outboxCounts);
      relay->start();
    }
  }
  if (!config.relayEnabled) {
    spdlog::warn("relay disabled (--no-relay): committed events stay in the outbox");
  }
  if (!config.consumersEnabled) {
    spdlog::warn(
        "inbound consumers disabled (--no-consumers): payment and fulfillment events are "
        "not consumed");
  }

  // Ready = the store answers (orders can be taken): its last outbox count, at most a second old,
  // succeeded. A relay or consumer that cannot reach the broker makes the service "degraded",
  // still ready: taking orders out of rotation because the broker is down would turn a delay of
  // events into lost sales.
  auto readiness = [&outboxCounts, &relay, &inbound]() {
    http::Readiness readiness;
    const OutboxStatsSampler::Sample sample = outboxCounts.sample();
    const Result<OutboxStats>& stats = sample.stats;
    if (!stats) {
      readiness.ready = false;
      readiness.details = {{"status", "unavailable"}, {"store", stats.error().message}};
      return readiness;
    }
    bool degraded = false;
    readiness.details = {
        {"store", "ok"},
        {"outbox", {{"pending", stats->pending}, {"published", stats->published}}}};
    if (relay) {
      const auto status = relay->status();
      degraded = degraded || !status.ready();
      readiness.details["relay"] = relayJson(status);
    } else {
      readiness.details["relay"] = {{"state", "disabled"}};
    }
    if (inbound) {
      const auto status = inbound->status();
      degraded = degraded || status.payments.state != ConsumerStatus::State::kConnected ||
                 status.fulfillment.state != ConsumerStatus::State::kConnected;
      readiness.details["consumers"] = {{"payments", consumerJson(status.payments)},
                                        {"fulfillment", consumerJson(status.fulfillment)}};
    } else {
      readiness.details["consumers"] = {{"state", "disabled"}};
    }
    readiness.details["status"] = degraded ? "degraded" : "ok";
    return readiness;
  };
  http::OrderApi api(service, ids, readiness, clock);

  // Block the termination signals in every thread we start; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<http::Server> server;
  try {
    http::ServerOptions options;
    options.host = config.listenHost;
    options.port = config.listenPort;
    options.threads = config.httpThreads;
    server = std::make_unique<http::Server>(options,
                                            [&api](http::Request request, http::Responder respond) {
                                              api.handle(std::move(request), std::move(respond));
                                            });
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    if (relay) relay->stop();
    return 1;
  }
  server->start();
  spdlog::info("order-service listening on http://{}:{} (database {})", config.listenHost,
               server->port(), config.databasePath);
  // Machine-readable line for scripts and tests that start us on port 0.
  std::printf("LISTENING %s:%u\n", config.listenHost.c_str(), server->port());
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
  server->stop();
  if (inbound) inbound->stop();
  if (relay) relay->stop();
  maintenance.stop();
  (*store)->close();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Installed: <prefix>/share/order-service/...; in the build tree: the source tree's files.
  auto config = orders::parseServiceConfig(
      argc, argv, orders::installedOr("schemas", ORDER_SERVICE_SCHEMA_DIR),
      orders::installedOr("topology.json", ORDER_SERVICE_SOURCE_DIR "/config/topology.json"));
  if (!config) {
    const bool help = config.error().code == orders::ErrorCode::kNotFound;
    std::fprintf(help ? stdout : stderr, "%s\n", config.error().message.c_str());
    return help ? 0 : 2;
  }
  return run(config.value());
}
