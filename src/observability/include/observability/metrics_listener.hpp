#pragma once
// GET /metrics on a listener of its own (--metrics-listen HOST:PORT, docs/operations.md,
// "Scraping"): its own socket and its own I/O thread, so a scrape never waits for an API I/O
// thread that 64 clients keep busy, and the API's connection slots, rate limits and access log
// see no scrapes. It serves nothing but the exposition: GET /metrics answers 200, another method
// on /metrics 405, any other path 404 (problem+json). It carries no authentication: bind it to an
// address only the scraper reaches.
//
// What a scrape gets: with a refresh interval (the default, one second), the text a refresher
// thread ("metrics-refresh") serialized last, so the answer is a copy of ready bytes (~0.3 ms of
// CPU with the HTTP work, short enough to run within one time slice on a busy core: measured in
// docs/benchmarks.md, "Metrics: scrape latency under load"); with interval zero, a scrape()
// per request on the listener's thread.
//
// Threads: requests are answered on the listener's one thread ("http-metrics"), one at a time.
// scrape() runs on the refresher (or the listener) thread, concurrently with the observations of
// the other threads (it is thread-safe). Freshness: with a refresh interval, every value is at
// most the interval plus one serialization old when it is served (the first scrape waits for the
// first serialization); the outbox gauges also come from the shared OutboxStatsSampler (at most
// its interval old, one second in the service).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "http/message.hpp"
#include "http/server.hpp"
#include "observability/service_metrics.hpp"

namespace orders {

struct MetricsListenerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = any free port (see MetricsListener::port())
  /// The same limits as the API's connections (docs/security.md, "Limits").
  http::ConnectionLimits limits;
  /// The listener thread's time slice (http::ServerOptions::threadSlice): short, so that on a
  /// machine whose cores are busy with requests the thread woken by a scrape runs soon. Zero: the
  /// kernel's default.
  std::chrono::microseconds threadSlice{500};
  /// How often the refresher serializes the exposition; zero: no refresher, one scrape() per
  /// request instead.
  std::chrono::milliseconds refreshInterval{1000};
};

class MetricsListener {
 public:
  /// Binds and listens at once; an address it cannot listen on (not an IP address, taken, not
  /// ours) is a kUnavailable error naming the address and the reason. `metrics` must outlive the
  /// listener.
  static Result<std::unique_ptr<MetricsListener>> listen(ServiceMetrics& metrics,
                                                         const MetricsListenerOptions& options);
  ~MetricsListener();  // stops
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  /// The bound port (useful with port 0).
  std::uint16_t port() const;
  /// Starts the listener's thread (and the refresher); returns immediately.
  void start();
  /// Stops accepting, closes its connections (a scrape being answered finishes first) and stops
  /// the refresher.
  void stop();

 private:
  struct Refresher;
  MetricsListener(std::unique_ptr<http::Server> server, std::shared_ptr<Refresher> refresher);
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<Refresher> refresher_;  // null without a refresh interval
};

/// The listener's answer to one request, without a socket: 200 with `scrape()`'s text for
/// GET /metrics, 405 (Allow: GET) for another method there, 404 for any other path.
http::Response answerMetricsRequest(const http::Request& request,
                                    const std::function<std::string()>& scrape);

}  // namespace orders
