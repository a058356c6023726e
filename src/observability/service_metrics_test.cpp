// ServiceMetrics on its own: what each observer call does to the exposition, and that the
// exposition is valid for Prometheus (promtool check metrics).

#include "observability/service_metrics.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using namespace std::chrono_literals;

/// The value of the series `series` (name and labels exactly as exposed), or -1 when absent.
double valueOf(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST(ServiceMetrics, CountsWrittenAndConfirmedEventsByType) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  metrics.store().eventWritten("OrderCreatedEvent");
  metrics.store().eventWritten("OrderCreatedEvent");
  metrics.store().eventWritten("SomethingNewEvent");
  metrics.store().batchCommitted(3, 2ms, true);
  const Timestamp now = clock.now();
  const std::vector<ConfirmedPublication> confirmed{{"OrderCreatedEvent", now - 2s, 1ms},
                                                    {"OrderCreatedEvent", now - 1s, 1ms},
                                                    {"OrderStatusChangedEvent", now, 3ms}};
  metrics.relay().confirmed(confirmed, now);

  const std::string text = metrics.scrape();
  EXPECT_EQ(valueOf(text, R"(order_outbox_events_written_total{message_type="OrderCreatedEvent"})"),
            2);
  EXPECT_EQ(valueOf(text, R"(order_outbox_events_written_total{message_type="SomethingNewEvent"})"),
            1);
  EXPECT_EQ(
      valueOf(text, R"(order_outbox_events_written_total{message_type="OrderCancelledEvent"})"), 0)
      << "known types are exposed from the start";
  EXPECT_EQ(
      valueOf(
          text,
          R"(messaging_client_sent_messages_total{exchange="order.events",message_type="OrderCreatedEvent",messaging_system="rabbitmq"})"),
      2);
  EXPECT_EQ(
      valueOf(
          text,
          R"(messaging_client_sent_messages_total{exchange="order.events",message_type="OrderStatusChangedEvent",messaging_system="rabbitmq"})"),
      1);
  EXPECT_EQ(valueOf(text, "order_outbox_commit_to_confirm_seconds_count"), 3);
  EXPECT_DOUBLE_EQ(valueOf(text, "order_outbox_commit_to_confirm_seconds_sum"), 3.0);
  EXPECT_EQ(valueOf(text, R"(order_outbox_commit_to_confirm_seconds_bucket{le="1"})"), 2);
  EXPECT_EQ(valueOf(text, "order_store_commit_writes_count"), 1);
  EXPECT_EQ(valueOf(text, R"(order_store_commit_writes_bucket{le="2"})"), 0);
  EXPECT_EQ(valueOf(text, R"(order_store_commit_writes_bucket{le="4"})"), 1);
}

TEST(ServiceMetrics, RelayFailuresReconnectsAndBlockedTime) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  RelayStatus status;
  status.state = RelayStatus::State::kBlocked;
  OutboxStats stats;
  stats.pending = 7;
  stats.oldestPendingAt = clock.now() - 90s;
  metrics.setStateSource([&] {
    ObservedState state;
    state.relay = status;
    state.relayLeader = true;
    state.outbox = Result<OutboxStats>(stats);
    return state;
  });
  metrics.relay().connected(false);
  metrics.relay().publishFailed(PublishFailure::kNack, 5);
  metrics.relay().publishFailed(PublishFailure::kConnectFailed, 0);
  metrics.relay().connected(true);
  metrics.relay().blockedChanged(true);
  clock.advance(1500ms);
  std::string text = metrics.scrape();
  EXPECT_EQ(valueOf(text, R"(order_relay_publish_failures_total{reason="nack"})"), 1);
  EXPECT_EQ(valueOf(text, R"(order_relay_publish_failures_total{reason="returned"})"), 0);
  EXPECT_EQ(valueOf(text, R"(order_relay_publish_failures_total{reason="connect_failed"})"), 1);
  EXPECT_EQ(valueOf(text, "order_relay_republished_messages_total"), 5);
  EXPECT_EQ(valueOf(text, "order_relay_reconnects_total"), 1);
  EXPECT_DOUBLE_EQ(valueOf(text, "order_relay_blocked_seconds_total"), 1.5)
      << "time blocked so far counts at the scrape";
  EXPECT_EQ(valueOf(text, R"(order_relay_state{state="blocked"})"), 1);
  EXPECT_EQ(valueOf(text, R"(order_relay_state{state="connected"})"), 0);
  EXPECT_EQ(valueOf(text, "order_relay_leader"), 1);
  EXPECT_EQ(valueOf(text, "order_outbox_backlog_events"), 7);
  EXPECT_EQ(valueOf(text, "order_outbox_oldest_unpublished_age_seconds"), 91.5)
      << "90 s old when counted, 1.5 s later now";
  EXPECT_EQ(valueOf(text, "order_store_up"), 1);

  clock.advance(500ms);
  metrics.relay().blockedChanged(false);
  clock.advance(10s);
  status.state = RelayStatus::State::kConnected;
  text = metrics.scrape();
  EXPECT_DOUBLE_EQ(valueOf(text, "order_relay_blocked_seconds_total"), 2.0)
      << "no time counts after the unblock";
  EXPECT_EQ(valueOf(text, R"(order_relay_state{state="connected"})"), 1);
}

