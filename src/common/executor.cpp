#include "common/executor.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <exception>

namespace orders {
namespace {

void runLogged(const std::function<void()>& task, const std::string& where) {
  try {
    task();
  } catch (const std::exception& e) {
    spdlog::error("{}: a task threw: {}", where, e.what());
  } catch (...) {
    spdlog::error("{}: a task threw a non-standard exception", where);
  }
}

}  // namespace

void InlineExecutor::post(std::function<void()> task) {
  runLogged(task, "inline executor");
}

ThreadPool::ThreadPool(std::size_t threads, std::string name) : name_(std::move(name)) {
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
      work();
    });
  }
}

ThreadPool::~ThreadPool() {
  stop();
}

void ThreadPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      tasks_.push_back(std::move(task));
      wake_.notify_one();
      return;
    }
  }
  runLogged(task, name_);  // stopped: nobody else would run it
}

void ThreadPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void ThreadPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and everything queued has run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    runLogged(task, name_);
  }
}

}  // namespace orders
