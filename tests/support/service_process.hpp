#pragma once
// Runs the built order-service binary as a child process for black-box tests: on a free port
// (--listen 127.0.0.1:0, the port is read from its "LISTENING host:port" line), with the
// arguments the test chooses. Throws std::runtime_error when it cannot start (with its output).
// The child is killed (SIGKILL) when the thread that created it exits, even if the test aborts:
// create it on the test's own thread, not on a worker thread that ends first.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace orders::testing {

class ServiceProcess {
 public:
  /// `binary` is the path of order-service; `args` are added after --listen. Unless `args`
  /// choose an --auth mode, the service runs with `--auth none`: the suites about what the API
  /// does run as an operator; tests/blackbox/api_auth_blackbox_test.cpp runs with real tokens.
  ServiceProcess(std::string binary, std::vector<std::string> args);
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string baseUrlHost() const { return "127.0.0.1"; }
  /// SIGTERM and wait; returns the exit status (or -1 if it had to be killed after `timeout`).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// SIGKILL, no chance to clean up (a crash).
  void kill();
  bool running() const { return pid_ > 0; }
  /// Everything the process wrote to stdout and stderr so far.
  std::string output() const;

 private:
  void start();
  std::string binary_;
  std::vector<std::string> args_;
  std::string logPath_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace orders::testing
