// Durable write throughput of the PostgreSQL store: `clients` threads each write one new order
// with one ~1 KB event at a time (waiting for its commit, like an HTTP request), for `seconds`.
// Prints writes/s, commits/s and the mean batch, as one line of key=value pairs
// (bench/postgres/run_postgres_bench.sh compares it with pgbench on the same server).

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "store/postgres/postgres_store.hpp"

namespace {

using namespace orders;

class CountingObserver final : public StoreObserver {
 public:
  void batchCommitted(std::size_t writes, std::chrono::nanoseconds, bool ok) override {
    if (!ok) return;
    commits_ += 1;
    writes_ += writes;
  }
  void eventWritten(std::string_view) override {}
  std::uint64_t commits() const { return commits_; }

 private:
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> writes_{0};
};

WriteSet newOrder(RandomIdGenerator& ids, const std::string& body) {
  Order order;
  order.id = OrderId(ids.uuid());
  order.userId = UserId("3fa85f64-5717-4562-b3fc-2c963f66afa6");
  order.items = {{"prod-456", 1, 9999}};
  order.customer = {"John Doe", "john.doe@example.com"};
  order.shippingAddress = {"123 Main St", "Anytown", "12345", "US"};
  order.totalAmount = 9999;
  order.createdAt = Timestamp(std::chrono::milliseconds(1700000000000));
  order.updatedAt = order.createdAt;
  order.version = 1;
  EncodedMessage m;
  m.messageId = ids.uuid();
  m.messageType = "OrderCreatedEvent";
  m.messageVersion = "1.0";
  m.partitionKey = order.id.str();
  m.sequence = 1;
  m.source = "OrderService";
  m.timestamp = order.createdAt;
  m.body = body;
  WriteSet writes;
  writes.order = OrderWrite{order, 0, 1, {m}};
  return writes;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int clients = 64;
  int seconds = 10;
  std::size_t storeWriters = 4;
  CLI::App app{"PostgreSQL store write throughput"};
  app.add_option("--url", url, "postgresql:// URL of an empty database or schema")->required();
  app.add_option("--clients", clients, "Concurrent writers");
  app.add_option("--seconds", seconds, "Duration");
  app.add_option("--store-writers", storeWriters, "The store's writer connections");
  CLI11_PARSE(app, argc, argv);

  CountingObserver observer;
  PostgresOptions options;
  options.writers = storeWriters;
  options.observer = &observer;
  auto settings = postgres::ConnectionSettings::fromUrl(url);
  if (!settings) {
    std::fprintf(stderr, "%s\n", settings.error().message.c_str());
    return 2;
  }
  auto store = PostgresStore::open(*settings, options);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  const std::string body(1000, 'x');
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> committed{0};
  std::atomic<std::uint64_t> failed{0};
  std::vector<std::thread> threads;
  const auto commitsBefore = observer.commits();
  const auto started = std::chrono::steady_clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      RandomIdGenerator ids;
      while (!stop) {
        std::promise<Result<WriteOutcome>> done;
        (*store)->write(newOrder(ids, body),
                        [&done](Result<WriteOutcome> r) { done.set_value(std::move(r)); });
        auto outcome = done.get_future().get();
        if (outcome.ok() && *outcome == WriteOutcome::kCommitted) {
          ++committed;
        } else {
          ++failed;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto commits = observer.commits() - commitsBefore;
  std::printf(
      "clients=%d store_writers=%zu writes_per_s=%.0f commits_per_s=%.0f "
      "mean_batch=%.1f failed=%llu\n",
      clients, storeWriters, static_cast<double>(committed) / elapsed,
      static_cast<double>(commits) / elapsed,
      commits > 0 ? static_cast<double>(committed) / static_cast<double>(commits) : 0.0,
      static_cast<unsigned long long>(failed.load()));
  (*store)->close();
  return failed > 0 ? 1 : 0;
}
