// The --metrics-listen listener: what it answers to which request, over a real socket on its own
// thread, and that an address it cannot listen on is an error naming it.

#include "observability/metrics_listener.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "support/http_client.hpp"
#include "support/manual_clock.hpp"
#include "support/wait_for.hpp"

namespace orders {
namespace {

TEST(MetricsListener, AnswersOnlyGetMetrics) {
  int scrapes = 0;
  const auto scrape = [&scrapes] {
    ++scrapes;
    return std::string("# TYPE x counter\nx 1\n");
  };
  http::Request get;
  get.method = "GET";
  get.path = "/metrics";
  const http::Response ok = answerMetricsRequest(get, scrape);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.contentType, ServiceMetrics::kContentType);
  EXPECT_EQ(ok.body, "# TYPE x counter\nx 1\n");
  EXPECT_EQ(scrapes, 1);

  http::Request post = get;
  post.method = "POST";
  const http::Response notAllowed = answerMetricsRequest(post, scrape);
  EXPECT_EQ(notAllowed.status, 405);
  ASSERT_EQ(notAllowed.headers.size(), 1u);
  EXPECT_EQ(notAllowed.headers[0], (std::pair<std::string, std::string>{"Allow", "GET"}));

  http::Request other = get;
  other.path = "/v1/orders";
  const http::Response notFound = answerMetricsRequest(other, scrape);
  EXPECT_EQ(notFound.status, 404);
  EXPECT_NE(notFound.body.find("/v1/orders"), std::string::npos) << notFound.body;
  EXPECT_EQ(scrapes, 1) << "only GET /metrics scrapes";
}

/// The kernel's se.slice of this process's thread named `name` in nanoseconds; -1 when the
/// thread is not there, 0 when the kernel does not show slices (before Linux 6.12).
long long sliceOf(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm != name) continue;
    std::ifstream sched(task.path() / "sched");
    for (std::string line; std::getline(sched, line);) {
      if (line.rfind("se.slice", 0) == 0) return std::stoll(line.substr(line.find(':') + 1));
    }
    return 0;
  }
  return -1;
}

/// The names of this process's threads (/proc/self/task/TID/comm).
std::vector<std::string> threadNames() {
  std::vector<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    names.push_back(name);
  }
  return names;
}

TEST(MetricsListener, ServesTheExpositionOnItsOwnNamedThread) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  MetricsListenerOptions options;
  options.refreshInterval = std::chrono::milliseconds(0);  // a scrape() per request
  auto listener = MetricsListener::listen(metrics, options);
  ASSERT_TRUE(listener.ok()) << listener.error().message;
  (*listener)->start();

  metrics.store().eventWritten("OrderCreatedEvent");
  auto http = std::make_unique<orders::testing::HttpClient>("127.0.0.1", (*listener)->port());
  const auto scraped = http->get("/metrics");
  // Named by the thread itself when it starts; it has run once it answered.
  const auto names = threadNames();
  EXPECT_EQ(std::count(names.begin(), names.end(), "http-metrics"), 1)
      << "the bench (bench/metrics/run_scrape_latency.sh) finds the thread by this name";
  EXPECT_EQ(scraped.status, 200);
  EXPECT_EQ(scraped.header("content-type"), ServiceMetrics::kContentType);
  EXPECT_NE(
      scraped.body.find("order_outbox_events_written_total{message_type=\"OrderCreatedEvent\"} 1"),
      std::string::npos)
      << scraped.body;
  EXPECT_EQ(http->get("/healthz").status, 404);
  // The thread's time slice as asked (MetricsListenerOptions::threadSlice, 500 us by default).
  const long long slice = sliceOf("http-metrics");
  ASSERT_NE(slice, -1);
  if (slice != 0) {  // 0: a kernel before 6.12 shows no slice
    EXPECT_EQ(slice, 500'000) << "the kernel shows another slice than asked for";
  }
  http.reset();  // an open keep-alive connection would make stop() wait for it
  (*listener)->stop();
}

TEST(MetricsListener, WithARefreshIntervalServesTheLastSerializationWithinTheInterval) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  MetricsListenerOptions options;
  options.refreshInterval = std::chrono::milliseconds(50);
  auto listener = MetricsListener::listen(metrics, options);
  ASSERT_TRUE(listener.ok()) << listener.error().message;
  (*listener)->start();
  auto http = std::make_unique<orders::testing::HttpClient>("127.0.0.1", (*listener)->port());
  const std::string moved =
      "order_outbox_events_written_total{message_type=\"OrderCreatedEvent\"} 1";
  const auto first = http->get("/metrics");  // waits for the first serialization at most
  EXPECT_EQ(first.status, 200);
  EXPECT_NE(first.body.find("# TYPE order_outbox_events_written_total counter"), std::string::npos);

  metrics.store().eventWritten("OrderCreatedEvent");
  // A later serialization has it (the bound is the interval; the wait is generous for ASan).
  EXPECT_TRUE(orders::testing::waitFor(
      [&] { return http->get("/metrics").body.find(moved) != std::string::npos; },
      std::chrono::seconds(10)));
  const auto names = threadNames();
  EXPECT_EQ(std::count(names.begin(), names.end(), "metrics-refresh"), 1);
  http.reset();
  (*listener)->stop();
  const auto after = threadNames();
  EXPECT_EQ(std::count(after.begin(), after.end(), "metrics-refresh"), 0) << "stop() joins it";
}

TEST(MetricsListener, AScrapeGetsTheSnapshotNotAFreshSerialization) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  MetricsListenerOptions options;
  options.refreshInterval = std::chrono::hours(1);  // no second serialization in this test
  auto listener = MetricsListener::listen(metrics, options);
  ASSERT_TRUE(listener.ok()) << listener.error().message;
  (*listener)->start();
  auto http = std::make_unique<orders::testing::HttpClient>("127.0.0.1", (*listener)->port());
  const std::string series =
      "order_outbox_events_written_total{message_type=\"OrderCreatedEvent\"} ";
  EXPECT_NE(http->get("/metrics").body.find(series + "0"), std::string::npos);
  metrics.store().eventWritten("OrderCreatedEvent");
  const auto snapshot = http->get("/metrics").body;
  EXPECT_NE(snapshot.find(series + "0"), std::string::npos) << "served from the snapshot";
  EXPECT_EQ(snapshot.find(series + "1"), std::string::npos);
  http.reset();
  const auto stopping = std::chrono::steady_clock::now();
  (*listener)->stop();  // cuts the refresher's hour short
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(30));
}

TEST(MetricsListener, AnAddressItCannotListenOnIsAnErrorNamingIt) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  MetricsListenerOptions options;
  options.host = "not-an-address";
  auto listener = MetricsListener::listen(metrics, options);
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(listener.error().message.find("--metrics-listen"), std::string::npos)
      << listener.error().message;
  EXPECT_NE(listener.error().message.find("not-an-address"), std::string::npos)
      << listener.error().message;
}

}  // namespace
}  // namespace orders
