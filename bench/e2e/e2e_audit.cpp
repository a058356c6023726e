// e2e_audit: the broker side of bench/e2e/run_e2e_bench.sh. Not a test; one AMQP connection
// (the project's AmqpClient) per invocation, one machine-readable line on stdout, logs on stderr.
//
//   e2e_audit watch --amqp-url U --queue Q --expect-file F [--start-at-ms T] [--interval-ms 2]
//                   [--timeout-s 60]
//       The backlog probe. Sleeps until T (epoch ms: the planned end of the load, so that the
//       connection is already open and no poll runs during the load), then polls the queue's
//       message count (passive queue.declare: for a quorum queue the leader's own count, not the
//       management statistics that lag by seconds) every interval until it reaches the number
//       in F. F is written by the bench once it knows how many orders were stored (3 events
//       each), possibly after the count got there: every change of the count is recorded with
//       its time, and reached_ms is the time of the first one at or above F's number.
//       Prints WATCH start_ms= expected= count= reached_ms= last_change_ms= polls= timed_out=
//       max_gap_ms= max_gap_end_ms= (reached_ms: epoch ms of the first poll that saw count >=
//       expected, -1 if never; max_gap: the longest time between two changes of the count up to
//       reached_ms, and when it ended: with --start-at-ms during the load, the failover gap).
//
//   e2e_audit audit --amqp-url U --queue Q --orders FILE [--headers required|none]
//                   [--allow-republished] [--idle-ms 3000] [--timeout-s 300]
//       Consumes (auto-ack) the queue until it has seen 3 messages per order id in FILE (one id a
//       line) and nothing more arrives for 200 ms, or until nothing arrives for idle-ms. Counts
//       by messageType per order (read from the JSON body: messageType, partitionKey, works for
//       the service and the peer) and checks every message's AMQP properties against its body
//       (content_type, delivery_mode 2, message_id, type, app_id, timestamp, correlation_id; with
//       --headers required also the service's messageVersion/partitionKey/sequence headers).
//       Leaves the queue empty for the next level. Exit 1 when an order lacks one of its 3
//       events, or on duplicates, events of unknown orders, bad bodies or bad properties.
//       duplicates counts every extra message of an order; republished those of them whose
//       messageId came before (at least once: with --allow-republished they pass).
//       Prints AUDIT messages= orders= orders_ok= orders_missing_events= duplicates=
//       republished= unknown_orders= bad_bodies= bad_props= by_type=T:n,...
//
//   e2e_audit count --amqp-url U --queue Q       prints COUNT messages=N
//   e2e_audit purge --amqp-url U --queue Q       prints PURGED messages=N

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "broker/rabbitmq/amqp_client.hpp"

