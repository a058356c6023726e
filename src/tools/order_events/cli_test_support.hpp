#pragma once

// Runs the order-events CLI in-process, as its tests do: the entry point main() calls, with the
// output captured.

#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"

namespace orders::testing {

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

/// `order-events <args...>` through runOrderEvents.
inline CliRun cli(std::vector<std::string> args, const tools::RunControl& control = {}) {
  args.insert(args.begin(), "order-events");
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out;
  std::ostringstream err;
  CliRun run;
  run.code = tools::runOrderEvents(static_cast<int>(argv.size()), argv.data(), out, err, control);
  run.out = out.str();
  run.err = err.str();
  return run;
}

}  // namespace orders::testing