TEST(ServiceMetrics, ConsumerOutcomesByQueue) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  ConsumerObserver& payments = metrics.consumer("payments");
  EXPECT_EQ(&payments, &metrics.consumer("payments"));
  payments.connectionChanged(true, false);
  payments.received();
  payments.received();
  payments.received();
  payments.received();
  payments.settled({Outcome::kApplied, 1, {}, 2ms});
  payments.settled({Outcome::kDuplicate, 1, {}, 1ms});
  payments.settled({Outcome::kRetried, 2, {}, 1ms});
  payments.settled({Outcome::kDeadLettered, 1, "permanent-failure", 1ms});
  const std::string text = metrics.scrape();
  EXPECT_EQ(
      valueOf(
          text,
          R"(messaging_client_consumed_messages_total{messaging_system="rabbitmq",queue="payments"})"),
      4);
  EXPECT_EQ(valueOf(text, R"(order_consumer_messages_processed_total{queue="payments"})"), 1);
  EXPECT_EQ(valueOf(text, R"(order_consumer_duplicates_skipped_total{queue="payments"})"), 1);
  EXPECT_EQ(valueOf(text, R"(order_consumer_messages_retried_total{attempt="2",queue="payments"})"),
            1);
  EXPECT_EQ(
      valueOf(
          text,
          R"(order_consumer_messages_dead_lettered_total{queue="payments",reason="permanent-failure"})"),
      1);
  EXPECT_EQ(
      valueOf(
          text,
          R"(order_consumer_messages_dead_lettered_total{queue="payments",reason="invalid-message"})"),
      0);
  EXPECT_EQ(
      valueOf(
          text,
          R"(messaging_process_duration_seconds_count{messaging_system="rabbitmq",outcome="applied",queue="payments"})"),
      1);
  EXPECT_EQ(valueOf(text, R"(order_consumer_connected{queue="payments"})"), 1);
}

TEST(ServiceMetrics, HttpRequestsByRouteTemplateAndStatusClass) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  http::RequestScope scope;
  metrics.http().requestCompleted({"POST", "/v1/orders", 201, 3ms, &scope});
  metrics.http().requestCompleted({"POST", "/v1/orders", 202, 3ms, &scope});
  metrics.http().requestCompleted({"BREW", "unmatched", 405, 1ms, &scope});
  const std::string text = metrics.scrape();
  EXPECT_EQ(
      valueOf(text,
              R"(http_server_requests_total{method="POST",route="/v1/orders",status_class="2xx"})"),
      2);
  EXPECT_EQ(
      valueOf(
          text,
          R"(http_server_requests_total{method="_OTHER",route="unmatched",status_class="4xx"})"),
      1);
  EXPECT_EQ(
      valueOf(
          text,
          R"(http_server_request_duration_seconds_bucket{method="POST",route="/v1/orders",status_class="2xx",le="0.005"})"),
      2);
}

TEST(ServiceMetrics, ExpositionPassesPromtool) {
  testing::ManualClock clock;
  ServiceMetrics metrics(clock);
  metrics.consumer("payments").received();
  http::RequestScope scope;
  metrics.http().requestCompleted({"GET", "/readyz", 200, 1ms, &scope});
  testing::TempDir dir;
  const std::string file = dir.file("scrape.txt");
  std::ofstream(file) << metrics.scrape();
  const std::string command = "promtool check metrics < " + file + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << "promtool's lint found problems";
}

}  // namespace
}  // namespace orders
