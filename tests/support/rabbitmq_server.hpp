#pragma once
// A private RabbitMQ broker for component tests (*_rmqtest.cpp): started on free ports in a
// temporary directory, with its own node name, Erlang cookie, data and logs, and removed again
// when the object is destroyed. Nothing is shared with a system broker or with other tests.
//
//   auto broker = orders::testing::RabbitMqServer::start();
//   connect(broker->amqpUrl());   // amqp://guest:guest@127.0.0.1:<port>/%2F
//   broker->restart();            // same port, same data: durable queues survive
//
// Booting takes a few seconds (see bootTime()), so share one server per test binary
// (SetUpTestSuite / a global) and isolate tests by queue names instead.
//
// Errors are reported by throwing std::runtime_error (this is test support: a failure to start
// the broker is a test failure); the message includes the tail of the broker's log.
// Not thread-safe: drive one server from one test thread.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace orders::testing {

/// A TLS listener (listeners.ssl.default) next to the plain one, with these PEM files.
struct RabbitMqTlsOptions {
  std::string caFile;  // the CAs client certificates must chain to (ssl_options.cacertfile)
  std::string certFile;
  std::string keyFile;
  /// ssl_options.verify = verify_peer and fail_if_no_peer_cert = true: only clients with a
  /// certificate signed by caFile get in. False: verify_none.
  bool requireClientCertificate = false;
};

struct RabbitMqServerOptions {
  /// Enable the management plugin (HTTP API and UI on managementPort()). Off by default: it
  /// roughly doubles the boot time.
  bool management = false;
  /// How long start()/restart() wait for an AMQP login to succeed.
  std::chrono::milliseconds startTimeout = std::chrono::seconds(90);
  /// Extra lines appended to the generated rabbitmq.conf (new-style sysctl format).
  std::vector<std::string> extraConfig;
  /// Also listen with TLS (TLS 1.2 and 1.3) on tlsPort().
  std::optional<RabbitMqTlsOptions> tls;
  /// Keep the temporary directory after destruction (also: env ORDER_TEST_KEEP_BROKER_DIR=1).
  bool keepDirectory = false;

  // --- for the nodes of a cluster (rabbitmq_cluster.hpp) ---
  /// The Erlang node name, e.g. "rabbit-a-<pid>@localhost"; empty: a unique generated one.
  std::string nodeName;
  /// The Erlang cookie; nodes of one cluster share it. Empty: a random one.
  std::string cookie;
  /// RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS, e.g. "+S 1:1" (one scheduler: on a small machine
  /// several nodes boot faster when they do not each start one per core).
  std::string erlArgs;
  /// The broker outlives this object and this process (a CTest fixture's server, stopped by its
  /// cleanup test, see attach()): no owner.pid, so orphan reaping leaves it alone, and the
  /// destructor neither kills it nor removes its directory. The directory is named
  /// rmqfixture-XXXXXX.
  bool outliveProcess = false;
};

class RabbitMqServer {
 public:
  /// Creates the private directory, picks free ports and boots the broker; returns once a client
  /// can log in. Throws std::runtime_error (with the log tail) on failure or timeout.
  static std::unique_ptr<RabbitMqServer> start(RabbitMqServerOptions options = {});

  /// One broker for the whole test binary, booted on first use with default options and killed
  /// at exit. Tests sharing it isolate themselves with their own queue/exchange names, and must
  /// leave it running (a test that stops or pauses it restores it before returning).
  static RabbitMqServer& shared();

  /// A broker started (with outliveProcess) by another process, from its directory: stop, kill,
  /// startAgain and rabbitmqctl work on it as on one of ours; destroying the object leaves the
  /// broker as it is (running or not). Throws std::runtime_error when `directory` holds no
  /// broker description (node.txt).
  static std::unique_ptr<RabbitMqServer> attach(const std::string& directory);

  /// Kills the broker if it still runs (fast: tests do not need a clean shutdown) and removes
  /// the temporary directory.
  ~RabbitMqServer();
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  /// amqp://guest:guest@127.0.0.1:<port>/%2F
  std::string amqpUrl() const;
  int port() const { return port_; }
  /// 0 unless options.tls.
  int tlsPort() const { return tlsPort_; }
  /// amqps://guest:guest@localhost:<tlsPort>/%2F (the name a test certificate carries).
  std::string amqpsUrl() const;
  /// 0 unless options.management.
  int managementPort() const { return managementPort_; }
  const std::string& nodeName() const { return nodeName_; }
  const std::string& directory() const { return dir_; }
  bool running() const { return pid_ > 0; }

  /// Spawns the broker without waiting for it (after stop() or kill(), or for a server created
  /// by create()); waitUntilStarted() then waits for the login. Lets a cluster boot its nodes
  /// in parallel from one thread.
  void launchInBackground();
  void waitUntilStarted();
  /// Creates the directory and picks the ports, without starting the broker.
  static std::unique_ptr<RabbitMqServer> create(RabbitMqServerOptions options = {});

  /// Graceful stop: SIGTERM to the broker's process group, waits (SIGKILL after 30 s).
  void stop();
  /// Abrupt stop: SIGKILL to the process group (an outage without a clean shutdown).
  void kill();
  /// Boots the broker again on the same port and data directory (after stop() or kill());
  /// returns once a client can log in. Durable queues and persistent messages survive.
  void startAgain();
  /// stop() then startAgain().
  void restart();
  /// SIGSTOP / SIGCONT to the broker's processes: it stops answering without closing sockets,
  /// like a hung server. resume() must be called before stop().
  void pause();
  void resume();

  /// Runs rabbitmqctl against this node (e.g. {"list_queues", "name", "messages"}). Returns the
  /// exit code; stdout+stderr go to `output` when given.
  int rabbitmqctl(const std::vector<std::string>& args, std::string* output = nullptr) const;

  /// Wall time of the last boot, from spawning the process to the first successful login.
  std::chrono::milliseconds bootTime() const { return bootTime_; }
  /// The last `lines` lines of the broker's log file (for error messages).
  std::string logTail(std::size_t lines = 40) const;

 private:
  explicit RabbitMqServer(RabbitMqServerOptions options);
  void prepareDirectory();
  void launch();
  void waitUntilReady();
  void waitForExit(std::chrono::milliseconds timeout);
  std::vector<std::string> environment() const;
  /// The group to signal: the rabbitmq-server script's when we spawned it, else the VM's.
  pid_t processGroup() const;

  RabbitMqServerOptions options_;
  std::string dir_;
  std::string nodeName_;
  int port_ = 0;
  int distPort_ = 0;
  int managementPort_ = 0;
  int tlsPort_ = 0;
  pid_t pid_ = -1;  // the rabbitmq-server script, leader of the broker's process group
  /// pid_ is our child (waitpid works). False for a broker found by attach(): pid_ is then the
  /// Erlang VM's pid, another process's grandchild.
  bool child_ = true;
  std::chrono::steady_clock::time_point launchedAt_{};
  bool paused_ = false;
  std::chrono::milliseconds bootTime_{0};
};

}  // namespace orders::testing
