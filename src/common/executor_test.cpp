#include "common/executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>

namespace orders {
namespace {

TEST(ThreadPool, RunsEveryTaskOnItsThreadsAndDrainsOnStop) {
  ThreadPool pool(2, "test-pool");
  std::atomic<int> ran{0};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  for (int i = 0; i < 200; ++i) {
    pool.post([&] {
      {
        std::lock_guard lock(mutex);
        threads.insert(std::this_thread::get_id());
      }
      ++ran;
    });
  }
  pool.post([] { throw std::runtime_error("logged, not fatal"); });
  pool.stop();
  EXPECT_EQ(ran, 200);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_LE(threads.size(), 2u);
  // After stop, a task still runs (on the caller): nothing posted is lost.
  pool.post([&] { ++ran; });
  EXPECT_EQ(ran, 201);
}

TEST(InlineExecutor, RunsAtOnce) {
  InlineExecutor inline_;
  int ran = 0;
  inline_.post([&] { ++ran; });
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace orders
