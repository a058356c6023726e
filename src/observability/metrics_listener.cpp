#include "observability/metrics_listener.hpp"

#include <stdexcept>
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

Result<std::unique_ptr<MetricsListener>> MetricsListener::listen(ServiceMetrics& metrics,
                                                                 MetricsListenerOptions options) {
  http::ServerOptions server;
  server.host = options.host;
  server.port = options.port;
  // One thread: scrapes are rare (every 15-60 s per Prometheus server) and one at a time is
  // enough; a second thread would only be one more to schedule on a busy machine.
  server.threads = 1;
  server.threadName = "http-metrics";
  server.limits = options.limits;
  try {
    // The handler answers on the listener's thread at once: the scrape is the only work here.
    auto listener = std::make_unique<http::Server>(
        server, [&metrics](http::Request request, http::Responder respond) {
          respond(answerMetricsRequest(request, [&metrics] { return metrics.scrape(); }));
        });
    return std::unique_ptr<MetricsListener>(new MetricsListener(std::move(listener)));
  } catch (const std::runtime_error& e) {
    // http::Server names the address and the reason ("invalid listen address", "cannot listen").
    return Error{ErrorCode::kUnavailable, std::string("--metrics-listen: ") + e.what()};
  }
}

MetricsListener::MetricsListener(std::unique_ptr<http::Server> server)
    : server_(std::move(server)) {}

MetricsListener::~MetricsListener() {
  stop();
}

std::uint16_t MetricsListener::port() const {
  return server_->port();
}

void MetricsListener::start() {
  server_->start();
}

void MetricsListener::stop() {
  server_->stop(/*graceMillis=*/2000);
}

}  // namespace orders
