#pragma once
// GET /metrics on a listener of its own (--metrics-listen HOST:PORT, docs/operations.md,
// "Scraping"): its own socket and its own I/O thread, so a scrape never waits for an API I/O
// thread that 64 clients keep busy, and the API's connection slots, rate limits and access log
// see no scrapes. It serves nothing but the exposition: GET /metrics answers 200 with
// ServiceMetrics::scrape(), another method on /metrics 405, any other path 404 (problem+json).
// It carries no authentication: bind it to an address only the scraper reaches.
//
// Threads: requests are answered on the listener's one thread ("http-metrics"), one at a time;
// scrape() runs there, concurrently with the observations of the other threads (it is
// thread-safe). Freshness: every counter and histogram is read at the scrape; the outbox gauges
// come from the shared OutboxStatsSampler (at most its interval old, one second in the service).

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
};

class MetricsListener {
 public:
  /// Binds and listens at once; an address it cannot listen on (not an IP address, taken, not
  /// ours) is a kUnavailable error naming the address and the reason. `metrics` must outlive the
  /// listener.
  static Result<std::unique_ptr<MetricsListener>> listen(ServiceMetrics& metrics,
                                                         MetricsListenerOptions options);
  ~MetricsListener();  // stops
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  /// The bound port (useful with port 0).
  std::uint16_t port() const;
  /// Starts the listener's thread; returns immediately.
  void start();
  /// Stops accepting and closes its connections (a scrape being answered finishes first).
  void stop();

 private:
  explicit MetricsListener(std::unique_ptr<http::Server> server);
  std::unique_ptr<http::Server> server_;
};

/// The listener's answer to one request, without a socket: 200 with `scrape()`'s text for
/// GET /metrics, 405 (Allow: GET) for another method there, 404 for any other path.
http::Response answerMetricsRequest(const http::Request& request,
                                    const std::function<std::string()>& scrape);

}  // namespace orders
