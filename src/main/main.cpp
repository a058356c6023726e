// order-service: wires the store, the event library, the application layer, the HTTP API (with
// its authentication), the outbox relay and the maintenance jobs together, and shuts them down in
// reverse order on SIGTERM/SIGINT. SIGHUP reloads the token verification keys.

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <tuple>

#include "admin/admin_api.hpp"
#include "application/order_service.hpp"
#include "auth/key_files.hpp"
#include "broker/rabbitmq/rabbit_publisher.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "broker/topology.hpp"
#include "common/install_paths.hpp"
#include "config.hpp"
#include "events/schema_registry.hpp"
#include "http/api_security.hpp"
#include "http/order_api.hpp"
#include "http/server.hpp"
#include "inbound/inbound_events.hpp"
#include "maintenance/job_ownership.hpp"
#include "maintenance/jobs.hpp"
#include "maintenance/scheduler.hpp"
#include "observability/logging.hpp"
#include "observability/metrics_listener.hpp"
#include "observability/service_metrics.hpp"
#include "outbox/outbox_stats_sampler.hpp"
#include "outbox/relay.hpp"
#include "publishing/event_factory.hpp"
#include "publishing/schema_catalogue.hpp"
#include "store/postgres/postgres_store.hpp"
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

/// The relay lease holder id of this process: unique among instances (host and pid tell an
/// operator which process leads; the random part keeps a restarted process with a reused pid,
/// or a container's constant hostname and pid 1, distinct).
std::string relayLeaseHolderId(orders::IdGenerator& ids) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown-host");
  return std::string(host) + "/" + std::to_string(getpid()) + "/" + ids.uuid().substr(0, 8);
}

nlohmann::json relayJson(const orders::RelayStatus& status) {
  nlohmann::json json = {
      {"state", orders::toString(status.state)},
      {"role", status.role == orders::RelayStatus::Role::kLeader ? "leader" : "follower"},
      {"epoch", status.epoch},
      {"backlog", status.backlog},
      {"inFlight", status.inFlight},
      {"published", status.publishedCount},
      {"republished", status.republishedCount},
      {"connects", status.connectCount},
      {"sent", status.sentCount},
      {"bursts", status.burstCount},
      {"lingered", status.lingerCount},
      {"markCalls", status.markCallCount},
      {"lateRows", status.lateRowCount}};
  if (!status.reason.empty()) json["reason"] = status.reason;
  if (status.oldestPendingAt)
    json["oldestPendingAt"] = orders::formatIso8601(*status.oldestPendingAt);
  if (!status.lastError.empty()) json["lastError"] = status.lastError;
  if (!status.broker.empty()) json["broker"] = status.broker;
  if (!status.leaseHolder.empty()) json["leaseHolder"] = status.leaseHolder;
  return json;
}

/// Every connection is a file descriptor: raise the soft limit to the hard one (the default soft
/// limit, often 1024, would end accepting long before --max-connections), and take fewer
/// connections than the descriptors allow, keeping some for the database, the broker and logs.
std::size_t connectionsTheDescriptorsAllow(std::size_t wanted) {
  constexpr rlim_t kReserved = 128;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot read the file descriptor limit: {}", std::strerror(errno));
    return wanted;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      spdlog::info("file descriptors: soft limit raised from {} to {}", before, limit.rlim_cur);
    } else {
      spdlog::warn("file descriptors: cannot raise the soft limit from {} to {}: {}", before,
                   limit.rlim_max, std::strerror(errno));
      limit.rlim_cur = before;
    }
  } else {
    spdlog::info("file descriptors: soft limit {}", limit.rlim_cur);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted + 2 * kReserved) {
    const auto allowed = static_cast<std::size_t>(
        limit.rlim_cur > 2 * kReserved ? limit.rlim_cur - kReserved : limit.rlim_cur / 2);
    spdlog::warn("--max-connections {} lowered to {}: only {} file descriptors", wanted, allowed,
                 limit.rlim_cur);
    return allowed;
  }
  return wanted;
}

/// The API's authentication as configured: the authenticator, and what /readyz says about it.
struct ApiAuthentication {
  std::unique_ptr<orders::auth::ReloadingKeySet> keys;  // --auth jwt
  std::unique_ptr<orders::auth::JwtVerifier> verifier;
  std::unique_ptr<orders::http::Authenticator> authenticator;
  orders::http::RoleAuthorizer authorizer;

