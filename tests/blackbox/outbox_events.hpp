#pragma once
// What the service committed to its outbox, as an operator sees it: the built `order-events
// outbox events --json` run as a child process (the black-box tests never read the service's
// database themselves, so they hold for any store the CLI can read).

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace orders::testing {

struct ToolRun {
  int exitCode = -1;
  std::string out;  // stdout; stderr goes to the test's stderr
};

/// Runs `binary` with `args` and waits for it.
inline ToolRun runTool(const std::string& binary, const std::vector<std::string>& args) {
  int pipeFds[2];
  if (pipe(pipeFds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(pipeFds[1], STDOUT_FILENO);
    close(pipeFds[0]);
    close(pipeFds[1]);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(pipeFds[1]);
  ToolRun run;
  char buffer[65536];
  for (ssize_t n; (n = read(pipeFds[0], buffer, sizeof buffer)) > 0;) run.out.append(buffer, n);
  close(pipeFds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

/// The outbox events of the database file at `path` (of one order when `partitionKey` is set),
/// one JSON object each, in commit order. Throws when the tool fails.
inline std::vector<nlohmann::json> outboxEvents(
    const std::string& path, const std::optional<std::string>& partitionKey = {}) {
  std::vector<std::string> args{"outbox", "events", "--database", "sqlite:" + path, "--json"};
  if (partitionKey) {
    args.push_back("--partition-key");
    args.push_back(*partitionKey);
  }
  const ToolRun run = runTool(ORDER_EVENTS_BINARY, args);
  if (run.exitCode != 0) {
    throw std::runtime_error("order-events outbox events exited with " +
                             std::to_string(run.exitCode));
  }
  std::vector<nlohmann::json> events;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  return events;
}

/// `order-events outbox status --json` of the database file at `path`.
inline nlohmann::json outboxStatus(const std::string& path) {
  const ToolRun run =
      runTool(ORDER_EVENTS_BINARY, {"outbox", "status", "--database", "sqlite:" + path, "--json"});
  if (run.exitCode != 0) {
    throw std::runtime_error("order-events outbox status exited with " +
                             std::to_string(run.exitCode));
  }
  return nlohmann::json::parse(run.out);
}

}  // namespace orders::testing
