// order-service: wires the store, the event library, the application layer, the HTTP API and
// the outbox relay together, and shuts them down in reverse order on SIGTERM/SIGINT.

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "application/order_service.hpp"
#include "events/event_factory.hpp"
#include "events/schema_registry.hpp"
#include "http/order_api.hpp"
#include "http/server.hpp"
#include "main/config.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

int run(const orders::ServiceConfig& config) {
  using namespace orders;
  spdlog::set_level(spdlog::level::from_str(config.logLevel));

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
  auto store = SqliteStore::open(config.databasePath);
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
  SystemClock clock;
  RandomIdGenerator ids;
  EventFactory events(schemas.value(), ids);
  OrderService service(**store, events, clock, ids);

  auto readiness = [&store]() {
    http::Readiness readiness;
    auto stats = (*store)->outboxStats();
    if (!stats) {
      readiness.ready = false;
      readiness.details = {{"status", "unavailable"}, {"store", stats.error().message}};
      return readiness;
    }
    readiness.details = {
        {"status", "ok"},
        {"store", "ok"},
        {"outbox", {{"pending", stats->pending}, {"published", stats->published}}}};
    return readiness;
  };
  http::OrderApi api(service, ids, readiness);

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
  (*store)->close();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto config = orders::parseServiceConfig(argc, argv, ORDER_SERVICE_SCHEMA_DIR,
                                           ORDER_SERVICE_SOURCE_DIR "/config/topology.json");
  if (!config) {
    const bool help = config.error().code == orders::ErrorCode::kNotFound;
    std::fprintf(help ? stdout : stderr, "%s\n", config.error().message.c_str());
    return help ? 0 : 2;
  }
  return run(config.value());
}