  nlohmann::json status() const {
    if (!keys) {
      return {{"mode", "none"},
              {"warning", "development mode: no authentication, every caller is an operator"}};
    }
    nlohmann::json json = {
        {"mode", "jwt"}, {"keys", keys->current()->size()}, {"reloads", keys->reloadCount()}};
    if (const auto error = keys->lastError(); !error.empty()) json["lastReloadError"] = error;
    return json;
  }
};

orders::Result<std::unique_ptr<ApiAuthentication>> makeAuthentication(
    const orders::ServiceConfig& config, const orders::Clock& clock) {
  using namespace orders;
  auto auth = std::make_unique<ApiAuthentication>();
  if (config.authMode == ServiceConfig::AuthMode::kNone) {
    spdlog::warn(
        "AUTHENTICATION IS OFF (--auth none): anyone who reaches {}:{} is an operator and may "
        "read, change, pay, ship and refund every order. For local development only.",
        config.listenHost, config.listenPort);
    if (config.listenHost != "127.0.0.1" && config.listenHost != "::1" &&
        config.listenHost != "localhost") {
      spdlog::warn("--auth none on a non-loopback address ({}): the API is open to the network",
                   config.listenHost);
    }
    auth->authenticator = std::make_unique<http::DevelopmentAuthenticator>();
    return auth;
  }
  auth::KeyFiles files{config.jwksFile, config.hs256SecretFile, config.hs256Secret};
  auto keys = auth::ReloadingKeySet::open(std::move(files), clock);
  if (!keys) return Error{ErrorCode::kInvalidArgument, "token keys: " + keys.error().message};
  auth->keys = std::move(keys).value();
  auth::VerifierOptions options;
  if (!config.jwtIssuer.empty()) options.issuer = config.jwtIssuer;
  if (!config.jwtAudience.empty()) options.audience = config.jwtAudience;
  options.leeway = config.jwtLeeway;
  if (!options.issuer || !options.audience) {
    spdlog::warn(
        "--jwt-issuer and --jwt-audience should both be set: a token of any issuer or "
        "audience signed by a trusted key is accepted otherwise");
  }
  auth->verifier = std::make_unique<auth::JwtVerifier>(*auth->keys, clock, std::move(options));
  auth->authenticator = std::make_unique<http::BearerAuthenticator>(
      *auth->verifier, http::BearerOptions{config.rolesClaim});
  spdlog::info("API authentication: bearer JWT ({} keys, roles from claim '{}')",
               auth->keys->current()->size(), config.rolesClaim);
  return auth;
}

/// The store --database selects (SQLite by default, or PostgreSQL), seen through the interfaces
/// the rest of the service uses.
struct ConfiguredStore {
  std::unique_ptr<orders::SqliteStore> sqlite;
  std::unique_ptr<orders::PostgresStore> postgres;
  std::string description;  // for the log: the file, or the URL without its password

  orders::OrderStore& orders() {
    return postgres ? static_cast<orders::OrderStore&>(*postgres) : *sqlite;
  }
  orders::OutboxStore& outbox() {
    return postgres ? static_cast<orders::OutboxStore&>(*postgres) : *sqlite;
  }
  orders::RelayLease& lease() {
    return postgres ? static_cast<orders::RelayLease&>(*postgres) : *sqlite;
  }
  void close() {
    if (postgres) postgres->close();
    if (sqlite) sqlite->close();
  }
};

orders::Result<ConfiguredStore> openStore(const orders::ServiceConfig& config,
                                          orders::StoreObserver* observer,
                                          const orders::Clock& clock) {
  ConfiguredStore store;
  if (config.postgres) {
    orders::PostgresOptions options;
    options.observer = observer;
    options.writers = config.databaseWriters;
    auto opened = orders::PostgresStore::open(*config.postgres, options, &clock);
    if (!opened) return opened.error();
    store.postgres = std::move(opened).value();
    store.description = config.postgres->redacted();
    return store;
  }
  orders::SqliteOptions options;
  options.observer = observer;
  auto opened = orders::SqliteStore::open(config.databasePath, options, &clock);
  if (!opened) return opened.error();
  store.sqlite = std::move(opened).value();
  store.description = config.databasePath;
  return store;
}

