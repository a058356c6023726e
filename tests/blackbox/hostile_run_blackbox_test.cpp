// A bounded hostile run against the real binary (docs/security.md, "Fuzzing and hostile input"):
// at once, 2,000 idle connections, slow headers, malformed and oversized requests, request
// smuggling attempts, and clients racing conflicting If-Match updates on the same orders. Then:
// the service is up and answers correctly, nothing smuggled was executed, and every order's
// events match its history (read through the API and `order-events outbox events`).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "blackbox/order_request.hpp"
#include "blackbox/outbox_events.hpp"
#include "blackbox/socket_flood.hpp"
#include "support/http_client.hpp"
#include "support/raw_http.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::HttpClient;
using testing::orderRequest;
using testing::RawConnection;
using testing::ServiceProcess;
using testing::SocketFlood;
using testing::TempDir;

constexpr auto kRunFor = 20s;  // the hostile phase; the whole test stays well under 60 s

std::string userNumbered(int n) {
  char id[64];
  std::snprintf(id, sizeof id, "5a5a%04x-1111-4222-8333-%012d", n, n);
  return id;
}

/// A request that must be refused, and the statuses it may be refused with.
struct Hostile {
  std::string bytes;
  std::vector<int> allowed;
};

/// Hostile requests; those that carry an order for `smuggledUser` must never create it.
std::vector<Hostile> hostileRequests(const std::string& smuggledUser, std::mt19937& random) {
  json order = orderRequest();
  order["userId"] = smuggledUser;
  const std::string inner = order.dump();
  const std::string smuggled =
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(inner.size()) + "\r\n\r\n" + inner;
  const std::string post =
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  std::string garbage(200 + random() % 2000, '\0');
  for (auto& c : garbage) c = static_cast<char>(random());
  garbage[0] = '\x01';  // never a method token: refused at once, not waited on
  return {
      // Smuggling (RFC 9112 §6.3): 400, and the request inside is never executed.
      {post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, {400}},
      {post + "Transfer-Encoding: chunked, identity\r\n\r\n" + smuggled, {400}},
      {post + "Transfer-Encoding: xchunked\r\n\r\n" + smuggled, {400}},
      {post + "Content-Length: 0\r\nContent-Length: " + std::to_string(smuggled.size()) +
           "\r\n\r\n" + smuggled,
       {400}},
      {post + "Content-Length: 0, 5\r\n\r\n" + smuggled, {400}},
      {post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + smuggled, {400}},
      // Malformed.
      {"GET /healthz HTTP/1.1\r\n\r\n", {400}},
      {"GET /v1/orders/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400}},
      {"BREW /healthz HTCPCP/1.0\r\n\r\n", {400}},
      {garbage, {400}},
      {post + "Content-Length: 9\r\nConnection: close\r\n\r\n{\"userId\"", {400}},
      {post + "Content-Length: 5\r\nConnection: close\r\n\r\n[[[[[", {400}},
      // Oversized.
      {post + "Content-Length: 100000000\r\n\r\n", {413}},
      {"GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", {414, 431}},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'h') + "\r\n\r\n", {431}},
  };
}

class HostileRun : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::raiseDescriptorLimit();
    dir_ = std::make_unique<TempDir>("hostile-run");
    service_ = std::make_unique<ServiceProcess>(
        ORDER_SERVICE_BINARY,
        std::vector<std::string>{"--database", "sqlite:" + dir_->file("orders.db"), "--no-relay",
                                 "--no-consumers", "--log-level", "warn", "--rate-limit", "0",
                                 "--header-timeout-ms", "2000", "--max-connections", "5000"});
  }
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ServiceProcess> service_;
};

