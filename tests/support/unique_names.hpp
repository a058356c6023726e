#pragma once
// Names of queues and exchanges that no other test uses. The component tests of one binary share
// one broker (RabbitMqServer::shared()), and a test that failed half-way may leave its queues
// behind: every test therefore declares its own. Header-only: "support/unique_names.hpp".

#include <unistd.h>

#include <atomic>
#include <string>

namespace orders::testing {

/// "t<pid>-<n>.<what>", n counting up within the process: unique across tests and test runs.
inline std::string uniqueName(const std::string& what) {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "." + what;
}

}  // namespace orders::testing
