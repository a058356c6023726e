#include "observability/metrics_listener.hpp"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "http/problem.hpp"

namespace orders {

http::Response answerMetricsRequest(const http::Request& request,
                                    const std::function<std::string()>& scrape) {
  if (request.path != "/metrics") {
    return http::problemResponse(
        404, "not-found", "Not found",
        "no such resource: " + request.path + " (this listener serves only GET /metrics)", "");
  }
  if (request.method != "GET") {
    http::Response response = http::problemResponse(405, "method-not-allowed", "Method not allowed",
                                                    request.method + " is not supported here", "");
    response.headers.emplace_back("Allow", "GET");
    return response;
  }
  http::Response response;
  response.status = 200;
  response.contentType = ServiceMetrics::kContentType;
  response.body = scrape();
  return response;
}

/// Serializes the exposition every interval on its own thread; latest() hands out the last text.
struct MetricsListener::Refresher {
  Refresher(ServiceMetrics& m, std::chrono::milliseconds i) : metrics(m), interval(i) {}

  void start() {
    thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "metrics-refresh");
      std::unique_lock lock(mutex);
      while (!stopping) {
        lock.unlock();
        auto text = std::make_shared<const std::string>(metrics.scrape());
        lock.lock();
        text_ = std::move(text);
        refreshed.notify_all();
        // Not a clock-driven timer: a real-time wait between serializations, cut short by stop().
        refreshed.wait_for(lock, interval, [this] { return stopping; });
      }
    });
  }
  void stop() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    refreshed.notify_all();
    if (thread.joinable()) thread.join();
  }
  /// The last serialized text; before the first one is done, waits for it (only at start).
  std::string latest() {
    std::unique_lock lock(mutex);
    refreshed.wait(lock, [this] { return text_ != nullptr || stopping; });
    return text_ ? *text_ : std::string();
  }

  ServiceMetrics& metrics;
  const std::chrono::milliseconds interval;
  std::mutex mutex;
  std::condition_variable refreshed;
  std::shared_ptr<const std::string> text_;
  bool stopping = false;
  std::thread thread;
};

Result<std::unique_ptr<MetricsListener>> MetricsListener::listen(
    ServiceMetrics& metrics, const MetricsListenerOptions& options) {
  http::ServerOptions server;
  server.host = options.host;
  server.port = options.port;
  // One thread: scrapes are rare (every 15-60 s per Prometheus server) and one at a time is
  // enough; a second thread would only be one more to schedule on a busy machine.
  server.threads = 1;
  server.threadName = "http-metrics";
  server.threadSlice = options.threadSlice;
  server.limits = options.limits;
  std::shared_ptr<Refresher> refresher;
  if (options.refreshInterval.count() > 0) {
    refresher = std::make_shared<Refresher>(metrics, options.refreshInterval);
  }
  std::function<std::string()> scrape = [&metrics] { return metrics.scrape(); };
  if (refresher) scrape = [refresher] { return refresher->latest(); };
  try {
    // The handler answers on the listener's thread at once: the scrape is the only work here.
    auto listener = std::make_unique<http::Server>(
        server,
        [scrape = std::move(scrape)](const http::Request& request, const http::Responder& respond) {
          respond(answerMetricsRequest(request, scrape));
        });
    return std::unique_ptr<MetricsListener>(
        new MetricsListener(std::move(listener), std::move(refresher)));
  } catch (const std::runtime_error& e) {
    // http::Server names the address and the reason ("invalid listen address", "cannot listen").
    return Error{ErrorCode::kUnavailable, std::string("--metrics-listen: ") + e.what()};
  }
}

MetricsListener::MetricsListener(std::unique_ptr<http::Server> server,
                                 std::shared_ptr<Refresher> refresher)
    : server_(std::move(server)), refresher_(std::move(refresher)) {}

MetricsListener::~MetricsListener() {
  stop();
}

std::uint16_t MetricsListener::port() const {
  return server_->port();
}

void MetricsListener::start() {
  if (refresher_) refresher_->start();
  server_->start();
}

void MetricsListener::stop() {
  server_->stop(/*graceMillis=*/2000);
  if (refresher_) refresher_->stop();
}

}  // namespace orders