namespace {

using namespace orders;
using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// The 3 events the service and the peer publish for POST /v1/orders, in the seed's order.
const std::vector<std::string> kCreationTypes = {"OrderCreatedEvent",
                                                 "OrderConfirmationNotificationRequestedEvent",
                                                 "OrderPlacedForAnalyticsEvent"};

/// `heartbeat` 0: none, for a connection that waits silently for longer than two heartbeat
/// intervals (the broker closes a connection that misses two).
std::unique_ptr<AmqpClient> connectOrDie(
    const std::string& url, std::chrono::seconds heartbeat = RabbitConnectionOptions{}.heartbeat) {
  RabbitConnectionOptions options;
  options.url = url;
  options.connectionName = "e2e_audit";
  options.heartbeat = heartbeat;
  auto client = AmqpClient::connect(options);
  if (!client) {
    std::cerr << "e2e_audit: cannot connect to " << url << ": " << client.error().message << "\n";
    std::exit(2);
  }
  return std::move(client).value();
}

std::int64_t countOrDie(AmqpClient& client, const std::string& queue) {
  auto n = client.messageCount(queue);
  if (!n) {
    std::cerr << "e2e_audit: " << n.error().message << "\n";
    std::exit(2);
  }
  return *n;
}

/// The integer in `path`, or -1 while the file does not exist (or is still being written).
std::int64_t readExpected(const std::string& path) {
  std::ifstream in(path);
  std::int64_t v = -1;
  if (in && (in >> v)) return v;
  return -1;
}

int watch(const std::string& url, const std::string& queue, const std::string& expectFile,
          std::int64_t startAtMs, int intervalMs, int timeoutS) {
  // Opened before the wait, which lasts as long as the load (40 s levels outlived 10 s
  // heartbeats: "Connection reset by peer" at the first poll).
  auto client = connectOrDie(url, std::chrono::seconds(0));
  if (startAtMs > 0) {
    const std::int64_t wait = startAtMs - nowMs();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait));
  }
  const std::int64_t startMs = nowMs();
  const auto deadline = Steady::now() + std::chrono::seconds(timeoutS);
  // Every change of the count with the time it was first seen: the expected number is known only
  // later (once the bench has counted the stored orders), so "reached" is looked up afterwards.
  // Nobody consumes the queue meanwhile, so the count only grows.
  std::vector<std::pair<std::int64_t, std::int64_t>> changes;  // (epoch ms, count)
  std::int64_t expected = -1;
  std::int64_t polls = 0;
  bool timedOut = false;
  while (true) {
    const std::int64_t n = countOrDie(*client, queue);
    const std::int64_t t = nowMs();
    ++polls;
    if (changes.empty() || changes.back().second != n) changes.emplace_back(t, n);
    if (expected < 0) expected = readExpected(expectFile);
    if (expected >= 0 && n >= expected) break;
    if (Steady::now() > deadline) {
      timedOut = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(intervalMs));
  }
  std::int64_t reachedMs = -1;
  for (const auto& [t, n] : changes) {
    if (expected >= 0 && n >= expected) {
      reachedMs = t;
      break;
    }
  }
  // The longest stretch without a new message, between the first change seen and the one that
  // reached the expected count (the failover gap when a relay leader is killed mid-load; at
  // most one poll interval too long).
  std::int64_t maxGapMs = 0, maxGapEndMs = -1;
  for (std::size_t i = 1; i < changes.size(); ++i) {
    if (changes[i].first - changes[i - 1].first > maxGapMs) {
      maxGapMs = changes[i].first - changes[i - 1].first;
      maxGapEndMs = changes[i].first;
    }
    if (changes[i].first == reachedMs) break;
  }
  std::printf(
      "WATCH start_ms=%lld expected=%lld count=%lld reached_ms=%lld last_change_ms=%lld "
      "polls=%lld timed_out=%d max_gap_ms=%lld max_gap_end_ms=%lld\n",
      static_cast<long long>(startMs), static_cast<long long>(expected),
      static_cast<long long>(changes.back().second), static_cast<long long>(reachedMs),
      static_cast<long long>(changes.back().first), static_cast<long long>(polls), timedOut ? 1 : 0,
      static_cast<long long>(maxGapMs), static_cast<long long>(maxGapEndMs));
  return timedOut ? 1 : 0;
}

const std::string* headerString(const Delivery& d, const std::string& name) {
  const MessageHeader* h = d.header(name);
  if (h == nullptr) return nullptr;
  return std::get_if<std::string>(&h->value);
}

