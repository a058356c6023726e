#pragma once
// Where continuations run. A component that must not do a caller's work on its own thread (the
// store's single writer only commits and signals) hands that work to an Executor.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace orders {

class Executor {
 public:
  virtual ~Executor() = default;
  /// Runs `task` later, on one of the executor's threads. Thread-safe. Tasks should not throw;
  /// one that does is logged (error) and the executor carries on.
  virtual void post(std::function<void()> task) = 0;
};

/// Runs every task at once on the posting thread (tests, tools).
class InlineExecutor final : public Executor {
 public:
  void post(std::function<void()> task) override;
};

/// A fixed number of threads taking tasks in FIFO order.
class ThreadPool final : public Executor {
 public:
  /// `name` names the threads (at most 15 characters show in top/ps).
  ThreadPool(std::size_t threads, std::string name);
  /// stop()s.
  ~ThreadPool() override;

  void post(std::function<void()> task) override;
  /// Runs what is queued, then joins the threads; tasks posted afterwards run on the caller.
  void stop();

 private:
  void work();

  std::string name_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace orders