TEST_F(HostileRun, TheServiceStaysUpAnswersCorrectlyAndItsDatabaseStaysConsistent) {
  const int port = service_->port();
  HttpClient setup("127.0.0.1", port);
  // The orders the racing clients fight over.
  std::vector<std::string> orderIds;
  for (int i = 0; i < 4; ++i) {
    const auto created = setup.post("/v1/orders", orderRequest().dump());
    ASSERT_EQ(created.status, 201) << created.body;
    orderIds.push_back(json::parse(created.body)["orderId"]);
  }

  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0};
  std::mutex failuresMutex;
  std::vector<std::string> failures;
  auto fail = [&](const std::string& what) {
    ++unexpected;
    std::lock_guard lock(failuresMutex);
    if (failures.size() < 20) failures.push_back(what);
  };

  // 2,000 idle connections, held throughout.
  SocketFlood idle(port, 2000);
  std::vector<std::thread> threads;
  // Slow headers, a byte at a time, renewed as the server cuts them.
  threads.emplace_back([&] {
    const std::string header = "POST /v1/orders HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    while (!stop) {
      SocketFlood slow(port, 200);
      for (std::size_t byte = 0; !stop && slow.trickle(header, byte) > 0; ++byte) {
        std::this_thread::sleep_for(20ms);  // the trickle's pace
      }
    }
  });
  // Malformed, oversized and smuggling requests, each on its own connection.
  std::atomic<int> smugglers{0};
  std::atomic<int> hostileSent{0};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t));
      while (!stop) {
        const std::string user = userNumbered(++smugglers);
        for (const auto& hostile : hostileRequests(user, random)) {
          try {
            RawConnection connection("127.0.0.1", port);
            ++hostileSent;
            connection.send(hostile.bytes);
            if (!connection.readUntilClosed(5s)) {
              fail("not closed after: " + hostile.bytes.substr(0, 80));
              continue;
            }
            const auto statuses = connection.statuses();
            if (statuses.size() != 1 || std::find(hostile.allowed.begin(), hostile.allowed.end(),
                                                  statuses[0]) == hostile.allowed.end()) {
              fail("answered " + connection.received().substr(0, 40) +
                   " to: " + hostile.bytes.substr(0, 80));
            }
          } catch (const std::exception& e) {
            // The server may close while we still send (an early 413/431): not a failure.
          }
        }
      }
    });
  }
  // Racing clients: read the order, PATCH it with If-Match of that version. Only 200 and 412
  // are right; each 200 must become exactly one version and one OrderUpdatedEvent.
  std::map<std::string, std::atomic<int>> succeeded;
  for (const auto& id : orderIds) succeeded[id] = 0;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      HttpClient http("127.0.0.1", port);
      for (int round = 0; !stop; ++round) {
        const std::string& id = orderIds[static_cast<std::size_t>(round) % orderIds.size()];
        const auto current = http.get("/v1/orders/" + id);
        if (current.status != 200) {
          fail("GET " + std::to_string(current.status));
          continue;
        }
        const json address = {{"street", "1 Race St"},
                              {"city", "City " + std::to_string(t) + "-" + std::to_string(round)},
                              {"postalCode", "12345"},
                              {"country", "US"}};
        const auto patched = http.request(
            "PATCH", "/v1/orders/" + id, json{{"shippingAddress", address}}.dump(),
            {{"Content-Type", "application/json"}, {"If-Match", current.header("etag")}});
        if (patched.status == 200) {
          ++succeeded[id];
        } else if (patched.status != 412) {
          fail("PATCH " + std::to_string(patched.status) + " " + patched.body);
        }
      }
    });
  }
  // A normal client all along: answered within a second, every time.
  std::chrono::milliseconds worst{0};
  {
    HttpClient normal("127.0.0.1", port);
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < kRunFor) {
      const auto before = std::chrono::steady_clock::now();
      const auto response = normal.get("/v1/orders/" + orderIds[0]);
      worst = std::max(worst, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - before));
      if (response.status != 200) fail("normal client got " + std::to_string(response.status));
    }
  }
  stop = true;
  for (auto& thread : threads) thread.join();

  for (const auto& failure : failures) ADD_FAILURE() << failure;
  int wins = 0;
  for (const auto& [id, count] : succeeded) wins += count;
  std::printf(
      "hostile run: %d hostile requests, %d racing PATCHes won, worst normal answer %lld ms\n",
      hostileSent.load(), wins, static_cast<long long>(worst.count()));
  EXPECT_GT(hostileSent.load(), 100);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_LT(worst, 1000ms) << "a normal client waited that long during the run";

  // Still up, still correct.
  ASSERT_TRUE(service_->running());
  HttpClient after("127.0.0.1", port);
  ASSERT_EQ(after.get("/healthz").status, 200);
  const auto created = after.post("/v1/orders", orderRequest().dump());
  ASSERT_EQ(created.status, 201) << created.body;
  // Nothing smuggled was executed.
  for (int n = 1; n <= smugglers; ++n) {
    const auto listed = after.get("/v1/orders?userId=" + userNumbered(n));
    ASSERT_EQ(listed.status, 200);
    ASSERT_TRUE(json::parse(listed.body)["orders"].empty()) << "smuggled order " << n;
  }
  // Every order's events match its history.
  for (const auto& id : orderIds) {
    const json order = json::parse(after.get("/v1/orders/" + id).body);
    const int updates = succeeded[id];
    EXPECT_GT(updates, 0) << "no update of " << id << " ever won";
    EXPECT_EQ(order["version"], 1 + updates) << id;
    const auto events = testing::outboxEvents(dir_->file("orders.db"), id);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front()["messageType"], "OrderCreatedEvent");
    std::vector<int> versions;
    json lastAddress;
    std::int64_t sequence = 0;
    for (const auto& event : events) {
      EXPECT_GT(event["sequence"].get<std::int64_t>(), sequence) << id;
      sequence = event["sequence"];
      if (event["messageType"] == "OrderUpdatedEvent") {
        versions.push_back(event["envelope"]["payload"]["version"]);
        lastAddress = event["envelope"]["payload"]["shippingAddress"];
      }
    }
    ASSERT_EQ(versions.size(), static_cast<std::size_t>(updates)) << id;
    for (std::size_t i = 0; i < versions.size(); ++i) {
      EXPECT_EQ(versions[i], static_cast<int>(i) + 2) << id;  // no version lost or doubled
    }
    EXPECT_EQ(lastAddress, order["shippingAddress"]) << id;
  }
  EXPECT_EQ(idle.size(), 2000u);
}

}  // namespace
}  // namespace orders