/// Why the delivery's properties do not match its body, or "" when they do.
std::string propertyProblem(const Delivery& d, const nlohmann::json& body, bool headers) {
  auto str = [&](const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (d.contentType != "application/json") return "content_type '" + d.contentType + "'";
  if (d.deliveryMode != 2) return "delivery_mode not 2 (persistent)";
  if (d.messageId.empty() || d.messageId != str("messageId")) return "message_id != messageId";
  if (d.type != str("messageType")) return "type != messageType";
  if (d.routingKey != str("messageType")) return "routing key != messageType";
  if (d.appId.empty()) return "app_id missing";
  if (!d.timestampSeconds) return "timestamp missing";
  if (d.correlationId != str("correlationId")) return "correlation_id != correlationId";
  if (headers) {
    const std::string* v = headerString(d, "messageVersion");
    if (v == nullptr || *v != str("messageVersion")) return "header messageVersion";
    const std::string* k = headerString(d, "partitionKey");
    if (k == nullptr || *k != str("partitionKey")) return "header partitionKey";
    const MessageHeader* s = d.header("sequence");
    if (s == nullptr || !std::holds_alternative<std::int64_t>(s->value)) return "header sequence";
  }
  return "";
}

int audit(const std::string& url, const std::string& queue, const std::string& ordersFile,
          bool headers, bool allowRepublished, int idleMs, int timeoutS) {
  std::unordered_map<std::string, std::map<std::string, int>> seen;  // order id -> type -> n
  {
    std::ifstream in(ordersFile);
    if (!in) {
      std::cerr << "e2e_audit: cannot read " << ordersFile << "\n";
      return 2;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) seen[line];
    }
  }
  const std::int64_t orders = static_cast<std::int64_t>(seen.size());
  const std::int64_t wanted = 3 * orders;

  auto client = connectOrDie(url);
  if (auto s = client->consume(queue, /*autoAck=*/true, 1000); !s) {
    std::cerr << "e2e_audit: " << s.error().message << "\n";
    return 2;
  }
  std::int64_t messages = 0, unknownOrders = 0, badBodies = 0, badProps = 0, republished = 0;
  std::unordered_set<std::string> messageIds;  // a second copy of one is a republish
  std::map<std::string, std::int64_t> byType;
  std::string firstProblem;
  const auto deadline = Steady::now() + std::chrono::seconds(timeoutS);
  while (Steady::now() < deadline) {
    // Once every expected message is in, wait only briefly for extra ones (duplicates).
    const int wait = messages >= wanted ? 200 : idleMs;
    auto next = client->next(std::chrono::milliseconds(wait));
    if (!next) {
      std::cerr << "e2e_audit: " << next.error().message << "\n";
      return 2;
    }
    if (!*next) break;  // idle
    const Delivery& d = **next;
    ++messages;
    nlohmann::json body = nlohmann::json::parse(d.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("messageType") || !body.contains("partitionKey") ||
        !body["messageType"].is_string() || !body["partitionKey"].is_string()) {
      ++badBodies;
      if (firstProblem.empty()) firstProblem = "a body without messageType/partitionKey";
      continue;
    }
    const std::string type = body["messageType"].get<std::string>();
    ++byType[type];
    if (std::string p = propertyProblem(d, body, headers); !p.empty()) {
      ++badProps;
      if (firstProblem.empty()) firstProblem = type + ": " + p;
    }
    auto it = seen.find(body["partitionKey"].get<std::string>());
    if (it == seen.end()) {
      ++unknownOrders;
      continue;
    }
    ++it->second[type];
    if (!messageIds.insert(d.messageId).second) ++republished;
  }

  std::int64_t ok = 0, missing = 0, duplicates = 0;
  for (const auto& [id, types] : seen) {
    bool complete = true;
    for (const auto& t : kCreationTypes) {
      auto it = types.find(t);
      if (it == types.end())
        complete = false;
      else if (it->second > 1)
        duplicates += it->second - 1;
    }
    for (const auto& [t, n] : types)
      if (std::find(kCreationTypes.begin(), kCreationTypes.end(), t) == kCreationTypes.end())
        duplicates += n;  // an event this action does not publish: counted as extra
    if (complete)
      ++ok;
    else
      ++missing;
  }
  std::string types;
  for (const auto& [t, n] : byType)
    types += (types.empty() ? "" : ",") + t + ":" + std::to_string(n);
  std::printf(
      "AUDIT messages=%lld orders=%lld orders_ok=%lld orders_missing_events=%lld "
      "duplicates=%lld republished=%lld unknown_orders=%lld bad_bodies=%lld bad_props=%lld "
      "by_type=%s\n",
      static_cast<long long>(messages), static_cast<long long>(orders), static_cast<long long>(ok),
      static_cast<long long>(missing), static_cast<long long>(duplicates),
      static_cast<long long>(republished), static_cast<long long>(unknownOrders),
      static_cast<long long>(badBodies), static_cast<long long>(badProps),
      types.empty() ? "-" : types.c_str());
  if (!firstProblem.empty()) std::cerr << "e2e_audit: first problem: " << firstProblem << "\n";
  // With allowRepublished, a second copy of a message (same messageId: at least once after a
  // relay failover) is fine; another event of the same type (a new messageId) never is.
  const std::int64_t extra = allowRepublished ? duplicates - republished : duplicates;
  const bool pass =
      missing == 0 && extra == 0 && unknownOrders == 0 && badBodies == 0 && badProps == 0;
  return pass ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"e2e_audit: broker-side checks for bench/e2e/run_e2e_bench.sh"};
  app.require_subcommand(1);
  std::string url = "amqp://guest:guest@127.0.0.1:5672/%2F";
  std::string queue = "bench.all";
  auto common = [&](CLI::App* sub) {
    sub->add_option("--amqp-url", url, "Broker")->required();
    sub->add_option("--queue", queue, "Queue")->capture_default_str();
  };

  std::string expectFile;
  std::int64_t startAtMs = 0;
  int intervalMs = 2;
  int timeoutS = 60;
  CLI::App* w = app.add_subcommand("watch", "Poll the message count until it reaches F's number");
  common(w);
  w->add_option("--expect-file", expectFile, "File holding the expected count")->required();
  w->add_option("--start-at-ms", startAtMs, "Epoch ms to start polling at");
  w->add_option("--interval-ms", intervalMs, "Poll period")->capture_default_str();
  w->add_option("--timeout-s", timeoutS, "Give up after")->capture_default_str();

  std::string ordersFile;
  std::string headers = "required";
  int idleMs = 3000;
  int auditTimeoutS = 300;
  CLI::App* a = app.add_subcommand("audit", "Consume the queue and check 3 events per order");
  common(a);
  a->add_option("--orders", ordersFile, "Order ids, one a line")->required();
  a->add_option("--headers", headers, "required (the service) or none (the peer)")
      ->check(CLI::IsMember({"required", "none"}))
      ->capture_default_str();
  bool allowRepublished = false;
  a->add_flag("--allow-republished", allowRepublished,
              "Pass with second copies of a message (same messageId), as after a relay failover");
  a->add_option("--idle-ms", idleMs, "Stop when nothing arrives for this long")
      ->capture_default_str();
  a->add_option("--timeout-s", auditTimeoutS, "Give up after")->capture_default_str();

  CLI::App* c = app.add_subcommand("count", "Print the queue's message count");
  common(c);
  CLI::App* p = app.add_subcommand("purge", "Purge the queue");
  common(p);

  CLI11_PARSE(app, argc, argv);
  // stdout is the machine-readable result line: any library log goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("e2e_audit"));
  spdlog::set_level(spdlog::level::warn);

  if (w->parsed()) return watch(url, queue, expectFile, startAtMs, intervalMs, timeoutS);
  if (a->parsed())
    return audit(url, queue, ordersFile, headers == "required", allowRepublished, idleMs,
                 auditTimeoutS);
  auto client = connectOrDie(url);
  if (c->parsed()) {
    std::printf("COUNT messages=%lld\n", static_cast<long long>(countOrDie(*client, queue)));
    return 0;
  }
  auto n = client->purge(queue);
  if (!n) {
    std::cerr << "e2e_audit: " << n.error().message << "\n";
    return 2;
  }
  std::printf("PURGED messages=%lld\n", static_cast<long long>(*n));
  return 0;
}
