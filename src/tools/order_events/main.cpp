// order-events: the operator CLI (commands.hpp lists the commands).

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>

#include "commands.hpp"

namespace {
std::atomic<bool> interrupted{false};
extern "C" void onSignal(int) {
  interrupted = true;
}
}  // namespace

int main(int argc, char** argv) {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  spdlog::set_level(spdlog::level::warn);
  return orders::tools::runOrderEvents(argc, argv, std::cout, std::cerr, &interrupted);
}