int run(const orders::ServiceConfig& config) {
  using namespace orders;
  // Block the termination signals and SIGHUP before the first thread starts, so that every
  // thread inherits the mask and only the main thread's sigwait receives them (a SIGHUP reaching
  // a thread that does not block it would end the process).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (auto logging = configureLogging(config.logFormat, config.logLevel); !logging) {
    std::fprintf(stderr, "order-service: %s\n", logging.error().message.c_str());
    return 2;
  }
  const std::size_t maxConnections =
      connectionsTheDescriptorsAllow(config.connectionLimits.maxConnections);
  for (const auto& warning : config.brokerWarnings) spdlog::warn("{}", warning);

  const auto directory = config.postgres ? std::filesystem::path()
                                         : std::filesystem::path(config.databasePath).parent_path();
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
  auto authentication = makeAuthentication(config, clock);
  if (!authentication) {
    spdlog::error("{}", authentication.error().message);
    return 1;
  }
  ApiAuthentication& apiAuth = **authentication;
  // Metrics (docs/operations.md): every component is told about its work through an observer;
  // --no-metrics leaves them all null.
  std::unique_ptr<ServiceMetrics> metrics;
  if (config.metricsEnabled) metrics = std::make_unique<ServiceMetrics>(clock);
  auto opened = openStore(config, metrics ? &metrics->store() : nullptr, clock);
  if (!opened) {
    spdlog::error("{}", opened.error().message);
    return 1;
  }
  ConfiguredStore& store = *opened;
  auto schemas = SchemaRegistry::load(config.schemaDirectory);
  if (!schemas) {
    spdlog::error("cannot load the event schemas from {}: {}", config.schemaDirectory,
                  schemas.error().message);
    return 1;
  }
  // Every event we may publish must have its schema: refuse to start rather than fail per order.
  if (auto s = checkPublishedSchemas(schemas.value(), config.publishedVersions); !s) {
    spdlog::error("event schemas in {} are incomplete: {}", config.schemaDirectory,
                  s.error().message);
    return 1;
  }
  // What GET /v1/schemas serves: the files of the schema directory and their status here.
  auto schemaCatalogue = SchemaCatalogue::load(config.schemaDirectory, config.publishedVersions);
  if (!schemaCatalogue) {
    spdlog::error("cannot read the event schemas in {}: {}", config.schemaDirectory,
                  schemaCatalogue.error().message);
    return 1;
  }
  RandomIdGenerator ids;
  // Our own events are validated against their schemas for the first of each type and then one
  // in 64 (all of them in debug builds and in the tests): docs/events/README.md says why.
  EventFactoryOptions eventOptions;
  eventOptions.validateOneIn = 64;
  eventOptions.versions = config.publishedVersions;
  if (const auto changed = config.publishedVersions.describeChanges(); !changed.empty()) {
    spdlog::info("publishing message types at several or other versions: {}", changed);
  }
  EventFactory events(schemas.value(), ids, eventOptions);
  // Answers, conflict retries and replays run here, not on the store's writer thread.
  ThreadPool continuations(2, "continuations");
  OrderService service(store.orders(), events, clock, ids, continuations);

  // The outbox counts of /readyz and of the relay's status, recounted at most once a second
  // however often the probe asks (counting reads the whole pending index).
  OutboxStatsSampler outboxCounts(store.outbox(), clock, std::chrono::seconds(1));

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
      if (metrics) {
        inboundOptions.observerFor = [&metrics](const std::string& queue) {
          return &metrics->consumer(queue);
        };
      }
      inbound = std::make_unique<InboundEvents>(service, schemas.value(), inboundOptions);
      if (auto started = inbound->start(); !started) {
        spdlog::error("cannot start the inbound consumers: {}", started.error().message);
        return 1;
      }
    }
    if (config.relayEnabled) {
      RelayOptions relayOptions;
      if (metrics) relayOptions.observer = &metrics->relay();
      // Several instances on one database: only the lease holder publishes (docs/scaling.md).
      relayOptions.lease = &store.lease();
      relayOptions.leaseHolder = relayLeaseHolderId(ids);
      relayOptions.leaseTtl = config.relayLeaseTtl;
      relayOptions.leaseSafetyMargin = config.relayLeaseTtl / 5;
      relay = std::make_unique<Relay>(store.outbox(), std::move(declaringFactory), clock,
                                      relayOptions, &outboxCounts);
      relay->start();
    }
  }
  if (!config.relayEnabled) {
    spdlog::warn(
        "relay disabled (--no-relay): committed events stay in the outbox, and maintenance jobs "
        "(retention, idempotency expiry) run only on an instance with the relay");
  }

  // Retention of published outbox rows and expiry of idempotency records: maintenance jobs, run
  // by the instance whose relay leads (one at a time among the instances on one database; a
  // single instance always leads). A process with --no-relay runs none.
  RelayLeaderOwnership jobOwner(relay.get());
  MaintenanceScheduler maintenance(
      clock, jobOwner, {outboxRetentionJob(store.outbox()), idempotencyExpiryJob(store.orders())});
  maintenance.start();
  if (!config.consumersEnabled) {
    spdlog::warn(
        "inbound consumers disabled (--no-consumers): payment and fulfillment events are "
        "not consumed");
  }

  // Ready = the store answers (orders can be taken): its last outbox count, at most a second old,
  // succeeded. A relay or consumer that cannot reach the broker makes the service "degraded",
  // still ready: taking orders out of rotation because the broker is down would turn a delay of
  // events into lost sales. `problems` says in words what is wrong, most important first.
  auto readiness = [&outboxCounts, &relay, &inbound, &clock, &apiAuth]() {
    http::Readiness readiness;
    const OutboxStatsSampler::Sample sample = outboxCounts.sample();
    const Result<OutboxStats>& stats = sample.stats;
    if (!stats) {
      readiness.ready = false;
      readiness.details = {{"status", "unavailable"},
                           {"store", stats.error().message},
                           {"problems", {"store unavailable: " + stats.error().message}}};
      return readiness;
    }
    nlohmann::json problems = nlohmann::json::array();
    nlohmann::json outbox = {{"pending", stats->pending}, {"published", stats->published}};
    if (stats->oldestPendingAt) {
      outbox["oldestPendingAt"] = formatIso8601(*stats->oldestPendingAt);
      outbox["oldestPendingAgeSeconds"] = std::max(
          0.0, std::chrono::duration<double>(clock.now() - *stats->oldestPendingAt).count());
    }
    readiness.details = {{"store", "ok"}, {"outbox", outbox}};
    if (relay) {
      const auto status = relay->status();
      if (!status.ready()) {
        problems.push_back(std::string("relay ") + toString(status.state) +
                           (status.reason.empty() ? "" : ": " + status.reason) + " (" +
                           std::to_string(stats->pending) + " events wait in the outbox)");
      }
      readiness.details["relay"] = relayJson(status);
    } else {
      readiness.details["relay"] = {{"state", "disabled"}};
    }
    if (inbound) {
      const auto status = inbound->status();
      const InboundEventsOptions queues;
      for (const auto& [name, queue, consumer] :
           {std::tuple{"payments", queues.paymentQueue, status.payments},
            std::tuple{"fulfillment", queues.fulfillmentQueue, status.fulfillment}}) {
        if (consumer.state != ConsumerStatus::State::kConnected) {
          problems.push_back(std::string("consumer ") + name + " (" + queue + ") " +
                             toString(consumer.state) +
                             (consumer.lastError.empty() ? "" : ": " + consumer.lastError));
        }
      }
      readiness.details["consumers"] = {{"payments", consumerJson(status.payments)},
                                        {"fulfillment", consumerJson(status.fulfillment)}};
    } else {
      readiness.details["consumers"] = {{"state", "disabled"}};
    }
    readiness.details["auth"] = apiAuth.status();
    readiness.details["status"] = problems.empty() ? "ok" : "degraded";
    readiness.details["problems"] = std::move(problems);
    return readiness;
  };
  http::ClientRateLimiter rateLimiter(config.rateLimit, clock);
  http::ApiHooks hooks;
  hooks.authenticator = apiAuth.authenticator.get();
  hooks.authorizer = &apiAuth.authorizer;
  hooks.limits = config.requestLimits;
  if (config.rateLimit.enabled()) {
    hooks.rateLimiter = &rateLimiter;
  } else {
    spdlog::warn("request rate limit off (--rate-limit 0)");
  }
  if (metrics) {
    const InboundEventsOptions inboundQueues;
    metrics->setStateSource([&outboxCounts, &relay, &inbound, inboundQueues]() {
      ObservedState state;
      state.outbox = outboxCounts.sample().stats;
      if (relay) {
        state.relay = relay->status();
        state.relayLeader = state.relay->role == RelayStatus::Role::kLeader;
      }
      if (inbound) {
        const auto status = inbound->status();
        state.consumers = {{inboundQueues.paymentQueue, status.payments},
                           {inboundQueues.fulfillmentQueue, status.fulfillment}};
      }
      return state;
    });
    hooks.observers.push_back(&metrics->http());
    // With --metrics-listen the exposition is served there only, not on the API listener.
    if (!config.metricsListen) {
      hooks.metrics = http::MetricsExposition{[&metrics] { return metrics->scrape(); },
                                              ServiceMetrics::kContentType};
    }
  }
  // GET /metrics on a listener and thread of its own (docs/operations.md, "Scraping").
  std::unique_ptr<MetricsListener> metricsListener;
  if (metrics && config.metricsListen) {
    MetricsListenerOptions listenerOptions;
    listenerOptions.host = config.metricsListen->first;
    listenerOptions.port = config.metricsListen->second;
    listenerOptions.limits = config.connectionLimits;
    listenerOptions.threadSlice = config.metricsThreadSlice;
    listenerOptions.refreshInterval = config.metricsRefresh;
    auto listening = MetricsListener::listen(*metrics, listenerOptions);
    if (!listening) {
      spdlog::error("{}", listening.error().message);
      if (relay) relay->stop();
      return 1;
    }
    metricsListener = std::move(listening).value();
  }
  // The operator API and page (/admin, admin/admin_api.hpp): its broker calls (DLQ tools, queue
  // states) run on a thread of their own, with a connection per action.
  ThreadPool adminWork(1, "admin");
  RabbitConnectionOptions adminConnection = config.broker;
  adminConnection.connectionName = "order-service admin";
  const operations::DeadLetterOperations deadLetters(adminConnection, &clock);
  admin::AdminSources adminSources;
  if (relay) adminSources.relayStatus = [&relay] { return std::optional(relay->status()); };
  adminSources.outboxStats = [&outboxCounts] { return outboxCounts.sample().stats; };
  {
    const InboundEventsOptions queues;
    adminSources.consumers = {{"payments", queues.paymentQueue},
                              {"fulfillment", queues.fulfillmentQueue}};
    if (inbound) {
      adminSources.consumerStatus = [&inbound, queues] {
        const auto status = inbound->status();
        return std::map<std::string, ConsumerStatus>{{queues.paymentQueue, status.payments},
                                                     {queues.fulfillmentQueue, status.fulfillment}};
      };
    }
  }
  adminSources.outbox = &store.outbox();
  adminSources.catalogue = &schemaCatalogue.value();
  adminSources.deadLetters = &deadLetters;
  adminSources.blockingWork = &adminWork;
  const admin::AdminApi adminApi(std::move(adminSources), clock);
  hooks.extraRoutes = [&adminApi](http::Router& router) { adminApi.addRoutes(router); };
  http::OrderApi api(service, ids, readiness, clock, std::move(hooks), &schemaCatalogue.value());

  std::unique_ptr<http::Server> server;
  try {
    http::ServerOptions options;
    options.host = config.listenHost;
    options.port = config.listenPort;
    options.threads = config.httpThreads;
    options.limits = config.connectionLimits;
    options.limits.maxConnections = maxConnections;
    server = std::make_unique<http::Server>(options,
                                            [&api](http::Request request, http::Responder respond) {
                                              api.handle(std::move(request), std::move(respond));
                                            });
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    if (relay) relay->stop();
    return 1;
  }
  if (metricsListener) {
    metricsListener->start();
    spdlog::info("metrics on http://{}:{}/metrics", config.metricsListen->first,
                 metricsListener->port());
    // Machine-readable, printed before LISTENING so a script that waits for LISTENING has it.
    std::printf("METRICS_ON %s:%u\n", config.metricsListen->first.c_str(), metricsListener->port());
  }
  server->start();
  spdlog::info("order-service listening on http://{}:{} (database {})", config.listenHost,
               server->port(), store.description);
  // Machine-readable line for scripts and tests that start us on port 0.
  std::printf("LISTENING %s:%u\n", config.listenHost.c_str(), server->port());
  std::fflush(stdout);

  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
    if (apiAuth.keys) {
      spdlog::info("received SIGHUP, reloading the token keys");
      (void)apiAuth.keys->reload();  // a failure is logged; the keys in force stay
    } else {
      spdlog::info("received SIGHUP: no token keys to reload (--auth none)");
    }
  }
  spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
  server->stop();
  adminWork.stop();  // the operator's broker calls in progress finish first
  if (metricsListener) metricsListener->stop();
  if (inbound) inbound->stop();
  if (relay) relay->stop();
  maintenance.stop();
  store.close();
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
