#pragma once
// A 3-node RabbitMQ cluster on this machine for the cluster tests (*_rmqtest.cpp with the
// rabbitmq_cluster fixture): nodes rabbit-a/b/c-<pid>@localhost, each a RabbitMqServer
// (rabbitmq_server.hpp) with its own AMQP and distribution ports, data directory and HOME, one
// shared Erlang cookie, and peer discovery by classic config (every node lists all three). The
// nodes boot in parallel; start() returns once the cluster reports all of them running.
//
// One cluster per CTest run: the fixture's setup test (rabbitmq_cluster_fixture start FILE)
// starts it and writes its description to FILE in the build directory, its cleanup test stops
// it. A test attaches with RabbitMqCluster::shared() (the file's path is compiled in), isolates
// itself by queue and exchange names, and restores any node it stops before it returns.
//
// Errors throw std::runtime_error (test support). Not thread-safe: drive it from one thread.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/rabbitmq_server.hpp"

namespace orders::testing {

class RabbitMqCluster {
 public:
  /// Boots `nodes` nodes in parallel and waits until each reports all of them running. With
  /// outliveProcess the nodes keep running after this process exits (the fixture).
  static std::unique_ptr<RabbitMqCluster> start(std::size_t nodes = 3, bool outliveProcess = false);
  /// The cluster described in `file` (written by writeDescription): its nodes attached.
  static std::unique_ptr<RabbitMqCluster> attach(const std::string& file);
  /// The CTest fixture's cluster (the file named by ORDER_TEST_RABBITMQ_CLUSTER_FILE, else the
  /// build directory's), attached on first use. Throws, saying to run the fixture, when absent.
  static RabbitMqCluster& shared();

  /// Leaves the nodes as they are when they outlive the process, else kills them.
  ~RabbitMqCluster();
  RabbitMqCluster(const RabbitMqCluster&) = delete;
  RabbitMqCluster& operator=(const RabbitMqCluster&) = delete;

  std::size_t size() const { return nodes_.size(); }
  RabbitMqServer& node(std::size_t index) { return *nodes_.at(index); }
  /// The node whose AMQP port is `port`; throws when none is.
  RabbitMqServer& nodeWithPort(int port);
  /// amqp://guest:guest@127.0.0.1:<port>/%2F of every node, in node order.
  std::vector<std::string> amqpUrls() const;
  /// The same joined with commas: what --amqp-url / ORDER_SERVICE_AMQP_URL takes.
  std::string amqpUrlList() const;

  /// Waits until a running node reports `count` running nodes (rabbitmqctl
  /// await_online_nodes); throws with the cluster status after `timeout`.
  void waitForRunningNodes(std::size_t count,
                           std::chrono::milliseconds timeout = std::chrono::seconds(90));
  /// Starts every node that is not running (a test that stopped one and failed before
  /// restoring it) and waits for all to be running.
  void restoreAll();
  /// Runs rabbitmqctl on the first running node.
  int rabbitmqctl(const std::vector<std::string>& args, std::string* output = nullptr) const;

  /// One line per node directory.
  void writeDescription(const std::string& file) const;
  /// Kills every node and removes their directories (the fixture's cleanup).
  void destroy();

 private:
  RabbitMqCluster() = default;
  std::vector<std::unique_ptr<RabbitMqServer>> nodes_;
  bool outliveProcess_ = false;
};

}  // namespace orders::testing
