#include "support/rabbitmq_cluster.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

namespace orders::testing {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error("RabbitMqCluster: " + message);
}

std::string sharedCookie() {
  std::random_device rd;
  std::uniform_int_distribution<int> letter('A', 'Z');
  std::string cookie;
  for (int i = 0; i < 24; ++i) cookie += static_cast<char>(letter(rd));
  return cookie;
}

}  // namespace

std::unique_ptr<RabbitMqCluster> RabbitMqCluster::start(std::size_t nodes, bool outliveProcess) {
  std::unique_ptr<RabbitMqCluster> cluster(new RabbitMqCluster());
  cluster->outliveProcess_ = outliveProcess;
  const std::string cookie = sharedCookie();
  const std::string suffix = "-" + std::to_string(::getpid()) + "@localhost";
  std::vector<std::string> names;
  for (std::size_t i = 0; i < nodes; ++i)
    names.push_back("rabbit-" + std::string(1, static_cast<char>('a' + i)) + suffix);
  for (std::size_t i = 0; i < nodes; ++i) {
    RabbitMqServerOptions options;
    options.nodeName = names[i];
    options.cookie = cookie;
    // One scheduler per node: three VMs on two cores boot faster without contending for them.
    options.erlArgs = "+S 1:1";
    options.outliveProcess = outliveProcess;
    options.extraConfig = {"cluster_formation.peer_discovery_backend = classic_config"};
    for (std::size_t k = 0; k < nodes; ++k)
      options.extraConfig.push_back("cluster_formation.classic_config.nodes." +
                                    std::to_string(k + 1) + " = " + names[k]);
    cluster->nodes_.push_back(RabbitMqServer::create(std::move(options)));
  }
  try {
    for (auto& node : cluster->nodes_) node->launchInBackground();
    for (auto& node : cluster->nodes_) node->waitUntilStarted();
    cluster->waitForRunningNodes(nodes);
  } catch (...) {
    cluster->destroy();
    throw;
  }
  return cluster;
}

std::unique_ptr<RabbitMqCluster> RabbitMqCluster::attach(const std::string& file) {
  std::ifstream in(file);
  if (!in) fail("no cluster description at " + file);
  std::unique_ptr<RabbitMqCluster> cluster(new RabbitMqCluster());
  cluster->outliveProcess_ = true;
  std::string directory;
  while (std::getline(in, directory)) {
    if (!directory.empty()) cluster->nodes_.push_back(RabbitMqServer::attach(directory));
  }
  if (cluster->nodes_.empty()) fail(file + " lists no node");
  return cluster;
}

RabbitMqCluster& RabbitMqCluster::shared() {
  static std::unique_ptr<RabbitMqCluster> cluster = [] {
    const char* file = std::getenv("ORDER_TEST_RABBITMQ_CLUSTER_FILE");
#ifdef ORDER_TEST_RABBITMQ_CLUSTER_FILE
    const std::string path = file != nullptr ? file : ORDER_TEST_RABBITMQ_CLUSTER_FILE;
#else
    const std::string path = file != nullptr ? file : "rabbitmq-cluster.txt";
#endif
    if (!std::filesystem::exists(path))
      fail(path +
           " does not exist: the cluster is started by the CTest fixture rabbitmq_cluster (run "
           "the test through ctest, or run rabbitmq_cluster_fixture start " +
           path + ")");
    return attach(path);
  }();
  return *cluster;
}

RabbitMqCluster::~RabbitMqCluster() {
  if (!outliveProcess_) {
    try {
      destroy();
    } catch (const std::exception&) {
      // A destructor must not throw; the nodes were signalled.
    }
  }
}

RabbitMqServer& RabbitMqCluster::nodeWithPort(int port) {
  for (auto& node : nodes_)
    if (node->port() == port) return *node;
  fail("no node listens on port " + std::to_string(port));
}

std::vector<std::string> RabbitMqCluster::amqpUrls() const {
  std::vector<std::string> urls;
  for (const auto& node : nodes_) urls.push_back(node->amqpUrl());
  return urls;
}

std::string RabbitMqCluster::amqpUrlList() const {
  std::string list;
  for (const auto& url : amqpUrls()) list += (list.empty() ? "" : ",") + url;
  return list;
}

int RabbitMqCluster::rabbitmqctl(const std::vector<std::string>& args, std::string* output) const {
  for (const auto& node : nodes_)
    if (node->running()) return node->rabbitmqctl(args, output);
  fail("rabbitmqctl: no node is running");
}

void RabbitMqCluster::waitForRunningNodes(std::size_t count, std::chrono::milliseconds timeout) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  std::string output;
  if (rabbitmqctl({"await_online_nodes", std::to_string(count), "--timeout",
                   std::to_string(std::max<long long>(1, seconds))},
                  &output) == 0)
    return;
  std::string status;
  rabbitmqctl({"cluster_status"}, &status);
  fail("the cluster did not have " + std::to_string(count) + " running nodes within " +
       std::to_string(seconds) + " s: " + output + "\n" + status);
}

void RabbitMqCluster::restoreAll() {
  std::vector<RabbitMqServer*> started;
  for (auto& node : nodes_) {
    if (node->running()) continue;
    node->launchInBackground();
    started.push_back(node.get());
  }
  if (started.empty()) return;
  for (auto* node : started) node->waitUntilStarted();
  waitForRunningNodes(nodes_.size());
}

void RabbitMqCluster::writeDescription(const std::string& file) const {
  std::ofstream out(file, std::ios::trunc);
  for (const auto& node : nodes_) out << node->directory() << "\n";
  if (!out) fail("cannot write " + file);
}

void RabbitMqCluster::destroy() {
  for (auto& node : nodes_) {
    if (node->running()) node->kill();
    std::error_code ignored;  // best effort: a leftover temp dir is harmless
    std::filesystem::remove_all(node->directory(), ignored);
  }
}

}  // namespace orders::testing
